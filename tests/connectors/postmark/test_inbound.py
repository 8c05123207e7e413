"""Postmark inbound: one test per fixture, the Basic credentials, identify and malformed records."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldrelay.connectors.postmark.inbound import HANDLED_EVENTS, PostmarkInbound
from fieldrelay.domain import events as ev
from fieldrelay.service.ports import Parsed, ParseError
from tests.connectors.postmark.support import SECRET, basic, encode, record
from tests.helpers import delivery

FIXTURES = Path(__file__).with_name("fixtures")
AT = datetime(2025, 4, 5, 16, 33, 54, 907025, tzinfo=UTC)  # the fixtures' 2025-04-05T16:33:54.9070259Z
VENDOR_MESSAGE = "883953f4-6105-42a2-a16a-77a8eac79483"
NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def inbound() -> PostmarkInbound:
    """The connector with the test credentials."""
    return PostmarkInbound(SECRET)


def raw(name: str) -> bytes:
    """The bytes of a fixture file."""
    return (FIXTURES / f"{name}.json").read_bytes()


def load(name: str) -> dict[str, Any]:
    """A fixture as a dict, to vary in a test."""
    data: dict[str, Any] = json.loads(raw(name))
    return data


def only(parsed: Parsed, record_type: str) -> ev.FieldEvent:
    """The single canonical event of a record, checking the envelope."""
    assert parsed.event_type == record_type
    assert parsed.ignored is None
    assert len(parsed.events) == 1
    event = parsed.events[0]
    assert (event.source, event.occurred_at, event.customer) == ("postmark", AT, None)
    return event


def lower(headers: dict[str, str]) -> dict[str, str]:
    """Headers as the route hands them to a connector."""
    return {k.lower(): v for k, v in headers.items()}


# --- one test per fixture ------------------------------------------------------------------------------


def test_every_handled_record_type_has_a_fixture() -> None:
    stems = {p.stem for p in FIXTURES.glob("*.json")}
    assert stems == {"delivery", "bounce", "spam-complaint", "open", "click", "subscription-change"}
    assert {load(s)["RecordType"] for s in stems} == set(HANDLED_EVENTS)


def test_delivery(inbound: PostmarkInbound) -> None:
    assert only(inbound.parse(raw("delivery")), "Delivery") == ev.MessageStatusChanged(
        source="postmark",
        occurred_at=AT,
        customer=None,
        channel=ev.EMAIL,
        provider_message_id=VENDOR_MESSAGE,
        status="delivered",
        address="john@example.com",
        error_code=None,
        detail="Test delivery webhook details",
    )


def test_bounce(inbound: PostmarkInbound) -> None:
    changed = only(inbound.parse(raw("bounce")), "Bounce")
    assert isinstance(changed, ev.MessageStatusChanged)
    assert (changed.status, changed.provider_message_id, changed.address, changed.error_code) == (
        "bounced",
        VENDOR_MESSAGE,
        "john@example.com",
        "HardBounce",
    )
    assert changed.detail == (
        "smtp;550 5.1.1 The email account that you tried to reach does not exist. (Postmark deactivated the address)"
    )


@pytest.mark.parametrize("kind", ["SoftBounce", "Transient", "DnsError", "Blocked", "Unknown", "DMARCPolicy", None])
def test_bounce_types_that_failed_are_bounced(inbound: PostmarkInbound, kind: str | None) -> None:
    changed = only(inbound.parse(encode(load("bounce") | {"Type": kind, "Inactive": False})), "Bounce")
    assert isinstance(changed, ev.MessageStatusChanged)
    assert (changed.status, changed.error_code) == ("bounced", kind)
    assert changed.detail == "smtp;550 5.1.1 The email account that you tried to reach does not exist."


@pytest.mark.parametrize("kind", ["AutoResponder", "Subscribe", "AddressChange", "SpamNotification", "OpenRelayTest"])
def test_bounce_types_that_are_not_failures_are_ignored(inbound: PostmarkInbound, kind: str) -> None:
    parsed = inbound.parse(encode(load("bounce") | {"Type": kind}))
    assert parsed.events == ()
    assert parsed.ignored is not None and parsed.ignored.startswith(f"bounce type {kind}: ")


def test_bounce_of_type_unsubscribe_is_an_opt_out(inbound: PostmarkInbound) -> None:
    out = only(inbound.parse(encode(load("bounce") | {"Type": "Unsubscribe"})), "Bounce")
    assert out == ev.OptedOut(
        source="postmark",
        occurred_at=AT,
        customer=None,
        channel=ev.EMAIL,
        address="john@example.com",
        reason="unsubscribe request",
    )


def test_spam_complaint(inbound: PostmarkInbound) -> None:
    assert only(inbound.parse(raw("spam-complaint")), "SpamComplaint") == ev.OptedOut(
        source="postmark",
        occurred_at=AT,
        customer=None,
        channel=ev.EMAIL,
        address="john@example.com",
        reason="spam complaint",
    )


def test_open(inbound: PostmarkInbound) -> None:
    assert only(inbound.parse(raw("open")), "Open") == ev.MessageEngaged(
        source="postmark",
        occurred_at=AT,
        customer=None,
        channel=ev.EMAIL,
        provider_message_id=VENDOR_MESSAGE,
        action="opened",
        address="john@example.com",
        url=None,
    )


def test_click(inbound: PostmarkInbound) -> None:
    engaged = only(inbound.parse(raw("click")), "Click")
    assert isinstance(engaged, ev.MessageEngaged)
    assert (engaged.action, engaged.url, engaged.provider_message_id, engaged.address) == (
        "clicked",
        "https://yourdomain.com/pricing",
        VENDOR_MESSAGE,
        "john@example.com",
    )


def test_subscription_change(inbound: PostmarkInbound) -> None:
    """SuppressSending true: an opt-out with Postmark's reason."""
    assert only(inbound.parse(raw("subscription-change")), "SubscriptionChange") == ev.OptedOut(
        source="postmark",
        occurred_at=AT,
        customer=None,
        channel=ev.EMAIL,
        address="john@example.com",
        reason="suppressed: ManualSuppression",
    )


