"""The playbook's default field-mapping table applied through the bus: one test per row, then the as-of rules.

Every CRM field a row writes is stored in customer_fields with where it came from ("vendor:<connector>" for what
the event said, "rule:…" for what fieldrelay worked out) and the event time it is as of.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from fieldrelay.domain import events as ev
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.rules.config import Settings
from fieldrelay.rules.mapping import CRM_FIELDS, DEFAULT_FIELD_MAPPING, FieldMapping
from fieldrelay.runtime import Runtime, build_runtime
from fieldrelay.storage.queries import customer_detail
from fieldrelay.storage.tables import customer_equipment, customer_fields, jobs, messages, service_history, timers
from tests.conftest import START
from tests.service.support import HCP, PAT_E164, apply, at, in_store, only_customer, pat, rows, timeline

APPOINTMENT = datetime(2026, 11, 3, 16, 0, tzinfo=UTC)  # Tuesday 10:00 in Chicago
OTHER_APPOINTMENT = datetime(2026, 11, 5, 20, 30, tzinfo=UTC)  # Thursday 14:30 in Chicago
VENDOR = "vendor:housecallpro"
MAPPING = "rule:field_mapping"
# What the mapping and its triggers may write (customer_fields also holds the name and address provenance).
MAPPED_FIELDS = frozenset(CRM_FIELDS) | {"renewal_due_on", "scheduling_requested_at"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test settings with the playbook's own field-mapping table, every text it triggers included."""
    return settings.model_copy(update={"field_mapping": FieldMapping.model_validate(DEFAULT_FIELD_MAPPING)})


def job(
    kind: type[ev.JobEvent], minutes: float, job_id: str = "job_1", snap: dict[str, Any] | None = None, **extra: Any
) -> ev.JobEvent:
    """A Housecall Pro event about a furnace job booked for Tuesday 10:00, ``minutes`` after the test start."""
    details: dict[str, Any] = {
        "service_type": "Furnace install",
        "total_cents": 45000,
        "scheduled_start": APPOINTMENT,
        **(snap or {}),
    }
    return kind(
        source=HCP,
        occurred_at=at(minutes),
        customer=pat(),
        job=ev.JobSnapshot(external_id=job_id, **details),
        **extra,
    )


def estimate(
    kind: type[ev.EstimateEvent], minutes: float, ref: str = "est_1", total: int = 1_250_000
) -> ev.EstimateEvent:
    """A Housecall Pro estimate event for Pat."""
    snapshot = ev.EstimateSnapshot(external_id=ref, number="1042", total_cents=total)
    return kind(source=HCP, occurred_at=at(minutes), customer=pat(), estimate=snapshot)


def fields(runtime: Runtime) -> dict[str, Any]:
    """The one customer's CRM fields the mapping writes, by name."""
    return {row.field: row for row in rows(runtime, customer_fields) if row.field in MAPPED_FIELDS}


def field(runtime: Runtime, name: str) -> tuple[object, str, datetime | None]:
    """One field as (value, source, as of)."""
    row = fields(runtime)[name]
    return row.value, row.source, row.value_at


def job_id(runtime: Runtime, external_id: str = "job_1") -> str:
    """The mirror id of a Housecall Pro job."""
    found = in_store(runtime, lambda store: store.job_by_external(HCP, external_id))
    assert found is not None
    return found.id


def planned(runtime: Runtime, purpose: str) -> list[Any]:
    """Messages planned for a purpose, by the time of the event that planned them (their ids are uuids)."""
    return sorted((m for m in rows(runtime, messages) if m.purpose == purpose), key=lambda m: m.trigger_at)


# --- one test per row of the default table -------------------------------------------------------------------------


def test_a_booking_writes_the_appointment_and_service_and_plans_a_confirmation(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobBooked, -10))

    assert set(fields(runtime)) == {"next_appointment_at", "service_type"}
    assert field(runtime, "next_appointment_at") == ("2026-11-03T16:00:00+00:00", MAPPING, at(-10))
    assert field(runtime, "service_type") == ("Furnace install", VENDOR, at(-10))
    (message,) = rows(runtime, messages)
    assert (message.purpose, message.status, message.channel, message.to_address) == (
        "confirmation_text",
        "scheduled",
        "sms",
        PAT_E164,
    )
    assert (message.scheduled_for, message.trigger_at, message.job_id) == (START, at(-10), job_id(runtime))
    (timer,) = rows(runtime, timers)
    assert (timer.kind, timer.due_at, timer.status) == ("job_text", START, "pending")
    assert timer.payload["action"] == "confirmation_text"
    assert timer.payload["message_id"] == message.id


