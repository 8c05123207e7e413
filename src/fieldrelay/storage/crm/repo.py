"""SqlCrm: the CrmStore part of SqlMirror — CRM fields with provenance, service history, equipment and deals."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Insert, bindparam, func, select

from fieldrelay.service.crm.ports import CrmContactState
from fieldrelay.service.records import DealRecord, FieldWrite, StoredField
from fieldrelay.storage import prepared
from fieldrelay.storage.crm import contact
from fieldrelay.storage.prepared import insert_ignore
from fieldrelay.storage.tables import customer_equipment, customer_fields, deals, jobs, service_history

_f, _d, _j = customer_fields.c, deals.c, jobs.c
_FIELDS_OF = select(_f.field, _f.value, _f.source, _f.value_at).where(
    _f.customer_id == bindparam("b_customer"), _f.account_id == bindparam("b_account")
)


def _upsert_fields(dialect_name: str) -> Insert:
    return prepared.upsert_into(
        dialect_name, customer_fields, ("customer_id", "field"), ("value", "source", "value_at", "updated_at")
    )


_OPEN_BALANCE = select(func.coalesce(func.sum(_j.balance_cents), 0)).where(
    _j.customer_id == bindparam("b_customer"),
    _j.account_id == bindparam("b_account"),
    _j.status.not_in(("paid", "cancelled")),
)
_NEXT_APPOINTMENT = select(func.min(_j.scheduled_start)).where(
    _j.customer_id == bindparam("b_customer"),
    _j.account_id == bindparam("b_account"),
    _j.status.in_(("booked", "rescheduled", "dispatched")),
)
_OPEN_DEAL = (
    select(_d.id, _d.customer_id, _d.stage, _d.stage_at, _d.is_open, _d.value_cents)
    .where(_d.customer_id == bindparam("b_customer"), _d.account_id == bindparam("b_account"), _d.is_open.is_(True))
    .order_by(_d.created_at.desc())
    .limit(1)
)

# The deal changed last, open or closed: what an outside CRM is told after an event (a paid job closes it as won).
_LATEST_DEAL = (
    select(_d.id, _d.customer_id, _d.stage, _d.stage_at, _d.is_open, _d.value_cents)
    .where(_d.customer_id == bindparam("b_customer"), _d.account_id == bindparam("b_account"))
    .order_by(_d.updated_at.desc(), _d.created_at.desc())
    .limit(1)
)


class SqlCrm:
    """CRM reads and writes inside the caller's transaction (mixed into SqlMirror)."""

    _conn: Connection
    _account: str
    _now: datetime
    _lock: bool
    # Fields read in this transaction, kept current by the writes below: one event reads them in several handlers.
    _fields_cache: dict[str, dict[str, StoredField]]

    def crm_contact(self, customer_id: str, ordering_key: str) -> CrmContactState:
        """The customer as an outside CRM is sent them, and the state's sequence (storage/crm/contact.py)."""
        return contact.contact_state(self._conn, self._account, customer_id, ordering_key)

    def fields_of(self, customer_id: str) -> dict[str, StoredField]:
        """Every CRM field stored for the customer."""
        cached = self._fields_cache.get(customer_id)
        if cached is None:
            rows = self._conn.execute(_FIELDS_OF, {"b_customer": customer_id, "b_account": self._account})
            cached = self._fields_cache[customer_id] = {
                r.field: StoredField(r.value, r.source, r.value_at) for r in rows
            }
        return dict(cached)

    def _remember(self, customer_id: str, writes: Mapping[str, FieldWrite]) -> None:
        cached = self._fields_cache.get(customer_id)
        if cached is not None:
            cached.update({name: StoredField(w.value, w.source, w.value_at) for name, w in writes.items()})

    def write_fields(self, customer_id: str, writes: Mapping[str, FieldWrite]) -> None:
        """Set several fields at once: one multi-row upsert (a field another transaction just added is replaced)."""
        if not writes:
            return
        rows = [
            {
                "account_id": self._account,
                "customer_id": customer_id,
                "field": name,
                "value": w.value,
                "source": w.source,
                "value_at": w.value_at,
                "updated_at": self._now,
            }
            for name, w in writes.items()
        ]
        self._conn.execute(_upsert_fields(self._conn.dialect.name), rows)
        self._remember(customer_id, writes)

    def add_service_history(
        self,
        customer_id: str,
        job_id: str,
        completed_at: datetime,
        service_type: str | None,
        description: str | None,
        technicians: Sequence[str],
        line_items: Sequence[str],
    ) -> bool:
        """Append the job to the customer's service history unless it is there; True when added."""
        row = {
            "account_id": self._account,
            "customer_id": customer_id,
            "job_id": job_id,
            "completed_at": completed_at,
            "service_type": service_type,
            "description": description,
            "technicians": list(technicians),
            "line_items": list(line_items),
            "recorded_at": self._now,
        }
        return insert_ignore(self._conn, service_history, row)

    def add_equipment(
        self,
        customer_id: str,
        job_id: str,
        name: str,
        installed_on: date,
        warranty_ends_on: date | None,
        source: str,
    ) -> bool:
        """Record equipment a job installed unless recorded already; True when added."""
        row = {
            "account_id": self._account,
            "customer_id": customer_id,
            "job_id": job_id,
            "name": name,
            "installed_on": installed_on,
            "warranty_ends_on": warranty_ends_on,
            "source": source,
            "recorded_at": self._now,
        }
        return insert_ignore(self._conn, customer_equipment, row)

    def open_balance_cents(self, customer_id: str) -> int:
        """What the customer owes across jobs that are neither paid nor cancelled."""
        params = {"b_customer": customer_id, "b_account": self._account}
        return int(self._conn.execute(_OPEN_BALANCE, params).scalar_one())

    def next_appointment_at(self, customer_id: str) -> datetime | None:
        """The earliest appointment among the customer's jobs that are booked, rescheduled or dispatched."""
        params = {"b_customer": customer_id, "b_account": self._account}
        found: datetime | None = self._conn.execute(_NEXT_APPOINTMENT, params).scalar()
        return found.replace(tzinfo=UTC) if found is not None and found.tzinfo is None else found

    def open_deal(self, customer_id: str) -> DealRecord | None:
        """The customer's open deal (the newest, should there be several)."""
        query = prepared.locked(_OPEN_DEAL) if self._lock else _OPEN_DEAL
        row = self._conn.execute(query, {"b_customer": customer_id, "b_account": self._account}).first()
        if row is None:
            return None
        return DealRecord(row.id, row.customer_id, row.stage, row.stage_at, row.is_open, row.value_cents)

    def latest_deal(self, customer_id: str) -> DealRecord | None:
        """The customer's deal changed last, open or closed."""
        row = self._conn.execute(_LATEST_DEAL, {"b_customer": customer_id, "b_account": self._account}).first()
        if row is None:
            return None
        return DealRecord(row.id, row.customer_id, row.stage, row.stage_at, row.is_open, row.value_cents)

    def insert_deal(self, values: Mapping[str, object]) -> str:
        """Create a deal; return its id."""
        row: dict[str, object] = {"id": str(uuid.uuid4()), "created_at": self._now, "updated_at": self._now}
        self._conn.execute(prepared.insert_into(deals), {**row, **values, "account_id": self._account})
        return str(row["id"])

    def update_deal(self, deal_id: str, values: Mapping[str, object]) -> None:
        """Change a deal."""
        params = {**values, "updated_at": self._now, "b_id": deal_id, "b_account": self._account}
        self._conn.execute(prepared.update_by_id(deals), params)
