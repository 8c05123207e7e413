"""SendGrid inbound: one test per fixture, the signature (SDK) and its timestamp window, split and identify."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldrelay.connectors.sendgrid.inbound import HANDLED_EVENTS, SendGridInbound, message_id
from fieldrelay.domain import events as ev
from fieldrelay.service.ports import Parsed, ParseError
from tests.connectors.sendgrid.support import OTHER_KEY, PUBLIC_KEY, SIGNATURE, TIMESTAMP, encode, event, lower, sign
from tests.helpers import delivery

FIXTURES = Path(__file__).with_name("fixtures")
DOCS_AT = datetime(2017, 12, 15, 0, 59, 29, tzinfo=UTC)  # 1513299569, the docs examples' timestamp
NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def inbound() -> SendGridInbound:
    """The connector with the test run's key and the default 5-minute window."""
    return SendGridInbound(PUBLIC_KEY)


def raw(name: str) -> bytes:
    """The bytes of a fixture file."""
    return (FIXTURES / f"{name}.json").read_bytes()


def parse_fixture(inbound: SendGridInbound, name: str) -> Parsed:
    """Split a one-event fixture and parse its event."""
    items = inbound.split(raw(name))
    assert len(items) == 1
    parsed = inbound.parse(items[0])
    assert parsed.event_type == json.loads(raw(name))[0]["event"]
    return parsed


def only(parsed: Parsed) -> ev.FieldEvent:
    """The single canonical event of an item, checking the envelope."""
    assert parsed.ignored is None
    assert len(parsed.events) == 1
    result = parsed.events[0]
    assert result.source == "sendgrid"
    assert result.occurred_at == DOCS_AT
    assert result.customer is None
    return result


def status_of(inbound: SendGridInbound, name: str) -> ev.MessageStatusChanged:
    """A fixture's MessageStatusChanged, for the docs' placeholder message id."""
    changed = only(parse_fixture(inbound, name))
    assert isinstance(changed, ev.MessageStatusChanged)
    assert changed.channel == ev.EMAIL
    assert changed.provider_message_id == "sg_message_id"
    assert changed.address == "example@test.com"
    return changed


# --- one test per fixture ------------------------------------------------------------------------------


def test_every_handled_event_has_a_fixture() -> None:
    names = {p.stem for p in FIXTURES.glob("*.json")}
    extras = {"all-events", "bounce.blocked", "signed-event-webhook.test-vector"}
    assert names == set(HANDLED_EVENTS) | extras


def test_processed_is_recorded_as_sent(inbound: SendGridInbound) -> None:
    changed = status_of(inbound, "processed")
    assert (changed.status, changed.error_code, changed.detail) == ("sent", None, None)


def test_deferred_is_acknowledged_and_ignored(inbound: SendGridInbound) -> None:
    parsed = parse_fixture(inbound, "deferred")
    assert parsed.events == ()
    assert parsed.ignored == "deferred: SendGrid keeps retrying; a final status follows"


def test_delivered(inbound: SendGridInbound) -> None:
    changed = status_of(inbound, "delivered")
    assert (changed.status, changed.error_code, changed.detail) == ("delivered", None, None)


def test_bounce(inbound: SendGridInbound) -> None:
    changed = status_of(inbound, "bounce")
    assert (changed.status, changed.error_code, changed.detail) == ("bounced", "5.0.0", "500 unknown recipient")


def test_bounce_blocked(inbound: SendGridInbound) -> None:
    """A blocked bounce is a bounce, its reason marked as blocked; the id is cut to the X-Message-Id."""
    changed = only(parse_fixture(inbound, "bounce.blocked"))
    assert isinstance(changed, ev.MessageStatusChanged)
    assert changed.status == "bounced"
    assert changed.provider_message_id == "14c5d75ce93"
    assert changed.error_code == "5.0.0"
    assert changed.detail == "blocked: 500 unknown recipient"
    assert inbound.identify(inbound.split(raw("bounce.blocked"))[0]).dedupe_key == "id:6g4ZI7SA-xmRDv57GoPIPw=="


def test_dropped(inbound: SendGridInbound) -> None:
    changed = status_of(inbound, "dropped")
    assert (changed.status, changed.error_code, changed.detail) == ("dropped", "5.0.0", "Bounced Address")


