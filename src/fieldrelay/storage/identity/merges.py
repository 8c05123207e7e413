"""Undoable merges of two customer records: a merge records exactly what it moved, so an unmerge puts back exactly that.

A merge folds the *merged* record into the *survivor*: the rows it owns move to the survivor, the survivor's blank
columns are filled from it, and the merged record stays behind as a tombstone (``customers.merged_into``) keeping
only what the survivor already had (a shared phone, a field the survivor's better source kept). The ``merges`` row's
``moved`` JSON is everything an unmerge needs::

    {"rows": {"<table>": [row id, ...]},          # rows moved to the survivor, per table
     "fields": {"<field>": {"value", "source", "value_at", "updated_at"}},  # survivor's replaced fields, as before
     "columns": {"<column>": previous},           # survivor's blank columns filled, with their previous None or blank
     "sms_opted_out": bool,                       # True when the merge turned the survivor's opt-out on
     "survivor_updated_at": iso | null,           # survivor's updated_at before, when its customers row changed
     "survivor_written_at": iso | null,           # when this merge (or a re-fold for it) last wrote that row
     "merged_updated_at": iso,                    # merged record's updated_at before
     "candidates": [{"id", "status", "decided_at", "decided_by", "set"}]}  # review pairs changed: before, and set

Every statement filters on ``account_id``: one shop never touches another's rows.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ColumnElement, Connection, Row, Table, insert, or_, select, update

from fieldrelay.domain.enrichment.provenance import source_rank
from fieldrelay.storage.tables import (
    activities,
    customer_emails,
    customer_equipment,
    customer_fields,
    customer_phones,
    customers,
    deals,
    estimates,
    external_ids,
    identity_keys,
    jobs,
    merge_candidates,
    merges,
    messages,
    outbox,
    service_history,
    timers,
)

# Rows that belong to a customer through ``customer_id`` and move whole.
_OWNED = (jobs, estimates, deals, activities, messages, timers, outbox, service_history, customer_equipment)
# One row per (customer, value): a value the survivor already holds is not duplicated; the merged row stays behind.
_KEYED = ((customer_phones, "e164"), (customer_emails, "email"), (identity_keys, "key"))
# external_ids kinds whose entity_id can be a customer id (a payment with no job is linked to its customer).
_EXTERNAL_KINDS = ("customer", "payment")
_COLUMNS = (
    "first_name",
    "last_name",
    "name",
    "street",
    "unit",
    "city",
    "state",
    "postal_code",
    "country",
    "lead_source",
)
_TABLES: dict[str, Table] = {t.name: t for t in (external_ids, customer_fields, *_OWNED, *(t for t, _ in _KEYED))}
_CHUNK = 500  # ids per IN (...): far below SQLite's bound-parameter limit


@dataclass(frozen=True)
class MergeRecord:
    """A row of ``merges``, read back."""

    id: int
    survivor_id: str
    merged_id: str
    score: float | None
    decided_by: str
    merged_at: datetime
    undone_at: datetime | None
    evidence: list[dict[str, object]]
    undone_by: str | None = None


class MergeRefused(Exception):
    """A merge or unmerge that cannot be done as asked; the message says why, for a person."""


def merge_customers(
    conn: Connection,
    account_id: str,
    survivor_id: str,
    merged_id: str,
    *,
    now: datetime,
    decided_by: str,
    score: float | None,
    evidence: Sequence[Mapping[str, object]],
) -> int:
    """Fold ``merged_id`` into ``survivor_id`` inside the caller's transaction; return the merge id."""
    if survivor_id == merged_id:
        raise MergeRefused(f"Cannot merge customer {survivor_id} into itself.")
    found = _lock_customers(conn, account_id, (survivor_id, merged_id))
    for customer_id in (survivor_id, merged_id):
        row = found.get(customer_id)
        if row is None:
            raise MergeRefused(f"Cannot merge: customer {customer_id} does not exist in this account.")
        if row.merged_into is not None:
            raise MergeRefused(
                f"Cannot merge: customer {customer_id} was already merged into {row.merged_into}; "
                "use that record, or undo that merge first."
            )
    survivor, merged = found[survivor_id], found[merged_id]
    kinds = external_ids.c.kind.in_(_EXTERNAL_KINDS)
    rows = {"external_ids": _move(conn, external_ids, account_id, merged_id, survivor_id, kinds)}
    for table in _OWNED:
        rows[table.name] = _move(conn, table, account_id, merged_id, survivor_id)
    folded = _fold(conn, account_id, survivor, merged, now)
    changed = folded.pop("changed")
    moved = {
        **folded,
        "rows": {**rows, **folded["rows"]},
        "survivor_updated_at": _iso(survivor.updated_at) if changed else None,
        "survivor_written_at": _iso(now) if changed else None,
        "merged_updated_at": _iso(merged.updated_at),
        "candidates": _decide_candidates(conn, account_id, survivor_id, merged_id, now, decided_by),
    }
    _update_customer(conn, account_id, merged_id, {"merged_into": survivor_id, "updated_at": now})
    record: dict[str, object] = {"account_id": account_id, "survivor_id": survivor_id, "merged_id": merged_id}
    record |= {"score": score, "evidence": [dict(e) for e in evidence], "decided_by": decided_by}
    record |= {"merged_at": now, "moved": moved}
    return int(conn.execute(insert(merges).values(record).returning(merges.c.id)).scalar_one())


