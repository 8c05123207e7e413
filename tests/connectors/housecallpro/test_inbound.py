"""Housecall Pro inbound: one test per fixture, plus signature, identification and malformed-body checks."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldrelay.connectors.housecallpro.inbound import HANDLED_EVENTS, HousecallProInbound
from fieldrelay.connectors.housecallpro.signature import compute_signature
from fieldrelay.domain import events as ev
from fieldrelay.service.ports import Parsed, ParseError
from tests.conftest import HCP_SECRET
from tests.helpers import delivery, signed

FIXTURES = Path(__file__).with_name("fixtures")
NOW = datetime(2026, 3, 5, 20, 31, 30, tzinfo=UTC)

MARIA = "cus_8a41f2c9d0"
JOB_ID = "job_5e02b7d4a1"
SERVICE_ADDRESS = ev.Address(
    street="4821 Bluebonnet Ln", unit="Unit 3", city="Austin", state="TX", postal_code="78745", country="US"
)


@pytest.fixture
def inbound() -> HousecallProInbound:
    """The connector with the test secret and the default 5-minute window."""
    return HousecallProInbound(HCP_SECRET)


def raw(name: str) -> bytes:
    """The bytes of a fixture file."""
    return (FIXTURES / f"{name}.json").read_bytes()


def load(name: str) -> dict[str, Any]:
    """A fixture as a dict, to vary in a test."""
    data: dict[str, Any] = json.loads(raw(name))
    return data


def encode(data: object) -> bytes:
    """JSON bytes of a payload."""
    return json.dumps(data).encode()


def only_event(parsed: Parsed) -> ev.FieldEvent:
    """The single canonical event of a delivery, checking nothing was ignored."""
    assert parsed.ignored is None
    assert len(parsed.events) == 1
    event = parsed.events[0]
    assert event.source == "housecallpro"
    assert event.occurred_at.tzinfo is not None
    return event


def parse_fixture(inbound: HousecallProInbound, name: str) -> ev.FieldEvent:
    """Parse a fixture and check the event type echoes its ``event``."""
    parsed = inbound.parse(raw(name))
    assert parsed.event_type == load(name)["event"]
    return only_event(parsed)


def lower(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers as the webhook route hands them over (lower-cased names)."""
    return {k.lower(): v for k, v in headers.items()}


def at(text: str) -> datetime:
    """An ISO time."""
    return datetime.fromisoformat(text)


def assert_maria(customer: ev.CustomerSnapshot | None) -> None:
    """The embedded customer of the job and estimate fixtures."""
    assert customer is not None
    assert customer.external_id == MARIA
    assert (customer.first_name, customer.last_name) == ("Maria", "Alvarez")
    assert customer.phones == ("(512) 555-0142", "512.555.0187")
    assert customer.emails == ("Maria.Alvarez@Example.com",)
    assert customer.lead_source == "Google Local Services"


def assert_job(
    event: ev.FieldEvent, kind: type[ev.JobEvent], *, total: int | None, balance: int | None
) -> ev.JobSnapshot:
    """A job event of ``kind`` for the fixture job and customer, with its amounts in cents."""
    assert type(event) is kind
    assert isinstance(event, ev.JobEvent)
    assert_maria(event.customer)
    assert event.customer is not None
    # Embedded job customers carry no addresses, so the job's address stands in.
    assert event.customer.address == SERVICE_ADDRESS
    job = event.job
    assert job.external_id == JOB_ID
    assert job.description == "Water heater not heating - 50 gal gas"
    assert job.service_type == "Water heater repair"
    assert job.address == SERVICE_ADDRESS
    assert (job.total_cents, job.balance_cents) == (total, balance)
    return job


# --- one test per fixture ------------------------------------------------------------------------------


def test_every_handled_event_has_a_fixture() -> None:
    """The fixture folder covers HANDLED_EVENTS exactly, plus the unknown and third-party captures."""
    names = {p.stem for p in FIXTURES.glob("*.json")}
    extras = {"unknown.event", "customer.updated.thirdparty-test-fixture", "job.created.thirdparty-test-fixture"}
    assert names == set(HANDLED_EVENTS) | extras


