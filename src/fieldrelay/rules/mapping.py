"""The field-mapping table: which canonical event writes which CRM field, and which action it can trigger.

One table for the built-in CRM and, later, HubSpot and Salesforce writes, so a mapping is written once. Each row is
keyed by an event name (``job.booked`` …) and says ``write: {crm_field: value_source}`` and ``trigger: [action]``.
Every name is checked against the vocabularies below, so a typo is a line-numbered error from ``fieldrelay check``
rather than a field that silently never updates.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from fieldrelay.rules.problems import Loc, LocatedProblems

JOB_EVENTS = (
    "job.booked",
    "job.rescheduled",
    "job.dispatched",
    "job.arrived",
    "job.completed",
    "job.invoiced",
    "job.paid",
    "job.cancelled",
)
ESTIMATE_EVENTS = ("estimate.sent", "estimate.accepted", "estimate.declined")
LEAD_EVENTS = ("lead.received",)
MAPPED_EVENTS = JOB_EVENTS + ESTIMATE_EVENTS + LEAD_EVENTS

# Where a value comes from, and which events carry it. ``text:<words>`` is a literal; ``none`` clears the field.
_EVERY_EVENT = frozenset(MAPPED_EVENTS)
_JOB = frozenset(JOB_EVENTS)
VALUE_SOURCES: dict[str, frozenset[str]] = {
    "event.occurred_at": _EVERY_EVENT,
    "event.amount_cents": frozenset({"job.invoiced", "job.paid"}),
    "event.reason": frozenset({"job.cancelled"}),
    "job": _JOB,  # the whole job, for service_history
    "job.scheduled_start": _JOB,
    "job.scheduled_end": _JOB,
    "job.service_type": _JOB,
    "job.description": _JOB,
    "job.technicians": _JOB,
    "job.total_cents": _JOB,
    "job.balance_cents": _JOB,
    "job.line_items": _JOB,
    "estimate.number": frozenset(ESTIMATE_EVENTS),
    "estimate.total_cents": frozenset(ESTIMATE_EVENTS),
    "lead.service": frozenset(LEAD_EVENTS),
    "lead.channel": frozenset(LEAD_EVENTS),
    "customer.open_balance_cents": _EVERY_EVENT,  # what the customer owes across open jobs, after this event
    "customer.next_appointment_at": _EVERY_EVENT,  # the earliest appointment among the customer's open jobs
    "none": _EVERY_EVENT,
}
LITERAL_PREFIX = "text:"

# The sources that do not give one value, and what they give instead: a field that takes "any scalar source" refuses
# them (the whole job would resolve to nothing and clear the field; a list is not a status or a service type).
NOT_SCALAR: dict[str, str] = {
    "job": "the whole job",
    "job.technicians": "a list of names",
    "job.line_items": "a list of line items",
}
# What a tag may be read from besides a literal: words that label the customer (the kind of work, what a lead asked
# for, where it came from). A tag is added and never removed, so a figure or a time (a balance, an appointment) would
# leave a stale tag behind for every value it ever had, and ``none`` would clear nothing.
TAG_SOURCES = frozenset({"job.service_type", "lead.service", "lead.channel"})

# The built-in CRM's fields a mapping may write, and the sources each accepts (None: any scalar source).
# ``service_history`` appends an entry per job; ``equipment`` runs the equipment rules over the job's line items;
# ``tags`` adds a tag (never removes one).
CRM_FIELDS: dict[str, frozenset[str] | None] = {
    "next_appointment_at": frozenset({"customer.next_appointment_at", "job.scheduled_start", "none"}),
    "service_type": None,
    "assigned_technician": frozenset({"job.technicians", "none"}),
    "eta": frozenset({"job.scheduled_start", "event.occurred_at", "none"}),
    "service_history": frozenset({"job"}),
    "equipment": frozenset({"job.line_items"}),
    "balance_cents": frozenset(
        {"customer.open_balance_cents", "job.balance_cents", "event.amount_cents", "job.total_cents"}
    ),
    "line_items": frozenset({"job.line_items"}),
    "account_status": None,
    "last_paid_at": frozenset({"event.occurred_at"}),
    "last_service_at": frozenset({"event.occurred_at"}),
    "last_cancellation_reason": frozenset({"event.reason", "none"}),
    "last_estimate_total_cents": frozenset({"estimate.total_cents"}),
    "interested_in": None,
    "tags": TAG_SOURCES,
}
SPECIAL_FIELDS = frozenset({"service_history", "equipment", "tags"})
# The fields that take a literal (``text:<words>``): the free-text ones, and tags.
LITERAL_FIELDS = frozenset({name for name, accepted in CRM_FIELDS.items() if accepted is None} | {"tags"})

# Actions a row can trigger, and the events each may hang on. Texts go through the same durable timer → re-check →
# outbox path as the review request (service/outreach/job_texts.py); the others write what the next step needs.
ACTIONS: dict[str, frozenset[str]] = {
    "confirmation_text": frozenset({"job.booked", "job.rescheduled"}),
    "eta_text": frozenset({"job.dispatched"}),
    "review_request": frozenset({"job.paid"}),
    "payment_reminder": frozenset({"job.invoiced"}),
    "renewal_scheduling": frozenset({"job.paid"}),
    "scheduling_trigger": frozenset({"estimate.accepted"}),
}
Action = Literal[
    "confirmation_text", "eta_text", "review_request", "payment_reminder", "renewal_scheduling", "scheduling_trigger"
]


class MappingRow(BaseModel):
    """One row: the CRM fields an event writes and the actions it may trigger."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # crm_field: value_source, written when the event is applied (an older event never overwrites a newer value).
    write: dict[str, str] = Field(default_factory=dict)
    # Actions the event sets off (texts, review request, renewal scheduling).
    trigger: list[Action] = Field(default_factory=list)
    # Fields an outside CRM keeps when fieldrelay clears them ("never clear"): an empty value is not sent for them,
    # whichever event emptied it. By default a cleared field is cleared at the CRM too.
    never_clear: list[str] = Field(default_factory=list)


