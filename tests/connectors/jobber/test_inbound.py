"""Jobber inbound: one test per fixture topic, the GraphQL fetch and its throttling, signature and identity."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldrelay.connectors.jobber.inbound import TOPICS, JobberInbound
from fieldrelay.domain import events as ev
from fieldrelay.service.ports import Parsed, ParseError, TemporaryFailure, WebhookRequest
from tests.connectors.jobber.support import (
    FIXTURES,
    JOBBER_SECRET,
    TOKEN,
    URL,
    VERSION,
    FakeJobber,
    connector,
    fixture,
    signed,
    webhook,
)

CST = timezone(timedelta(hours=-6))
NOW = datetime(2026, 3, 4, 16, 45, tzinfo=UTC)
CLIENT_ID = "Z2lkOi8vSm9iYmVyL0NsaWVudC84MDUxMjM0NQ=="
JOB_ID = "Z2lkOi8vSm9iYmVyL0pvYi80MTIwMDk4MQ=="
VISIT_ID = "Z2lkOi8vSm9iYmVyL1Zpc2l0Lzk1NTAwMjE3"
QUOTE_ID = "Z2lkOi8vSm9iYmVyL1F1b3RlLzE4ODAwMzQw"
INVOICE_ID = "Z2lkOi8vSm9iYmVyL0ludm9pY2UvMzMxMDA0NTI="
PAYMENT_ID = "Z2lkOi8vSm9iYmVyL1BheW1lbnRSZWNvcmQvMjc3MDAxMTM="
ADDRESS = ev.Address(
    street="4821 Bluebonnet Ln", unit="Unit 3", city="Austin", state="TX", postal_code="78745", country="US"
)
MARIA = ev.CustomerSnapshot(
    external_id=CLIENT_ID,
    first_name="Maria",
    last_name="Alvarez",
    phones=("512-555-0142", "(512) 555-0187"),  # primary first
    emails=("Maria.Alvarez@Example.com",),
    address=ADDRESS,
)


@pytest.fixture
def fake() -> FakeJobber:
    """The fake GraphQL API."""
    return FakeJobber()


@pytest.fixture
def inbound(fake: FakeJobber) -> JobberInbound:
    """The connector on the fake API."""
    return connector(fake)


def parse_fixture(fake: FakeJobber, inbound: JobberInbound, name: str) -> Parsed:
    """Serve the fixture's item and parse its webhook; check the one request the worker made."""
    fake.add_fixture(name)
    parsed = inbound.parse(webhook(name))
    hook = fixture(name)["webhook"]["data"]["webHookEvent"]
    assert parsed.event_type == hook["topic"]
    (request,) = fake.requests
    assert (request.method, str(request.url)) == ("POST", URL)
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["x-jobber-graphql-version"] == VERSION
    assert request.headers["content-type"] == "application/json"
    sent = json.loads(request.content)
    assert sent["variables"] == {"id": hook["itemId"]}
    assert f"{TOPICS[hook['topic']][0].root}(id: $id)" in sent["query"]
    return parsed


def only(parsed: Parsed) -> ev.FieldEvent:
    """The single event, from Jobber, with an aware time."""
    assert parsed.ignored is None
    (event,) = parsed.events
    assert event.source == "jobber"
    assert event.occurred_at.tzinfo is not None
    return event


def vary(name: str, change: Any) -> dict[str, Any]:
    """The fixture's response after ``change(item)`` mutated its item."""
    response: dict[str, Any] = fixture(name)["response"]
    change(next(iter(response["data"].values())))
    return response


# --- one test per fixture ------------------------------------------------------------------------------


def test_client_create(fake: FakeJobber, inbound: JobberInbound) -> None:
    """The vendor's published example webhook (itemId "MQ==") fetched and normalised."""
    event = only(parse_fixture(fake, inbound, "client_create"))
    assert type(event) is ev.CustomerCreated
    assert event.occurred_at == datetime(2021, 8, 12, 16, 31, 36, tzinfo=CST)
    assert event.customer == ev.CustomerSnapshot(
        external_id="MQ==",
        first_name="Maria",
        last_name="Alvarez",
        phones=MARIA.phones,
        emails=MARIA.emails,
        address=ADDRESS,
    )


