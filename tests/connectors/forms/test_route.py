"""Forms through POST /webhooks/forms and the worker: tokens, rate limit, honeypot, exactly-once, any body."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldrelay.api.app import create_app
from fieldrelay.connectors.forms.inbound import FormsInbound
from fieldrelay.connectors.registry import inbound_connectors
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.rules.secrets import connector_secret
from fieldrelay.runtime import Runtime
from fieldrelay.service.payloads import load_json
from fieldrelay.service.ports import ParseError
from fieldrelay.storage.ops.errors import list_errors
from fieldrelay.storage.tables import activities, customer_emails, customer_phones, customers, inbox
from tests.api.support import (
    HOSTILE_SETTINGS,
    app_of,
    assert_never_lost,
    drain,
    expected_keys,
    hostile_json,
    hostile_variants,
    payloads,
)
from tests.conftest import START
from tests.connectors.forms.support import (
    FIXTURES,
    FORM_ENCODED,
    MARKET_TOKEN,
    RATE_LIMIT,
    WEBSITE_TOKEN,
    bearer,
    fixture,
    mirror,
    rows,
)

URL = "/webhooks/forms"


@pytest.fixture
def client(client: TestClient, runtime: Runtime) -> TestClient:
    """The test client; the forms connector reads the runtime's simulated clock for submissions without a time."""
    settings_ = runtime.settings
    runtime.inbound["forms"] = FormsInbound(
        connector_secret("forms"),
        settings_.connectors.forms,
        settings_.default_phone_region,
        settings_.business.time_zone,
        clock=runtime.clock.now,
    )
    return client


def lead_json(**fields: Any) -> bytes:
    """A website form submission as JSON."""
    return json.dumps({"form": "website", **fields}).encode()


# --- accepted ------------------------------------------------------------------------------------------


def test_web_form_becomes_a_lead(client: TestClient, runtime: Runtime) -> None:
    response = client.post(URL, content=fixture("web-form.json"), headers=bearer())
    assert (response.status_code, response.json()) == (202, {"status": "accepted"})
    (row,) = rows(runtime.engine, inbox)
    assert "authorization" not in row.headers, "the form token must never be stored"
    drain(runtime)
    (customer,) = rows(runtime.engine, customers)
    assert (customer.first_name, customer.last_name, customer.lead_source) == (
        "Maria",
        "Alvarez",
        "website",  # the form's configured source "web_form", in the shop's canonical lead sources
    )
    # The address was typed into one box; the mirror holds its parts.
    assert (customer.street, customer.city, customer.state, customer.postal_code) == (
        "4821 Bluebonnet Ln",
        "Austin",
        "TX",
        "78745",
    )
    assert [p.e164 for p in rows(runtime.engine, customer_phones)] == ["+15125550142"]
    assert [e.email for e in rows(runtime.engine, customer_emails)] == ["maria.alvarez@example.com"]
    lead = [(a.kind, a.summary, a.at) for a in rows(runtime.engine, activities) if a.kind == "lead.received"]
    assert lead == [
        (
            "lead.received",
            "New lead via web_form for Water heater repair (referral code NEIGHBOR25): "
            "No hot water since this morning. Gate code 4411.",
            datetime(2026, 11, 2, 14, 41, tzinfo=UTC),
        )
    ]


def test_urlencoded_form_with_form_id_and_token_in_headers(client: TestClient, runtime: Runtime) -> None:
    """The form named by header, the token in X-Fieldrelay-Form-Token; no time given: the simulated clock's now."""
    body = urlencode({"name": "Keisha Brown", "phone": "512-555-0177"}).encode()
    headers = {
        "Content-Type": FORM_ENCODED,
        "X-Fieldrelay-Form": "marketplace",
        "X-Fieldrelay-Form-Token": MARKET_TOKEN,
    }
    assert client.post(URL, content=body, headers=headers).status_code == 202
    drain(runtime)
    (customer,) = rows(runtime.engine, customers)
    assert (customer.first_name, customer.last_name) == ("Keisha", "Brown")
    assert [p.e164 for p in rows(runtime.engine, customer_phones)] == ["+15125550177"]
    (lead,) = [a for a in rows(runtime.engine, activities) if a.kind == "lead.received"]
    assert lead.at == START


def test_form_named_only_by_header_gets_its_configured_source(client: TestClient, runtime: Runtime) -> None:
    body = urlencode({"name": "Keisha Brown", "phone": "512-555-0177"}).encode()
    headers = {
        "Content-Type": FORM_ENCODED,
        "X-Fieldrelay-Form": "marketplace",
        "X-Fieldrelay-Form-Token": MARKET_TOKEN,
    }
    client.post(URL, content=body, headers=headers)
    drain(runtime)
    (customer,) = rows(runtime.engine, customers)
    assert customer.lead_source == "marketplace"


