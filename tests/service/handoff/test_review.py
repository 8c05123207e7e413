"""Lead handoff, stage 5: the daily open-loop review, its morning email, escalation of overdue tasks, weekly numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from fieldrelay.service.handoff import review as handoff_review
from fieldrelay.service.handoff import stages
from fieldrelay.storage.handoff.report import handoff_figures
from fieldrelay.storage.sequences.tables import tasks
from tests.service.handoff.support import (
    act,
    aware,
    customer,
    deal_id_of,
    estimate_at,
    handoff_settings,
    lead_at,
    shop_time,
    sop_tasks,
)
from tests.service.sequences.support import emails, run_until
from tests.service.support import rows, sim_clock, timeline


@pytest.fixture
def settings() -> Settings:
    """The handoff test shop."""
    return handoff_settings()


def test_an_unanswered_lead_escalates_to_the_csrs_lead_an_hour_after_it_was_due(runtime: Runtime) -> None:
    runtime.new_worker("team")
    deal_id = lead_at(runtime, shop_time(2, 10))  # due 10:05, escalates at 11:05

    run_until(runtime, shop_time(2, 11, 4))
    assert sop_tasks(runtime, deal_id)[0].escalated_at is None
    run_until(runtime, shop_time(2, 11, 5))
    (task,) = sop_tasks(runtime, deal_id)
    assert (task.escalated_to, aware(task.escalated_at)) == ("Olga", shop_time(2, 11, 5))
    (note,) = timeline(runtime, task.customer_id, "task.escalated")
    assert note.summary == "Escalated to Olga: First response: call the customer back (Carla, 60 min overdue)"


def test_a_task_done_in_time_is_not_escalated(runtime: Runtime) -> None:
    deal_id = lead_at(runtime, shop_time(2, 10))
    sim_clock(runtime).advance_to(shop_time(2, 10, 4))
    act(runtime, lambda ctx: stages.log_followup(ctx, deal_id, "call", "Booked for Tuesday", "Carla"))
    run_until(runtime, shop_time(2, 12))
    assert [(t.status, t.escalated_to) for t in rows(runtime, tasks)] == [("done", None)]


def test_without_a_lead_of_their_own_the_task_escalates_to_the_operations_role(runtime: Runtime) -> None:
    runtime.new_worker("team")
    deal_id = lead_at(runtime, shop_time(2, 10))
    act(runtime, lambda ctx: stages.assign(ctx, deal_id, "Olga"))  # Olga reports to nobody
    run_until(runtime, shop_time(2, 11, 5))
    assert sop_tasks(runtime, deal_id)[0].escalated_to == "operations"


def two_open_estimates(runtime: Runtime) -> tuple[str, str]:
    """Amy's estimate Monday, Pat's Wednesday (both before 15:00); the deal ids, oldest first."""
    estimate_at(runtime, shop_time(2, 10), customer("amy", "(512) 555-0100"))
    amy = deal_id_of(runtime)
    estimate_at(runtime, shop_time(4, 10))
    return amy, deal_id_of(runtime)


def test_review_today_lists_open_estimates_oldest_first_with_overdue_flagged(runtime: Runtime) -> None:
    amy, pat = two_open_estimates(runtime)
    sim_clock(runtime).advance_to(shop_time(4, 12))
    items = act(runtime, handoff_review.today)

    assert [i.loop.deal_id for i in items] == [amy, pat]
    first, second = items
    assert (first.loop.owner, first.loop.next_action, first.overdue) == (
        "Sam",
        "Follow up on the estimate (same day)",
        True,
    )
    assert first.loop.due_at is not None and aware(first.loop.due_at) == shop_time(2, 17)
    assert (second.overdue, second.loop.customer_name) == (False, "Pat Doe")
    assert second.loop.due_at is not None and aware(second.loop.due_at) == shop_time(4, 17)


def test_the_morning_email_lists_the_open_loops_at_half_past_seven(runtime: Runtime) -> None:
    two_open_estimates(runtime)
    run_until(runtime, shop_time(5, 7, 29))
    sent_before = [m for m in emails(runtime) if m.subject.startswith("Open estimates")]
    run_until(runtime, shop_time(5, 7, 30))
    mails = [m for m in emails(runtime) if m.subject.startswith("Open estimates")]
    assert len(mails) == len(sent_before) + 1
    mail = mails[-1]
    assert mail.to_address == "ops@rapidrooter.example"
    assert mail.subject == "Open estimates for Rapid Rooter Plumbing: 2 open, 2 overdue"
    lines = mail.body.splitlines()
    assert lines[2].startswith("  OVERDUE Amy Lee · estimate_sent since Nov 2 · owner Sam")
    assert lines[3].startswith("  OVERDUE Pat Doe · estimate_sent since Nov 4 · owner Sam")


def test_weekly_numbers_from_known_leads_and_estimates(runtime: Runtime) -> None:
    # Three leads answered after 2, 4 and 30 minutes, one not answered; an old estimate left open for ten days.
    estimate_at(runtime, shop_time(2, 10), customer("oscar", "(214) 555-0111"))
    people = [
        ("ben", "(737) 555-0123"),
        ("cleo", "(830) 555-0145"),
        ("dev", "(361) 555-0167"),
        ("eve", "(915) 555-0189"),
    ]
    deal_ids = []
    for (ref, phone), minute, answer_after in zip(people, (0, 10, 20, 40), (2, 4, 30, None), strict=True):
        deal_id = lead_at(runtime, shop_time(12, 9, minute), customer(ref, phone))
        deal_ids.append(deal_id)
        if answer_after is not None:
            sim_clock(runtime).advance_to(shop_time(12, 9, minute + answer_after))
            act(runtime, partial(stages.log_followup, deal_id=deal_id, channel="call", note="Called back", by="Carla"))
    # Two estimates this week: one followed up within 48 h, one not.
    estimate_at(runtime, shop_time(12, 11), customer(*people[0]))
    estimate_at(runtime, shop_time(12, 11, 30), customer(*people[1]))
    followed = deal_ids[1]
    sim_clock(runtime).advance_to(shop_time(13, 9))
    act(runtime, lambda ctx: stages.log_followup(ctx, followed, "text", "Any questions?", "Sam"))

    now = datetime(2026, 11, 13, 18, 0, tzinfo=UTC)
    with runtime.engine.connect() as conn:
        figures = handoff_figures(conn, runtime.settings.account_id, now)
    assert (figures.leads, figures.unanswered) == (4, 1)
    assert (figures.response_median_minutes, figures.response_p90_minutes) == (4.0, 30.0)
    assert (figures.estimates_sent, figures.followed_up_48h, figures.followed_up_share) == (2, 1, 0.5)
    assert figures.open_estimates_over_7d == 1
    assert now - timedelta(days=7) > shop_time(2, 10)