def test_client_update(fake: FakeJobber, inbound: JobberInbound) -> None:
    event = only(parse_fixture(fake, inbound, "client_update"))
    assert type(event) is ev.CustomerUpdated
    assert event.occurred_at == datetime(2026, 3, 2, 15, 12, 40, tzinfo=UTC)
    assert event.customer is not None
    assert (event.customer.external_id, event.customer.last_name) == (CLIENT_ID, "Alvarez-Reyes")
    assert event.customer.emails == ("maria.reyes@example.com",)


def test_request_create(fake: FakeJobber, inbound: JobberInbound) -> None:
    event = only(parse_fixture(fake, inbound, "request_create"))
    assert isinstance(event, ev.LeadReceived)
    assert event.lead_ref == "Z2lkOi8vSm9iYmVyL1JlcXVlc3QvMTcwMzMxMTA="
    assert (event.service, event.channel) == ("Water heater not heating", "jobber")
    assert event.occurred_at == datetime(2026, 3, 2, 14, 1, 10, tzinfo=UTC)
    assert event.customer is not None
    # The request's own contact details join the client's; the same email in another case is kept as given.
    assert event.customer.phones == ("512-555-0142", "(512) 555-0187", "512-555-0199")
    assert event.customer.emails == ("Maria.Alvarez@Example.com", "maria.alvarez@example.com")
    assert event.customer.lead_source == "Online booking"


def test_quote_create(fake: FakeJobber, inbound: JobberInbound) -> None:
    """A draft quote has not reached the customer: acknowledged, nothing to record."""
    parsed = parse_fixture(fake, inbound, "quote_create")
    assert (parsed.events, parsed.ignored) == ((), "quote status 'draft' decides nothing")


def test_quote_update(fake: FakeJobber, inbound: JobberInbound) -> None:
    event = only(parse_fixture(fake, inbound, "quote_update"))
    assert isinstance(event, ev.EstimateAccepted)
    assert event.customer == MARIA
    assert event.estimate == ev.EstimateSnapshot(
        external_id=QUOTE_ID, number="318", total_cents=290110, options=("Replace 50 gal gas water heater",)
    )
    assert event.occurred_at == datetime(2026, 3, 3, 1, 22, 19, tzinfo=UTC)


def assert_job(snapshot: ev.JobSnapshot, *, technicians: tuple[str, ...] = ()) -> None:
    """The fixture job."""
    assert snapshot.external_id == JOB_ID
    assert snapshot.description == "Water heater not heating - 50 gal gas"
    assert snapshot.scheduled_start == datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
    assert snapshot.scheduled_end == datetime(2026, 3, 4, 17, 0, tzinfo=UTC)
    assert snapshot.total_cents == 68500
    assert snapshot.address == ADDRESS
    assert snapshot.technicians == technicians


def test_job_create(fake: FakeJobber, inbound: JobberInbound) -> None:
    event = only(parse_fixture(fake, inbound, "job_create"))
    assert isinstance(event, ev.JobBooked)
    assert event.customer == MARIA
    assert event.occurred_at == datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
    assert_job(event.job)


def test_visit_update(fake: FakeJobber, inbound: JobberInbound) -> None:
    """A timer running on the unfinished visit: the technician is on site."""
    event = only(parse_fixture(fake, inbound, "visit_update"))
    assert isinstance(event, ev.JobArrived)
    assert event.customer == MARIA
    assert event.occurred_at == datetime(2026, 3, 4, 15, 7, 52, tzinfo=UTC)
    assert_job(event.job, technicians=("Ray Ortiz",))


def test_visit_complete(fake: FakeJobber, inbound: JobberInbound) -> None:
    event = only(parse_fixture(fake, inbound, "visit_complete"))
    assert isinstance(event, ev.JobCompleted)
    assert event.occurred_at == datetime(2026, 3, 4, 16, 31, 18, tzinfo=UTC)
    assert_job(event.job, technicians=("Ray Ortiz",))


