"""Drive a running fieldrelay service through a simulated week: signed webhooks, form submissions, clock advances.

Housecall Pro deliveries, website form submissions and customers' text replies are posted in one time order, each in
its simulated step. A submission carries the form's token and, as the reverse proxy in front of the service would, the
visitor's address in ``X-Forwarded-For`` (the per-address rate limit of the forms endpoint counts each visitor, not the
driver). A text reply is Twilio's inbound-SMS form post, signed with the auth token for the URL the service sees.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from fieldrelay.connectors.housecallpro.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, compute_signature
from fieldrelay.sim.leads import SimSubmission
from fieldrelay.sim.office import Office
from fieldrelay.sim.people import SHOP_TZ
from fieldrelay.sim.referred import with_code
from fieldrelay.sim.replies import TWILIO_PATH, SimReply, reply_request
from fieldrelay.sim.shop import SimDelivery

WEBHOOK_PATH = "/webhooks/housecallpro"
FORMS_PATH = "/webhooks/forms"
CLOCK_PATH = "/api/clock/advance"
MAX_CHUNK = timedelta(minutes=15)


@dataclass
class DriveResult:
    """What the service answered to the webhooks, form submissions and text replies the driver sent (``sent``: all)."""

    sent: int
    accepted: int
    duplicates: int
    refused: int
    statuses: dict[int, int]
    form_submissions: int = 0  # of ``sent``, how many went to the forms endpoint
    replies: int = 0  # of ``sent``, how many were customers' texts posted to the Twilio endpoint
    office: dict[str, int] = field(default_factory=dict)  # what the simulated office did, by action and outcome

    @property
    def webhooks(self) -> int:
        """How many Housecall Pro deliveries were sent."""
        return self.sent - self.form_submissions - self.replies


def signed_request(hcp_secret: str, delivery: SimDelivery) -> tuple[bytes, dict[str, str]]:
    """Return the raw body and headers Housecall Pro would send for ``delivery`` at its delivery time."""
    body = json.dumps(delivery.body, separators=(",", ":")).encode()
    timestamp = str(int(delivery.deliver_at.timestamp()))
    return body, {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: compute_signature(hcp_secret, timestamp, body),
    }


def form_request(token: str, submission: SimSubmission) -> tuple[bytes, dict[str, str]]:
    """Return the raw body and headers of a website form submission posted with the form's token."""
    body, content_type = submission.encoded()
    return body, {
        "Content-Type": content_type,
        "Authorization": f"Bearer {token}",
        "X-Forwarded-For": submission.client_ip,
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
    submissions: Sequence[SimSubmission] = (),
    forms_token: str | None = None,
    replies: Sequence[SimReply] = (),
    twilio_token: str | None = None,
    office: Office | None = None,
) -> DriveResult:
    """POST each delivery, form submission and text reply in its simulated step, advancing the clock to ``end``.

    With an ``office``, its people work their queue through the API in each step, and the clock stops when they act.
    """
    if step_seconds <= 0:
        raise ValueError("step_seconds must be positive")
    if submissions and not forms_token:
        raise ValueError("form submissions need the form's token")
    if replies and not twilio_token:
        raise ValueError("text replies need the Twilio auth token")
    start, end, step = start.astimezone(UTC), end.astimezone(UTC), timedelta(seconds=step_seconds)
    outgoing: list[SimDelivery | SimSubmission | SimReply] = [*deliveries, *submissions, *replies]
    pending = sorted((d for d in outgoing if d.deliver_at < end), key=lambda d: d.deliver_at)
    statuses: Counter[int] = Counter()
    forms = texts = 0
    twilio_url = base_url.rstrip("/") + TWILIO_PATH  # what the service validates against (no public_base_url)
    auth = {"Authorization": f"Bearer {api_token}"}
    now, index = start, 0
    with (
        httpx.Client(base_url=base_url, transport=transport, timeout=120.0) as client,
        _progress_bar(progress, (end - start).total_seconds()) as (bar, task),
    ):
        while now < end:
            posted = index
            while index < len(pending) and pending[index].deliver_at < now + step:
                item = pending[index]
                if isinstance(item, SimSubmission):
                    assert forms_token is not None
                    item = with_code(client, auth, item)  # a referred friend's form carries their referrer's code
                    path, (body, headers) = FORMS_PATH, form_request(forms_token, item)
                    forms += 1
                elif isinstance(item, SimReply):
                    assert twilio_token is not None
                    path, (body, headers) = TWILIO_PATH, reply_request(twilio_token, twilio_url, item)
                    texts += 1
                else:
                    path, (body, headers) = WEBHOOK_PATH, signed_request(hcp_secret, item)
                statuses[client.post(path, content=body, headers=headers).status_code] += 1
                index += 1
            next_due = pending[index].deliver_at if index < len(pending) else None
            if office is not None:
                wake = office.work(client, auth, now, now + step, arrived=index > posted)
                next_due = wake if next_due is None else min(next_due, wake)
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
                stats=f"{index}/{len(pending)} sent",
            )
    accepted, duplicates = statuses[202], statuses[200]
    sent = sum(statuses.values())
    return DriveResult(
        sent=sent,
        accepted=accepted,
        duplicates=duplicates,
        refused=sent - accepted - duplicates,
        statuses=dict(statuses),
        form_submissions=forms,
        replies=texts,
        office=dict(office.done) if office is not None else {},
    )
