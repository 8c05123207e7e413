"""SqlIdentity: the IdentityStore part of SqlMirror — match keys, the review queue and merges."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, select, update

from fieldrelay.service.crm.ports import MergeRefused
from fieldrelay.service.records import CandidateRecord, IdentityRecord, StoredField
from fieldrelay.storage import contact_points, prepared
from fieldrelay.storage.identity import merges
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
_KEY_COUNTS = (
    select(_k.key, func.count())
    .where(_k.account_id == bindparam("b_account"), _k.key.in_(bindparam("b_keys", expanding=True)))
    .group_by(_k.key)
)
_p, _e = customer_phones.c, customer_emails.c
_CUSTOMERS_OF_MANY = (
    select(_c.id, _c.first_name, _c.last_name, _c.street, _c.unit, _c.city, _c.state, _c.postal_code)
    .where(_c.account_id == bindparam("b_account"), _c.id.in_(bindparam("b_ids", expanding=True)))
    .order_by(_c.created_at, _c.id)
)
_PHONES_OF_MANY = (
    select(_p.customer_id, _p.e164)
    .where(_p.account_id == bindparam("b_account"), _p.customer_id.in_(bindparam("b_ids", expanding=True)))
    .order_by(*contact_points.primary_first(customer_phones))
)
_EMAILS_OF_MANY = (
    select(_e.customer_id, _e.email)
    .where(_e.account_id == bindparam("b_account"), _e.customer_id.in_(bindparam("b_ids", expanding=True)))
    .order_by(*contact_points.primary_first(customer_emails))
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
    _fields_cache: dict[str, dict[str, StoredField]]

    def customers_by_keys(self, keys: Collection[str], max_postings: int) -> dict[str, list[str]]:
        """Live (not merged-away) customers indexed under any of the keys, with the keys each shares.

        A key held by more than ``max_postings`` customers is skipped: it tells nothing about who this is.
        """
        if not keys:
            return {}
        stored = {stored_key(k): k for k in keys}
        # Count first (an index-only scan), so an over-shared key's postings are never read into memory.
        counts = self._conn.execute(_KEY_COUNTS, {"b_account": self._account, "b_keys": sorted(stored)})
        usable = sorted(key for key, count in counts if count <= max_postings)
        found: dict[str, list[str]] = {}
        if usable:
            for row in self._conn.execute(_BY_KEYS, {"b_account": self._account, "b_keys": usable}):
                found.setdefault(row.customer_id, []).append(stored[row.key])
        return found

    def add_identity_keys(self, customer_id: str, keys: Collection[str], *, new: bool = False) -> None:
        """Index the customer under these keys (kept keys stay: an old address still identifies)."""
        rows = [
            {"account_id": self._account, "customer_id": customer_id, "key": key}
            for key in sorted({stored_key(k) for k in keys})
        ]
        if new and rows:
            # A customer indexed for the first time holds no key yet: one multi-row INSERT.
            self._conn.execute(prepared.insert_into(identity_keys), rows)
            return
        for row in rows:
            insert_ignore(self._conn, identity_keys, row)

    def identities_of(self, customer_ids: Collection[str]) -> list[IdentityRecord]:
        """Customers' names, contact points and addresses, in three queries whatever their number."""
        if not customer_ids:
            return []
        params = {"b_account": self._account, "b_ids": sorted(set(customer_ids))}
        phones: dict[str, list[str]] = {}
        for row in self._conn.execute(_PHONES_OF_MANY, params):
            phones.setdefault(row.customer_id, []).append(row.e164)
        emails: dict[str, list[str]] = {}
        for row in self._conn.execute(_EMAILS_OF_MANY, params):
            emails.setdefault(row.customer_id, []).append(row.email)
        return [
            IdentityRecord(
                id=row.id,
                first_name=row.first_name,
                last_name=row.last_name,
                phones=tuple(phones.get(row.id, ())),
                emails=tuple(emails.get(row.id, ())),
                street=row.street,
                unit=row.unit,
                city=row.city,
                state=row.state,
                postal_code=row.postal_code,
            )
            for row in self._conn.execute(_CUSTOMERS_OF_MANY, params)
        ]

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
        self._fields_cache.clear()  # the merge moves and replaces fields behind the cache
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
        self._fields_cache.clear()
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