def test_customer_created(inbound: HousecallProInbound) -> None:
    event = parse_fixture(inbound, "customer.created")
    assert type(event) is ev.CustomerCreated
    assert event.occurred_at == datetime(2026, 3, 2, 14, 5, 11, tzinfo=UTC)
    assert_maria(event.customer)
    assert event.customer is not None
    assert event.customer.address == SERVICE_ADDRESS


def test_customer_updated(inbound: HousecallProInbound) -> None:
    event = parse_fixture(inbound, "customer.updated")
    assert type(event) is ev.CustomerUpdated
    assert event.occurred_at == datetime(2026, 3, 3, 15, 12, 40, tzinfo=UTC)
    assert event.occurred_at.utcoffset() == timedelta(hours=-6)
    customer = event.customer
    assert customer is not None
    assert customer.external_id == MARIA
    assert customer.last_name == "Alvarez-Reyes"
    # mobile first, then home (now empty), then work
    assert customer.phones == ("+1 512 555 0199", "5125550123")
    assert customer.emails == ("maria.reyes@example.com",)


def test_customer_updated_thirdparty_test_fixture(inbound: HousecallProInbound) -> None:
    """A captured delivery: a bare customer with no contact points and no addresses."""
    event = parse_fixture(inbound, "customer.updated.thirdparty-test-fixture")
    assert type(event) is ev.CustomerUpdated
    assert event.occurred_at == datetime(2026, 7, 24, 5, 38, 14, tzinfo=UTC)
    assert event.customer == ev.CustomerSnapshot(external_id="cus_1", first_name="A")


def test_job_created(inbound: HousecallProInbound) -> None:
    event = parse_fixture(inbound, "job.created")
    job = assert_job(event, ev.JobBooked, total=0, balance=0)
    assert event.occurred_at == datetime(2026, 3, 2, 14, 20, 44, tzinfo=UTC)
    assert job.scheduled_start is None and job.scheduled_end is None
    assert job.technicians == ()


def test_job_created_thirdparty_test_fixture(inbound: HousecallProInbound) -> None:
    """A captured job.created has no customer: it parses, and the service decides whether it can attach it."""
    event = parse_fixture(inbound, "job.created.thirdparty-test-fixture")
    assert type(event) is ev.JobBooked
    assert event.customer is None
    assert event.occurred_at == datetime(2026, 7, 24, 5, 38, 14, tzinfo=UTC)
    assert event.job == ev.JobSnapshot(external_id="job_1")


def test_job_scheduled(inbound: HousecallProInbound) -> None:
    event = parse_fixture(inbound, "job.scheduled")
    job = assert_job(event, ev.JobBooked, total=0, balance=0)
    assert job.scheduled_start == datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
    assert job.scheduled_end == datetime(2026, 3, 4, 17, 0, tzinfo=UTC)
    assert job.scheduled_start.tzinfo is not None
    assert job.technicians == ("Ray Ortiz",)


def test_job_appointment_rescheduled(inbound: HousecallProInbound) -> None:
    event = parse_fixture(inbound, "job.appointment.rescheduled")
    job = assert_job(event, ev.JobRescheduled, total=0, balance=0)
    assert event.occurred_at == datetime(2026, 3, 3, 16, 2, 27, tzinfo=UTC)
    assert job.scheduled_start == datetime(2026, 3, 5, 19, 0, tzinfo=UTC)
    assert job.scheduled_end == datetime(2026, 3, 5, 21, 0, tzinfo=UTC)


def test_job_on_my_way(inbound: HousecallProInbound) -> None:
    event = parse_fixture(inbound, "job.on_my_way")
    job = assert_job(event, ev.JobDispatched, total=0, balance=0)
    assert event.occurred_at == datetime(2026, 3, 5, 18, 41, 9, tzinfo=UTC)
    assert job.technicians == ("Ray Ortiz",)


def test_job_started(inbound: HousecallProInbound) -> None:
    event = parse_fixture(inbound, "job.started")
    assert_job(event, ev.JobArrived, total=0, balance=0)
    assert event.occurred_at == datetime(2026, 3, 5, 19, 7, 52, tzinfo=UTC)


