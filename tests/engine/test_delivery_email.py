"""Outbox delivery of emails beside texts: consent at send time, reconciliation, status callbacks, Twilio 21610."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.engine.delivery import NO_UNSUBSCRIBE_LINK
from fieldrelay.engine.worker import Worker
from fieldrelay.runtime import Runtime
from fieldrelay.service.clock import Clock
from fieldrelay.service.ports import EmailRequest, SendFailed, SendResult, SmsRequest
from fieldrelay.storage.mirror import SqlMirror
from fieldrelay.storage.tables import activities, consents, customers, delivery_attempts, messages, outbox
from tests.conftest import START
from tests.engine.test_worker import Crash, FakeSms, all_rows, count, drain

PHONE = "+15125550142"
EMAIL = "pat@example.com"


# --- helpers -------------------------------------------------------------------------------------


class MailProvider:
    """The provider's side of email: what it accepted, by idempotency key; it outlives a worker that crashed."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.accepted: dict[str, SendResult] = {}


class FakeEmail:
    """An email provider that fails as scripted, records calls, and finds accepted mail unless it cannot look up."""

    name = "fakemail"
    development_sink = False

    def __init__(
        self,
        provider: MailProvider,
        failures: list[BaseException] | None = None,
        crash_after_send: bool = False,
        can_look_up: bool = True,
    ) -> None:
        self.provider = provider
        self.failures = list(failures or [])
        self.crash_after_send = crash_after_send
        self.can_look_up = can_look_up
        self.send_calls: list[EmailRequest] = []
        self.lookups: list[str] = []

    def send(self, request: EmailRequest) -> SendResult:
        self.send_calls.append(request)
        if self.failures:
            raise self.failures.pop(0)
        result = SendResult(
            provider_message_id=f"MAIL{len(self.provider.accepted) + 1}", status="sent", at=self.provider.clock.now()
        )
        self.provider.accepted[request.idempotency_key] = result
        if self.crash_after_send:
            raise Crash("process killed right after the provider accepted the email")
        return result

    def lookup(self, request: EmailRequest, since: datetime) -> SendResult | None:
        self.lookups.append(request.idempotency_key)
        return self.provider.accepted.get(request.idempotency_key) if self.can_look_up else None


@pytest.fixture
def sim_clock(runtime: Runtime) -> SimulatedClock:
    assert isinstance(runtime.clock, SimulatedClock)
    return runtime.clock


@pytest.fixture
def mail(runtime: Runtime) -> MailProvider:
    return MailProvider(runtime.clock)


def worker_with(
    runtime: Runtime, email: FakeEmail, sms: FakeSms | None = None, worker_id: str = "w", **settings: Any
) -> Worker:
    """A worker on fake providers; ``settings`` overrides top-level settings (public_base_url …)."""
    return Worker(
        runtime.engine,
        runtime.settings.model_copy(update=settings),
        runtime.clock,
        runtime.inbound,
        sms or FakeSms(runtime),
        worker_id,
        email=email,
    )


def add_customer(runtime: Runtime, phone: str = PHONE, email: str = EMAIL) -> str:
    with runtime.engine.begin() as conn:
        store = SqlMirror(conn, runtime.settings.account_id, runtime.clock.now())
        customer_id = store.insert_customer({"lifecycle_stage": "customer", "first_name": "Pat", "last_name": "Doe"})
        store.add_contact_points(customer_id, [phone], [email])
    return customer_id


def queue(
    runtime: Runtime,
    customer_id: str,
    kind: str,
    payload: dict[str, Any],
    purpose: str = "review_request",
) -> str:
    """A queued message and its outbox row, as a handler writes them; returns the message id."""
    channel = "email" if kind == "email" else "sms"
    with runtime.engine.begin() as conn:
        store = SqlMirror(conn, runtime.settings.account_id, runtime.clock.now())
        message_id = store.insert_message(
            {
                "customer_id": customer_id,
                "channel": channel,
                "purpose": purpose,
                "to_address": payload.get("to", ""),
                "body": payload.get("body", ""),
                "status": "queued",
                "scheduled_for": runtime.clock.now(),
                "category": payload.get("category", "transactional"),
                "subject": payload.get("subject"),
            }
        )
        assert store.enqueue(
            idempotency_key=f"{kind}:{message_id}",
            target=channel,
            kind=kind,
            ordering_key=f"customer:{customer_id}",
            customer_id=customer_id,
            message_id=message_id,
            payload=payload,
        )
    return message_id


def email_payload(category: str = "transactional", to: str = EMAIL) -> dict[str, Any]:
    payload: dict[str, Any] = {"to": to, "subject": "Your visit", "body": "Thanks, Pat!", "category": category}
    if category == "marketing":
        payload["unsubscribe_url"] = "https://relay.example.com/u/abc"
    return payload


