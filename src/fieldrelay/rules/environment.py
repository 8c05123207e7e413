"""Every environment variable fieldrelay and its compose file read, with what it is for: the source of the table in
docs/configuration.md; .env.example names the same ones (tests/test_deploy.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variable:
    """One environment variable: its name, who reads it, what it means (and what happens when it is unset)."""

    name: str
    group: str
    meaning: str


_WEBHOOK = "every delivery refused"

VARIABLES: tuple[Variable, ...] = (
    Variable(
        "DATABASE_URL",
        "every process",
        "database URL when `--db` is not given (default `sqlite:///./fieldrelay.db`; `postgres://…` and "
        "`postgresql://…` are used through psycopg 3)",
    ),
    Variable(
        "FIELDRELAY_API_TOKEN",
        "serve",
        "bearer token of the JSON API, the admin token (unset: every API call refused with 503, saying no token is "
        "configured); people's own tokens come from `fieldrelay users token`",
    ),
    Variable(
        "FIELDRELAY_SESSION_SECRET",
        "serve",
        "signs the office app's session cookies and setup links; the same value in every process (unset: each process "
        "makes its own, so a restart signs everyone out and a sign-in works on one process only)",
    ),
    Variable(
        "FIELDRELAY_UNSUBSCRIBE_SECRET",
        "serve, worker",
        "signs the unsubscribe links of marketing email (unset: no links, and `smtp` / `sendgrid` send no marketing "
        "email)",
    ),
    Variable(
        "FIELDRELAY_USER",
        "commands",
        "who a command on the shop's data acts as in the audit log when `--as` is not given (default: "
        "`cli:<os user>`, the operator)",
    ),
    Variable(
        "FIELDRELAY_HOUSECALLPRO_SECRET", "webhooks", f"Housecall Pro's webhook signing secret (unset: {_WEBHOOK})"
    ),
    Variable("FIELDRELAY_SERVICETITAN_SECRET", "webhooks", f"ServiceTitan's webhook HMAC key (unset: {_WEBHOOK})"),
    Variable(
        "FIELDRELAY_JOBBER_SECRET",
        "webhooks",
        f"the Jobber app's OAuth client secret, which signs its webhooks (unset: {_WEBHOOK})",
    ),
    Variable(
        "FIELDRELAY_JOBBER_ACCESS_TOKEN",
        "worker",
        "Jobber OAuth access token the worker fetches each webhook's item with (unset or expired: those deliveries are "
        "retried, then land in the error queue; it is not refreshed automatically)",
    ),
    Variable("FIELDRELAY_STRIPE_SECRET", "webhooks", f"Stripe's endpoint signing secret (unset: {_WEBHOOK})"),
    Variable(
        "FIELDRELAY_TWILIO_SECRET",
        "webhooks, worker",
        f"Twilio's auth token: checks Twilio's webhooks and, with the account SID, sends texts (unset: {_WEBHOOK}, and "
        "`sms_provider: twilio` refuses to start)",
    ),
    Variable("FIELDRELAY_TWILIO_ACCOUNT_SID", "worker", "Twilio's account SID (`AC…`), for sending texts"),
    Variable(
        "FIELDRELAY_POSTMARK_SECRET",
        "webhooks",
        f"`user:password` of the Basic credentials in Postmark's webhook URL (unset: {_WEBHOOK})",
    ),
    Variable(
        "FIELDRELAY_FORMS_SECRET",
        "webhooks",
        "`form_id=token` pairs separated by commas, one per configured form (unset: every submission refused)",
    ),
    Variable(
        "FIELDRELAY_SENDGRID_API_KEY",
        "worker",
        "SendGrid API key with Mail Send permission (`email_provider: sendgrid`)",
    ),
    Variable(
        "FIELDRELAY_SMTP_PASSWORD", "worker", "the SMTP relay's password (`email_provider: smtp` with a `username`)"
    ),
    Variable("FIELDRELAY_HUBSPOT_TOKEN", "worker", "HubSpot private-app token (`crm.targets` with `hubspot`)"),
    Variable(
        "FIELDRELAY_SALESFORCE_TOKEN",
        "worker",
        "a Salesforce access token; or, refreshed by the connector, the client-credentials pair below",
    ),
    Variable("FIELDRELAY_SALESFORCE_CLIENT_ID", "worker", "a Salesforce connected app's client id"),
    Variable("FIELDRELAY_SALESFORCE_CLIENT_SECRET", "worker", "the connected app's client secret"),
    Variable("FIELDRELAY_WEBHOOK_OUT_SECRET", "worker", "signs the `webhook` CRM target's requests"),
    Variable("POSTGRES_PASSWORD", "compose", "PostgreSQL's password; compose builds `DATABASE_URL` from it"),
    Variable(
        "FIELDRELAY_DOMAIN",
        "compose",
        "the public host name Caddy gets a certificate for (`--profile tls`); `public_base_url` in fieldrelay.yaml is "
        "`https://` and this name",
    ),
    Variable("FIELDRELAY_OWNER_NAME", "compose", "the first owner `docker compose run --rm first-owner` adds"),
    Variable("FIELDRELAY_OWNER_EMAIL", "compose", "the first owner's email, which they sign in with"),
)
