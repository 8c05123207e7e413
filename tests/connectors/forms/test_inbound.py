"""Forms inbound: one test per fixture, per-form tokens, body sniffing, identify and malformed submissions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldrelay.connectors.forms.auth import parse_tokens
from fieldrelay.connectors.forms.inbound import NO_CONTACT, FormsInbound
from fieldrelay.domain import events as ev
from fieldrelay.rules.config import FormSettings, FormsSettings
from fieldrelay.service.ports import Parsed, ParseError
from tests.connectors.forms.support import FORMS_SECRET, MARKET_TOKEN, WEBSITE_TOKEN, fixture
from tests.helpers import delivery

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
FORMS = FormsSettings(
    forms=[FormSettings(id="website", source="web_form"), FormSettings(id="marketplace", source="marketplace")],
    honeypot_field="website_url",
    rate_limit_per_minute=5,
)


@pytest.fixture
def inbound() -> FormsInbound:
    """The connector with both forms, the shop's zone and a fixed clock for submissions without a time."""
    return FormsInbound(FORMS_SECRET, FORMS, "US", "America/Chicago", clock=lambda: NOW)


def lead_of(parsed: Parsed) -> ev.LeadReceived:
    """The single LeadReceived of a submission."""
    assert parsed.event_type == "form.submitted"
    assert parsed.ignored is None
    (lead,) = parsed.events
    assert isinstance(lead, ev.LeadReceived)
    assert lead.source == "forms"
    assert lead.occurred_at.tzinfo is not None
    return lead


def form_body(**fields: str) -> bytes:
    """A form-encoded body."""
    return urlencode(fields).encode()


# --- one test per fixture ------------------------------------------------------------------------------


def test_web_form(inbound: FormsInbound) -> None:
    lead = lead_of(inbound.parse(fixture("web-form.json")))
    assert lead.occurred_at == datetime(2026, 11, 2, 14, 41, tzinfo=UTC)
    assert (lead.lead_ref, lead.channel, lead.service, lead.referral_code) == (
        "sub_20261102_0001",
        "web_form",
        "Water heater repair",
        "NEIGHBOR25",
    )
    assert lead.notes == "No hot water since this morning. Gate code 4411."
    assert lead.customer == ev.CustomerSnapshot(
        external_id="website:sub_20261102_0001",
        first_name="Maria",
        last_name="Alvarez",
        phones=("(512) 555-0142",),
        emails=("Maria.Alvarez@Example.com",),
        address=ev.Address(street="4821 Bluebonnet Ln, Austin, TX 78745"),
        lead_source="web_form",
    )
    assert inbound.identify(fixture("web-form.json")).event_type == "form.submitted"


def test_web_form_urlencoded(inbound: FormsInbound) -> None:
    """No submission id and no time: the parse time stands in, ids are hashes; the source field names the channel."""
    body = fixture("web-form-urlencoded.txt")
    lead = lead_of(inbound.parse(body))
    assert lead.occurred_at == NOW
    assert lead.channel == "google_ads"
    assert lead.lead_ref == inbound.identify(body).dedupe_key
    assert lead.lead_ref.startswith("h:")
    customer = lead.customer
    assert customer is not None and customer.external_id.startswith("h:")
    assert (customer.first_name, customer.last_name, customer.phones, customer.emails) == (
        "Dwayne",
        "Okafor",
        ("737-555-0199",),
        (),
    )
    assert customer.address == ev.Address(street="1200 Barton Springs Rd, Austin, TX 78704")
    assert (lead.service, lead.notes, lead.referral_code) == ("Drain cleaning", "Kitchen sink backing up", None)


def test_marketplace_lead(inbound: FormsInbound) -> None:
    lead = lead_of(inbound.parse(fixture("marketplace-lead.json")))
    assert lead.occurred_at == datetime(2026, 11, 2, 14, 12, 9, tzinfo=UTC)
    assert (lead.channel, lead.lead_ref) == ("angi", "angi-7781234")
    assert lead.customer == ev.CustomerSnapshot(
        external_id="marketplace:angi-7781234",
        first_name="Keisha",
        last_name="Brown",
        phones=("+1 512 555 0177",),
        emails=("keisha.brown@example.net",),
        address=ev.Address(street="77 Rainey St", unit="Apt 1208", city="Austin", state="TX", postal_code="78701"),
        lead_source="angi",
    )


def test_marketplace_lead_without_source_takes_the_forms_configured_source(inbound: FormsInbound) -> None:
    data = json.loads(fixture("marketplace-lead.json"))
    del data["source"]
    assert lead_of(inbound.parse(json.dumps(data).encode())).channel == "marketplace"


