"""Stripe inbound: one test per fixture, then signature (SDK), identification and malformed bodies."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stripe import WebhookSignature

from fieldrelay.connectors.stripe.inbound import HANDLED_EVENTS, JOB_ID_KEYS, JOB_SOURCE_KEYS, StripeInbound
from fieldrelay.domain import events as ev
from fieldrelay.service.ports import Parsed, ParseError
from tests.connectors.stripe.support import (
    CHARGE_ID,
    FIXTURES,
    PI_ID,
    STRIPE_CUSTOMER,
    STRIPE_SECRET,
    encode,
    load,
    raw,
    stripe_headers,
)
from tests.helpers import delivery

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # the simulated clock, three weeks from the wall clock of the run
JOB = "job_5e02b7d4a1"
INVOICE_ID = "in_1Pgc6tB7WZ01zgkWu9fdqL6I"
MARIA_ADDRESS = ev.Address(
    street="4821 Bluebonnet Ln", unit="Unit 3", city="Austin", state="TX", postal_code="78745", country="US"
)


@pytest.fixture
def inbound() -> StripeInbound:
    """The connector with the test secret and the default 300 s tolerance."""
    return StripeInbound(STRIPE_SECRET)


def only_event(parsed: Parsed) -> ev.FieldEvent:
    """The single canonical event of a delivery, checking nothing was ignored."""
    assert parsed.ignored is None, parsed.ignored
    assert len(parsed.events) == 1
    event = parsed.events[0]
    assert event.source == "stripe"
    return event


def with_object(name: str, **changes: Any) -> bytes:
    """A fixture whose ``data.object`` has some fields changed."""
    data = load(name)
    data["data"]["object"].update(changes)
    return encode(data)


def signed_request(body: bytes, at: datetime = NOW, secret: str = STRIPE_SECRET) -> Any:
    """A delivery as the route hands it to verify (lower-case header names)."""
    return delivery({k.lower(): v for k, v in stripe_headers(body, at, secret).items()}, body)


# --- one test per fixture ------------------------------------------------------------------------------


def test_every_handled_event_has_a_fixture() -> None:
    names = {p.stem for p in FIXTURES.glob("*.json")}
    assert names == set(HANDLED_EVENTS) | {"checkout.session.completed", "plan.created"}


def test_payment_intent_succeeded(inbound: StripeInbound) -> None:
    parsed = inbound.parse(raw("payment_intent.succeeded"))
    assert parsed.event_type == "payment_intent.succeeded"
    event = only_event(parsed)
    assert event == ev.PaymentReceived(
        source="stripe",
        occurred_at=datetime(2024, 7, 25, 23, 2, 11, tzinfo=UTC),  # the event's "created": 1721948531
        customer=ev.CustomerSnapshot(external_id=STRIPE_CUSTOMER, emails=("maria.alvarez@example.com",)),
        payment_ref=PI_ID,
        amount_cents=1099,
        currency="usd",
        job_ref=JOB,
        job_source="housecallpro",
    )


def test_charge_succeeded(inbound: StripeInbound) -> None:
    """The PaymentIntent's charge names the same payment (payment_ref = the PaymentIntent id) and the same job."""
    event = only_event(inbound.parse(raw("charge.succeeded")))
    assert isinstance(event, ev.PaymentReceived)
    assert (event.payment_ref, event.amount_cents, event.currency) == (PI_ID, 1099, "usd")
    assert (event.job_ref, event.job_source) == (JOB, "housecallpro")
    assert event.occurred_at == datetime.fromtimestamp(1721948531, UTC)
    assert event.customer == ev.CustomerSnapshot(
        external_id=STRIPE_CUSTOMER,
        first_name="Maria",
        last_name="Alvarez",
        phones=("(512) 555-0142",),
        emails=("maria.alvarez@example.com", "Maria.Alvarez@Example.com"),
        address=MARIA_ADDRESS,
    )


