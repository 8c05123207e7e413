"""The shop's configuration (fieldrelay.yaml) as pydantic models; secrets never live here (see ``secrets``)."""

from __future__ import annotations

import re
from datetime import date, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    field_validator,
    model_validator,
)

from fieldrelay.domain.enrichment.equipment import DEFAULT_EQUIPMENT_RULES, EquipmentRule
from fieldrelay.domain.identity.match import MERGE_THRESHOLD, REVIEW_THRESHOLD
from fieldrelay.rules.crm import Crm
from fieldrelay.rules.handoff import Sop, Team
from fieldrelay.rules.library import packaged_section
from fieldrelay.rules.limits import DatabaseTimeouts, ServerLimits
from fieldrelay.rules.mapping import DEFAULT_FIELD_MAPPING, FieldMapping
from fieldrelay.rules.messaging import Messaging
from fieldrelay.rules.pipeline import Pipeline
from fieldrelay.rules.problems import LocatedProblems
from fieldrelay.rules.referrals import Referrals
from fieldrelay.rules.sequences import Followup, Sequence, Template, check_references
from fieldrelay.rules.texts import JobTexts

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _check_window(window: str) -> str:
    parse_window(window)
    return window


# Validated per day, so an error names the day (and its line) rather than the whole block.
Window = Annotated[str, AfterValidator(_check_window)]


def _weekdays(window: str) -> dict[Day, str | None]:
    return {"mon": window, "tue": window, "wed": window, "thu": window, "fri": window}


class OpeningHours(_Strict):
    """One day's opening window in the shop's local time."""

    opens: time
    closes: time


class Business(_Strict):
    """Who the shop is and when it works."""

    # The shop's name, as customers know it (used in texts).
    name: str = Field(min_length=1)
    # IANA time zone of the shop.
    time_zone: str = "America/Chicago"
    # Day → "HH:MM-HH:MM", or null / absent for closed.
    business_hours: dict[Day, Window | None] = Field(default_factory=lambda: _weekdays("08:00-17:00"))
    # Days the shop is closed whatever the weekday (the lead-handoff clocks skip them).
    holidays: list[date] = Field(default_factory=list)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as America/Chicago)") from exc
        return value

    def opening_hours(self) -> dict[str, OpeningHours]:
        """The parsed opening window for each open day."""
        return {day: parse_window(w) for day, w in self.business_hours.items() if w is not None}


