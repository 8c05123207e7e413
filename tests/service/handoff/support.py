"""Helpers for the lead-handoff tests: a shop with a team and SOP, leads and estimates at chosen shop times."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from fieldrelay.domain import events as ev
from fieldrelay.rules.config import Settings
from fieldrelay.rules.loader import parse_settings
from fieldrelay.runtime import Runtime
from fieldrelay.service.context import HandlerContext
from fieldrelay.storage.sequences.tables import tasks
from fieldrelay.storage.tables import deals
from tests.conftest import TEST_YAML
from tests.service.support import HCP, apply, pat, rows, sim_clock

T = TypeVar("T")
CHICAGO = ZoneInfo("America/Chicago")

# Carla answers leads, Dan qualifies and books, Sam sells; all three report to Olga (operations). Thanksgiving is a
# holiday. Texts may go out until 23:00 so that an after-hours acknowledgement at 22:00 is not held by quiet hours.
HANDOFF_YAML = (
    TEST_YAML.replace("  time_zone: America/Chicago\n", "  time_zone: America/Chicago\n  holidays: [2026-11-26]\n")
    + """
text_hours: "08:00-23:00"
team:
  - {name: Carla, role: office, reports_to: Olga}
  - {name: Dan, role: dispatcher, reports_to: Olga}
  - {name: Sam, role: sales, reports_to: Olga}
  - {name: Olga, role: operations}
sop:
  stage_owners:
    new_lead: {role: office, person: Carla}
    qualified: {role: dispatcher, person: Dan}
    scheduled: {role: dispatcher, person: Dan}
    estimate_sent: {role: sales, person: Sam}
    no_decision: {role: sales, person: Sam}
    work_approved: {role: dispatcher, person: Dan}
  service_zips: ["78701", "78702"]
  review_to: ops@rapidrooter.example
"""
)


def handoff_settings(extra: str = "") -> Settings:
    """The handoff test shop, with ``extra`` YAML appended."""
    return parse_settings(HANDOFF_YAML + extra, "test.yaml")


def shop_time(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in November 2026 in shop time (the 2nd is a Monday), as UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=CHICAGO).astimezone(UTC)


def customer(ref: str = "cus_1", phone: str = "(512) 555-0142") -> ev.CustomerSnapshot:
    """A customer with one phone."""
    if ref == "cus_1":
        return pat()
    first, last = _NAMES[ref]
    return ev.CustomerSnapshot(external_id=ref, first_name=first, last_name=last, phones=(phone,))


# Distinct people: the identity matcher must not take one for another.
_NAMES = {
    "amy": ("Amy", "Lee"),
    "ben": ("Ben", "Okafor"),
    "cleo": ("Cleo", "Martinez"),
    "dev": ("Dev", "Patel"),
    "eve": ("Eve", "Novak"),
    "oscar": ("Oscar", "Lindqvist"),
}


def lead_at(runtime: Runtime, moment: datetime, who: ev.CustomerSnapshot | None = None, source: str = "forms") -> str:
    """Move the clock to ``moment``, apply a lead arriving then; the customer's open deal id."""
    clock = sim_clock(runtime)
    if moment > clock.now():
        clock.advance_to(moment)
    snapshot = who or customer()
    apply(runtime, ev.LeadReceived(source=source, occurred_at=moment, customer=snapshot, lead_ref=snapshot.external_id))
    return deal_id_of(runtime)


def estimate_at(runtime: Runtime, moment: datetime, who: ev.CustomerSnapshot | None = None) -> None:
    """Move the clock to ``moment`` and apply an estimate sent then by the field tool."""
    clock = sim_clock(runtime)
    if moment > clock.now():
        clock.advance_to(moment)
    snapshot = who or customer()
    estimate = ev.EstimateSnapshot(external_id=f"est_{snapshot.external_id}", total_cents=640000)
    apply(runtime, ev.EstimateSent(source=HCP, occurred_at=moment, customer=snapshot, estimate=estimate))


def deal_id_of(runtime: Runtime) -> str:
    """The id of the deal opened last (each test's leads arrive at distinct moments)."""
    newest = max(rows(runtime, deals), key=lambda d: aware(d.created_at))
    return str(newest.id)


def deal(runtime: Runtime, deal_id: str) -> Any:
    """One deal row."""
    (row,) = rows(runtime, deals, deals.c.id == deal_id)
    return row


def sop_tasks(runtime: Runtime, deal_id: str, status: str | None = None) -> list[Any]:
    """The deal's handoff tasks, soonest due first."""
    found = rows(runtime, tasks, tasks.c.deal_id == deal_id, *([tasks.c.status == status] if status else []))
    return sorted(found, key=lambda t: (t.due_at, t.kind))


def act(runtime: Runtime, action: Callable[[HandlerContext], T]) -> T:
    """Run a person's action in one unit of work at the clock's time."""
    with runtime.unit_of_work(runtime.settings.account_id) as ctx:
        return action(ctx)


def aware(moment: datetime) -> datetime:
    """A stored time as an aware UTC datetime (SQLite hands some back naive)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