def test_open(inbound: SendGridInbound) -> None:
    engaged = only(parse_fixture(inbound, "open"))
    assert engaged == ev.MessageEngaged(
        source="sendgrid",
        occurred_at=DOCS_AT,
        customer=None,
        channel=ev.EMAIL,
        provider_message_id="sg_message_id",
        action="opened",
        address="example@test.com",
        url=None,
    )


def test_open_by_apple_privacy_prefetch_is_ignored(inbound: SendGridInbound) -> None:
    item = json.loads(raw("open"))[0] | {"sg_machine_open": True}
    parsed = inbound.parse(encode(item))
    assert parsed.events == ()
    assert parsed.ignored is not None and "machine open" in parsed.ignored
    human = inbound.parse(encode(item | {"sg_machine_open": False}))
    assert isinstance(only(human), ev.MessageEngaged)


def test_click(inbound: SendGridInbound) -> None:
    engaged = only(parse_fixture(inbound, "click"))
    assert isinstance(engaged, ev.MessageEngaged)
    assert (engaged.action, engaged.url, engaged.provider_message_id) == (
        "clicked",
        "http://www.sendgrid.com/",
        "sg_message_id",
    )


@pytest.mark.parametrize(
    ("name", "kind", "reason"),
    [
        ("spamreport", ev.OptedOut, "spam report"),
        ("unsubscribe", ev.OptedOut, "unsubscribe"),
        ("group_unsubscribe", ev.OptedOut, "group unsubscribe (group 10)"),
        ("group_resubscribe", ev.OptedIn, "group resubscribe (group 10)"),
    ],
)
def test_consent_events(inbound: SendGridInbound, name: str, kind: type[ev.FieldEvent], reason: str) -> None:
    change = only(parse_fixture(inbound, name))
    assert type(change) is kind
    assert isinstance(change, ev.OptedOut | ev.OptedIn)
    assert (change.channel, change.address, change.reason) == (ev.EMAIL, "example@test.com", reason)


def test_spamreport(inbound: SendGridInbound) -> None:
    assert isinstance(only(parse_fixture(inbound, "spamreport")), ev.OptedOut)


def test_unsubscribe(inbound: SendGridInbound) -> None:
    assert isinstance(only(parse_fixture(inbound, "unsubscribe")), ev.OptedOut)


def test_group_unsubscribe(inbound: SendGridInbound) -> None:
    assert isinstance(only(parse_fixture(inbound, "group_unsubscribe")), ev.OptedOut)


def test_group_resubscribe(inbound: SendGridInbound) -> None:
    assert isinstance(only(parse_fixture(inbound, "group_resubscribe")), ev.OptedIn)


def test_all_events_batch_splits_into_one_item_per_event(inbound: SendGridInbound) -> None:
    """The docs' batch: eleven items, each parsed on its own; only "deferred" yields nothing."""
    items = inbound.split(raw("all-events"))
    assert [json.loads(i)["event"] for i in items] == [e["event"] for e in json.loads(raw("all-events"))]
    kinds = [tuple(type(e).__name__ for e in inbound.parse(i).events) for i in items]
    assert kinds == [
        ("MessageStatusChanged",),
        (),
        ("MessageStatusChanged",),
        ("MessageEngaged",),
        ("MessageEngaged",),
        ("MessageStatusChanged",),
        ("MessageStatusChanged",),
        ("OptedOut",),
        ("OptedOut",),
        ("OptedOut",),
        ("OptedIn",),
    ]
    # The docs reuse the placeholder "sg_event_id" for every event, so all eleven share one dedupe key.
    assert {inbound.identify(i).dedupe_key for i in items} == {"id:sg_event_id"}


def test_unknown_event_is_ignored(inbound: SendGridInbound) -> None:
    parsed = inbound.parse(encode({"event": "account_status_change", "timestamp": 1513299569}))
    assert (parsed.event_type, parsed.events, parsed.ignored) == (
        "account_status_change",
        (),
        "event type not used by fieldrelay",
    )


# --- the signed test vector and the signature ----------------------------------------------------------