def test_job_completed(inbound: HousecallProInbound) -> None:
    event = parse_fixture(inbound, "job.completed")
    job = assert_job(event, ev.JobCompleted, total=68500, balance=68500)
    assert event.occurred_at == datetime(2026, 3, 5, 20, 31, 18, tzinfo=UTC)
    assert job.technicians == ("Ray Ortiz",)


def test_job_canceled(inbound: HousecallProInbound) -> None:
    event = parse_fixture(inbound, "job.canceled")
    assert_job(event, ev.JobCancelled, total=0, balance=0)
    assert isinstance(event, ev.JobCancelled)
    assert event.reason == "user canceled"
    assert event.occurred_at == datetime(2026, 3, 3, 21, 45, tzinfo=UTC)


def test_job_paid(inbound: HousecallProInbound) -> None:
    event = parse_fixture(inbound, "job.paid")
    assert_job(event, ev.PaymentCaptured, total=68500, balance=0)
    assert isinstance(event, ev.PaymentCaptured)
    assert event.amount_cents == 68500
    assert event.payment_ref == f"job:{JOB_ID}"


def test_invoice_created(inbound: HousecallProInbound) -> None:
    event = parse_fixture(inbound, "invoice.created")
    assert_job(event, ev.JobInvoiced, total=68500, balance=68500)
    assert isinstance(event, ev.JobInvoiced)
    assert event.invoice_id == "inv_c47d10e2"
    assert event.amount_cents == 68500
    assert event.occurred_at == datetime(2026, 3, 5, 20, 35, tzinfo=UTC)


def test_invoice_paid(inbound: HousecallProInbound) -> None:
    event = parse_fixture(inbound, "invoice.paid")
    assert_job(event, ev.PaymentCaptured, total=68500, balance=0)
    assert isinstance(event, ev.PaymentCaptured)
    assert event.amount_cents == 68500
    assert event.payment_ref == "invoice:inv_c47d10e2"


def test_invoice_without_job_id_links_through_job_object(inbound: HousecallProInbound) -> None:
    data = load("invoice.paid")
    del data["invoice"]["job_id"]
    event = only_event(inbound.parse(encode(data)))
    assert isinstance(event, ev.PaymentCaptured)
    assert event.job.external_id == JOB_ID


def test_invoice_with_mismatched_or_missing_job_is_a_parse_error(inbound: HousecallProInbound) -> None:
    data = load("invoice.created")
    data["invoice"]["job_id"] = "job_other"
    with pytest.raises(ParseError, match=r"differs from job\.id"):
        inbound.parse(encode(data))
    del data["job"]
    with pytest.raises(ParseError, match="no job object"):
        inbound.parse(encode(data))


def test_estimate_sent(inbound: HousecallProInbound) -> None:
    event = parse_fixture(inbound, "estimate.sent")
    assert type(event) is ev.EstimateSent
    assert isinstance(event, ev.EstimateSent)
    assert_maria(event.customer)
    assert event.estimate.external_id == "est_3f90a6b8c2"
    assert event.estimate.number == "E-2207"
    assert event.estimate.total_cents == 289900  # the dearest option
    assert event.estimate.options == (
        "Repair - replace thermocouple and gas valve",
        "Replace - 50 gal high-efficiency gas water heater",
    )


def test_estimate_option_approval_status_change(inbound: HousecallProInbound) -> None:
    """One option approved, the other still awaiting: the estimate is accepted."""
    event = parse_fixture(inbound, "estimate.option.approval_status_change")
    assert type(event) is ev.EstimateAccepted
    assert isinstance(event, ev.EstimateAccepted)
    assert event.occurred_at == datetime(2026, 3, 3, 1, 22, 19, tzinfo=UTC)
    assert_maria(event.customer)
    assert event.estimate.external_id == "est_3f90a6b8c2"


