"""The lead-handoff SOP: the team (who holds which role, who they report to) and each stage's owner and clocks."""

from __future__ import annotations

from datetime import time
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from fieldrelay.rules.sequences import Role


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TeamMember(_Strict):
    """One person of the shop: the role they play and the lead an overdue task of theirs escalates to."""

    name: str = Field(min_length=1, max_length=100)
    # owner, operations, dispatcher, office, sales or technician.
    role: Role
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=20)
    # Must be on the team: who a late task escalates to.
    reports_to: str | None = Field(default=None, max_length=100)


class StageOwner(_Strict):
    """Who owns a deal while it stands at a stage: a role, and optionally the one person who holds it."""

    role: Role
    # Named: this person owns the stage's deals; else the role does.
    person: str | None = Field(default=None, max_length=100)


def _default_owners() -> dict[str, StageOwner]:
    # The SOP's hand-offs: the CSR answers, the dispatcher qualifies and books, sales follows up the estimate.
    return {
        "new_lead": StageOwner(role="office"),
        "qualified": StageOwner(role="dispatcher"),
        "scheduled": StageOwner(role="dispatcher"),
        "estimate_sent": StageOwner(role="sales"),
        "no_decision": StageOwner(role="sales"),
        "work_approved": StageOwner(role="dispatcher"),
    }


class Sop(_Strict):
    """The clocks of the lead-handoff SOP, in minutes and shop time."""

    stage_owners: dict[str, StageOwner] = Field(default_factory=_default_owners)
    # ZIP codes the shop serves; empty: every ZIP.
    service_zips: list[str] = Field(default_factory=list)
    # The first-response clock inside business hours.
    first_response_minutes: float = Field(default=5.0, gt=0)
    # The delay of the after-hours acknowledgement text.
    after_hours_ack_minutes: float = Field(default=2.0, ge=0)
    # An estimate sent before this time gets its first follow-up the same day (at closing), later: next opening.
    followup_cutoff: time = time(15, 0)
    # The morning open-loop review email: when (shop time) and to whom; no address, no email.
    review_at: time = time(7, 30)
    # The address of the morning open-loop email (none: no email).
    review_to: str | None = None
    # A handoff task this long past due is escalated to its owner's lead.
    escalate_after_minutes: float = Field(default=60.0, gt=0)
    # The after-hours acknowledgement (Jinja2: first_name, business_name, opening).
    ack_template: str = (
        "Hi {{ first_name or 'there' }}, thanks for contacting {{ business_name }}! We're closed right now; "
        "we'll call you {{ opening }}. Reply STOP to opt out."
    )

    @model_validator(mode="after")
    def _zips_are_zips(self) -> Sop:
        bad = [z for z in self.service_zips if not (len(z) == 5 and z.isdigit())]
        if bad:
            raise ValueError(f"service_zips must be 5-digit ZIP codes: {', '.join(bad)}")
        return self

    def owner_of(self, stage: str) -> StageOwner | None:
        """The owner of deals at ``stage``, if the SOP names one."""
        return self.stage_owners.get(stage)


def _check_team(team: list[TeamMember]) -> list[TeamMember]:
    """Refuse a name listed twice and a lead who is not on the team."""
    names = [m.name for m in team]
    problems = [f"team member {n!r} is listed twice" for i, n in enumerate(names) if n in names[:i]]
    problems += [
        f"team member {m.name!r} reports to {m.reports_to!r}, who is not on the team"
        for m in team
        if m.reports_to is not None and m.reports_to not in names
    ]
    if problems:
        raise ValueError("; ".join(problems))
    return team


# The ``team:`` list of fieldrelay.yaml, checked as a whole.
Team = Annotated[list[TeamMember], AfterValidator(_check_team)]