def test_charge_succeeded_and_payment_intent_succeeded_name_one_payment(inbound: StripeInbound) -> None:
    pi = only_event(inbound.parse(raw("payment_intent.succeeded")))
    charge = only_event(inbound.parse(raw("charge.succeeded")))
    assert isinstance(pi, ev.PaymentReceived) and isinstance(charge, ev.PaymentReceived)
    assert (pi.payment_ref, pi.job_ref, pi.amount_cents) == (charge.payment_ref, charge.job_ref, charge.amount_cents)


def test_charge_succeeded_of_a_payment_intent_without_job_metadata_is_ignored(inbound: StripeInbound) -> None:
    """Matched by contact, the echo would land on the customer's next open job: payment_intent.succeeded reports it."""
    parsed = inbound.parse(with_object("charge.succeeded", metadata={}))
    assert parsed.events == ()
    assert parsed.ignored is not None and "reported by payment_intent.succeeded" in parsed.ignored


def test_charge_succeeded_without_payment_intent_is_a_payment_of_its_own(inbound: StripeInbound) -> None:
    """A charge made directly (Charges API): its own id is the payment; no job named, so matched by the payer."""
    event = only_event(inbound.parse(with_object("charge.succeeded", payment_intent=None, metadata={})))
    assert isinstance(event, ev.PaymentReceived)
    assert (event.payment_ref, event.job_ref, event.job_source) == (CHARGE_ID, None, None)
    assert event.customer is not None and event.customer.phones == ("(512) 555-0142",)


def test_charge_succeeded_not_captured_is_ignored(inbound: StripeInbound) -> None:
    parsed = inbound.parse(with_object("charge.succeeded", captured=False, amount_captured=0))
    assert parsed.events == ()
    assert parsed.ignored == f"charge {CHARGE_ID} is authorised, not captured yet"


def test_invoice_paid(inbound: StripeInbound) -> None:
    """No job in the invoice's metadata: the payer's email and phone are what the service matches on."""
    event = only_event(inbound.parse(raw("invoice.paid")))
    assert event == ev.PaymentReceived(
        source="stripe",
        occurred_at=datetime.fromtimestamp(1722121301, UTC),
        customer=ev.CustomerSnapshot(
            external_id=STRIPE_CUSTOMER,
            first_name="Maria",
            last_name="Alvarez",
            phones=("+1 512 555 0142",),
            emails=("Maria.Alvarez@Example.com",),
            address=MARIA_ADDRESS,
        ),
        payment_ref=INVOICE_ID,  # this (2025-03-31.basil) invoice shape no longer names its PaymentIntent
        amount_cents=1000,
        currency="usd",
    )


def test_invoice_paid_names_its_payment_intent_when_the_api_version_does(inbound: StripeInbound) -> None:
    older = only_event(inbound.parse(with_object("invoice.paid", payment_intent=PI_ID, metadata={"job_id": "j1"})))
    assert isinstance(older, ev.PaymentReceived)
    assert (older.payment_ref, older.job_ref, older.job_source) == (PI_ID, "j1", None)
    payments = {"data": [{"status": "paid", "payment": {"type": "payment_intent", "payment_intent": "pi_2"}}]}
    basil = only_event(inbound.parse(with_object("invoice.paid", payments=payments)))
    assert isinstance(basil, ev.PaymentReceived) and basil.payment_ref == "pi_2"


def test_payment_intent_of_an_invoice_without_job_metadata_is_ignored(inbound: StripeInbound) -> None:
    parsed = inbound.parse(with_object("payment_intent.succeeded", invoice=INVOICE_ID, metadata={}))
    assert parsed.events == ()
    assert parsed.ignored == f"PaymentIntent of invoice {INVOICE_ID}: the payment is reported by invoice.paid"


