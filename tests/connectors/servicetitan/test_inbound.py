"""ServiceTitan inbound: one test per fixture, plus signature, identification and malformed-body checks."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldrelay.connectors.servicetitan.inbound import ServiceTitanInbound
from fieldrelay.connectors.servicetitan.signature import compute_signature
from fieldrelay.domain import events as ev
from fieldrelay.service.ports import Parsed, ParseError, WebhookRequest
from tests.connectors.servicetitan.support import FIXTURES, ST_SECRET, encode, load, raw, signed

NOW = datetime(2026, 3, 4, 16, 32, tzinfo=UTC)
JOB_ID = "51234567"
ADDRESS = ev.Address(
    street="4821 Bluebonnet Ln", unit="Unit 3", city="Austin", state="TX", postal_code="78745", country="US"
)


@pytest.fixture
def inbound() -> ServiceTitanInbound:
    """The connector with the test key and the default (unverified) header and encoding."""
    return ServiceTitanInbound(ST_SECRET)


def delivery(headers: dict[str, str], body: bytes) -> WebhookRequest:
    """A webhook as the route hands it to ``verify`` (lower-case header names)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    return WebhookRequest(headers=lowered, body=body, url="https://relay.example.com/webhooks/servicetitan")


def only_event(parsed: Parsed) -> ev.FieldEvent:
    """The single canonical event of a delivery, checking nothing was ignored."""
    assert parsed.ignored is None
    assert len(parsed.events) == 1
    event = parsed.events[0]
    assert event.source == "servicetitan"
    assert event.occurred_at.tzinfo is not None
    return event


def parse_fixture(inbound: ServiceTitanInbound, name: str) -> ev.FieldEvent:
    """Parse a fixture and check the event type echoes its event name."""
    parsed = inbound.parse(raw(name))
    data = load(name)
    assert parsed.event_type == data.get("eventType", data.get("event"))
    return only_event(parsed)


def assert_job_event(event: ev.FieldEvent, kind: type[ev.JobEvent], at: datetime) -> ev.JobSnapshot:
    """A job event of ``kind`` for the fixture job, without a customer (ServiceTitan sends only customerId)."""
    assert type(event) is kind
    assert isinstance(event, ev.JobEvent)
    assert event.customer is None
    assert event.occurred_at == at
    assert event.job.external_id == JOB_ID
    return event.job


def ignored(inbound: ServiceTitanInbound, name: str) -> str:
    """The reason a fixture is acknowledged without events."""
    parsed = inbound.parse(raw(name))
    assert parsed.events == ()
    assert parsed.ignored is not None
    return parsed.ignored


# --- one test per fixture ------------------------------------------------------------------------------


def test_job_scheduled(inbound: ServiceTitanInbound) -> None:
    job = assert_job_event(
        parse_fixture(inbound, "job.scheduled"), ev.JobBooked, datetime(2026, 3, 2, 14, 20, 45, tzinfo=UTC)
    )
    assert job.description == "Water heater not heating - 50 gal gas"
    assert job.total_cents == 0
    assert job.address is None  # only locationId: no address embedded


def test_job_in_progress(inbound: ServiceTitanInbound) -> None:
    event = parse_fixture(inbound, "job.in_progress")
    assert_job_event(event, ev.JobArrived, datetime(2026, 3, 4, 15, 7, 53, tzinfo=UTC))


def test_job_hold(inbound: ServiceTitanInbound) -> None:
    reason = ignored(inbound, "job.hold")
    assert reason.startswith("job put on hold")


def test_job_completed(inbound: ServiceTitanInbound) -> None:
    event = parse_fixture(inbound, "job.completed")
    job = assert_job_event(event, ev.JobCompleted, datetime(2026, 3, 4, 16, 31, 21, tzinfo=UTC))
    assert job.total_cents == 68500


def test_job_canceled(inbound: ServiceTitanInbound) -> None:
    event = parse_fixture(inbound, "job.canceled")
    assert_job_event(event, ev.JobCancelled, datetime(2026, 3, 3, 21, 45, tzinfo=UTC))