@pytest.mark.parametrize(
    ("statuses", "kind"),
    [
        (["pro approved", "awaiting response"], ev.EstimateAccepted),
        (["declined", "approved"], ev.EstimateAccepted),
        ([" Approved ", "expired"], ev.EstimateAccepted),
        (["declined", "declined"], ev.EstimateDeclined),
        (["pro declined", "declined"], ev.EstimateDeclined),
    ],
)
def test_estimate_decision(inbound: HousecallProInbound, statuses: list[str], kind: type[ev.EstimateEvent]) -> None:
    data = load("estimate.option.approval_status_change")
    for option, status in zip(data["estimate"]["options"], statuses, strict=True):
        option["approval_status"] = status
    assert type(only_event(inbound.parse(encode(data)))) is kind


@pytest.mark.parametrize(
    "statuses", [["awaiting response", "awaiting response"], ["declined", "awaiting response"], ["expired", None]]
)
def test_estimate_undecided_is_ignored(inbound: HousecallProInbound, statuses: list[str | None]) -> None:
    data = load("estimate.option.approval_status_change")
    for option, status in zip(data["estimate"]["options"], statuses, strict=True):
        option["approval_status"] = status
    parsed = inbound.parse(encode(data))
    assert parsed.events == ()
    assert parsed.ignored is not None and "decides nothing" in parsed.ignored


def test_unknown_event(inbound: HousecallProInbound) -> None:
    parsed = inbound.parse(raw("unknown.event"))
    assert parsed.event_type == "pro.created"
    assert parsed.events == ()
    assert parsed.ignored == "event type not used by fieldrelay"


@pytest.mark.parametrize("event", ["job.completed", "estimate.sent", "customer.updated", "invoice.paid"])
def test_known_event_without_its_object_is_a_parse_error(inbound: HousecallProInbound, event: str) -> None:
    body = encode({"event": event, "event_occurred_at": "2026-03-05T20:31:18Z", "company_id": "co_1"})
    with pytest.raises(ParseError, match="without"):
        inbound.parse(body)


# --- signature ------------------------------------------------------------------------------------------


def test_signature_good(inbound: HousecallProInbound) -> None:
    body, headers = signed(raw("job.completed"), NOW)
    assert inbound.verify(delivery(lower(headers), body), NOW) is None


def test_signature_within_window_either_side(inbound: HousecallProInbound) -> None:
    body, headers = signed(raw("job.completed"), NOW)
    assert inbound.verify(delivery(lower(headers), body), NOW + timedelta(seconds=299)) is None
    assert inbound.verify(delivery(lower(headers), body), NOW - timedelta(seconds=299)) is None


def test_signature_wrong_secret(inbound: HousecallProInbound) -> None:
    body, headers = signed(raw("job.completed"), NOW, secret="someone-else")
    assert inbound.verify(delivery(lower(headers), body), NOW) == "bad signature"


def test_signature_tampered_body(inbound: HousecallProInbound) -> None:
    body, headers = signed(raw("job.completed"), NOW)
    tampered = body.replace(b"68500", b"6850")
    assert tampered != body
    assert inbound.verify(delivery(lower(headers), tampered), NOW) == "bad signature"


def test_signature_tampered_timestamp(inbound: HousecallProInbound) -> None:
    body, headers = signed(raw("job.completed"), NOW)
    headers = lower(headers) | {"api-timestamp": str(int(NOW.timestamp()) + 1)}
    assert inbound.verify(delivery(headers, body), NOW) == "bad signature"


def test_signature_uppercase_hex_accepted(inbound: HousecallProInbound) -> None:
    body, headers = signed(raw("job.completed"), NOW)
    headers = lower(headers)
    headers["api-signature"] = f" {headers['api-signature'].upper()} "
    assert inbound.verify(delivery(headers, body), NOW) is None


@pytest.mark.parametrize("missing", ["api-signature", "api-timestamp"])
def test_signature_missing_headers(inbound: HousecallProInbound, missing: str) -> None:
    body, headers = signed(raw("job.completed"), NOW)
    headers = lower(headers)
    del headers[missing]
    assert inbound.verify(delivery(headers, body), NOW) == "missing signature headers"
    assert inbound.verify(delivery({}, body), NOW) == "missing signature headers"


def test_signature_empty_header_values(inbound: HousecallProInbound) -> None:
    body, _ = signed(raw("job.completed"), NOW)
    empty = delivery({"api-signature": "", "api-timestamp": ""}, body)
    assert inbound.verify(empty, NOW) == "missing signature headers"


