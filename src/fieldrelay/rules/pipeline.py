"""The deal pipeline: its stages in order, and which canonical event moves an open deal to which stage."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fieldrelay.rules.mapping import MAPPED_EVENTS
from fieldrelay.rules.problems import Loc, LocatedProblems

# open: a step forward; won / lost: the deal closes; nurture: parked (a cancellation, a no-show), any later step
# re-opens it; no_decision: an estimate that got no answer in time, any answer moves it on.
StageKind = Literal["open", "won", "lost", "nurture", "no_decision"]


class Stage(BaseModel):
    """One stage of the pipeline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1, max_length=100)
    kind: StageKind = "open"


class Pipeline(BaseModel):
    """Stages in order (a deal only moves forward among open stages) and the event → stage moves."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stages: list[Stage] = Field(
        default_factory=lambda: [
            Stage(id="new_lead", name="New lead - needs qualification"),
            Stage(id="qualified", name="Qualified - ready to schedule"),
            Stage(id="scheduled", name="Scheduled"),
            Stage(id="estimate_sent", name="Estimate sent"),
            Stage(id="work_approved", name="Work approved - scheduled for work"),
            Stage(id="no_decision", name="No decision", kind="no_decision"),
            Stage(id="won", name="Won", kind="won"),
            Stage(id="lost", name="Lost", kind="lost"),
            Stage(id="nurture", name="Nurture", kind="nurture"),
        ]
    )
    # Which event moves an open deal to which stage.
    moves: dict[str, str] = Field(
        default_factory=lambda: {
            "lead.received": "new_lead",
            "job.booked": "scheduled",
            "estimate.sent": "estimate_sent",
            "estimate.accepted": "work_approved",
            "estimate.declined": "lost",
            "job.paid": "won",
            "job.cancelled": "nurture",
        }
    )
    # An estimate with no answer this many days after it was sent moves its deal to the no_decision stage.
    no_decision_after_days: float = Field(default=14.0, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> Pipeline:
        problems: list[tuple[Loc, str]] = []
        ids = [stage.id for stage in self.stages]
        for index, stage_id in enumerate(ids):
            if stage_id in ids[:index]:
                problems.append((("stages", index, "id"), f"stage {stage_id!r} is listed twice"))
        for kind in ("won", "lost", "nurture", "no_decision"):
            if sum(stage.kind == kind for stage in self.stages) != 1:
                problems.append((("stages",), f"needs exactly one stage of kind {kind!r}"))
        for event, stage_id in self.moves.items():
            if event not in MAPPED_EVENTS:
                problems.append((("moves", event), f"unknown event (known: {', '.join(MAPPED_EVENTS)})"))
            elif stage_id not in ids:
                # With its own stages and no moves of its own, a shop meets the default moves here: say so.
                default = "" if "moves" in self.model_fields_set else " (a default move: list your own moves)"
                message = f"unknown stage {stage_id!r} (stages: {', '.join(ids)}){default}"
                problems.append((("moves", event), message))
        if problems:
            raise LocatedProblems(problems)
        return self

    def stage(self, stage_id: str) -> Stage | None:
        """The stage with this id (None for one removed from the configuration since a deal reached it)."""
        return next((stage for stage in self.stages if stage.id == stage_id), None)

    def of_kind(self, kind: StageKind) -> Stage:
        """The one stage of a closing or parking kind."""
        return next(stage for stage in self.stages if stage.kind == kind)

    def rank(self, stage_id: str) -> int:
        """Position in the list; an unknown stage ranks before all."""
        return next((i for i, stage in enumerate(self.stages) if stage.id == stage_id), -1)