def test_job_completed_embedded_customer(inbound: ServiceTitanInbound) -> None:
    """The alternative envelope spelling, no event id, and an embedded customer and location."""
    event = parse_fixture(inbound, "job.completed.embedded_customer")
    assert type(event) is ev.JobCompleted
    assert isinstance(event, ev.JobCompleted)
    assert event.occurred_at == datetime(2026, 3, 4, 16, 31, 21, tzinfo=UTC)
    assert event.job.address == ADDRESS
    assert event.job.total_cents == 68500
    assert event.customer == ev.CustomerSnapshot(
        external_id="48712345",
        first_name="Maria",
        last_name="Alvarez",
        phones=("5125550142", "512.555.0187"),  # MobilePhone and Phone; the fax is not a phone to text
        emails=("Maria.Alvarez@Example.com",),
        address=ADDRESS,
    )


def test_appointment_scheduled(inbound: ServiceTitanInbound) -> None:
    event = parse_fixture(inbound, "appointment.scheduled")
    job = assert_job_event(event, ev.JobBooked, datetime(2026, 3, 2, 14, 20, 46, tzinfo=UTC))
    assert job.scheduled_start == datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
    assert job.scheduled_end == datetime(2026, 3, 4, 17, 0, tzinfo=UTC)


def test_appointment_dispatched(inbound: ServiceTitanInbound) -> None:
    event = parse_fixture(inbound, "appointment.dispatched")
    assert_job_event(event, ev.JobDispatched, datetime(2026, 3, 4, 14, 41, 9, tzinfo=UTC))


def test_appointment_working(inbound: ServiceTitanInbound) -> None:
    event = parse_fixture(inbound, "appointment.working")
    assert_job_event(event, ev.JobArrived, datetime(2026, 3, 4, 15, 7, 52, tzinfo=UTC))


def test_appointment_done(inbound: ServiceTitanInbound) -> None:
    event = parse_fixture(inbound, "appointment.done")
    assert_job_event(event, ev.JobCompleted, datetime(2026, 3, 4, 16, 31, 18, tzinfo=UTC))


def test_appointment_canceled(inbound: ServiceTitanInbound) -> None:
    assert ignored(inbound, "appointment.canceled").startswith("appointment cancelled")


def assert_estimate(event: ev.FieldEvent, kind: type[ev.EstimateEvent], at: datetime) -> ev.EstimateSnapshot:
    """An estimate event of ``kind`` without a customer."""
    assert type(event) is kind
    assert isinstance(event, ev.EstimateEvent)
    assert event.customer is None
    assert event.occurred_at == at
    return event.estimate


def test_estimate_created(inbound: ServiceTitanInbound) -> None:
    """Created and still Open, and the payload does not say it was sent: nothing to record yet."""
    assert ignored(inbound, "estimate.created") == "estimate Open and not sent: decides nothing yet"


def test_estimate_sent(inbound: ServiceTitanInbound) -> None:
    estimate = assert_estimate(
        parse_fixture(inbound, "estimate.sent"), ev.EstimateSent, datetime(2026, 3, 2, 18, 20, 40, tzinfo=UTC)
    )
    assert estimate == ev.EstimateSnapshot(
        external_id="51239002",
        total_cents=290110,  # subtotal 2680.00 + tax 221.10
        options=("Replace - 50 gal high-efficiency gas water heater",),
    )


def test_estimate_sold(inbound: ServiceTitanInbound) -> None:
    estimate = assert_estimate(
        parse_fixture(inbound, "estimate.sold"), ev.EstimateAccepted, datetime(2026, 3, 3, 1, 22, 19, tzinfo=UTC)
    )
    assert (estimate.external_id, estimate.total_cents) == ("51239002", 290110)


def test_estimate_dismissed(inbound: ServiceTitanInbound) -> None:
    estimate = assert_estimate(
        parse_fixture(inbound, "estimate.dismissed"), ev.EstimateDeclined, datetime(2026, 3, 3, 1, 22, 20, tzinfo=UTC)
    )
    assert (estimate.external_id, estimate.total_cents) == ("51239001", 41676)


