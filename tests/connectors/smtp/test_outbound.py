"""SMTP outbound: a fake smtplib client records session and message; then the real smtplib against a loopback relay."""

from __future__ import annotations

import inspect
import re
import smtplib
import socketserver
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import parser as email_parser
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import pytest
from sqlalchemy import create_engine

from fieldrelay.connectors.registry import EMAIL
from fieldrelay.connectors.smtp.outbound import PASSWORD_ENV, SmtpEmailSender, connect
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.rules.loader import parse_settings
from fieldrelay.rules.messaging import Email, SmtpSending
from fieldrelay.service.ports import EmailRequest, SendFailed, SendResult
from fieldrelay.storage.dev_sink import SqlDevSink

SENDER = Email(
    from_address="office@rapidrooter.example", from_name="Rapid Rooter Plumbing", reply_to="help@rapidrooter.example"
)
RELAY = SmtpSending(host="smtp.rapidrooter.example", port=587, username="office@rapidrooter.example")
PASSWORD = "relay-password"
UNSUBSCRIBE = "https://relay.example.com/u/abc123"
MESSAGE_ID = re.compile(r"<fieldrelay\.[0-9a-f]{32}@rapidrooter\.example>")


@dataclass
class FakeSmtp:
    """Stands in for ``smtplib.SMTP``: records calls, raises what a test tells it to at a named step."""

    host: str
    port: int
    timeout: float
    implicit_tls: bool
    fail: dict[str, BaseException]
    calls: list[str] = field(default_factory=list)
    sent: list[EmailMessage] = field(default_factory=list)
    tls_context: ssl.SSLContext | None = None
    credentials: tuple[str, str] | None = None

    def _step(self, name: str) -> None:
        self.calls.append(name)
        if name in self.fail:
            raise self.fail[name]

    def starttls(self, *, context: ssl.SSLContext | None = None) -> tuple[int, bytes]:
        self.tls_context = context
        self._step("starttls")
        return 220, b"2.0.0 Ready to start TLS"

    def login(self, user: str, password: str) -> tuple[int, bytes]:
        self.credentials = (user, password)
        self._step("login")
        return 235, b"2.7.0 Authentication successful"

    def send_message(self, msg: EmailMessage) -> dict[str, tuple[int, bytes]]:
        self._step("send_message")
        self.sent.append(msg)
        return {}

    def quit(self) -> tuple[int, bytes]:
        self._step("quit")
        return 221, b"2.0.0 Bye"

    def close(self) -> None:
        self.calls.append("close")


class Relay:
    """The ``smtp_factory``: opens FakeSmtp sessions and keeps them; ``fail`` maps a step to the error it raises."""

    def __init__(self, **fail: BaseException) -> None:
        self.fail = fail
        self.sessions: list[FakeSmtp] = []

    def __call__(
        self, host: str, port: int, *, timeout: float, implicit_tls: bool, context: ssl.SSLContext
    ) -> FakeSmtp:
        if "connect" in self.fail:
            raise self.fail["connect"]
        session = FakeSmtp(host, port, timeout, implicit_tls, self.fail)
        self.sessions.append(session)
        return session

    @property
    def message(self) -> EmailMessage:
        """The one message sent."""
        (session,) = self.sessions
        (msg,) = session.sent
        return msg


def email(**changes: Any) -> EmailRequest:
    values: dict[str, Any] = {
        "to": "pat.doe@example.com",
        "subject": "Your water heater is installed",
        "body": "Hi Pat,\nthanks for choosing Rapid Rooter.\n",
        "idempotency_key": "seq:e1:thank_you",
        "account_id": "default",
    }
    return EmailRequest(**(values | changes))


def marketing(**changes: Any) -> EmailRequest:
    return email(category="marketing", unsubscribe_url=UNSUBSCRIBE, **changes)


def make_sender(
    clock: SimulatedClock, relay: Relay, config: SmtpSending = RELAY, sender: Email = SENDER
) -> SmtpEmailSender:
    return SmtpEmailSender(config, sender, PASSWORD if config.username else None, clock, smtp_factory=relay)


