"""SendGrid outbound: the v3 Mail Send call, answered by a stand-in for SendGrid injected as ``httpx.MockTransport``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine

from fieldrelay.connectors.registry import EMAIL
from fieldrelay.connectors.sendgrid.outbound import API_KEY_ENV, SendGridEmailSender
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.rules.loader import parse_settings
from fieldrelay.rules.messaging import Email, SendGridSending
from fieldrelay.rules.secrets import sendgrid_api_key
from fieldrelay.service.ports import EmailRequest, SendFailed, SendResult
from fieldrelay.storage.dev_sink import SqlDevSink
from tests.helpers import RecordingVendor

API_KEY = "SG.test-key.0123456789"
MESSAGE_ID = "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"
SENDER = Email(
    from_address="office@rapidrooter.example", from_name="Rapid Rooter Plumbing", reply_to="help@rapidrooter.example"
)
UNSUBSCRIBE = "https://relay.example.com/u/abc123"

Handler = Callable[[httpx.Request], httpx.Response]


class FakeSendGrid(RecordingVendor):
    """Answers with ``handler`` and keeps every request it saw."""

    @property
    def body(self) -> Any:
        """The JSON body of the one request."""
        (request,) = self.requests
        return json.loads(request.content)


def accepted(_request: httpx.Request) -> httpx.Response:
    """SendGrid's documented success: 202, no body, the id in X-Message-Id."""
    return httpx.Response(202, headers={"X-Message-Id": MESSAGE_ID})


def refused(status: int, body: Any = None, text: str | None = None) -> Handler:
    if text is not None:
        return lambda _request: httpx.Response(status, text=text)
    return lambda _request: httpx.Response(status, json=body)


def raising(error: Exception) -> Handler:
    def handler(_request: httpx.Request) -> httpx.Response:
        raise error

    return handler


def email(**changes: Any) -> EmailRequest:
    values: dict[str, Any] = {
        "to": "pat.doe@example.com",
        "subject": "Your water heater is installed",
        "body": "Hi Pat,\nthanks for choosing Rapid Rooter.",
        "idempotency_key": "seq:e1:thank_you",
        "account_id": "default",
    }
    return EmailRequest(**(values | changes))


def make_sender(
    handler: Handler,
    clock: SimulatedClock,
    sender: Email = SENDER,
    base_url: str = "https://api.sendgrid.com",
) -> tuple[SendGridEmailSender, FakeSendGrid]:
    fake = FakeSendGrid(handler)
    config = SendGridSending(api_base_url=base_url)
    return SendGridEmailSender(config, sender, API_KEY, clock, transport=httpx.MockTransport(fake)), fake


# --- the request ------------------------------------------------------------------------------------------------


def test_send_posts_the_documented_body_with_bearer_auth(clock: SimulatedClock) -> None:
    sender, fake = make_sender(accepted, clock)

    sender.send(email())

    (request,) = fake.requests
    assert request.method == "POST"
    assert str(request.url) == "https://api.sendgrid.com/v3/mail/send"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["Content-Type"] == "application/json"
    assert fake.body == {
        "personalizations": [{"to": [{"email": "pat.doe@example.com"}]}],
        "from": {"email": "office@rapidrooter.example", "name": "Rapid Rooter Plumbing"},
        "reply_to": {"email": "help@rapidrooter.example"},
        "subject": "Your water heater is installed",
        "content": [{"type": "text/plain", "value": "Hi Pat,\nthanks for choosing Rapid Rooter."}],
        "custom_args": {"fieldrelay_key": "seq:e1:thank_you"},
        "categories": ["transactional"],
    }


