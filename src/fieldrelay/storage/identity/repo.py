"""SqlIdentity: the IdentityStore part of SqlMirror — match keys, the review queue and merges."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import CompoundSelect, Connection, Select, String, bindparam, func, select, union_all, update

from fieldrelay.service.crm.ports import MergeRefused
from fieldrelay.service.records import CandidateRecord, IdentityRecord, StoredField
from fieldrelay.storage import contact_points, prepared
from fieldrelay.storage.identity import merges
from fieldrelay.storage.prepared import insert_ignore
from fieldrelay.storage.tables import (
    customer_emails,
    customer_phones,
    customers,
    identity_keys,
    merge_candidates,
)
from fieldrelay.storage.tables import merges as merge_rows

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
_p, _e = customer_phones.c, customer_emails.c
_IDENTITY_COLUMNS = (
    _c.id,
    _c.first_name,
    _c.last_name,
    _c.street,
    _c.unit,
    _c.city,
    _c.state,
    _c.postal_code,
    _c.lead_source,
    _c.merged_into,
)
_CUSTOMERS_OF_MANY = (
    select(*_IDENTITY_COLUMNS)
    .where(_c.account_id == bindparam("b_account"), _c.id.in_(bindparam("b_ids", expanding=True)))
    .order_by(_c.created_at, _c.id)
)
_m, _g = merge_candidates.c, merge_rows.c
# Through the merges table (indexed by survivor), not customers.merged_into (no index): bounded by the merges read.
# Read on its own, then the customers by id: joined, SQLite walked every customer of the shop and probed merges.
_MERGED_INTO = select(_g.merged_id, _g.survivor_id).where(
    _g.account_id == bindparam("b_account"),
    _g.survivor_id.in_(bindparam("b_ids", expanding=True)),
    _g.undone_at.is_(None),
)
_KEPT_APART = select(_m.customer_id, _m.other_id).where(
    _m.account_id == bindparam("b_account"),
    _m.status == "distinct",
    _m.customer_id.in_(bindparam("b_ids", expanding=True)),
    _m.other_id.in_(bindparam("b_ids", expanding=True)),
)
_UNDONE = select(_g.survivor_id, _g.merged_id).where(
    _g.account_id == bindparam("b_account"),
    _g.undone_at.is_not(None),
    _g.survivor_id.in_(bindparam("b_ids", expanding=True)),
    _g.merged_id.in_(bindparam("b_ids", expanding=True)),
)
# Merges of merges are followed this deep: a person merged more often than this is read with the first levels.
_MAX_MERGE_DEPTH = 8
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


@lru_cache(maxsize=64)
def _capped_counts(keys: int, cap: int) -> CompoundSelect[Any]:
    """Per key, how many customers hold it, counted no further than ``cap + 1``: one bounded index range per key.

    A ``GROUP BY`` count over ``key IN (...)`` reads every posting of every key (a parallel sequential scan on
    PostgreSQL once a name key is shared by thousands); ``LIMIT`` inside each branch stops at the cap on both databases.
    """
    branches = []
    for i in range(keys):
        held = (
            select(_k.id)
            .where(_k.account_id == bindparam("b_account"), _k.key == bindparam(f"b_key{i}"))
            .limit(cap + 1)
            .subquery(f"held{i}")
        )
        branches.append(select(bindparam(f"b_name{i}", type_=String).label("key"), func.count()).select_from(held))
    return union_all(*branches)


def _count_params(account: str, stored: Mapping[str, str]) -> dict[str, str]:
    params = {"b_account": account}
    for i, key in enumerate(sorted(stored)):
        params[f"b_key{i}"] = params[f"b_name{i}"] = key
    return params


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

    def _flushed(self) -> Connection:
        """The connection with the timeline rows held back written first (SqlMirror holds them in the worker)."""
        return self._conn

    def customers_by_keys(self, keys: Collection[str], max_postings: int) -> dict[str, list[str]]:
        """Live (not merged-away) customers indexed under any of the keys, with the keys each shares.

        A key held by more than ``max_postings`` customers is skipped: it tells nothing about who this is.
        """
        if not keys:
            return {}
        stored = {stored_key(k): k for k in keys}
        # Count first, each key's count stopping at max_postings + 1 (an index range scan of at most that many
        # entries), so the work per record is bounded however many customers share a name key.
        counts = self._conn.execute(_capped_counts(len(stored), max_postings), _count_params(self._account, stored))
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
        return self._identities(_CUSTOMERS_OF_MANY, sorted(set(customer_ids)))[0]

    def variants_of(self, customer_ids: Collection[str]) -> dict[str, list[IdentityRecord]]:
        """Per live customer, the records merged into it (directly or through another merge), oldest first.

        Their phones and emails moved to the survivor with the merge; their names and addresses stay on them.
        """
        survivor_of = {cid: cid for cid in customer_ids}
        found: dict[str, list[IdentityRecord]] = {}
        level = sorted(survivor_of)
        for _ in range(_MAX_MERGE_DEPTH):
            if not level:
                break
            params = {"b_account": self._account, "b_ids": level}
            merged_into = {row.merged_id: row.survivor_id for row in self._conn.execute(_MERGED_INTO, params)}
            records = self._identities(_CUSTOMERS_OF_MANY, sorted(merged_into))[0] if merged_into else []
            for record in records:
                survivor_of[record.id] = survivor_of[merged_into[record.id]]
                found.setdefault(survivor_of[record.id], []).append(record)
            level = [record.id for record in records]
        return found

    def kept_apart(self, customer_ids: Collection[str]) -> set[frozenset[str]]:
        """Pairs of these customers a person said are two people: kept apart in review, or a merge undone."""
        if len(customer_ids) < 2:
            return set()
        params = {"b_account": self._account, "b_ids": sorted(set(customer_ids))}
        pairs = {frozenset(row) for row in self._conn.execute(_KEPT_APART, params)}
        return pairs | {frozenset(row) for row in self._conn.execute(_UNDONE, params)}

    def _identities(self, query: Select[Any], ids: list[str]) -> tuple[list[IdentityRecord], dict[str, str]]:
        """The customers a query selects by id, with their phones and emails; and whom each was merged into."""
        params = {"b_account": self._account, "b_ids": ids}
        rows = self._conn.execute(query, params).all()
        if not rows:
            return [], {}
        params["b_ids"] = sorted({row.id for row in rows})
        phones: dict[str, list[str]] = {}
        for row in self._conn.execute(_PHONES_OF_MANY, params):
            phones.setdefault(row.customer_id, []).append(row.e164)
        emails: dict[str, list[str]] = {}
        for row in self._conn.execute(_EMAILS_OF_MANY, params):
            emails.setdefault(row.customer_id, []).append(row.email)
        records = [
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
                lead_source=row.lead_source,
            )
            for row in rows
        ]
        return records, {row.id: row.merged_into for row in rows if row.merged_into}

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
                self._flushed(),  # the merged record's timeline moves whole, rows held back included
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
            undone = merges.unmerge(self._flushed(), self._account, merge_id, now=self._now, by=by)
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