def test_charge_refunded(inbound: StripeInbound) -> None:
    event = only_event(inbound.parse(raw("charge.refunded")))
    assert isinstance(event, ev.PaymentRefunded)
    assert (event.payment_ref, event.amount_cents, event.currency) == (PI_ID, 1099, "usd")
    assert (event.job_ref, event.job_source) == (JOB, "housecallpro")
    assert event.occurred_at == datetime.fromtimestamp(1722034901, UTC)
    assert event.customer is not None and event.customer.emails[0] == "maria.alvarez@example.com"


@pytest.mark.parametrize(("total", "before", "amount"), [(300, 0, 300), (1099, 300, 799), (500, None, 500)])
def test_charge_refunded_amount_is_this_refund(
    inbound: StripeInbound, total: int, before: int | None, amount: int
) -> None:
    """amount_refunded is a running total; the previous total in previous_attributes gives this refund's amount."""
    data = load("charge.refunded")
    data["data"]["object"]["amount_refunded"] = total
    data["data"]["previous_attributes"] = {} if before is None else {"amount_refunded": before}
    event = only_event(inbound.parse(encode(data)))
    assert isinstance(event, ev.PaymentRefunded) and event.amount_cents == amount


def test_checkout_session_completed(inbound: StripeInbound) -> None:
    parsed = inbound.parse(raw("checkout.session.completed"))
    assert (parsed.event_type, parsed.events) == ("checkout.session.completed", ())
    assert parsed.ignored == "the payment itself is reported by payment_intent.succeeded"


def test_plan_created(inbound: StripeInbound) -> None:
    """Stripe's own event fixture, verbatim: a type fieldrelay does not use is acknowledged and ignored."""
    parsed = inbound.parse(raw("plan.created"))
    assert (parsed.event_type, parsed.events, parsed.ignored) == (
        "plan.created",
        (),
        "event type not used by fieldrelay",
    )


@pytest.mark.parametrize("id_key", JOB_ID_KEYS)
@pytest.mark.parametrize("source_key", JOB_SOURCE_KEYS)
def test_job_metadata_synonyms(inbound: StripeInbound, id_key: str, source_key: str) -> None:
    body = with_object("payment_intent.succeeded", metadata={id_key: " job_9 ", source_key: " HousecallPro "})
    event = only_event(inbound.parse(body))
    assert isinstance(event, ev.PaymentReceived)
    assert (event.job_ref, event.job_source) == ("job_9", "housecallpro")


@pytest.mark.parametrize("metadata", [{}, {"job_source": "housecallpro"}, {"job_id": "  "}, None])
def test_no_job_named(inbound: StripeInbound, metadata: dict[str, str] | None) -> None:
    event = only_event(inbound.parse(with_object("payment_intent.succeeded", metadata=metadata)))
    assert isinstance(event, ev.PaymentReceived) and (event.job_ref, event.job_source) == (None, None)


def test_payer_without_stripe_customer_is_named_by_the_payment(inbound: StripeInbound) -> None:
    event = only_event(inbound.parse(with_object("payment_intent.succeeded", customer=None, receipt_email=None)))
    assert event.customer == ev.CustomerSnapshot(external_id=PI_ID)


def test_expanded_customer_object_is_read_as_its_id(inbound: StripeInbound) -> None:
    event = only_event(inbound.parse(with_object("payment_intent.succeeded", customer={"id": "cus_x", "object": "x"})))
    assert event.customer is not None and event.customer.external_id == "cus_x"


def test_payment_intent_from_before_2022_11_15_reads_the_embedded_charge(inbound: StripeInbound) -> None:
    charge = load("charge.succeeded")["data"]["object"]
    body = with_object("payment_intent.succeeded", charges={"object": "list", "data": [charge]}, receipt_email=None)
    event = only_event(inbound.parse(body))
    assert event.customer is not None
    assert event.customer.phones == ("(512) 555-0142",)
    assert event.customer.emails == ("Maria.Alvarez@Example.com",)