def unmerge(conn: Connection, account_id: str, merge_id: int, *, now: datetime, by: str) -> MergeRecord:
    """Undo a merge inside the caller's transaction: the merged record comes back with what it brought.

    Exactly the rows the merge moved go back, by id and as they are now, if they are still on the survivor; rows
    the survivor gained after the merge (a job booked under the surviving record) stay with it. A filled column, a
    replaced field, the opt-out or a candidate decision is put back only while it still holds what the merge wrote:
    a later change wins over the undo. Later merges into the same survivor may be undone before or after this one;
    when this one is undone first, they are folded again for what the survivor no longer holds (a shared phone, a
    blank column), recorded in their own rows so that their undo gives that back too.
    """
    m = merges.c
    row = conn.execute(_for_update(conn, select(merges).where(m.account_id == account_id, m.id == merge_id))).first()
    if row is None:
        raise MergeRefused(f"Cannot undo: merge {merge_id} does not exist in this account.")
    if row.undone_at is not None:
        raise MergeRefused(
            f"Merge {merge_id} was already undone at {row.undone_at:%Y-%m-%d %H:%M} UTC by {row.undone_by}."
        )
    survivor_id, merged_id = row.survivor_id, row.merged_id
    active = (m.account_id == account_id, m.undone_at.is_(None))
    onward = conn.execute(select(m.id, m.survivor_id).where(*active, m.merged_id == survivor_id)).first()
    if onward is not None:
        # The rows this merge moved went on with the survivor into another record: that merge must give them back first.
        raise MergeRefused(
            f"Cannot undo merge {merge_id}: customer {survivor_id} has since been merged into {onward.survivor_id} "
            f"by merge {onward.id}; undo merge {onward.id} first."
        )
    found = _lock_customers(conn, account_id, (survivor_id, merged_id))
    if len(found) < 2 or found[merged_id].merged_into != survivor_id:
        raise MergeRefused(
            f"Cannot undo merge {merge_id}: customer {merged_id} is no longer merged into {survivor_id}."
        )
    survivor, merged = found[survivor_id], found[merged_id]
    moved: Mapping[str, Any] = row.moved
    later_query = select(m.id, m.merged_id, m.moved).where(*active, m.survivor_id == survivor_id, m.id > merge_id)
    later = [{"id": r.id, "merged_id": r.merged_id, "moved": copy.deepcopy(r.moved)} for r in conn.execute(later_query)]

    _unreplace_moved_fields(conn, account_id, survivor_id, moved["rows"].get("customer_fields", []), later)
    for name, ids in moved["rows"].items():
        table = _TABLES[name]
        for chunk in _chunks(ids):
            _move(conn, table, account_id, survivor_id, merged_id, table.c.id.in_(chunk))
    _restore_fields(conn, account_id, survivor_id, merged_id, moved["fields"], later)

    changes = {c: before for c, before in moved["columns"].items() if survivor._mapping[c] == merged._mapping[c]}
    written_at = _from_iso(moved["survivor_written_at"])
    untouched = written_at is not None and survivor.updated_at == written_at
    if moved["sms_opted_out"] and survivor.sms_opted_out and untouched:
        # Only while nothing touched the survivor since: a STOP it got after the merge must stand (when in doubt,
        # stay opted out). A later merge that brought an opt-out too sets it again when folded below.
        changes["sms_opted_out"] = False
    if changes:
        # Nothing touched the survivor since the merge: its updated_at goes back too, else the undo is a change now.
        changes["updated_at"] = _from_iso(moved["survivor_updated_at"]) if untouched else now
        _update_customer(conn, account_id, survivor_id, changes)
    _update_customer(
        conn, account_id, merged_id, {"merged_into": None, "updated_at": _from_iso(moved["merged_updated_at"])}
    )

    for item in later:
        k = customers.c
        pair = conn.execute(
            select(customers).where(k.account_id == account_id, k.id.in_((survivor_id, item["merged_id"])))
        )
        by_id = {r.id: r for r in pair}
        folded = _fold(conn, account_id, by_id[survivor_id], by_id[item["merged_id"]], now)
        _absorb(item["moved"], folded, by_id[survivor_id].updated_at, now)
        conn.execute(update(merges).where(m.account_id == account_id, m.id == item["id"]).values(moved=item["moved"]))

    c = merge_candidates.c
    for cand in moved["candidates"]:
        conn.execute(
            update(merge_candidates)
            .where(c.account_id == account_id, c.id == cand["id"], c.status == cand["set"])
            .values(status=cand["status"], decided_at=_from_iso(cand["decided_at"]), decided_by=cand["decided_by"])
        )
    conn.execute(update(merges).where(m.account_id == account_id, m.id == merge_id).values(undone_at=now, undone_by=by))
    return _record(conn.execute(select(merges).where(m.account_id == account_id, m.id == merge_id)).one())