def opt_out(runtime: Runtime, channel: str, address: str, reason: str) -> None:
    with runtime.engine.begin() as conn:
        store = SqlMirror(conn, runtime.settings.account_id, runtime.clock.now())
        assert store.set_consent(channel, address, True, reason, "test", runtime.clock.now())


def timeline(runtime: Runtime, customer_id: str) -> list[tuple[str, str, str]]:
    rows = all_rows(runtime.engine, activities, activities.c.customer_id == customer_id)
    return [(a.kind, a.summary, a.source) for a in rows]


def by_message(runtime: Runtime) -> dict[str, Any]:
    """Outbox rows by message id."""
    return {row.message_id: row for row in all_rows(runtime.engine, outbox)}


# --- email ---------------------------------------------------------------------------------------


def test_an_email_goes_out_through_the_email_provider_and_the_timeline_says_so(
    runtime: Runtime, mail: MailProvider
) -> None:
    customer_id = add_customer(runtime)
    message_id = queue(runtime, customer_id, "email", email_payload("marketing"))
    email, sms = FakeEmail(mail), FakeSms(runtime)

    drain(worker_with(runtime, email, sms))

    (request,) = email.send_calls
    assert request == EmailRequest(
        to=EMAIL,
        subject="Your visit",
        body="Thanks, Pat!",
        idempotency_key=f"email:{message_id}",
        account_id=runtime.settings.account_id,
        category="marketing",
        unsubscribe_url="https://relay.example.com/u/abc",
    )
    assert sms.send_calls == [] and email.lookups == []
    (row,) = all_rows(runtime.engine, outbox)
    assert (row.status, row.attempts, row.sent_at, row.locked_by) == ("sent", 1, START, None)
    (message,) = all_rows(runtime.engine, messages)
    assert (message.status, message.sent_at, message.provider_message_id) == ("sent", START, "MAIL1")
    assert timeline(runtime, customer_id) == [
        ("message.sent", f"Email sent (review request) to {EMAIL}", "fakemail"),
    ]
    (attempt,) = all_rows(runtime.engine, delivery_attempts)
    assert (attempt.outcome, attempt.detail) == ("sent", "sent as MAIL1")


def test_a_text_stop_withholds_marketing_email_but_not_transactional_email(
    runtime: Runtime, mail: MailProvider
) -> None:
    customer_id = add_customer(runtime)
    opt_out(runtime, "sms", PHONE, "STOP")
    offer = queue(runtime, customer_id, "email", email_payload("marketing"), purpose="offer")
    receipt = queue(runtime, customer_id, "email", email_payload("transactional"), purpose="receipt")
    email = FakeEmail(mail)

    drain(worker_with(runtime, email))

    assert [r.idempotency_key for r in email.send_calls] == [f"email:{receipt}"]
    rows = by_message(runtime)
    why = "<phone> opted out of texts (STOP): no marketing on any channel"  # stored texts hold no phone number
    assert (rows[offer].status, rows[offer].last_error) == ("cancelled", why)
    assert rows[receipt].status == "sent"
    statuses = {m.id: m.status for m in all_rows(runtime.engine, messages)}
    assert statuses == {offer: "cancelled", receipt: "sent"}
    assert timeline(runtime, customer_id) == [
        # the customer's own timeline, read by the office, names the number (as it names the address below)
        ("message.cancelled", f"Email not sent: {why.replace('<phone>', PHONE)}", "fieldrelay"),
        ("message.sent", f"Email sent (receipt) to {EMAIL}", "fakemail"),
    ]


@pytest.mark.parametrize("provider", ["fakemail", "devmail"])
def test_marketing_email_without_an_unsubscribe_link_is_withheld_unless_the_provider_is_devmail(
    runtime: Runtime, mail: MailProvider, provider: str
) -> None:
    customer_id = add_customer(runtime)
    unlinked = {**email_payload("marketing"), "unsubscribe_url": None}
    offer = queue(runtime, customer_id, "email", unlinked, purpose="offer")
    receipt = queue(runtime, customer_id, "email", email_payload("transactional"), purpose="receipt")
    email = FakeEmail(mail)
    email.name = provider
    email.development_sink = provider == "devmail"  # as DevMailSender says of itself through the port

    drain(worker_with(runtime, email))

    rows = by_message(runtime)
    assert rows[receipt].status == "sent"
    if provider == "devmail":  # development mail reaches no one: the demo runs without a public URL
        assert [r.idempotency_key for r in email.send_calls] == [f"email:{offer}", f"email:{receipt}"]
        assert rows[offer].status == "sent"
        return
    assert [r.idempotency_key for r in email.send_calls] == [f"email:{receipt}"]
    assert (rows[offer].status, rows[offer].last_error) == ("cancelled", NO_UNSUBSCRIBE_LINK)
    assert "FIELDRELAY_UNSUBSCRIBE_SECRET" in NO_UNSUBSCRIBE_LINK
    assert timeline(runtime, customer_id)[0] == (
        "message.cancelled",
        f"Email not sent: {NO_UNSUBSCRIBE_LINK}",
        "fieldrelay",
    )