# --- malformed but signed -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "body is not JSON"),
        (b"\xff\xfe", "body is not JSON"),
        (b"[]", "body is not a JSON object"),
        (b'{"id": "evt_1"}', "malformed event 'type'"),
        (b'{"type": "charge.succeeded"}', "malformed event 'id'"),
        (encode({"id": "evt_" + "x" * 200, "type": "charge.succeeded"}), "malformed event 'id'"),
        (encode({"id": "evt 1", "type": "charge.succeeded"}), "malformed event 'id'"),
        (encode({"id": "evt_1", "type": "charge.succeeded\n"}), "malformed event 'type'"),
        (encode({"id": "evt_\x00", "type": "charge.succeeded"}), "NUL character"),
        (encode({"id": "evt_1", "type": "x", "data": [{"a": {"b\x00": 1}}]}), "NUL character"),
    ],
)
def test_unidentifiable_body_is_a_parse_error(inbound: StripeInbound, body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        inbound.identify(body)


def test_thin_event_is_a_parse_error(inbound: StripeInbound) -> None:
    body = encode({"id": "evt_1", "object": "v2.core.event", "type": "v1.payment_intent.succeeded"})
    assert inbound.identify(body).dedupe_key == "evt_1"
    with pytest.raises(ParseError, match="thin event"):
        inbound.parse(body)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"object": "charge"}, "not 'event'"),
        ({"created": "yesterday"}, "created"),
        ({"created": 10**20}, "is not a time"),
        ({"data": {}}, r"data\.object"),
        ({"data": {"object": {"object": "charge", "id": "ch_1"}}}, "expected 'payment_intent'"),
        ({"data": {"object": {"object": "payment_intent", "id": "pi_1"}}}, "amount: Field required"),
    ],
)
def test_known_event_with_unexpected_shape_is_a_parse_error(
    inbound: StripeInbound, change: dict[str, Any], message: str
) -> None:
    data = load("payment_intent.succeeded") | change
    with pytest.raises(ParseError, match=message):
        inbound.parse(encode(data))


# --- identify ---------------------------------------------------------------------------------------------


def test_identify_by_event_id(inbound: StripeInbound) -> None:
    ident = inbound.identify(raw("payment_intent.succeeded"))
    assert (ident.dedupe_key, ident.event_type) == ("evt_3PgbQ1B7WZ01zgkW0pi5ucc1", "payment_intent.succeeded")
    # A retry of the same event is the same delivery, whatever its bytes (Stripe re-sends the stored event).
    again = load("payment_intent.succeeded")
    again["data"]["object"]["description"] = "changed"
    assert inbound.identify(encode(again)) == ident


def test_identify_every_fixture_is_distinct(inbound: StripeInbound) -> None:
    keys = {inbound.identify(p.read_bytes()).dedupe_key for p in FIXTURES.glob("*.json")}
    assert len(keys) == len(list(FIXTURES.glob("*.json")))


# --- signature ------------------------------------------------------------------------------------------


def test_signature_good(inbound: StripeInbound) -> None:
    assert inbound.verify(signed_request(raw("charge.succeeded")), NOW) is None


def test_signature_checked_against_the_injected_now_not_the_wall_clock(inbound: StripeInbound) -> None:
    """Signed and checked at a simulated time weeks away from the wall clock: the SDK's own check would refuse it."""
    long_ago = datetime(2024, 7, 25, 23, 2, 11, tzinfo=UTC)
    body = raw("charge.succeeded")
    assert inbound.verify(signed_request(body, long_ago), long_ago + timedelta(seconds=299)) is None
    assert inbound.verify(signed_request(body, long_ago), NOW) == "timestamp outside the allowed window"