def test_subscription_change_reactivated_is_an_opt_in(inbound: PostmarkInbound) -> None:
    data = load("subscription-change") | {"SuppressSending": False, "SuppressionReason": None}
    change = only(inbound.parse(encode(data)), "SubscriptionChange")
    assert isinstance(change, ev.OptedIn)
    assert (change.address, change.reason) == ("john@example.com", "reactivated")


def test_unknown_record_type_is_ignored(inbound: PostmarkInbound) -> None:
    parsed = inbound.parse(encode({"RecordType": "Inbound", "MessageID": "x"}))
    assert (parsed.event_type, parsed.events, parsed.ignored) == ("Inbound", (), "record type not used by fieldrelay")


# --- credentials ---------------------------------------------------------------------------------------


def test_credentials_good(inbound: PostmarkInbound) -> None:
    assert inbound.verify(delivery(lower(basic()), raw("delivery")), NOW) is None


def test_credentials_scheme_is_case_insensitive(inbound: PostmarkInbound) -> None:
    header = basic()["Authorization"].replace("Basic", "basic")
    assert inbound.verify(delivery({"authorization": header}, b"{}"), NOW) is None


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, "missing credentials"),
        ("", "missing credentials"),
        ("Bearer abc", "not HTTP Basic credentials"),
        ("Basic", "not HTTP Basic credentials"),
        ("Basic !!!not-base64!!!", "unreadable credentials"),
        ("Basic é", "unreadable credentials"),
        (basic("fieldrelay:wrong")["Authorization"], "wrong credentials"),
        (basic("other:pm-test-password")["Authorization"], "wrong credentials"),
        (basic(SECRET + "x")["Authorization"], "wrong credentials"),
        (basic("fieldrelay")["Authorization"], "wrong credentials"),
    ],
)
def test_credentials_refused(inbound: PostmarkInbound, authorization: str | None, reason: str) -> None:
    headers = {} if authorization is None else {"authorization": authorization}
    assert inbound.verify(delivery(headers, raw("delivery")), NOW) == reason


@pytest.mark.parametrize("secret", [None, ""])
def test_no_secret_configured_refuses_everything(secret: str | None) -> None:
    assert PostmarkInbound(secret).verify(delivery(lower(basic()), b"{}"), NOW) == "no secret configured"


def test_secret_without_a_colon_refuses_everything() -> None:
    request = delivery(lower(basic("justapassword")), b"{}")
    assert PostmarkInbound("justapassword").verify(request, NOW) == "FIELDRELAY_POSTMARK_SECRET must be user:password"


def test_non_ascii_password_works() -> None:
    secret = "relay:pässwörd"
    header = "Basic " + base64.b64encode(secret.encode()).decode()
    assert PostmarkInbound(secret).verify(delivery({"authorization": header}, b"{}"), NOW) is None


_BASIC = st.binary(max_size=40).map(lambda b: "Basic " + base64.b64encode(b).decode())


@settings(max_examples=200, deadline=None)
@given(authorization=st.one_of(st.none(), st.text(max_size=60), _BASIC))
def test_verify_never_raises(authorization: str | None) -> None:
    headers = {} if authorization is None else {"authorization": authorization}
    result = PostmarkInbound(SECRET).verify(delivery(headers, b"{}"), NOW)
    assert isinstance(result, str) and result


