"""The Sequences page without a browser: each sequence's funnel and steps over the window (how enrolments ended, by
reason and by step; revenue of jobs booked while enrolled), the diagram of its steps from the configuration, CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from tests.service.access.support import add_person
from tests.service.tasks.support import tasks_settings
from tests.storage.kpi_rows import KpiShop
from tests.web.support import sign_in

DAY = timedelta(days=1)


@pytest.fixture
def settings() -> Settings:
    """The task shop, with the packaged sequence library."""
    return tasks_settings()


def _rows(client: TestClient, key: str, query: str = "") -> list[dict[str, str]]:
    response = client.get(f"/sequences/{key}.csv?{query}")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_each_sequence_funnel_steps_revenue_and_diagram(
    runtime: Runtime, office: TestClient, clock: SimulatedClock
) -> None:
    now, shop = clock.now(), KpiShop(runtime.engine)
    seq = "review_follow_up"
    shop.enrolment(seq, now - 5 * DAY, "exited", "email", "left a review", {"email": "clicked"})
    shop.enrolment(seq, now - 4 * DAY, "exited", "email", "opted out", {"email": "opened"})
    shop.enrolment(seq, now - 3 * DAY, "completed", "last_nudge", None, {"email": "delivered", "last_nudge": "sent"})
    shop.enrolment(seq, now - 2 * DAY, "active", booked_cents=42_000)
    shop.enrolment(seq, now - 20 * DAY, "exited", "email", "booked again", {"email": "delivered"}, booked_cents=9_900)
    add_person(runtime, "Olga", "owner")
    assert sign_in(office, "Olga") == 303

    page = office.get("/sequences?days=7")
    assert page.status_code == 200 and 'aria-current="page">Sequences' in page.text
    assert "Revenue from jobs booked while enrolled: $420.00" in page.text
    assert '<title id="seq-review_follow_up-t">review_follow_up steps</title>' in page.text
    assert "wait 2d" in page.text and "ends early on: left review, opted out" in page.text

    funnel = {r["step"]: r["enrolments or messages"] for r in _rows(office, f"{seq}-funnel", "days=7")}
    assert funnel == {
        "enrolled": "4",
        "sent": "4",
        "delivered": "3",
        "opened": "2",
        "clicked": "1",
        "replied": "0",
        "booked": "0",
        "opted out": "1",
    }
    steps = {r["step"]: r for r in _rows(office, f"{seq}-steps", "days=7")}
    assert list(steps) == ["email", "last_nudge"]
    assert (steps["email"]["sent"], steps["email"]["clicked"]) == ("3", "1")
    assert (steps["email"]["ended: left a review"], steps["email"]["ended: opted out"]) == ("1", "1")

    month = {r["step"]: r["enrolments or messages"] for r in _rows(office, f"{seq}-funnel", "days=30")}
    assert (month["enrolled"], month["booked"]) == ("5", "1")
    assert "Revenue from jobs booked while enrolled: $519.00" in office.get("/sequences?days=30").text
    # Every configured sequence has its section, enrolled or not; one no longer configured still shows its figures.
    assert _rows(office, "satisfaction_check-funnel")[0] == {"step": "enrolled", "enrolments or messages": "0"}
    shop.enrolment("winter_special", now - DAY)
    assert "No longer in fieldrelay.yaml." in office.get("/sequences?days=7").text
    assert _rows(office, "winter_special-funnel", "days=7")[0]["enrolments or messages"] == "1"


@pytest.mark.parametrize("role", ["office", "dispatcher"])
def test_only_the_owner_and_operations_see_sequences(runtime: Runtime, office: TestClient, role: str) -> None:
    add_person(runtime, "Pat", role)
    assert sign_in(office, "Pat") == 303
    assert office.get("/sequences").status_code == 403