# --- the message ------------------------------------------------------------------------------------------------


def test_headers_and_body(clock: SimulatedClock) -> None:
    relay = Relay()

    make_sender(clock, relay).send(email())

    msg = relay.message
    assert msg["From"] == "Rapid Rooter Plumbing <office@rapidrooter.example>"
    assert msg["To"] == "pat.doe@example.com"
    assert msg["Subject"] == "Your water heater is installed"
    assert msg["Reply-To"] == "help@rapidrooter.example"
    assert msg["Date"] == format_datetime(clock.now())
    assert MESSAGE_ID.fullmatch(msg["Message-ID"])
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content() == "Hi Pat,\nthanks for choosing Rapid Rooter.\n"
    assert msg["Content-Transfer-Encoding"] == "7bit"
    assert "List-Unsubscribe" not in msg


def test_send_result_names_the_message_id_and_says_sent(clock: SimulatedClock) -> None:
    relay = Relay()

    result = make_sender(clock, relay).send(email())

    assert result == SendResult(provider_message_id=result.provider_message_id, status="sent", at=clock.now())
    assert relay.message["Message-ID"] == f"<{result.provider_message_id}@rapidrooter.example>"
    assert len(result.provider_message_id) <= 64  # messages.provider_message_id


def test_a_display_name_with_punctuation_and_accents_is_quoted_and_encoded(clock: SimulatedClock) -> None:
    relay = Relay()
    sender = Email(from_address="office@rapidrooter.example", from_name="Zoë's Plumbing, Inc.")

    make_sender(clock, relay, sender=sender).send(email())

    msg = relay.message
    assert msg["From"].addresses[0].display_name == "Zoë's Plumbing, Inc."
    assert msg["From"].addresses[0].addr_spec == "office@rapidrooter.example"
    assert "Reply-To" not in msg
    assert msg.as_bytes().isascii()  # encoded words on the wire, not raw UTF-8


def test_without_a_from_name_the_bare_address_is_used(clock: SimulatedClock) -> None:
    relay = Relay()

    make_sender(clock, relay, sender=Email(from_address="office@rapidrooter.example")).send(email())

    assert relay.message["From"] == "office@rapidrooter.example"


def test_non_ascii_text_goes_quoted_printable_not_base64(clock: SimulatedClock) -> None:
    relay = Relay()

    make_sender(clock, relay).send(email(body="Merci, Zoë — à bientôt.\n"))

    assert relay.message["Content-Transfer-Encoding"] == "quoted-printable"
    assert relay.message.get_content() == "Merci, Zoë — à bientôt.\n"


def test_message_id_is_the_same_for_the_same_key_and_differs_otherwise(clock: SimulatedClock) -> None:
    relay = Relay()
    make_sender(clock, relay).send(email())
    make_sender(clock, relay).send(email())  # a resend after a crash: another process, another session
    make_sender(clock, relay).send(email(idempotency_key="seq:e2:thank_you"))
    make_sender(clock, relay).send(email(account_id="other-shop"))

    first, resend, other_key, other_account = (s.sent[0]["Message-ID"] for s in relay.sessions)
    assert first == resend
    assert len({first, other_key, other_account}) == 3


def test_marketing_with_an_unsubscribe_url_carries_one_click_unsubscribe(clock: SimulatedClock) -> None:
    relay = Relay()

    make_sender(clock, relay).send(marketing())

    assert relay.message["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert relay.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.parametrize(
    "request_",
    [email(unsubscribe_url=UNSUBSCRIBE), email(category="marketing")],
    ids=["transactional-with-url", "marketing-without-url"],
)
def test_list_unsubscribe_only_for_marketing_with_a_url(clock: SimulatedClock, request_: EmailRequest) -> None:
    relay = Relay()

    make_sender(clock, relay).send(request_)

    assert "List-Unsubscribe" not in relay.message
    assert "List-Unsubscribe-Post" not in relay.message