_EMPTY_ROW = MappingRow()


def check_row(event: str, row: MappingRow) -> list[tuple[Loc, str]]:
    """Every problem with one row (where in the row, what is wrong), in words a shop owner can act on."""
    problems: list[tuple[Loc, str]] = []
    for name, source in row.write.items():
        where: Loc = ("write", name)
        if name not in CRM_FIELDS:
            problems.append((where, f"unknown CRM field (known: {', '.join(sorted(CRM_FIELDS))})"))
            continue
        if source.startswith(LITERAL_PREFIX):
            if name not in LITERAL_FIELDS:
                problems.append((where, "takes a value from the event, not a literal"))
            elif not source[len(LITERAL_PREFIX) :].strip():
                problems.append((where, "the literal after 'text:' is empty"))
            continue
        carriers = VALUE_SOURCES.get(source)
        accepted = CRM_FIELDS[name]
        if carriers is None:
            known = ", ".join(sorted(VALUE_SOURCES))
            problems.append((where, f"unknown value source {source!r} (known: {known}, or text:<words>)"))
        elif event not in carriers:
            problems.append((where, f"{event} does not carry {source}"))
        elif accepted is None and source in NOT_SCALAR:
            problems.append(
                (where, f"{name} takes one value (words, a number or a time), not {source}: {NOT_SCALAR[source]}")
            )
        elif name == "tags" and source not in TAG_SOURCES:
            problems.append((where, _tag_problem(source)))
        elif accepted is not None and source not in accepted:
            problems.append((where, f"takes {' or '.join(sorted(accepted))}, not {source}"))
    for index, name in enumerate(row.never_clear):
        if name not in CRM_FIELDS:
            problems.append((("never_clear", index), f"unknown CRM field (known: {', '.join(sorted(CRM_FIELDS))})"))
    for index, action in enumerate(row.trigger):
        if event not in ACTIONS[action]:
            follows = ", ".join(sorted(ACTIONS[action]))
            problems.append((("trigger", index), f"{action} cannot follow {event} (it follows {follows})"))
    return problems