def test_signature_unreadable_timestamp(inbound: HousecallProInbound) -> None:
    body = raw("job.completed")
    headers = {"api-timestamp": "yesterday", "api-signature": compute_signature(HCP_SECRET, "yesterday", body)}
    assert inbound.verify(delivery(headers, body), NOW) == "unreadable timestamp"


def test_signature_stale_timestamp(inbound: HousecallProInbound) -> None:
    body, headers = signed(raw("job.completed"), NOW - timedelta(seconds=301))
    assert inbound.verify(delivery(lower(headers), body), NOW) == "timestamp outside the allowed window"


def test_signature_stale_timestamp_respects_configured_max_age() -> None:
    body, headers = signed(raw("job.completed"), NOW - timedelta(seconds=90))
    request = delivery(lower(headers), body)
    assert HousecallProInbound(HCP_SECRET, max_timestamp_age_seconds=60).verify(request, NOW) == (
        "timestamp outside the allowed window"
    )
    assert HousecallProInbound(HCP_SECRET, max_timestamp_age_seconds=120).verify(request, NOW) is None


def test_signature_future_timestamp(inbound: HousecallProInbound) -> None:
    body, headers = signed(raw("job.completed"), NOW + timedelta(minutes=10))
    assert inbound.verify(delivery(lower(headers), body), NOW) == "timestamp outside the allowed window"


def test_signature_millisecond_timestamp_accepted(inbound: HousecallProInbound) -> None:
    body = raw("job.completed")
    millis = str(int(NOW.timestamp() * 1000))
    headers = {"api-timestamp": millis, "api-signature": compute_signature(HCP_SECRET, millis, body)}
    assert inbound.verify(delivery(headers, body), NOW) is None
    stale = str(int((NOW - timedelta(hours=1)).timestamp() * 1000))
    headers = {"api-timestamp": stale, "api-signature": compute_signature(HCP_SECRET, stale, body)}
    assert inbound.verify(delivery(headers, body), NOW) == "timestamp outside the allowed window"


@pytest.mark.parametrize("secret", [None, ""])
def test_signature_no_secret_configured_refuses(secret: str | None) -> None:
    """Fail closed: without a secret even a delivery signed with the empty key is refused."""
    body, headers = signed(raw("job.completed"), NOW, secret="")
    assert HousecallProInbound(secret).verify(delivery(lower(headers), body), NOW) == "no secret configured"


def test_signature_non_ascii_signature_is_refused_not_raised(inbound: HousecallProInbound) -> None:
    body, headers = signed(raw("job.completed"), NOW)
    headers = lower(headers) | {"api-signature": "é" * 64}
    assert inbound.verify(delivery(headers, body), NOW) == "bad signature"


def test_signature_nan_timestamp_is_refused(inbound: HousecallProInbound) -> None:
    body = raw("job.completed")
    headers = {"api-timestamp": "nan", "api-signature": compute_signature(HCP_SECRET, "nan", body)}
    assert inbound.verify(delivery(headers, body), NOW) is not None


_ASCII_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)
_TIMESTAMPS = st.one_of(
    _ASCII_TEXT,
    st.integers(min_value=-(10**15), max_value=10**15).map(str),
    st.integers(min_value=-400, max_value=400).map(lambda d: str(int(NOW.timestamp()) + d)),
)


@settings(max_examples=300, deadline=None)
@given(
    body=st.binary(max_size=512),
    signature=st.one_of(st.none(), _ASCII_TEXT, st.text(alphabet="0123456789abcdefABCDEF", min_size=64, max_size=64)),
    timestamp=st.one_of(st.none(), _TIMESTAMPS),
    extra=st.dictionaries(_ASCII_TEXT, _ASCII_TEXT, max_size=3),
)
def test_verify_never_raises(body: bytes, signature: str | None, timestamp: str | None, extra: dict[str, str]) -> None:
    """Any body and printable-ASCII headers give a refusal reason or None, never an exception.

    Non-ASCII headers have their own test above (they are refused, not raised on).
    """
    headers = dict(extra)
    if signature is not None:
        headers["api-signature"] = signature
    if timestamp is not None:
        headers["api-timestamp"] = timestamp
    result = HousecallProInbound(HCP_SECRET).verify(delivery(headers, body), NOW)
    assert result is None or (isinstance(result, str) and result)


