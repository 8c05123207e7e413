"""SqlIdentity: the IdentityStore part of SqlMirror — match keys, the review queue and merges."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update

from fieldrelay.service.ports_crm import MergeRefused
from fieldrelay.service.records import CandidateRecord, IdentityRecord
from fieldrelay.storage import merges
from fieldrelay.storage.prepared import insert_ignore
from fieldrelay.storage.tables import customer_emails, customer_phones, customers, identity_keys, merge_candidates

_k, _c = identity_keys.c, customers.c
_BY_KEYS = (
    select(_k.key, _k.customer_id)
    .join(customers, _c.id == _k.customer_id)
    .where(
        _k.account_id == bindparam("b_account"),
        _k.key.in_(bindparam("b_keys", expanding=True)),
        _c.merged_into.is_(None),
    )
    .order_by(_k.id)
)
_MAX_KEY = 200


def stored_key(key: str) -> str:
    """The key as stored: a key longer than the column (a very long street) is stored as its hash."""
    if len(key) <= _MAX_KEY:
        return key
    return key[:2] + "#" + hashlib.sha256(key.encode()).hexdigest()


class SqlIdentity:
    """Identity reads and writes inside the caller's transaction (mixed into SqlMirror)."""

    _conn: Connection
    _account: str
    _now: datetime

    def customers_by_keys(self, keys: Collection[str], max_postings: int) -> list[str]:
        """Ids of live (not merged-away) customers indexed under any of the keys, skipping keys held by too many."""
        if not keys:
            return []
        postings: dict[str, list[str]] = {}
        params = {"b_account": self._account, "b_keys": sorted({stored_key(k) for k in keys})}
        for row in self._conn.execute(_BY_KEYS, params):
            postings.setdefault(row.key, []).append(row.customer_id)
        found: dict[str, None] = {}
        for ids in postings.values():
            # A key many records share (an office switchboard, a placeholder email) tells nothing about who this is.
            if len(ids) <= max_postings:
                found.update(dict.fromkeys(ids))
        return list(found)

    def add_identity_keys(self, customer_id: str, keys: Collection[str]) -> None:
        """Index the customer under these keys (kept keys stay: an old address still identifies)."""
        for key in sorted({stored_key(k) for k in keys}):
            insert_ignore(
                self._conn, identity_keys, {"account_id": self._account, "customer_id": customer_id, "key": key}
            )

    def identity_of(self, customer_id: str) -> IdentityRecord:
        """The customer's names, contact points and address."""
        row = self._conn.execute(
            select(_c.first_name, _c.last_name, _c.street, _c.unit, _c.city, _c.state, _c.postal_code).where(
                _c.id == customer_id, _c.account_id == self._account
            )
        ).one()
        phones = self._conn.execute(
            select(customer_phones.c.e164)
            .where(customer_phones.c.customer_id == customer_id, customer_phones.c.account_id == self._account)
            .order_by(customer_phones.c.id)
        ).scalars()
        emails = self._conn.execute(
            select(customer_emails.c.email)
            .where(customer_emails.c.customer_id == customer_id, customer_emails.c.account_id == self._account)
            .order_by(customer_emails.c.id)
        ).scalars()
        return IdentityRecord(
            id=customer_id,
            first_name=row.first_name,
            last_name=row.last_name,
            phones=tuple(phones),
            emails=tuple(emails),
            street=row.street,
            unit=row.unit,
            city=row.city,
            state=row.state,
            postal_code=row.postal_code,
        )

    def add_merge_candidate(
        self, customer_id: str, other_id: str, score: float, rule: str | None, evidence: Sequence[Mapping[str, object]]
    ) -> bool:
        """Put a pair in the review queue unless it is there; True when added."""
        row = {
            "account_id": self._account,
            "customer_id": customer_id,
            "other_id": other_id,
            "score": score,
            "rule": rule,
            "evidence": [dict(e) for e in evidence],
            "status": "open",
            "created_at": self._now,
        }
        return insert_ignore(self._conn, merge_candidates, row)

    def merge_customers(
        self,
        survivor_id: str,
        merged_id: str,
        decided_by: str,
        score: float | None,
        evidence: Sequence[Mapping[str, object]],
    ) -> int:
        """Fold one customer into another, undoably; return the merge id."""
        try:
            return merges.merge_customers(
                self._conn,
                self._account,
                survivor_id,
                merged_id,
                now=self._now,
                decided_by=decided_by,
                score=score,
                evidence=evidence,
            )
        except merges.MergeRefused as exc:
            raise MergeRefused(str(exc)) from exc

    def unmerge_customers(self, merge_id: int, by: str) -> tuple[str, str]:
        """Undo a merge; return (survivor id, restored id)."""
        try:
            undone = merges.unmerge(self._conn, self._account, merge_id, now=self._now, by=by)
        except merges.MergeRefused as exc:
            raise MergeRefused(str(exc)) from exc
        return undone.survivor_id, undone.merged_id

    def merge_candidate(self, candidate_id: int) -> CandidateRecord | None:
        """One pair of the review queue."""
        m = merge_candidates.c
        row = self._conn.execute(
            select(merge_candidates).where(m.id == candidate_id, m.account_id == self._account)
        ).first()
        if row is None:
            return None
        return CandidateRecord(
            row.id, row.customer_id, row.other_id, row.score, row.rule, list(row.evidence or []), row.status
        )

    def decide_candidate(self, candidate_id: int, status: str, by: str) -> None:
        """Record a person's decision on a pair."""
        m = merge_candidates.c
        self._conn.execute(
            update(merge_candidates)
            .where(m.id == candidate_id, m.account_id == self._account)
            .values(status=status, decided_at=self._now, decided_by=by)
        )
