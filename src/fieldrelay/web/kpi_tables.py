"""The Reports page's tables, each with its chart: every KPI's trend against its band and its split, the stale-record
checks, open estimates by owner and the referral funnel, plus the summary the page's cards show."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fieldrelay.reports.trends import STALE_BAND, KpiFigures, Trend
from fieldrelay.web.charts import bar_chart, line_chart
from fieldrelay.web.data_tables import DataTable

ShopTime = Callable[[datetime, str], str]


def _fmt(unit: str) -> Callable[[float], str]:
    """A chart's numbers without their unit (the chart's title names it): "12.5", "40%"."""
    return (lambda value: f"{value:.0%}") if unit == "share" else (lambda value: f"{value:g}")


def _titled(label: str, unit: str) -> str:
    return label if unit == "share" else f"{label}, {unit}"


def _trend_tables(trend: Trend, label: ShopTime, step: str) -> list[DataTable]:
    kpi, band = trend.kpi, trend.kpi.band
    within = band.text if band else "no published band"
    tables = [
        DataTable(
            f"{kpi.key}_trend",
            kpi.label,
            ("from", kpi.unit, "samples"),
            [(label(p.start, "%Y-%m-%d"), p.value, p.count) for p in trend.points],
            line_chart(
                f"{_titled(kpi.label, kpi.unit)}, {step} by {step}",
                f"{kpi.label} for each {step}; benchmark {within}. The table below has the same figures.",
                [(label(p.start, "%b %-d"), p.value) for p in trend.points],
                (band.low, band.high) if band else None,
                _fmt(kpi.unit),
                1.0 if kpi.unit == "share" else None,
            ),
            note=f"Benchmark: {within}",
        )
    ]
    if kpi.split:
        tables.append(
            DataTable(
                f"{kpi.key}_by_{kpi.split.replace(' ', '_')}",
                f"{kpi.label} by {kpi.split}",
                (kpi.split, kpi.unit, "samples"),
                list(trend.groups),
                bar_chart(
                    f"{_titled(kpi.label, kpi.unit)}, by {kpi.split}",
                    f"One bar per {kpi.split}. The table below has the same figures.",
                    [(group, value) for group, value, _ in trend.groups],
                    _fmt(kpi.unit),
                ),
            )
        )
    return tables


def summary(figures: KpiFigures) -> DataTable:
    """One row per KPI: its figure for the window, its benchmark and whether it is within it."""
    rows: list[tuple[str | int | float | None, ...]] = []
    for trend in figures.trends:
        band = trend.kpi.band
        holds = band.holds(trend.value) if band else None
        rows.append((trend.kpi.key, trend.kpi.label, trend.value, trend.kpi.unit, band.text if band else "", holds))
    rate = figures.stale_rate
    rows.append(("stale_rate", "Stale records (latest check)", rate, "share", STALE_BAND.text, STALE_BAND.holds(rate)))
    open_total = sum(figures.open_estimates.values())
    rows.append(("open_estimates_older_than_7_days", "Open estimates older than 7 days", open_total, "", "", None))
    return DataTable("summary", "KPIs", ("kpi", "name", "value", "unit", "benchmark", "within"), rows)


def report_tables(figures: KpiFigures, label: ShopTime) -> list[DataTable]:
    """Every table of the Reports page, in page order."""
    step = "day" if len(figures.trends[0].points) >= figures.days else "week"
    tables = [summary(figures)]
    for trend in figures.trends:
        tables.extend(_trend_tables(trend, label, step))
    checks = figures.stale_checks
    tables.append(
        DataTable(
            "stale_rate_trend",
            "Stale records",
            ("checked at", "records with field events", "stale", "share"),
            [(label(c.checked_at, "%Y-%m-%d %H:%M"), c.records, c.stale, round(c.rate, 4)) for c in checks],
            line_chart(
                "Stale records, check by check",
                f"Share of records whose CRM lags a field event, at each check; benchmark {STALE_BAND.text}.",
                [(label(c.checked_at, "%b %-d"), c.rate) for c in checks],
                (STALE_BAND.low, STALE_BAND.high),
                _fmt("share"),
            ),
            note="Each run of `fieldrelay report` or Check now adds a point.",
        )
    )
    owners = figures.open_estimates
    tables.append(
        DataTable(
            "open_estimates_by_owner",
            "Open estimates older than 7 days, by owner",
            ("owner", "open estimates"),
            list(owners.items()),
            bar_chart("Open estimates older than 7 days", "One bar per deal owner.", list(owners.items())),
        )
    )
    funnel = figures.referrals
    tables.append(
        DataTable(
            "referral_funnel",
            "Referral funnel",
            ("step", "referrals"),
            list(funnel.items()),
            bar_chart(
                "Referral funnel",
                "Referrals captured in the window: referred, qualified, rewarded and rejected.",
                [(step.capitalize(), count) for step, count in funnel.items()],
            ),
        )
    )
    return tables