def test_the_customer_detail_shows_each_field_with_its_source_and_as_of_time(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobBooked, -10))
    customer = only_customer(runtime)
    with runtime.engine.connect() as conn:
        detail = customer_detail(conn, runtime.settings.account_id, customer.id)
    assert detail is not None
    assert detail["fields"]["next_appointment_at"] == {
        "value": "2026-11-03T16:00:00+00:00",
        "source": MAPPING,
        "as_of": "2026-11-02T14:50:00Z",
    }


def test_a_reschedule_moves_the_appointment_and_plans_another_confirmation(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobBooked, -30))
    apply(runtime, job(ev.JobRescheduled, -10, snap={"scheduled_start": OTHER_APPOINTMENT}))

    assert field(runtime, "next_appointment_at") == ("2026-11-05T20:30:00+00:00", MAPPING, at(-10))
    assert [m.trigger_at for m in planned(runtime, "confirmation_text")] == [at(-30), at(-10)]


def test_a_dispatch_writes_the_technician_and_eta_and_plans_an_eta_text(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobBooked, -60), job(ev.JobDispatched, -10, snap={"technicians": ("Alex Kim",)}))

    assert field(runtime, "assigned_technician") == (["Alex Kim"], VENDOR, at(-10))
    assert field(runtime, "eta") == ("2026-11-03T16:00:00+00:00", VENDOR, at(-10))
    (text,) = planned(runtime, "eta_text")
    assert (text.status, text.trigger_at, text.scheduled_for) == ("scheduled", at(-10), START)
    assert sorted(t.payload["action"] for t in rows(runtime, timers)) == ["confirmation_text", "eta_text"]


def test_a_completion_adds_service_history_and_the_equipment_its_line_items_installed(runtime: Runtime) -> None:
    items = ("Furnace install - 80% AFUE", "Haul away old unit")
    apply(
        runtime,
        job(ev.JobBooked, -300),
        job(
            ev.JobCompleted,
            -10,
            snap={"description": "Replace the old furnace", "technicians": ("Alex Kim",), "line_items": items},
        ),
    )
    the_job = job_id(runtime)

    (history,) = rows(runtime, service_history)
    assert (history.job_id, history.completed_at, history.service_type, history.description) == (
        the_job,
        at(-10),
        "Furnace install",
        "Replace the old furnace",
    )
    assert (history.technicians, history.line_items) == (["Alex Kim"], list(items))
    (equipment,) = rows(runtime, customer_equipment)
    assert (equipment.name, equipment.installed_on, equipment.warranty_ends_on) == (
        "furnace",
        date(2026, 11, 2),
        date(2036, 11, 2),
    )
    assert (equipment.source, equipment.job_id) == ("rule:furnace_install", the_job)
    (note,) = timeline(runtime, only_customer(runtime).id, "equipment.recorded")
    assert note.summary == (
        "Equipment recorded: furnace, warranty to 2036-11-02 (rule furnace_install: 'Furnace install - 80% AFUE')"
    )
    assert (note.at, note.source, note.applied) == (at(-10), "fieldrelay", True)
    assert field(runtime, "last_service_at") == (at(-10).isoformat(), VENDOR, at(-10))


def test_equipment_is_dated_by_the_shops_calendar_not_by_utc(runtime: Runtime) -> None:
    evening = datetime(2026, 11, 3, 3, 30, tzinfo=UTC)  # Monday 21:30 in Chicago, already Tuesday in UTC
    sim_now = evening + timedelta(minutes=5)
    apply(runtime, job(ev.JobBooked, -300), now=sim_now)
    completed = ev.JobCompleted(
        source=HCP,
        occurred_at=evening,
        customer=pat(),
        job=ev.JobSnapshot(external_id="job_1", service_type="HVAC", line_items=("Furnace install - 80% AFUE",)),
    )
    apply(runtime, completed, now=sim_now)

    (equipment,) = rows(runtime, customer_equipment)
    assert (equipment.installed_on, equipment.warranty_ends_on) == (date(2026, 11, 2), date(2036, 11, 2))


