"""Lead handoff, stage 1: every lead gets an owner and a first-response clock; after hours, a text says when we call."""

from __future__ import annotations

import pytest

from fieldrelay.domain import events as ev
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from fieldrelay.storage.handoff.tables import team_members
from fieldrelay.storage.tables import messages
from tests.service.handoff.support import (
    aware,
    customer,
    deal,
    deal_id_of,
    handoff_settings,
    lead_at,
    shop_time,
    sop_tasks,
)
from tests.service.sequences.support import run_until, texts
from tests.service.support import apply, rows, sim_clock


@pytest.fixture
def settings() -> Settings:
    """The handoff test shop."""
    return handoff_settings()


def test_a_lead_in_business_hours_is_owned_by_the_csr_and_due_in_five_minutes(runtime: Runtime) -> None:
    deal_id = lead_at(runtime, shop_time(2, 10))  # Monday 10:00

    row = deal(runtime, deal_id)
    assert (row.stage, row.owner, aware(row.lead_at)) == ("new_lead", "Carla", shop_time(2, 10))
    (task,) = sop_tasks(runtime, deal_id)
    assert (task.kind, task.role, task.assignee, task.status) == ("sop.first_response", "office", "Carla", "open")
    assert aware(task.due_at) == shop_time(2, 10, 5)
    assert row.next_action == task.title and aware(row.next_action_due_at) == shop_time(2, 10, 5)
    assert rows(runtime, messages) == [], "no acknowledgement text while the shop is open"


def test_a_lead_at_ten_at_night_gets_a_text_within_two_minutes_naming_tomorrow_morning(runtime: Runtime) -> None:
    deal_id = lead_at(runtime, shop_time(2, 22))

    (task,) = sop_tasks(runtime, deal_id)
    assert aware(task.due_at) == shop_time(3, 8), "due when the shop opens on Tuesday"
    run_until(runtime, shop_time(2, 22, 1))
    assert texts(runtime) == []
    run_until(runtime, shop_time(2, 22, 2))
    (text,) = texts(runtime)
    assert text.to_address == "+15125550142"
    assert "we'll call you tomorrow at 8:00 AM" in text.body and "Rapid Rooter Plumbing" in text.body
    (message,) = rows(runtime, messages)
    assert (message.purpose, message.category) == ("lead_ack", "transactional")


def test_a_wednesday_night_lead_before_a_holiday_is_due_friday_morning(runtime: Runtime) -> None:
    deal_id = lead_at(runtime, shop_time(25, 20))  # Thanksgiving (26th) is closed

    (task,) = sop_tasks(runtime, deal_id)
    assert aware(task.due_at) == shop_time(27, 8)
    run_until(runtime, shop_time(25, 20, 2))
    assert "we'll call you on Friday at 8:00 AM" in texts(runtime)[0].body


def test_a_saturday_lead_is_due_monday_morning(runtime: Runtime) -> None:
    deal_id = lead_at(runtime, shop_time(7, 11))
    (task,) = sop_tasks(runtime, deal_id)
    assert aware(task.due_at) == shop_time(9, 8)


def test_the_acknowledgement_waits_for_text_hours_and_respects_an_opt_out(runtime: Runtime) -> None:
    deal_id = lead_at(runtime, shop_time(2, 23, 30))  # after the 23:00 end of text hours
    assert aware(sop_tasks(runtime, deal_id)[0].due_at) == shop_time(3, 8)
    (message,) = rows(runtime, messages)
    assert aware(message.scheduled_for) == shop_time(3, 8), "held to the start of text hours"

    apply(
        runtime,
        ev.OptedOut(
            source="twilio",
            occurred_at=shop_time(2, 23, 40),
            customer=None,
            channel=ev.SMS,
            address="+15125550142",
            reason="STOP",
        ),
    )
    run_until(runtime, shop_time(3, 8))
    assert texts(runtime) == []
    assert rows(runtime, messages)[0].status == "cancelled"


def test_leads_from_any_source_start_the_same_clock(runtime: Runtime) -> None:
    from_form = lead_at(runtime, shop_time(2, 10), customer("cus_1"))
    from_call_log = lead_at(runtime, shop_time(2, 11), customer("amy", "(512) 555-0100"), source="housecallpro")
    assert [aware(t.due_at) for t in sop_tasks(runtime, from_form)] == [shop_time(2, 10, 5)]
    assert [aware(t.due_at) for t in sop_tasks(runtime, from_call_log)] == [shop_time(2, 11, 5)]


def test_a_second_enquiry_does_not_restart_the_clock(runtime: Runtime) -> None:
    deal_id = lead_at(runtime, shop_time(2, 10))
    lead_at(runtime, shop_time(2, 10, 3))
    assert [aware(t.due_at) for t in sop_tasks(runtime, deal_id)] == [shop_time(2, 10, 5)]
    assert aware(deal(runtime, deal_id).lead_at) == shop_time(2, 10)


def test_the_team_is_synced_at_worker_start_once(runtime: Runtime) -> None:
    runtime.new_worker("a")
    runtime.new_worker("b")
    found = {(m.name, m.role, m.reports_to) for m in rows(runtime, team_members)}
    assert found == {
        ("Carla", "office", "Olga"),
        ("Dan", "dispatcher", "Olga"),
        ("Sam", "sales", "Olga"),
        ("Olga", "operations", None),
    }


def test_a_late_delivered_lead_is_never_due_in_the_past(runtime: Runtime) -> None:
    sim_clock(runtime).advance_to(shop_time(2, 11))
    apply(runtime, ev.LeadReceived(source="forms", occurred_at=shop_time(2, 10), customer=customer(), lead_ref="x"))
    (task,) = sop_tasks(runtime, deal_id_of(runtime))
    assert aware(task.due_at) == shop_time(2, 11), "due now, not at 10:05 an hour ago"