def test_submission_without_a_time_is_dated_when_it_arrived(client: TestClient, runtime: Runtime) -> None:
    assert isinstance(runtime.clock, SimulatedClock)
    body = urlencode({"form": "website", "name": "Lee Park", "email": "lee@example.com"}).encode()
    assert client.post(URL, content=body, headers=bearer(content_type=FORM_ENCODED)).status_code == 202
    runtime.clock.advance(3600)  # the worker was down for an hour
    drain(runtime)
    (lead,) = [a for a in rows(runtime.engine, activities) if a.kind == "lead.received"]
    assert lead.at == START


def test_marketplace_lead_fixture(client: TestClient, runtime: Runtime) -> None:
    response = client.post(URL, content=fixture("marketplace-lead.json"), headers=bearer(MARKET_TOKEN))
    assert response.status_code == 202
    drain(runtime)
    (customer,) = rows(runtime.engine, customers)
    assert (customer.street, customer.unit, customer.city, customer.postal_code, customer.lead_source) == (
        "77 Rainey St",
        "Apt 1208",
        "Austin",
        "78701",
        "angi",
    )


# --- refused -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        pytest.param(lead_json(email="a@b.co"), bearer("wrong"), "bad form token", id="wrong-token"),
        pytest.param(lead_json(email="a@b.co"), bearer(MARKET_TOKEN), "bad form token", id="other-forms-token"),
        pytest.param(lead_json(email="a@b.co"), {}, "missing form token", id="no-token"),
        pytest.param(b'{"form": "ghost", "email": "a@b.co"}', bearer("tok-ghost"), "unknown form", id="unknown-form"),
        pytest.param(b'{"email": "a@b.co"}', bearer(), "missing form id", id="no-form-id"),
        pytest.param(
            lead_json(email="a@b.co"),
            {**bearer(MARKET_TOKEN), "X-Fieldrelay-Form": "marketplace"},
            "form id in header and body differ",
            id="form-ids-differ",
        ),
    ],
)
def test_refused_with_401_and_nothing_stored(
    client: TestClient, runtime: Runtime, body: bytes, headers: dict[str, str], reason: str
) -> None:
    response = client.post(URL, content=body, headers=headers)
    assert (response.status_code, response.json()) == (401, {"error": reason})
    assert rows(runtime.engine, inbox) == []


def test_no_secret_configured_refuses_everything(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIELDRELAY_FORMS_SECRET")
    runtime.inbound = inbound_connectors(runtime.settings)
    with TestClient(create_app(runtime)) as client:
        response = client.post(URL, content=fixture("web-form.json"), headers=bearer())
    assert (response.status_code, response.json()) == (401, {"error": "no secret configured"})
    assert rows(runtime.engine, inbox) == []


def test_rate_limit_per_ip_answers_429_and_stores_nothing_more(client: TestClient, runtime: Runtime) -> None:
    """connectors.forms.rate_limit_per_minute submissions a minute from one address; the next is 429."""
    for n in range(RATE_LIMIT):
        response = client.post(URL, content=lead_json(email=f"person{n}@example.com"), headers=bearer())
        assert response.status_code == 202
    response = client.post(URL, content=lead_json(email="one.too.many@example.com"), headers=bearer())
    assert response.status_code == 429
    assert len(rows(runtime.engine, inbox)) == RATE_LIMIT


def test_honeypot_filled_is_stored_and_ignored_never_a_lead(client: TestClient, runtime: Runtime) -> None:
    headers = bearer(content_type=FORM_ENCODED)
    assert client.post(URL, content=fixture("honeypot-filled.txt"), headers=headers).status_code == 202
    drain(runtime)
    (row,) = rows(runtime.engine, inbox)
    assert (row.status, row.last_error) == ("ignored", "honeypot filled: likely spam")
    assert rows(runtime.engine, customers) == []
    with runtime.engine.connect() as conn:
        assert list_errors(conn, runtime.settings.account_id) == []


def test_no_contact_is_stored_and_shown_in_the_error_queue(client: TestClient, runtime: Runtime) -> None:
    assert client.post(URL, content=fixture("no-contact.json"), headers=bearer()).status_code == 202
    drain(runtime)
    with runtime.engine.connect() as conn:
        (item,) = list_errors(conn, runtime.settings.account_id)
    assert (item.kind, item.source, item.summary) == ("inbox", "forms", "webhook form.submitted")
    assert item.error is not None and item.error.startswith("a lead needs a phone or an email")
    assert rows(runtime.engine, customers) == []


# --- exactly once and order ----------------------------------------------------------------------------


def test_redelivery_changes_nothing(client: TestClient, runtime: Runtime) -> None:
    body = fixture("web-form-urlencoded.txt")
    headers = bearer(content_type=FORM_ENCODED)
    assert client.post(URL, content=body, headers=headers).status_code == 202
    drain(runtime)
    before = mirror(runtime.engine)
    again = client.post(URL, content=body, headers=headers)
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    drain(runtime)
    assert mirror(runtime.engine) == before
    assert [(r.deliveries, r.status) for r in rows(runtime.engine, inbox)] == [(2, "done")]


def test_resubmitted_form_with_the_same_submission_id_is_a_duplicate(client: TestClient, runtime: Runtime) -> None:
    """A retrying site script may re-encode the body; the submission id still identifies it."""
    first = json.loads(fixture("web-form.json"))
    client.post(URL, content=json.dumps(first).encode(), headers=bearer())
    reordered = json.dumps(dict(reversed(list(first.items()))), indent=2).encode()
    assert client.post(URL, content=reordered, headers=bearer()).json() == {"status": "duplicate"}
    assert len(rows(runtime.engine, inbox)) == 1


def test_older_submission_arriving_later_does_not_overwrite_newer_details(client: TestClient, runtime: Runtime) -> None:
    """Two leads from one person, the newer first: the older one is recorded but does not roll the name back."""
    newer = lead_json(
        submission_id="s2", submitted_at="2026-11-02T14:30:00Z", name="Maria Alvarez-Reyes", phone="512-555-0142"
    )
    older = lead_json(submission_id="s1", submitted_at="2026-11-02T14:00:00Z", name="Maria Alvarez", phone="5125550142")
    assert client.post(URL, content=newer, headers=bearer()).status_code == 202
    drain(runtime)
    assert client.post(URL, content=older, headers=bearer()).status_code == 202
    drain(runtime)
    (customer,) = [c for c in rows(runtime.engine, customers) if c.merged_into is None]
    assert (customer.first_name, customer.last_name) == ("Maria", "Alvarez-Reyes")
    assert customer.source_updated_at == datetime(2026, 11, 2, 14, 30, tzinfo=UTC)
    leads = [a.at for a in rows(runtime.engine, activities) if a.kind == "lead.received"]
    assert sorted(leads) == [datetime(2026, 11, 2, 14, 0, tzinfo=UTC), datetime(2026, 11, 2, 14, 30, tzinfo=UTC)]


# --- any body with a good token ------------------------------------------------------------------------

_TEXT = st.text(max_size=30)
_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), _TEXT, st.lists(_TEXT, max_size=2), st.emails())
_FIELDS = st.dictionaries(
    st.sampled_from(
        ["submission_id", "submitted_at", "name", "phone", "email", "address", "city", "zip", "notes", "website_url"]
    )
    | _TEXT,
    _VALUES | st.sampled_from(["+1 512 555 0142", "2026-11-02T09:00:00"]),
    max_size=6,
)