def test_a_completion_without_line_items_reads_the_equipment_from_the_job_description(runtime: Runtime) -> None:
    apply(
        runtime,
        job(ev.JobBooked, -300, snap={"service_type": "HVAC"}),
        job(ev.JobCompleted, -10, snap={"service_type": "HVAC", "description": "Furnace replacement"}),
    )

    (history,) = rows(runtime, service_history)
    assert (history.description, history.line_items) == ("Furnace replacement", [])
    (equipment,) = rows(runtime, customer_equipment)
    assert (equipment.name, equipment.warranty_ends_on, equipment.source) == (
        "furnace",
        date(2036, 11, 2),
        "rule:furnace_install",
    )
    (note,) = timeline(runtime, only_customer(runtime).id, "equipment.recorded")
    assert note.summary.endswith("(rule furnace_install: 'Furnace replacement')")


def test_a_repair_records_service_history_but_no_equipment(runtime: Runtime) -> None:
    apply(
        runtime,
        job(ev.JobBooked, -300, snap={"service_type": "HVAC"}),
        job(ev.JobCompleted, -10, snap={"service_type": "HVAC", "line_items": ("Furnace igniter replacement",)}),
    )
    assert len(rows(runtime, service_history)) == 1
    assert rows(runtime, customer_equipment) == []
    assert timeline(runtime, only_customer(runtime).id, "equipment.recorded") == []


def test_an_invoice_writes_the_open_balance_and_line_items_and_plans_a_reminder(runtime: Runtime) -> None:
    apply(
        runtime,
        # Another job still owes money: the balance is what the customer owes across open jobs.
        job(ev.JobBooked, -600, "job_2"),
        job(ev.JobInvoiced, -500, "job_2", snap={"balance_cents": 12000, "line_items": ("Drain cleaning",)}),
        job(ev.JobBooked, -300),
        job(ev.JobCompleted, -60),
        job(ev.JobInvoiced, -10, snap={"balance_cents": 45000, "line_items": ("Furnace install - 80% AFUE",)}),
    )

    assert field(runtime, "balance_cents") == (57000, MAPPING, at(-10))
    assert field(runtime, "line_items") == (["Furnace install - 80% AFUE"], VENDOR, at(-10))
    reminder = next(m for m in planned(runtime, "payment_reminder") if m.job_id == job_id(runtime))
    assert (reminder.status, reminder.trigger_at, reminder.scheduled_for) == (
        "scheduled",
        at(-10),
        at(-10) + timedelta(days=3),
    )
    timer = next(t for t in rows(runtime, timers) if t.payload.get("message_id") == reminder.id)
    assert (timer.kind, timer.due_at) == ("job_text", at(-10) + timedelta(days=3))


def paid_job(runtime: Runtime, job_ref: str = "job_1", minutes: float = -5) -> None:
    """A job booked, completed, invoiced and paid in full by card on site, ``minutes`` after the test start."""
    apply(
        runtime,
        job(ev.JobBooked, minutes - 300, job_ref),
        job(ev.JobCompleted, minutes - 60, job_ref),
        job(ev.JobInvoiced, minutes - 30, job_ref, snap={"balance_cents": 45000}),
        job(ev.PaymentCaptured, minutes, job_ref, payment_ref=f"pay_{job_ref}", amount_cents=45000),
    )


def test_a_payment_marks_the_account_active_closes_the_balance_tags_and_plans_review_and_renewal(
    runtime: Runtime,
) -> None:
    paid_job(runtime)

    assert field(runtime, "account_status") == ("active", MAPPING, at(-5))
    assert field(runtime, "last_paid_at") == (at(-5).isoformat(), VENDOR, at(-5))
    assert field(runtime, "balance_cents") == (0, MAPPING, at(-5))
    assert field(runtime, "tags") == (["closed-won"], MAPPING, at(-5))
    assert field(runtime, "renewal_due_on") == ("2027-11-02", "rule:renewal_scheduling", at(-5))
    (review,) = planned(runtime, "review_request")
    assert (review.status, review.scheduled_for, review.job_id) == ("scheduled", at(25), job_id(runtime))
    assert "review_request" in {t.kind for t in rows(runtime, timers)}


