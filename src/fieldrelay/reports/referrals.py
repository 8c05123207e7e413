"""The referral program's table in `fieldrelay report` (figures from storage/referrals/report.py)."""

from __future__ import annotations

from rich.table import Table

from fieldrelay.domain.money import dollars
from fieldrelay.storage.referrals.report import ReferralFigures


def referral_table(figures: ReferralFigures) -> Table:
    """Enrolments, referred leads, qualification rate, rewards issued and pending, revenue from referred jobs."""
    table = Table(title="Referral program", show_header=False)
    table.add_row("referrers enrolled", str(figures.referrers))
    table.add_row("referred leads", str(figures.referred))
    rate = figures.qualification_rate
    table.add_row("qualified", f"{figures.qualified}" + (f" ({rate:.0%})" if rate is not None else ""))
    for status, count in sorted(figures.by_status.items()):
        table.add_row(f"referrals {status}", str(count))
    table.add_row("rewards issued", f"{figures.rewards_issued} ({dollars(figures.rewards_issued_cents)})")
    table.add_row("rewards pending (qualified, approved or in review)", str(figures.rewards_pending))
    table.add_row("revenue from referred customers' paid jobs", dollars(figures.referred_revenue_cents))
    return table
