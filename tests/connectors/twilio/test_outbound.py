"""Twilio outbound: the official SDK over httpx, a stand-in for Twilio injected as ``httpx.MockTransport``."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from sqlalchemy import create_engine

from fieldrelay.connectors.registry import SMS
from fieldrelay.connectors.twilio.http import HttpxTwilioClient
from fieldrelay.connectors.twilio.outbound import (
    ACCOUNT_SID_ENV,
    AUTH_TOKEN_ENV,
    CLOCK_SKEW,
    LOOKUP_LIMIT,
    TwilioSmsSender,
    twilio_sender,
)
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.rules.loader import parse_settings
from fieldrelay.rules.messaging import TwilioSending
from fieldrelay.service.ports import SendFailed, SendResult, SmsRequest
from fieldrelay.storage.dev_sink import SqlDevSink
from tests.connectors.twilio.support import FIXTURES, TWILIO_TOKEN
from tests.helpers import RecordingVendor

CREATE_RESPONSE: dict[str, Any] = json.loads(
    (FIXTURES / "outbound" / "message-resource.create-response.json").read_text(encoding="utf-8")
)
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
FROM_NUMBER = "+15017122661"
SERVICE_SID = "MG" + "fedcba9876543210" * 2
TO = CREATE_RESPONSE["to"]
BODY = CREATE_RESPONSE["body"]
CALLBACK = "https://relay.example.com/webhooks/twilio"
MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
# The fixture's message was created at 20:12:31; the outbox row that asked for it, a little before.
ROW_CREATED = datetime(2015, 7, 30, 20, 12, 0, tzinfo=UTC)

Handler = Callable[[httpx.Request], httpx.Response]


class FakeTwilio(RecordingVendor):
    """Answers the SDK's requests with ``handler`` and keeps every request it saw."""

    @property
    def form(self) -> dict[str, list[str]]:
        """The form body of the last request."""
        return parse_qs(self.requests[-1].content.decode(), keep_blank_values=True)

    @property
    def query(self) -> dict[str, list[str]]:
        """The query parameters of the last request."""
        return parse_qs(self.requests[-1].url.query.decode(), keep_blank_values=True)


def created(body: dict[str, Any] | None = None) -> Handler:
    """Twilio answering a create with 201 and a Message resource (the vendor's example unless told)."""
    return lambda _request: httpx.Response(201, json=CREATE_RESPONSE if body is None else body)


def listing(*messages: dict[str, Any]) -> Handler:
    """Twilio answering a list with one page in its documented shape (Read multiple Message resources)."""
    page = {
        "end": max(len(messages) - 1, 0),
        "first_page_uri": f"{MESSAGES_PATH}?To=%2B15558675310&PageSize=50&Page=0",
        "next_page_uri": None,
        "page": 0,
        "page_size": LOOKUP_LIMIT,
        "previous_page_uri": None,
        "start": 0,
        "uri": f"{MESSAGES_PATH}?To=%2B15558675310&PageSize=50&Page=0",
        "messages": list(messages),
    }
    return lambda _request: httpx.Response(200, json=page)


def message(**changes: Any) -> dict[str, Any]:
    """The vendor's example Message resource with some fields changed."""
    return copy.deepcopy(CREATE_RESPONSE) | changes


def rfc2822(moment: datetime) -> str:
    """A time as Twilio writes ``date_created``."""
    return moment.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


def sms(body: str = BODY) -> SmsRequest:
    return SmsRequest(to=TO, body=body, idempotency_key="sms:m1", account_id="default")


def make_sender(
    handler: Handler,
    clock: SimulatedClock,
    from_number: str | None = FROM_NUMBER,
    service_sid: str | None = None,
    base_url: str = "https://api.twilio.com",
    callback: str | None = CALLBACK,
) -> tuple[TwilioSmsSender, FakeTwilio]:
    fake = FakeTwilio(handler)
    settings = TwilioSending(from_number=from_number, messaging_service_sid=service_sid, api_base_url=base_url)
    transport = httpx.MockTransport(fake)
    return TwilioSmsSender(settings, ACCOUNT_SID, TWILIO_TOKEN, clock, transport, status_callback_url=callback), fake


# --- send -------------------------------------------------------------------------------------------------------


def test_message_resource_create_response_becomes_the_send_result(clock: SimulatedClock) -> None:
    """The vendor's example answer: its SID is kept, its status ("sent") read, the time is ours."""
    sender, _fake = make_sender(created(), clock)

    result = sender.send(sms())

    assert result == SendResult(provider_message_id="SMXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", status="sent", at=clock.now())