# --- folding: what the survivor lacks, taken from the merged record --------------------------------------------------


def _fold(conn: Connection, account_id: str, survivor: Row[Any], merged: Row[Any], now: datetime) -> dict[str, Any]:
    """Give the survivor the merged record's contact points, keys, fields and columns it lacks; return the record."""
    survivor_id, merged_id = survivor.id, merged.id
    rows: dict[str, list[Any]] = {}
    for table, value_column in _KEYED:
        held = select(table.c[value_column]).where(table.c.account_id == account_id, table.c.customer_id == survivor_id)
        rows[table.name] = _move(conn, table, account_id, merged_id, survivor_id, table.c[value_column].not_in(held))
    f = customer_fields.c
    theirs = {r.field: r for r in _fields_of(conn, account_id, merged_id)}
    ours = {r.field: r for r in _fields_of(conn, account_id, survivor_id)}
    missing = [r.id for name, r in theirs.items() if name not in ours]
    rows["customer_fields"] = _move(conn, customer_fields, account_id, merged_id, survivor_id, f.id.in_(missing))
    replaced: dict[str, dict[str, object]] = {}
    for name, mine in ours.items():
        other = theirs.get(name)
        # Equal ranks keep the survivor's value, as enrichment does (enrichment_provenance.fill_missing).
        if other is None or source_rank(other.source) <= source_rank(mine.source):
            continue
        replaced[name] = {
            "value": mine.value,
            "source": mine.source,
            "value_at": _iso(mine.value_at),
            "updated_at": _iso(mine.updated_at),
        }
        values = {"value": other.value, "source": other.source, "value_at": other.value_at, "updated_at": now}
        conn.execute(update(customer_fields).where(f.account_id == account_id, f.id == mine.id).values(values))
    filled = {
        c: survivor._mapping[c] for c in _COLUMNS if _blank(survivor._mapping[c]) and not _blank(merged._mapping[c])
    }
    changes: dict[str, object] = {c: merged._mapping[c] for c in filled}
    opted_out = bool(merged.sms_opted_out) and not survivor.sms_opted_out
    if opted_out:
        changes["sms_opted_out"] = True  # either record said STOP: the person did
    if changes:
        _update_customer(conn, account_id, survivor_id, {**changes, "updated_at": now})
    return {"rows": rows, "fields": replaced, "columns": filled, "sms_opted_out": opted_out, "changed": bool(changes)}


def _absorb(moved: dict[str, Any], folded: Mapping[str, Any], updated_at: datetime, now: datetime) -> None:
    """Add a fold done during another merge's undo to a later merge's record, so its own undo gives it back too."""
    if folded["changed"]:
        moved["survivor_updated_at"] = moved["survivor_updated_at"] or _iso(updated_at)
        moved["survivor_written_at"] = _iso(now)
    for name, ids in folded["rows"].items():
        moved["rows"][name] = [*moved["rows"].get(name, []), *ids]
    moved["fields"].update(folded["fields"])
    moved["columns"].update(folded["columns"])
    moved["sms_opted_out"] = moved["sms_opted_out"] or folded["sms_opted_out"]


def _unreplace_moved_fields(
    conn: Connection, account_id: str, survivor_id: str, field_ids: Sequence[Any], later: list[dict[str, Any]]
) -> None:
    """A field row this merge moved that a later merge overwrote goes back with the value it came with."""
    ids = set(field_ids)
    for row in _fields_of(conn, account_id, survivor_id):
        records = [item["moved"]["fields"] for item in later if row.id in ids and row.field in item["moved"]["fields"]]
        if not records:
            continue
        _write_field(conn, account_id, row.id, records[0][row.field])  # the first later merge saw it as it came
        for fields in records:
            del fields[row.field]  # the survivor no longer holds this field: nothing of it for those undos to restore


