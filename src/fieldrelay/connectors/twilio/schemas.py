"""Twilio messaging webhook parameters (``application/x-www-form-urlencoded``) as pydantic models.

Parameter names are Twilio's, from https://www.twilio.com/docs/messaging/guides/webhook-request (incoming
messages) and https://www.twilio.com/docs/messaging/guides/track-outbound-message-status (status callbacks);
see ../shared/payloads/twilio/inbound-sms.webhook-form-params.json. Twilio adds parameters without notice, so
unknown ones are allowed. Every value arrives as text; an empty value is read as absent.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _blank_is_none(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        return None
    return value


Text = Annotated[str | None, BeforeValidator(_blank_is_none)]


class _Params(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class IncomingMessage(_Params):
    """A text someone sent to one of the shop's Twilio numbers."""

    message_sid: str = Field(alias="MessageSid", min_length=1)
    account_sid: Text = Field(default=None, alias="AccountSid")
    messaging_service_sid: Text = Field(default=None, alias="MessagingServiceSid")
    from_: Text = Field(default=None, alias="From")
    to: Text = Field(default=None, alias="To")
    body: str = Field(default="", alias="Body")
    num_media: Text = Field(default=None, alias="NumMedia")
    sms_status: Text = Field(default=None, alias="SmsStatus")
    # Only with Advanced Opt-Out on a Messaging Service: STOP, START or HELP.
    opt_out_type: Text = Field(default=None, alias="OptOutType")


class StatusCallback(_Params):
    """Where a text the shop sent stands."""

    message_sid: str = Field(alias="MessageSid", min_length=1)
    message_status: str = Field(alias="MessageStatus", min_length=1)
    account_sid: Text = Field(default=None, alias="AccountSid")
    from_: Text = Field(default=None, alias="From")
    to: Text = Field(default=None, alias="To")
    error_code: Text = Field(default=None, alias="ErrorCode")
