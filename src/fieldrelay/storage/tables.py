"""SQLAlchemy Core tables: the inbox, outbox and timers of the engine, and the mirror (built-in CRM).

Every row carries ``account_id`` so one database can hold many shops without a change of meaning.
All times are UTC, stored as timezone-aware timestamps.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments INTEGER PRIMARY KEY; BigInteger elsewhere.
Id = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, on SQLite (naive text) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes; store UTC (naive on SQLite, which has no zone)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc() -> UtcDateTime:
    return UtcDateTime()


def _claim_columns() -> list[Column[Any]]:
    """The columns engine.claim works on, shared by inbox, timers and outbox (fresh objects per table)."""
    return [
        Column("status", String(16), nullable=False),
        Column("attempts", Integer, nullable=False, default=0),
        Column("next_attempt_at", _utc(), nullable=False),
        Column("locked_until", _utc()),
        Column("locked_by", String(64)),
        Column("last_error", Text),
    ]


# --- engine: inbox, timers, outbox ---------------------------------------------------------------

inbox = Table(
    "inbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("connector", String(32), nullable=False),
    Column("dedupe_key", String(200), nullable=False),
    Column("event_type", String(100)),
    Column("received_at", _utc(), nullable=False),
    Column("deliveries", Integer, nullable=False, default=1),
    Column("headers", JSON, nullable=False),
    Column("body", LargeBinary, nullable=False),
    # pending → processing → done | ignored | error (needs a person) | dead (retries spent); error, dead → dismissed
    *_claim_columns(),
    Column("processed_at", _utc()),
    UniqueConstraint("account_id", "connector", "dedupe_key", name="uq_inbox_delivery"),
)
Index("ix_inbox_claim", inbox.c.status, inbox.c.next_attempt_at)

timers = Table(
    "timers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("key", String(200), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("customer_id", String(36)),
    # A sequence step's enrolment, so the steps of an ended enrolment are cancelled through an index (the keys'
    # ``seq:{id}:`` prefix is matched by a LIKE no index serves on either database). NULL for any other timer.
    Column("enrollment_id", String(36)),
    Column("due_at", _utc(), nullable=False),
    Column("payload", JSON, nullable=False),
    # pending → processing → done | cancelled | dead → dismissed (by a person)
    *_claim_columns(),
    Column("created_at", _utc(), nullable=False),
    Column("fired_at", _utc()),
    UniqueConstraint("account_id", "key", name="uq_timers_key"),
)
Index("ix_timers_claim", timers.c.status, timers.c.next_attempt_at)
Index("ix_timers_enrollment", timers.c.account_id, timers.c.enrollment_id, timers.c.status)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("target", String(32), nullable=False),
    Column("kind", String(32), nullable=False),
    # Rows with the same ordering key are delivered oldest first (one customer's writes never overtake).
    Column("ordering_key", String(100), nullable=False),
    Column("customer_id", String(36)),
    Column("message_id", String(36)),
    Column("payload", JSON, nullable=False),
    # What a message to a customer is for (customer, purpose family, job or deal, channel: service/outreach/intents.py):
    # unique, so a second rule or sequence asking for the same message queues nothing. NULL for CRM writes.
    Column("intent_key", String(200)),
    # pending → sending → sent | dead | cancelled; dead → dismissed (by a person); a failed attempt returns to pending
    # with a later next_attempt_at
    *_claim_columns(),
    Column("created_at", _utc(), nullable=False),
    Column("sent_at", _utc()),
    UniqueConstraint("account_id", "idempotency_key", name="uq_outbox_idempotency"),
)
Index("uq_outbox_intent", outbox.c.account_id, outbox.c.intent_key, unique=True)
Index("ix_outbox_claim", outbox.c.status, outbox.c.next_attempt_at)
Index("ix_outbox_ordering", outbox.c.ordering_key, outbox.c.status)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("outbox_id", BigInteger, ForeignKey("outbox.id"), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("started_at", _utc(), nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("status_code", Integer),
    Column("detail", Text),
)

# --- mirror: the built-in CRM --------------------------------------------------------------------

customers = Table(
    "customers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("first_name", String(100)),
    Column("last_name", String(100)),
    Column("name", String(200)),
    Column("street", String(200)),
    Column("unit", String(50)),
    Column("city", String(100)),
    Column("state", String(50)),
    Column("postal_code", String(20)),
    Column("country", String(2)),
    Column("lead_source", String(100)),
    Column("lifecycle_stage", String(32), nullable=False),
    Column("sms_opted_out", Boolean, nullable=False, default=False),
    Column("source_updated_at", _utc()),
    # Set when this record was merged into another; reads follow it, an unmerge clears it.
    Column("merged_into", String(36)),
    Column("created_at", _utc(), nullable=False),
    Column("updated_at", _utc(), nullable=False),
)
# Account first, then id: "account_id = ? AND id IN (…)" (identity's candidate reads) searches both columns; with an
# index on account_id alone SQLite walked every customer of the shop instead of the primary key.
Index("ix_customers_account", customers.c.account_id, customers.c.id)

customer_phones = Table(
    "customer_phones",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False, index=True),
    Column("e164", String(20), nullable=False),
    # The latest field event that named it, and when the customer (a reply from it) or a person (typed it) confirmed
    # it: the primary phone is the latest confirmed, else the latest seen (storage/contact_points.py).
    Column("seen_at", _utc()),
    Column("confirmed_at", _utc()),
    UniqueConstraint("customer_id", "e164", name="uq_customer_phones_pair"),
)
Index("ix_customer_phones_lookup", customer_phones.c.account_id, customer_phones.c.e164)
Index("ix_customer_phones_account_customer", customer_phones.c.account_id, customer_phones.c.customer_id)

customer_emails = Table(
    "customer_emails",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False, index=True),
    Column("email", String(254), nullable=False),
    Column("seen_at", _utc()),  # as for phones
    Column("confirmed_at", _utc()),
    UniqueConstraint("customer_id", "email", name="uq_customer_emails_pair"),
)
Index("ix_customer_emails_lookup", customer_emails.c.account_id, customer_emails.c.email)
Index("ix_customer_emails_account_customer", customer_emails.c.account_id, customer_emails.c.customer_id)

# Every vendor id we have seen, for any record kind, points at one mirror row.
external_ids = Table(
    "external_ids",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("connector", String(32), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("external_id", String(100), nullable=False),
    Column("entity_id", String(36), nullable=False, index=True),
    UniqueConstraint("account_id", "connector", "kind", "external_id", name="uq_external_ids_ref"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("status_at", _utc(), nullable=False),
    Column("description", Text),
    Column("service_type", String(100)),
    Column("scheduled_start", _utc()),
    Column("scheduled_end", _utc()),
    Column("technicians", JSON, nullable=False),
    Column("total_cents", BigInteger),
    Column("balance_cents", BigInteger),
    Column("line_items", JSON),  # the last lines an event named; NULL for jobs stored before migration 0008
    Column("paid_at", _utc()),
    Column("created_at", _utc(), nullable=False),
    Column("updated_at", _utc(), nullable=False),
)

estimates = Table(
    "estimates",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False, index=True),
    Column("number", String(50)),
    Column("status", String(16), nullable=False),
    Column("status_at", _utc(), nullable=False),
    Column("total_cents", BigInteger),
    Column("created_at", _utc(), nullable=False),
    Column("updated_at", _utc(), nullable=False),
)

activities = Table(
    "activities",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False),
    Column("at", _utc(), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("summary", Text, nullable=False),
    Column("source", String(32), nullable=False),
    Column("applied", Boolean, nullable=False),
    Column("inbox_id", BigInteger),
    Column("recorded_at", _utc(), nullable=False),
)
Index("ix_activities_timeline", activities.c.customer_id, activities.c.at)

messages = Table(
    "messages",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False, index=True),
    Column("job_id", String(36)),
    Column("channel", String(16), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("to_address", String(254), nullable=False),
    Column("body", Text, nullable=False),
    # scheduled → queued → sending → sent → delivered | failed | cancelled
    Column("status", String(16), nullable=False),
    Column("scheduled_for", _utc(), nullable=False),
    Column("sent_at", _utc()),
    Column("provider_message_id", String(64)),
    Column("trigger_at", _utc()),
    Column("created_at", _utc(), nullable=False),
    # When the provider last reported on the message, and the error code it gave (Twilio 30xxx, SMTP bounce …).
    Column("status_at", _utc()),
    Column("error_code", String(32)),
    # transactional (confirmations, ETAs, receipts) | marketing (offers, reviews): consent and the weekly cap differ.
    Column("category", String(16), nullable=False, server_default="transactional"),
    Column("subject", String(200)),
    # The sequence enrollment that sent it (storage/sequences/tables.py), so a branch can ask "opened? clicked?".
    Column("enrollment_id", String(36)),  # indexed with the Sequences page's counts (storage/kpis/tables.py)
    # First open and first click the provider reported (email events), for sequence branches.
    Column("opened_at", _utc()),
    Column("clicked_at", _utc()),
    # The marketing touch it belongs to: one step's text and email are one touch for the weekly cap.
    Column("touch", String(100)),
    # The review site (google, yelp, facebook…) of the review link the message carried; None when it carried none.
    Column("review_platform", String(32)),
)
Index("ix_messages_provider_message_id", messages.c.account_id, messages.c.provider_message_id)

# Consent per address and channel, independent of any customer record: a STOP from a number nobody holds yet
# still stops every text to it. ``changed_at`` is the provider's time, so a late START never undoes a newer STOP.
consents = Table(
    "consents",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("address", String(254), nullable=False),
    Column("opted_out", Boolean, nullable=False),
    Column("reason", String(200), nullable=False),
    Column("source", String(32), nullable=False),
    Column("changed_at", _utc(), nullable=False),
    Column("recorded_at", _utc(), nullable=False),
    UniqueConstraint("account_id", "channel", "address", name="uq_consents_address"),
)

# --- mirror: CRM fields, service history, equipment, deals ----------------------------------------

# Every CRM field the field-mapping table or enrichment writes, with where its value came from
# (domain/enrichment_provenance: "vendor:<connector>", "zip:zipcodes", "rule:<name>", "person" …) and the field
# event's time it is as of, so an older event never overwrites a newer value. Address and name columns of
# ``customers`` keep their value there and their source here.
customer_fields = Table(
    "customer_fields",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False, index=True),
    Column("field", String(64), nullable=False),
    Column("value", JSON),
    Column("source", String(64), nullable=False),
    Column("value_at", _utc()),
    Column("updated_at", _utc(), nullable=False),
    UniqueConstraint("customer_id", "field", name="uq_customer_fields_pair"),
)

service_history = Table(
    "service_history",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False, index=True),
    Column("job_id", String(36), nullable=False),
    Column("completed_at", _utc(), nullable=False),
    Column("service_type", String(100)),
    Column("description", Text),
    Column("technicians", JSON, nullable=False),
    Column("line_items", JSON, nullable=False),
    Column("recorded_at", _utc(), nullable=False),
    UniqueConstraint("account_id", "job_id", name="uq_service_history_job"),
)

customer_equipment = Table(
    "customer_equipment",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False, index=True),
    Column("job_id", String(36), nullable=False),
    Column("name", String(100), nullable=False),
    Column("installed_on", Date, nullable=False),
    Column("warranty_ends_on", Date),
    Column("source", String(64), nullable=False),
    Column("recorded_at", _utc(), nullable=False),
    UniqueConstraint("account_id", "job_id", "name", name="uq_customer_equipment_item"),
)

# One open deal per customer at a time, moved along the configured pipeline (rules/pipeline.py).
deals = Table(
    "deals",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False, index=True),
    Column("stage", String(40), nullable=False),
    Column("stage_at", _utc(), nullable=False),
    Column("is_open", Boolean, nullable=False),
    Column("value_cents", BigInteger),
    Column("reason", Text),
    # The lead-handoff SOP: who owns the deal now, what happens next and by when, and what qualification confirmed.
    Column("owner", String(100)),
    Column("next_action", Text),
    Column("next_action_due_at", _utc()),
    Column("service_zip", String(10)),
    Column("job_type", String(100)),
    Column("requested_for", Text),
    Column("lead_at", _utc()),
    Column("first_response_at", _utc()),
    Column("created_at", _utc(), nullable=False),
    Column("updated_at", _utc(), nullable=False),
)

# --- identity: match keys, the review queue, merges and their undo ---------------------------------

identity_keys = Table(
    "identity_keys",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False, index=True),
    Column("key", String(200), nullable=False),
    UniqueConstraint("customer_id", "key", name="uq_identity_keys_pair"),
)
Index("ix_identity_keys_lookup", identity_keys.c.account_id, identity_keys.c.key)

# Pairs the matcher was unsure of: open until a person merges them or says they are different people.
merge_candidates = Table(
    "merge_candidates",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("customer_id", String(36), nullable=False),  # the newer record
    Column("other_id", String(36), nullable=False),  # the record it may be
    Column("score", Float, nullable=False),
    Column("rule", String(32)),
    Column("evidence", JSON, nullable=False),
    # open → merged | distinct | closed (one side was merged away or unmerged)
    Column("status", String(16), nullable=False),
    Column("created_at", _utc(), nullable=False),
    Column("decided_at", _utc()),
    Column("decided_by", String(100)),
    UniqueConstraint("account_id", "customer_id", "other_id", name="uq_merge_candidates_pair"),
)
Index("ix_merge_candidates_status", merge_candidates.c.account_id, merge_candidates.c.status)

# Every merge, automatic or by a person, with what it moved so that it can be undone.
merges = Table(
    "merges",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("survivor_id", String(36), nullable=False, index=True),
    Column("merged_id", String(36), nullable=False, index=True),
    Column("score", Float),
    Column("evidence", JSON, nullable=False),
    Column("decided_by", String(100), nullable=False),  # "auto" or "person:<name>"
    Column("merged_at", _utc(), nullable=False),
    Column("moved", JSON, nullable=False),
    Column("undone_at", _utc()),
    Column("undone_by", String(100)),
)

# The development SMS provider's own record of what it "sent": it stands in for the provider's side,
# so deliberately has no unique key on idempotency_key (a real provider would not refuse a resend either):
# the crash tests count rows here to prove no text goes out twice.
dev_sms_sent = Table(
    "dev_sms_sent",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("idempotency_key", String(200), nullable=False, index=True),
    Column("provider_message_id", String(64), nullable=False),
    Column("to_address", String(32), nullable=False),
    Column("body", Text, nullable=False),
    Column("sent_at", _utc(), nullable=False),
)


# One row per process kind that proves a write can be committed: /readyz writes it (a full disk or a database that
# accepts reads but refuses writes is not ready). Infrastructure, not a shop's data: no account.
heartbeats = Table(
    "heartbeats",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("beat_at", _utc(), nullable=False),
)


# Sequences, tasks and the development mail provider, and the SOP's and referral program's tables, live in their own
# modules; importing it here puts them on
# ``metadata`` for Alembic and for tests that create the schema from it.
from fieldrelay.storage.access import tables as _access  # noqa: E402
from fieldrelay.storage.handoff import tables as _handoff  # noqa: E402
from fieldrelay.storage.kpis import tables as _kpis  # noqa: E402
from fieldrelay.storage.ops import tables as _ops  # noqa: E402
from fieldrelay.storage.sequences import tables as _sequences  # noqa: E402

__all__ = ["_access", "_handoff", "_kpis", "_ops", "_sequences"]
