"""The referral program's settings: who is enrolled, what a referral must reach, the reward, the fraud checks."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Milestone = Literal["booked", "completed", "paid"]


class Referrals(BaseModel):
    """``referrals:`` in fieldrelay.yaml; off unless a shop turns it on (a referral program pays out money)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The program: enrolment after a rating, codes on leads (the by-hand commands work either way).
    enabled: bool = False
    # A customer who rates a completed job at least this (1-5) becomes a referrer.
    enrol_min_rating: int = Field(default=4, ge=1, le=5)
    # What the referred customer's FIRST job must reach: booked, completed, or paid (with min_collected_cents).
    milestone: Milestone = "paid"
    # For milestone paid: the least collected on the referred customer's first job.
    min_collected_cents: int = Field(default=0, ge=0)
    # The reward, recorded on qualification (reward_issue: automatic) or by `fieldrelay referrals reward` (manual).
    reward_cents: int = Field(default=5000, ge=0)
    reward_method: str = Field(default="gift_card", min_length=1, max_length=32)
    # Every qualified referral waits for a person's approval (flagged ones always do).
    require_approval: bool = False
    # automatic: the reward is recorded the moment a referral qualifies (or is approved);
    # manual: it waits for `fieldrelay referrals reward ID` (the office hands the gift card over itself).
    reward_issue: Literal["automatic", "manual"] = "automatic"
    # Fraud checks: more than max_referrals captured for one referrer in window_days goes to review, as does a
    # milestone reached sooner than min_days_to_milestone after the referral was captured.
    max_referrals: int = Field(default=5, ge=1)
    # More than max_referrals per referrer in this window sends a referral to review.
    window_days: int = Field(default=30, ge=1)
    # A milestone reached sooner than this after the capture sends the referral to review.
    min_days_to_milestone: float = Field(default=0, ge=0)
    # The referrer's link is this followed by their code.
    link_base_url: str = "https://example.com/r/"