def test_signature_secret_rotation_one_wrong_and_one_right_v1_is_accepted(inbound: StripeInbound) -> None:
    """While a secret is rolled Stripe signs with every active secret; one matching v1 is enough, in any position."""
    body = raw("payment_intent.succeeded")
    t = int(NOW.timestamp())
    right = stripe_headers(body, NOW)["Stripe-Signature"].split(",v1=")[1]
    wrong = stripe_headers(body, NOW, secret="whsec_the_old_secret")["Stripe-Signature"].split(",v1=")[1]
    assert right != wrong
    for header in (f"t={t},v1={wrong},v1={right}", f"t={t},v1={right},v1={wrong}", f"t={t},v0=x,v1={wrong},v1={right}"):
        assert inbound.verify(delivery({"stripe-signature": header}, body), NOW) is None
    assert inbound.verify(delivery({"stripe-signature": f"t={t},v1={wrong},v1={wrong}"}, body), NOW) == "bad signature"


def test_signature_wrong_secret(inbound: StripeInbound) -> None:
    assert inbound.verify(signed_request(raw("charge.succeeded"), secret="whsec_other"), NOW) == "bad signature"


def test_signature_tampered_body(inbound: StripeInbound) -> None:
    body = raw("charge.succeeded")
    request = signed_request(body)
    tampered = body.replace(b'"amount": 1099', b'"amount": 109900')
    assert tampered != body
    assert inbound.verify(delivery(dict(request.headers), tampered), NOW) == "bad signature"


@pytest.mark.parametrize("headers", [{}, {"stripe-signature": ""}, {"stripe-signature": "  "}])
def test_signature_missing_header(inbound: StripeInbound, headers: dict[str, str]) -> None:
    assert inbound.verify(delivery(headers, raw("charge.succeeded")), NOW) == "missing Stripe-Signature header"


@pytest.mark.parametrize("header", ["v1=abc", "t=soon,v1=abc", "t", "garbage", "t=" + "9" * 5000])
def test_signature_unreadable_header(inbound: StripeInbound, header: str) -> None:
    result = inbound.verify(delivery({"stripe-signature": header}, raw("charge.succeeded")), NOW)
    assert result == "unreadable Stripe-Signature header"


def test_signature_without_v1(inbound: StripeInbound) -> None:
    body = raw("charge.succeeded")
    header = stripe_headers(body, NOW)["Stripe-Signature"].replace("v1=", "v0=")
    assert inbound.verify(delivery({"stripe-signature": header}, body), NOW) == "bad signature"


@pytest.mark.parametrize("offset", [301, -301, 86_400])
def test_signature_stale_or_future_timestamp(inbound: StripeInbound, offset: int) -> None:
    body = raw("charge.succeeded")
    assert inbound.verify(signed_request(body, NOW - timedelta(seconds=offset)), NOW) == (
        "timestamp outside the allowed window"
    )


def test_signature_within_window_either_side(inbound: StripeInbound) -> None:
    body = raw("charge.succeeded")
    assert inbound.verify(signed_request(body, NOW - timedelta(seconds=300)), NOW) is None
    assert inbound.verify(signed_request(body, NOW + timedelta(seconds=300)), NOW) is None


def test_signature_tolerance_is_configurable() -> None:
    request = signed_request(raw("charge.succeeded"), NOW - timedelta(seconds=90))
    assert (
        StripeInbound(STRIPE_SECRET, tolerance_seconds=60).verify(request, NOW)
        == "timestamp outside the allowed window"
    )
    assert StripeInbound(STRIPE_SECRET, tolerance_seconds=120).verify(request, NOW) is None


@pytest.mark.parametrize("secret", [None, ""])
def test_signature_no_secret_configured_refuses(secret: str | None) -> None:
    assert StripeInbound(secret).verify(signed_request(raw("charge.succeeded")), NOW) == "no secret configured"


def test_signature_non_ascii_v1_is_refused_not_raised(inbound: StripeInbound) -> None:
    header = f"t={int(NOW.timestamp())},v1={'é' * 64}"
    assert inbound.verify(delivery({"stripe-signature": header}, raw("charge.succeeded")), NOW) == "bad signature"


