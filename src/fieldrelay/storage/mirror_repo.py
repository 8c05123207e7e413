"""SqlMirror: the MirrorStore of the service layer on SQLAlchemy Core, scoped to one account and transaction."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Insert, Select, Table, exists, insert, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite

from fieldrelay.service.records import CustomerRecord, EstimateRecord, JobRecord, MessageRecord
from fieldrelay.storage.tables import (
    activities,
    consents,
    customer_emails,
    customer_phones,
    customers,
    estimates,
    external_ids,
    jobs,
    messages,
    outbox,
    timers,
)


def insert_ignore(conn: Connection, table: Table, values: Mapping[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on either database; True when a row was written."""
    return conn.execute(_insert_ignore(conn.dialect.name, table), dict(values)).first() is not None


@cache
def _insert_ignore(dialect_name: str, table: Table) -> Insert:
    # Built once per table and executed with parameters: building it per call with .values() cost about 5x
    # the time of running it (profiled with bench/ingest.py).
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    # RETURNING rather than rowcount: psycopg 3 under SQLAlchemy 2.1 reports rowcount -1 for this statement.
    statement: Insert = dialect.insert(table).on_conflict_do_nothing().returning(literal_column("1"))
    return statement


class SqlMirror:
    """Mirror reads and writes inside the caller's transaction."""

    def __init__(self, conn: Connection, account_id: str, now: datetime) -> None:
        self._conn = conn
        self._account = account_id
        self._now = now
        self._lock = conn.dialect.name == "postgresql"

    # --- helpers ---------------------------------------------------------------------------------

    def _one(self, query: Select[Any]) -> Any:
        if self._lock:
            query = query.with_for_update()
        return self._conn.execute(query).first()

    def _insert(self, table: Table, values: Mapping[str, object], stamps: bool = True) -> str:
        row: dict[str, object] = {"id": str(uuid.uuid4()), **values, "account_id": self._account}
        if stamps:
            row.setdefault("created_at", self._now)
            row.setdefault("updated_at", self._now)
        self._conn.execute(insert(table).values(**row))
        return str(row["id"])

    def _update(self, table: Table, entity_id: str, values: Mapping[str, object]) -> None:
        if not values:
            return
        extra = {"updated_at": self._now} if "updated_at" in table.c else {}
        self._conn.execute(
            update(table).where(table.c.id == entity_id, table.c.account_id == self._account).values(**values, **extra)
        )

    def _entity_for(self, connector: str, kind: str, external_id: str) -> str | None:
        x = external_ids.c
        return self._conn.execute(
            select(x.entity_id).where(
                x.account_id == self._account,
                x.connector == connector,
                x.kind == kind,
                x.external_id == external_id,
            )
        ).scalar()

    # --- customers -------------------------------------------------------------------------------

    def customer_by_external(self, connector: str, external_id: str) -> CustomerRecord | None:
        """The customer a vendor id points at."""
        entity = self._entity_for(connector, "customer", external_id)
        return self.get_customer(entity) if entity else None

    def customers_by_phone(self, e164: str) -> list[str]:
        """Ids of customers holding this phone."""
        p = customer_phones.c
        query = select(p.customer_id).where(p.account_id == self._account, p.e164 == e164).order_by(p.id)
        return list(self._conn.execute(query).scalars())

    def customers_by_email(self, email: str) -> list[str]:
        """Ids of customers holding this email."""
        e = customer_emails.c
        query = select(e.customer_id).where(e.account_id == self._account, e.email == email).order_by(e.id)
        return list(self._conn.execute(query).scalars())

    def get_customer(self, customer_id: str) -> CustomerRecord:
        """One customer, locked for update on PostgreSQL."""
        c = customers.c
        row = self._one(select(customers).where(c.id == customer_id, c.account_id == self._account))
        if row is None:
            raise LookupError(f"customer {customer_id} not found")
        return CustomerRecord(
            id=row.id,
            first_name=row.first_name,
            last_name=row.last_name,
            street=row.street,
            city=row.city,
            state=row.state,
            postal_code=row.postal_code,
            lead_source=row.lead_source,
            sms_opted_out=row.sms_opted_out,
            source_updated_at=row.source_updated_at,
        )

    def insert_customer(self, values: Mapping[str, object]) -> str:
        """Create a customer."""
        return self._insert(customers, {"sms_opted_out": False, **values})

    def update_customer(self, customer_id: str, values: Mapping[str, object]) -> None:
        """Change a customer's fields."""
        self._update(customers, customer_id, values)

    def link_external(self, connector: str, kind: str, external_id: str, entity_id: str) -> bool:
        """Record a vendor id for a mirror row; False when it already named one."""
        return insert_ignore(
            self._conn,
            external_ids,
            {
                "account_id": self._account,
                "connector": connector,
                "kind": kind,
                "external_id": external_id,
                "entity_id": entity_id,
            },
        )

    def add_contact_points(self, customer_id: str, phones: Sequence[str], emails: Sequence[str]) -> None:
        """Add phones and emails the customer does not hold yet."""
        for phone in dict.fromkeys(phones):
            insert_ignore(
                self._conn,
                customer_phones,
                {"account_id": self._account, "customer_id": customer_id, "e164": phone},
            )
        for email in dict.fromkeys(emails):
            insert_ignore(
                self._conn,
                customer_emails,
                {"account_id": self._account, "customer_id": customer_id, "email": email},
            )

    def phones_of(self, customer_id: str) -> list[str]:
        """The customer's phones, first known first."""
        p = customer_phones.c
        query = select(p.e164).where(p.customer_id == customer_id, p.account_id == self._account).order_by(p.id)
        return list(self._conn.execute(query).scalars())

    def latest_open_job(self, customer_id: str) -> JobRecord | None:
        """The customer's most recent job that is neither paid nor cancelled."""
        j = jobs.c
        query = (
            select(j.id)
            .where(j.customer_id == customer_id, j.account_id == self._account, j.status.not_in(("paid", "cancelled")))
            .order_by(j.status_at.desc())
            .limit(1)
        )
        job_id = self._conn.execute(query).scalar()
        return self.get_job(job_id) if job_id else None

    def stage_inputs(self, customer_id: str) -> tuple[list[str], bool]:
        """The customer's job statuses and whether any estimate exists."""
        j, e = jobs.c, estimates.c
        statuses = list(
            self._conn.execute(
                select(j.status).where(j.customer_id == customer_id, j.account_id == self._account)
            ).scalars()
        )
        has_estimate = bool(
            self._conn.execute(
                select(exists().where(e.customer_id == customer_id, e.account_id == self._account))
            ).scalar()
        )
        return statuses, has_estimate

    # --- jobs and estimates ----------------------------------------------------------------------

    def job_by_external(self, connector: str, external_id: str) -> JobRecord | None:
        """The job a vendor id points at, locked on PostgreSQL."""
        entity = self._entity_for(connector, "job", external_id)
        return self.get_job(entity) if entity else None

    def get_job(self, job_id: str) -> JobRecord | None:
        """One job by mirror id, locked on PostgreSQL."""
        row = self._one(select(jobs).where(jobs.c.id == job_id, jobs.c.account_id == self._account))
        if row is None:
            return None
        return JobRecord(
            id=row.id,
            customer_id=row.customer_id,
            status=row.status,
            status_at=row.status_at,
            service_type=row.service_type,
            total_cents=row.total_cents,
            paid_at=row.paid_at,
        )

    def insert_job(self, values: Mapping[str, object]) -> str:
        """Create a job."""
        return self._insert(jobs, {"technicians": [], **values})

    def update_job(self, job_id: str, values: Mapping[str, object]) -> None:
        """Change a job's fields."""
        self._update(jobs, job_id, values)

    def estimate_by_external(self, connector: str, external_id: str) -> EstimateRecord | None:
        """The estimate a vendor id points at, locked on PostgreSQL."""
        entity = self._entity_for(connector, "estimate", external_id)
        if entity is None:
            return None
        row = self._one(select(estimates).where(estimates.c.id == entity))
        return EstimateRecord(id=row.id, customer_id=row.customer_id, status=row.status, status_at=row.status_at)

    def insert_estimate(self, values: Mapping[str, object]) -> str:
        """Create an estimate."""
        return self._insert(estimates, values)

    def update_estimate(self, estimate_id: str, values: Mapping[str, object]) -> None:
        """Change an estimate's fields."""
        self._update(estimates, estimate_id, values)

    # --- consent --------------------------------------------------------------------------------------

    def set_consent(
        self, channel: str, address: str, opted_out: bool, reason: str, source: str, changed_at: datetime
    ) -> bool:
        """Record a consent change unless a newer one is already recorded; True when it was applied."""
        k = consents.c
        this_address = select(consents).where(k.account_id == self._account, k.channel == channel, k.address == address)
        values = {"opted_out": opted_out, "reason": reason[:200], "source": source, "changed_at": changed_at}
        current = self._one(this_address)
        if current is None:
            row = {"account_id": self._account, "channel": channel, "address": address, **values}
            if insert_ignore(self._conn, consents, {**row, "recorded_at": self._now}):
                return True
            current = self._one(this_address)  # another worker recorded this address a moment ago
        if current.changed_at > changed_at:
            return False
        self._conn.execute(update(consents).where(k.id == current.id).values(**values, recorded_at=self._now))
        return True

    def is_opted_out(self, channel: str, address: str) -> bool:
        """True when the last consent change recorded for this address on this channel was an opt-out."""
        k = consents.c
        query = select(k.opted_out).where(k.account_id == self._account, k.channel == channel, k.address == address)
        return bool(self._conn.execute(query).scalar())

    # --- timeline, timers, messages, outbox ------------------------------------------------------

    def add_activity(self, customer_id: str, at: datetime, kind: str, summary: str, source: str, applied: bool) -> None:
        """Append to the customer's timeline."""
        self._conn.execute(
            insert(activities).values(
                account_id=self._account,
                customer_id=customer_id,
                at=at,
                kind=kind,
                summary=summary,
                source=source,
                applied=applied,
                recorded_at=self._now,
            )
        )

    def schedule_timer(
        self, key: str, kind: str, due_at: datetime, customer_id: str | None, payload: Mapping[str, object]
    ) -> bool:
        """Create a timer unless its key exists."""
        return insert_ignore(
            self._conn,
            timers,
            {
                "account_id": self._account,
                "key": key,
                "kind": kind,
                "customer_id": customer_id,
                "due_at": due_at,
                "payload": dict(payload),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": due_at,
                "created_at": self._now,
            },
        )

    def insert_message(self, values: Mapping[str, object]) -> str:
        """Create a message row."""
        return self._insert(messages, {"created_at": self._now, **values}, stamps=False)

    def get_message(self, message_id: str) -> MessageRecord | None:
        """One message."""
        m = messages.c
        return _message(self._one(select(messages).where(m.id == message_id, m.account_id == self._account)))

    def message_by_provider_id(self, channel: str, provider_message_id: str) -> MessageRecord | None:
        """The message a provider's id names, locked on PostgreSQL."""
        m = messages.c
        query = select(messages).where(
            m.account_id == self._account, m.provider_message_id == provider_message_id, m.channel == channel
        )
        return _message(self._one(query.order_by(m.created_at).limit(1)))

    def update_message(self, message_id: str, values: Mapping[str, object]) -> None:
        """Change a message's fields."""
        self._update(messages, message_id, values)

    def enqueue(
        self,
        *,
        idempotency_key: str,
        target: str,
        kind: str,
        ordering_key: str,
        customer_id: str | None,
        message_id: str | None,
        payload: Mapping[str, object],
    ) -> bool:
        """Queue an outbound delivery unless its idempotency key exists."""
        return insert_ignore(
            self._conn,
            outbox,
            {
                "account_id": self._account,
                "idempotency_key": idempotency_key,
                "target": target,
                "kind": kind,
                "ordering_key": ordering_key,
                "customer_id": customer_id,
                "message_id": message_id,
                "payload": dict(payload),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": self._now,
                "created_at": self._now,
            },
        )


def _message(row: Any) -> MessageRecord | None:
    if row is None:
        return None
    return MessageRecord(
        id=row.id,
        customer_id=row.customer_id,
        job_id=row.job_id,
        purpose=row.purpose,
        channel=row.channel,
        status=row.status,
        scheduled_for=row.scheduled_for,
        to_address=row.to_address,
        status_at=row.status_at,
    )