def test_invoice_create(fake: FakeJobber, inbound: JobberInbound) -> None:
    event = only(parse_fixture(fake, inbound, "invoice_create"))
    assert isinstance(event, ev.JobInvoiced)
    assert (event.invoice_id, event.amount_cents) == (INVOICE_ID, 68500)
    assert event.customer == MARIA
    assert event.job.external_id == JOB_ID and event.job.total_cents == 68500


def test_payment_create(fake: FakeJobber, inbound: JobberInbound) -> None:
    """The payment settles the invoice: the job is paid."""
    event = only(parse_fixture(fake, inbound, "payment_create"))
    assert isinstance(event, ev.PaymentCaptured)
    assert (event.payment_ref, event.amount_cents) == (PAYMENT_ID, 68500)
    assert event.customer == MARIA
    assert event.job.external_id == JOB_ID
    assert event.occurred_at == datetime(2026, 3, 4, 16, 40, 12, tzinfo=UTC)


def test_property_update(fake: FakeJobber, inbound: JobberInbound) -> None:
    """A topic fieldrelay does not use is acknowledged without fetching anything."""
    parsed = inbound.parse(webhook("property_update"))
    assert (parsed.event_type, parsed.events, parsed.ignored) == ("PROPERTY_UPDATE", (), "topic not used by fieldrelay")
    assert fake.requests == []


def test_every_fixture_has_a_test_and_every_handled_topic_a_fixture() -> None:
    names = {n for n in globals() if n.startswith("test_")}
    stems = {p.stem for p in FIXTURES.glob("*.json")}
    for stem in stems:
        assert any(stem.replace(".", "_").replace("-", "_") in n for n in names), stem
    topics = {fixture(s)["webhook"]["data"]["webHookEvent"]["topic"] for s in stems}
    assert set(TOPICS) <= topics


# --- what the data allows ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("awaiting_response", ev.EstimateSent),
        ("AWAITING_RESPONSE", ev.EstimateSent),
        ("converted", ev.EstimateAccepted),
    ],
)
def test_quote_status_decides_the_estimate_event(
    fake: FakeJobber, inbound: JobberInbound, status: str, kind: type[ev.EstimateEvent]
) -> None:
    fake.add(QUOTE_ID, vary("quote_update", lambda q: q.update(quoteStatus=status)))
    assert type(only(inbound.parse(webhook("quote_update")))) is kind


@pytest.mark.parametrize("status", ["changes_requested", "archived", None])
def test_quote_status_that_decides_nothing_is_ignored(fake: FakeJobber, inbound: JobberInbound, status: str) -> None:
    fake.add(QUOTE_ID, vary("quote_update", lambda q: q.update(quoteStatus=status)))
    parsed = inbound.parse(webhook("quote_update"))
    assert parsed.events == () and parsed.ignored == f"quote status {status!r} decides nothing"


def test_visit_update_without_running_timer_is_ignored(fake: FakeJobber, inbound: JobberInbound) -> None:
    fake.add(VISIT_ID, vary("visit_update", lambda v: v["timeSheetEntries"].update(nodes=[])))
    assert inbound.parse(webhook("visit_update")).ignored == "visit edited without a running timer: no lifecycle step"


def test_visit_complete_with_more_visits_is_ignored(fake: FakeJobber, inbound: JobberInbound) -> None:
    def more_to_come(visit: dict[str, Any]) -> None:
        visit["isLastScheduledVisit"] = False
        visit["job"]["completedAt"] = None

    fake.add(VISIT_ID, vary("visit_complete", more_to_come))
    assert inbound.parse(webhook("visit_complete")).ignored == "visit completed; the job has more visits scheduled"


def test_visit_complete_that_was_undone_is_ignored(fake: FakeJobber, inbound: JobberInbound) -> None:
    fake.add(VISIT_ID, vary("visit_complete", lambda v: v.update(isComplete=False, completedAt=None)))
    assert inbound.parse(webhook("visit_complete")).ignored == "visit is no longer complete"


