"""Apply the field-mapping table (rules/mapping.py): write the CRM fields an event maps to.

A row's triggers that compute fields (renewal date, scheduling request) run here; the texts a row triggers (review
request, confirmation, ETA, payment reminder) are outreach's reaction to the same change (bus.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from fieldrelay.domain.enrichment.fill import equipment_from_line_items, rule_source, vendor_source
from fieldrelay.rules.mapping import LITERAL_PREFIX, SPECIAL_FIELDS
from fieldrelay.service.changes import RecordChanged
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.records import FieldWrite, StoredField

MAPPING_SOURCE = rule_source("field_mapping")  # a literal or a figure computed by fieldrelay, not said by a vendor


def on_change(ctx: HandlerContext, change: RecordChanged) -> RecordChanged:
    """Write the fields the change's mapping row names; the change, with the names of the fields written."""
    return replace(change, written=apply(ctx, change))


def apply(ctx: HandlerContext, applied: RecordChanged) -> frozenset[str]:
    """Write the event's mapped fields (an older event never overwrites a newer value) and the fields its triggers
    compute; return the names of the fields written."""
    row = ctx.settings.field_mapping.row(applied.event)
    if not row.write and not row.trigger:
        return frozenset()
    # Read once and written once per event: a row sets several fields, each checked against the value it replaces.
    held = ctx.store.fields_of(applied.customer_id)
    writes: dict[str, FieldWrite] = {}
    for name, source in row.write.items():
        if name in SPECIAL_FIELDS:
            _special(ctx, applied, held, writes, name, source)
        else:
            _write(ctx, applied, held, writes, name, source)
    for action in row.trigger:
        _trigger(ctx, applied, held, writes, action)
    if writes:
        ctx.store.write_fields(applied.customer_id, writes)
    return frozenset(writes)


def local_date(ctx: HandlerContext, at: datetime) -> date:
    """The shop's calendar date at an instant."""
    return at.astimezone(ZoneInfo(ctx.settings.business.time_zone)).date()


Writes = dict[str, FieldWrite]


def _write(
    ctx: HandlerContext,
    applied: RecordChanged,
    fields: Mapping[str, StoredField],
    writes: Writes,
    name: str,
    source: str,
) -> None:
    value, origin = _resolve(ctx, applied, source)
    if value is _UNKNOWN:  # neither the event nor the stored job knows it: the field keeps what it holds
        return
    _newer(applied, fields, writes, name, value, origin)


def _resolve(ctx: HandlerContext, applied: RecordChanged, source: str) -> tuple[object, str]:
    """The value a row's source names for this event (``UNKNOWN`` when nothing tells it), and where it came from.

    Every field, tags included, resolves through here, so a source the rules accept means the same on every field.
    """
    store = ctx.store
    if source.startswith(LITERAL_PREFIX):
        return source[len(LITERAL_PREFIX) :], MAPPING_SOURCE
    if source == "customer.open_balance_cents":
        return store.open_balance_cents(applied.customer_id), MAPPING_SOURCE
    if source == "customer.next_appointment_at":
        return _json(store.next_appointment_at(applied.customer_id)), MAPPING_SOURCE
    return _json(_value(applied, source)), vendor_source(applied.source)


def _newer(
    applied: RecordChanged, fields: Mapping[str, StoredField], writes: Writes, name: str, value: object, origin: str
) -> None:
    """Plan the write unless a later event already wrote the field; an equal value still moves its as-of time on."""
    held = fields.get(name)
    if held is not None and held.value_at is not None and applied.occurred_at < held.value_at:
        return
    if held is not None and (held.value, held.source, held.value_at) == (value, origin, applied.occurred_at):
        return
    writes[name] = FieldWrite(value, origin, applied.occurred_at)


class _Unknown:
    """The value of a source that neither the event nor the stored job can tell."""

    def __repr__(self) -> str:
        return "UNKNOWN"


_UNKNOWN = _Unknown()