def _form_encoded(data: dict[str, Any]) -> bytes:
    return urlencode({"form": "website", **{k: "" if v is None else str(v) for k, v in data.items()}}).encode()


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(_FIELDS.map(lambda d: lead_json(**d)), _FIELDS.map(_form_encoded)))
def test_any_body_is_stored_and_settles_never_lost(client: TestClient, runtime: Runtime, body: bytes) -> None:
    """Any JSON or form body for the website form with its token: stored, then a lead, ignored or in the queue."""
    app_of(client).state.limiters.clear()  # the per-IP limit is proven above; here every body must get through
    response = client.post(URL, content=body, headers=bearer())
    if b'"form": "website"' not in body and not body.startswith(b"form=website"):
        # A generated field named "form" / "form_id" replaced the form id: then 401 is the right answer.
        assert response.status_code in (202, 200, 401)
        if response.status_code == 401:
            return
    assert response.status_code in (200, 202)
    keys = expected_keys(runtime.inbound["forms"], body)  # a submission_id that is a list: the raw body's hash
    drain(runtime)
    assert_never_lost(runtime, keys)


@HOSTILE_SETTINGS
@given(value=st.sampled_from(payloads(FIXTURES)).flatmap(hostile_variants))
def test_hostile_bodies_with_a_token_are_never_a_5xx_and_settle(
    client: TestClient, runtime: Runtime, value: Any
) -> None:
    """Real payloads with lone surrogates, NUL, 10^30, 5,000-digit integers, far-offset dates or deep nesting (values
    and keys): never a 5xx, and after the worker every row is applied, ignored or in the error queue."""
    app_of(client).state.limiters.clear()  # the per-address limit is proven above
    body = hostile_json(value)
    form = value.get("form") if isinstance(value, dict) else None
    response = client.post(URL, content=body, headers=bearer(MARKET_TOKEN if form == "marketplace" else WEBSITE_TOKEN))
    if form not in ("website", "marketplace") or not _readable(body):
        # The form id was made hostile, or the body cannot be read to find it: no form's token can match.
        assert response.status_code in (200, 202, 401)
        if response.status_code == 401:
            return
    assert response.status_code in (200, 202), response.text
    drain(runtime)
    assert_never_lost(runtime, expected_keys(runtime.inbound["forms"], body))


def _readable(body: bytes) -> bool:
    try:
        load_json(body)
    except ParseError:
        return False
    return True