def _restore_fields(
    conn: Connection,
    account_id: str,
    survivor_id: str,
    merged_id: str,
    previous: Mapping[str, Mapping[str, Any]],
    later: list[dict[str, Any]],
) -> None:
    """Put back the survivor's fields this merge replaced, or hand their old values to a later merge that did again."""
    ours = {r.field: r for r in _fields_of(conn, account_id, survivor_id)}
    theirs = {r.field: r for r in _fields_of(conn, account_id, merged_id)}  # what the merge wrote stayed behind here
    for name, before in previous.items():
        mine, other = ours.get(name), theirs.get(name)
        if mine is None or other is None:
            continue
        if (mine.value, mine.source, mine.value_at) == (other.value, other.source, other.value_at):
            _write_field(conn, account_id, mine.id, before)
            continue
        # Replaced again by a later merge: its undo must restore the value before this one. Else a later write wins.
        for item in later:
            if name in item["moved"]["fields"]:
                item["moved"]["fields"][name] = dict(before)
                break


def _write_field(conn: Connection, account_id: str, field_id: Any, before: Mapping[str, Any]) -> None:
    f = customer_fields.c
    values = {**before, "value_at": _from_iso(before["value_at"]), "updated_at": _from_iso(before["updated_at"])}
    conn.execute(update(customer_fields).where(f.account_id == account_id, f.id == field_id).values(values))


def _decide_candidates(
    conn: Connection, account_id: str, survivor_id: str, merged_id: str, now: datetime, decided_by: str
) -> list[dict[str, object]]:
    """Close the open review pairs naming the merged record; mark the merged pair itself merged."""
    c = merge_candidates.c
    rows = conn.execute(
        select(c.id, c.customer_id, c.other_id, c.status, c.decided_at, c.decided_by)
        .where(c.account_id == account_id, or_(c.customer_id == merged_id, c.other_id == merged_id))
        .order_by(c.id)
    ).all()
    changed: list[dict[str, object]] = []
    for row in rows:
        is_pair = {row.customer_id, row.other_id} == {survivor_id, merged_id}
        status = "merged" if is_pair else "closed"
        # The pair is marked merged whatever was said before (the merge is the later decision); others only if open.
        if row.status == status or (not is_pair and row.status != "open"):
            continue
        values = {"status": status, "decided_at": now, "decided_by": decided_by}
        conn.execute(update(merge_candidates).where(c.account_id == account_id, c.id == row.id).values(values))
        before = {"status": row.status, "decided_at": _iso(row.decided_at), "decided_by": row.decided_by}
        changed.append({"id": row.id, **before, "set": status})
    return changed


# --- small helpers ---------------------------------------------------------------------------------------------------


def _move(
    conn: Connection, table: Table, account_id: str, from_id: str, to_id: str, *where: ColumnElement[bool]
) -> list[Any]:
    """Point ``table``'s rows of ``from_id`` (matching ``where``) at ``to_id``; return their ids, lowest first."""
    owner: Column[Any] = table.c.entity_id if table is external_ids else table.c.customer_id
    query = select(table.c.id).where(table.c.account_id == account_id, owner == from_id, *where).order_by(table.c.id)
    ids = list(conn.execute(query).scalars())
    for chunk in _chunks(ids):
        statement = update(table).where(table.c.account_id == account_id, table.c.id.in_(chunk))
        conn.execute(statement.values({owner.name: to_id}))
    return ids


def _lock_customers(conn: Connection, account_id: str, ids: Iterable[str]) -> dict[str, Row[Any]]:
    """The customers by id, locked on PostgreSQL in id order (two merges never wait on each other crosswise)."""
    k = customers.c
    query = select(customers).where(k.account_id == account_id, k.id.in_(list(ids))).order_by(k.id)
    return {row.id: row for row in conn.execute(_for_update(conn, query))}


def _fields_of(conn: Connection, account_id: str, customer_id: str) -> list[Row[Any]]:
    f = customer_fields.c
    query = select(customer_fields).where(f.account_id == account_id, f.customer_id == customer_id).order_by(f.id)
    return list(conn.execute(query).all())


def _update_customer(conn: Connection, account_id: str, customer_id: str, values: Mapping[str, object]) -> None:
    k = customers.c
    conn.execute(update(customers).where(k.account_id == account_id, k.id == customer_id).values(dict(values)))


def _for_update(conn: Connection, query: Any) -> Any:
    # SQLite has no row locks; its BEGIN IMMEDIATE transaction already holds the whole database.
    return query.with_for_update() if conn.dialect.name == "postgresql" else query


def _record(row: Row[Any]) -> MergeRecord:
    return MergeRecord(
        id=int(row.id),
        survivor_id=row.survivor_id,
        merged_id=row.merged_id,
        score=row.score,
        decided_by=row.decided_by,
        merged_at=row.merged_at,
        undone_at=row.undone_at,
        evidence=[dict(e) for e in row.evidence],
        undone_by=row.undone_by,
    )


def _chunks(ids: Sequence[Any]) -> Iterable[Sequence[Any]]:
    return (ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK))


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None
