"""Drive a running fieldrelay service through a simulated week: signed webhooks plus clock advances."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from fieldrelay.connectors.housecallpro.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, compute_signature
from fieldrelay.sim.people import SHOP_TZ
from fieldrelay.sim.shop import SimDelivery

WEBHOOK_PATH = "/webhooks/housecallpro"
CLOCK_PATH = "/api/clock/advance"
MAX_CHUNK = timedelta(minutes=15)


@dataclass
class DriveResult:
    """What the service answered to the webhooks the driver sent."""

    sent: int
    accepted: int
    duplicates: int
    refused: int
    statuses: dict[int, int]


def signed_request(hcp_secret: str, delivery: SimDelivery) -> tuple[bytes, dict[str, str]]:
    """Return the raw body and headers Housecall Pro would send for ``delivery`` at its delivery time."""
    body = json.dumps(delivery.body, separators=(",", ":")).encode()
    timestamp = str(int(delivery.deliver_at.timestamp()))
    return body, {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: compute_signature(hcp_secret, timestamp, body),
    }


def _chunk(now: datetime, start: datetime, end: datetime, step: timedelta, next_due: datetime | None) -> timedelta:
    """Return how far to advance from ``now``: one step, or more steps while nothing is due (≤ 15 min)."""
    if next_due is not None and next_due < now + step:
        return min(step, end - now)
    steps_per_chunk = max(1, MAX_CHUNK // step)
    chunk = step * steps_per_chunk
    if next_due is not None:  # stop at the start of the step that holds the next delivery
        chunk = min(chunk, step * ((next_due - start) // step) - (now - start))
    return min(max(chunk, step), end - now)


@contextmanager
def _progress_bar(enabled: bool, total: float) -> Iterator[tuple[Progress, TaskID]]:
    """Yield a Rich progress bar over simulated seconds (silent when disabled)."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[stats]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, disable=not enabled) as bar:
        yield bar, bar.add_task("simulated week", total=total, stats="")


def drive(
    base_url: str,
    api_token: str,
    hcp_secret: str,
    deliveries: list[SimDelivery],
    start: datetime,
    end: datetime,
    step_seconds: int = 60,
    transport: httpx.BaseTransport | None = None,
    progress: bool = True,
) -> DriveResult:
    """POST each delivery in its simulated step, advancing the service clock from ``start`` to ``end``."""
    if step_seconds <= 0:
        raise ValueError("step_seconds must be positive")
    start, end, step = start.astimezone(UTC), end.astimezone(UTC), timedelta(seconds=step_seconds)
    pending = sorted((d for d in deliveries if d.deliver_at < end), key=lambda d: d.deliver_at)
    statuses: Counter[int] = Counter()
    auth = {"Authorization": f"Bearer {api_token}"}
    now, index = start, 0
    with (
        httpx.Client(base_url=base_url, transport=transport, timeout=120.0) as client,
        _progress_bar(progress, (end - start).total_seconds()) as (bar, task),
    ):
        while now < end:
            while index < len(pending) and pending[index].deliver_at < now + step:
                body, headers = signed_request(hcp_secret, pending[index])
                statuses[client.post(WEBHOOK_PATH, content=body, headers=headers).status_code] += 1
                index += 1
            next_due = pending[index].deliver_at if index < len(pending) else None
            advance = _chunk(now, start, end, step, next_due)
            seconds = advance.total_seconds()
            payload = {"seconds": int(seconds) if seconds.is_integer() else seconds}
            client.post(CLOCK_PATH, json=payload, headers=auth).raise_for_status()
            now += advance
            local = now.astimezone(SHOP_TZ).strftime("%a %H:%M")
            bar.update(
                task,
                advance=seconds,
                description=f"simulated {local}",
                stats=f"{index}/{len(pending)} webhooks",
            )
    accepted, duplicates = statuses[202], statuses[200]
    sent = sum(statuses.values())
    return DriveResult(
        sent=sent,
        accepted=accepted,
        duplicates=duplicates,
        refused=sent - accepted - duplicates,
        statuses=dict(statuses),
    )
