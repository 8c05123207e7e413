"""SqlMirror: the MirrorStore of the service layer on SQLAlchemy Core, scoped to one account and transaction."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, Table, bindparam, exists, null, select, union_all, update

from fieldrelay.service.records import CustomerRecord, EstimateRecord, IntentHolder, JobRecord, MessageRecord
from fieldrelay.storage import contact_points, prepared
from fieldrelay.storage.access.repo import SqlAccess
from fieldrelay.storage.crm.repo import SqlCrm
from fieldrelay.storage.handoff.repo import SqlSop
from fieldrelay.storage.identity.repo import SqlIdentity
from fieldrelay.storage.mirror_rows import customer_record, job_record, message_record
from fieldrelay.storage.ops.repo import SqlOps
from fieldrelay.storage.prepared import insert_ignore
from fieldrelay.storage.referrals.repo import SqlReferrals
from fieldrelay.storage.sequences.repo import SqlFollowup
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
from fieldrelay.storage.tasks.repo import SqlTasks

# Queries of the hot path, built once (see storage/prepared.py); parameters are named b_*.
_x, _p, _e, _j, _est = external_ids.c, customer_phones.c, customer_emails.c, jobs.c, estimates.c
_ENTITY_FOR = select(_x.entity_id).where(
    _x.account_id == bindparam("b_account"),
    _x.connector == bindparam("b_connector"),
    _x.kind == bindparam("b_kind"),
    _x.external_id == bindparam("b_external_id"),
)
# A record merged into another keeps the phones and emails its survivor already held: reads skip it.
_CUSTOMERS_BY_PHONE = (
    select(_p.customer_id)
    .join(customers, customers.c.id == _p.customer_id)
    .where(_p.account_id == bindparam("b_account"), _p.e164 == bindparam("b_value"), customers.c.merged_into.is_(None))
    .order_by(_p.id)
)
_CUSTOMERS_BY_EMAIL = (
    select(_e.customer_id)
    .join(customers, customers.c.id == _e.customer_id)
    .where(_e.account_id == bindparam("b_account"), _e.email == bindparam("b_value"), customers.c.merged_into.is_(None))
    .order_by(_e.id)
)
_PHONES_OF = (
    select(_p.e164)
    .where(_p.customer_id == bindparam("b_customer"), _p.account_id == bindparam("b_account"))
    .order_by(*contact_points.primary_first(customer_phones))
)
_IS_OPTED_OUT = select(consents.c.opted_out).where(
    consents.c.account_id == bindparam("b_account"),
    consents.c.channel == bindparam("b_channel"),
    consents.c.address == bindparam("b_address"),
)
# The customer's job statuses, and one NULL row when they have an estimate: a stage's inputs in one round trip.
_STAGE_INPUTS = union_all(
    select(_j.status).where(_j.customer_id == bindparam("b_customer"), _j.account_id == bindparam("b_account")),
    select(null()).where(
        exists().where(_est.customer_id == bindparam("b_customer"), _est.account_id == bindparam("b_account"))
    ),
)


def _by_external(table: Table, lock: bool) -> Select[Any]:
    """The row of ``table`` a vendor id points at, joined through external_ids (one round trip, not two)."""
    query = (
        select(table)
        .join(external_ids, _x.entity_id == table.c.id)
        .where(
            _x.account_id == bindparam("b_account"),
            _x.connector == bindparam("b_connector"),
            _x.kind == bindparam("b_kind"),
            _x.external_id == bindparam("b_external_id"),
            table.c.account_id == bindparam("b_account"),
        )
    )
    return query.with_for_update(of=table) if lock else query


_BY_EXTERNAL = {(t.name, lock): _by_external(t, lock) for t in (customers, jobs) for lock in (False, True)}


class SqlMirror(SqlCrm, SqlIdentity, SqlFollowup, SqlOps, SqlSop, SqlReferrals, SqlTasks, SqlAccess):
    """Mirror reads and writes inside the caller's transaction."""

    def __init__(self, conn: Connection, account_id: str, now: datetime, inbox_id: int | None = None) -> None:
        self._conn = conn
        self._account = account_id
        self._now = now
        # The inbox row being applied, if any: its timeline entries name it, so the report counts each delivery once.
        self._inbox_id = inbox_id
        self._lock = conn.dialect.name == "postgresql"
        self._fields_cache = {}
        # Timeline rows waiting to be written in one statement (see ``hold_activities``); None: written at once.
        self._held_activities: list[dict[str, object]] | None = None

    # --- helpers ---------------------------------------------------------------------------------

    def _one(self, query: Select[Any], params: Mapping[str, object] | None = None) -> Any:
        if self._lock:
            query = prepared.locked(query)
        return self._conn.execute(query, dict(params or {})).first()

    def _by_id(self, table: Table, entity_id: str) -> Any:
        """One row of ``table`` in this account, locked on PostgreSQL."""
        query = prepared.select_by_id(table, self._lock)
        return self._conn.execute(query, {"b_id": entity_id, "b_account": self._account}).first()

    def _insert(self, table: Table, values: Mapping[str, object], stamps: bool = True) -> str:
        row: dict[str, object] = {"id": str(uuid.uuid4()), **values, "account_id": self._account}
        if stamps:
            row.setdefault("created_at", self._now)
            row.setdefault("updated_at", self._now)
        self._conn.execute(prepared.insert_into(table), row)
        return str(row["id"])

    def _update(self, table: Table, entity_id: str, values: Mapping[str, object]) -> None:
        if not values:
            return
        extra = {"updated_at": self._now} if "updated_at" in table.c else {}
        params = {**values, **extra, "b_id": entity_id, "b_account": self._account}
        self._conn.execute(prepared.update_by_id(table), params)

    def _entity_for(self, connector: str, kind: str, external_id: str) -> str | None:
        params = {"b_account": self._account, "b_connector": connector, "b_kind": kind, "b_external_id": external_id}
        return self._conn.execute(_ENTITY_FOR, params).scalar()

    def _row_by_external(self, table: Table, connector: str, kind: str, external_id: str) -> Any:
        """The row of ``table`` a vendor id points at (locked on PostgreSQL), or None."""
        params = {"b_account": self._account, "b_connector": connector, "b_kind": kind, "b_external_id": external_id}
        return self._conn.execute(_BY_EXTERNAL[table.name, self._lock], params).first()

    # --- customers -------------------------------------------------------------------------------

    def customer_by_external(self, connector: str, external_id: str) -> CustomerRecord | None:
        """The customer a vendor id points at."""
        row = self._row_by_external(customers, connector, "customer", external_id)
        return customer_record(row) if row is not None else None

    def customers_by_phone(self, e164: str) -> list[str]:
        """Ids of customers holding this phone."""
        params = {"b_account": self._account, "b_value": e164}
        return list(self._conn.execute(_CUSTOMERS_BY_PHONE, params).scalars())

    def customers_by_email(self, email: str) -> list[str]:
        """Ids of customers holding this email."""
        params = {"b_account": self._account, "b_value": email}
        return list(self._conn.execute(_CUSTOMERS_BY_EMAIL, params).scalars())

    def get_customer(self, customer_id: str) -> CustomerRecord:
        """One customer, locked for update on PostgreSQL."""
        row = self._by_id(customers, customer_id)
        if row is None:
            raise LookupError(f"customer {customer_id} not found")
        return customer_record(row)

    def insert_customer(self, values: Mapping[str, object]) -> str:
        """Create a customer."""
        customer_id = self._insert(customers, {"sms_opted_out": False, **values})
        self._fields_cache[customer_id] = {}  # a new record holds no CRM field yet: nothing to read back
        return customer_id

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

    def add_contact_points(
        self,
        customer_id: str,
        phones: Sequence[str],
        emails: Sequence[str],
        seen_at: datetime | None = None,
        confirmed: bool = False,
    ) -> tuple[list[str], bool]:
        """Add phones and emails the customer does not hold yet, marking all of them seen at ``seen_at`` (and
        confirmed now when ``confirmed``); return the phones added and whether any was."""
        when = (seen_at, self._now if confirmed else None)
        added = contact_points.add(self._conn, self._account, customer_id, "phone", phones, *when)
        emails_added = contact_points.add(self._conn, self._account, customer_id, "email", emails, *when)
        return added, bool(added or emails_added)

    def phones_of(self, customer_id: str) -> list[str]:
        """The customer's phones, the primary first (storage/contact_points.py)."""
        params = {"b_customer": customer_id, "b_account": self._account}
        return list(self._conn.execute(_PHONES_OF, params).scalars())

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
        params = {"b_customer": customer_id, "b_account": self._account}
        found = list(self._conn.execute(_STAGE_INPUTS, params).scalars())
        return [status for status in found if status is not None], None in found

    # --- jobs and estimates ----------------------------------------------------------------------

    def job_by_external(self, connector: str, external_id: str) -> JobRecord | None:
        """The job a vendor id points at, locked on PostgreSQL."""
        row = self._row_by_external(jobs, connector, "job", external_id)
        return job_record(row) if row is not None else None

    def get_job(self, job_id: str) -> JobRecord | None:
        """One job by mirror id, locked on PostgreSQL."""
        row = self._by_id(jobs, job_id)
        return job_record(row) if row is not None else None

    def insert_job(self, values: Mapping[str, object]) -> str:
        """Create a job."""
        return self._insert(jobs, {"technicians": [], **values})

    def update_job(self, job_id: str, values: Mapping[str, object]) -> None:
        """Change a job's fields."""
        self._update(jobs, job_id, values)

    def estimate_by_external(self, connector: str, external_id: str) -> EstimateRecord | None:
        """The estimate a vendor id points at, locked on PostgreSQL."""
        entity = self._entity_for(connector, "estimate", external_id)
        return self.get_estimate(entity) if entity else None

    def get_estimate(self, estimate_id: str) -> EstimateRecord | None:
        """One estimate by mirror id, locked on PostgreSQL."""
        row = self._by_id(estimates, estimate_id)
        if row is None:
            return None
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
        params = {"b_account": self._account, "b_channel": channel, "b_address": address}
        return bool(self._conn.execute(_IS_OPTED_OUT, params).scalar())

    # --- timeline, timers, messages, outbox ------------------------------------------------------

    def hold_activities(self, held: list[dict[str, object]]) -> None:
        """From now on put timeline rows in ``held`` for ``write_activities`` (one statement for a group's lot).

        Only the worker asks for this, and it writes them before its commit; anything in this class that reads or
        moves activities writes them first (``_flushed``), so no reader in the transaction sees the timeline short.
        """
        self._held_activities = held

    def _flushed(self) -> Connection:
        """The connection, with every held timeline row written (for statements that read or move activities)."""
        if self._held_activities:
            write_activities(self._conn, self._held_activities)
        return self._conn

    def add_activity(self, customer_id: str, at: datetime, kind: str, summary: str, source: str, applied: bool) -> None:
        """Append to the customer's timeline."""
        row = {
            "account_id": self._account,
            "customer_id": customer_id,
            "at": at,
            "kind": kind,
            "summary": summary,
            "source": source,
            "applied": applied,
            "inbox_id": self._inbox_id,
            "recorded_at": self._now,
        }
        if self._held_activities is not None:
            self._held_activities.append(row)
            return
        self._conn.execute(prepared.insert_into(activities), row)

    def schedule_timer(
        self,
        key: str,
        kind: str,
        due_at: datetime,
        customer_id: str | None,
        payload: Mapping[str, object],
        enrollment_id: str | None = None,
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
                "enrollment_id": enrollment_id,
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
        return message_record(self._by_id(messages, message_id))

    def message_by_provider_id(self, channel: str, provider_message_id: str) -> MessageRecord | None:
        """The message a provider's id names, locked on PostgreSQL."""
        m = messages.c
        query = select(messages).where(
            m.account_id == self._account, m.provider_message_id == provider_message_id, m.channel == channel
        )
        return message_record(self._one(query.order_by(m.created_at).limit(1)))

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
        intent_key: str | None = None,
    ) -> bool:
        """Queue an outbound delivery unless its idempotency key (or its intent key) exists."""
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
                "intent_key": intent_key,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": self._now,
                "created_at": self._now,
            },
        )

    def intent_holder(self, intent_key: str) -> IntentHolder | None:
        """The outbox row already holding an intent, with the purpose of its message."""
        query = (
            select(outbox.c.idempotency_key, messages.c.purpose)
            .select_from(outbox.outerjoin(messages, messages.c.id == outbox.c.message_id))
            .where(outbox.c.account_id == self._account, outbox.c.intent_key == intent_key)
        )
        row = self._conn.execute(query).first()
        return IntentHolder(row.idempotency_key, row.purpose) if row is not None else None

    def intents_of(self, customer_id: str, prefix: str) -> list[str]:
        """The intent keys of the customer's messages starting with ``prefix``, oldest first."""
        # By the ordering key, which ix_outbox_ordering serves: a customer's messages are few, the outbox is not.
        query = (
            select(outbox.c.intent_key)
            .where(
                outbox.c.ordering_key == f"customer:{customer_id}",
                outbox.c.account_id == self._account,
                outbox.c.intent_key.is_not(None),
            )
            .order_by(outbox.c.id)
        )
        return [key for key in self._conn.execute(query).scalars() if key.startswith(prefix)]


def write_activities(conn: Connection, held: list[dict[str, object]]) -> None:
    """Write the timeline rows held back (``SqlMirror.hold_activities``) in one statement, and empty the list."""
    if held:
        conn.execute(prepared.insert_into(activities), list(held))
        held.clear()
