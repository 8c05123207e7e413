"""Referrals: the exceptions to review (approve, or reject with a reason), the rewards due to issue by hand, and the
referrers with their codes and links; a CSR enrols a referrer or types a caller's code here too.

Deciding and paying stay with the owner and operations (the permission table): other roles see no such buttons and
get 403 on the routes. Every action goes through service/referrals in one unit of work with its audit entry.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse

from fieldrelay.domain.money import dollars
from fieldrelay.service.access import audit
from fieldrelay.service.access.permissions import Action
from fieldrelay.service.referrals import program, rewards
from fieldrelay.service.referrals.ports import ReferralRecord
from fieldrelay.storage.referrals import queries as referral_queries
from fieldrelay.storage.referrals import report as referral_report
from fieldrelay.web import render
from fieldrelay.web.guard import Person, allowed_to
from fieldrelay.web.state import runtime_of

router = APIRouter()
# Waiting for a person to issue the reward: qualified (reward_issue: manual) or approved after review.
_DUE = ("qualified", "approved")


def _body(request: Request, person: Person, *, fragment: bool, flash: str = "", error: str = "") -> HTMLResponse:
    """The page (or its sections alone for htmx): review queue, due rewards, referrers."""
    runtime = runtime_of(request)
    account, program_settings = runtime.settings.account_id, runtime.settings.referrals
    with runtime.engine.connect() as conn:
        review = referral_report.list_referrals(conn, account, "review", limit=500)
        due = [r for status in _DUE for r in referral_report.list_referrals(conn, account, status, limit=500)]
        referrers = referral_queries.list_referrers(conn, account)
        enrolled = referral_queries.count_referrers(conn, account)
    context: dict[str, Any] = {
        "review": review,
        "due": sorted(due, key=lambda r: r["milestone_at"] or r["captured_at"]),
        "referrers": referrers,
        "enrolled": enrolled,
        # The referrer's link is program.link_for's rule: the configured base followed by the code.
        "link_base": program_settings.link_base_url,
        "program": program_settings,
        "dollars": dollars,
        "reward_words": f"{dollars(program_settings.reward_cents)} {program_settings.reward_method.replace('_', ' ')}",
        "can_approve": person.may(Action.APPROVE_REFERRAL),
        "can_reject": person.may(Action.REJECT_REFERRAL),
        "can_issue": person.may(Action.ISSUE_REWARD),
        "can_enrol": person.may(Action.ENROL_REFERRER),
        "can_attribute": person.may(Action.ATTRIBUTE_REFERRAL),
        "flash": flash,
        "error": error,
    }
    return render.page(request, "referrals_body.html" if fragment else "referrals.html", person, **context)


def _answer(request: Request, person: Person, flash: str = "", error: str = "") -> HTMLResponse:
    """After an action: the sections for htmx, the whole page for a browser without it."""
    return _body(request, person, fragment=bool(request.headers.get("hx-request")), flash=flash, error=error)


@router.get("/referrals", response_class=HTMLResponse)
def referrals_page(request: Request, person: Person = Depends(allowed_to(Action.ENROL_REFERRER))) -> HTMLResponse:
    """The page."""
    return _body(request, person, fragment=False)


def _decide(request: Request, person: Person, referral_id: str, action: Action, reason: str) -> HTMLResponse:
    """Approve, reject or issue the reward of one referral, with its audit entry, in one unit of work."""
    runtime = runtime_of(request)
    by, why = person.user.name, reason.strip() or None
    if action is Action.REJECT_REFERRAL and why is None:
        return _answer(request, person, error="Say why the referral is rejected: a reason is required.")
    try:
        with runtime.unit_of_work(runtime.settings.account_id) as ctx:
            before = ctx.store.get_referral(referral_id)
            referral: ReferralRecord
            if action is Action.APPROVE_REFERRAL:
                referral = rewards.approve(ctx, referral_id, by, why)
            elif action is Action.REJECT_REFERRAL:
                referral = rewards.reject(ctx, referral_id, by, why or "")  # a reason was required above
            else:
                referral = rewards.issue(ctx, referral_id, by)
            name = rewards.display_name(ctx, referral.referred_customer_id)
            after: dict[str, Any] = {"status": referral.status, "reason": why}
            if action is Action.ISSUE_REWARD:
                program_settings = ctx.settings.referrals
                after = {"status": referral.status, "amount_cents": program_settings.reward_cents}
                after["method"] = program_settings.reward_method
            was = {"status": before.status if before else None}
            audit.record(ctx, person.actor, action, "referral", referral.id, was, after)
    except (LookupError, rewards.ReferralError) as exc:
        return _answer(request, person, error=f"{exc}.")
    words = {
        Action.APPROVE_REFERRAL: "Approved",
        Action.REJECT_REFERRAL: "Rejected",
        Action.ISSUE_REWARD: "Reward issued for",
    }
    return _answer(request, person, flash=f"{words[action]} the referral of {name} (now {referral.status}).")


@router.post("/referrals/{referral_id}/approve", response_class=HTMLResponse)
def approve(
    request: Request,
    referral_id: str,
    reason: str = Form("", max_length=500),
    person: Person = Depends(allowed_to(Action.APPROVE_REFERRAL)),
) -> HTMLResponse:
    """Approve a referral waiting for review (rewarded at once unless rewards are issued by hand)."""
    return _decide(request, person, referral_id, Action.APPROVE_REFERRAL, reason)


@router.post("/referrals/{referral_id}/reject", response_class=HTMLResponse)
def reject(
    request: Request,
    referral_id: str,
    reason: str = Form("", max_length=500),
    person: Person = Depends(allowed_to(Action.REJECT_REFERRAL)),
) -> HTMLResponse:
    """Reject a referral that has not been rewarded; a reason is required."""
    return _decide(request, person, referral_id, Action.REJECT_REFERRAL, reason)


@router.post("/referrals/{referral_id}/reward", response_class=HTMLResponse)
def issue_reward(
    request: Request, referral_id: str, person: Person = Depends(allowed_to(Action.ISSUE_REWARD))
) -> HTMLResponse:
    """Issue the reward (the settings' amount and method) of a qualified or approved referral."""
    return _decide(request, person, referral_id, Action.ISSUE_REWARD, "")


@router.post("/referrers", response_class=HTMLResponse)
def enrol(
    request: Request,
    customer: str = Form("", max_length=200),
    person: Person = Depends(allowed_to(Action.ENROL_REFERRER)),
) -> HTMLResponse:
    """Enrol a customer (named by phone, email or id) as a referrer; one already enrolled keeps their code."""
    runtime = runtime_of(request)
    try:
        with runtime.unit_of_work(runtime.settings.account_id) as ctx:
            customer_id = program.find_customer(ctx, customer)
            referrer, created = program.enrol(ctx, customer_id, "hand", by=person.user.name)
            after = {"referrer_id": referrer.id, "created": created}
            audit.record(ctx, person.actor, Action.ENROL_REFERRER, "customer", customer_id, after=after)
            name = rewards.display_name(ctx, customer_id)
    except program.ReferralError as exc:
        return _answer(request, person, error=f"{exc}.")
    done = "Enrolled" if created else "Already enrolled:"
    return _answer(request, person, flash=f"{done} {name}, code {referrer.code}.")


@router.post("/referrals/attribute", response_class=HTMLResponse)
def attribute(
    request: Request,
    customer: str = Form("", max_length=200),
    code: str = Form("", max_length=200),
    person: Person = Depends(allowed_to(Action.ATTRIBUTE_REFERRAL)),
) -> HTMLResponse:
    """Attribute a customer (by phone, email or id) to the referrer holding the code a caller gave."""
    runtime = runtime_of(request)
    try:
        with runtime.unit_of_work(runtime.settings.account_id) as ctx:
            customer_id = program.find_customer(ctx, customer)
            referral = program.attribute(ctx, customer_id, code, "csr", by=person.user.name)
            after = {"referral_id": referral.id, "status": referral.status}
            audit.record(ctx, person.actor, Action.ATTRIBUTE_REFERRAL, "customer", customer_id, after=after)
            name = rewards.display_name(ctx, customer_id)
    except program.ReferralError as exc:
        return _answer(request, person, error=f"{exc}.")
    why = f": {referral.reason}" if referral.reason else ""
    return _answer(request, person, flash=f"{name} is referred by code {referral.code} ({referral.status}{why}).")