def test_customer_created(inbound: ServiceTitanInbound) -> None:
    event = parse_fixture(inbound, "customer.created")
    assert type(event) is ev.CustomerCreated
    assert event.occurred_at == datetime(2026, 3, 2, 14, 5, 12, tzinfo=UTC)
    assert event.customer is not None
    assert event.customer.external_id == "48712345"
    assert (event.customer.first_name, event.customer.last_name) == ("Maria", "Alvarez")
    assert event.customer.address == ADDRESS


def test_unknown_event(inbound: ServiceTitanInbound) -> None:
    parsed = inbound.parse(raw("unknown.event"))
    assert parsed.event_type == "invoice.updated"
    assert (parsed.events, parsed.ignored) == ((), "event type not used by fieldrelay")


def test_every_fixture_has_a_test() -> None:
    """Each fixture stem (dots and dashes as underscores) names a test in this module."""
    names = set(globals())
    for path in FIXTURES.glob("*.json"):
        stem = path.stem.replace(".", "_").replace("-", "_")
        assert any(stem in n for n in names if n.startswith("test_")), path.name


# --- status mapping beyond the fixtures -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("Scheduled", ev.JobBooked),
        ("In Progress", ev.JobArrived),
        ("COMPLETED", ev.JobCompleted),
        ("Cancelled", ev.JobCancelled),
    ],
)
def test_job_status_spelling_is_tolerated(inbound: ServiceTitanInbound, status: str, kind: type[ev.JobEvent]) -> None:
    data = load("job.scheduled")
    data["data"]["jobStatus"] = status
    assert type(only_event(inbound.parse(encode(data)))) is kind


@pytest.mark.parametrize("status", ["Pending", None, "Dispatched"])
def test_job_status_outside_the_lifecycle_is_ignored(inbound: ServiceTitanInbound, status: str | None) -> None:
    data = load("job.scheduled")
    data["data"]["jobStatus"] = status
    parsed = inbound.parse(encode(data))
    assert parsed.events == () and parsed.ignored is not None and "not a lifecycle step" in parsed.ignored


def test_entity_kind_from_shape_when_the_name_says_nothing(inbound: ServiceTitanInbound) -> None:
    """An event name without an entity word still works from the entity's keys."""
    job = load("job.completed") | {"eventType": "StatusChanged"}
    appointment = load("appointment.dispatched") | {"eventType": "StatusChanged"}
    estimate = load("estimate.sold") | {"eventType": "StatusChanged"}
    assert type(only_event(inbound.parse(encode(job)))) is ev.JobCompleted
    assert type(only_event(inbound.parse(encode(appointment)))) is ev.JobDispatched
    assert type(only_event(inbound.parse(encode(estimate)))) is ev.EstimateAccepted


def test_camel_case_and_plural_event_names(inbound: ServiceTitanInbound) -> None:
    data = load("appointment.working") | {"eventType": "JpmAppointmentsStatusChanged"}
    assert type(only_event(inbound.parse(encode(data)))) is ev.JobArrived


def test_estimate_status_wins_over_the_event_name(inbound: ServiceTitanInbound) -> None:
    data = load("estimate.dismissed") | {"eventType": "estimate.sold"}
    assert type(only_event(inbound.parse(encode(data)))) is ev.EstimateDeclined


def test_estimate_sold_by_event_name_when_status_is_absent(inbound: ServiceTitanInbound) -> None:
    data = load("estimate.sold") | {"eventType": "estimate.sold"}
    del data["data"]["status"]
    assert type(only_event(inbound.parse(encode(data)))) is ev.EstimateAccepted


def test_time_falls_back_to_modified_on_and_naive_is_utc(inbound: ServiceTitanInbound) -> None:
    data = load("job.completed")
    del data["timestamp"]
    data["data"]["modifiedOn"] = "2026-03-04T16:31:20.6"
    event = only_event(inbound.parse(encode(data)))
    assert event.occurred_at == datetime(2026, 3, 4, 16, 31, 20, 600000, tzinfo=UTC)


