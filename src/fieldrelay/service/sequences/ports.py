"""What the sequences engine reads and writes: enrolments, behaviour since a moment, the weekly cap, tasks, consent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class EnrollmentRecord:
    """One customer on one sequence."""

    id: str
    sequence: str
    customer_id: str
    job_id: str | None
    anchor_at: datetime
    status: str  # active | completed | exited
    next_step: int
    last_step: str | None
    last_step_at: datetime | None
    exit_reason: str | None
    context: Mapping[str, object]
    enrolled_at: datetime


@dataclass(frozen=True)
class Behaviour:
    """What a customer did since a moment: the facts sequence branches and exit rules look at."""

    replied: bool = False
    opened: bool = False  # one of the enrolment's own messages
    clicked: bool = False  # one of the enrolment's own messages
    booked_again: bool = False  # a job other than the enrolment's own, created since
    review_left: bool = False  # a review recorded, or a review link clicked


class FollowupStore(Protocol):
    """Sequence enrolments, tasks and the messaging facts around them, inside the unit of work."""

    def insert_enrollment(self, values: Mapping[str, object]) -> bool:
        """Create an enrolment unless the sequence already has one for this subject; True when created."""
        ...

    def get_enrollment(self, enrollment_id: str) -> EnrollmentRecord | None:
        """One enrolment, locked on PostgreSQL."""
        ...

    def update_enrollment(self, enrollment_id: str, values: Mapping[str, object]) -> None:
        """Change an enrolment."""
        ...

    def enrollments_of(self, customer_id: str, statuses: tuple[str, ...] = ("active",)) -> list[EnrollmentRecord]:
        """A customer's enrolments in these statuses, newest first."""
        ...

    def cancel_timers(self, enrollment_id: str) -> int:
        """Cancel the enrolment's pending step timers; how many."""
        ...

    def behaviour_since(
        self, customer_id: str, since: datetime, replies_since: datetime, enrollment_id: str, job_id: str | None
    ) -> Behaviour:
        """What the customer did: bookings and reviews since ``since``, replies since ``replies_since``."""
        ...

    def marketing_touches_since(self, customer_id: str, since: datetime) -> dict[str, datetime]:
        """The customer's marketing touches after ``since`` (exclusive): touch → when its first message went."""
        ...

    def insert_task(self, values: Mapping[str, object]) -> bool:
        """Create a task unless one with the same source exists; True when created."""
        ...

    def emails_of(self, customer_id: str) -> list[str]:
        """The customer's email addresses, the primary first (the latest confirmed, else the latest seen)."""
        ...

    def opted_out_addresses(self, customer_id: str) -> list[tuple[str, str, str]]:
        """(channel, address, reason) of each of the customer's addresses whose last consent change is an opt-out."""
        ...

    def note_engagement(self, message_id: str, action: str, at: datetime) -> None:
        """Keep the first open (and for a click, the first click) of a message; a click implies an open."""
        ...
