"""Rendering pages: the Jinja2 templates, the base layout's context (menu, person, CSRF token), shop-time filters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from fieldrelay.reports.trends import format_value
from fieldrelay.service.access.permissions import ROLE_LABELS
from fieldrelay.web import session
from fieldrelay.web.nav import nav_for
from fieldrelay.web.state import runtime_of

if TYPE_CHECKING:
    from fieldrelay.web.guard import Person

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _span(minutes: int) -> str:
    """``5 min``, ``2 h 10 min``, ``3 days``."""
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    return f"{minutes // (24 * 60)} days"


def due_clock(due_at: datetime, now: datetime) -> str:
    """``due in 25 min`` or ``overdue by 1 h 5 min`` (to the minute: the list refreshes every few seconds)."""
    seconds = (due_at - now).total_seconds()
    if seconds >= 0:
        return f"due in {_span(int(seconds // 60))}"
    return f"overdue by {_span(int(-seconds // 60) or 1)}"


def _shop_time(value: datetime | None, zone: str, fmt: str = "%a %b %-d, %-I:%M %p") -> str:
    return "" if value is None else value.astimezone(ZoneInfo(zone)).strftime(fmt)


def shop_time_of(request: Request) -> Callable[[datetime, str], str]:
    """A formatter of UTC moments in the shop's time zone, for code that builds a page's tables."""
    zone = runtime_of(request).settings.business.time_zone
    return lambda value, fmt: _shop_time(value, zone, fmt)


TEMPLATES.env.globals["due_clock"] = due_clock
TEMPLATES.env.globals["format_value"] = format_value
TEMPLATES.env.globals["role_label"] = lambda role: ROLE_LABELS.get(role, role)


def page(request: Request, template: str, person: Person | None, status: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with the layout's context: the person, their menu, the CSRF token, shop time."""
    runtime = runtime_of(request)
    zone = runtime.settings.business.time_zone
    base = {
        "person": person,
        "nav": nav_for(person.user.role) if person else [],
        "csrf": session.read(request).csrf,
        "shop": runtime.settings.business.name,
        "now": runtime.clock.now(),
        "path": request.url.path,
        "shop_time": lambda value, fmt="%a %b %-d, %-I:%M %p": _shop_time(value, zone, fmt),
    }
    response = TEMPLATES.TemplateResponse(request, template, {**base, **context}, status_code=status)
    session.keep(request, response)
    return response


def error_page(request: Request, status: int, title: str, message: str, person: Person | None = None) -> HTMLResponse:
    """A short page saying what went wrong, in the layout (with the person's menu when they are known)."""
    return page(request, "error.html", person, status=status, title=title, message=message)