def test_partial_payment_is_ignored_with_what_is_owed(fake: FakeJobber, inbound: JobberInbound) -> None:
    def partial(payment: dict[str, Any]) -> None:
        payment["amount"] = 200.0
        payment["invoice"].update(invoiceStatus="awaiting_payment", amounts={"total": 685.0, "invoiceBalance": 485.0})

    fake.add(PAYMENT_ID, vary("payment_create", partial))
    assert inbound.parse(webhook("payment_create")).ignored == "partial payment on invoice 1042: $485.00 still owed"


def test_payment_on_no_invoice_is_ignored(fake: FakeJobber, inbound: JobberInbound) -> None:
    fake.add(PAYMENT_ID, vary("payment_create", lambda p: p.update(invoice=None)))
    assert inbound.parse(webhook("payment_create")).ignored == (
        "payment not applied to an invoice (a deposit or account credit)"
    )


def test_invoice_billing_no_job_is_ignored(fake: FakeJobber, inbound: JobberInbound) -> None:
    fake.add(INVOICE_ID, vary("invoice_create", lambda i: i.update(jobs={"nodes": []})))
    assert inbound.parse(webhook("invoice_create")).ignored == "invoice 1042 bills no job"


def test_company_client_goes_by_company_name(fake: FakeJobber, inbound: JobberInbound) -> None:
    fake.add(
        CLIENT_ID, vary("client_update", lambda c: c.update(firstName="", lastName="", companyName="Oak Hill HOA"))
    )
    event = only(inbound.parse(webhook("client_update")))
    assert event.customer is not None and (event.customer.first_name, event.customer.last_name) == (
        "Oak Hill HOA",
        None,
    )


def test_item_answered_with_wrong_shape_is_a_parse_error(fake: FakeJobber, inbound: JobberInbound) -> None:
    fake.add(JOB_ID, {"data": {"job": {"title": "no id"}}})
    with pytest.raises(ParseError, match=r"unexpected Jobber Job: id: Field required"):
        inbound.parse(webhook("job_create"))
    fake.replies.clear()
    fake.add(JOB_ID, {"data": {"job": ["not", "an", "object"]}})
    with pytest.raises(ParseError, match="not an object"):
        inbound.parse(webhook("job_create"))


# --- not found, throttling and failures ------------------------------------------------------------------


def test_deleted_item_is_ignored_with_the_reason(inbound: JobberInbound) -> None:
    parsed = inbound.parse(webhook("job_create"))
    assert (parsed.events, parsed.ignored) == ((), f"job {JOB_ID} no longer exists in Jobber")


def test_not_found_error_is_ignored(fake: FakeJobber, inbound: JobberInbound) -> None:
    fake.add(JOB_ID, {"data": {"job": None}, "errors": [{"message": "Job not found", "path": ["job"]}]})
    assert inbound.parse(webhook("job_create")).ignored == f"job {JOB_ID} no longer exists in Jobber"


def test_other_graphql_error_is_temporary(fake: FakeJobber, inbound: JobberInbound) -> None:
    fake.add(JOB_ID, {"data": None, "errors": [{"message": "Field 'jobz' doesn't exist on type 'Query'"}]})
    with pytest.raises(TemporaryFailure, match="Jobber GraphQL error: Field 'jobz'") as caught:
        inbound.parse(webhook("job_create"))
    assert caught.value.retry_after_seconds is None


def throttled(requested: int, available: int, rate: int = 500, maximum: int = 10000) -> dict[str, Any]:
    """A THROTTLED answer as the rate-limit docs show it."""
    return {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": "https://x"}}],
        "extensions": {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": 0,
                "throttleStatus": {"maximumAvailable": maximum, "currentlyAvailable": available, "restoreRate": rate},
            }
        },
    }


