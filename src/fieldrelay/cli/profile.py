"""``fieldrelay customers show``: one customer's profile as the office reads it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich.table import Table

from fieldrelay.cli.common import console, fail
from fieldrelay.domain.money import dollars
from fieldrelay.runtime import Runtime
from fieldrelay.storage import lookup, queries

RECENT = 10  # timeline entries shown, newest first


def print_profile(runtime: Runtime, customer_id: str) -> None:
    """Contact details with consent, jobs, deals and the newest timeline entries, times in shop time."""
    account = runtime.settings.account_id
    zone = ZoneInfo(runtime.settings.business.time_zone)
    with runtime.engine.connect() as conn:
        detail = queries.customer_detail(conn, account, customer_id)
        if detail is None:
            fail(f"No customer {customer_id}.")
        addresses = [("sms", p) for p in detail["phones"]] + [("email", e) for e in detail["emails"]]
        consent = lookup.consent_of(conn, account, addresses)
        recent = queries.timeline(conn, account, customer_id)[-RECENT:][::-1]
    head = Table(title=f"{detail['name'] or '(no name)'} · {customer_id}", show_header=False)
    head.add_column(style="bold")
    head.add_column()
    for channel, address in addresses:
        head.add_row(
            "phone" if channel == "sms" else "email", f"{address} · {_consent(consent.get((channel, address)))}"
        )
    place = ", ".join(
        str(detail["address"][k]) for k in ("street", "unit", "city", "state", "postal_code") if detail["address"][k]
    )
    head.add_row("address", place or "—")
    head.add_row("stage", detail["lifecycle_stage"])
    head.add_row("lead source", detail["lead_source"] or "—")
    if detail["merged_into"]:
        head.add_row("merged into", detail["merged_into"])
    console.print(head, highlight=False)
    _rows(
        "Jobs",
        ("job", "status", "since"),
        [(j["id"][:8], j["status"], _when(j["status_at"], zone)) for j in detail["jobs"]],
    )
    _rows(
        "Deals",
        ("deal", "stage", "since", "value", "open"),
        [
            (
                d["id"][:8],
                d["stage"],
                _when(d["stage_at"], zone),
                _money(d["value_cents"]),
                "yes" if d["open"] else "no",
            )
            for d in detail["deals"]
        ],
    )
    _rows(
        f"Latest on the timeline ({len(recent)})",
        ("when", "what", "from"),
        [(_when(a["at"], zone), a["summary"], a["source"]) for a in recent],
    )


def _consent(row: Any) -> str:
    if row is None or not row.opted_out:
        return "may be contacted"
    return f"opted out {row.changed_at:%Y-%m-%d} ({row.reason})"


def _rows(title: str, columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    if not rows:
        console.print(f"{title}: none", highlight=False)
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table, highlight=False)


def _when(iso: str | None, zone: ZoneInfo) -> str:
    if not iso:
        return "—"
    return f"{datetime.fromisoformat(iso.replace('Z', '+00:00')).astimezone(zone):%Y-%m-%d %H:%M}"


def _money(cents: int | None) -> str:
    return "—" if cents is None else dollars(cents)