def test_signature_non_utf8_body_is_refused_not_raised(inbound: StripeInbound) -> None:
    header = f"t={int(NOW.timestamp())},v1={'0' * 64}"
    assert inbound.verify(delivery({"stripe-signature": header}, b"\xff\xfe{}"), NOW) == "bad signature"


_ASCII = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=120)


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=300), header=st.one_of(st.none(), _ASCII, st.text(max_size=80)))
def test_verify_never_raises(body: bytes, header: str | None) -> None:
    headers = {} if header is None else {"stripe-signature": header}
    result = StripeInbound(STRIPE_SECRET).verify(delivery(headers, body), NOW)
    assert isinstance(result, str) and result


# --- property: any signed JSON is identified or refused as a ParseError, never an exception ---------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
_OBJECT_KINDS = st.sampled_from(["payment_intent", "charge", "invoice", "refund", "event", None])
_STRIPE_LIKE = st.fixed_dictionaries(
    {
        "id": st.one_of(st.text(max_size=30), st.integers(), st.none()),
        "object": st.sampled_from(["event", "v2.core.event", "charge"]),
        "type": st.one_of(st.sampled_from([*HANDLED_EVENTS, "plan.created"]), st.text(max_size=20)),
        "created": st.one_of(st.integers(min_value=-(10**12), max_value=10**12), st.text(max_size=5)),
        "data": st.fixed_dictionaries(
            {"object": st.dictionaries(st.text(max_size=12), _JSON, max_size=6).map(lambda d: d)},
            optional={"previous_attributes": st.dictionaries(st.text(max_size=12), _JSON, max_size=3)},
        ),
    }
)


def _with_kind(data: dict[str, Any], kind: str | None, fields: dict[str, Any]) -> dict[str, Any]:
    obj = data["data"]["object"]
    obj.update(fields)
    if kind is not None:
        obj["object"] = kind
    return data


_OBJECT_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.text(max_size=10), st.integers()),
        "amount": st.one_of(st.integers(), st.text(max_size=4), st.floats(allow_nan=False)),
        "currency": st.one_of(st.just("usd"), st.integers()),
        "metadata": st.one_of(st.dictionaries(st.sampled_from(["job_id", "job_source", "x"]), _JSON), _JSON),
        "payment_intent": _JSON,
        "captured": _JSON,
        "billing_details": _JSON,
        "customer": _JSON,
        "amount_refunded": st.one_of(st.integers(), st.none()),
    },
)


def _check(inbound: StripeInbound, body: bytes) -> None:
    for step in (inbound.identify, inbound.parse):
        with contextlib.suppress(ParseError):
            step(body)


@settings(max_examples=150, deadline=None)
@given(value=_JSON)
def test_any_json_is_parsed_or_a_parse_error(value: object) -> None:
    _check(StripeInbound(STRIPE_SECRET), encode(value))


@settings(max_examples=300, deadline=None)
@given(data=_STRIPE_LIKE, kind=_OBJECT_KINDS, fields=_OBJECT_FIELDS)
def test_any_stripe_like_event_is_parsed_or_a_parse_error(
    data: dict[str, Any], kind: str | None, fields: dict[str, Any]
) -> None:
    inbound = StripeInbound(STRIPE_SECRET)
    body = encode(_with_kind(data, kind, fields))
    assert inbound.verify(signed_request(body), NOW) is None
    _check(inbound, body)


def test_sdk_header_generator_and_verify_agree_on_the_fixture_bytes() -> None:
    """The test helper signs with the SDK; the SDK (not fieldrelay code) checks it, so both sides are Stripe's."""
    body = raw("invoice.paid")
    header = stripe_headers(body, NOW)["Stripe-Signature"]
    assert WebhookSignature.verify_header(body, header, STRIPE_SECRET, tolerance=None) is True