def _value(applied: RecordChanged, source: str) -> object:
    """The value a source names, from the event's job snapshot, else the stored job, which holds what earlier events
    said (a payment matched by the payment processor carries no snapshot at all)."""
    snap, job = applied.job_snapshot, applied.job
    match source:
        case "event.occurred_at":
            return applied.occurred_at
        case "event.amount_cents":
            return applied.amount_cents
        case "event.reason":
            return applied.reason
        case "job.scheduled_start":
            return (snap and snap.scheduled_start) or (job and job.scheduled_start)
        case "job.scheduled_end":
            return (snap and snap.scheduled_end) or (job and job.scheduled_end)
        case "job.service_type":
            return (snap and snap.service_type) or (job and job.service_type)
        case "job.description":
            return (snap and snap.description) or (job and job.description)
        case "job.technicians":
            return list((snap and snap.technicians) or (job and job.technicians) or ())
        case "job.total_cents":
            return snap.total_cents if snap and snap.total_cents is not None else job and job.total_cents
        case "job.balance_cents":
            return snap.balance_cents if snap and snap.balance_cents is not None else job and job.balance_cents
        case "job.line_items":
            return _line_items(applied)
        case "estimate.number":
            return applied.estimate and applied.estimate.number
        case "estimate.total_cents":
            return applied.estimate and applied.estimate.total_cents
        case "lead.service":
            return applied.lead and applied.lead.service
        case "lead.channel":
            return applied.lead and (applied.lead.channel or applied.lead.source)
    return None  # "none": the row clears the field


def _line_items(applied: RecordChanged) -> list[str] | _Unknown:
    """The job's line items: the event's, else the ones the stored job kept from an earlier event.

    ``UNKNOWN`` for an event without a job snapshot (a payment matched by the payment processor) on a job stored
    before its line items were kept (migration 0008): the event does not say them, so they must not clear the field.
    """
    snap, job = applied.job_snapshot, applied.job
    if snap is not None and snap.line_items:
        return list(snap.line_items)
    if job is not None and job.line_items:
        return list(job.line_items)
    if snap is None and (job is None or job.line_items is None):
        return _UNKNOWN
    return []  # the job has no line items as far as any event said


def _tag(value: object) -> str:
    """The tag a resolved value makes: words or a number; nothing for a missing value (no tag "None")."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return str(value).strip()


def _json(value: object) -> object:
    """A value as it is stored in a JSON column: instants in ISO 8601."""
    return value.isoformat() if isinstance(value, datetime | date) else value


def _special(
    ctx: HandlerContext,
    applied: RecordChanged,
    fields: Mapping[str, StoredField],
    writes: Writes,
    name: str,
    source: str,
) -> None:
    store, job = ctx.store, applied.job
    if name == "tags":
        tag = _tag(_resolve(ctx, applied, source)[0])
        held = fields.get("tags")
        tags = list(held.value) if held is not None and isinstance(held.value, list) else []
        if tag and tag not in tags:
            writes["tags"] = FieldWrite([*tags, tag], MAPPING_SOURCE, applied.occurred_at)
        return
    if job is None:
        return
    lines = _line_items(applied)
    line_items = lines if isinstance(lines, list) else []
    if name == "service_history":
        store.add_service_history(
            applied.customer_id,
            job.id,
            applied.occurred_at,
            job.service_type,
            job.description,
            list(job.technicians),
            line_items,
        )
    elif name == "equipment":
        # Rules read the line items, and the job's own words where the field tool sent no lines ("Furnace install").
        items = line_items or [text for text in (job.description, job.service_type) if text]
        rules = [rule.rule() for rule in ctx.settings.enrichment.equipment_rules]
        for found in equipment_from_line_items(items, local_date(ctx, applied.occurred_at), rules):
            if store.add_equipment(
                applied.customer_id, job.id, found.equipment, found.installed_on, found.warranty_ends_on, found.source
            ):
                until = f", warranty to {found.warranty_ends_on:%Y-%m-%d}" if found.warranty_ends_on else ""
                store.add_activity(
                    applied.customer_id,
                    applied.occurred_at,
                    "equipment.recorded",
                    f"Equipment recorded: {found.equipment}{until} (rule {found.rule}: {found.line_item!r})",
                    "fieldrelay",
                    True,
                )


def _trigger(
    ctx: HandlerContext, applied: RecordChanged, fields: Mapping[str, StoredField], writes: Writes, action: str
) -> None:
    store = ctx.store
    if action == "renewal_scheduling":
        due = _add_months(local_date(ctx, applied.occurred_at), ctx.settings.renewal_after_months)
        _newer(applied, fields, writes, "renewal_due_on", due.isoformat(), rule_source(action))
    elif action == "scheduling_trigger":
        number = f" #{applied.estimate.number}" if applied.estimate and applied.estimate.number else ""
        _newer(applied, fields, writes, "scheduling_requested_at", _json(applied.occurred_at), rule_source(action))
        store.add_activity(
            applied.customer_id,
            applied.occurred_at,
            "work.to_schedule",
            f"Estimate{number} approved: schedule the work",
            "fieldrelay",
            True,
        )


def _add_months(start: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it has fewer days)."""
    year, month = divmod(start.month - 1 + months, 12)
    target_year, target_month = start.year + year, month + 1
    day = start.day
    while True:
        try:
            return date(target_year, target_month, day)
        except ValueError:
            day -= 1
