"""The demo's week end to end: the driver posts the simulated webhooks, form submissions and text replies to the app.

The app runs in-process on a simulated clock, behind uvicorn's proxy-headers middleware as ``fieldrelay serve`` runs
it (the driver names each form visitor in ``X-Forwarded-For``, which uvicorn trusts from 127.0.0.1). SQLite only:
the week takes some 15 seconds to drive; the PostgreSQL paths are covered by the service and storage tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import Connection, func, select
from starlette.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from fieldrelay.api.app import create_app
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.reports.kpi import Report, build_report
from fieldrelay.rules.loader import load_settings
from fieldrelay.runtime import Runtime, build_runtime
from fieldrelay.sim.demo import DEMO_START
from fieldrelay.sim.driver import DriveResult, drive
from fieldrelay.sim.leads import FORM_ID, HOUSEHOLD, NEW, RETURNING, UNCERTAIN, SimSubmission, build_leads
from fieldrelay.sim.replies import SimReply, build_replies
from fieldrelay.sim.shop import build_week
from fieldrelay.storage.sequences.tables import enrollments, tasks
from fieldrelay.storage.tables import activities, customer_fields, customers, external_ids, merge_candidates, merges

API_TOKEN, HCP_SECRET, FORMS_TOKEN = "week-api-token", "week-hcp-secret", "week-forms-token"
TWILIO_TOKEN = "week-twilio-token"
END = DEMO_START + timedelta(days=7)


class Week:
    """The figures and the database after one simulated week."""

    def __init__(
        self, runtime: Runtime, result: DriveResult, leads: list[SimSubmission], replies: list[SimReply]
    ) -> None:
        self.runtime, self.result, self.leads, self.replies = runtime, result, leads, replies
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
    """The demo's week (default seed) driven through the app once for every test of this module."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FIELDRELAY_API_TOKEN", API_TOKEN)
        env.setenv("FIELDRELAY_HOUSECALLPRO_SECRET", HCP_SECRET)
        env.setenv("FIELDRELAY_FORMS_SECRET", f"{FORM_ID}={FORMS_TOKEN}")
        env.setenv("FIELDRELAY_TWILIO_SECRET", TWILIO_TOKEN)
        db_url = f"sqlite:///{tmp_path_factory.mktemp('week') / 'fieldrelay.db'}"
        runtime = build_runtime(db_url, settings=load_settings(), clock=SimulatedClock(DEMO_START))
        try:
            app = ProxyHeadersMiddleware(create_app(runtime), trusted_hosts="127.0.0.1")
            client = TestClient(app, client=("127.0.0.1", 50000))
            transport: httpx.BaseTransport = client._transport  # the ASGI app as an httpx transport
            deliveries = build_week(DEMO_START)
            leads = build_leads(deliveries, DEMO_START)
            replies = build_replies(deliveries)
            result = drive(
                "http://testserver",
                API_TOKEN,
                HCP_SECRET,
                deliveries,
                DEMO_START,
                END,
                transport=transport,
                progress=False,
                submissions=leads,
                forms_token=FORMS_TOKEN,
                replies=replies,
                twilio_token=TWILIO_TOKEN,
            )
            yield Week(runtime, result, leads, replies)
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