def test_signed_event_webhook_test_vector_verifies_near_its_timestamp() -> None:
    """SendGrid's own signed delivery verifies with its key, by the SDK, when "now" is close to its timestamp."""
    vector: dict[str, Any] = json.loads(raw("signed-event-webhook.test-vector"))
    body = vector["raw_body"].encode()
    signed_at = datetime.fromtimestamp(int(vector[TIMESTAMP]), UTC)
    headers = {SIGNATURE.lower(): vector[SIGNATURE], TIMESTAMP.lower(): vector[TIMESTAMP]}
    inbound = SendGridInbound(vector["public_key_base64_der"])
    assert inbound.verify(delivery(headers, body), signed_at + timedelta(seconds=10)) is None
    assert inbound.verify(delivery(headers, body), NOW) == "timestamp outside the allowed window"
    assert inbound.verify(delivery(headers, body + b" "), signed_at) == "bad signature"
    # And what it carries: one dropped event for X-Message-Id LRzXl_NHStOGhQ4kofSm_A.
    (item,) = inbound.split(body)
    changed = inbound.parse(item).events[0]
    assert isinstance(changed, ev.MessageStatusChanged)
    assert (changed.status, changed.provider_message_id, changed.detail) == (
        "dropped",
        "LRzXl_NHStOGhQ4kofSm_A",
        "Bounced Address",
    )
    assert changed.occurred_at == datetime.fromtimestamp(1600112492, UTC)


def test_signed_event_webhook_test_vector_key_as_pem_block() -> None:
    """A key pasted with its PEM armour works the same."""
    vector: dict[str, Any] = json.loads(raw("signed-event-webhook.test-vector"))
    pem = f"-----BEGIN PUBLIC KEY-----\n{vector['public_key_base64_der']}\n-----END PUBLIC KEY-----\n"
    headers = {SIGNATURE.lower(): vector[SIGNATURE], TIMESTAMP.lower(): vector[TIMESTAMP]}
    signed_at = datetime.fromtimestamp(int(vector[TIMESTAMP]), UTC)
    assert SendGridInbound(pem).verify(delivery(headers, vector["raw_body"].encode()), signed_at) is None


def test_signature_good(inbound: SendGridInbound) -> None:
    body = encode([event("delivered", "e1", NOW)])
    assert inbound.verify(delivery(lower(sign(body, NOW)), body), NOW) is None


def test_signature_within_window_either_side(inbound: SendGridInbound) -> None:
    body = encode([event("delivered", "e1", NOW)])
    headers = lower(sign(body, NOW))
    assert inbound.verify(delivery(headers, body), NOW + timedelta(seconds=299)) is None
    assert inbound.verify(delivery(headers, body), NOW - timedelta(seconds=299)) is None


def test_signature_stale_and_future_timestamps(inbound: SendGridInbound) -> None:
    body = encode([event("delivered", "e1", NOW)])
    stale = lower(sign(body, NOW - timedelta(seconds=301)))
    future = lower(sign(body, NOW + timedelta(minutes=10)))
    assert inbound.verify(delivery(stale, body), NOW) == "timestamp outside the allowed window"
    assert inbound.verify(delivery(future, body), NOW) == "timestamp outside the allowed window"


def test_signature_respects_configured_max_age() -> None:
    body = encode([event("delivered", "e1", NOW)])
    request = delivery(lower(sign(body, NOW - timedelta(seconds=90))), body)
    assert SendGridInbound(PUBLIC_KEY, max_timestamp_age_seconds=60).verify(request, NOW) is not None
    assert SendGridInbound(PUBLIC_KEY, max_timestamp_age_seconds=120).verify(request, NOW) is None


def test_signature_other_key(inbound: SendGridInbound) -> None:
    body = encode([event("delivered", "e1", NOW)])
    assert inbound.verify(delivery(lower(sign(body, NOW, OTHER_KEY)), body), NOW) == "bad signature"


def test_signature_tampered_body_and_timestamp(inbound: SendGridInbound) -> None:
    body = encode([event("delivered", "e1", NOW)])
    headers = lower(sign(body, NOW))
    assert inbound.verify(delivery(headers, body.replace(b"e1", b"e2")), NOW) == "bad signature"
    moved = headers | {TIMESTAMP.lower(): str(int(NOW.timestamp()) + 1)}
    assert inbound.verify(delivery(moved, body), NOW) == "bad signature"


@pytest.mark.parametrize("missing", [SIGNATURE.lower(), TIMESTAMP.lower()])
def test_signature_missing_header(inbound: SendGridInbound, missing: str) -> None:
    body = encode([event("delivered", "e1", NOW)])
    headers = lower(sign(body, NOW))
    del headers[missing]
    assert inbound.verify(delivery(headers, body), NOW) == "missing signature headers"