def test_paying_twice_keeps_one_closed_won_tag(runtime: Runtime) -> None:
    paid_job(runtime, "job_1", -500)
    paid_job(runtime, "job_2", -5)

    value, source, _ = field(runtime, "tags")
    assert (value, source) == (["closed-won"], MAPPING)
    assert field(runtime, "last_paid_at")[0] == at(-5).isoformat()
    assert len(planned(runtime, "review_request")) == 2


def test_a_card_payment_matched_by_the_payment_processor_writes_the_same_fields(runtime: Runtime) -> None:
    apply(
        runtime,
        job(ev.JobBooked, -300),
        job(ev.JobCompleted, -60),
        job(ev.JobInvoiced, -30, snap={"balance_cents": 45000}),
        ev.PaymentReceived(
            source="stripe",
            occurred_at=at(-5),
            customer=None,
            payment_ref="pi_1",
            amount_cents=45000,
            job_ref="job_1",
            job_source=HCP,
        ),
    )
    assert field(runtime, "last_paid_at") == (at(-5).isoformat(), "vendor:stripe", at(-5))
    assert field(runtime, "balance_cents") == (0, MAPPING, at(-5))
    assert field(runtime, "account_status")[0] == "active"
    assert len(planned(runtime, "review_request")) == 1


def stripe_payment(minutes: float, job_ref: str = "job_1") -> ev.PaymentReceived:
    """A card payment Stripe matched to a Housecall Pro job by reference: it carries no job snapshot."""
    return ev.PaymentReceived(
        source="stripe",
        occurred_at=at(minutes),
        customer=None,
        payment_ref=f"pi_{job_ref}",
        amount_cents=45000,
        job_ref=job_ref,
        job_source=HCP,
    )


@pytest.fixture
def mapped(db_url: str, settings: Settings, secrets_env: None) -> Iterator[Callable[[dict[str, Any]], Runtime]]:
    """A runtime whose table is only the rows given (event → row), on this test's database."""
    built: list[Runtime] = []

    def build(table: dict[str, Any]) -> Runtime:
        mapping = {"field_mapping": FieldMapping.model_validate(table)}
        mapped_settings = settings.model_copy(update=mapping)
        built.append(build_runtime(db_url, settings=mapped_settings, clock=SimulatedClock(START), migrate=False))
        return built[-1]

    yield build
    for runtime in built:
        runtime.engine.dispose()


INSTALL_LINES = ("Furnace install - 96% AFUE", "Water heater install - 50 gal", "Haul away old units")
JOB_PAID_LINES = {"job.paid": {"write": {"line_items": "job.line_items", "equipment": "job.line_items"}}}


def test_a_payment_matched_by_the_payment_processor_reads_the_job_it_does_not_carry_from_the_stored_job(
    mapped: Callable[[dict[str, Any]], Runtime],
) -> None:
    runtime = mapped({**JOB_PAID_LINES, "job.completed": {"write": {"service_history": "job"}}})
    end = APPOINTMENT + timedelta(hours=4)
    # The invoice names the lines, the booking the end time; the payment carries neither.
    apply(
        runtime,
        job(ev.JobBooked, -300, snap={"scheduled_end": end}),
        job(ev.JobInvoiced, -30, snap={"balance_cents": 45000, "line_items": INSTALL_LINES}),
        job(ev.JobCompleted, -20),  # a completion that names no lines keeps the invoice's
        stripe_payment(-5),
    )

    furnace = job_id(runtime)
    stored = in_store(runtime, lambda store: store.get_job(furnace))
    assert stored is not None
    assert (stored.scheduled_end, stored.line_items, stored.status) == (end, INSTALL_LINES, "paid")
    assert field(runtime, "line_items") == (list(INSTALL_LINES), "vendor:stripe", at(-5))
    (history,) = rows(runtime, service_history)
    assert history.line_items == list(INSTALL_LINES)
    # From the stored lines, not from the job's words ("Furnace install"), which would name the furnace alone.
    assert sorted(e.name for e in rows(runtime, customer_equipment)) == ["furnace", "water heater"]


