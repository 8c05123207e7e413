"""Messaging handlers driven through the bus: replies, consent (STOP / START), HELP, receipts, opens and clicks."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from fieldrelay.domain import events as ev
from fieldrelay.engine.intake import receive
from fieldrelay.runtime import Runtime
from fieldrelay.service.context import Unattachable
from fieldrelay.service.intake.messages import RECEIPT_GRACE
from fieldrelay.service.ports import Identified, Parsed, Received, TemporaryFailure, WebhookRequest
from fieldrelay.storage.tables import activities, consents, customers, inbox, messages
from tests.conftest import START
from tests.service.support import (
    PAT_E164,
    PAT_EMAIL,
    PAT_PHONE,
    STRANGER,
    STRANGER_E164,
    add_message,
    apply,
    at,
    count,
    in_store,
    only_customer,
    pat,
    rows,
    sim_clock,
    timeline,
)

TWILIO = "twilio"
SENDGRID = "sendgrid"


def known_customer(runtime: Runtime) -> str:
    """Pat, created by the field tool, holding PAT_PHONE and PAT_EMAIL; returns her mirror id."""
    apply(runtime, ev.CustomerCreated(source="housecallpro", occurred_at=at(-60), customer=pat()))
    return str(only_customer(runtime).id)


def stop(address: str, minutes: float, channel: str = ev.SMS, reason: str = "STOP") -> ev.OptedOut:
    """An opt-out as a provider reports it, ``minutes`` after the test start."""
    return ev.OptedOut(
        source=TWILIO, occurred_at=at(minutes), customer=None, channel=channel, address=address, reason=reason
    )


def start(address: str, minutes: float, channel: str = ev.SMS, reason: str = "START") -> ev.OptedIn:
    """An opt-in as a provider reports it, ``minutes`` after the test start."""
    return ev.OptedIn(
        source=TWILIO, occurred_at=at(minutes), customer=None, channel=channel, address=address, reason=reason
    )


def receipt(provider_id: str, status: str, minutes: float, **extra: Any) -> ev.MessageStatusChanged:
    """A delivery receipt for a text, ``minutes`` after the test start."""
    return ev.MessageStatusChanged(
        source=TWILIO,
        occurred_at=at(minutes),
        customer=None,
        channel=ev.SMS,
        provider_message_id=provider_id,
        status=status,
        **extra,
    )


def consent_row(runtime: Runtime, channel: str, address: str) -> Any:
    """The one consent row of an address."""
    (row,) = rows(runtime, consents, consents.c.channel == channel, consents.c.address == address)
    return row


# --- replies -----------------------------------------------------------------------------------------


def test_a_reply_from_a_known_phone_lands_on_the_timeline(runtime: Runtime) -> None:
    customer_id = known_customer(runtime)
    reply = ev.ReplyReceived(
        source=TWILIO,
        occurred_at=at(-1),
        customer=None,
        channel=ev.SMS,
        from_address="+1 512-555-0142",  # another spelling of PAT_PHONE
        to_address="+15125550100",
        body="Yes, Thursday morning works",
        provider_message_id="SM-reply-1",
    )
    apply(runtime, reply)

    (row,) = timeline(runtime, customer_id, "message.replied")
    assert (row.summary, row.source, row.applied, row.at) == (
        "Replied: Yes, Thursday morning works",
        TWILIO,
        True,
        at(-1),
    )


def test_a_reply_by_email_from_a_known_address_lands_on_the_timeline(runtime: Runtime) -> None:
    customer_id = known_customer(runtime)
    reply = ev.ReplyReceived(
        source="postmark",
        occurred_at=at(-1),
        customer=None,
        channel=ev.EMAIL,
        from_address="  PAT.DOE@example.COM ",
        body="Can you come earlier?",
        provider_message_id="pm-1",
    )
    apply(runtime, reply)
    assert [r.summary for r in timeline(runtime, customer_id, "message.replied")] == ["Replied: Can you come earlier?"]


def test_a_long_reply_is_cut_to_500_characters_on_the_timeline(runtime: Runtime) -> None:
    customer_id = known_customer(runtime)
    reply = ev.ReplyReceived(source=TWILIO, occurred_at=at(-1), customer=None, from_address=PAT_PHONE, body="x" * 2000)
    apply(runtime, reply)
    (row,) = timeline(runtime, customer_id, "message.replied")
    assert row.summary == "Replied: " + "x" * 500


def test_a_reply_reaches_every_customer_holding_the_phone(runtime: Runtime) -> None:
    # A household sharing one phone: the second record got the phone in an update, after it existed.
    apply(
        runtime,
        ev.CustomerCreated(source="housecallpro", occurred_at=at(-60), customer=pat("cus_1", emails=())),
        ev.CustomerCreated(source="housecallpro", occurred_at=at(-60), customer=pat("cus_2", (STRANGER,), ())),
        ev.CustomerUpdated(
            source="housecallpro", occurred_at=at(-50), customer=pat("cus_2", (STRANGER, PAT_PHONE), ())
        ),
    )
    assert count(runtime, customers) == 2
    apply(
        runtime, ev.ReplyReceived(source=TWILIO, occurred_at=at(-1), customer=None, from_address=PAT_PHONE, body="ok")
    )
    replied = rows(runtime, activities, activities.c.kind == "message.replied")
    assert len(replied) == 2
    assert {r.customer_id for r in replied} == {c.id for c in rows(runtime, customers)}


@pytest.mark.parametrize("sender", [STRANGER, "not a phone", ""])
def test_a_reply_from_an_unknown_or_unreadable_number_is_unattachable(runtime: Runtime, sender: str) -> None:
    known_customer(runtime)
    before = count(runtime, activities)
    reply = ev.ReplyReceived(source=TWILIO, occurred_at=at(-1), customer=None, from_address=sender, body="who is this?")
    with pytest.raises(Unattachable, match="matches no customer"):
        apply(runtime, reply)
    assert count(runtime, activities) == before


# --- consent -----------------------------------------------------------------------------------------


def test_stop_from_a_known_customer_marks_them_opted_out(runtime: Runtime) -> None:
    customer_id = known_customer(runtime)
    apply(runtime, stop("512.555.0142", -5))

    assert only_customer(runtime).sms_opted_out is True
    row = consent_row(runtime, ev.SMS, PAT_E164)
    assert (row.opted_out, row.reason, row.source, row.changed_at) == (True, "STOP", TWILIO, at(-5))
    (activity,) = timeline(runtime, customer_id, "consent.opted_out")
    assert (activity.summary, activity.applied, activity.at) == ("Opted out of texts (STOP)", True, at(-5))
    assert in_store(runtime, lambda store: store.is_opted_out(ev.SMS, PAT_E164)) is True


def test_stop_for_a_number_no_customer_holds_is_recorded_in_consents(runtime: Runtime) -> None:
    apply(runtime, stop(STRANGER, -5))

    row = consent_row(runtime, ev.SMS, STRANGER_E164)
    assert (row.opted_out, row.changed_at) == (True, at(-5))
    assert count(runtime, customers) == 0
    assert count(runtime, activities) == 0


def test_a_consent_change_for_an_unreadable_address_is_unattachable(runtime: Runtime) -> None:
    with pytest.raises(Unattachable, match="unreadable sms address"):
        apply(runtime, stop("12", -5))
    assert count(runtime, consents) == 0


def test_a_late_start_older_than_the_stop_is_not_applied(runtime: Runtime) -> None:
    customer_id = known_customer(runtime)
    apply(runtime, stop(PAT_PHONE, -5))
    apply(runtime, start(PAT_PHONE, -10))  # sent before the STOP, delivered after it

    assert only_customer(runtime).sms_opted_out is True
    row = consent_row(runtime, ev.SMS, PAT_E164)
    assert (row.opted_out, row.changed_at, row.reason) == (True, at(-5), "STOP")
    assert in_store(runtime, lambda store: store.is_opted_out(ev.SMS, PAT_E164)) is True
    (late,) = timeline(runtime, customer_id, "consent.opted_in")
    assert late.applied is False
    assert late.summary == "Opted back in to texts (START) — not applied: a later consent change is already recorded"
    assert late.at == at(-10)


def test_a_start_newer_than_the_stop_re_enables_texts(runtime: Runtime) -> None:
    customer_id = known_customer(runtime)
    apply(runtime, stop(PAT_PHONE, -10))
    apply(runtime, start(PAT_PHONE, -5, reason="UNSTOP"))

    assert only_customer(runtime).sms_opted_out is False
    row = consent_row(runtime, ev.SMS, PAT_E164)
    assert (row.opted_out, row.changed_at, row.reason) == (False, at(-5), "UNSTOP")
    assert in_store(runtime, lambda store: store.is_opted_out(ev.SMS, PAT_E164)) is False
    (back,) = timeline(runtime, customer_id, "consent.opted_in")
    assert (back.summary, back.applied) == ("Opted back in to texts (UNSTOP)", True)


def test_a_stop_older_than_a_recorded_start_is_not_applied(runtime: Runtime) -> None:
    customer_id = known_customer(runtime)
    apply(runtime, start(PAT_PHONE, -5))
    apply(runtime, stop(PAT_PHONE, -10))

    assert only_customer(runtime).sms_opted_out is False
    assert in_store(runtime, lambda store: store.is_opted_out(ev.SMS, PAT_E164)) is False
    (late,) = timeline(runtime, customer_id, "consent.opted_out")
    assert late.applied is False


def test_email_consent_is_recorded_per_address_and_leaves_texts_alone(runtime: Runtime) -> None:
    customer_id = known_customer(runtime)
    apply(runtime, stop(" Pat.Doe@EXAMPLE.com", -5, channel=ev.EMAIL, reason="unsubscribe"))

    row = consent_row(runtime, ev.EMAIL, PAT_EMAIL.lower())
    assert (row.opted_out, row.reason) == (True, "unsubscribe")
    assert in_store(runtime, lambda store: store.is_opted_out(ev.EMAIL, PAT_EMAIL.lower())) is True
    assert in_store(runtime, lambda store: store.is_opted_out(ev.SMS, PAT_E164)) is False
    assert only_customer(runtime).sms_opted_out is False, "an email unsubscribe must not stop texts"
    (activity,) = timeline(runtime, customer_id, "consent.opted_out")
    assert (activity.summary, activity.applied) == ("Opted out of email (unsubscribe)", True)

    apply(runtime, start(PAT_EMAIL, -1, channel=ev.EMAIL, reason="resubscribe"))
    assert in_store(runtime, lambda store: store.is_opted_out(ev.EMAIL, PAT_EMAIL.lower())) is False
    assert [a.summary for a in timeline(runtime, customer_id, "consent.opted_in")] == [
        "Opted back in to email (resubscribe)"
    ]


# --- HELP --------------------------------------------------------------------------------------------


def test_help_from_a_known_phone_is_on_the_timeline(runtime: Runtime) -> None:
    customer_id = known_customer(runtime)
    apply(runtime, ev.HelpRequested(source=TWILIO, occurred_at=at(-2), customer=None, address="5125550142"))
    (row,) = timeline(runtime, customer_id, "message.help")
    assert (row.summary, row.applied, row.at, row.source) == ("Texted HELP", True, at(-2), TWILIO)


@pytest.mark.parametrize("address", [STRANGER, "garbage"])
def test_help_from_an_unknown_or_unreadable_number_is_accepted_and_writes_nothing(
    runtime: Runtime, address: str
) -> None:
    known_customer(runtime)
    before = count(runtime, activities)
    apply(runtime, ev.HelpRequested(source=TWILIO, occurred_at=at(-2), customer=None, address=address))
    assert count(runtime, activities) == before
    assert count(runtime, consents) == 0


# --- delivery receipts -------------------------------------------------------------------------------


def message_row(runtime: Runtime, message_id: str) -> Any:
    """One message row."""
    (row,) = rows(runtime, messages, messages.c.id == message_id)
    return row


def test_a_receipt_moves_a_message_forward_and_a_late_sent_never_moves_it_back(runtime: Runtime) -> None:
    customer_id = known_customer(runtime)
    message_id = add_message(runtime, customer_id, "SM1")

    apply(runtime, receipt("SM1", "delivered", -2))
    row = message_row(runtime, message_id)
    assert (row.status, row.status_at, row.error_code) == ("delivered", at(-2), None)

    apply(runtime, receipt("SM1", "sent", -3))  # the "sent" callback arrived after "delivered"
    row = message_row(runtime, message_id)
    assert (row.status, row.status_at) == ("delivered", at(-2))
    assert timeline(runtime, customer_id, "message.sent") == []
    assert timeline(runtime, customer_id, "message.delivered") == []


def test_an_older_final_status_does_not_replace_a_newer_one(runtime: Runtime) -> None:
    customer_id = known_customer(runtime)
    message_id = add_message(runtime, customer_id, "SM1")
    apply(runtime, receipt("SM1", "delivered", -2))
    apply(runtime, receipt("SM1", "undelivered", -4, error_code="30003"))

    row = message_row(runtime, message_id)
    assert (row.status, row.status_at, row.error_code) == ("delivered", at(-2), None)
    (note,) = timeline(runtime, customer_id, "message.undelivered")
    assert (note.applied, note.summary) == (
        False,
        "SMS undelivered — not applied: a later report (delivered) is already recorded",
    )


def test_a_failed_receipt_with_an_error_code_lands_on_the_timeline(runtime: Runtime) -> None:
    customer_id = known_customer(runtime)
    message_id = add_message(runtime, customer_id, "SM1")
    apply(runtime, receipt("SM1", "failed", -2, error_code="30007", detail="Message filtered by the carrier"))

    row = message_row(runtime, message_id)
    assert (row.status, row.status_at, row.error_code) == ("failed", at(-2), "30007")
    (activity,) = timeline(runtime, customer_id, "message.failed")
    assert (activity.summary, activity.applied, activity.at, activity.source) == (
        "SMS failed (error 30007): Message filtered by the carrier",
        True,
        at(-2),
        TWILIO,
    )


def test_an_email_bounce_lands_on_the_timeline(runtime: Runtime) -> None:
    customer_id = known_customer(runtime)
    message_id = add_message(runtime, customer_id, "sg-1", channel=ev.EMAIL)
    bounce = ev.MessageStatusChanged(
        source=SENDGRID,
        occurred_at=at(-2),
        customer=None,
        channel=ev.EMAIL,
        provider_message_id="sg-1",
        status="bounced",
        error_code="550",
    )
    apply(runtime, bounce)
    assert message_row(runtime, message_id).status == "bounced"
    assert [a.summary for a in timeline(runtime, customer_id, "message.bounced")] == ["Email bounced (error 550)"]


def test_a_receipt_is_matched_on_its_channel(runtime: Runtime) -> None:
    customer_id = known_customer(runtime)
    message_id = add_message(runtime, customer_id, "same-id", channel=ev.EMAIL)
    with pytest.raises(TemporaryFailure):
        apply(runtime, receipt("same-id", "delivered", -1))  # an SMS receipt, the email keeps its status
    assert message_row(runtime, message_id).status == "sent"


def test_a_late_queued_after_sent_does_not_move_the_message_back(runtime: Runtime) -> None:
    customer_id = known_customer(runtime)
    message_id = add_message(runtime, customer_id, "SM1", status="queued")
    apply(runtime, receipt("SM1", "sent", -2))
    apply(runtime, receipt("SM1", "queued", -3))
    row = message_row(runtime, message_id)
    assert (row.status, row.status_at) == ("sent", at(-2))


def test_a_receipt_for_an_unknown_message_within_the_grace_period_is_retried(runtime: Runtime) -> None:
    known_customer(runtime)
    before = count(runtime, activities)
    recent = ev.MessageStatusChanged(
        source=TWILIO,
        occurred_at=START - RECEIPT_GRACE + timedelta(seconds=1),
        customer=None,
        provider_message_id="SM-not-yet-recorded",
        status="delivered",
    )
    with pytest.raises(TemporaryFailure, match="SM-not-yet-recorded") as raised:
        apply(runtime, recent)
    assert raised.value.retry_after_seconds == 30
    assert count(runtime, activities) == before


def test_a_receipt_for_an_unknown_message_after_the_grace_period_is_ignored(runtime: Runtime) -> None:
    known_customer(runtime)
    before = count(runtime, activities)
    old = ev.MessageStatusChanged(
        source=TWILIO,
        occurred_at=START - RECEIPT_GRACE - timedelta(seconds=1),
        customer=None,
        provider_message_id="SM-from-the-console",
        status="delivered",
    )
    apply(runtime, old)  # no exception: a message fieldrelay did not send
    assert count(runtime, activities) == before


class _ReceiptConnector:
    """A connector stand-in that turns any body into one receipt for a message not recorded yet."""

    name = "fakereceipts"
    rate_limit_per_minute: int | None = None
    kept_headers: tuple[str, ...] = ()

    def __init__(self, event: ev.FieldEvent) -> None:
        self.event = event

    def verify(self, request: WebhookRequest, now: datetime) -> str | None:
        """Every test delivery is authentic."""
        return None

    def split(self, body: bytes) -> tuple[bytes]:
        """One item per delivery."""
        return (body,)

    def identify(self, body: bytes) -> Identified:
        """A fixed key: the test stores one delivery."""
        return Identified(dedupe_key="r1", event_type="message.status")

    def parse(self, body: bytes, received: Received | None = None) -> Parsed:
        """The receipt."""
        return Parsed(event_type="message.status", events=(self.event,))


def test_through_the_worker_an_early_receipt_is_retried_then_ignored_once_the_grace_period_is_over(
    runtime: Runtime,
) -> None:
    clock = sim_clock(runtime)
    event = ev.MessageStatusChanged(
        source=TWILIO, occurred_at=START, customer=None, provider_message_id="SM-early", status="sent"
    )
    connector = _ReceiptConnector(event)
    runtime.inbound["fakereceipts"] = connector
    receive(runtime.engine, connector, {}, b"{}", START, runtime.settings.account_id)
    worker = runtime.new_worker("receipts")
    assert worker.drain(timeout_seconds=30)
    (row,) = rows(runtime, inbox)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error.startswith("temporary: no message with provider id SM-early")
    assert row.next_attempt_at >= START + timedelta(seconds=30)

    clock.advance(RECEIPT_GRACE.total_seconds() + 60)
    assert worker.drain(timeout_seconds=30)
    (row,) = rows(runtime, inbox)
    assert row.status == "done"


# --- opens and clicks --------------------------------------------------------------------------------


def engaged(provider_id: str, action: str, url: str | None = None) -> ev.MessageEngaged:
    """An open or click reported by the email provider a minute before the test start."""
    return ev.MessageEngaged(
        source=SENDGRID,
        occurred_at=at(-1),
        customer=None,
        channel=ev.EMAIL,
        provider_message_id=provider_id,
        action=action,
        address=PAT_EMAIL,
        url=url,
    )


def test_an_open_is_on_the_timeline_naming_the_message(runtime: Runtime) -> None:
    customer_id = known_customer(runtime)
    add_message(runtime, customer_id, "sg-1", channel=ev.EMAIL)
    apply(runtime, engaged("sg-1", "opened"))
    (row,) = timeline(runtime, customer_id, "message.opened")
    assert (row.summary, row.applied, row.at, row.source) == ("Opened review request", True, at(-1), SENDGRID)


def test_a_click_is_on_the_timeline_with_its_link(runtime: Runtime) -> None:
    customer_id = known_customer(runtime)
    add_message(runtime, customer_id, "sg-1", channel=ev.EMAIL)
    apply(runtime, engaged("sg-1", "clicked", "https://g.page/r/rapid-rooter/review"))
    (row,) = timeline(runtime, customer_id, "message.clicked")
    assert row.summary == "Clicked a link: https://g.page/r/rapid-rooter/review"


def test_an_open_does_not_change_the_message_status(runtime: Runtime) -> None:
    customer_id = known_customer(runtime)
    message_id = add_message(runtime, customer_id, "sg-1", channel=ev.EMAIL, status="delivered")
    apply(runtime, engaged("sg-1", "opened"))
    assert message_row(runtime, message_id).status == "delivered"


def test_an_open_of_an_unknown_message_is_retried_then_ignored(runtime: Runtime) -> None:
    known_customer(runtime)
    before = count(runtime, activities)
    with pytest.raises(TemporaryFailure):
        apply(runtime, engaged("sg-unknown", "opened"), now=at(0))
    apply(runtime, engaged("sg-unknown", "opened"), now=at(-1) + RECEIPT_GRACE)
    assert count(runtime, activities) == before