@pytest.mark.parametrize("timestamp", ["yesterday", "-5", "1.5e9", "nan", "\uff11\uff12\uff13", "9" * 20])
def test_signature_unreadable_timestamp(inbound: SendGridInbound, timestamp: str) -> None:
    body = encode([event("delivered", "e1", NOW)])
    headers = lower(sign(body, NOW)) | {TIMESTAMP.lower(): timestamp}
    assert inbound.verify(delivery(headers, body), NOW) == "unreadable timestamp"


@pytest.mark.parametrize("signature", ["", "é" * 10, "not base64!", "QUJD", "A" * 5000])
def test_signature_garbage_is_refused_not_raised(inbound: SendGridInbound, signature: str) -> None:
    body = encode([event("delivered", "e1", NOW)])
    headers = lower(sign(body, NOW)) | {SIGNATURE.lower(): signature}
    assert inbound.verify(delivery(headers, body), NOW) in {"bad signature", "missing signature headers"}


def test_signature_non_utf8_body_is_refused(inbound: SendGridInbound) -> None:
    body = b"\xff\xfe[]"
    assert inbound.verify(delivery(lower(sign(body, NOW)), body), NOW) == "bad signature"


@pytest.mark.parametrize("key", [None, "", "   "])
def test_no_key_configured_refuses_everything(key: str | None) -> None:
    body = encode([event("delivered", "e1", NOW)])
    assert SendGridInbound(key).verify(delivery(lower(sign(body, NOW)), body), NOW) == "no verification key configured"


@pytest.mark.parametrize("key", ["not a key", "QUJD", "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"])
def test_unreadable_key_refuses_everything(key: str) -> None:
    body = encode([event("delivered", "e1", NOW)])
    reason = SendGridInbound(key).verify(delivery(lower(sign(body, NOW)), body), NOW)
    assert reason == "the configured verification key cannot be read"


_ASCII = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=256),
    signature=st.one_of(st.none(), _ASCII, st.text(max_size=100)),
    timestamp=st.one_of(st.none(), _ASCII, st.integers(-400, 400).map(lambda d: str(int(NOW.timestamp()) + d))),
)
def test_verify_never_raises(body: bytes, signature: str | None, timestamp: str | None) -> None:
    headers = {}
    if signature is not None:
        headers[SIGNATURE.lower()] = signature
    if timestamp is not None:
        headers[TIMESTAMP.lower()] = timestamp
    result = SendGridInbound(PUBLIC_KEY).verify(delivery(headers, body), NOW)
    assert isinstance(result, str) and result


# --- split, identify, message id ------------------------------------------------------------------------


def test_message_id_is_the_x_message_id_prefix() -> None:
    assert message_id("LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0") == (
        "LRzXl_NHStOGhQ4kofSm_A"
    )
    assert message_id("no-dot") == "no-dot"
    for missing in (None, "", ".suffix"):
        with pytest.raises(ParseError, match="sg_message_id"):
            message_id(missing)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not JSON"),
        (b"not json", "not JSON"),
        (b"\xff", "not JSON"),
        (b'{"event": "delivered"}', "not a JSON array"),
        (b"[]", "empty event batch"),
        (b"1" * 5000, "not JSON"),
    ],
)
def test_split_refuses_what_is_not_a_batch(inbound: SendGridInbound, body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        inbound.split(body)


def test_split_keeps_items_that_are_not_objects_for_identify_to_refuse(inbound: SendGridInbound) -> None:
    items = inbound.split(b'[1, "x", {"event": "open"}]')
    assert len(items) == 3
    for item in items[:2]:
        with pytest.raises(ParseError, match="not a JSON object"):
            inbound.identify(item)
    assert inbound.identify(items[2]).event_type == "open"


def test_identify_without_event_id_hashes_the_item(inbound: SendGridInbound) -> None:
    item = event("open", "x", NOW)
    del item["sg_event_id"]
    first = inbound.identify(encode(item))
    again = inbound.identify(json.dumps(dict(reversed(list(item.items())))).encode())
    assert first == again and first.dedupe_key.startswith("h:")
    other = inbound.identify(encode(item | {"timestamp": item["timestamp"] + 1}))
    assert other.dedupe_key != first.dedupe_key


def test_identify_caps_long_ids_and_event_names(inbound: SendGridInbound) -> None:
    ident = inbound.identify(encode({"event": "x" * 500, "sg_event_id": "y" * 500}))
    assert len(ident.dedupe_key) <= 200 and ident.event_type == "x" * 100


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"timestamp": 1}, "missing 'event'"),
        ({"event": 5}, "missing 'event'"),
    ],
)
def test_identify_needs_an_event_name(inbound: SendGridInbound, item: dict[str, Any], message: str) -> None:
    with pytest.raises(ParseError, match=message):
        inbound.identify(encode(item))


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"event": "delivered"}, "timestamp: Field required"),
        ({"event": "delivered", "timestamp": "soon"}, "timestamp: "),
        ({"event": "delivered", "timestamp": 10**20}, "not a usable Unix time"),
        ({"event": "delivered", "timestamp": 1}, "sg_message_id"),
        ({"event": "unsubscribe", "timestamp": 1}, "without a usable 'email'"),
        ({"event": "unsubscribe", "timestamp": 1, "email": "a" * 300 + "@x.com"}, "without a usable 'email'"),
        ({"event": "click", "timestamp": 1, "url": ["x"]}, "url: "),
    ],
)
def test_parse_errors(inbound: SendGridInbound, item: dict[str, Any], message: str) -> None:
    with pytest.raises(ParseError, match=message):
        inbound.parse(encode(item))


