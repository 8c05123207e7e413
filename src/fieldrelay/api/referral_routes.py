"""JSON API of the referral program: enrol referrers, attribute referrals, review them, and the summary."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from fieldrelay.api.auth import Caller, allowed_to, require_token
from fieldrelay.api.state import runtime_of
from fieldrelay.service.access import audit
from fieldrelay.service.access.permissions import Action
from fieldrelay.service.referrals import program as referrals
from fieldrelay.service.referrals import rewards as referral_rewards
from fieldrelay.service.referrals.ports import ReferralRecord
from fieldrelay.storage.referrals import report as referral_report

router = APIRouter(tags=["referrals"])


class EnrolBody(BaseModel):
    """A customer to enrol as a referrer, and who enrols them."""

    customer_id: str = Field(min_length=1, max_length=36)
    by: str = Field(default="api", min_length=1, max_length=80)


class AttributeBody(BaseModel):
    """A code a person typed for a customer (a CSR on the phone)."""

    customer_id: str = Field(min_length=1, max_length=36)
    code: str = Field(min_length=1, max_length=200)
    by: str = Field(default="api", min_length=1, max_length=80)


class DecisionBody(BaseModel):
    """Who decides, and why (required to reject)."""

    by: str = Field(default="api", min_length=1, max_length=80)
    reason: str | None = Field(default=None, max_length=500)


def _referral_json(referral: ReferralRecord) -> dict[str, Any]:
    return {
        "id": referral.id,
        "referrer_id": referral.referrer_id,
        "referred_customer_id": referral.referred_customer_id,
        "code": referral.code,
        "captured_via": referral.captured_via,
        "status": referral.status,
        "flags": referral.flags,
        "reason": referral.reason,
        "collected_cents": referral.collected_cents,
    }


@router.post("/api/referrers", status_code=201)
def enrol_referrer(
    body: EnrolBody, request: Request, caller: Caller = Depends(allowed_to(Action.ENROL_REFERRER))
) -> dict[str, Any]:
    """Enrol a customer as a referrer (idempotent: an enrolled customer keeps their code)."""
    runtime = runtime_of(request)
    try:
        with runtime.unit_of_work(caller.account) as ctx:
            referrer, created = referrals.enrol(ctx, body.customer_id, "hand", by=caller.by(body.by) or "api")
            link = referrals.link_for(ctx, referrer.code)
            after = {"referrer_id": referrer.id, "created": created}
            audit.record(ctx, caller.actor, Action.ENROL_REFERRER, "customer", body.customer_id, after=after)
    except referrals.UnknownCustomer as exc:
        raise HTTPException(404, str(exc)) from exc
    return {
        "id": referrer.id,
        "customer_id": referrer.customer_id,
        "code": referrer.code,
        "link": link,
        "created": created,
    }


@router.post("/api/referrals")
def attribute_referral(
    body: AttributeBody, request: Request, caller: Caller = Depends(allowed_to(Action.ATTRIBUTE_REFERRAL))
) -> dict[str, Any]:
    """Attribute a customer to the referrer holding the code; 404 when the code or the customer is unknown."""
    try:
        with runtime_of(request).unit_of_work(caller.account) as ctx:
            referral = referrals.attribute(ctx, body.customer_id, body.code, "csr", by=caller.by(body.by) or "api")
            after = {"referral_id": referral.id, "status": referral.status}
            audit.record(ctx, caller.actor, Action.ATTRIBUTE_REFERRAL, "customer", body.customer_id, after=after)
    except (referrals.UnknownCode, referrals.UnknownCustomer) as exc:
        raise HTTPException(404, str(exc)) from exc
    return _referral_json(referral)


@router.get("/api/referrals")
def get_referrals(
    request: Request,
    account: str = Depends(require_token),
    status: str | None = Query(None, pattern="^(pending|qualified|review|approved|rejected|rewarded|disqualified)$"),
    limit: int = Query(200, ge=1, le=1000),
) -> dict[str, Any]:
    """Referrals newest first, with both customers' names; ``status=review`` is the review queue."""
    with runtime_of(request).engine.connect() as conn:
        return {"items": referral_report.list_referrals(conn, account, status, limit)}


@router.get("/api/referrals/summary")
def get_summary(request: Request, account: str = Depends(require_token)) -> dict[str, Any]:
    """Enrolments, referred leads, qualification rate, rewards issued and pending, revenue from referred jobs."""
    with runtime_of(request).engine.connect() as conn:
        return referral_report.referral_figures(conn, account).as_json()


def _decide(request: Request, caller: Caller, referral_id: str, action: Action, body: DecisionBody) -> dict[str, Any]:
    by = caller.by(body.by) or "api"
    try:
        with runtime_of(request).unit_of_work(caller.account) as ctx:
            if action is Action.APPROVE_REFERRAL:
                referral = referral_rewards.approve(ctx, referral_id, by, body.reason)
            elif action is Action.REJECT_REFERRAL:
                if not body.reason:
                    raise HTTPException(422, "a reason is required to reject a referral")
                referral = referral_rewards.reject(ctx, referral_id, by, body.reason)
            else:
                referral = referral_rewards.issue(ctx, referral_id, by)
            after = {"status": referral.status, "reason": body.reason}
            audit.record(ctx, caller.actor, action, "referral", referral.id, after=after)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from exc
    except referral_rewards.ReferralError as exc:
        raise HTTPException(409, str(exc)) from exc
    return _referral_json(referral)


@router.post("/api/referrals/{referral_id}/approve")
def approve(
    referral_id: str,
    request: Request,
    body: DecisionBody | None = None,
    caller: Caller = Depends(allowed_to(Action.APPROVE_REFERRAL)),
) -> dict[str, Any]:
    """Approve a referral waiting for review (rewarded at once unless rewards are issued by hand)."""
    return _decide(request, caller, referral_id, Action.APPROVE_REFERRAL, body or DecisionBody())


@router.post("/api/referrals/{referral_id}/reject")
def reject(
    referral_id: str,
    request: Request,
    body: DecisionBody | None = None,
    caller: Caller = Depends(allowed_to(Action.REJECT_REFERRAL)),
) -> dict[str, Any]:
    """Reject a referral that has not been rewarded; ``reason`` is required."""
    return _decide(request, caller, referral_id, Action.REJECT_REFERRAL, body or DecisionBody())


@router.post("/api/referrals/{referral_id}/reward")
def reward(
    referral_id: str,
    request: Request,
    body: DecisionBody | None = None,
    caller: Caller = Depends(allowed_to(Action.ISSUE_REWARD)),
) -> dict[str, Any]:
    """Issue the reward of a qualified or approved referral (for ``reward_issue: manual``)."""
    return _decide(request, caller, referral_id, Action.ISSUE_REWARD, body or DecisionBody())