def test_send_posts_the_form_twilio_documents_with_basic_auth(clock: SimulatedClock) -> None:
    sender, fake = make_sender(created(), clock)

    sender.send(sms())

    request = fake.requests[-1]
    assert request.method == "POST"
    assert request.url.path == MESSAGES_PATH
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert fake.form == {"To": [TO], "Body": [BODY], "From": [FROM_NUMBER], "StatusCallback": [CALLBACK]}
    expected = base64.b64encode(f"{ACCOUNT_SID}:{TWILIO_TOKEN}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"


def test_send_through_a_messaging_service_names_it_instead_of_a_number(clock: SimulatedClock) -> None:
    sender, fake = make_sender(
        created(message(status="accepted")), clock, from_number=None, service_sid=SERVICE_SID, callback=None
    )

    result = sender.send(sms())

    assert fake.form == {"To": [TO], "Body": [BODY], "MessagingServiceSid": [SERVICE_SID]}
    assert result.status == "queued"  # "accepted" (taken by the service) is still queued in our words


@pytest.mark.parametrize(("twilio_status", "ours"), [("queued", "queued"), ("sending", "queued"), ("sent", "sent")])
def test_send_reports_twilios_status_in_our_vocabulary(clock: SimulatedClock, twilio_status: str, ours: str) -> None:
    sender, _fake = make_sender(created(message(status=twilio_status)), clock)

    assert sender.send(sms()).status == ours


def test_every_request_goes_to_the_configured_base_url_with_path_and_query_kept(clock: SimulatedClock) -> None:
    sender, fake = make_sender(created(), clock, base_url="http://127.0.0.1:8765")

    sender.send(sms())
    fake.handler = listing()
    sender.lookup(sms(), ROW_CREATED)

    post, get = fake.requests
    assert str(post.url) == f"http://127.0.0.1:8765{MESSAGES_PATH}"
    assert (get.url.scheme, get.url.host, get.url.port, get.url.path) == ("http", "127.0.0.1", 8765, MESSAGES_PATH)
    assert fake.query == {"To": [TO], "PageSize": [str(LOOKUP_LIMIT)]}


def test_rebase_replaces_only_the_origin() -> None:
    client = HttpxTwilioClient("http://stand-in:9000/prefix/", 5.0)
    try:
        assert (
            client.rebase("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?To=%2B1555&PageSize=50")
            == "http://stand-in:9000/prefix/2010-04-01/Accounts/AC1/Messages.json?To=%2B1555&PageSize=50"
        )
        # An edge or region chosen through TWILIO_EDGE / TWILIO_REGION changes the host: still ours.
        assert client.rebase("https://api.ashburn.us1.twilio.com/x.json") == "http://stand-in:9000/prefix/x.json"
    finally:
        client.close()


def test_base_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError, match="api_base_url"):
        HttpxTwilioClient("api.twilio.com", 5.0)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_throttling_and_server_errors_are_retryable(clock: SimulatedClock, status: int) -> None:
    # Error bodies in the shape Twilio documents (https://www.twilio.com/docs/usage/twilios-response); 20429 is
    # Twilio's "Too Many Requests" code, 20500 its "Internal Server Error".
    error = {"code": 20000 + status, "message": "try later", "more_info": "", "status": status}
    sender, _fake = make_sender(lambda _r: httpx.Response(status, json=error), clock)

    with pytest.raises(SendFailed) as caught:
        sender.send(sms())

    assert caught.value.retryable is True
    assert caught.value.status_code == status


def test_a_server_error_without_a_twilio_body_is_retryable_and_has_no_error_code(clock: SimulatedClock) -> None:
    sender, _fake = make_sender(lambda _r: httpx.Response(502, text="<html>Bad Gateway</html>"), clock)

    with pytest.raises(SendFailed) as caught:
        sender.send(sms())

    assert (caught.value.retryable, caught.value.status_code, caught.value.error_code) == (True, 502, None)


def test_unsubscribed_recipient_21610_is_final_and_carries_the_code(clock: SimulatedClock) -> None:
    # Built from the documented error shape (https://www.twilio.com/docs/usage/twilio-error-codes,
    # https://www.twilio.com/docs/usage/twilios-response): no verbatim example of this answer is published.
    error = {
        "code": 21610,
        "message": "Attempt to send to unsubscribed recipient",
        "more_info": "https://www.twilio.com/docs/errors/21610",
        "status": 400,
    }
    sender, _fake = make_sender(lambda _r: httpx.Response(400, json=error), clock)

    with pytest.raises(SendFailed) as caught:
        sender.send(sms())

    failure = caught.value
    assert (failure.retryable, failure.status_code, failure.error_code) == (False, 400, "21610")
    # The engine records the opt-out from these, under this sender's name: no Twilio code leaves the connector.
    assert (failure.opted_out, failure.reason) == (True, "Twilio error 21610")
    assert "Attempt to send to unsubscribed recipient" in str(failure)
    assert TWILIO_TOKEN not in str(failure)