def test_honeypot_filled(inbound: FormsInbound) -> None:
    parsed = inbound.parse(fixture("honeypot-filled.txt"))
    assert (parsed.event_type, parsed.events, parsed.ignored) == ("form.submitted", (), "honeypot filled: likely spam")


@pytest.mark.parametrize("value", ["x", ["x"], {"a": 1}, 1, True])
def test_honeypot_filled_with_any_json_value(inbound: FormsInbound, value: Any) -> None:
    body = json.dumps({"form": "website", "email": "a@b.co", "website_url": value}).encode()
    assert inbound.parse(body).ignored == "honeypot filled: likely spam"


@pytest.mark.parametrize("value", ["", "  ", None])
def test_honeypot_empty_is_not_spam(inbound: FormsInbound, value: Any) -> None:
    body = json.dumps({"form": "website", "email": "a@b.co", "website_url": value}).encode()
    assert lead_of(inbound.parse(body)).customer is not None


def test_no_contact(inbound: FormsInbound) -> None:
    with pytest.raises(
        ParseError, match=r"^a lead needs a phone or an email \(the phone given is not a valid number\)$"
    ):
        inbound.parse(fixture("no-contact.json"))
    # It is still identified, so the route stores it and the worker puts it in the error queue.
    assert inbound.identify(fixture("no-contact.json")).event_type == "form.submitted"


@pytest.mark.parametrize(
    "fields",
    [{"name": "Sam"}, {"phone": "555"}, {"email": "not-an-email"}, {"phone": "", "email": " "}],
)
def test_no_usable_contact_is_a_parse_error(inbound: FormsInbound, fields: dict[str, str]) -> None:
    with pytest.raises(ParseError, match=f"^{NO_CONTACT}"):
        inbound.parse(form_body(form="website", **fields))


def test_email_alone_or_phone_alone_is_enough(inbound: FormsInbound) -> None:
    assert lead_of(inbound.parse(form_body(form="website", email="pat@example.com"))).customer is not None
    assert lead_of(inbound.parse(form_body(form="website", phone="+1 512 555 0142"))).customer is not None


# --- fields ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("Cher", "Cher", None),
        ("  Mary   Ann  van der Berg ", "Mary", "Ann van der Berg"),
    ],
)
def test_name_split(inbound: FormsInbound, name: str, first: str, last: str | None) -> None:
    customer = lead_of(inbound.parse(form_body(form="website", email="a@b.co", name=name))).customer
    assert customer is not None and (customer.first_name, customer.last_name) == (first, last)


def test_explicit_first_and_last_name_win(inbound: FormsInbound) -> None:
    body = form_body(form="website", email="a@b.co", name="Ignored Name", first_name="Ana", last_name="Lima")
    customer = lead_of(inbound.parse(body)).customer
    assert customer is not None and (customer.first_name, customer.last_name) == ("Ana", "Lima")


def test_notes_also_read_from_message(inbound: FormsInbound) -> None:
    assert lead_of(inbound.parse(form_body(form="website", email="a@b.co", message="Hi"))).notes == "Hi"


@pytest.mark.parametrize(
    ("submitted_at", "expected"),
    [
        ("2026-11-02T09:30:00Z", datetime(2026, 11, 2, 9, 30, tzinfo=UTC)),
        ("2026-11-02T09:30:00+02:00", datetime(2026, 11, 2, 7, 30, tzinfo=UTC)),
        ("2026-11-02T09:30:00", datetime(2026, 11, 2, 15, 30, tzinfo=UTC)),  # naive: the shop's zone (CST)
        ("2026-07-01 09:30", datetime(2026, 7, 1, 14, 30, tzinfo=UTC)),  # naive in summer: CDT
    ],
)
def test_submitted_at(inbound: FormsInbound, submitted_at: str, expected: datetime) -> None:
    lead = lead_of(inbound.parse(form_body(form="website", email="a@b.co", submitted_at=submitted_at)))
    assert lead.occurred_at == expected and lead.occurred_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("submitted_at", "message"),
    [("yesterday", "not an ISO 8601 time"), ("0001-01-01T00:00:00+05:00", "out of range")],
)
def test_bad_submitted_at_is_a_parse_error(inbound: FormsInbound, submitted_at: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        inbound.parse(form_body(form="website", email="a@b.co", submitted_at=submitted_at))


def test_external_id_without_submission_id_hashes_form_contact_and_time(inbound: FormsInbound) -> None:
    def external(**fields: str) -> str:
        customer = lead_of(inbound.parse(form_body(**fields))).customer
        assert customer is not None
        return customer.external_id

    base = {
        "form": "website",
        "phone": "(512) 555-0142",
        "email": "Pat@Example.com",
        "submitted_at": "2026-11-02T09:00Z",
    }
    same_contact_other_format = base | {"phone": "512.555.0142", "email": "pat@example.com", "name": "Pat"}
    assert external(**base) == external(**same_contact_other_format)
    assert external(**base) != external(**(base | {"submitted_at": "2026-11-02T09:01Z"}))
    assert external(**base) != external(**(base | {"form": "marketplace"}))


def test_long_submission_ids_are_hashed_into_the_external_id(inbound: FormsInbound) -> None:
    customer = lead_of(inbound.parse(form_body(form="marketplace", email="a@b.co", submission_id="s" * 90))).customer
    assert customer is not None and customer.external_id.startswith("s:") and len(customer.external_id) <= 100


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "x" * 201}, "name: String should have at most 200 characters"),
        ({"first_name": "x" * 101}, "first_name: "),
        ({"name": "x" * 150}, "name part longer than 100"),
        ({"zip": "1" * 21}, "zip: "),
        ({"first_name": "x" * 100, "last_name": "y" * 100}, "name longer than 200"),
    ],
)
def test_oversized_fields_are_parse_errors(inbound: FormsInbound, fields: dict[str, str], message: str) -> None:
    with pytest.raises(ParseError, match=message):
        inbound.parse(form_body(form="website", email="a@b.co", **fields))


