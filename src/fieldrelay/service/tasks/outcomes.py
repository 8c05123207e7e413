"""The outcomes a person may close a task with, per family of task kinds, and what each one answers.

Every call task can end ``reached``, ``left_message`` or ``no_answer``. On top of those:

- a lead-handoff follow-up (``sop.followup.1`` to ``3``, ``sop.decision_followup``) can end ``approved`` (the deal moves
  to Work approved) or ``declined`` (the deal is lost);
- a plan-offer call ends its enrolment with ``plan_booked`` (completed) or ``declined`` (exited);
- a rebooking call ends its enrolment with ``booked`` (completed) or ``declined`` (exited);
- a service-recovery call ends its enrolment with ``reached`` (completed);
- a task of a sequence the shop wrote itself may also end ``done``.

Any first response, follow-up or call closed by hand counts as the lead's response, as ``fieldrelay lead log`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fieldrelay.service.handoff.first_response import FIRST_RESPONSE
from fieldrelay.service.handoff.stages import DECISION_FOLLOWUP, FOLLOWUP

Ending = Literal["completed", "exited"]


@dataclass(frozen=True)
class Outcome:
    """One way a task can end, in the words the timeline and an enrolment's exit reason use."""

    name: str
    words: str
    # What it does to the sequence enrolment that opened the task, at once: None leaves the enrolment's remaining
    # steps to run (it completes when none is left).
    ends: Ending | None = None


@dataclass(frozen=True)
class Family:
    """Task kinds that close alike: the outcomes a person may choose, and whether they answer a deal's SOP."""

    name: str
    kinds: tuple[str, ...]  # exact kinds, or prefixes ending in "."
    outcomes: tuple[Outcome, ...]
    handoff: bool = False

    def matches(self, kind: str) -> bool:
        """True when ``kind`` is one of this family's."""
        return any(kind == k or (k.endswith(".") and kind.startswith(k)) for k in self.kinds)

    def outcome(self, name: str) -> Outcome | None:
        """The outcome called ``name``, or None when this family has no such outcome."""
        return next((o for o in self.outcomes if o.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        """The outcome names, in the order they are offered."""
        return tuple(o.name for o in self.outcomes)


REACHED = Outcome("reached", "reached the customer")
LEFT_MESSAGE = Outcome("left_message", "left a message")
NO_ANSWER = Outcome("no_answer", "no answer")
_CALL = (REACHED, LEFT_MESSAGE, NO_ANSWER)
_FOLLOWUP = (*_CALL, Outcome("approved", "approved the work"), Outcome("declined", "declined the estimate"))

FAMILIES: tuple[Family, ...] = (
    Family("first_response", (FIRST_RESPONSE,), _CALL, handoff=True),
    Family("estimate_followup", (f"{FOLLOWUP}.",), _FOLLOWUP, handoff=True),
    Family("decision_followup", (DECISION_FOLLOWUP,), _FOLLOWUP, handoff=True),
    Family(
        "service_recovery",
        ("service_recovery.",),
        (Outcome("reached", "reached the customer", ends="completed"), LEFT_MESSAGE, NO_ANSWER),
    ),
    Family(
        "plan_offer_call",
        ("maintenance_plan_offer.",),
        (
            Outcome("plan_booked", "booked a maintenance plan", ends="completed"),
            Outcome("declined", "declined the plan", ends="exited"),
            *_CALL,
        ),
    ),
    Family(
        "rebooking_call",
        ("rebooking.",),
        (
            Outcome("booked", "booked the work", ends="completed"),
            Outcome("declined", "declined the estimate", ends="exited"),
            *_CALL,
        ),
    ),
)
# A task step of a sequence the shop wrote itself: a call, or any other piece of work.
OTHER = Family("other", (), (*_CALL, Outcome("done", "done")))


def family_of(kind: str) -> Family:
    """The family a task kind belongs to (``other`` for a kind none of them names)."""
    return next((f for f in FAMILIES if f.matches(kind)), OTHER)
