"""The report's follow-up figures, from the default sequences run on the simulated clock."""

from __future__ import annotations

import pytest

from fieldrelay.domain import events as ev
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from fieldrelay.storage.sequences.report import FollowupFigures, followup_figures
from tests.conftest import START
from tests.service.sequences.support import at, emails, engaged, job, library_settings, reply, run_until
from tests.service.support import apply


@pytest.fixture
def settings() -> Settings:
    """The default sequence library."""
    return library_settings()


def figures(runtime: Runtime, hours: float) -> FollowupFigures:
    with runtime.engine.connect() as conn:
        return followup_figures(conn, runtime.settings.account_id, at(hours))


def test_before_any_job_every_figure_is_zero(runtime: Runtime) -> None:
    result = figures(runtime, 0)
    assert (result.enrollments, result.messages, result.tasks_open, result.tasks_overdue) == ({}, {}, 0, 0)
    assert (result.review_asks_out, result.review_clicks, result.review_click_rate) == (0, 0, None)


def test_a_poor_rating_and_a_clicked_review_email_are_counted(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobCompleted, START))
    run_until(runtime, at(0.5))  # the satisfaction text
    apply(runtime, reply("2", at(1)), now=at(1))  # a poor rating: a service-recovery task due in 4 hours
    run_until(runtime, at(1))
    apply(runtime, job(ev.PaymentCaptured, at(2)), now=at(2))
    run_until(runtime, at(50))  # the review-request text at 2.5 h, the review email on day 2
    (email,) = emails(runtime)
    clicked = engaged(email.provider_message_id, "clicked", at(51), "https://g.page/r/rapid-rooter/review")
    apply(runtime, clicked, now=at(51))

    before_due, late = figures(runtime, 4.9), figures(runtime, 52)

    assert (before_due.tasks_open, before_due.tasks_overdue) == (1, 0)
    assert (late.tasks_open, late.tasks_overdue) == (1, 1)
    # The review request text (a field-mapping trigger) and the review email both went out; the email was clicked.
    assert (late.review_asks_out, late.review_clicks, late.review_click_rate) == (2, 1, 0.5)
    # Sequence messages only: the satisfaction text and the review email.
    assert late.messages == {"delivered": 2}
    assert late.enrollments.get("exited") == 1  # review follow-up ended by the click
    assert sum(late.enrollments.values()) == len(
        {"satisfaction_check", "service_recovery", "seasonal_offer", "review_follow_up"}
    )