def test_a_job_stored_before_line_items_were_kept_leaves_the_crm_line_items_untouched(
    mapped: Callable[[dict[str, Any]], Runtime],
) -> None:
    runtime = mapped({**JOB_PAID_LINES, "job.invoiced": {"write": {"line_items": "job.line_items"}}})
    apply(runtime, job(ev.JobInvoiced, -30, snap={"balance_cents": 45000, "line_items": INSTALL_LINES}))
    with runtime.engine.begin() as conn:  # as a job stored before migration 0008 is: its line items never kept
        conn.execute(update(jobs).values(line_items=None))

    apply(runtime, stripe_payment(-5))

    # The payment does not say the lines and the job does not know them: the invoice's stay, as of the invoice.
    assert field(runtime, "line_items") == (list(INSTALL_LINES), VENDOR, at(-30))


def test_a_tag_from_a_source_without_a_value_adds_no_tag(mapped: Callable[[dict[str, Any]], Runtime]) -> None:
    runtime = mapped({"job.booked": {"write": {"tags": "job.service_type"}}})
    apply(runtime, job(ev.JobBooked, -300, "job_1", snap={"service_type": None}))
    assert "tags" not in fields(runtime)

    apply(runtime, job(ev.JobBooked, -200, "job_2"))
    assert field(runtime, "tags") == (["Furnace install"], MAPPING, at(-200))


def test_the_renewal_falls_on_the_last_day_of_a_shorter_month(
    db_url: str, settings: Settings, secrets_env: None
) -> None:
    paid_at = datetime(2026, 8, 31, 20, 0, tzinfo=UTC)  # 15:00 in Chicago
    runtime = build_runtime(
        db_url,
        settings=settings.model_copy(update={"renewal_after_months": 6}),
        clock=SimulatedClock(paid_at + timedelta(minutes=1)),
        migrate=False,
    )
    try:
        apply(
            runtime,
            ev.PaymentCaptured(
                source=HCP,
                occurred_at=paid_at,
                customer=pat(),
                job=ev.JobSnapshot(external_id="job_1", total_cents=45000),
                payment_ref="pay_1",
                amount_cents=45000,
            ),
        )
        assert field(runtime, "renewal_due_on") == ("2027-02-28", "rule:renewal_scheduling", paid_at)
    finally:
        runtime.engine.dispose()


def test_a_cancellation_writes_the_reason_and_clears_the_next_appointment(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobBooked, -300), job(ev.JobCancelled, -10, reason="Customer sold the house"))

    assert field(runtime, "last_cancellation_reason") == ("Customer sold the house", VENDOR, at(-10))
    assert field(runtime, "next_appointment_at") == (None, MAPPING, at(-10))


def test_a_cancellation_keeps_the_appointment_of_another_job_still_booked(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobBooked, -300, "job_1"))
    apply(runtime, job(ev.JobBooked, -200, "job_2", snap={"scheduled_start": OTHER_APPOINTMENT}))
    apply(runtime, job(ev.JobCancelled, -10, "job_1", reason="Fixed it himself"))

    assert field(runtime, "next_appointment_at") == ("2026-11-05T20:30:00+00:00", MAPPING, at(-10))


def test_a_sent_estimate_writes_its_total(runtime: Runtime) -> None:
    apply(runtime, estimate(ev.EstimateSent, -10))

    assert set(fields(runtime)) == {"last_estimate_total_cents"}
    assert field(runtime, "last_estimate_total_cents") == (1_250_000, VENDOR, at(-10))


def test_an_accepted_estimate_asks_for_the_work_to_be_scheduled(runtime: Runtime) -> None:
    apply(runtime, estimate(ev.EstimateSent, -60), estimate(ev.EstimateAccepted, -10))

    value, source, _ = field(runtime, "scheduling_requested_at")
    assert (value, source) == (at(-10).isoformat(), "rule:scheduling_trigger")
    (note,) = timeline(runtime, only_customer(runtime).id, "work.to_schedule")
    assert (note.summary, note.at, note.source, note.applied) == (
        "Estimate #1042 approved: schedule the work",
        at(-10),
        "fieldrelay",
        True,
    )