def test_no_time_at_all_is_a_parse_error(inbound: ServiceTitanInbound) -> None:
    data = load("job.completed")
    del data["timestamp"]
    del data["data"]["modifiedOn"]
    with pytest.raises(ParseError, match="no event time"):
        inbound.parse(encode(data))


def test_money_that_is_not_finite_is_a_parse_error(inbound: ServiceTitanInbound) -> None:
    body = raw("job.completed").replace(b'"total": 685.0', b'"total": Infinity')
    with pytest.raises(ParseError, match="total"):
        inbound.parse(body)


# --- signature ------------------------------------------------------------------------------------------


def test_signature_good(inbound: ServiceTitanInbound) -> None:
    body, headers = signed(raw("job.completed"))
    assert inbound.verify(delivery(headers, body), NOW) is None


def test_signature_wrong_secret(inbound: ServiceTitanInbound) -> None:
    body, headers = signed(raw("job.completed"), secret="someone-else")
    assert inbound.verify(delivery(headers, body), NOW) == "bad signature"


def test_signature_tampered_body(inbound: ServiceTitanInbound) -> None:
    body, headers = signed(raw("job.completed"))
    tampered = body.replace(b"685.0", b"68.5")
    assert tampered != body
    assert inbound.verify(delivery(headers, tampered), NOW) == "bad signature"


def test_signature_missing_header(inbound: ServiceTitanInbound) -> None:
    body, _ = signed(raw("job.completed"))
    assert inbound.verify(delivery({}, body), NOW) == "missing signature header"
    assert inbound.verify(delivery({"st-signature": ""}, body), NOW) == "missing signature header"


@pytest.mark.parametrize("secret", [None, ""])
def test_signature_no_secret_configured_refuses(secret: str | None) -> None:
    body, headers = signed(raw("job.completed"), secret="")
    assert ServiceTitanInbound(secret).verify(delivery(headers, body), NOW) == "no secret configured"


def test_signature_hex_encoding_and_custom_header() -> None:
    """Both unknowns are configuration: a hex digest in another header verifies when configured so."""
    body, headers = signed(raw("job.completed"), encoding="hex", header="X-ServiceTitan-Signature")
    configured = ServiceTitanInbound(ST_SECRET, signature_header="X-ServiceTitan-Signature", signature_encoding="hex")
    assert configured.verify(delivery(headers, body), NOW) is None
    upper = {k: v.upper() for k, v in headers.items()}
    assert configured.verify(delivery(upper, body), NOW) is None
    assert ServiceTitanInbound(ST_SECRET).verify(delivery(headers, body), NOW) == "missing signature header"


def test_signature_sha256_prefix_tolerated(inbound: ServiceTitanInbound) -> None:
    body = raw("job.completed")
    headers = {"ST-Signature": "sha256=" + compute_signature(ST_SECRET, body)}
    assert inbound.verify(delivery(headers, body), NOW) is None


@pytest.mark.parametrize("value", ["not base64!!", "é" * 44, "=" * 8, "c2hvcnQ="])
def test_signature_garbage_is_refused_not_raised(inbound: ServiceTitanInbound, value: str) -> None:
    assert inbound.verify(delivery({"ST-Signature": value}, raw("job.completed")), NOW) == "bad signature"


_HEADER_TEXT = st.text(max_size=90)


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=512),
    signature=st.one_of(st.none(), _HEADER_TEXT),
    encoding=st.sampled_from(["base64", "hex"]),
)
def test_verify_never_raises(body: bytes, signature: str | None, encoding: str) -> None:
    headers = {} if signature is None else {"ST-Signature": signature}
    connector = ServiceTitanInbound(ST_SECRET, signature_encoding="hex" if encoding == "hex" else "base64")
    result = connector.verify(delivery(headers, body), NOW)
    assert result is None or (isinstance(result, str) and result)


# --- identify -------------------------------------------------------------------------------------------


def test_identify_uses_the_event_id(inbound: ServiceTitanInbound) -> None:
    ident = inbound.identify(raw("job.completed"))
    assert ident.dedupe_key == "id:0f7e1a52-3c1b-4b53-9a0e-5e2b9d1c7a04"
    assert ident.event_type == "job.updated"