@pytest.mark.parametrize(
    ("requested", "available", "rate", "seconds"),
    [(187, 40, 500, 1.0), (2187, 40, 500, 5.0), (187, 0, 50, 4.0), (9000, 0, 500, 18.0)],
)
def test_throttled_waits_until_the_points_are_restored(
    fake: FakeJobber, inbound: JobberInbound, requested: int, available: int, rate: int, seconds: float
) -> None:
    fake.add(VISIT_ID, throttled(requested, available, rate))
    with pytest.raises(TemporaryFailure, match="Jobber throttled") as caught:
        inbound.parse(webhook("visit_complete"))
    assert caught.value.retry_after_seconds == seconds


def test_throttled_above_the_maximum_says_it_can_never_run(fake: FakeJobber, inbound: JobberInbound) -> None:
    """The docs' own example: requested 10001 of at most 10000."""
    fake.add(VISIT_ID, throttled(10001, 10000))
    with pytest.raises(TemporaryFailure, match="more than the maximum 10000 ever available"):
        inbound.parse(webhook("visit_complete"))


def test_throttled_without_cost_uses_the_default_wait(fake: FakeJobber, inbound: JobberInbound) -> None:
    fake.add(VISIT_ID, {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]})
    with pytest.raises(TemporaryFailure) as caught:
        inbound.parse(webhook("visit_complete"))
    assert caught.value.retry_after_seconds == 60.0


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "17"}, 17.0),
        ({}, 60.0),
        ({"Retry-After": "Wed, 04 Mar 2026 16:46:30 GMT", "Date": "Wed, 04 Mar 2026 16:45:00 GMT"}, 90.0),
        ({"Retry-After": "soon"}, 60.0),
        ({"Retry-After": "999999"}, 3600.0),
    ],
)
def test_http_429_honours_retry_after(
    fake: FakeJobber, inbound: JobberInbound, headers: dict[str, str], seconds: float
) -> None:
    fake.add(JOB_ID, lambda _r: httpx.Response(429, headers=headers, text="Too Many Requests"))
    with pytest.raises(TemporaryFailure, match=r"HTTP 429") as caught:
        inbound.parse(webhook("job_create"))
    assert caught.value.retry_after_seconds == seconds


@pytest.mark.parametrize("code", [401, 403])
def test_auth_failure_is_temporary_with_a_clear_message(fake: FakeJobber, inbound: JobberInbound, code: int) -> None:
    """A person must fix the token: it retries with backoff, then lands dead in the error queue."""
    fake.add(JOB_ID, lambda _r: httpx.Response(code, json={"error": "invalid_request"}))
    with pytest.raises(TemporaryFailure, match=rf"Jobber refused the access token \(HTTP {code}\)"):
        inbound.parse(webhook("job_create"))


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (lambda _r: httpx.Response(502, text="Bad Gateway"), "HTTP 502"),
        (lambda _r: httpx.Response(200, text="<html>maintenance</html>"), "not JSON"),
        (lambda _r: httpx.Response(200, json=[1]), "not an object"),
    ],
)
def test_server_trouble_is_temporary(fake: FakeJobber, inbound: JobberInbound, reply: Any, message: str) -> None:
    fake.add(JOB_ID, reply)
    with pytest.raises(TemporaryFailure, match=message):
        inbound.parse(webhook("job_create"))


def test_network_error_is_temporary(fake: FakeJobber, inbound: JobberInbound) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    fake.add(JOB_ID, refuse)
    with pytest.raises(TemporaryFailure, match="Jobber API unreachable: ConnectError"):
        inbound.parse(webhook("job_create"))


def test_missing_token_is_temporary_and_nothing_is_sent(fake: FakeJobber) -> None:
    with pytest.raises(TemporaryFailure, match=r"^FIELDRELAY_JOBBER_ACCESS_TOKEN is not set$"):
        connector(fake, token=lambda: None).parse(webhook("job_create"))
    assert fake.requests == []


