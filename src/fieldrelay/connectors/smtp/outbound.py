"""SMTP: email through the shop's own relay (Microsoft 365, Google Workspace, an ESP's SMTP endpoint, a local Postfix).

The standard library (``smtplib`` + ``email.message.EmailMessage``) rather than aiosmtplib: the worker is synchronous,
one provider call at a time per thread, so an asyncio client would only add an event loop to drive.

SMTP offers no way to ask a relay afterwards whether a message went out, so ``lookup`` never reconciles: an email
whose outcome was lost (a crash after the relay accepted it, a timeout waiting for its reply to DATA) may be sent
again. The resend carries the same ``Message-ID``, derived from the idempotency key, so a receiving server can
recognise it. Errors follow the reply code's first digit (RFC 5321 §4.2.1,
https://www.rfc-editor.org/rfc/rfc5321#section-4.2.1): 4xx is transient, 5xx permanent.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol

from fieldrelay.rules.messaging import Email, SmtpSending
from fieldrelay.service.clock import Clock
from fieldrelay.service.ports import EmailRequest, SendFailed, SendResult

NAME = "smtp"
PASSWORD_ENV = "FIELDRELAY_SMTP_PASSWORD"


class SmtpConnection(Protocol):
    """The part of ``smtplib.SMTP`` this sender uses (tests pass a fake)."""

    def starttls(self, *, context: ssl.SSLContext | None = None) -> object:
        """Upgrade the connection to TLS."""
        ...

    def login(self, user: str, password: str) -> object:
        """Authenticate."""
        ...

    def send_message(self, msg: EmailMessage) -> dict[str, tuple[int, bytes]]:
        """Send one message; returns the recipients refused when others were accepted."""
        ...

    def quit(self) -> object:
        """Say QUIT and close."""
        ...

    def close(self) -> None:
        """Close without a goodbye."""
        ...


class SmtpFactory(Protocol):
    """Opens a connection to the relay (``implicit_tls``: TLS from the first byte, the "ssl" setting)."""

    def __call__(
        self, host: str, port: int, *, timeout: float, implicit_tls: bool, context: ssl.SSLContext
    ) -> SmtpConnection:
        """A connected client, greeting read."""
        ...


def connect(host: str, port: int, *, timeout: float, implicit_tls: bool, context: ssl.SSLContext) -> SmtpConnection:
    """Open a real connection with smtplib (``SMTP_SSL`` for implicit TLS, else ``SMTP``)."""
    if implicit_tls:
        return smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    return smtplib.SMTP(host, port, timeout=timeout)


def message_id_left(request: EmailRequest) -> str:
    """The left part of the Message-ID: the same every time the same request is sent, so a resend can be recognised."""
    # Keys are unique per account (uq_outbox_idempotency), so the account is part of the hash; hashing also keeps our
    # internal ids out of the header and its characters inside RFC 5322's msg-id grammar (id-left "@" id-right).
    digest = hashlib.sha256(f"{request.account_id}\0{request.idempotency_key}".encode()).hexdigest()[:32]
    return f"fieldrelay.{digest}"


class SmtpEmailSender:
    """Sends each email over one SMTP session: connect, STARTTLS or implicit TLS, login, send, QUIT."""

    name = NAME
    development_sink = False  # it delivers to people: marketing mail needs its unsubscribe link

    def __init__(
        self,
        config: SmtpSending,
        sender: Email,
        password: str | None,
        clock: Clock,
        smtp_factory: SmtpFactory = connect,
    ) -> None:
        if config.username is not None and not password:
            # Refused here rather than at each send: a worker that cannot log in to its relay should not start.
            raise ValueError(f"email_provider smtp logs in as messaging.smtp.username: it needs {PASSWORD_ENV} set")
        self._config = config
        self._sender = sender
        self._password = password
        self._clock = clock
        self._factory = smtp_factory
        # Verifies the relay's certificate and host name (what ssl.create_default_context is for).
        self._tls = ssl.create_default_context()

    def send(self, request: EmailRequest) -> SendResult:
        """Hand the email to the relay; raise SendFailed (retryable on 4xx and network trouble) when it refused."""
        message = self._message(request)
        try:
            self._deliver(message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()), (-1, b""))
            raise _reply_failure(code, text, "recipient refused") from exc
        except smtplib.SMTPResponseException as exc:
            # Covers the greeting (SMTPConnectError), HELO, AUTH (SMTPAuthenticationError), MAIL FROM and DATA.
            raise _reply_failure(exc.smtp_code, exc.smtp_error, type(exc).__name__) from exc
        except smtplib.SMTPServerDisconnected as exc:
            raise SendFailed(f"SMTP: connection lost: {exc}", retryable=True) from exc
        except smtplib.SMTPException as exc:
            # No STARTTLS or no usable AUTH mechanism on the relay, or an address it cannot take (SMTPUTF8):
            # configuration, which trying again does not change.
            raise SendFailed(f"SMTP: {type(exc).__name__}: {exc}", retryable=False) from exc
        except OSError as exc:
            # Refused or reset connections, DNS failures, timeouts (TimeoutError), TLS handshake failures.
            raise SendFailed(f"SMTP: {type(exc).__name__}: {exc}", retryable=True) from exc
        # The Message-ID's left part, not the whole header: with a long domain that would outgrow the 64 characters of
        # messages.provider_message_id. (smtplib does not expose the relay's reply to DATA, which names its queue id.)
        return SendResult(provider_message_id=message_id_left(request), status="sent", at=self._clock.now())

    def lookup(self, request: EmailRequest, since: datetime) -> SendResult | None:
        """Always None: SMTP cannot tell, so an email whose outcome was lost may go again (with the same Message-ID)."""
        return None

    def _deliver(self, message: EmailMessage) -> None:
        cfg = self._config
        smtp = self._factory(
            cfg.host, cfg.port, timeout=cfg.timeout_seconds, implicit_tls=cfg.security == "ssl", context=self._tls
        )
        try:
            if cfg.security == "starttls":
                # smtplib raises SMTPNotSupportedError when the relay offers no STARTTLS: the password is never
                # sent in the clear on a connection configured for TLS.
                smtp.starttls(context=self._tls)
            if cfg.username is not None and self._password:
                smtp.login(cfg.username, self._password)
            # One recipient: smtplib raises SMTPRecipientsRefused when it is refused, so nothing is left to check.
            smtp.send_message(message)
        finally:
            _hang_up(smtp)

    def _message(self, request: EmailRequest) -> EmailMessage:
        sender = self._sender
        msg = EmailMessage()
        try:
            from_address = Address(display_name=sender.from_name or "", addr_spec=sender.from_address)
            msg["From"] = from_address
            msg["To"] = Address(addr_spec=request.to)
            msg["Subject"] = request.subject
            if sender.reply_to:
                msg["Reply-To"] = sender.reply_to
            msg["Date"] = format_datetime(self._clock.now())
            msg["Message-ID"] = f"<{message_id_left(request)}@{from_address.domain}>"
            if request.category == "marketing" and request.unsubscribe_url:
                # One-click unsubscribe (RFC 8058, https://www.rfc-editor.org/rfc/rfc8058): Gmail and Yahoo require
                # it of bulk senders. The relay's DKIM signature must cover both headers (RFC 8058 §4).
                msg["List-Unsubscribe"] = f"<{request.unsubscribe_url}>"
                msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
            # Non-ASCII text as quoted-printable, not the base64 the library picks for short bodies: SpamAssassin
            # scores base64-encoded text (MIME_BASE64_TEXT).
            msg.set_content(request.body, cte=None if request.body.isascii() else "quoted-printable")
        except ValueError as exc:
            # An invalid address, or a CR/LF in a header value (header injection): sending again cannot help.
            raise SendFailed(f"SMTP: cannot build the email: {exc}", retryable=False) from exc
        return msg


def _reply_failure(code: int, text: bytes | str, what: str) -> SendFailed:
    """A SendFailed for an SMTP reply: 5xx permanent, anything else (4xx, no code) worth another try."""
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return SendFailed(
        f"SMTP {code} ({what}): {message}",
        retryable=not 500 <= code <= 599,
        status_code=code if code > 0 else None,
        error_code=str(code) if code > 0 else None,
    )


def _hang_up(smtp: SmtpConnection) -> None:
    """Say QUIT; a failing goodbye after the relay accepted the message must not turn it into a resend."""
    try:
        smtp.quit()
    except OSError:  # smtplib's errors are OSErrors too
        smtp.close()
