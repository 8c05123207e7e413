"""Errors: the error queue (what failed and waits for a person), one error's delivery attempts, retry one or the
selected ones, dismiss with a reason. Only the owner and operations (the permission table) see it.

The list refreshes itself (htmx polls the fragment) except while a row is ticked or a form is open, so a selection
or a half-typed reason is never wiped. It shows what the queue stores — source, summary, the last error and the
attempts' status codes and response excerpts — never a message's body, address or a webhook's payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Connection

from fieldrelay.service.access import audit
from fieldrelay.service.access.permissions import Action
from fieldrelay.storage.access.repo import SqlAccessStore
from fieldrelay.storage.ops import errors as error_queue
from fieldrelay.storage.ops.errors import ErrorItem
from fieldrelay.web import render
from fieldrelay.web.guard import Person, allowed_to
from fieldrelay.web.state import runtime_of

router = APIRouter()
REFRESH_SECONDS = 20
# The age filter's choices: value -> words (the values are error_queue.parse_age durations).
AGES: dict[str, str] = {"": "any age", "1h": "over an hour", "1d": "over a day", "7d": "over a week"}
# How each kind reads to a person.
KIND_WORDS: dict[str, str] = {"inbox": "Webhook received", "timer": "Scheduled work", "outbox": "Delivery"}
_MAX_SELECTED = 500  # one click retries at most this many; the queue is a list a person reads, not a firehose


@dataclass(frozen=True)
class Filters:
    """What the list is narrowed to: a kind (inbox, timer, outbox), a source (connector, timer kind, target), an age."""

    kind: str = ""
    source: str = ""
    age: str = ""

    @classmethod
    def of(cls, kind: str | None, source: str | None, age: str | None) -> Filters:
        """Unknown values are dropped rather than refused: a stale bookmark still shows the queue."""
        return cls(
            kind if kind in error_queue.KINDS else "",
            (source or "").strip()[:64],
            age if age in AGES else "",
        )

    def query(self) -> str:
        """``?kind=outbox&age=1d`` (empty when unfiltered), for links and the polling request."""
        given = {key: value for key, value in vars(self).items() if value}
        return f"?{urlencode(given)}" if given else ""

    def apply(self, conn: Connection, account_id: str, now: datetime) -> list[ErrorItem]:
        """The open errors these filters keep, oldest first."""
        age: timedelta | None = error_queue.parse_age(self.age) if self.age else None
        return error_queue.list_errors(
            conn, account_id, self.kind or None, source=self.source or None, older_than=age, now=now
        )


def _sources(conn: Connection, account_id: str) -> list[str]:
    """Every source with an open error, for the filter's choices."""
    return sorted({source for _kind, source in error_queue.open_error_counts(conn, account_id)})


def _list(
    request: Request, person: Person, filters: Filters, *, fragment: bool, flash: str = "", error: str = ""
) -> HTMLResponse:
    runtime = runtime_of(request)
    account = runtime.settings.account_id
    with runtime.engine.connect() as conn:
        items = filters.apply(conn, account, runtime.clock.now())
        sources = _sources(conn, account)
    context: dict[str, Any] = {
        "items": items,
        "filters": filters,
        "kinds": error_queue.KINDS,
        "kind_words": KIND_WORDS,
        "sources": sorted({*sources, filters.source} - {""}),
        "ages": AGES,
        "can_retry": person.may(Action.RETRY_ERROR),
        "can_dismiss": person.may(Action.DISMISS_ERROR),
        "refresh": REFRESH_SECONDS,
        "flash": flash,
        "error": error,
    }
    return render.page(request, "errors_list.html" if fragment else "errors.html", person, **context)


def _answer(request: Request, person: Person, filters: Filters, flash: str = "", error: str = "") -> HTMLResponse:
    """After an action: the list fragment for htmx, the whole page for a browser without it."""
    fragment = bool(request.headers.get("hx-request"))
    return _list(request, person, filters, fragment=fragment, flash=flash, error=error)


@router.get("/errors", response_class=HTMLResponse)
def errors_page(
    request: Request,
    kind: str | None = None,
    source: str | None = None,
    age: str | None = None,
    person: Person = Depends(allowed_to(Action.RETRY_ERROR)),
) -> HTMLResponse:
    """The page: filters and the queue."""
    return _list(request, person, Filters.of(kind, source, age), fragment=False)


@router.get("/errors/list", response_class=HTMLResponse)
def errors_list(
    request: Request,
    kind: str | None = None,
    source: str | None = None,
    age: str | None = None,
    person: Person = Depends(allowed_to(Action.RETRY_ERROR)),
) -> HTMLResponse:
    """The queue alone, for htmx to swap in."""
    return _list(request, person, Filters.of(kind, source, age), fragment=True)