def parse_window(window: str) -> OpeningHours:
    """Parse "08:00-17:00"; raise ValueError with a readable reason otherwise."""
    match = _HOURS.match(window.strip())
    if not match:
        raise ValueError(f"business hours {window!r} must look like 08:00-17:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if not (0 <= h1 <= 23 and (0 <= h2 <= 23 or (h2, m2) == (24, 0)) and m1 < 60 and m2 < 60):
        raise ValueError(f"business hours {window!r} are not valid times")
    opens = time(h1, m1)
    closes = time.max if h2 == 24 else time(h2, m2)  # "24:00": to the end of the day
    if closes <= opens:
        raise ValueError(f"business hours {window!r} close before they open")
    return OpeningHours(opens=opens, closes=closes)


class RetryPolicy(_Strict):
    """Exponential backoff with jitter for failed work: default 8 attempts from 30 s up to 6 h."""

    # After the last try a row is dead and in the error queue.
    max_attempts: int = Field(default=8, ge=1, le=50)
    base_seconds: float = Field(default=30.0, gt=0)
    max_seconds: float = Field(default=6 * 3600.0, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> RetryPolicy:
        if self.max_seconds < self.base_seconds:
            raise ValueError("max_seconds must be at least base_seconds")
        return self


class WorkerSettings(_Strict):
    """How a worker claims and leases work."""

    # Rows claimed at once.
    batch_size: int = Field(default=100, ge=1, le=10_000)
    # Inbox rows applied in one transaction (fewer commits; on SQLite also fewer hand-overs of the write lock).
    apply_group_size: int = Field(default=20, ge=1, le=1_000)
    # A group's transaction commits before its next row would hold the database past this, so webhook intake never
    # waits for more than about this on SQLite's single write lock.
    write_budget_ms: float = Field(default=20.0, gt=0, le=10_000)
    # Worker threads in `fieldrelay serve`; unset: 1 on SQLite, 4 on PostgreSQL (see api/app.py worker_threads).
    threads: int | None = Field(default=None, ge=1, le=64)
    # `fieldrelay serve` runs its worker in a process of its own (the API then never shares the interpreter with
    # it; see docs/production.md); false: in threads of the API's process, as on a simulated clock.
    separate_process: bool = True
    # How long a claim holds before another worker may take the row over: keep it well above the slowest provider call.
    lease_seconds: float = Field(default=60.0, gt=0)
    # Sleep when there is nothing to do.
    poll_interval_seconds: float = Field(default=0.2, gt=0)


class HousecallProSettings(_Strict):
    """Housecall Pro webhook checks."""

    # Older (or further in the future) deliveries are refused as replays.
    max_timestamp_age_seconds: int = Field(default=300, ge=1)


class ServiceTitanSettings(_Strict):
    """ServiceTitan webhook checks. The signature header and its encoding are not public: both are configurable."""

    # Where ServiceTitan's HMAC arrives and how it is encoded (not published by ServiceTitan).
    signature_header: str = "ST-Signature"
    signature_encoding: Literal["base64", "hex"] = "base64"


class JobberSettings(_Strict):
    """Jobber: webhooks are thin, the worker fetches each item through the GraphQL API."""

    # The API the worker fetches each webhook's item from, and the X-JOBBER-GRAPHQL-VERSION it sends.
    graphql_url: str = "https://api.getjobber.com/api/graphql"
    api_version: str = "2025-04-16"
    request_timeout_seconds: float = Field(default=10.0, gt=0)


class StripeSettings(_Strict):
    """Stripe webhook checks."""

    # A Stripe-Signature timestamp further than this from now (either way) is refused.
    tolerance_seconds: int = Field(default=300, ge=1)


class SendGridSettings(_Strict):
    """SendGrid signed event webhook: the verification key shown in SendGrid's mail settings (not a secret)."""

    # The Signed Event Webhook's public key (not a secret; unset: every delivery refused).
    verification_key: str | None = None
    # How far the signed timestamp may be from now (either way).
    max_timestamp_age_seconds: int = Field(default=300, ge=1)


class FormSettings(_Strict):
    """One web lead form or upstream lead parser; its token comes from ``FIELDRELAY_FORMS_SECRET``."""

    # Letters, digits, _ and -; its token is in FIELDRELAY_FORMS_SECRET.
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    # The lead's channel unless the submission names one.
    source: str = "web_form"


class FormsSettings(_Strict):
    """Web lead forms: a per-form token, a honeypot field and a per-IP rate limit."""

    forms: list[FormSettings] = Field(default_factory=lambda: [FormSettings(id="website")])
    # A hidden form field people leave empty (filled: stored, ignored, never a lead).
    honeypot_field: str = "website_url"
    # Submissions accepted per client address per minute.
    rate_limit_per_minute: int = Field(default=10, ge=1)


class Connectors(_Strict):
    """Per-connector settings that are not secrets."""

    housecallpro: HousecallProSettings = HousecallProSettings()
    servicetitan: ServiceTitanSettings = ServiceTitanSettings()
    jobber: JobberSettings = JobberSettings()
    stripe: StripeSettings = StripeSettings()
    sendgrid: SendGridSettings = SendGridSettings()
    forms: FormsSettings = FormsSettings()


class ReviewRequest(_Strict):
    """The review-request text sent after a payment is captured."""

    # From the payment captured to the review-request text.
    delay_minutes: float = Field(default=30.0, ge=0)
    # The link for every customer whose lead source has none in followup.review_links.
    review_url: str = "https://g.page/r/your-shop/review"
    # Jinja2: first_name, business_name, review_url, service.
    template: str = (
        "Hi {{ first_name or 'there' }}, thanks for choosing {{ business_name }}! "
        "Would you leave us a quick review? {{ review_url }} Reply STOP to opt out."
    )


class EquipmentRuleSettings(_Strict):
    """A shop's equipment rule: a line item matching ``match`` installed ``equipment`` with this warranty."""

    name: str = Field(min_length=1, max_length=60)
    # A regular expression over a completed job's line items (or description).
    match: str = Field(min_length=1)
    equipment: str = Field(min_length=1, max_length=100)
    warranty_years: int = Field(ge=0, le=100)

    @model_validator(mode="after")
    def _valid_pattern(self) -> EquipmentRuleSettings:
        self.rule()  # raises ValueError with the rule's name when the pattern is not a regular expression
        return self

    def rule(self) -> EquipmentRule:
        """The domain rule."""
        return EquipmentRule(self.name, self.match, self.equipment, self.warranty_years)


def _default_equipment_rules() -> list[EquipmentRuleSettings]:
    return [
        EquipmentRuleSettings(name=r.name, match=r.match, equipment=r.equipment, warranty_years=r.warranty_years)
        for r in DEFAULT_EQUIPMENT_RULES
    ]


class Enrichment(_Strict):
    """Offline enrichment on intake; equipment rules run over a completed job's line items and description."""

    equipment_rules: list[EquipmentRuleSettings] = Field(default_factory=_default_equipment_rules)


class Identity(_Strict):
    """Duplicate matching: merge automatically at or above ``merge_at``, ask a person at or above ``review_at``."""

    # A new record scoring at or above merge_at against one known customer is merged automatically; between review_at
    # and merge_at it goes to the review queue.
    merge_at: float = Field(default=MERGE_THRESHOLD, gt=0, le=1)
    review_at: float = Field(default=REVIEW_THRESHOLD, gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Identity:
        if self.review_at >= self.merge_at:
            raise ValueError("review_at must be below merge_at")
        return self


class Settings(_Strict):
    """Everything in fieldrelay.yaml."""

    # The shop this deployment serves; every row carries it.
    account_id: str = Field(default="default", min_length=1, max_length=64)
    business: Business
    # Region of phone numbers written without a country code.
    default_phone_region: str = "US"
    messaging: Messaging = Messaging()
    retry: RetryPolicy = RetryPolicy()
    worker: WorkerSettings = WorkerSettings()
    connectors: Connectors = Connectors()
    review_request: ReviewRequest = ReviewRequest()
    # A larger webhook body gets 413.
    max_webhook_bytes: int = Field(default=1_000_000, ge=1024)
    # Connection, header, body and keep-alive bounds of `serve`, and per-statement and lock timeouts (rules/limits.py).
    server: ServerLimits = ServerLimits()
    database: DatabaseTimeouts = DatabaseTimeouts()
    # Texts reach a customer only inside this window of their local day (their time zone from the ZIP code, else the
    # shop's); one due outside it waits for the next opening.
    text_hours: Window = "08:00-21:00"
    field_mapping: FieldMapping = FieldMapping.model_validate(DEFAULT_FIELD_MAPPING)
    pipeline: Pipeline = Pipeline()
    job_texts: JobTexts = JobTexts()
    # renewal_scheduling writes renewal_due_on this many months after the payment.
    renewal_after_months: int = Field(default=12, ge=1, le=120)
    enrichment: Enrichment = Enrichment()
    identity: Identity = Identity()
    team: Team = Field(default_factory=list)
    sop: Sop = Sop()
    # Outside CRMs (HubSpot, Salesforce, a signed webhook) that receive the mapped changes (rules/crm.py).
    crm: Crm = Crm()
    # A customer is stale when a field event about them, received longer ago than this, is not in the CRM yet.
    stale_after_minutes: float = Field(default=15.0, gt=0)
    # The address vendors post to when the service sits behind a proxy or tunnel (Twilio signs the full URL).
    public_base_url: str | None = None
    # The referral program (rules/referrals.py): off unless configured.
    referrals: Referrals = Referrals()
    # Follow-up sequences and their templates (rules/sequences.py); the defaults are the packaged default.yaml's.
    followup: Followup = Field(default_factory=lambda: Followup.model_validate(packaged_section("followup")))
    sequences: dict[str, Sequence] = Field(
        default_factory=lambda: {k: Sequence.model_validate(v) for k, v in packaged_section("sequences").items()}
    )
    templates: dict[str, Template] = Field(
        default_factory=lambda: {k: Template.model_validate(v) for k, v in packaged_section("templates").items()}
    )
    # The packaged demo shop's file says true: `serve` and `worker` refuse it without --demo, so real customers are
    # never texted under the demo shop's name. `fieldrelay init` writes a file without it.
    demo: bool = False

    @field_validator("templates", mode="before")
    @classmethod
    def _over_packaged(cls, value: object) -> object:
        # A file names only the templates it changes; every other one keeps its packaged text.
        if isinstance(value, dict):
            return {**packaged_section("templates"), **value}
        return value

    @model_validator(mode="wrap")
    @classmethod
    def _templates_exist(cls, data: Any, handler: ModelWrapValidatorHandler[Settings]) -> Settings:
        settings = handler(data)
        sequences = data.get("sequences") if isinstance(data, dict) else None
        written = set(sequences) if isinstance(sequences, dict) else set()
        problems = check_references(settings.sequences, settings.templates, written)
        if problems:
            raise LocatedProblems(problems)
        return settings
