"""The lead-handoff SOP's table in `fieldrelay report` (figures from storage/handoff/report.py)."""

from __future__ import annotations

from rich.table import Table

from fieldrelay.storage.handoff.report import HandoffFigures


def handoff_table(figures: HandoffFigures) -> Table:
    """The numbers as a Rich table."""
    table = Table(title="Lead handoff (last 7 days)", show_header=False)

    def _min(value: float | None) -> str:
        return "—" if value is None else f"{value:g} min"

    table.add_row("leads (unanswered)", f"{figures.leads} ({figures.unanswered})")
    table.add_row("speed to first response, median", _min(figures.response_median_minutes))
    table.add_row("speed to first response, p90", _min(figures.response_p90_minutes))
    share = figures.followed_up_share
    followed = f"{figures.followed_up_48h} of {figures.estimates_sent}"
    followed += f" ({share:.0%})" if share is not None else ""
    table.add_row("estimates followed up (or decided) within 48 h", followed)
    table.add_row("open estimates older than 7 days", str(figures.open_estimates_over_7d))
    return table
