"""Identity resolution on intake: is a new customer record someone the shop already knows?

A record that arrives with a vendor id nobody holds is first written as a customer of its own and indexed under its
match keys (domain/identity/match.py). The customers sharing a key are scored against it as whole people (every record
merged into each): clear matches above the merge threshold are merged automatically, all into the best of them
(undoably, with an audit row: storage/identity/merges.py); uncertain pairs, and clear ones a household or a person's
earlier decision keeps apart, go to the review queue; the rest are different people.
"""

from __future__ import annotations

from fieldrelay.domain.identity.channels import is_marketplace
from fieldrelay.domain.identity.match import (
    Candidate,
    Decision,
    Features,
    MatchScore,
    Person,
    features,
    key_strength,
    keys_of,
    name_counts,
    rank,
)
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.records import IdentityRecord

AUTO = "auto"
# How many uncertain pairs one new record may add to the review queue: the best few are what a person needs.
MAX_REVIEW_PAIRS = 3
# Candidates scored per new record, the ones sharing the strongest keys first. The in-memory matcher scores every
# record sharing a key; here each candidate is read from the database, and a common surname in one ZIP code can put
# hundreds behind one name key. A true match shares a phone, an email or the address, which rank first.
MAX_SCORED = 10
# A key more live customers share than this is not read at all (the in-memory matcher's MAX_POSTINGS is 500, for a
# whole data set in memory): a name and ZIP shared by a hundred customers cannot single one of them out.
MAX_SHARED_BY = 100


def person_of(record: IdentityRecord, phones: tuple[str, ...] = (), emails: tuple[str, ...] = ()) -> Person:
    """The matcher's view of a stored customer; ``phones``/``emails``: the whole person's, when more than its own."""
    phones, emails = phones or record.phones, emails or record.emails
    return Person(
        first_name=record.first_name,
        last_name=record.last_name,
        phones=phones,
        emails=emails,
        street=record.street,
        unit=record.unit,
        city=record.city,
        state=record.state,
        postal_code=record.postal_code,
        proxy_phones=frozenset(phones) if is_marketplace(record.lead_source) else frozenset(),
    )


def evidence_of(match: MatchScore) -> list[dict[str, object]]:
    """The evidence of a score as JSON-ready rows (field, outcome, weight)."""
    return [{"field": e.field, "outcome": e.outcome, "weight": round(e.weight, 3)} for e in match.evidence]


def explain(match: MatchScore) -> str:
    """A short reason a person can read: "phone shared, first_name exact, last_name exact"."""
    parts = [f"{e.field} {e.outcome}" for e in match.evidence if e.weight > 0]
    return ", ".join(parts) or "no field agrees"


def index(ctx: HandlerContext, customer_id: str, record: IdentityRecord | None = None) -> Features:
    """(Re-)index a customer under its current match keys; return its features.

    ``record``: the customer as just written (a new record, whose keys are all new), saving the read.
    """
    just_written = record is not None
    if record is None:
        (record,) = ctx.store.identities_of([customer_id])
    found = features(person_of(record))
    ctx.store.add_identity_keys(customer_id, keys_of(found), new=just_written)
    return found


def strongest(shared: dict[str, list[str]], limit: int) -> list[str]:
    """The candidates sharing the strongest keys with a record, best first (first indexed first among equals)."""
    strength = {cid: sum(key_strength(key) for key in keys) for cid, keys in shared.items()}
    return sorted(strength, key=lambda cid: -strength[cid])[:limit]


def whole_people(ctx: HandlerContext, customer_ids: list[str]) -> list[tuple[str, list[Features]]]:
    """Each customer as everything known of the person: its own record and every record merged into it, each with
    all the person's phones and emails (they moved to the survivor), oldest customer first."""
    variants = ctx.store.variants_of(customer_ids)
    people = []
    for record in ctx.store.identities_of(customer_ids):
        known = [record, *variants.get(record.id, ())]
        phones = tuple(dict.fromkeys(p for r in known for p in r.phones))
        emails = tuple(dict.fromkeys(e for r in known for e in r.emails))
        people.append((record.id, [features(person_of(r, phones, emails)) for r in known]))
    return people


def holders(shared: dict[str, list[str]]) -> dict[str, list[str]]:
    """Key -> the customers holding it, from customer -> the keys it shares with a record."""
    out: dict[str, list[str]] = {}
    for customer_id, keys in shared.items():
        for key in keys:
            out.setdefault(key, []).append(customer_id)
    return out


def place(ctx: HandlerContext, new: IdentityRecord, source: str) -> str:
    """Index a just-created customer and merge it into the one it clearly is; return the id to use from now on.

    Two or more clear matches that are one person (no household between them, nobody kept them apart) are merged
    into the best of them along with the new record; otherwise the uncertain pairs go to the review queue.
    """
    store = ctx.store
    new_id = new.id
    mine = index(ctx, new_id, new)
    settings = ctx.settings.identity
    shared = store.customers_by_keys(keys_of(mine), MAX_SHARED_BY)
    shared.pop(new_id, None)
    candidate_ids = strongest(shared, MAX_SCORED)
    found = rank(
        mine,
        whole_people(ctx, candidate_ids),
        merge_at=settings.merge_at,
        review_at=settings.review_at,
        kept_apart=store.kept_apart(candidate_ids),
        # Counted over every customer sharing a key, not only the ones scored: as the in-memory matcher counts.
        name_count=name_counts(holders(shared)),
    )
    merges = [c for c in found if c.decision is Decision.MERGE]
    if merges:
        survivor = merges[0]
        _merge(ctx, survivor.id, new_id, survivor, f"A new {source} record was recognised as this customer")
        for other in merges[1:]:
            _merge(ctx, survivor.id, other.id, other, "Another record of this customer matched the same new record")
        return survivor.id
    # Only uncertain matches, or clear ones that a household or a person's decision keeps apart: a person decides.
    for candidate in [c for c in found if c.decision is not Decision.DISTINCT][:MAX_REVIEW_PAIRS]:
        match = candidate.score
        store.add_merge_candidate(new_id, candidate.id, match.total, match.rule, evidence_of(match))
    return new_id


def _merge(ctx: HandlerContext, survivor_id: str, merged_id: str, found: Candidate[str], what: str) -> None:
    match = found.score
    ctx.store.merge_customers(survivor_id, merged_id, AUTO, match.total, evidence_of(match))
    ctx.store.add_activity(
        survivor_id,
        ctx.now,
        "customer.merged",
        f"{what} and merged automatically (score {match.total:.3f}: {explain(match)})",
        "fieldrelay",
        True,
    )
