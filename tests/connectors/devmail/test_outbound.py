"""DevMail: emails recorded in ``dev_email_sent`` on a real database (SQLite and PostgreSQL), found again by key."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from fieldrelay.connectors.devmail.outbound import DevMailSender
from fieldrelay.connectors.registry import EMAIL
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from fieldrelay.service.ports import EmailRequest, SendResult
from fieldrelay.storage.sequences.tables import dev_email_sent


def email(key: str = "seq:e1:review_ask", account_id: str = "default", subject: str = "How did we do?") -> EmailRequest:
    return EmailRequest(
        to="pat.doe@example.com",
        subject=subject,
        body="Thanks for choosing Rapid Rooter.\nTell us how it went: https://g.page/r/rapid-rooter/review",
        idempotency_key=key,
        account_id=account_id,
        category="marketing",
        unsubscribe_url="https://relay.example.com/u/abc",
    )


def test_send_records_the_email_and_reports_it_delivered(runtime: Runtime, clock: SimulatedClock) -> None:
    sender = DevMailSender(runtime.dev_sink, clock)

    result = sender.send(email())

    assert result.status == "delivered"
    assert result.at == clock.now()
    assert result.provider_message_id.startswith("DEVMAIL")
    with runtime.engine.connect() as conn:
        rows = conn.execute(select(dev_email_sent)).mappings().all()
    assert len(rows) == 1
    row = rows[0]
    assert row["account_id"] == "default"
    assert row["idempotency_key"] == "seq:e1:review_ask"
    assert row["provider_message_id"] == result.provider_message_id
    assert row["to_address"] == "pat.doe@example.com"
    assert row["subject"] == "How did we do?"
    assert row["body"].startswith("Thanks for choosing Rapid Rooter.\n")
    assert row["sent_at"] == clock.now()


def test_each_send_gets_its_own_message_id(runtime: Runtime, clock: SimulatedClock) -> None:
    sender = DevMailSender(runtime.dev_sink, clock)

    first = sender.send(email("k1"))
    second = sender.send(email("k2"))

    assert first.provider_message_id != second.provider_message_id


def test_lookup_after_a_crash_finds_the_email_sent_before_it(runtime: Runtime, clock: SimulatedClock) -> None:
    """The send committed on its own; a new process (a new sender) reconciles instead of sending again."""
    sent = DevMailSender(runtime.dev_sink, clock).send(email())
    clock.advance_to(clock.now() + timedelta(minutes=5))

    found = DevMailSender(runtime.dev_sink, clock).lookup(email(), since=clock.now() - timedelta(hours=1))

    assert found == SendResult(provider_message_id=sent.provider_message_id, status="delivered", at=sent.at)


def test_lookup_finds_nothing_for_another_key_or_another_account(runtime: Runtime, clock: SimulatedClock) -> None:
    sender = DevMailSender(runtime.dev_sink, clock)
    sender.send(email("k1", account_id="default"))

    assert sender.lookup(email("k2", account_id="default"), since=clock.now()) is None
    assert sender.lookup(email("k1", account_id="other-shop"), since=clock.now()) is None


def test_lookup_returns_the_first_of_several_sends_under_one_key(runtime: Runtime, clock: SimulatedClock) -> None:
    """A provider does not refuse a resend, so the table has no unique key; lookup reports the earliest."""
    sender = DevMailSender(runtime.dev_sink, clock)
    first = sender.send(email())
    clock.advance_to(clock.now() + timedelta(minutes=1))
    sender.send(email())

    found = sender.lookup(email(), since=clock.now() - timedelta(hours=1))

    assert found is not None
    assert found.provider_message_id == first.provider_message_id


def test_a_subject_longer_than_the_column_is_cut_not_refused(runtime: Runtime, clock: SimulatedClock) -> None:
    """dev_email_sent.subject holds 200 characters; PostgreSQL would refuse more."""
    DevMailSender(runtime.dev_sink, clock).send(email(subject="x" * 300))

    with runtime.engine.connect() as conn:
        length = conn.execute(select(func.length(dev_email_sent.c.subject))).scalar_one()
    assert length == 200


def test_registry_builds_devmail(runtime: Runtime, clock: SimulatedClock, settings: Settings) -> None:
    assert settings.messaging.email_provider == "devmail"  # the default

    sender = EMAIL[settings.messaging.email_provider](runtime.dev_sink, clock, settings)

    assert isinstance(sender, DevMailSender)
    assert sender.name == "devmail"
    result = sender.send(email())
    assert sender.lookup(email(), since=clock.now()) == result