def test_token_is_read_from_the_environment(fake: FakeJobber, monkeypatch: pytest.MonkeyPatch) -> None:
    client = httpx.Client(transport=httpx.MockTransport(fake))
    env_connector = JobberInbound(JOBBER_SECRET, client, graphql_url=URL, api_version=VERSION)
    monkeypatch.delenv("FIELDRELAY_JOBBER_ACCESS_TOKEN", raising=False)
    with pytest.raises(TemporaryFailure, match="FIELDRELAY_JOBBER_ACCESS_TOKEN is not set"):
        env_connector.parse(webhook("job_create"))
    monkeypatch.setenv("FIELDRELAY_JOBBER_ACCESS_TOKEN", "from-env")
    env_connector.parse(webhook("job_create"))
    assert fake.requests[-1].headers["authorization"] == "Bearer from-env"


# --- signature ------------------------------------------------------------------------------------------


def delivery(headers: dict[str, str], body: bytes) -> WebhookRequest:
    """A webhook as the route hands it to ``verify`` (lower-case header names)."""
    return WebhookRequest(
        headers={k.lower(): v for k, v in headers.items()}, body=body, url="https://x/webhooks/jobber"
    )


def test_signature_good(inbound: JobberInbound) -> None:
    body, headers = signed(webhook("job_create"))
    assert inbound.verify(delivery(headers, body), NOW) is None


def test_signature_wrong_secret(inbound: JobberInbound) -> None:
    body, headers = signed(webhook("job_create"), secret="another-apps-secret")
    assert inbound.verify(delivery(headers, body), NOW) == "bad signature"


def test_signature_tampered_body(inbound: JobberInbound) -> None:
    body, headers = signed(webhook("job_create"))
    assert inbound.verify(delivery(headers, body.replace(b"JOB_CREATE", b"JOB_UPDATE")), NOW) == "bad signature"


def test_signature_missing_header(inbound: JobberInbound) -> None:
    assert inbound.verify(delivery({}, webhook("job_create")), NOW) == "missing signature header"


@pytest.mark.parametrize("secret", [None, ""])
def test_signature_no_secret_configured_refuses(fake: FakeJobber, secret: str | None) -> None:
    body, headers = signed(webhook("job_create"), secret="")
    unconfigured = JobberInbound(secret, httpx.Client(transport=httpx.MockTransport(fake)))
    assert unconfigured.verify(delivery(headers, body), NOW) == "no secret configured"


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=512), signature=st.one_of(st.none(), st.text(max_size=60)))
def test_verify_never_raises(body: bytes, signature: str | None) -> None:
    headers = {} if signature is None else {"X-Jobber-Hmac-SHA256": signature}
    result = connector(FakeJobber()).verify(delivery(headers, body), NOW)
    assert result is None or (isinstance(result, str) and result)


# --- identify -------------------------------------------------------------------------------------------


def test_identify_is_topic_item_and_time_without_any_request(fake: FakeJobber, inbound: JobberInbound) -> None:
    ident = inbound.identify(webhook("client_create"))
    assert ident.dedupe_key == "CLIENT_CREATE:MQ==:2021-08-12T16:31:36-06:00"
    assert ident.event_type == "CLIENT_CREATE"
    assert fake.requests == []


def test_identify_differs_per_field_and_accepts_the_old_spelling(inbound: JobberInbound) -> None:
    base = inbound.identify(webhook("job_create")).dedupe_key
    assert inbound.identify(webhook("job_create", topic="JOB_UPDATE")).dedupe_key != base
    assert inbound.identify(webhook("job_create", itemId="MQ==")).dedupe_key != base
    assert inbound.identify(webhook("job_create", occurredAt="2026-03-03T09:00:01-06:00")).dedupe_key != base
    old = json.loads(webhook("job_create"))
    event = old["data"]["webHookEvent"]
    event["occuredAt"] = event.pop("occurredAt")
    assert inbound.identify(json.dumps(old).encode()).dedupe_key == base


def test_old_spelling_parses(fake: FakeJobber, inbound: JobberInbound) -> None:
    old = json.loads(webhook("job_create"))
    event = old["data"]["webHookEvent"]
    event["occuredAt"] = event.pop("occurredAt")
    fake.add_fixture("job_create")
    assert type(only(inbound.parse(json.dumps(old).encode()))) is ev.JobBooked