@router.get("/errors/{error_id}", response_class=HTMLResponse)
def error_detail(
    request: Request, error_id: str, person: Person = Depends(allowed_to(Action.RETRY_ERROR))
) -> HTMLResponse:
    """One open error: what it is, its last error, and each delivery attempt's status and response excerpt."""
    runtime = runtime_of(request)
    with runtime.engine.connect() as conn:
        item = error_queue.get_error(conn, runtime.settings.account_id, error_id)
        detail = error_queue.error_detail(conn, runtime.settings.account_id, error_id)
    if item is None or detail is None:
        message = f"{error_id} is not in the queue: it was retried, dismissed or never existed."
        return render.error_page(request, 404, "Not in the queue", message, person)
    # The read model gives the API's ISO strings; the page shows shop time.
    attempts = [{**a, "started_at": datetime.fromisoformat(a["started_at"])} for a in detail["attempts"]]
    context: dict[str, Any] = {
        "detail": {**detail, "attempts": attempts},
        "at": item.at,
        "kind_words": KIND_WORDS,
        "can_retry": person.may(Action.RETRY_ERROR),
        "can_dismiss": person.may(Action.DISMISS_ERROR),
    }
    return render.page(request, "error_detail.html", person, **context)


def _retry(request: Request, person: Person, error_ids: list[str]) -> tuple[list[str], list[str]]:
    """Put each error back in line with its audit entry, all in one transaction; (retried, no longer open)."""
    runtime = runtime_of(request)
    account, now = runtime.settings.account_id, runtime.clock.now()
    done: list[str] = []
    gone: list[str] = []
    # The queue's functions work on a connection, so (as in the API) the audit entry is written on the same one.
    with runtime.engine.begin() as conn:
        store = SqlAccessStore(conn, account, now)
        for error_id in error_ids:
            item = error_queue.get_error(conn, account, error_id)
            if item is None or not error_queue.retry(conn, account, error_id, now):
                gone.append(error_id)
                continue
            before = {"status": "open", "tries": item.attempts, "error": item.error}
            after = {"status": "pending"}
            audit.record_in(store, now, person.actor, Action.RETRY_ERROR, "error", error_id, before, after)
            done.append(error_id)
    return done, gone


def _retried_words(done: list[str], gone: list[str]) -> tuple[str, str]:
    flash = f"Put back in line: {', '.join(done)}. A running worker picks them up." if done else ""
    error = f"No longer in the queue (retried or dismissed already): {', '.join(gone)}." if gone else ""
    return flash, error


@router.post("/errors/retry", response_class=HTMLResponse)
def retry_selected(
    request: Request,
    ids: list[str] = Form([]),
    kind: str = Form(""),
    source: str = Form(""),
    age: str = Form(""),
    person: Person = Depends(allowed_to(Action.RETRY_ERROR)),
) -> HTMLResponse:
    """Retry every ticked error."""
    filters = Filters.of(kind, source, age)
    chosen = list(dict.fromkeys(i for i in ids if error_queue.parse_error_id(i)))[:_MAX_SELECTED]
    if not chosen:
        return _answer(request, person, filters, error="Tick the errors to retry first.")
    return _answer(request, person, filters, *_retried_words(*_retry(request, person, chosen)))


@router.post("/errors/{error_id}/retry", response_class=HTMLResponse)
def retry_one(
    request: Request,
    error_id: str,
    kind: str = Form(""),
    source: str = Form(""),
    age: str = Form(""),
    person: Person = Depends(allowed_to(Action.RETRY_ERROR)),
) -> HTMLResponse:
    """Retry one error with a fresh retry budget."""
    filters = Filters.of(kind, source, age)
    return _answer(request, person, filters, *_retried_words(*_retry(request, person, [error_id])))


@router.post("/errors/{error_id}/dismiss", response_class=HTMLResponse)
def dismiss_one(
    request: Request,
    error_id: str,
    reason: str = Form("", max_length=500),
    kind: str = Form(""),
    source: str = Form(""),
    age: str = Form(""),
    person: Person = Depends(allowed_to(Action.DISMISS_ERROR)),
) -> HTMLResponse:
    """Close one error without retrying it (an outbox row's message is cancelled); a reason is required."""
    filters = Filters.of(kind, source, age)
    reason = reason.strip()
    if not reason:
        return _answer(request, person, filters, error=f"Say why {error_id} needs no retry before dismissing it.")
    runtime = runtime_of(request)
    account, now = runtime.settings.account_id, runtime.clock.now()
    with runtime.engine.begin() as conn:
        item = error_queue.get_error(conn, account, error_id)
        if item is None or not error_queue.dismiss(conn, account, error_id, person.user.name, reason):
            return _answer(request, person, filters, error=f"{error_id} is no longer in the queue.")
        before = {"status": "open", "tries": item.attempts, "error": item.error}
        after = {"status": "dismissed", "reason": reason}
        store = SqlAccessStore(conn, account, now)
        audit.record_in(store, now, person.actor, Action.DISMISS_ERROR, "error", error_id, before, after)
    return _answer(request, person, filters, flash=f"Dismissed {error_id}: {reason}")
