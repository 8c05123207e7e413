"""The Reports page without a browser: the KPI figures equal `fieldrelay report --json` for the same window, the
window and technician filters change them, every chart is an accessible SVG with its table and CSV, "Check now" adds
a stale-record check, and only the owner and operations may see it."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from fieldrelay.cli.main import app
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.runtime import Runtime
from tests.conftest import TEST_YAML
from tests.service.access.support import add_person
from tests.storage.kpi_rows import KpiShop
from tests.web.support import csrf_of, sign_in

DAY, MIN = timedelta(days=1), timedelta(minutes=1)


def _history(runtime: Runtime, clock: SimulatedClock) -> None:
    now, shop = clock.now(), KpiShop(runtime.engine)
    shop.lead(now - 1 * DAY, 3 * MIN, "google")
    shop.lead(now - 12 * DAY, 9 * MIN, "yelp")
    shop.lead(now - 40 * DAY, 90 * MIN, "yelp")
    shop.job(now - 2 * DAY, ["Ana"], touched_after=12 * MIN, paid_after=MIN, review_clicked=True)
    shop.job(now - 9 * DAY, ["Ben"], touched_after=50 * MIN, paid_after=MIN)
    shop.job(now - 60 * DAY, ["Ben"], touched_after=5 * MIN, paid_after=MIN, review_clicked=True)
    shop.estimate(now - 3 * DAY, 2 * 60 * MIN)
    shop.estimate(now - 20 * DAY, None)
    shop.referral(now - 5 * DAY, "qualified")


def _rows(client: TestClient, url: str) -> list[dict[str, str]]:
    response = client.get(url)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def _summary(client: TestClient, query: str) -> dict[str, str]:
    return {row["kpi"]: row["value"] for row in _rows(client, f"/reports/summary.csv?{query}")}


@pytest.mark.parametrize("days", [7, 30, 90])
def test_the_page_figures_equal_the_report_json_for_the_same_window(
    runtime: Runtime, office: TestClient, clock: SimulatedClock, db_url: str, tmp_path: Path, days: int
) -> None:
    _history(runtime, clock)
    config = tmp_path / "fieldrelay.yaml"
    config.write_text(TEST_YAML, encoding="utf-8")
    at = clock.now().isoformat()
    result = CliRunner().invoke(
        app, ["report", "--json", "--db", db_url, "--config", str(config), "--at", at, "--days", str(days)]
    )
    assert result.exit_code == 0, result.output
    kpis = json.loads(result.output)["kpis"]
    add_person(runtime, "Olga", "owner")
    assert sign_in(office, "Olga") == 303

    page = _summary(office, f"days={days}")
    expected = {key: kpis[key]["value"] for key in page}
    assert {key: (float(value) if value else None) for key, value in page.items()} == expected
    assert kpis["speed_to_lead"]["samples"] == {7: 1, 30: 2, 90: 3}[days]
    assert kpis["stale_rate"]["value"] == 0.0  # the report's own check, kept and read back by the page
    # Every split the page draws equals the report's: per technician and per lead source.
    for key, split, unit in (
        ("reviews_per_20_jobs", "technician", "per 20 jobs"),
        ("followup_lag", "technician", "min"),
        ("speed_to_lead", "lead source", "min"),
    ):
        rows = _rows(office, f"/reports/{key}_by_{split.replace(' ', '_')}.csv?days={days}")
        page_split = {r[split]: float(r[unit]) if r[unit] else None for r in rows}
        assert page_split == kpis[key][f"by_{split.replace(' ', '_')}"]


def test_the_window_and_a_technician_change_the_figures(
    runtime: Runtime, office: TestClient, clock: SimulatedClock
) -> None:
    _history(runtime, clock)
    add_person(runtime, "Olga", "operations")
    assert sign_in(office, "Olga") == 303

    assert _summary(office, "days=7")["followup_lag"] == "12.0"
    # Ben's first touch is the review request 31 minutes after completion (paid a minute after), before his text.
    assert _summary(office, "days=30")["followup_lag"] == "21.5"
    assert _summary(office, "days=30&technician=Ben")["followup_lag"] == "31.0"
    assert _summary(office, "days=30&source=yelp")["speed_to_lead"] == "9.0"
    assert _summary(office, "days=12345")["followup_lag"] == "21.5"  # a stale link shows the default 30 days

    page = office.get("/reports?days=7").text
    assert 'aria-current="page">Reports' in page
    assert page.count('<svg class="chart"') >= 8 and page.count("<desc id=") == page.count('<svg class="chart"')
    assert 'href="/reports/followup_lag_trend.csv?days=7&amp;technician=&amp;source="' in page
    assert "<option selected>Ana</option>" not in page and "<option>Ana</option>" in page
    trend = _rows(office, "/reports/followup_lag_trend.csv?days=7")
    assert len(trend) == 7 and [r["min"] for r in trend][-2] == "12.0"
    assert office.get("/reports/nonsense.csv").status_code == 404


def test_check_now_adds_a_point_to_the_stale_trend(runtime: Runtime, office: TestClient, clock: SimulatedClock) -> None:
    add_person(runtime, "Olga", "owner")
    assert sign_in(office, "Olga") == 303
    assert _rows(office, "/reports/stale_rate_trend.csv") == []
    token = csrf_of(office.get("/reports").text)
    assert office.post("/reports/stale-check", data={}).status_code == 403  # no CSRF token
    answer = office.post("/reports/stale-check", data={"csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/reports"
    checks = _rows(office, "/reports/stale_rate_trend.csv")
    assert len(checks) == 1 and checks[0]["share"] == "0.0"


@pytest.mark.parametrize("role", ["office", "dispatcher", "sales", "technician"])
def test_only_the_owner_and_operations_see_reports(runtime: Runtime, office: TestClient, role: str) -> None:
    add_person(runtime, "Pat", role)
    assert sign_in(office, "Pat") == 303
    assert office.get("/reports").status_code == 403
    assert office.get("/reports/summary.csv").status_code == 403
    assert 'href="/reports"' not in office.get("/").text