@pytest.mark.parametrize("value", [["a"], {"a": 1}, True])
def test_non_text_json_fields_are_parse_errors(inbound: FormsInbound, value: Any) -> None:
    body = json.dumps({"form": "website", "email": "a@b.co", "name": value}).encode()
    with pytest.raises(ParseError, match="field 'name' must be text"):
        inbound.parse(body)


def test_numbers_in_json_are_read_as_text(inbound: FormsInbound) -> None:
    body = json.dumps({"form": "website", "phone": 5125550142, "submission_id": 42}).encode()
    lead = lead_of(inbound.parse(body))
    assert lead.lead_ref == "42" and lead.customer is not None and lead.customer.phones == ("5125550142",)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "not a JSON object"),
        (b"{not json", "body is not JSON"),
        (b"{" * 100_000, "body is not JSON"),
        ("&".join(f"f{i}=1" for i in range(600)).encode(), "not form-encoded"),
    ],
)
def test_unreadable_bodies(inbound: FormsInbound, body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        inbound.identify(body)
    with pytest.raises(ParseError, match=message):
        inbound.parse(body)


def test_repeated_form_field_keeps_the_first_non_blank_value(inbound: FormsInbound) -> None:
    lead = lead_of(inbound.parse(b"form=website&email=&email=first%40x.co&email=second%40x.co"))
    assert lead.customer is not None and lead.customer.emails == ("first@x.co",)


# --- identify -------------------------------------------------------------------------------------------


def test_identify_by_submission_id_per_form(inbound: FormsInbound) -> None:
    one = inbound.identify(form_body(form="website", submission_id="7", email="a@b.co"))
    again = inbound.identify(form_body(submission_id="7", form="website", email="changed@b.co"))
    other_form = inbound.identify(form_body(form="marketplace", submission_id="7", email="a@b.co"))
    assert one == again and one.dedupe_key.startswith("id:")
    assert other_form.dedupe_key != one.dedupe_key


def test_identify_without_submission_id_hashes_the_body(inbound: FormsInbound) -> None:
    body = fixture("web-form-urlencoded.txt")
    assert inbound.identify(body).dedupe_key == inbound.identify(bytes(body)).dedupe_key
    assert inbound.identify(body + b"&x=1").dedupe_key != inbound.identify(body).dedupe_key


# --- tokens ---------------------------------------------------------------------------------------------


def test_parse_tokens_drops_unknown_forms_and_unreadable_entries() -> None:
    tokens = parse_tokens(" website = a ,, marketplace=b=c, ghost=z, broken, =x, angi= ", ["website", "marketplace"])
    assert tokens == {"website": "a", "marketplace": "b=c"}


def _request(body: bytes, **headers: str) -> Any:
    return delivery({k.replace("_", "-").lower(): v for k, v in headers.items()}, body)


def test_token_by_bearer_and_form_in_body(inbound: FormsInbound) -> None:
    request = _request(fixture("web-form.json"), authorization=f"Bearer {WEBSITE_TOKEN}")
    assert inbound.verify(request, NOW) is None


def test_token_by_header_and_form_by_header(inbound: FormsInbound) -> None:
    body = form_body(email="a@b.co")
    request = _request(body, x_fieldrelay_form="marketplace", x_fieldrelay_form_token=MARKET_TOKEN)
    assert inbound.verify(request, NOW) is None


def test_bearer_scheme_is_case_insensitive(inbound: FormsInbound) -> None:
    request = _request(fixture("web-form.json"), authorization=f"bearer {WEBSITE_TOKEN}")
    assert inbound.verify(request, NOW) is None


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (b'{"form": "website"}', {"authorization": "Bearer wrong"}, "bad form token"),
        (b'{"form": "website"}', {"authorization": f"Bearer {MARKET_TOKEN}"}, "bad form token"),
        (b'{"form": "website"}', {"x-fieldrelay-form-token": WEBSITE_TOKEN + "x"}, "bad form token"),
        (b'{"form": "website"}', {"authorization": "Bearer é"}, "bad form token"),
        (b'{"form": "website"}', {}, "missing form token"),
        (b'{"form": "website"}', {"authorization": f"Basic {WEBSITE_TOKEN}"}, "missing form token"),
        (b'{"form": "ghost"}', {"authorization": "Bearer tok-ghost"}, "unknown form"),
        (b'{"form": "nope"}', {"authorization": f"Bearer {WEBSITE_TOKEN}"}, "unknown form"),
        (b'{"email": "a@b.co"}', {"authorization": f"Bearer {WEBSITE_TOKEN}"}, "missing form id"),
        (b"\xff", {"authorization": f"Bearer {WEBSITE_TOKEN}"}, "missing form id"),
        (
            b'{"form": "website"}',
            {"authorization": f"Bearer {MARKET_TOKEN}", "x-fieldrelay-form": "marketplace"},
            "form id in header and body differ",
        ),
    ],
)
def test_refused(inbound: FormsInbound, body: bytes, headers: dict[str, str], reason: str) -> None:
    assert inbound.verify(delivery(headers, body), NOW) == reason