@pytest.mark.parametrize(
    "request_",
    [
        email(to="not-an-address"),
        email(to="pat@example.com, eve@example.com"),
        email(subject="Hello\r\nBcc: eve@example.com"),
    ],
    ids=["no-domain", "two-addresses", "header-injection"],
)
def test_an_email_that_cannot_be_built_fails_for_good_without_connecting(
    clock: SimulatedClock, request_: EmailRequest
) -> None:
    relay = Relay()

    with pytest.raises(SendFailed) as caught:
        make_sender(clock, relay).send(request_)

    assert caught.value.retryable is False
    assert relay.sessions == []


# --- the session ------------------------------------------------------------------------------------------------


def test_starttls_then_login_then_send_then_quit(clock: SimulatedClock) -> None:
    relay = Relay()

    make_sender(clock, relay).send(email())

    (session,) = relay.sessions
    assert (session.host, session.port, session.timeout, session.implicit_tls) == (
        "smtp.rapidrooter.example",
        587,
        10.0,
        False,
    )
    assert session.calls == ["starttls", "login", "send_message", "quit"]
    assert isinstance(session.tls_context, ssl.SSLContext)
    assert session.tls_context.verify_mode == ssl.CERT_REQUIRED
    assert session.tls_context.check_hostname is True
    assert session.credentials == ("office@rapidrooter.example", PASSWORD)


def test_implicit_tls_needs_no_starttls(clock: SimulatedClock) -> None:
    relay = Relay()
    config = SmtpSending(host="smtp.rapidrooter.example", port=465, security="ssl", username="office")

    make_sender(clock, relay, config).send(email())

    (session,) = relay.sessions
    assert session.implicit_tls is True
    assert session.calls == ["login", "send_message", "quit"]


def test_no_username_means_no_login(clock: SimulatedClock) -> None:
    relay = Relay()
    config = SmtpSending(host="localhost", port=25, security="none")

    make_sender(clock, relay, config).send(email())

    (session,) = relay.sessions
    assert session.calls == ["send_message", "quit"]
    assert session.credentials is None


def test_a_failing_goodbye_after_acceptance_is_still_a_success(clock: SimulatedClock) -> None:
    """The relay took the message; an error on QUIT must not make the worker send it again."""
    relay = Relay(quit=smtplib.SMTPServerDisconnected("Connection unexpectedly closed"))

    result = make_sender(clock, relay).send(email())

    assert result.status == "sent"
    assert relay.sessions[0].calls == ["starttls", "login", "send_message", "quit", "close"]


def test_the_session_is_closed_after_a_failure_too(clock: SimulatedClock) -> None:
    relay = Relay(send_message=smtplib.SMTPDataError(554, b"5.7.1 Message rejected"))

    with pytest.raises(SendFailed):
        make_sender(clock, relay).send(email())

    assert relay.sessions[0].calls[-1] == "quit"


def test_no_starttls_on_the_relay_fails_for_good_before_the_password_is_sent(clock: SimulatedClock) -> None:
    relay = Relay(starttls=smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server."))

    with pytest.raises(SendFailed) as caught:
        make_sender(clock, relay).send(email())

    assert caught.value.retryable is False
    assert relay.sessions[0].credentials is None
    assert "login" not in relay.sessions[0].calls


def test_lookup_cannot_tell(clock: SimulatedClock) -> None:
    relay = Relay()
    sender = make_sender(clock, relay)
    sender.send(email())

    assert sender.lookup(email(), since=clock.now()) is None


# --- error mapping ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "error", "retryable", "code"),
    [
        (
            "send_message",
            smtplib.SMTPRecipientsRefused({"pat.doe@example.com": (550, b"5.1.1 User unknown")}),
            False,
            550,
        ),
        ("send_message", smtplib.SMTPRecipientsRefused({"pat.doe@example.com": (450, b"4.2.0 Greylisted")}), True, 450),
        ("send_message", smtplib.SMTPSenderRefused(451, b"4.3.0 Try again later", "office@x"), True, 451),
        ("send_message", smtplib.SMTPSenderRefused(553, b"5.7.1 Sender not allowed", "office@x"), False, 553),
        ("send_message", smtplib.SMTPDataError(554, b"5.7.1 Message rejected as spam"), False, 554),
        ("send_message", smtplib.SMTPDataError(452, b"4.3.1 Insufficient system storage"), True, 452),
        ("login", smtplib.SMTPAuthenticationError(535, b"5.7.8 Authentication credentials invalid"), False, 535),
        ("login", smtplib.SMTPAuthenticationError(454, b"4.7.0 Temporary authentication failure"), True, 454),
        ("connect", smtplib.SMTPConnectError(421, b"4.3.2 Service not available"), True, 421),
        ("connect", smtplib.SMTPConnectError(554, b"5.3.2 No SMTP service here"), False, 554),
    ],
    ids=[
        "recipient-550",
        "recipient-450",
        "sender-451",
        "sender-553",
        "data-554",
        "data-452",
        "auth-535",
        "auth-454",
        "greeting-421",
        "greeting-554",
    ],
)
def test_smtp_replies_4xx_retry_5xx_do_not(
    clock: SimulatedClock, step: str, error: Exception, retryable: bool, code: int
) -> None:
    relay = Relay(**{step: error})

    with pytest.raises(SendFailed) as caught:
        make_sender(clock, relay).send(email())

    assert caught.value.retryable is retryable
    assert caught.value.status_code == code
    assert caught.value.error_code == str(code)
    assert str(code) in str(caught.value)


