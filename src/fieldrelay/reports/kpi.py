"""The KPI report printed by ``fieldrelay report`` and at the end of ``fieldrelay demo``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from fieldrelay.reports.handoff import handoff_table
from fieldrelay.reports.referrals import referral_table
from fieldrelay.reports.trends import KpiFigures, format_value, iso, kpi_figures
from fieldrelay.runtime import Runtime
from fieldrelay.service.crm.staleness import Staleness, stale_records
from fieldrelay.storage import report
from fieldrelay.storage.handoff.report import HandoffFigures, handoff_figures
from fieldrelay.storage.kpis.stale import StaleCheck, record_check
from fieldrelay.storage.referrals.report import ReferralFigures, referral_figures
from fieldrelay.storage.sequences.report import FollowupFigures, followup_figures

# How many stale records the report names (the count and rate cover all of them).
SHOWN_STALE = 10


@dataclass
class Report:
    """All figures of one report."""

    intake: dict[str, int]
    customers: int
    jobs: dict[str, int]
    staleness: Staleness
    identity: dict[str, int]
    deals: dict[str, int]
    review_lags: list[float]
    review_statuses: dict[str, int]
    followup: FollowupFigures
    where: dict[str, str] = field(default_factory=dict)
    handoff: HandoffFigures | None = None
    referrals: ReferralFigures | None = None
    stage_names: dict[str, str] = field(default_factory=dict)  # pipeline stage id → the name the shop gave it
    # Review requests held for quiet hours: (payment-to-text seconds, the moment they were moved to), and the window.
    review_held: list[tuple[float, datetime]] = field(default_factory=list)
    text_hours: str = ""
    time_zone: str = "UTC"
    kpis: KpiFigures | None = None  # every KPI over the report's window (the office app's Reports page draws these)

    @property
    def held_at(self) -> str:
        """When the held review requests went out, shop time: "08:00", or "08:00 to 08:20" when they differ."""
        zone = ZoneInfo(self.time_zone)
        times = sorted({moment.astimezone(zone).strftime("%H:%M") for _, moment in self.review_held})
        return times[0] if len(times) == 1 else f"{times[0]} to {times[-1]}" if times else "—"

    def as_json(self) -> dict[str, Any]:
        """Machine-readable form."""
        return {
            "intake": self.intake,
            "customers": self.customers,
            "jobs_by_status": self.jobs,
            "identity": self.identity,
            "deals_by_stage": self.deals,
            "stale_records": len(self.staleness.stale),
            "stale_rate": self.staleness.rate,
            "stale_after_minutes": self.staleness.stale_after_minutes,
            "stale_checked_at": iso(self.staleness.checked_at),
            "records_with_field_events": self.staleness.records,
            "stale_examples": [
                {
                    "customer_id": r.customer_id,
                    "record": r.label,
                    "reason": r.reason,
                    "since": iso(r.since),
                    "lag_minutes": round(r.lag_minutes, 1),
                }
                for r in self.staleness.stale[:SHOWN_STALE]
            ],
            "review_request_lag_seconds": {
                "p50": report.percentile(self.review_lags, 0.50),
                "p95": report.percentile(self.review_lags, 0.95),
                "count": len(self.review_lags),
            },
            "review_requests_by_status": self.review_statuses,
            "review_requests_held_for_quiet_hours": {
                "count": len(self.review_held),
                "text_hours": self.text_hours,
                "sent_at_local": sorted({iso(moment) for _, moment in self.review_held}),
            },
            "deal_stage_names": self.stage_names,
            "followup": {
                "enrollments_by_status": self.followup.enrollments,
                "sequence_messages_by_status": self.followup.messages,
                "tasks_open": self.followup.tasks_open,
                "tasks_overdue": self.followup.tasks_overdue,
                "review_asks_sent": self.followup.review_asks_out,
                "review_asks_clicked": self.followup.review_clicks,
                "review_click_rate": self.followup.review_click_rate,
            },
            "where": self.where,
            "handoff": self.handoff.as_json() if self.handoff else None,
            "referrals": self.referrals.as_json() if self.referrals else None,
            "kpis": self.kpis.as_json() if self.kpis else None,
        }


def check_stale(runtime: Runtime, now: datetime) -> Staleness:
    """Run the stale-record check as of ``now`` and keep its outcome for the trend (storage/kpis/stale.py)."""
    account = runtime.settings.account_id
    with runtime.engine.connect() as conn:
        facts = report.SqlStalenessFacts(conn, account)
        stale = stale_records(facts, runtime.inbound, now, runtime.settings.stale_after_minutes)
    with runtime.engine.begin() as conn:
        record_check(conn, account, StaleCheck(now, stale.records, len(stale.stale), stale.stale_after_minutes))
    return stale


def build_report(runtime: Runtime, now: datetime | None = None, days: int = 7) -> Report:
    """Read every figure from the database; stale records are found by re-reading the inbox as of ``now``, and the
    check's outcome is kept (storage/kpis/stale.py) for the trend the office app draws. The KPIs cover ``days``.

    ``now`` defaults to the runtime's clock: the wall clock for ``fieldrelay report``, the simulated clock's time
    where the caller runs the service on one (the demo passes it, since its service ran in another process).
    """
    settings = runtime.settings
    account = settings.account_id
    checked_at = now or runtime.clock.now()
    delay = timedelta(minutes=settings.review_request.delay_minutes)
    stale = check_stale(runtime, checked_at)
    with runtime.engine.connect() as conn:
        lags, statuses = report.review_request_lags(conn, account)
        return Report(
            intake=report.intake_counts(conn, account),
            customers=report.customer_count(conn, account),
            jobs=report.jobs_by_status(conn, account),
            staleness=stale,
            identity=report.identity_counts(conn, account),
            deals=report.deals_by_stage(conn, account),
            review_lags=lags,
            review_statuses=statuses,
            followup=followup_figures(conn, account, checked_at),
            handoff=handoff_figures(conn, account, checked_at),
            referrals=referral_figures(conn, account),
            stage_names={stage.id: stage.name for stage in settings.pipeline.stages},
            review_held=report.held_review_requests(conn, account, delay),
            text_hours=settings.text_hours,
            time_zone=settings.business.time_zone,
            kpis=kpi_figures(conn, account, checked_at, days),
        )


def _minutes(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 60:.1f} min"


def print_report(data: Report, console: Console) -> None:
    """Render the report as Rich tables."""
    intake = Table(title="Webhooks", show_header=False)
    for label, key in (
        ("received (all deliveries)", "received"),
        ("duplicates (redelivered, acknowledged, not re-applied)", "duplicates"),
        ("applied to the mirror", "applied"),
        ("logged on the timeline but not applied (older than current state)", "logged_not_applied"),
        ("ignored (event type not used)", "ignored"),
        ("in the error queue", "errors"),
        ("still pending", "pending"),
    ):
        intake.add_row(label, str(data.intake[key]))
    console.print(intake)

    mirror = Table(title="Mirror", show_header=False)
    mirror.add_row("customers", str(data.customers))
    for status, count in data.jobs.items():
        mirror.add_row(f"jobs {status}", str(count))
    check = data.staleness
    mirror.add_row(
        f"stale records (CRM lags a field event by more than {check.stale_after_minutes:g} min)",
        f"{len(check.stale)} of {check.records} ({check.rate:.1%})",
    )
    for label, key in (
        ("duplicates merged automatically", "merged_automatically"),
        ("duplicates merged by a person", "merged_by_a_person"),
        ("merges undone", "merges_undone"),
        ("possible duplicates waiting for review", "waiting_for_review"),
    ):
        mirror.add_row(label, str(data.identity[key]))
    for stage, count in data.deals.items():
        mirror.add_row(f"deals at {escape(data.stage_names.get(stage, stage))}", str(count))
    console.print(mirror)

    followups = Table(title="Review requests", show_header=False)
    followups.add_row("payment → review-request text, p50", _minutes(report.percentile(data.review_lags, 0.5)))
    followups.add_row("payment → review-request text, p95", _minutes(report.percentile(data.review_lags, 0.95)))
    if data.review_held:
        # The p95 above is mostly quiet hours: a payment in the evening is asked for a review the next morning.
        window = f" (texts go out {data.text_hours})" if data.text_hours else ""
        followups.add_row(
            f"review asks held for quiet hours{window}, sent at {data.held_at}",
            f"{len(data.review_held)} of {len(data.review_lags)}",
        )
        not_held = sorted(data.review_lags)
        for lag, _ in data.review_held:
            not_held.remove(lag)
        p95 = report.percentile(not_held, 0.95)
        followups.add_row("payment → review-request text, p95 of those not held", _minutes(p95))
    for status, count in sorted(data.review_statuses.items()):
        followups.add_row(f"review requests {status}", str(count))
    console.print(followups)
    console.print(_followup_table(data.followup))
    if data.handoff is not None:
        console.print(handoff_table(data.handoff))
    if data.referrals is not None:
        console.print(referral_table(data.referrals))
    if data.kpis is not None:
        console.print(_kpi_table(data.kpis))
    for stale in check.stale[:SHOWN_STALE]:
        console.print(
            f"[yellow]stale[/] {escape(stale.label)}: {escape(stale.reason)} "
            f"({stale.lag_minutes:.0f} min behind, threshold {check.stale_after_minutes:g} min)"
        )
    for label, value in data.where.items():
        console.print(f"{label}: {value}")


def _followup_table(figures: FollowupFigures) -> Table:
    table = Table(title="Follow-up sequences", show_header=False)
    for status in ("active", "completed", "exited"):
        table.add_row(f"enrolments {status}", str(figures.enrollments.get(status, 0)))
    for status, count in sorted(figures.messages.items()):
        table.add_row(f"sequence messages {status}", str(count))
    table.add_row("tasks open (overdue)", f"{figures.tasks_open} ({figures.tasks_overdue})")
    rate = figures.review_click_rate
    clicked = f"{figures.review_clicks} of {figures.review_asks_out}" + (f" ({rate:.0%})" if rate is not None else "")
    table.add_row("review asks whose link was clicked", clicked)
    return table


def _kpi_table(figures: KpiFigures) -> Table:
    table = Table(title=f"KPIs (last {figures.days} days)", show_header=False)
    for trend in figures.trends:
        band = f" (benchmark {trend.kpi.band.text})" if trend.kpi.band else ""
        table.add_row(f"{trend.kpi.label}{band}", format_value(trend.value, trend.kpi.unit))
    table.add_row("stale records (latest check)", format_value(figures.stale_rate, "share"))
    table.add_row("open estimates older than 7 days", str(sum(figures.open_estimates.values())))
    return table
