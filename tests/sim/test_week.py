"""The demo's week end to end: the driver posts the simulated webhooks, form submissions and text replies to the app,
and the simulated office works its task queue through the API.

The app runs in-process on a simulated clock, behind uvicorn's proxy-headers middleware as ``fieldrelay serve`` runs
it (the driver names each form visitor in ``X-Forwarded-For``, which uvicorn trusts from 127.0.0.1). SQLite only:
the week takes some 35 seconds to drive; the PostgreSQL paths are covered by the service and storage tests.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from itertools import pairwise

import httpx
import pytest
from rich.console import Console
from sqlalchemy import Connection, func, select
from starlette.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from fieldrelay.api.app import create_app
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.reports.kpi import Report, build_report, print_report
from fieldrelay.rules.loader import load_settings
from fieldrelay.runtime import Runtime, build_runtime
from fieldrelay.sim.demo import DEMO_START
from fieldrelay.sim.driver import DriveResult, drive
from fieldrelay.sim.leads import FORM_ID, HOUSEHOLD, NEW, RETURNING, UNCERTAIN, SimSubmission
from fieldrelay.sim.office import CSR, OPERATIONS, SALES
from fieldrelay.sim.replies import SimReply
from fieldrelay.sim.week import WeekPlan, plan_week
from fieldrelay.storage.sequences.tables import enrollments, tasks
from fieldrelay.storage.tables import (
    activities,
    customer_fields,
    customers,
    external_ids,
    merge_candidates,
    merges,
    messages,
    outbox,
)

API_TOKEN, HCP_SECRET, FORMS_TOKEN = "week-api-token", "week-hcp-secret", "week-forms-token"
TWILIO_TOKEN = "week-twilio-token"
END = DEMO_START + timedelta(days=7)


class Week:
    """The figures and the database after one simulated week."""

    def __init__(self, runtime: Runtime, result: DriveResult, plan: WeekPlan) -> None:
        self.runtime, self.result, self.plan = runtime, result, plan
        self.leads: list[SimSubmission] = plan.leads
        self.replies: list[SimReply] = plan.replies
        self.report: Report = build_report(runtime, now=END)

    def record(self, conn: Connection, connector: str, external_id: str) -> str:
        """The live record a vendor id names (a merge moves the ids of the merged record to the survivor)."""
        found = conn.execute(
            select(external_ids.c.entity_id).where(
                external_ids.c.connector == connector, external_ids.c.external_id == external_id
            )
        ).scalar_one()
        assert conn.execute(select(customers.c.merged_into).where(customers.c.id == found)).scalar_one() is None
        return str(found)

    def lead(self, conn: Connection, submission: SimSubmission) -> str:
        return self.record(conn, "forms", f"{FORM_ID}:{submission.submission_id}")

    def vendor(self, conn: Connection, customer_id: str) -> str:
        return self.record(conn, "housecallpro", customer_id)

    def auto_merges_into(self, conn: Connection, survivor_id: str) -> int:
        m = merges.c
        mine = (m.survivor_id == survivor_id) & (m.decided_by == "auto") & m.undone_at.is_(None)
        return int(conn.execute(select(func.count()).where(mine)).scalar_one())


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Week]:
    """The demo's week (default seed), with its office, driven through the app once for every test of this module."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FIELDRELAY_API_TOKEN", API_TOKEN)
        env.setenv("FIELDRELAY_HOUSECALLPRO_SECRET", HCP_SECRET)
        env.setenv("FIELDRELAY_FORMS_SECRET", f"{FORM_ID}={FORMS_TOKEN}")
        env.setenv("FIELDRELAY_TWILIO_SECRET", TWILIO_TOKEN)
        db_url = f"sqlite:///{tmp_path_factory.mktemp('week') / 'fieldrelay.db'}"
        runtime = build_runtime(db_url, settings=load_settings(), clock=SimulatedClock(DEMO_START))
        try:
            # uvicorn and Starlette each declare the ASGI callable with their own (equivalent) types: mypy sees two.
            app = ProxyHeadersMiddleware(create_app(runtime), trusted_hosts="127.0.0.1")  # type: ignore[arg-type]
            client = TestClient(app, client=("127.0.0.1", 50000))  # type: ignore[arg-type]
            transport: httpx.BaseTransport = client._transport  # the ASGI app as an httpx transport
            plan = plan_week(DEMO_START)
            result = drive(
                "http://testserver",
                API_TOKEN,
                HCP_SECRET,
                plan.deliveries,
                DEMO_START,
                END,
                transport=transport,
                progress=False,
                submissions=plan.leads,
                forms_token=FORMS_TOKEN,
                replies=plan.replies,
                twilio_token=TWILIO_TOKEN,
                office=plan.office,
            )
            yield Week(runtime, result, plan)
        finally:
            runtime.engine.dispose()