def test_the_detail_carries_the_relays_text(clock: SimulatedClock) -> None:
    refused = smtplib.SMTPRecipientsRefused({"pat.doe@example.com": (550, b"5.1.1 User unknown")})
    relay = Relay(send_message=refused)

    with pytest.raises(SendFailed, match=re.escape("5.1.1 User unknown")):
        make_sender(clock, relay).send(email())


@pytest.mark.parametrize(
    ("step", "error"),
    [
        ("connect", ConnectionRefusedError(111, "Connection refused")),
        ("connect", TimeoutError("timed out")),
        ("connect", OSError(-2, "Name or service not known")),
        ("starttls", ssl.SSLError("handshake failure")),
        ("send_message", TimeoutError("timed out")),
        ("send_message", smtplib.SMTPServerDisconnected("Connection unexpectedly closed")),
    ],
    ids=["refused", "connect-timeout", "dns", "tls-handshake", "data-timeout", "disconnected"],
)
def test_network_trouble_is_retryable(clock: SimulatedClock, step: str, error: Exception) -> None:
    relay = Relay(**{step: error})

    with pytest.raises(SendFailed) as caught:
        make_sender(clock, relay).send(email())

    assert caught.value.retryable is True
    assert caught.value.status_code is None
    assert caught.value.error_code is None


def test_the_password_never_appears_in_a_failure(clock: SimulatedClock) -> None:
    relay = Relay(login=smtplib.SMTPAuthenticationError(535, b"5.7.8 Authentication credentials invalid"))

    with pytest.raises(SendFailed) as caught:
        make_sender(clock, relay).send(email())

    assert PASSWORD not in str(caught.value)


# --- construction and the registry ------------------------------------------------------------------------------


def test_a_username_without_a_password_is_refused_naming_the_variable(clock: SimulatedClock) -> None:
    with pytest.raises(ValueError, match=PASSWORD_ENV):
        SmtpEmailSender(RELAY, SENDER, None, clock, smtp_factory=Relay())


def test_the_default_factory_is_smtplib() -> None:
    assert inspect.signature(SmtpEmailSender).parameters["smtp_factory"].default is connect


SMTP_YAML = """
account_id: default
business:
  name: Rapid Rooter Plumbing
messaging:
  email_provider: smtp
  smtp: {host: smtp.rapidrooter.example, port: 587, username: office@rapidrooter.example}
  email: {from_address: office@rapidrooter.example, from_name: Rapid Rooter Plumbing}
"""