def test_a_late_acceptance_of_an_older_estimate_does_not_roll_the_scheduling_request_back(runtime: Runtime) -> None:
    apply(runtime, estimate(ev.EstimateSent, -120, "est_1"), estimate(ev.EstimateSent, -100, "est_2"))
    apply(runtime, estimate(ev.EstimateAccepted, -10, "est_2"))
    apply(runtime, estimate(ev.EstimateAccepted, -20, "est_1"))  # said earlier, delivered later

    assert field(runtime, "scheduling_requested_at") == (at(-10).isoformat(), "rule:scheduling_trigger", at(-10))


def test_a_lead_writes_what_the_enquirer_is_interested_in(runtime: Runtime) -> None:
    apply(
        runtime,
        ev.LeadReceived(
            source="forms",
            occurred_at=at(-5),
            customer=ev.CustomerSnapshot(external_id="sub_1", first_name="Sam", phones=("(737) 555-0199",)),
            lead_ref="sub_1",
            service="Water heater replacement",
            channel="web_form",
        ),
    )
    assert set(fields(runtime)) == {"interested_in"}
    assert field(runtime, "interested_in") == ("Water heater replacement", "vendor:forms", at(-5))


def test_an_event_without_a_row_writes_nothing_and_plans_nothing(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobBooked, -300))
    before = (fields(runtime), len(rows(runtime, messages)), len(rows(runtime, timers)))
    apply(runtime, job(ev.JobArrived, -10, snap={"technicians": ("Alex Kim",)}))
    assert (fields(runtime), len(rows(runtime, messages)), len(rows(runtime, timers))) == before


# --- as-of rules ---------------------------------------------------------------------------------------------------


def test_an_event_older_than_a_fields_as_of_time_does_not_overwrite_it(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobBooked, -10, "job_1"))
    # Another job's booking, said earlier but delivered later: applied to its job, but not over the newer field.
    apply(runtime, job(ev.JobBooked, -20, "job_2", snap={"scheduled_start": OTHER_APPOINTMENT, "service_type": "AC"}))

    assert field(runtime, "next_appointment_at") == ("2026-11-03T16:00:00+00:00", MAPPING, at(-10))
    assert field(runtime, "service_type") == ("Furnace install", VENDOR, at(-10))
    assert len(planned(runtime, "confirmation_text")) == 2, "the job itself was booked: its confirmation stands"


def test_a_newer_event_overwrites_the_field_and_its_as_of_time(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobBooked, -20, "job_1"))
    apply(runtime, job(ev.JobBooked, -10, "job_2", snap={"scheduled_start": OTHER_APPOINTMENT, "service_type": "AC"}))

    # The next appointment is the earliest of the customer's open jobs, written as of the newer event.
    assert field(runtime, "next_appointment_at") == ("2026-11-03T16:00:00+00:00", MAPPING, at(-10))
    assert field(runtime, "service_type") == ("AC", VENDOR, at(-10))


def test_an_event_not_applied_to_its_job_writes_no_field_and_plans_nothing(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobBooked, -300), job(ev.JobCompleted, -10))
    before_messages = [(m.id, m.purpose) for m in rows(runtime, messages)]
    before_timers = [t.id for t in rows(runtime, timers)]

    # A late "dispatched", older than the completion: logged, not applied.
    apply(runtime, job(ev.JobDispatched, -60, snap={"technicians": ("Alex Kim",)}))

    assert "assigned_technician" not in fields(runtime)
    assert "eta" not in fields(runtime)
    assert [(m.id, m.purpose) for m in rows(runtime, messages)] == before_messages
    assert [t.id for t in rows(runtime, timers)] == before_timers
    (note,) = timeline(runtime, only_customer(runtime).id, "job.dispatched")
    assert note.applied is False


def test_a_late_payment_event_older_than_a_cancellation_writes_nothing(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobBooked, -300), job(ev.JobCancelled, -10, reason="No longer needed"))
    apply(runtime, job(ev.PaymentCaptured, -20, payment_ref="pay_1", amount_cents=45000))

    assert {"account_status", "last_paid_at", "tags", "renewal_due_on"}.isdisjoint(fields(runtime))
    assert planned(runtime, "review_request") == []