def test_an_unsubscribed_address_gets_no_email_at_all(runtime: Runtime, mail: MailProvider) -> None:
    customer_id = add_customer(runtime)
    opt_out(runtime, "email", EMAIL, "unsubscribed")
    # Addressed with capitals: consent is recorded for the lower-case address and must still hold.
    message_id = queue(runtime, customer_id, "email", email_payload("transactional", to="Pat@Example.com"))
    email = FakeEmail(mail)

    drain(worker_with(runtime, email))

    assert email.send_calls == []
    (row,) = all_rows(runtime.engine, outbox)
    assert (row.status, row.last_error) == ("cancelled", "the customer opted out of email")
    assert all_rows(runtime.engine, messages)[0].status == "cancelled"
    assert timeline(runtime, customer_id) == [
        ("message.cancelled", "Email not sent: the customer opted out of email", "fieldrelay")
    ]
    assert row.message_id == message_id


def test_an_email_accepted_before_a_crash_is_reconciled_not_sent_again(
    runtime: Runtime, sim_clock: SimulatedClock, mail: MailProvider
) -> None:
    customer_id = add_customer(runtime)
    queue(runtime, customer_id, "email", email_payload())
    dying = worker_with(runtime, FakeEmail(mail, crash_after_send=True), worker_id="dying-worker")
    with pytest.raises(Crash):
        dying.drain()
    (row,) = all_rows(runtime.engine, outbox)
    assert (row.status, row.locked_by) == ("sending", "dying-worker")
    assert len(mail.accepted) == 1

    sim_clock.advance(runtime.settings.worker.lease_seconds + 1)
    email = FakeEmail(mail)
    drain(worker_with(runtime, email, worker_id="survivor"))

    assert email.send_calls == [], "the email was sent again instead of reconciled"
    assert email.lookups == [row.idempotency_key]
    assert len(mail.accepted) == 1
    (row,) = all_rows(runtime.engine, outbox)
    assert (row.status, row.sent_at) == ("sent", START)
    (message,) = all_rows(runtime.engine, messages)
    assert (message.status, message.provider_message_id) == ("sent", "MAIL1")
    (attempt,) = all_rows(runtime.engine, delivery_attempts)
    assert attempt.detail.startswith("reconciled")


def test_a_provider_that_cannot_look_up_is_asked_then_the_email_is_retried_and_sent(
    runtime: Runtime, sim_clock: SimulatedClock, mail: MailProvider
) -> None:
    customer_id = add_customer(runtime)
    queue(runtime, customer_id, "email", email_payload())
    email = FakeEmail(mail, failures=[SendFailed("connection reset", retryable=True)], can_look_up=False)
    worker = worker_with(runtime, email)

    drain(worker)
    (row,) = all_rows(runtime.engine, outbox)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "connection reset")
    sim_clock.advance((row.next_attempt_at - sim_clock.now()).total_seconds())
    drain(worker)

    assert email.lookups == [row.idempotency_key], "a retry must ask the provider before sending again"
    assert len(email.send_calls) == 2
    assert len(mail.accepted) == 1
    (row,) = all_rows(runtime.engine, outbox)
    assert (row.status, row.attempts) == ("sent", 2)
    assert [(a.attempt, a.outcome) for a in all_rows(runtime.engine, delivery_attempts)] == [
        (1, "failed"),
        (2, "sent"),
    ]


# --- texts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("base_url", ["https://relay.example.com/", None])
def test_texts_go_to_the_provider_as_queued_whatever_the_public_base_url(
    runtime: Runtime, mail: MailProvider, base_url: str | None
) -> None:
    """The status-callback URL is the provider's business (connectors/twilio builds it from public_base_url, tested
    there): the engine hands every provider the same request."""
    customer_id = add_customer(runtime)
    message_id = queue(runtime, customer_id, "sms", {"to": PHONE, "body": "Thanks, Pat!"})
    sms = FakeSms(runtime)

    drain(worker_with(runtime, FakeEmail(mail), sms, public_base_url=base_url))

    (request,) = sms.send_calls
    assert request == SmsRequest(
        to=PHONE, body="Thanks, Pat!", idempotency_key=f"sms:{message_id}", account_id=runtime.settings.account_id
    )
    assert all_rows(runtime.engine, outbox)[0].status == "sent"
    assert timeline(runtime, customer_id) == [("message.sent", f"Text sent (review request) to {PHONE}", "fakesms")]


