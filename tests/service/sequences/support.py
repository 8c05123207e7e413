"""Helpers for the sequence tests: the default library on a simulated clock, and what each customer was sent."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from fieldrelay.domain import events as ev
from fieldrelay.rules.config import Settings
from fieldrelay.rules.loader import parse_settings
from fieldrelay.runtime import Runtime
from fieldrelay.storage.sequences.tables import dev_email_sent, enrollments, tasks
from fieldrelay.storage.tables import dev_sms_sent, messages
from tests.conftest import START, TEST_YAML
from tests.service.support import HCP, pat, rows, sim_clock

# The test configuration with the packaged sequence library (conftest's TEST_YAML switches it off).
LIBRARY_YAML = TEST_YAML.replace("sequences: {}\n", "")


def library_settings(extra: str = "") -> Settings:
    """Test settings running the default sequences, with ``extra`` YAML appended."""
    return parse_settings(LIBRARY_YAML + extra, "test.yaml")


def job(
    kind: type[ev.JobEvent],
    occurred_at: datetime,
    *,
    job_id: str = "job_1",
    service: str = "Drain cleaning",
    total_cents: int = 45000,
    customer: ev.CustomerSnapshot | None = None,
    **extra: Any,
) -> ev.JobEvent:
    """A Housecall Pro job event for Pat with a chosen service and ticket."""
    return kind(
        source=HCP,
        occurred_at=occurred_at,
        customer=customer or pat(),
        job=ev.JobSnapshot(external_id=job_id, service_type=service, total_cents=total_cents),
        **extra,
    )


def reply(body: str, occurred_at: datetime, phone: str = "+15125550142") -> ev.ReplyReceived:
    """Pat texting back."""
    return ev.ReplyReceived(
        source="twilio",
        occurred_at=occurred_at,
        customer=None,
        from_address=phone,
        body=body,
        provider_message_id="SMr",
    )


def engaged(provider_message_id: str, action: str, occurred_at: datetime, url: str | None = None) -> ev.MessageEngaged:
    """SendGrid reporting that Pat opened (or clicked a link in) one of our emails."""
    return ev.MessageEngaged(
        source="sendgrid",
        occurred_at=occurred_at,
        customer=None,
        provider_message_id=provider_message_id,
        action=action,
        url=url,
    )


def run_until(runtime: Runtime, moment: datetime) -> None:
    """Move the clock to ``moment`` and let a worker do everything due by then."""
    clock = sim_clock(runtime)
    if moment > clock.now():
        clock.advance_to(moment)
    assert runtime.new_worker("sequences").drain(timeout_seconds=60)


def run_for(runtime: Runtime, hours: float) -> None:
    """Move the clock on by ``hours`` in hourly ticks, letting a worker do what falls due in each."""
    end = sim_clock(runtime).now() + timedelta(hours=hours)
    while sim_clock(runtime).now() < end:
        run_until(runtime, min(end, sim_clock(runtime).now() + timedelta(hours=1)))


def texts(runtime: Runtime) -> list[Any]:
    """Texts that went out (development provider), oldest first."""
    return rows(runtime, dev_sms_sent)


def emails(runtime: Runtime) -> list[Any]:
    """Emails that went out (development provider), oldest first."""
    return rows(runtime, dev_email_sent)


def sent_purposes(runtime: Runtime) -> list[tuple[str, str]]:
    """(channel, purpose) of every message that went out, in the order queued."""
    with runtime.engine.connect() as conn:
        found = conn.execute(
            select(messages.c.channel, messages.c.purpose)
            .where(messages.c.status.in_(("sent", "delivered")))
            .order_by(messages.c.sent_at, messages.c.created_at)
        ).all()
    return [(row.channel, row.purpose) for row in found]


def enrollment(runtime: Runtime, sequence: str) -> Any:
    """The one enrolment in a sequence."""
    (row,) = rows(runtime, enrollments, enrollments.c.sequence == sequence)
    return row


def enrolled_in(runtime: Runtime) -> list[str]:
    """Names of the sequences anyone is enrolled in, in enrolment order."""
    with runtime.engine.connect() as conn:
        found = conn.execute(select(enrollments.c.sequence).order_by(enrollments.c.enrolled_at, enrollments.c.sequence))
        return list(found.scalars())


def open_tasks(runtime: Runtime) -> list[Any]:
    """Tasks of the sequences still open (the lead-handoff SOP's own tasks, kind sop.*, are tested on their own)."""
    return rows(runtime, tasks, tasks.c.status == "open", tasks.c.kind.not_like("sop.%"))


def at(hours: float) -> datetime:
    """``hours`` after the test start."""
    return START + timedelta(hours=hours)