def test_identify_keeps_keys_within_the_inbox_columns(inbound: JobberInbound) -> None:
    ident = inbound.identify(webhook("job_create", topic="T" * 300, itemId="\x00" + "i" * 300))
    assert ident.dedupe_key.startswith("h:") and len(ident.dedupe_key) <= 200
    assert ident.event_type == "T" * 100


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"topic=CLIENT_CREATE&itemId=MQ%3D%3D", "body is not JSON"),
        (b'{"data": {"webHookEvent": {"topic": ' + b"1" * 5000 + b"}}}", "body is not JSON"),
        (b"[]", "body is not a JSON object"),
        (b'{"data": {}}', "no 'data.webHookEvent' object"),
        (b'{"data": {"webHookEvent": {"itemId": "x", "occurredAt": "t"}}}', "missing webHookEvent.topic"),
        (b'{"data": {"webHookEvent": {"topic": "X", "occurredAt": "t"}}}', "missing webHookEvent.itemId"),
        (b'{"data": {"webHookEvent": {"topic": "X", "itemId": "i"}}}', "missing webHookEvent.occurredAt"),
    ],
)
def test_malformed_body_is_a_parse_error(inbound: JobberInbound, body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        inbound.identify(body)
    with pytest.raises(ParseError):
        inbound.parse(body)


@pytest.mark.parametrize("value", ["yesterday", "2021-08-12T16:31:36"])
def test_unreadable_or_naive_time_is_a_parse_error(inbound: JobberInbound, value: str) -> None:
    with pytest.raises(ParseError, match="occurredAt"):
        inbound.parse(webhook("job_create", occurredAt=value))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
_HOOKS = st.builds(
    lambda topic, item, at: {"data": {"webHookEvent": {"topic": topic, "itemId": item, "occurredAt": at}}},
    st.one_of(st.sampled_from(sorted(TOPICS)), st.text(max_size=20)),
    st.one_of(st.text(min_size=1, max_size=20), _JSON),
    st.one_of(st.just("2026-03-04T10:31:18-06:00"), st.text(max_size=25), _JSON),
)


_ITEM_KEYS = [
    "client",
    "job",
    "invoice",
    "jobs",
    "amounts",
    "quoteStatus",
    "isComplete",
    "isLastScheduledVisit",
    "timeSheetEntries",
    "amount",
    "firstName",
    "phones",
    "emails",
    "total",
    "invoiceStatus",
    "title",
    "startAt",
]
_ITEMS = st.builds(
    lambda ident, rest: {"id": ident, **rest},
    st.one_of(st.text(min_size=1, max_size=20), _JSON),
    st.dictionaries(st.sampled_from(_ITEM_KEYS), _JSON, max_size=6),
)
_ANSWERS = st.one_of(
    _JSON,
    st.builds(
        lambda root, item: {"data": {root: item}},
        st.sampled_from(sorted({query.root for query, _ in TOPICS.values()})),
        st.one_of(_ITEMS, _JSON),
    ),
)


@settings(max_examples=300, deadline=None)
@given(body=st.one_of(_JSON, _HOOKS), answer=_ANSWERS)
def test_parse_raises_only_parse_error_or_temporary_failure(body: object, answer: object) -> None:
    """Arbitrary webhooks and arbitrary API answers: a result, ParseError or TemporaryFailure, nothing else."""
    fake = FakeJobber()
    inbound = connector(fake)
    raw = json.dumps(body).encode()
    with contextlib.suppress(ParseError):
        inbound.identify(raw)
    data = body.get("data") if isinstance(body, dict) else None
    hook = data.get("webHookEvent") if isinstance(data, dict) else None
    if isinstance(hook, dict) and isinstance(hook.get("itemId"), str):
        fake.add(hook["itemId"], lambda _r: httpx.Response(200, json=answer))
    with contextlib.suppress(ParseError, TemporaryFailure):
        inbound.parse(raw)