def _tag_problem(source: str) -> str:
    """Why tags refuses ``source``, and what it takes."""
    takes = f"text:<words> or {' or '.join(sorted(TAG_SOURCES))}"
    if source == "none":
        return (
            f"tags are only ever added, never removed: 'none' clears nothing (leave tags out of the row); takes {takes}"
        )
    return (
        f"tags takes {takes}, not {source}: a tag is a label that is never removed, so a value that changes "
        "(a figure, a time, free text) would leave a stale tag behind for every value it had"
    )


class FieldMapping(RootModel[dict[str, MappingRow]]):
    """The whole table: event name → row. Events without a row write nothing and trigger nothing."""

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="after")
    def _known_names(self) -> FieldMapping:
        problems: list[tuple[Loc, str]] = []
        for event, row in self.root.items():
            if event not in MAPPED_EVENTS:
                problems.append(((event,), f"unknown event (known: {', '.join(MAPPED_EVENTS)})"))
                continue
            problems.extend(((event, *where), message) for where, message in check_row(event, row))
        if problems:
            raise LocatedProblems(problems)
        return self

    @property
    def rows(self) -> dict[str, MappingRow]:
        """Event name → row, as the shop wrote them."""
        return self.root

    def row(self, event: str) -> MappingRow:
        """The row of an event, empty when the table has none."""
        return self.root.get(event) or _EMPTY_ROW

    @property
    def never_clear(self) -> frozenset[str]:
        """The fields any row says never to clear at an outside CRM."""
        return frozenset(name for row in self.root.values() for name in row.never_clear)


# The shop playbook's default. A shop's fieldrelay.yaml replaces it as a whole when it has a field_mapping section.
DEFAULT_FIELD_MAPPING: dict[str, dict[str, object]] = {
    "job.booked": {
        "write": {"next_appointment_at": "customer.next_appointment_at", "service_type": "job.service_type"},
        "trigger": ["confirmation_text"],
    },
    "job.rescheduled": {
        "write": {"next_appointment_at": "customer.next_appointment_at"},
        "trigger": ["confirmation_text"],
    },
    "job.dispatched": {
        "write": {"assigned_technician": "job.technicians", "eta": "job.scheduled_start"},
        "trigger": ["eta_text"],
    },
    "job.completed": {
        "write": {
            "service_history": "job",
            "equipment": "job.line_items",
            "last_service_at": "event.occurred_at",
            "next_appointment_at": "customer.next_appointment_at",
        }
    },
    "job.invoiced": {
        "write": {"balance_cents": "customer.open_balance_cents", "line_items": "job.line_items"},
        "trigger": ["payment_reminder"],
    },
    "job.paid": {
        "write": {
            "account_status": "text:active",
            "last_paid_at": "event.occurred_at",
            "balance_cents": "customer.open_balance_cents",
            "tags": "text:closed-won",
        },
        "trigger": ["review_request", "renewal_scheduling"],
    },
    # Another job of the customer may still be booked: the next appointment is read from their open jobs.
    "job.cancelled": {
        "write": {"last_cancellation_reason": "event.reason", "next_appointment_at": "customer.next_appointment_at"}
    },
    "estimate.sent": {"write": {"last_estimate_total_cents": "estimate.total_cents"}},
    "estimate.accepted": {"trigger": ["scheduling_trigger"]},
    # A later enquiry naming no service keeps what an outside CRM says the customer is interested in.
    "lead.received": {"write": {"interested_in": "lead.service"}, "never_clear": ["interested_in"]},
}
