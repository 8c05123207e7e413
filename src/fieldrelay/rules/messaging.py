"""The shop's message providers, sender identity, consent rules and weekly cap (secrets come from the environment)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TwilioSending(_Strict):
    """Texts through Twilio's Messages API: account SID in ``FIELDRELAY_TWILIO_ACCOUNT_SID``, auth token in
    ``FIELDRELAY_TWILIO_SECRET`` (the same token signs Twilio's webhooks)."""

    # Exactly one of the two says who texts come from.
    from_number: str | None = None
    messaging_service_sid: str | None = None
    # Only tests and the crash test point this elsewhere (a local stand-in for Twilio).
    api_base_url: str = "https://api.twilio.com"
    request_timeout_seconds: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _one_sender(self) -> TwilioSending:
        if self.from_number and self.messaging_service_sid:
            raise ValueError(
                "set only one of from_number and messaging_service_sid: texts come either from a Twilio number "
                "or from a Messaging Service that picks one"
            )
        return self


class SmtpSending(_Strict):
    """Email through an SMTP relay; the password is ``FIELDRELAY_SMTP_PASSWORD``."""

    host: str = "localhost"
    port: int = Field(default=587, ge=1, le=65535)
    # starttls, ssl (implicit TLS) or none.
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    timeout_seconds: float = Field(default=10.0, gt=0)


class SendGridSending(_Strict):
    """Email through SendGrid's v3 Mail Send API; the API key is ``FIELDRELAY_SENDGRID_API_KEY``."""

    api_base_url: str = "https://api.sendgrid.com"
    request_timeout_seconds: float = Field(default=10.0, gt=0)


class Email(_Strict):
    """Who the shop's email comes from."""

    # Who the shop's email comes from.
    from_address: str = "office@example.com"
    from_name: str | None = None
    reply_to: str | None = None


class Messaging(_Strict):
    """Providers, consent and the marketing cap."""

    # Who sends texts; devsms records and sends nothing.
    sms_provider: Literal["devsms", "twilio"] = "devsms"
    # Who sends email; devmail records and sends nothing.
    email_provider: Literal["devmail", "smtp", "sendgrid"] = "devmail"
    twilio: TwilioSending = TwilioSending()
    smtp: SmtpSending = SmtpSending()
    sendgrid: SendGridSending = SendGridSending()
    email: Email = Email()
    # A STOP, an unsubscribe, a spam complaint or Twilio error 21610 on one channel stops marketing on every channel;
    # false: only on the channel it came from. Transactional messages follow the channel's own opt-out only.
    opt_out_stops_all_marketing: bool = True
    # Marketing touches (offers, review asks, nudges) per customer per rolling 7 days; one step's text and email are
    # one touch. Over it, a discretionary step waits; a step promised at a time (timing: promised) still goes.
    marketing_per_week: int = Field(default=3, ge=1, le=50)
    # A discretionary marketing step (timing: discretionary) waits until this long after the customer's last
    # marketing touch: no more than one a day.
    discretionary_spacing_hours: float = Field(default=24, ge=0, le=24 * 14)

    @model_validator(mode="after")
    def _twilio_has_a_sender(self) -> Messaging:
        if self.sms_provider == "twilio" and not (self.twilio.from_number or self.twilio.messaging_service_sid):
            raise ValueError(
                "sms_provider twilio needs messaging.twilio.from_number (a Twilio number in E.164) "
                "or messaging.twilio.messaging_service_sid (MG…)"
            )
        return self
