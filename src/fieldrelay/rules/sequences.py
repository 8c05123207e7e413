"""Declarative follow-up sequences: a trigger, an entry filter, timed steps with conditions, and exit rules.

A sequence enrols a customer when its trigger happens and the entry filter holds; each step falls due at an offset
from the enrolment's anchor (the trigger's time, or the renewal date), is re-checked against the mirror then, and
sends a text or an email, or opens a task for a person. Branches are steps whose ``when`` names a behaviour
(replied, opened, clicked, a rating…): a step whose conditions fail is skipped, or ends the enrolment
(``otherwise: exit``). Exit rules end it early whenever their behaviour happens. The default library lives in the
packaged ``default.yaml`` under ``sequences`` and ``templates``.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import timedelta
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Trigger = Literal[
    "job.booked",
    "job.completed",
    "job.invoiced",
    "job.paid",
    "job.cancelled",
    "estimate.no_decision",
    "rating.received",
    "referrer.enrolled",  # the referral program enrolled the customer (service/referrals/program.py)
    "referral.rewarded",  # a reward was issued to the referrer (service/referrals/rewards.py)
]
TRIGGERS: tuple[str, ...] = get_args(Trigger)
Channel = Literal["sms", "email", "task"]
Category = Literal["transactional", "marketing"]
Role = Literal["owner", "operations", "dispatcher", "office", "sales", "technician"]
# Behaviours a step can branch on, looked at when the step falls due (since the enrolment began, or for opened /
# clicked: on this enrolment's own messages).
Condition = Literal[
    "replied",
    "not_replied",
    "opened",
    "not_opened",
    "clicked",
    "not_clicked",
    "no_response",
    "unpaid",
    "no_plan",
    "not_booked_again",
]
# Behaviours that end an enrolment as soon as they happen (and are checked again before every step).
ExitRule = Literal["booked_again", "opted_out", "left_review", "became_member", "paid", "replied"]

_DURATION = re.compile(r"^(-?)(\d+(?:\.\d+)?)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """``30m``, ``48h``, ``5d`` or a negative ``-30d`` (before the anchor) as a timedelta."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 30m, 48h or 5d")
    sign, number, unit = match.groups()
    delta = timedelta(**{_UNITS[unit]: float(number)})
    return -delta if sign else delta


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Entry(_Strict):
    """Who may enrol: every filter set here must hold when the trigger happens."""

    rating_at_least: int | None = Field(default=None, ge=1, le=5)
    rating_at_most: int | None = Field(default=None, ge=1, le=5)
    # The job's total, in dollars.
    min_ticket: float | None = Field(default=None, ge=0)
    no_plan: bool = False
    # A regular expression the job's service type or description must match (case-insensitive).
    service_matches: str | None = None

    @field_validator("service_matches")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"service_matches is not a valid regular expression: {exc}") from exc
        return value


class TaskSpec(_Strict):
    """A task for a person: what to do, which role owns it, and how long they have."""

    title: str = Field(min_length=1, max_length=200)
    role: Role = "operations"
    due_in: str = "4h"

    @field_validator("due_in")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value


class Step(_Strict):
    """One step: when it falls due, what it sends or asks a person to do, and when it applies."""

    name: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")
    # Offset from the anchor: 30m, 48h, 7d, or -30d (before it).
    after: str
    # The latest a step may fall due (the seasonal offer's 90 days); a step that cannot happen by then is skipped.
    until: str | None = None
    # none, business_hours (the next opening) or season (its first month).
    align: Literal["none", "business_hours", "season"] = "none"
    channel: Channel
    # The template a text or email step sends.
    template: str | None = None
    # A task step's title, role and due_in.
    task: TaskSpec | None = None
    # Conditions checked when the step falls due.
    when: list[Condition] = Field(default_factory=list)
    # A step whose conditions fail is skipped, or ends the enrolment (exit).
    otherwise: Literal["skip", "exit"] = "skip"
    # A reply to this step's text is read as a 1-5 rating of the job.
    expects: Literal["rating"] | None = None
    # What the message is for, when another rule or sequence may ask for the same thing (payment_reminder,
    # review_request): the customer gets one message per intent, job and channel. Default: this step alone.
    intent: str | None = Field(default=None, min_length=1, max_length=40, pattern=r"^[a-z0-9_.]+$")

    @field_validator("after", "until")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @model_validator(mode="after")
    def _what_it_does(self) -> Step:
        if self.channel == "task":
            if self.task is None or self.template is not None:
                raise ValueError(f"step {self.name}: a task step needs 'task' and no 'template'")
        elif self.template is None or self.task is not None:
            raise ValueError(f"step {self.name}: a {self.channel} step needs 'template' and no 'task'")
        if self.expects == "rating" and self.channel != "sms":
            raise ValueError(f"step {self.name}: only a text can ask for a rating by reply")
        if self.until is not None and parse_duration(self.until) < parse_duration(self.after):
            raise ValueError(f"step {self.name}: 'until' ({self.until}) is before 'after' ({self.after})")
        return self

    @property
    def offset(self) -> timedelta:
        """How long after the anchor the step falls due."""
        return parse_duration(self.after)

    @property
    def latest(self) -> timedelta | None:
        """The latest offset the step may fall due at, if any."""
        return parse_duration(self.until) if self.until else None


