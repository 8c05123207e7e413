"""The KPI report printed by ``fieldrelay report`` and at the end of ``fieldrelay demo``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from fieldrelay.runtime import Runtime
from fieldrelay.service.staleness import StaleJob, expected_job_states, stale_jobs
from fieldrelay.storage import report


@dataclass
class Report:
    """All figures of one report."""

    intake: dict[str, int]
    customers: int
    jobs: dict[str, int]
    stale: list[StaleJob]
    review_lags: list[float]
    review_statuses: dict[str, int]
    where: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """Machine-readable form."""
        return {
            "intake": self.intake,
            "customers": self.customers,
            "jobs_by_status": self.jobs,
            "stale_jobs": len(self.stale),
            "stale_rate": self.stale_rate,
            "review_request_lag_seconds": {
                "p50": report.percentile(self.review_lags, 0.50),
                "p95": report.percentile(self.review_lags, 0.95),
                "count": len(self.review_lags),
            },
            "review_requests_by_status": self.review_statuses,
            "where": self.where,
        }

    @property
    def stale_rate(self) -> float:
        """Stale jobs as a share of all jobs."""
        total = sum(self.jobs.values())
        return len(self.stale) / total if total else 0.0


def build_report(runtime: Runtime) -> Report:
    """Read every figure from the database (stale jobs by re-reading the inbox)."""
    account = runtime.settings.account_id
    with runtime.engine.connect() as conn:
        expected = expected_job_states(report.inbox_events(conn, account, runtime.inbound))
        lags, statuses = report.review_request_lags(conn, account)
        return Report(
            intake=report.intake_counts(conn, account),
            customers=report.customer_count(conn, account),
            jobs=report.jobs_by_status(conn, account),
            stale=stale_jobs(expected, report.mirrored_job_statuses(conn, account)),
            review_lags=lags,
            review_statuses=statuses,
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
    mirror.add_row(
        "stale jobs (mirror status lags the newest field event)", f"{len(data.stale)} ({data.stale_rate:.1%})"
    )
    console.print(mirror)

    followups = Table(title="Review requests", show_header=False)
    followups.add_row("payment → review-request text, p50", _minutes(report.percentile(data.review_lags, 0.5)))
    followups.add_row("payment → review-request text, p95", _minutes(report.percentile(data.review_lags, 0.95)))
    for status, count in sorted(data.review_statuses.items()):
        followups.add_row(f"review requests {status}", str(count))
    console.print(followups)
    for stale in data.stale[:10]:
        console.print(
            f"[yellow]stale[/] {stale.source} job {stale.external_id}: mirror {stale.mirrored}, "
            f"expected {stale.expected} as of {stale.expected_at:%Y-%m-%d %H:%M}Z"
        )
    for label, value in data.where.items():
        console.print(f"{label}: {value}")
