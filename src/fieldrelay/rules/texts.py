"""The texts a field-mapping row can trigger about a job: when each goes out and what it says."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class JobText(BaseModel):
    """One text: sent ``delay_minutes`` after its event, if the job still stands where the event left it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # From the event to the text.
    delay_minutes: float = Field(ge=0)
    template: str = Field(min_length=1, max_length=640)


class JobTexts(BaseModel):
    """Templates see first_name, business_name, service, appointment (shop time), technician and balance."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # A job booked without a time (Housecall Pro's job.created before job.scheduled) waits this long for its time,
    # so the customer gets one confirmation that says when, not a vague one and then another. The office often sets
    # the time some minutes after the call (the demo's shop: up to 20); 15 minutes sent 9 of its 50 bookings both.
    wait_for_time_minutes: float = Field(default=30, ge=0)

    confirmation_text: JobText = JobText(
        delay_minutes=0,
        template=(
            "Hi {{ first_name or 'there' }}, {{ business_name }} has you booked"
            "{% if appointment %} for {{ appointment }}{% endif %}. Reply to this text with any questions. "
            "Reply STOP to opt out."
        ),
    )
    # After a confirmation went out, a new time sends this once per new time (the confirmation is never repeated).
    moved_text: JobText = JobText(
        delay_minutes=0,
        template=(
            "Hi {{ first_name or 'there' }}, an update from {{ business_name }}: your appointment is now"
            "{% if appointment %} {{ appointment }}{% else %} being rescheduled{% endif %}. Reply to this text with "
            "any questions. Reply STOP to opt out."
        ),
    )
    eta_text: JobText = JobText(
        delay_minutes=0,
        template=(
            "Hi {{ first_name or 'there' }}, {{ technician or 'your technician' }} from {{ business_name }} "
            "is on the way. Reply STOP to opt out."
        ),
    )
    payment_reminder: JobText = JobText(
        delay_minutes=3 * 24 * 60,
        template=(
            "Hi {{ first_name or 'there' }}, a friendly reminder from {{ business_name }}: your invoice"
            "{% if balance %} of {{ balance }}{% endif %} is still open. Reply STOP to opt out."
        ),
    )