# --- identify -------------------------------------------------------------------------------------------


def test_identify_is_stable_for_the_same_delivery(inbound: HousecallProInbound) -> None:
    first = inbound.identify(raw("job.completed"))
    # Same event, time and object, different bytes (key order, spacing, other fields).
    data = load("job.completed")
    data["job"]["description"] = "changed"
    again = inbound.identify(json.dumps(dict(reversed(list(data.items())))).encode())
    assert first == again
    assert first.event_type == "job.completed"
    assert first.dedupe_key.startswith("h:")
    assert len(first.dedupe_key) <= 200


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("event",), "job.started"),
        (("event_occurred_at",), "2026-03-05T20:31:19Z"),
        (("job", "id"), "job_other"),
    ],
)
def test_identify_differs_when_any_identifying_field_differs(
    inbound: HousecallProInbound, path: tuple[str, ...], value: str
) -> None:
    data = load("job.completed")
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert inbound.identify(encode(data)).dedupe_key != inbound.identify(raw("job.completed")).dedupe_key


def test_identify_distinguishes_object_kinds(inbound: HousecallProInbound) -> None:
    """A job and an estimate that happen to share an id are different deliveries."""
    base = {"event": "x.changed", "event_occurred_at": "2026-03-05T20:31:18Z"}
    job = inbound.identify(encode(base | {"job": {"id": "1"}}))
    estimate = inbound.identify(encode(base | {"estimate": {"id": "1"}}))
    assert job.dedupe_key != estimate.dedupe_key


def test_identify_every_fixture_is_distinct(inbound: HousecallProInbound) -> None:
    keys = {inbound.identify(p.read_bytes()).dedupe_key for p in FIXTURES.glob("*.json")}
    # The two third-party captures share neither event nor object, so every fixture has its own key.
    assert len(keys) == len(list(FIXTURES.glob("*.json")))


def test_identify_uses_an_explicit_event_id(inbound: HousecallProInbound) -> None:
    data = load("job.completed") | {"event_id": "evt_123"}
    assert inbound.identify(encode(data)).dedupe_key == "id:evt_123"


# --- malformed bodies -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "body is not JSON"),
        (b"\xff\xfe\x00", "body is not JSON"),
        (b"", "body is not JSON"),
        (b'[{"event": "job.completed"}]', "body is not a JSON object"),
        (b'"job.completed"', "body is not a JSON object"),
    ],
)
def test_malformed_body_is_a_parse_error(inbound: HousecallProInbound, body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        inbound.parse(body)
    with pytest.raises(ParseError, match=message):
        inbound.identify(body)


def test_missing_event_is_a_parse_error(inbound: HousecallProInbound) -> None:
    data = load("job.completed")
    del data["event"]
    with pytest.raises(ParseError, match=r"event: Field required"):
        inbound.parse(encode(data))
    with pytest.raises(ParseError, match="missing 'event' name"):
        inbound.identify(encode(data))


@pytest.mark.parametrize("value", ["last tuesday", "2026-13-40T00:00:00Z", None, ""])
def test_bad_event_occurred_at_is_a_parse_error(inbound: HousecallProInbound, value: str | None) -> None:
    data = load("job.completed") | {"event_occurred_at": value}
    with pytest.raises(ParseError, match=r"^unexpected payload: event_occurred_at: "):
        inbound.parse(encode(data))


def test_naive_event_occurred_at_is_a_parse_error(inbound: HousecallProInbound) -> None:
    data = load("job.completed") | {"event_occurred_at": "2026-03-05T20:31:18"}
    with pytest.raises(ParseError, match="has no time zone"):
        inbound.parse(encode(data))


def test_job_without_id_is_a_parse_error(inbound: HousecallProInbound) -> None:
    data = load("job.completed")
    del data["job"]["id"]
    with pytest.raises(ParseError, match=r"job\.id: Field required"):
        inbound.parse(encode(data))
