"""One-click unsubscribe pages for marketing email (RFC 8058): the signed token in the link is the credential."""

from __future__ import annotations

from html import escape

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from fieldrelay.api.state import runtime_of
from fieldrelay.domain import events as ev
from fieldrelay.rules import secrets
from fieldrelay.service import bus
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.intake import messages
from fieldrelay.service.outreach.unsubscribe import Unsubscribe, read_token

router = APIRouter(tags=["unsubscribe"])
log = structlog.get_logger("fieldrelay.unsubscribe")

_NOT_FOUND = "This unsubscribe link is not valid: please use the link exactly as it appears in the email."


def _page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})


def _link(request: Request, token: str) -> Unsubscribe | None:
    """The token's content when we signed it for this shop's account, else None."""
    runtime = runtime_of(request)
    secret = secrets.unsubscribe_secret()
    link = read_token(secret, token) if secret else None
    return link if link is not None and link.account_id == runtime.settings.account_id else None


def _opt_out(ctx: HandlerContext, link: Unsubscribe) -> bool:
    """Record the email opt-out as a provider's unsubscribe event would; False when it is already recorded."""
    address = messages.address_of(ctx, ev.EMAIL, link.address) or link.address
    if ctx.store.is_opted_out(ev.EMAIL, address):
        return False  # a second click (or a second POST): nothing more to record
    # No customer on the event: consent is kept per address, and the handler finds every customer holding it.
    event = ev.OptedOut(
        source="unsubscribe_link",
        occurred_at=ctx.now,
        customer=None,
        channel=ev.EMAIL,
        address=address,
        reason="unsubscribe link",
    )
    bus.apply(ctx, event)
    return True


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def confirm_page(request: Request, token: str) -> HTMLResponse:
    """A button to confirm; following the link changes nothing, since mail scanners fetch links on their own."""
    link = _link(request, token)
    if link is None:
        return _page("Link not valid", f"<p>{escape(_NOT_FOUND)}</p>", 404)
    shop = runtime_of(request).settings.business.name
    body = (
        f"<p>Stop marketing email from {escape(shop)} to <strong>{escape(link.address)}</strong>?</p>"
        '<form method="post"><button type="submit">Unsubscribe</button></form>'
    )
    return _page("Unsubscribe", body)


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe(request: Request, token: str) -> HTMLResponse:
    """Record the opt-out (the page's button, or a mail client's RFC 8058 one-click POST); the body is not read."""
    link = _link(request, token)
    if link is None:
        return _page("Link not valid", f"<p>{escape(_NOT_FOUND)}</p>", 404)
    runtime = runtime_of(request)
    with runtime.unit_of_work(link.account_id) as ctx:
        recorded = _opt_out(ctx, link)
    log.info("unsubscribe.link", customer_id=link.customer_id, recorded=recorded)
    shop = runtime.settings.business.name
    body = f"<p>You're unsubscribed: {escape(shop)} will send no more marketing email to {escape(link.address)}.</p>"
    return _page("You're unsubscribed", body)
