"""The weekly cap and the spacing of discretionary steps: promised steps go at their time, a step's text and email
are one touch, a discretionary step waits for room and for a day since the last touch, and never loops at the edge."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fieldrelay.domain import events as ev
from fieldrelay.rules.config import Settings
from fieldrelay.rules.loader import parse_settings
from fieldrelay.runtime import Runtime
from fieldrelay.storage.sequences.tables import enrollments
from fieldrelay.storage.tables import messages, timers
from tests.conftest import START, TEST_YAML
from tests.service.sequences.support import at, emails, job, run_until, texts
from tests.service.support import apply, count, only_customer, rows, timeline

# The test shop (a review-request text 30 minutes after payment, a marketing touch of its own) plus two sequences on
# the same payment: a discretionary invite an hour later, and a promised text-and-email pair at 48 hours.
CAP_SEQUENCES = """
sequences:
  invite:
    trigger: job.paid
    category: marketing
    timing: discretionary
    steps:
      - {name: text, after: 1h, channel: sms, template: review_nudge}
  offer:
    trigger: job.paid
    category: marketing
    steps:
      - {name: text, after: 48h, channel: sms, template: review_nudge}
      - {name: email, after: 48h, channel: email, template: review_email}
"""


def cap_settings(per_week: int, spacing_hours: float, offer: bool = True) -> Settings:
    """The cap sequences (without the promised offer when ``offer`` is false) with the given cap and spacing."""
    messaging = f"messaging:\n  marketing_per_week: {per_week}\n  discretionary_spacing_hours: {spacing_hours}\n"
    sequences = CAP_SEQUENCES if offer else CAP_SEQUENCES[: CAP_SEQUENCES.index("  offer:")]
    return parse_settings(TEST_YAML.replace("sequences: {}\n", "") + sequences + messaging, "test.yaml")


@pytest.fixture
def settings() -> Settings:
    """A weekly cap of two touches, a day between discretionary ones."""
    return cap_settings(per_week=2, spacing_hours=24)


def purposes(runtime: Runtime) -> list[str]:
    """The purposes of the messages queued or sent, in the order they were scheduled."""
    found = rows(runtime, messages, messages.c.status.in_(("queued", "sent", "delivered")))
    return [m.purpose for m in sorted(found, key=lambda m: (m.scheduled_for, m.purpose))]


def test_a_discretionary_step_waits_a_day_after_the_last_marketing_touch(runtime: Runtime) -> None:
    apply_paid(runtime)
    run_until(runtime, at(0.5))  # the review request
    run_until(runtime, at(1))  # the invite is due, 30 minutes after the review request

    assert purposes(runtime) == ["review_request"]
    (note,) = timeline(runtime, only_customer(runtime).id, "sequence.step_deferred")
    assert "invite: text waits until 2026-11-03 15:30Z" in note.summary
    assert "(a marketing message went out less than 24 hours ago)" in note.summary
    (row,) = rows(runtime, enrollments, enrollments.c.sequence == "invite")
    assert row.context["deferred"] == {
        "step": "text",
        "until": (at(24.5)).isoformat(),
        "reason": "a marketing message went out less than 24 hours ago",
    }

    run_until(runtime, at(24.5) - timedelta(minutes=1))
    assert purposes(runtime) == ["review_request"]
    run_until(runtime, at(24.5))  # exactly a day after the review request: it goes, and is not deferred again
    assert purposes(runtime) == ["review_request", "invite.text"]
    assert len(timeline(runtime, only_customer(runtime).id, "sequence.step_deferred")) == 1


def test_promised_steps_go_at_their_time_over_the_cap_and_a_steps_text_and_email_are_one_touch(
    runtime: Runtime,
) -> None:
    apply_paid(runtime)
    for hours in (0.5, 1, 24.5):  # the review request, the invite held, then sent a day later: two touches
        run_until(runtime, at(hours))
    run_until(runtime, at(48))

    assert purposes(runtime)[-2:] == ["offer.email", "offer.text"]
    assert [t.sent_at for t in texts(runtime)][-1] == at(48)
    assert [e.sent_at for e in emails(runtime)] == [at(48)]
    assert len(timeline(runtime, only_customer(runtime).id, "sequence.step_deferred")) == 1  # the invite's only
    touches = {m.touch or m.id for m in rows(runtime, messages, messages.c.category == "marketing")}
    assert len(touches) == 3  # review request, invite, and the offer's text with its email


@pytest.mark.parametrize("settings", [cap_settings(per_week=1, spacing_hours=0, offer=False)])
def test_a_full_week_holds_a_discretionary_step_until_the_oldest_touch_is_exactly_seven_days_old(
    runtime: Runtime,
) -> None:
    apply_paid(runtime)
    run_until(runtime, at(0.5))  # the review request: the week's one touch
    run_until(runtime, at(1))

    (note,) = timeline(runtime, only_customer(runtime).id, "sequence.step_deferred")
    assert "(the weekly cap: 1 marketing touch in 7 days)" in note.summary
    edge = at(0.5) + timedelta(days=7)  # the review request turns seven days old
    run_until(runtime, edge - timedelta(seconds=1))
    assert "invite.text" not in purposes(runtime)
    fired_before = count(runtime, timers)

    run_until(runtime, edge)  # at the edge the review request no longer counts: it goes, once

    assert "invite.text" in purposes(runtime)
    assert len(timeline(runtime, only_customer(runtime).id, "sequence.step_deferred")) == 1
    assert count(runtime, timers) == fired_before  # no new deferral timer at the edge


def apply_paid(runtime: Runtime) -> None:
    """Pat's job paid at the start."""
    apply(runtime, job(ev.PaymentCaptured, START))
