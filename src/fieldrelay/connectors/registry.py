"""The one place connectors are registered: a connector is one folder plus one line here."""

from __future__ import annotations

from collections.abc import Callable

from fieldrelay.connectors.devmail.outbound import DevMailSender
from fieldrelay.connectors.devsms.outbound import DevSmsSender
from fieldrelay.connectors.forms.inbound import FormsInbound
from fieldrelay.connectors.housecallpro.inbound import HousecallProInbound
from fieldrelay.connectors.hubspot.target import HubSpotTarget
from fieldrelay.connectors.jobber.api import default_client
from fieldrelay.connectors.jobber.inbound import JobberInbound
from fieldrelay.connectors.postmark.inbound import PostmarkInbound
from fieldrelay.connectors.salesforce.auth import credentials_from_env
from fieldrelay.connectors.salesforce.target import SalesforceTarget
from fieldrelay.connectors.sendgrid.inbound import SendGridInbound
from fieldrelay.connectors.sendgrid.outbound import SendGridEmailSender
from fieldrelay.connectors.servicetitan.inbound import ServiceTitanInbound
from fieldrelay.connectors.smtp.outbound import SmtpEmailSender
from fieldrelay.connectors.stripe.inbound import StripeInbound
from fieldrelay.connectors.twilio.inbound import TwilioInbound
from fieldrelay.connectors.twilio.outbound import twilio_sender
from fieldrelay.connectors.webhook_out.target import SignedWebhookTarget
from fieldrelay.rules.config import Settings
from fieldrelay.rules.secrets import connector_secret, env_secret, sendgrid_api_key, smtp_password
from fieldrelay.service.clock import Clock
from fieldrelay.service.crm.targets import CrmTarget
from fieldrelay.service.outreach.ports import DevSink
from fieldrelay.service.ports import EmailSender, InboundConnector, SmsSender

INBOUND: dict[str, Callable[[Settings], InboundConnector]] = {
    "housecallpro": lambda s: HousecallProInbound(
        connector_secret("housecallpro"), s.connectors.housecallpro.max_timestamp_age_seconds
    ),
    "sendgrid": lambda s: SendGridInbound(
        s.connectors.sendgrid.verification_key, s.connectors.sendgrid.max_timestamp_age_seconds
    ),
    "postmark": lambda s: PostmarkInbound(connector_secret("postmark")),
    "stripe": lambda s: StripeInbound(connector_secret("stripe"), s.connectors.stripe.tolerance_seconds),
    "twilio": lambda s: TwilioInbound(connector_secret("twilio")),
    "servicetitan": lambda s: ServiceTitanInbound(
        connector_secret("servicetitan"),
        s.connectors.servicetitan.signature_header,
        s.connectors.servicetitan.signature_encoding,
    ),
    "jobber": lambda s: JobberInbound(
        connector_secret("jobber"),
        default_client(s.connectors.jobber.request_timeout_seconds),
        s.connectors.jobber.graphql_url,
        s.connectors.jobber.api_version,
    ),
    "forms": lambda s: FormsInbound(
        connector_secret("forms"), s.connectors.forms, s.default_phone_region, s.business.time_zone
    ),
}

# Message providers, chosen by ``messaging.sms_provider`` / ``messaging.email_provider``. Each is built from the
# development sink (where devsms and devmail keep what they "send"; the others ignore it), the clock and the settings.
SMS: dict[str, Callable[[DevSink, Clock, Settings], SmsSender]] = {
    "devsms": lambda sink, clock, _settings: DevSmsSender(sink, clock),
    "twilio": twilio_sender,
}

EMAIL: dict[str, Callable[[DevSink, Clock, Settings], EmailSender]] = {
    "devmail": lambda sink, clock, _settings: DevMailSender(sink, clock),
    "smtp": lambda _sink, clock, s: SmtpEmailSender(s.messaging.smtp, s.messaging.email, smtp_password(), clock),
    "sendgrid": lambda _sink, clock, s: SendGridEmailSender(
        s.messaging.sendgrid, s.messaging.email, sendgrid_api_key(), clock
    ),
}


# Outside CRMs, chosen by ``crm.targets``; each receives the mapped changes from the outbox.
CRM: dict[str, Callable[[Clock, Settings], CrmTarget]] = {
    "hubspot": lambda clock, s: HubSpotTarget(s.crm.hubspot, env_secret("hubspot_token"), clock),
    "salesforce": lambda _clock, s: SalesforceTarget(s.crm.salesforce, credentials_from_env()),
    "webhook": lambda clock, s: SignedWebhookTarget(s.crm.webhook, env_secret("webhook_out_secret"), clock),
}


def crm_targets(settings: Settings, clock: Clock) -> dict[str, CrmTarget]:
    """The configured CRM targets by name; ValueError (saying which secret) when one cannot start."""
    return {name: CRM[name](clock, settings) for name in settings.crm.targets}


def inbound_connectors(settings: Settings) -> dict[str, InboundConnector]:
    """Every inbound connector, built with its secret from the environment (None: it refuses everything)."""
    return {name: build(settings) for name, build in INBOUND.items()}
