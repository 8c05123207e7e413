"""A person ends a customer's enrolment by hand (the customer asked us to stop, or the follow-up is moot)."""

from __future__ import annotations

from fieldrelay.service.context import HandlerContext
from fieldrelay.service.sequences import enrolment
from fieldrelay.service.sequences.ports import EnrollmentRecord


class EnrollmentNotActive(ValueError):
    """The enrolment has already completed or ended."""


def end(ctx: HandlerContext, enrollment_id: str, by: str, reason: str = "") -> EnrollmentRecord:
    """End an active enrolment: its pending steps are cancelled, its open tasks too, and the timeline says who."""
    enrollment = ctx.store.get_enrollment(enrollment_id)
    if enrollment is None:
        raise LookupError(f"no enrolment {enrollment_id}")
    if enrollment.status != "active":
        raise EnrollmentNotActive(f"this enrolment has already {enrollment.status}")
    said = " ".join(reason.split())
    enrolment.finish(ctx, enrollment, "exited", f"ended by {by}" + (f": {said}" if said else ""))
    return enrollment