def test_registry_builds_the_smtp_sender_from_settings_and_environment(
    clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    settings = parse_settings(SMTP_YAML)
    engine = create_engine("sqlite://")
    try:
        sender = EMAIL[settings.messaging.email_provider](SqlDevSink(engine), clock, settings)
    finally:
        engine.dispose()

    assert isinstance(sender, SmtpEmailSender)
    assert sender.name == "smtp"


def test_registry_refuses_smtp_login_without_the_password(
    clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    engine = create_engine("sqlite://")
    try:
        with pytest.raises(ValueError, match=PASSWORD_ENV):
            EMAIL["smtp"](SqlDevSink(engine), clock, parse_settings(SMTP_YAML))
    finally:
        engine.dispose()


# --- the real smtplib against a minimal relay on loopback -------------------------------------------------------


class _RelayHandler(socketserver.StreamRequestHandler):
    """Speaks just enough SMTP (RFC 5321) for one session; replies per verb come from the server's ``replies``."""

    server: LoopbackRelay

    def _reply(self, line: bytes) -> None:
        self.wfile.write(line + b"\r\n")

    def handle(self) -> None:
        self._reply(b"220 relay.test ESMTP")
        while line := self.rfile.readline():
            command = line.decode("ascii").rstrip("\r\n")
            self.server.commands.append(command)
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self._reply(b"250-relay.test")
                self._reply(b"250 8BITMIME")
            elif verb == "DATA":
                self._reply(b"354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while (data := self.rfile.readline()) != b".\r\n":
                    lines.append(data)
                self.server.data.append(b"".join(lines))
                self._reply(b"250 2.0.0 Ok: queued as 4ABC123")
            elif verb == "QUIT":
                self._reply(b"221 2.0.0 Bye")
                return
            else:
                self._reply(self.server.replies.get(verb, b"250 2.0.0 Ok"))


class LoopbackRelay(socketserver.TCPServer):
    """A one-connection-at-a-time SMTP relay on 127.0.0.1 and a free port."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RelayHandler)
        self.commands: list[str] = []
        self.data: list[bytes] = []
        self.replies: dict[str, bytes] = {}

    @property
    def port(self) -> int:
        return int(self.server_address[1])


@pytest.fixture
def loopback() -> Iterator[LoopbackRelay]:
    server = LoopbackRelay()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_real_smtplib_delivers_the_message_over_the_wire(clock: SimulatedClock, loopback: LoopbackRelay) -> None:
    config = SmtpSending(host="127.0.0.1", port=loopback.port, security="none", timeout_seconds=5)
    sender = SmtpEmailSender(config, SENDER, None, clock)

    result = sender.send(marketing())

    assert result.status == "sent"
    assert [c.split(" ", 1)[0].upper() for c in loopback.commands] == ["EHLO", "MAIL", "RCPT", "DATA", "QUIT"]
    assert "TO:<pat.doe@example.com>" in loopback.commands[2]
    (raw,) = loopback.data
    msg = email_parser.BytesParser(policy=email_policy.default).parsebytes(raw)
    assert msg["Message-ID"] == f"<{result.provider_message_id}@rapidrooter.example>"
    assert msg["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg.get_content().replace("\r\n", "\n") == "Hi Pat,\nthanks for choosing Rapid Rooter.\n"
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF line ends on the wire


def test_real_smtplib_recipient_refusal_maps_to_a_final_failure(clock: SimulatedClock, loopback: LoopbackRelay) -> None:
    loopback.replies["RCPT"] = b"550 5.1.1 <pat.doe@example.com>: Recipient address rejected: User unknown"
    config = SmtpSending(host="127.0.0.1", port=loopback.port, security="none", timeout_seconds=5)

    with pytest.raises(SendFailed) as caught:
        SmtpEmailSender(config, SENDER, None, clock).send(email())

    assert caught.value.retryable is False
    assert caught.value.status_code == 550
    assert "User unknown" in str(caught.value)
    assert loopback.data == []


def test_real_smtplib_connection_refused_is_retryable(clock: SimulatedClock, loopback: LoopbackRelay) -> None:
    port = loopback.port
    loopback.shutdown()
    loopback.server_close()
    config = SmtpSending(host="127.0.0.1", port=port, security="none", timeout_seconds=5)

    with pytest.raises(SendFailed) as caught:
        SmtpEmailSender(config, SENDER, None, clock).send(email())

    assert caught.value.retryable is True