def of_kind(week: Week, kind: str) -> list[SimSubmission]:
    return [s for s in week.leads if s.kind == kind]


def test_every_request_is_accepted_applied_and_current(week: Week) -> None:
    assert week.result.refused == 0 and week.result.form_submissions == len(week.leads)
    assert week.result.replies == len(week.replies) > 0
    intake = week.report.intake
    assert (intake["errors"], intake["pending"]) == (0, 0)
    assert intake["received"] == week.result.sent
    assert week.report.staleness.stale == ()


def test_the_identity_figures(week: Week) -> None:
    identity = week.report.identity
    assert identity["merged_automatically"] >= len(of_kind(week, RETURNING))
    assert identity["waiting_for_review"] >= 1
    assert (identity["merged_by_a_person"], identity["merges_undone"]) == (0, 0)


def test_returning_customers_are_merged_into_their_record(week: Week) -> None:
    with week.runtime.engine.connect() as conn:
        for s in of_kind(week, RETURNING):
            survivor = week.vendor(conn, s.about or "")
            assert week.lead(conn, s) == survivor and week.auto_merges_into(conn, survivor) == 1, s.style


def test_uncertain_leads_are_never_merged_automatically_and_wait_for_a_person(week: Week) -> None:
    with week.runtime.engine.connect() as conn:
        queued = {
            (row.customer_id, row.other_id)
            for row in conn.execute(select(merge_candidates).where(merge_candidates.c.status == "open"))
        }
        waiting = 0
        for s in of_kind(week, UNCERTAIN):
            lead, vendor = week.lead(conn, s), week.vendor(conn, s.about or "")
            assert lead != vendor and week.auto_merges_into(conn, vendor) == 0, s.style
            waiting += (lead, vendor) in queued
    assert waiting >= 1


def test_the_spouse_is_a_separate_live_customer(week: Week) -> None:
    (spouse,) = of_kind(week, HOUSEHOLD)
    with week.runtime.engine.connect() as conn:
        live, partner = week.lead(conn, spouse), week.vendor(conn, spouse.about or "")
        assert live != partner and week.auto_merges_into(conn, partner) == 0
        row = conn.execute(select(customers).where(customers.c.id == live)).one()
        assert (row.first_name, row.last_name) == tuple(spouse.fields["name"].split(" "))
        pair = merge_candidates.c.customer_id.in_((live, partner)) & merge_candidates.c.other_id.in_((live, partner))
        assert conn.execute(select(merge_candidates).where(pair)).all() == []


def test_new_people_become_new_leads(week: Week) -> None:
    with week.runtime.engine.connect() as conn:
        for s in of_kind(week, NEW):
            live = week.lead(conn, s)
            assert week.auto_merges_into(conn, live) == 0
            row = conn.execute(select(customers).where(customers.c.id == live)).one()
            assert row.lifecycle_stage == "lead"
            mine = merge_candidates.c.customer_id == live
            assert conn.execute(select(merge_candidates).where(mine)).all() == []


def test_replies_become_ratings_a_recovery_task_and_plan_offers(week: Week) -> None:
    with week.runtime.engine.connect() as conn:
        rated = conn.execute(select(activities.c.summary).where(activities.c.kind == "rating.received")).scalars()
        ratings = [int(summary.split("Rated the job ")[1].split("/")[0]) for summary in rated]
        fields = customer_fields.c
        stored = conn.execute(select(fields.value).where(fields.field == "satisfaction_rating")).scalars().all()
        recovery = conn.execute(select(func.count()).where(tasks.c.title.like("Service recovery%"))).scalar_one()
        e = enrollments.c
        offers = conn.execute(select(func.count()).where(e.sequence == "maintenance_plan_offer")).scalar_one()
        replied = conn.execute(select(func.count()).where(activities.c.kind == "message.replied")).scalar_one()
    assert replied >= len(week.replies)
    assert len(ratings) >= len(week.replies) * 0.8 and stored
    assert any(r <= 3 for r in ratings) and any(r >= 4 for r in ratings)
    assert recovery == sum(r <= 3 for r in ratings) >= 1
    assert offers >= 1


# --- what the week promises ---------------------------------------------------------------------------------------


def intent_of(key: str) -> tuple[tuple[str, ...], str]:
    """The intent an outbox intent key names (customer, purpose family, job or deal, channel) and what the message
    told about it (an appointment's time "…@2026-11-05T15:00:00+00:00#1", a dispatch's moment), "" when nothing."""
    if key.count(":") < 3:  # hashed (too long to keep whole): its own intent
        return (key,), ""
    customer, family, rest = key.split(":", 2)
    subject, channel = rest.rsplit(":", 1)
    subject, _, told = subject.partition("@")
    return (customer, family, subject, channel), told.split("#")[0]