# --- identify -------------------------------------------------------------------------------------------


def test_identify_every_fixture_is_distinct(inbound: PostmarkInbound) -> None:
    """Same message and time in every fixture: the record type keeps them apart."""
    idents = [inbound.identify(p.read_bytes()) for p in FIXTURES.glob("*.json")]
    assert len({i.dedupe_key for i in idents}) == len(idents) == 6
    assert {i.event_type for i in idents} == set(HANDLED_EVENTS)


def test_identify_repeated_opens_and_clicks_are_different_deliveries(inbound: PostmarkInbound) -> None:
    first = inbound.identify(raw("open"))
    assert inbound.identify(encode(load("open") | {"FirstOpen": False, "Platform": "Mobile"})) == first
    later = inbound.identify(encode(load("open") | {"ReceivedAt": "2025-04-05T17:00:00.0000000Z"}))
    assert later.dedupe_key != first.dedupe_key
    other_link = inbound.identify(encode(load("click") | {"OriginalLink": "https://yourdomain.com/other"}))
    assert other_link.dedupe_key != inbound.identify(raw("click")).dedupe_key


def test_identify_without_message_id_hashes_the_record(inbound: PostmarkInbound) -> None:
    data = {"RecordType": "Inbound", "From": "x@example.com"}
    ident = inbound.identify(encode(data))
    assert ident.dedupe_key.startswith("raw:") and ident.event_type == "Inbound"
    assert inbound.identify(json.dumps(dict(reversed(list(data.items())))).encode()) == ident


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not JSON"),
        (b"\xff", "not JSON"),
        (b"[]", "not a JSON object"),
        (b"{}", "missing 'RecordType'"),
        (b'{"RecordType": 5}', "missing 'RecordType'"),
    ],
)
def test_unreadable_records(inbound: PostmarkInbound, body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        inbound.identify(body)
    with pytest.raises(ParseError, match=message):
        inbound.parse(body)


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        ("delivery", {"DeliveredAt": None}, "DeliveredAt: "),
        ("delivery", {"DeliveredAt": "2025-04-05T16:33:54"}, "DeliveredAt has no time zone"),
        ("delivery", {"DeliveredAt": "0001-01-01T00:00:00+05:00"}, "DeliveredAt is out of range"),
        ("bounce", {"MessageID": None}, "MessageID: "),
        ("spam-complaint", {"Email": ""}, "without a usable 'Email'"),
        ("subscription-change", {"SuppressSending": None}, "SuppressSending: "),
        ("subscription-change", {"Recipient": "a" * 300}, "without a usable 'Recipient'"),
        ("click", {"OriginalLink": ["x"]}, "OriginalLink: "),
    ],
)
def test_malformed_records(inbound: PostmarkInbound, name: str, change: dict[str, Any], message: str) -> None:
    with pytest.raises(ParseError, match=message):
        inbound.parse(encode(load(name) | change))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
_TIMES = st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()) | _JSON
_RECORD = st.fixed_dictionaries(
    {"RecordType": st.sampled_from([*HANDLED_EVENTS, "Inbound"]) | _JSON},
    optional={
        "MessageID": st.uuids().map(str) | _JSON,
        "Recipient": st.emails() | _JSON,
        "Email": st.emails() | _JSON,
        "DeliveredAt": _TIMES,
        "BouncedAt": _TIMES,
        "ReceivedAt": _TIMES,
        "ChangedAt": _TIMES,
        "Type": st.sampled_from(["HardBounce", "AutoResponder", "Unsubscribe"]) | _JSON,
        "SuppressSending": _JSON,
        "OriginalLink": _JSON,
        "ID": _JSON,
    },
)


@settings(max_examples=300, deadline=None)
@given(body=st.one_of(_RECORD, _JSON, st.lists(_RECORD, max_size=2)))
def test_any_json_only_ever_raises_parse_error(body: Any) -> None:
    inbound = PostmarkInbound(SECRET)
    raw_body = encode(body)
    (item,) = inbound.split(raw_body)
    try:
        ident = inbound.identify(item)
        assert len(ident.dedupe_key) <= 200 and ident.event_type is not None and len(ident.event_type) <= 100
    except ParseError:
        pass
    try:
        parsed = inbound.parse(item)
        assert parsed.events or parsed.ignored
    except ParseError:
        pass


def test_record_builder_matches_the_fixtures_shape() -> None:
    """The route tests' records carry the fixture fields the parser reads."""
    for kind, fixture in (("Delivery", "delivery"), ("Bounce", "bounce"), ("Open", "open")):
        assert set(load(fixture)) >= set(record(kind, AT)) - {"ID", "FirstOpen"}
