"""Mounting the office app on the FastAPI app: every screen's router behind the CSRF check, the static files, and
what a page does when nobody is signed in (redirect), the role may not (403) or the CSRF token is missing (403)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from fieldrelay.web import (
    audit_page,
    customers,
    duplicates,
    errors_page,
    guard,
    health_page,
    my_day,
    people,
    pipeline,
    referrals_page,
    reports_page,
    review_page,
    reviews_page,
    sequences_page,
    setup,
    signin,
)
from fieldrelay.web.state import new_state

# One line per screen (a module with a ``router``); the menu is nav.NAV.
SCREENS: tuple[APIRouter, ...] = (
    signin.router,
    setup.router,
    my_day.router,
    people.router,
    audit_page.router,
    pipeline.router,
    review_page.router,
    customers.router,
    duplicates.router,
    errors_page.router,
    referrals_page.router,
    reports_page.router,
    reviews_page.router,
    sequences_page.router,
    health_page.router,
)
STATIC = Path(__file__).parent / "static"


def mount(app: FastAPI) -> None:
    """Add the office app to ``app`` (created by api/app.py with its runtime on ``app.state``)."""
    app.state.web = new_state()
    pages = APIRouter(dependencies=[Depends(guard.csrf_protect)], include_in_schema=False)
    for screen in SCREENS:
        pages.include_router(screen)
    app.include_router(pages)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(guard.SignInRequired, guard.to_sign_in)
    app.add_exception_handler(guard.PageForbidden, guard.forbidden)
    app.add_exception_handler(guard.CsrfRefused, guard.csrf_refused)