def test_no_customer_gets_two_messages_of_one_intent(week: Week) -> None:
    m, o = messages.c, outbox.c
    with week.runtime.engine.connect() as conn:
        sent = conn.execute(
            select(o.intent_key, m.purpose)
            .select_from(messages)
            .outerjoin(outbox, o.message_id == m.id)
            .where(m.status.in_(("sent", "delivered")))
            .order_by(m.sent_at, m.id)
        ).all()
    assert sent and all(row.intent_key for row in sent), "every message that went out was queued with its intent"
    told: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for row in sent:
        intent, what = intent_of(row.intent_key)
        told[intent].append(what)
    twice = {}
    for intent, whats in told.items():
        if len(intent) > 1 and intent[1] == "appointment":
            # The first time a customer hears about the booking is its confirmation (one without a time yet is one
            # too); each later text must name a new time: "your appointment moved", an intent of its own.
            timed = [w for w in whats if w != "unset"]
            confirmations = len(whats) - len(timed) + min(len(timed), 1)
            if confirmations > 1 or any(a == b for a, b in pairwise(timed)):
                twice[intent] = whats
        elif len(whats) > 1:
            twice[intent] = whats
    assert twice == {}
    appointments = [whats for intent, whats in told.items() if len(intent) > 1 and intent[1] == "appointment"]
    assert any(len(whats) > 1 for whats in appointments), "the week's rescheduled jobs are told their new time"


def test_every_task_opened_in_the_week_is_closed_or_not_yet_due(week: Week) -> None:
    with week.runtime.engine.connect() as conn:
        rows = conn.execute(select(tasks).where(tasks.c.created_at < END)).all()
    overdue = [(r.kind, r.customer_id, r.due_at) for r in rows if r.status == "open" and r.due_at <= END]
    assert overdue == []
    by_hand = [r for r in rows if r.closed_by in (CSR, SALES, OPERATIONS)]
    assert by_hand and all(r.outcome and r.note for r in by_hand)
    assert {r.kind.split(".")[0] for r in by_hand} >= {"sop", "service_recovery"}


def test_the_office_answers_every_lead_within_minutes_and_follows_up_every_estimate(week: Week) -> None:
    handoff = week.report.handoff
    assert handoff is not None and handoff.leads >= len(of_kind(week, NEW))
    assert handoff.unanswered == 0
    assert handoff.response_median_minutes is not None and handoff.response_median_minutes <= 5
    assert handoff.estimates_sent >= 2 and handoff.followed_up_48h == handoff.estimates_sent
    assert week.report.followup.tasks_overdue == 0


def test_referred_friends_book_and_pay_and_their_referrers_are_rewarded(week: Week) -> None:
    referrals = week.report.referrals
    assert referrals is not None and len(week.plan.referrals) >= 1
    assert referrals.referred == len(week.plan.referrals)
    assert referrals.by_status.get("rewarded", 0) >= 1 and referrals.rewards_issued >= 1
    assert referrals.referred_revenue_cents > 0


def render(report: Report) -> str:
    """The report as the demo prints it."""
    out = StringIO()
    print_report(report, Console(file=out, width=200))
    return out.getvalue()


def test_the_report_names_deal_stages(week: Week) -> None:
    text = render(week.report)
    stages = {stage.id: stage.name for stage in week.runtime.settings.pipeline.stages}
    assert week.report.deals
    for stage_id in week.report.deals:
        assert f"deals at {stages[stage_id]} " in text
        if stages[stage_id] != stage_id:
            assert f"deals at {stage_id} " not in text


def test_each_delivery_is_counted_once(week: Week) -> None:
    intake = week.report.intake
    kinds = ("applied", "logged_not_applied", "ignored", "errors", "pending")
    assert sum(intake[k] for k in kinds) == intake["unique"] == intake["received"] - intake["duplicates"]
    assert intake["logged_not_applied"] >= 1, "the week's late deliveries are logged, not applied"
    assert intake["applied"] == intake["unique"] - intake["logged_not_applied"]


def test_the_report_says_which_review_asks_waited_for_quiet_hours(week: Week) -> None:
    report = week.report
    assert report.review_held and report.held_at == "08:00"
    text = render(report)
    assert "review asks held for quiet hours (texts go out 08:00-21:00), sent at 08:00" in text
    assert f"{len(report.review_held)} of {len(report.review_lags)}" in text
    not_held = sorted(set(report.review_lags) - {lag for lag, _ in report.review_held})
    assert max(not_held) <= 31 * 60, "outside quiet hours a review ask goes half an hour after the payment"
