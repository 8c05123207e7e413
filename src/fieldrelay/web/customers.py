"""Customer: find a customer by phone (any format), name, email or address, and their profile — contact details with
consent, jobs, deals, timeline, messages, sequences, tasks, merges and referral status — with a contact edit that
enrichment never overwrites and a way to end a follow-up sequence.

Forms post in place with htmx (the whole page comes back and ``main`` is swapped), and work without it too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse

from fieldrelay.service.access import audit
from fieldrelay.service.access.permissions import Action
from fieldrelay.service.crm import contacts
from fieldrelay.service.crm.contacts import ContactRefused
from fieldrelay.service.sequences import ending
from fieldrelay.service.sequences.ending import EnrollmentNotActive
from fieldrelay.storage import lookup, profile, queries
from fieldrelay.storage.identity import queries as identity_queries
from fieldrelay.storage.sequences import queries as sequence_queries
from fieldrelay.storage.tasks import queries as task_queries
from fieldrelay.web import render
from fieldrelay.web.guard import Person, allowed_to, signed_in
from fieldrelay.web.state import runtime_of

router = APIRouter()
TIMELINE_PAGE = 25
MESSAGES_SHOWN = 50


def when(value: str | None) -> datetime | None:
    """An ISO time from a read model (``…Z``) as a datetime, for ``shop_time``."""
    return datetime.fromisoformat(value) if value else None


def _status(request: Request, status: int) -> int:
    """htmx swaps only 2xx answers: a refusal it should show comes back as 200."""
    return 200 if request.headers.get("hx-request") else status


@router.get("/customers", response_class=HTMLResponse)
def search(request: Request, q: str = "", person: Person = Depends(signed_in)) -> HTMLResponse:
    """The search box and the customers the words may mean, most recently changed first."""
    runtime = runtime_of(request)
    settings, text = runtime.settings, q.strip()[:200]
    found: list[dict[str, Any]] = []
    with runtime.engine.connect() as conn:
        named = lookup.customers_named(conn, settings.account_id, settings.default_phone_region, text, narrow=False)
        for match in named[: lookup.LIMIT]:
            summary = queries.customer_summary(conn, settings.account_id, match.id)
            if summary is not None:
                found.append({**summary, "label": match.name})
    more = len(named) > lookup.LIMIT
    return render.page(request, "customers.html", person, q=text, found=found, more=more)


def _profile(
    request: Request, person: Person, customer_id: str, page: int = 1, status: int = 200, **extra: Any
) -> HTMLResponse:
    runtime = runtime_of(request)
    account, now = runtime.settings.account_id, runtime.clock.now()
    with runtime.engine.connect() as conn:
        detail = queries.customer_detail(conn, account, customer_id)
        if detail is None:
            return render.error_page(request, 404, "No such customer", "There is no customer here.", person)
        addresses = [("sms", p) for p in detail["phones"]] + [("email", e) for e in detail["emails"]]
        context: dict[str, Any] = {
            "c": detail,
            "consent": lookup.consent_of(conn, account, addresses),
            "timeline": profile.timeline_page(conn, account, customer_id, page, TIMELINE_PAGE),
            "messages": queries.list_messages(conn, account, customer_id, MESSAGES_SHOWN),
            "enrolments": sequence_queries.list_enrollments(conn, account, customer_id=customer_id),
            "tasks": task_queries.list_tasks(conn, account, now, customer_id=customer_id),
            "merges": identity_queries.list_merges(conn, account, customer_id),
            "referral": profile.referral_status(conn, account, customer_id),
        }
        context["first_name"], context["last_name"] = profile.name_parts(conn, account, customer_id)
    context |= {
        "when": when,
        "typed": {name for name, held in detail["fields"].items() if held["source"] == "person"},
        "can_edit": person.may(Action.EDIT_CONTACT) and not detail["merged_into"],
        "can_end": person.may(Action.END_ENROLMENT),
        "can_undo": person.may(Action.UNDO_MERGE),
        **extra,
    }
    return render.page(request, "customer.html", person, status=status, **context)


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer(request: Request, customer_id: str, page: int = 1, person: Person = Depends(signed_in)) -> HTMLResponse:
    """One customer's profile (``page``: the timeline's page, newest first)."""
    return _profile(request, person, customer_id, max(1, page))


@router.post("/customers/{customer_id}/contact/{group}", response_class=HTMLResponse)
def edit_contact(
    request: Request,
    customer_id: str,
    group: str,
    first_name: str = Form("", max_length=100),
    last_name: str = Form("", max_length=100),
    phone: str = Form("", max_length=40),
    email: str = Form("", max_length=254),
    street: str = Form("", max_length=200),
    unit: str = Form("", max_length=50),
    city: str = Form("", max_length=100),
    state: str = Form("", max_length=50),
    postal_code: str = Form("", max_length=20),
    person: Person = Depends(allowed_to(Action.EDIT_CONTACT)),
) -> HTMLResponse:
    """Keep a person's value for the name, a phone, an email or the address (enrichment never overwrites it)."""
    typed = {
        "first_name": first_name,
        "last_name": last_name,
        "phone": phone,
        "email": email,
        "street": street,
        "unit": unit,
        "city": city,
        "state": state,
        "postal_code": postal_code,
    }
    runtime = runtime_of(request)
    try:
        with runtime.engine.connect() as conn:
            if not queries.customer_exists(conn, runtime.settings.account_id, customer_id):
                return render.error_page(request, 404, "No such customer", "There is no customer here.", person)
        with runtime.unit_of_work(runtime.settings.account_id) as ctx:
            edited = contacts.edit(ctx, customer_id, group, typed, person.user.name)
            after = {"field": group, **edited.after}
            audit.record(ctx, person.actor, Action.EDIT_CONTACT, "customer", customer_id, edited.before, after)
    except ContactRefused as exc:
        return _profile(request, person, customer_id, status=_status(request, 422), error=f"Not saved: {exc}.")
    return _profile(request, person, customer_id, flash=f"Saved the {group}. Enrichment will not overwrite it.")


@router.post("/customers/{customer_id}/enrolments/{enrollment_id}/end", response_class=HTMLResponse)
def end_enrolment(
    request: Request,
    customer_id: str,
    enrollment_id: str,
    reason: str = Form("", max_length=500),
    person: Person = Depends(allowed_to(Action.END_ENROLMENT)),
) -> HTMLResponse:
    """End one of the customer's follow-up sequences: its pending steps and open tasks are cancelled."""
    runtime = runtime_of(request)
    try:
        with runtime.unit_of_work(runtime.settings.account_id) as ctx:
            enrollment = ending.end(ctx, enrollment_id, person.user.name, reason)
            if enrollment.customer_id != customer_id:
                raise LookupError("that sequence is not this customer's")
            before = {"status": "active", "sequence": enrollment.sequence}
            after = {"status": "exited", "reason": reason.strip()}
            audit.record(ctx, person.actor, Action.END_ENROLMENT, "enrolment", enrollment_id, before, after)
    except (LookupError, EnrollmentNotActive) as exc:
        return _profile(request, person, customer_id, status=_status(request, 409), error=f"Not ended: {exc}.")
    label = enrollment.sequence.replace("_", " ")
    return _profile(request, person, customer_id, flash=f"Ended {label}: no more steps will be sent.")