def test_identify_without_event_id_hashes_name_entity_and_modified_time(inbound: ServiceTitanInbound) -> None:
    first = inbound.identify(raw("job.completed.embedded_customer"))
    assert first.dedupe_key.startswith("h:") and first.event_type == "JobCompleted"
    data = load("job.completed.embedded_customer")
    data["entity"]["summary"] = "changed wording, same change"
    assert inbound.identify(encode(data)).dedupe_key == first.dedupe_key
    for path, value in ((("entity", "modifiedOn"), "2026-03-04T16:31:20.7Z"), (("entity", "id"), 1), (("event",), "x")):
        changed = load("job.completed.embedded_customer")
        target: Any = changed
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        assert inbound.identify(encode(changed)).dedupe_key != first.dedupe_key, path


def test_identify_every_fixture_is_distinct(inbound: ServiceTitanInbound) -> None:
    paths = list(FIXTURES.glob("*.json"))
    assert len({inbound.identify(p.read_bytes()).dedupe_key for p in paths}) == len(paths)


def test_identify_keeps_keys_and_types_within_the_inbox_columns(inbound: ServiceTitanInbound) -> None:
    data = load("job.completed") | {"eventId": "e" * 500, "eventType": "job." + "x" * 300}
    ident = inbound.identify(encode(data))
    assert len(ident.dedupe_key) <= 200
    assert ident.event_type is not None and len(ident.event_type) <= 100
    assert len(inbound.parse(encode(data)).event_type) <= 100


# --- malformed bodies -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "body is not JSON"),
        (b"\xff\xfe\x00", "body is not JSON"),
        (b"", "body is not JSON"),
        (b'{"eventType": "job.updated", "data": {"id": ' + b"9" * 5000 + b"}}", "body is not JSON"),
        (b"[1, 2]", "body is not a JSON object"),
        (b'{"eventType": "job.updated"}', "no entity object"),
        (b'{"eventType": "job.updated", "data": [1]}', "'data' is not a JSON object"),
        (b'{"data": {}}', "missing event name"),
    ],
)
def test_malformed_body_is_a_parse_error(inbound: ServiceTitanInbound, body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        inbound.identify(body)
    with pytest.raises(ParseError):
        inbound.parse(body)


def test_job_without_id_is_a_parse_error(inbound: ServiceTitanInbound) -> None:
    data = load("job.completed")
    del data["data"]["id"]
    with pytest.raises(ParseError, match=r"StJob payload: id: Field required"):
        inbound.parse(encode(data))


def test_appointment_without_job_id_is_a_parse_error(inbound: ServiceTitanInbound) -> None:
    data = load("appointment.done")
    del data["data"]["jobId"]
    with pytest.raises(ParseError, match=r"jobId: Field required"):
        inbound.parse(encode(data))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
_ENTITY_KEYS = [
    "id",
    "jobId",
    "jobStatus",
    "status",
    "start",
    "end",
    "modifiedOn",
    "customer",
    "total",
    "subtotal",
    "tax",
    "soldOn",
    "name",
    "contacts",
    "location",
    "appointmentNumber",
]
_ENVELOPES = st.fixed_dictionaries(
    {
        "eventType": st.one_of(
            st.sampled_from(
                ["job.updated", "appointment.updated", "estimate.sold", "estimate.sent", "customer.created", "x"]
            ),
            st.text(max_size=30),
        ),
        "timestamp": st.one_of(st.none(), st.text(max_size=30), st.just("2026-03-04T16:31:21Z")),
        "data": st.dictionaries(st.sampled_from(_ENTITY_KEYS), _JSON, max_size=8),
    },
    optional={"eventId": _JSON},
)


@settings(max_examples=300, deadline=None)
@given(data=st.one_of(_JSON, _ENVELOPES))
def test_identify_and_parse_raise_only_parse_error(data: object) -> None:
    """Arbitrary JSON, and envelopes with arbitrary entities, either parse or raise ParseError."""
    connector = ServiceTitanInbound(ST_SECRET)
    body = json.dumps(data).encode()
    for step in (connector.identify, connector.parse):
        with contextlib.suppress(ParseError):
            step(body)