class Sequence(_Strict):
    """A trigger, who may enrol, how marketing it is, when it ends early, and its steps in time order."""

    description: str = ""
    enabled: bool = True
    # The event that enrols a customer (when the entry filter holds).
    trigger: Trigger
    # event: offsets count from the trigger; renewal_due: from the renewal date (renewal_after_months after it).
    anchor: Literal["event", "renewal_due"] = "event"
    # marketing: consent, quiet hours and the weekly cap apply; transactional: only the channel's own opt-out.
    category: Category
    # promised: each step goes out at its time (the weekly cap counts it but does not hold it back); discretionary:
    # steps wait for room under the weekly cap and a day after the last marketing touch (seasonal offers, invites).
    timing: Literal["promised", "discretionary"] = "promised"
    entry: Entry = Entry()
    # Behaviours that end an enrolment as soon as they happen.
    exit_on: list[ExitRule] = Field(default_factory=list)
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> Sequence:
        names = [s.name for s in self.steps]
        if len(set(names)) != len(names):
            raise ValueError(f"step names repeat: {', '.join(sorted({n for n in names if names.count(n) > 1}))}")
        offsets = [s.offset for s in self.steps]
        if offsets != sorted(offsets):
            raise ValueError("steps must be listed in the order they fall due ('after' never decreasing)")
        return self


class Template(_Strict):
    """A message template (Jinja2): a text's body, or an email's subject and body."""

    channel: Literal["sms", "email"]
    subject: str | None = None
    # Jinja2, sandboxed (an unknown name is an error): business_name, first_name, service, booking_url, review_url, and
    # per sequence plan, plan_url, season, balance, renewal_date.
    body: str = Field(min_length=1)

    @model_validator(mode="after")
    def _subject(self) -> Template:
        if (self.channel == "email") != (self.subject is not None):
            raise ValueError("an email template needs a subject; a text template has none")
        return self


class Season(_Strict):
    """The months a kind of service is offered in (AC tune-ups in spring, furnace checks in autumn)."""

    name: str
    # The offer goes out in the first month of the season of the job's service (first match wins), 30-90 days after the
    # job.
    match: str
    months: list[int] = Field(min_length=1)

    @field_validator("months")
    @classmethod
    def _months(cls, value: list[int]) -> list[int]:
        if any(not 1 <= m <= 12 for m in value):
            raise ValueError("months are 1 to 12")
        return value


class Plan(_Strict):
    """A maintenance plan the shop sells, offered after a service that matches."""

    name: str
    # The plan offered for a service whose name matches (first match wins).
    match: str
    url: str | None = None


class Followup(_Strict):
    """What the sequences need to know about the shop: seasons, plans, review links, how ratings are read."""

    seasons: list[Season] = Field(default_factory=list)
    plans: list[Plan] = Field(default_factory=list)
    # A paid job whose service matches this means the customer now holds a maintenance plan.
    plan_purchase_matches: str = r"maintenance plan|membership|service agreement|club"
    # Review links by lead source (yelp, facebook…); everyone else gets review_request.review_url (Google).
    review_links: dict[str, str] = Field(default_factory=dict)
    # The link texts offer for booking (booking_url in templates).
    booking_url: str | None = None
    # A reply this long after a rating question is no longer read as a rating.
    rating_reply_hours: float = Field(default=72.0, gt=0)


def check_references(
    sequences: dict[str, Sequence], templates: dict[str, Template], written: Collection[str] | None = None
) -> list[tuple[tuple[str | int, ...], str]]:
    """Problems between sequences and templates: a missing template, or one for the wrong channel.

    ``written`` names the sequences the file itself holds (None: all). A sequence the file does not hold is a packaged
    one, so its problem comes from a template the file overrides: it is placed on that template, where the line is.
    """
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for name, sequence in sequences.items():
        for index, step in enumerate(sequence.steps):
            if step.template is None:
                continue
            template = templates.get(step.template)
            where: tuple[str | int, ...] = ("sequences", name, "steps", index, "template")
            if template is None:
                problems.append((where, f"no template named {step.template!r} (templates: {', '.join(templates)})"))
            elif template.channel != step.channel and written is not None and name not in written:
                problems.append(
                    (
                        ("templates", step.template, "channel"),
                        f"template {step.template!r} is for {template.channel}, but the packaged sequence {name} "
                        f"sends it by {step.channel} (step {step.name})",
                    )
                )
            elif template.channel != step.channel:
                problems.append((where, f"template {step.template!r} is for {template.channel}, not {step.channel}"))
    return problems