@pytest.mark.parametrize("secret", [None, "", "  "])
def test_no_secret_configured_refuses_everything(secret: str | None) -> None:
    connector = FormsInbound(secret, FORMS)
    request = _request(fixture("web-form.json"), authorization=f"Bearer {WEBSITE_TOKEN}")
    assert connector.verify(request, NOW) == "no secret configured"


def test_rate_limit_comes_from_settings() -> None:
    assert FormsInbound(FORMS_SECRET, FORMS).rate_limit_per_minute == 5


_TEXT = st.text(max_size=30)


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=200),
    headers=st.dictionaries(st.sampled_from(["authorization", "x-fieldrelay-form", "x-fieldrelay-form-token"]), _TEXT),
)
def test_verify_never_raises(body: bytes, headers: dict[str, str]) -> None:
    result = FormsInbound(FORMS_SECRET, FORMS).verify(delivery(headers, body), NOW)
    assert result is None or (isinstance(result, str) and result)


# --- any body -------------------------------------------------------------------------------------------

_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), _TEXT, st.lists(_TEXT, max_size=2))
_FIELD_NAMES = (
    st.sampled_from(
        [
            "form",
            "form_id",
            "submission_id",
            "submitted_at",
            "name",
            "first_name",
            "last_name",
            "phone",
            "email",
            "address",
            "street",
            "city",
            "state",
            "zip",
            "service",
            "notes",
            "source",
            "referral_code",
            "website_url",
        ]
    )
    | _TEXT
)
_SUBMISSION = st.dictionaries(_FIELD_NAMES, _VALUES | st.emails() | st.sampled_from(["+1 512 555 0142", "website"]))


def _form_encoded(data: dict[str, Any]) -> bytes:
    return urlencode({k: "" if v is None else str(v) for k, v in data.items()}).encode()


@settings(max_examples=300, deadline=None)
@given(body=st.one_of(_SUBMISSION.map(lambda d: json.dumps(d).encode()), _SUBMISSION.map(_form_encoded), st.binary()))
def test_any_body_only_ever_raises_parse_error(body: bytes) -> None:
    inbound = FormsInbound(FORMS_SECRET, FORMS, "US", "America/Chicago", clock=lambda: NOW)
    try:
        ident = inbound.identify(body)
        assert len(ident.dedupe_key) <= 200
    except ParseError:
        pass
    try:
        parsed = inbound.parse(body)
        assert parsed.events or parsed.ignored
    except ParseError:
        pass


def test_fixture_times_are_what_the_readme_says() -> None:
    """web-form.json is 08:41 in Austin (CST, -06:00)."""
    at = datetime.fromisoformat(json.loads(fixture("web-form.json"))["submitted_at"])
    assert at.utcoffset() == timezone(timedelta(hours=-6)).utcoffset(None)