def test_an_rfc_9457_problem_answer_is_read_too(clock: SimulatedClock) -> None:
    # Twilio's newer APIs answer errors as RFC 9457 problem details, which the SDK raises as another exception type.
    problem = {"type": "https://www.twilio.com/docs/errors/21610", "title": "Unsubscribed recipient", "status": 400}
    sender, _fake = make_sender(lambda _r: httpx.Response(400, json=problem | {"code": 21610}), clock)

    with pytest.raises(SendFailed) as caught:
        sender.send(sms())

    assert (caught.value.retryable, caught.value.status_code, caught.value.error_code) == (False, 400, "21610")


@pytest.mark.parametrize(
    "error", [httpx.ConnectError("connection refused"), httpx.ReadTimeout("timed out")], ids=lambda e: type(e).__name__
)
def test_network_errors_and_timeouts_are_retryable(clock: SimulatedClock, error: httpx.HTTPError) -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise error

    sender, _fake = make_sender(unreachable, clock)

    with pytest.raises(SendFailed) as caught:
        sender.send(sms())

    assert (caught.value.retryable, caught.value.status_code, caught.value.error_code) == (True, None, None)
    assert type(error).__name__ in str(caught.value)


def test_an_unreadable_success_answer_is_retryable(clock: SimulatedClock) -> None:
    sender, _fake = make_sender(lambda _r: httpx.Response(201, text="<html>captive portal</html>"), clock)

    with pytest.raises(SendFailed) as caught:
        sender.send(sms())

    assert caught.value.retryable is True


# --- lookup -----------------------------------------------------------------------------------------------------


def test_lookup_finds_the_message_resource_create_response_in_a_list_page(clock: SimulatedClock) -> None:
    """Reconciling: the vendor's example message, listed for its recipient, is the text already sent."""
    sender, fake = make_sender(listing(CREATE_RESPONSE), clock)

    found = sender.lookup(sms(), since=ROW_CREATED)

    assert found == SendResult(
        provider_message_id=CREATE_RESPONSE["sid"], status="sent", at=datetime(2015, 7, 30, 20, 12, 31, tzinfo=UTC)
    )
    request = fake.requests[-1]
    assert (request.method, request.url.path) == ("GET", MESSAGES_PATH)
    assert fake.query == {"To": [TO], "PageSize": [str(LOOKUP_LIMIT)]}  # no DateSent: queued texts have none


def test_lookup_picks_the_matching_body_among_newer_and_older_messages(clock: SimulatedClock) -> None:
    newest_other = message(sid="SM" + "1" * 32, body="Your tech is on the way", date_created=rfc2822(ROW_CREATED))
    ours = message(sid="SM" + "2" * 32, status="queued", date_sent=None)
    same_body_long_ago = message(sid="SM" + "3" * 32, date_created=rfc2822(ROW_CREATED - timedelta(days=30)))
    sender, _fake = make_sender(listing(newest_other, ours, same_body_long_ago), clock)

    found = sender.lookup(sms(), since=ROW_CREATED)

    assert found is not None
    assert (found.provider_message_id, found.status) == ("SM" + "2" * 32, "queued")


def test_lookup_ignores_a_different_body(clock: SimulatedClock) -> None:
    sender, _fake = make_sender(listing(message(body="Thanks for choosing us!")), clock)

    assert sender.lookup(sms(), since=ROW_CREATED) is None


def test_lookup_ignores_a_message_older_than_the_row_beyond_clock_skew(clock: SimulatedClock) -> None:
    since = datetime(2015, 7, 30, 20, 12, 31, tzinfo=UTC) + CLOCK_SKEW + timedelta(seconds=1)
    sender, _fake = make_sender(listing(CREATE_RESPONSE), clock)

    assert sender.lookup(sms(), since=since) is None


def test_lookup_allows_clock_skew_between_twilio_and_us(clock: SimulatedClock) -> None:
    since = datetime(2015, 7, 30, 20, 12, 31, tzinfo=UTC) + CLOCK_SKEW - timedelta(seconds=1)
    sender, _fake = make_sender(listing(CREATE_RESPONSE), clock)

    assert sender.lookup(sms(), since=since) is not None


