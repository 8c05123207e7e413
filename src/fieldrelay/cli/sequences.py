"""``fieldrelay sequences``: the configured sequences, who is on which step and why they left, and a dry run."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

import structlog
import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy import Connection

from fieldrelay.cli import lookup
from fieldrelay.cli.common import ConfigOpt, DbOpt, console, open_runtime
from fieldrelay.rules.config import Settings
from fieldrelay.rules.sequences import Step, parse_duration
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.outreach import texts
from fieldrelay.service.records import JobRecord
from fieldrelay.service.sequences import enrolment as sequences
from fieldrelay.storage.mirror import SqlMirror
from fieldrelay.storage.sequences import queries as sequence_queries
from fieldrelay.storage.sequences.queries import EnrollmentView, Replayed

sequences_app = typer.Typer(
    help="Follow-up sequences: the library, who is on which step and why they left, a dry run.", no_args_is_help=True
)

# Enrolments a preview makes carry this subject key, so a real enrolment of the same job never hides one.
PREVIEW_PREFIX = "preview:"


class EnrollmentStatus(StrEnum):
    """Where an enrolment stands."""

    active = "active"
    completed = "completed"
    exited = "exited"


def local_time(value: datetime | None, zone: ZoneInfo) -> str:
    """An instant in the shop's time zone, as a person reads it."""
    return value.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z") if value is not None else ""


def conditions(step: Step) -> str:
    """A step's ``when`` conditions and timing rules in words."""
    parts = []
    if step.when:
        text = "if " + " and ".join(c.replace("_", " ") for c in step.when)
        parts.append(text + (", else exit" if step.otherwise == "exit" else ""))
    if step.until is not None:
        parts.append(f"until {step.until}")
    if step.align != "none":
        parts.append("in business hours" if step.align == "business_hours" else "in the service's season")
    if step.expects == "rating":
        parts.append("reply read as a rating")
    return "; ".join(parts)


def add_row(table: Table, *cells: str) -> None:
    """A table row of plain text (a template name in brackets is not Rich markup)."""
    table.add_row(*(Text(cell) for cell in cells))


def _describe_step(step: Step) -> str:
    what = step.task.title if step.task is not None else step.template
    when = f" if {' and '.join(step.when)}" if step.when else ""
    return f"{step.after} {step.channel}[{what}]{when}"


def _what(step: Step) -> str:
    if step.task is not None:
        return f"{step.task.title} ({step.task.role}, due in {step.task.due_in})"
    return str(step.template)