def test_twilio_21610_records_the_opt_out_and_no_later_text_goes_to_the_number(
    runtime: Runtime, sim_clock: SimulatedClock, mail: MailProvider
) -> None:
    customer_id = add_customer(runtime)
    household = add_customer(runtime, email="sam@example.com")  # a second record holding the same phone
    refused = SendFailed(  # what connectors/twilio raises for a 21610 (asserted in its tests)
        "Attempt to send to unsubscribed recipient",
        retryable=True,
        status_code=400,
        error_code="21610",
        opted_out=True,
        reason="Twilio error 21610",
    )
    sms = FakeSms(runtime, failures=[refused])
    sms.name = "twilio"  # the opt-out is recorded under the refusing provider's name
    worker = worker_with(runtime, FakeEmail(mail), sms)
    first = queue(runtime, customer_id, "sms", {"to": PHONE, "body": "Your tech is on the way"}, purpose="eta")

    drain(worker)

    (row,) = all_rows(runtime.engine, outbox)
    assert (row.status, row.attempts) == ("dead", 1), "21610 is final: no retry can get through"
    assert "21610" in row.last_error
    (message,) = all_rows(runtime.engine, messages)
    assert (message.id, message.status, message.error_code) == (first, "failed", "21610")
    (consent,) = all_rows(runtime.engine, consents)
    assert (consent.channel, consent.address, consent.opted_out) == ("sms", PHONE, True)
    assert (consent.reason, consent.source, consent.changed_at) == ("Twilio error 21610", "twilio", START)
    assert [c.sms_opted_out for c in all_rows(runtime.engine, customers)] == [True, True]
    for holder in (customer_id, household):
        ((kind, summary, source),) = timeline(runtime, holder)
        assert (kind, source) == ("consent.opted_out", "twilio")
        assert "21610" in summary
    (attempt,) = all_rows(runtime.engine, delivery_attempts)
    assert (attempt.outcome, attempt.status_code) == ("failed", 400)

    sim_clock.advance(60)
    later = queue(runtime, customer_id, "sms", {"to": PHONE, "body": "Thanks for your payment"}, purpose="receipt")
    drain(worker)

    assert len(sms.send_calls) == 1, "a text went to a number that replied STOP"
    assert (by_message(runtime)[later].status, by_message(runtime)[later].last_error) == (
        "cancelled",
        "the customer opted out of texts",
    )
    assert timeline(runtime, customer_id)[-1] == (
        "message.cancelled",
        "Text not sent: the customer opted out of texts",
        "fieldrelay",
    )


def test_a_21610_for_an_unreadable_number_still_ends_the_row_dead(runtime: Runtime, mail: MailProvider) -> None:
    customer_id = add_customer(runtime)
    refused = SendFailed(
        "Attempt to send to unsubscribed recipient",
        status_code=400,
        error_code="21610",
        opted_out=True,
        reason="Twilio error 21610",
    )
    sms = FakeSms(runtime, failures=[refused])
    queue(runtime, customer_id, "sms", {"to": "12", "body": "hello"})

    drain(worker_with(runtime, FakeEmail(mail), sms))

    (row,) = all_rows(runtime.engine, outbox)
    assert (row.status, row.attempts) == ("dead", 1)
    assert "opt-out not recorded" in row.last_error
    assert all_rows(runtime.engine, messages)[0].status == "failed"
    assert count(runtime.engine, consents) == 0


# --- rows that cannot be sent --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "payload", "error"),
    [
        ("fax", {"to": PHONE, "body": "hello"}, "unknown outbox kind 'fax'"),
        ("email", {"to": EMAIL, "body": "no subject"}, "outbox payload has no 'subject'"),
        ("email", {**email_payload(), "category": "promo"}, "unknown category 'promo'"),
    ],
)
def test_a_row_that_cannot_be_sent_is_dead_at_once_with_a_clear_error(
    runtime: Runtime, mail: MailProvider, kind: str, payload: dict[str, Any], error: str
) -> None:
    customer_id = add_customer(runtime)
    queue(runtime, customer_id, kind, payload)
    email, sms = FakeEmail(mail), FakeSms(runtime)

    drain(worker_with(runtime, email, sms))

    (row,) = all_rows(runtime.engine, outbox)
    assert (row.status, row.attempts) == ("dead", 1)
    assert error in row.last_error
    assert all_rows(runtime.engine, messages)[0].status == "failed"
    assert email.send_calls == [] and sms.send_calls == []
    assert count(runtime.engine, delivery_attempts, delivery_attempts.c.outcome == "failed") == 1