def test_lookup_ignores_an_incoming_message_with_the_same_body(clock: SimulatedClock) -> None:
    sender, _fake = make_sender(listing(message(direction="inbound")), clock)

    assert sender.lookup(sms(), since=ROW_CREATED) is None


def test_lookup_on_an_empty_list_finds_nothing(clock: SimulatedClock) -> None:
    sender, _fake = make_sender(listing(), clock)

    assert sender.lookup(sms(), since=ROW_CREATED) is None


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (429, True), (401, False)])
def test_lookup_failures_raise_send_failed(clock: SimulatedClock, status: int, retryable: bool) -> None:
    error = {"code": 20003, "message": "Authenticate", "more_info": "", "status": status}
    sender, _fake = make_sender(lambda _r: httpx.Response(status, json=error), clock)

    with pytest.raises(SendFailed) as caught:
        sender.lookup(sms(), since=ROW_CREATED)

    assert (caught.value.retryable, caught.value.status_code) == (retryable, status)


def test_lookup_when_twilio_is_unreachable_is_retryable(clock: SimulatedClock) -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    sender, _fake = make_sender(unreachable, clock)

    with pytest.raises(SendFailed) as caught:
        sender.lookup(sms(), since=ROW_CREATED)

    assert caught.value.retryable is True


# --- construction and the registry ------------------------------------------------------------------------------

TWILIO_YAML = """
account_id: default
business:
  name: Rapid Rooter Plumbing
messaging:
  sms_provider: twilio
  twilio:
    from_number: "+15005550006"
    api_base_url: http://127.0.0.1:9
"""


@pytest.mark.parametrize(
    ("sid", "token", "missing"),
    [
        (None, TWILIO_TOKEN, [ACCOUNT_SID_ENV]),
        (ACCOUNT_SID, None, [AUTH_TOKEN_ENV]),
        ("", "", [ACCOUNT_SID_ENV, AUTH_TOKEN_ENV]),
    ],
    ids=["no-account-sid", "no-auth-token", "both-empty"],
)
def test_missing_credentials_are_refused_naming_the_environment_variables(
    clock: SimulatedClock, sid: str | None, token: str | None, missing: list[str]
) -> None:
    with pytest.raises(ValueError) as caught:
        TwilioSmsSender(TwilioSending(from_number=FROM_NUMBER), sid, token, clock)

    for name in missing:
        assert name in str(caught.value)


def test_missing_env_credentials_stop_the_factory(clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ACCOUNT_SID_ENV, raising=False)
    monkeypatch.delenv(AUTH_TOKEN_ENV, raising=False)
    engine = create_engine("sqlite://")
    try:
        with pytest.raises(ValueError, match=f"{ACCOUNT_SID_ENV} and {AUTH_TOKEN_ENV}"):
            twilio_sender(SqlDevSink(engine), clock, parse_settings(TWILIO_YAML))
    finally:
        engine.dispose()


def test_a_sender_with_neither_number_nor_service_refuses_to_start(clock: SimulatedClock) -> None:
    with pytest.raises(ValueError, match="exactly one of from_number and messaging_service_sid"):
        TwilioSmsSender(TwilioSending(), ACCOUNT_SID, TWILIO_TOKEN, clock)


def test_registry_builds_the_twilio_sender_from_settings_and_environment(
    clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ACCOUNT_SID_ENV, ACCOUNT_SID)
    monkeypatch.setenv(AUTH_TOKEN_ENV, TWILIO_TOKEN)
    engine = create_engine("sqlite://")
    try:
        sender = SMS["twilio"](SqlDevSink(engine), clock, parse_settings(TWILIO_YAML))
    finally:
        engine.dispose()

    assert isinstance(sender, TwilioSmsSender)
    assert sender.name == "twilio"
    sender.close()


@pytest.mark.parametrize(
    ("base_url", "callback"),
    [
        ("https://relay.example.com/", "https://relay.example.com/webhooks/twilio"),
        (None, None),
    ],
)
def test_the_registry_sender_asks_for_status_callbacks_only_when_a_public_base_url_is_set(
    clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch, base_url: str | None, callback: str | None
) -> None:
    """Twilio reports delivery to our webhook under public_base_url; the URL is built here, not by the engine."""
    monkeypatch.setenv(ACCOUNT_SID_ENV, ACCOUNT_SID)
    monkeypatch.setenv(AUTH_TOKEN_ENV, TWILIO_TOKEN)
    settings = parse_settings(TWILIO_YAML).model_copy(update={"public_base_url": base_url})

    sender = SMS["twilio"](SqlDevSink(create_engine("sqlite://")), clock, settings)

    assert isinstance(sender, TwilioSmsSender)
    assert sender.status_callback_url == callback
    sender.close()