@sequences_app.command("list")
def list_sequences(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """The configured sequences: trigger, category, steps and exit rules."""
    settings = open_runtime(db, config, migrate=False).settings
    if not settings.sequences:
        console.print("No sequences are configured.")
        return
    table = Table(title=f"Sequences ({len(settings.sequences)})")
    for column in ("name", "trigger", "category", "steps", "exits on"):
        table.add_column(column)
    for name, sequence in settings.sequences.items():
        trigger = sequence.trigger + (" (from the renewal date)" if sequence.anchor == "renewal_due" else "")
        add_row(
            table,
            name + ("" if sequence.enabled else " (off)"),
            trigger,
            sequence.category,
            "\n".join(_describe_step(step) for step in sequence.steps),
            ", ".join(sequence.exit_on),
        )
    console.print(table, highlight=False)


@sequences_app.command("status")
def status(
    config: ConfigOpt = None,
    db: DbOpt = None,
    customer: Annotated[
        str | None, typer.Option("--customer", help="only this customer's enrolments (id, phone, email or name)")
    ] = None,
    sequence: Annotated[str | None, typer.Option("--sequence", help="only this sequence")] = None,
    state: Annotated[EnrollmentStatus | None, typer.Option("--status", help="active, completed or exited")] = None,
    limit: Annotated[int, typer.Option(help="enrolments to show, newest first", min=1)] = 50,
) -> None:
    """Enrolments: who is on which step, what comes next and when, and why they left."""
    runtime = open_runtime(db, config, migrate=False)
    zone = ZoneInfo(runtime.settings.business.time_zone)
    customer_id = lookup.customer(runtime, customer) if customer is not None else None
    with runtime.engine.connect() as conn:
        items = sequence_queries.list_enrollments(
            conn,
            runtime.settings.account_id,
            customer_id=customer_id,
            sequence=sequence,
            status=state.value if state is not None else None,
            limit=limit,
        )
    if not items:
        console.print("No enrolments match.")
        return
    table = Table(title=f"Enrolments ({len(items)})")
    for column in ("customer", "sequence", "status", "next step", "due", "held", "last step", "done", "exit reason"):
        table.add_column(column)
    for item in items:
        add_row(
            table,
            item.customer_name,
            item.sequence,
            item.status,
            item.next_step or _waiting(item),
            local_time(item.next_due_at, zone),
            item.held["reason"] if item.held else "",
            item.last_step or "",
            local_time(item.last_step_at, zone),
            item.exit_reason or _why_done(item),
        )
    console.print(table, highlight=False)


def _waiting(item: EnrollmentView) -> str:
    """An active enrolment past its last step waits for a person to close the call it opened."""
    return "waits for its call to be closed (fieldrelay tasks)" if item.status == "active" else ""


def _why_done(item: EnrollmentView) -> str:
    if item.status == "completed" and item.last_step is None:
        return "every step was skipped (see the timeline)"
    return ""


@dataclass(frozen=True)
class PlannedStep:
    """One step of a preview enrolment, with when it would fall due."""

    customer: str
    sequence: str
    step: str
    due: datetime | None
    channel: str
    what: str
    conditions: str


@dataclass(frozen=True)
class Refusal:
    """A sequence a trigger would start but whose entry filter keeps the customer out."""

    customer: str
    sequence: str
    trigger: str
    reason: str


@sequences_app.command("preview")
def preview(
    config: ConfigOpt = None,
    db: DbOpt = None,
    since: Annotated[str, typer.Option(help="the window replayed, like 30d or 48h")] = "30d",
    at: Annotated[str | None, typer.Option(help="preview as of this time, ISO 8601 (default: now)")] = None,
) -> None:
    """A dry run that sends nothing: the window's triggers replayed, every step they would plan shown."""
    try:
        window = parse_duration(since)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from exc
    if window <= timedelta(0):
        raise typer.BadParameter("the window must be longer than zero", param_hint="--since")
    runtime = open_runtime(db, config, migrate=False)
    now = _moment(at) or runtime.clock.now()
    settings = runtime.settings
    with runtime.engine.connect() as conn:
        # One transaction, always rolled back: the enrolments, timers and timeline rows of the replay never last.
        transaction = conn.begin()
        try:
            ctx = HandlerContext(store=SqlMirror(conn, settings.account_id, now), now=now, settings=settings)
            with _quiet_logs():  # the refusals the engine logs are shown in a table of their own
                replayed, refusals = _replay(conn, ctx, now - window)
            planned = [
                step
                for view in sequence_queries.list_enrollments(
                    conn, settings.account_id, subject_prefix=PREVIEW_PREFIX, limit=100_000
                )
                for step in _project(ctx, view)
            ]
        finally:
            transaction.rollback()
    _print_preview(settings, since, replayed, planned, refusals)


@contextmanager
def _quiet_logs() -> Iterator[None]:
    """Only warnings and worse from structlog for a while; the configuration before is restored after."""
    before = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        yield
    finally:
        structlog.configure(**before)


def _moment(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise typer.BadParameter(f"{raw!r} is not an ISO 8601 time", param_hint="--at") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _replay(conn: Connection, ctx: HandlerContext, since: datetime) -> tuple[int, list[Refusal]]:
    """Start the sequences each trigger of the window would start; how many triggers, and who was kept out."""
    account = ctx.settings.account_id
    refusals: list[Refusal] = []
    items = sequence_queries.triggers_since(conn, account, since, ctx.now)
    for item in items:
        job, anchor, context = _inputs(conn, ctx, item)
        for name, sequence in ctx.settings.sequences.items():
            if sequence.enabled and sequence.trigger == item.trigger:
                reason = sequences.entry_refused(ctx, sequence, item.customer_id, job, context)
                if reason is not None:
                    refusals.append(Refusal(_customer_name(ctx, item.customer_id), name, item.trigger, reason))
        sequences.on_trigger(
            ctx,
            item.trigger,
            customer_id=item.customer_id,
            at=item.at,
            job=job,
            subject_key=f"{PREVIEW_PREFIX}{item.trigger}:{item.ref}",
            anchor_at=anchor,
            context=context,
        )
    return len(items), refusals


def _inputs(
    conn: Connection, ctx: HandlerContext, item: Replayed
) -> tuple[JobRecord | None, datetime | None, dict[str, object]]:
    """The job, anchor and context a trigger starts sequences with (a rating: those of the question it answered)."""
    if item.job_id is not None:
        return ctx.store.get_job(item.job_id), None, {}
    for enrollment in ctx.store.enrollments_of(item.customer_id, ("active", "completed", "exited")):
        rating = enrollment.context.get("rating")
        asked = enrollment.last_step_at
        if isinstance(rating, int) and asked is not None and asked <= item.at:
            job = ctx.store.get_job(enrollment.job_id) if enrollment.job_id else None
            return job, enrollment.anchor_at, {"rating": rating}
    stored = ctx.store.fields_of(item.customer_id).get(sequences.RATING_FIELD)
    context: dict[str, object] = {"rating": stored.value} if stored is not None else {}
    job_id = sequence_queries.latest_job_id(conn, ctx.settings.account_id, item.customer_id, before=item.at)
    return (ctx.store.get_job(job_id) if job_id else None), None, context


def _customer_name(ctx: HandlerContext, customer_id: str) -> str:
    customer = ctx.store.get_customer(customer_id)
    return " ".join(p for p in (customer.first_name, customer.last_name) if p) or customer_id[:8]


def _project(ctx: HandlerContext, view: EnrollmentView) -> list[PlannedStep]:
    """Every step of a preview enrolment: the first pending one at its timer's time, later ones from the anchor."""
    sequence = ctx.settings.sequences.get(view.sequence)
    if sequence is None:
        return []
    planned = []
    for index, step in enumerate(sequence.steps):
        due: datetime | None
        notes = conditions(step)
        if view.status != "active" or index < view.next_step_index:
            due, notes = None, "; ".join(part for part in ("skipped when planned", notes) if part)
        elif index == view.next_step_index and view.next_due_at is not None:
            due = view.next_due_at
        else:
            due = max(view.anchor_at + step.offset, ctx.now)
            if step.channel == "sms":
                due = texts.within_text_hours(ctx, view.customer_id, due)
        planned.append(PlannedStep(view.customer_name, view.sequence, step.name, due, step.channel, _what(step), notes))
    return planned


def _print_preview(
    settings: Settings, since: str, replayed: int, planned: list[PlannedStep], refusals: list[Refusal]
) -> None:
    zone = ZoneInfo(settings.business.time_zone)
    console.print(
        f"Dry run over the last {since}: {replayed} trigger{'s' if replayed != 1 else ''} replayed; "
        "nothing was sent and nothing was kept.",
        highlight=False,
    )
    if not planned:
        console.print("No sequence would start.")
    else:
        table = Table(title=f"Steps that would be planned ({len(planned)})")
        for column in ("customer", "sequence", "step", "when", "channel", "what", "conditions"):
            table.add_column(column)
        ordered = sorted(planned, key=lambda p: (p.customer, p.sequence))  # stable: steps stay in order
        for p in ordered:
            add_row(table, p.customer, p.sequence, p.step, local_time(p.due, zone), p.channel, p.what, p.conditions)
        console.print(table, highlight=False)
    if refusals:
        table = Table(title=f"Would not enrol ({len(refusals)})")
        for column in ("customer", "sequence", "trigger", "why"):
            table.add_column(column)
        for r in refusals:
            add_row(table, r.customer, r.sequence, r.trigger, r.reason)
        console.print(table, highlight=False)