def test_marketing_with_an_unsubscribe_url_carries_one_click_unsubscribe_headers(clock: SimulatedClock) -> None:
    sender, fake = make_sender(accepted, clock)

    sender.send(email(category="marketing", unsubscribe_url=UNSUBSCRIBE))

    assert fake.body["categories"] == ["marketing"]
    assert fake.body["headers"] == {
        "List-Unsubscribe": f"<{UNSUBSCRIBE}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


@pytest.mark.parametrize(
    "request_",
    [email(unsubscribe_url=UNSUBSCRIBE), email(category="marketing")],
    ids=["transactional-with-url", "marketing-without-url"],
)
def test_no_unsubscribe_headers_otherwise(clock: SimulatedClock, request_: EmailRequest) -> None:
    sender, fake = make_sender(accepted, clock)

    sender.send(request_)

    assert "headers" not in fake.body


def test_without_a_from_name_or_reply_to_they_are_left_out(clock: SimulatedClock) -> None:
    sender, fake = make_sender(accepted, clock, sender=Email(from_address="office@rapidrooter.example"))

    sender.send(email())

    assert fake.body["from"] == {"email": "office@rapidrooter.example"}
    assert "reply_to" not in fake.body


def test_the_configured_base_url_is_used(clock: SimulatedClock) -> None:
    sender, fake = make_sender(accepted, clock, base_url="http://127.0.0.1:8025/sendgrid/")

    sender.send(email())

    assert str(fake.requests[0].url) == "http://127.0.0.1:8025/sendgrid/v3/mail/send"


# --- the answer -------------------------------------------------------------------------------------------------


def test_202_is_queued_under_the_x_message_id(clock: SimulatedClock) -> None:
    sender, _fake = make_sender(accepted, clock)

    result = sender.send(email())

    assert result == SendResult(provider_message_id=MESSAGE_ID, status="queued", at=clock.now())


def test_202_without_x_message_id_is_still_a_success(clock: SimulatedClock) -> None:
    """Accepted is accepted: failing here would make the worker send the email a second time."""
    sender, _fake = make_sender(lambda _request: httpx.Response(202), clock)

    result = sender.send(email())

    assert result == SendResult(provider_message_id="", status="queued", at=clock.now())


def test_400_is_final_and_carries_the_first_error_message(clock: SimulatedClock) -> None:
    body = {
        "errors": [
            {
                "message": "Does not contain a valid address.",
                "field": "personalizations.0.to.0.email",
                "help": "https://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message.personalizations.to",
            },
            {"message": "The subject is required.", "field": "subject", "help": None},
        ]
    }
    sender, _fake = make_sender(refused(400, body), clock)

    with pytest.raises(SendFailed) as caught:
        sender.send(email())

    assert caught.value.retryable is False
    assert caught.value.status_code == 400
    assert caught.value.error_code is None
    assert str(caught.value) == (
        "SendGrid 400: Does not contain a valid address. (field personalizations.0.to.0.email)"
    )


def test_401_is_final_and_does_not_leak_the_key(clock: SimulatedClock) -> None:
    body = {
        "errors": [
            {"field": None, "message": "The provided authorization grant is invalid, expired, or revoked", "help": None}
        ]
    }
    sender, _fake = make_sender(refused(401, body), clock)

    with pytest.raises(SendFailed) as caught:
        sender.send(email())

    assert caught.value.retryable is False
    assert caught.value.status_code == 401
    assert str(caught.value) == "SendGrid 401: The provided authorization grant is invalid, expired, or revoked"
    assert API_KEY not in str(caught.value)


@pytest.mark.parametrize("status", [403, 413])
def test_other_refusals_are_final(clock: SimulatedClock, status: int) -> None:
    body = {"errors": [{"message": "refused", "field": None, "help": None}]}
    sender, _fake = make_sender(refused(status, body), clock)

    with pytest.raises(SendFailed) as caught:
        sender.send(email())

    assert caught.value.retryable is False
    assert caught.value.status_code == status
    assert str(caught.value) == f"SendGrid {status}: refused"


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
def test_throttling_and_server_errors_are_retryable(clock: SimulatedClock, status: int) -> None:
    body = {"errors": [{"message": "try again", "field": None, "help": None}]}
    sender, _fake = make_sender(refused(status, body), clock)

    with pytest.raises(SendFailed) as caught:
        sender.send(email())

    assert caught.value.retryable is True
    assert caught.value.status_code == status


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("<html><body>502 Bad Gateway</body></html>", "<html><body>502 Bad Gateway</body></html>"),
        ('{"errors": []}', '{"errors": []}'),
        ('{"errors": [{"field": "x"}]}', '{"errors": [{"field": "x"}]}'),
        ("[1, 2]", "[1, 2]"),
        ("", "Internal Server Error"),
    ],
    ids=["html", "empty-errors", "no-message", "a-list", "empty"],
)
def test_a_500_without_sendgrids_error_body_keeps_what_it_said(clock: SimulatedClock, text: str, detail: str) -> None:
    sender, _fake = make_sender(refused(500, text=text), clock)

    with pytest.raises(SendFailed) as caught:
        sender.send(email())

    assert caught.value.retryable is True
    assert str(caught.value) == f"SendGrid 500: {detail}"


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("connection refused"),
        httpx.ConnectTimeout("timed out"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("server disconnected without sending a response"),
    ],
    ids=["connect", "connect-timeout", "read-timeout", "disconnected"],
)
def test_network_errors_and_timeouts_are_retryable(clock: SimulatedClock, error: Exception) -> None:
    sender, _fake = make_sender(raising(error), clock)

    with pytest.raises(SendFailed) as caught:
        sender.send(email())

    assert caught.value.retryable is True
    assert caught.value.status_code is None
    assert str(caught.value).startswith("SendGrid unreachable:")


def test_lookup_cannot_tell(clock: SimulatedClock) -> None:
    sender, fake = make_sender(accepted, clock)
    sender.send(email())

    assert sender.lookup(email(), since=clock.now()) is None
    assert len(fake.requests) == 1  # lookup asks SendGrid nothing


# --- construction and the registry ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, ""], ids=["unset", "empty"])
def test_a_missing_api_key_is_refused_naming_the_variable(clock: SimulatedClock, key: str | None) -> None:
    with pytest.raises(ValueError, match=API_KEY_ENV):
        SendGridEmailSender(SendGridSending(), SENDER, key, clock)


SENDGRID_EMAIL_YAML = """
account_id: default
business:
  name: Rapid Rooter Plumbing
messaging:
  email_provider: sendgrid
  sendgrid: {api_base_url: "http://127.0.0.1:9"}
  email: {from_address: office@rapidrooter.example, from_name: Rapid Rooter Plumbing}
"""


def test_registry_builds_the_sendgrid_sender_from_settings_and_environment(
    clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(API_KEY_ENV, f"  {API_KEY}\n")
    settings = parse_settings(SENDGRID_EMAIL_YAML)
    engine = create_engine("sqlite://")
    try:
        sender = EMAIL[settings.messaging.email_provider](SqlDevSink(engine), clock, settings)
    finally:
        engine.dispose()

    assert isinstance(sender, SendGridEmailSender)
    assert sender.name == "sendgrid"
    assert sendgrid_api_key() == API_KEY  # read as the other secrets are: surrounding whitespace dropped
    sender.close()


def test_registry_refuses_sendgrid_without_the_api_key(clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    engine = create_engine("sqlite://")
    try:
        with pytest.raises(ValueError, match=API_KEY_ENV):
            EMAIL["sendgrid"](SqlDevSink(engine), clock, parse_settings(SENDGRID_EMAIL_YAML))
    finally:
        engine.dispose()