def test_long_smtp_status_is_cut_to_the_column(inbound: SendGridInbound) -> None:
    changed = inbound.parse(encode(event("bounce", "e", NOW, status="5" * 100))).events[0]
    assert isinstance(changed, ev.MessageStatusChanged) and changed.error_code == "5" * 32


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
_EVENT_NAMES = st.sampled_from([*HANDLED_EVENTS, "account_status_change", ""])
_EVENT_LIKE = st.fixed_dictionaries(
    {"event": _EVENT_NAMES | _JSON},
    optional={
        "timestamp": st.integers() | _JSON,
        "email": st.emails() | _JSON,
        "sg_event_id": st.text(max_size=30) | _JSON,
        "sg_message_id": st.text(max_size=40) | _JSON,
        "reason": _JSON,
        "status": _JSON,
        "type": st.sampled_from(["bounce", "blocked"]) | _JSON,
        "url": _JSON,
        "asm_group_id": _JSON,
        "sg_machine_open": _JSON,
    },
)


@settings(max_examples=300, deadline=None)
@given(body=st.one_of(st.lists(st.one_of(_EVENT_LIKE, _JSON), max_size=5), _JSON, _EVENT_LIKE))
def test_any_json_only_ever_raises_parse_error(body: Any) -> None:
    """split / identify / parse on any JSON give items, keys and Parsed values or ParseError, nothing else."""
    inbound = SendGridInbound(PUBLIC_KEY)
    try:
        items = inbound.split(encode(body))
    except ParseError:
        return
    for item in items:
        try:
            ident = inbound.identify(item)
            assert len(ident.dedupe_key) <= 200 and (ident.event_type is None or len(ident.event_type) <= 100)
        except ParseError:
            pass
        try:
            parsed = inbound.parse(item)
            assert parsed.events or parsed.ignored
        except ParseError:
            pass


@pytest.mark.parametrize("tail", ["A", "AAAA", "!", " x"])
def test_signature_with_characters_after_its_padding(inbound: SendGridInbound, tail: str) -> None:
    # The SDK's decoder ignores what follows the padding; a signature is exactly base64, so this one is refused.
    body = encode([event("delivered", "e1", NOW)])
    headers = lower(sign(body, NOW))
    assert inbound.verify(delivery(headers, body), NOW) is None
    padded = headers | {SIGNATURE.lower(): headers[SIGNATURE.lower()] + tail}
    assert inbound.verify(delivery(padded, body), NOW) == "bad signature"


def test_signature_header_names_are_the_sdks() -> None:
    """The names are spelled out so the SDK loads only with a key; they must stay the SDK's own."""
    from sendgrid.helpers.eventwebhook.eventwebhook_header import EventWebhookHeader  # type: ignore[import-untyped]

    from fieldrelay.connectors.sendgrid.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER

    assert (SIGNATURE_HEADER, TIMESTAMP_HEADER) == (EventWebhookHeader.SIGNATURE, EventWebhookHeader.TIMESTAMP)
