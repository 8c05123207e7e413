"""Helpers for the service tests: canonical events applied through the bus in one transaction, rows read back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.sql.elements import ColumnElement

from fieldrelay.domain import events as ev
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.runtime import Runtime
from fieldrelay.service import bus
from fieldrelay.service.context import HandlerContext
from fieldrelay.storage.mirror import SqlMirror
from fieldrelay.storage.tables import activities, customers
from tests.conftest import START

HCP = "housecallpro"
PAT_PHONE = "(512) 555-0142"
PAT_E164 = "+15125550142"
PAT_EMAIL = "Pat.Doe@Example.com"
STRANGER = "+1 737 555 0199"
STRANGER_E164 = "+17375550199"

T = TypeVar("T")


def at(minutes: float) -> datetime:
    """A vendor time ``minutes`` after (negative: before) the test start."""
    return START + timedelta(minutes=minutes)


def apply(runtime: Runtime, *events: ev.FieldEvent, now: datetime | None = None) -> None:
    """Apply events through the bus in one transaction, as the worker does (rolled back if one raises)."""
    moment = now or runtime.clock.now()
    with runtime.engine.begin() as conn:
        store = SqlMirror(conn, runtime.settings.account_id, moment)
        ctx = HandlerContext(store=store, now=moment, settings=runtime.settings)
        for event in events:
            bus.apply(ctx, event)


def in_store(runtime: Runtime, fn: Callable[[SqlMirror], T]) -> T:
    """Run ``fn`` on the mirror store in a transaction of its own and return its result."""
    with runtime.engine.begin() as conn:
        return fn(SqlMirror(conn, runtime.settings.account_id, runtime.clock.now()))


def add_message(
    runtime: Runtime,
    customer_id: str,
    provider_message_id: str,
    *,
    channel: str = ev.SMS,
    status: str = "sent",
    purpose: str = "review_request",
) -> str:
    """A message fieldrelay sent, as the worker leaves it after the provider accepted it."""
    values = {
        "customer_id": customer_id,
        "channel": channel,
        "purpose": purpose,
        "to_address": PAT_E164 if channel == ev.SMS else PAT_EMAIL.lower(),
        "body": "Thanks for choosing us!",
        "status": status,
        "scheduled_for": START,
        "sent_at": START,
        "provider_message_id": provider_message_id,
    }
    return in_store(runtime, lambda store: store.insert_message(values))


def pat(
    external_id: str = "cus_1",
    phones: tuple[str, ...] = (PAT_PHONE,),
    emails: tuple[str, ...] = (PAT_EMAIL,),
) -> ev.CustomerSnapshot:
    """The customer of most tests, as a field tool describes her."""
    return ev.CustomerSnapshot(external_id=external_id, first_name="Pat", last_name="Doe", phones=phones, emails=emails)


def job_event(
    kind: type[ev.JobEvent],
    occurred_at: datetime,
    job_id: str = "job_1",
    customer: ev.CustomerSnapshot | None = None,
    total_cents: int = 45000,
    **extra: Any,
) -> ev.JobEvent:
    """A Housecall Pro job event for ``job_id``, with Pat as the customer unless another is given."""
    return kind(
        source=HCP,
        occurred_at=occurred_at,
        customer=customer or pat(),
        job=ev.JobSnapshot(external_id=job_id, service_type="Drain cleaning", total_cents=total_cents),
        **extra,
    )


def rows(runtime: Runtime, table: Any, *where: ColumnElement[bool]) -> list[Any]:
    """Rows of ``table`` in insertion order."""
    with runtime.engine.connect() as conn:
        return list(conn.execute(select(table).where(*where).order_by(table.c.id)).all())


def count(runtime: Runtime, table: Any, *where: ColumnElement[bool]) -> int:
    """How many rows of ``table`` match."""
    with runtime.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def timeline(runtime: Runtime, customer_id: str, kind: str | None = None) -> list[Any]:
    """A customer's activities in the order they were written, optionally of one kind."""
    where = [activities.c.customer_id == customer_id]
    if kind is not None:
        where.append(activities.c.kind == kind)
    return rows(runtime, activities, *where)


def only_customer(runtime: Runtime) -> Any:
    """The one live customer in the mirror (records merged into another are not counted)."""
    (row,) = rows(runtime, customers, customers.c.merged_into.is_(None))
    return row


def live_customers(runtime: Runtime) -> int:
    """How many customers the mirror holds, not counting records merged into another."""
    return count(runtime, customers, customers.c.merged_into.is_(None))


def sim_clock(runtime: Runtime) -> SimulatedClock:
    """The runtime's simulated clock."""
    assert isinstance(runtime.clock, SimulatedClock)
    return runtime.clock
