"""``Matcher``: an in-memory index of known people by blocking key, for the bench and the tests.

The service keeps the same keys in a table and scores the candidates it loads with the same ``score_features`` and
``decide``; this index does the same in memory, one incoming record at a time.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Generic, NamedTuple, TypeVar

from fieldrelay.domain.identity.features import Features, Person, features, is_name_key, keys_of, name_counts
from fieldrelay.domain.identity.score import (
    MERGE_THRESHOLD,
    REVIEW_THRESHOLD,
    Decision,
    MatchScore,
    decide,
    score_features,
)

# A key shared by more records than this (a placeholder email, an office switchboard) says nothing; it is skipped.
MAX_POSTINGS = 500

K = TypeVar("K", bound=Hashable)


class Candidate(NamedTuple, Generic[K]):
    id: K
    score: MatchScore
    decision: Decision


class Matcher(Generic[K]):
    """An in-memory index of known people: key -> ids. An id may hold several records (the variants merged into it)."""

    def __init__(
        self,
        *,
        merge_at: float = MERGE_THRESHOLD,
        review_at: float = REVIEW_THRESHOLD,
        max_postings: int = MAX_POSTINGS,
        typed_identifiers: AbstractSet[str] = frozenset(),
    ) -> None:
        self.merge_at, self.review_at, self.max_postings = merge_at, review_at, max_postings
        self.typed_identifiers = frozenset(typed_identifiers)
        self._index: dict[str, set[K]] = {}
        self._rank: dict[K, int] = {}  # order of first indexing: breaks ties between equal scores (stable sort)
        self._records: dict[K, list[Features]] = {}

    def __len__(self) -> int:
        return len(self._records)

    def add(self, id: K, person: Person) -> None:
        """Index a record under ``id`` (a new person, or another variant of one already known)."""
        f = features(person)
        self._records.setdefault(id, []).append(f)
        self._rank.setdefault(id, len(self._rank))
        for key in keys_of(f):
            self._index.setdefault(key, set()).add(id)

    def fold(self, id: K, into: K) -> None:
        """One person known under two ids: ``id``'s records are ``into``'s from now on."""
        for f in self._records.pop(id, []):
            self._records.setdefault(into, []).append(f)
            for key in keys_of(f):
                posting = self._index[key]
                posting.discard(id)
                posting.add(into)
        self._rank.pop(id, None)

    def candidates(self, person: Person, kept_apart: Collection[frozenset[K]] = ()) -> list[Candidate[K]]:
        """Known people sharing a key with ``person``, scored and decided, best first (DISTINCT ones included)."""
        f = features(person)
        ids: set[K] = set()
        names: dict[str, set[K]] = {}
        for key in keys_of(f):
            posting = self._index.get(key)
            if posting and len(posting) <= self.max_postings:
                ids |= posting
                if is_name_key(key):
                    names[key] = posting
        people = [(id, self._records[id]) for id in sorted(ids, key=self._rank.__getitem__)]
        return rank(
            f,
            people,
            merge_at=self.merge_at,
            review_at=self.review_at,
            typed_identifiers=self.typed_identifiers,
            kept_apart=kept_apart,
            name_count=name_counts(names),
        )


def rank(
    f: Features,
    people: Sequence[tuple[K, Sequence[Features]]],
    *,
    merge_at: float = MERGE_THRESHOLD,
    review_at: float = REVIEW_THRESHOLD,
    typed_identifiers: AbstractSet[str] = frozenset(),
    kept_apart: Collection[frozenset[K]] = (),
    name_count: Mapping[K, int] | None = None,
) -> list[Candidate[K]]:
    """Score a record against known people, each with every record it holds (its merged variants), and decide.

    Best first; among equal scores, the order given (first known first). Several MERGE candidates left MERGE are one
    person known twice: the caller merges them. They turn to REVIEW when two of them are two adults of one household
    ("Pat Hunt" where Patrick and Patricia live), or a person kept two of them apart (``kept_apart``: pairs of ids).
    ``name_count``: per candidate, how many known people share the name key it shares with the record
    (``features.name_counts``); a candidate left out counts as the only one.
    """
    counts = name_count or {}
    found = []
    for id, records in people:
        n = counts.get(id, 1)
        best = max((score_features(f, g, typed_identifiers, n) for g in records), key=lambda s: s.total)
        found.append(Candidate(id, best, decide(best, merge_at=merge_at, review_at=review_at)))
    found.sort(key=lambda c: -c.score.total)
    merges = [c for c in found if c.decision is Decision.MERGE]
    if not merges:
        return found
    records_of = dict(people)
    # An identifier that agrees with the best candidate names it: a rival that only fits the name and address is
    # none (the household rule yields to an identifier in the same way). Rivals that agree on one too still count.
    # A rival is any candidate worth a person's look, not only another merge: "George Anton" at the address of
    # George Anton and George Anton Jr fits the father by name and the son by the phone, so a person decides.
    rivals = [
        c
        for c in found[1:]
        if c.decision is not Decision.DISTINCT and (c.score.identified or not merges[0].score.identified)
    ]
    ambiguous = any(apart(records_of[merges[0].id], records_of[c.id], typed_identifiers) for c in rivals) or any(
        frozenset((x.id, y.id)) in kept_apart for i, x in enumerate(merges) for y in merges[i + 1 :]
    )
    if ambiguous:
        found = [c._replace(decision=Decision.REVIEW) if c.decision is Decision.MERGE else c for c in found]
    return found


def apart(xs: Sequence[Features], ys: Sequence[Features], typed_identifiers: AbstractSet[str] = frozenset()) -> bool:
    """True when two known people are told apart as two adults of one household: by the household rule, or as
    father and son ("Jr" on one record, none or "Sr" on the other)."""
    for f in xs:
        for g in ys:
            rule = score_features(f, g, typed_identifiers).rule
            if rule == "household" or (rule == "unconfirmed" and f.suffix != g.suffix):
                return True
    return False
