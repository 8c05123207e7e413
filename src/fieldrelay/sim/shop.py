"""One simulated week of a plumbing shop, as the Housecall Pro webhook deliveries it would produce.

Pure and deterministic: everything is drawn from one ``random.Random(seed)``. Each job is planned first
(booking, schedule, drive, work, payment), then every event body is a snapshot of the job at the moment
the event occurred. Delivery faults (redelivered copies, late deliveries) are added last.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

from fieldrelay.sim import people
from fieldrelay.sim.people import (
    CLOSE,
    OPEN,
    SHOP_TZ,
    SimCustomer,
    SimTechnician,
    at_or_before,
    awake,
    business_moment,
    iso,
    local_at,
    local_clock,
    random_span,
    vendor_id,
)

COMPANY_ID = "co_sim_plumbing"
WEEK = timedelta(days=7)
Stream = list[tuple[datetime, dict[str, Any]]]  # (occurred_at, body) of one job's or estimate's events

# fmt: off
# (job type, weight, lowest ticket $, highest ticket $): most tickets land between $180 and $600.
JOB_TYPES = (
    ("Drain cleaning", 10, 180, 450), ("Toilet repair", 7, 150, 380), ("Faucet replacement", 6, 220, 520),
    ("Leak repair", 8, 200, 600), ("Garbage disposal replacement", 4, 280, 560),
    ("Water heater repair", 6, 250, 600), ("Sewer camera inspection", 3, 250, 450),
    ("Sump pump repair", 2, 350, 900), ("Gas line repair", 2, 450, 1400),
    ("Water heater replacement", 3, 1400, 2500), ("Slab leak repair", 1, 1200, 2500),
)
JOB_NOTES = ("", "Gate code 4411.", "Dog in backyard.", "Call on arrival.", "Customer home after 1pm.",
             "Second-floor bathroom.", "Kitchen sink.", "Tenant occupied; owner pays.")
# fmt: on
# (estimate title, [(option name, lowest $, highest $), ...])
ESTIMATES = (
    ("Water heater replacement", [("50-gal gas tank", 1600, 2200), ("Tankless gas", 3800, 5200)]),
    ("Whole-house repipe (PEX)", [("PEX repipe", 6500, 9500)]),
    ("Sewer line repair", [("Spot repair", 2200, 3500), ("Full replacement", 7000, 12000)]),
    ("Water softener install", [("Softener", 1800, 2600), ("Softener + RO", 3200, 4200)]),
)


@dataclass(frozen=True)
class SimDelivery:
    """One webhook POST: when it is delivered and the Housecall Pro envelope it carries."""

    deliver_at: datetime
    body: dict[str, Any]
    redelivery: bool = False
    late: bool = False


@dataclass
class JobPlan:
    """Everything that happens to one job during the week; payloads are snapshots of it."""

    id: str
    invoice_number: str
    tech: SimTechnician
    job_type: str
    description: str
    total: int
    on_my_way_at: datetime
    started_at: datetime
    completed_at: datetime
    start: datetime
    end: datetime
    window: int
    booked_at: datetime
    scheduled_at: datetime
    customer_created_at: datetime
    customer: SimCustomer | None = None
    new_customer: bool = True
    rescheduled_at: datetime | None = None
    original: tuple[datetime, datetime] | None = None
    canceled_at: datetime | None = None
    cancel_status: str = "user canceled"
    paid_at: datetime | None = None
    invoice_id: str | None = None
    invoiced_at: datetime | None = None

    def snapshot(self, at: datetime) -> dict[str, Any]:
        """Return the job object as Housecall Pro would send it at ``at``."""
        assert self.customer is not None
        live = not at_or_before(self.canceled_at, at)
        stamps = {
            "on_my_way_at": self.on_my_way_at,
            "started_at": self.started_at,
            "completed_at": self.completed_at,
        }
        if not live:
            status = self.cancel_status
        elif self.completed_at <= at:
            status = "complete unrated"
        elif self.started_at <= at:
            status = "in progress"
        else:
            status = "scheduled" if self.scheduled_at <= at else "needs scheduling"
        scheduled = self.scheduled_at <= at
        start, end = self.start, self.end
        if self.original and not at_or_before(self.rescheduled_at, at):
            start, end = self.original
        return {
            "id": self.id,
            "invoice_number": self.invoice_number,
            "description": self.description,
            "customer": self.customer.summary(),
            "address": self.customer.address(),
            "work_status": status,
            "work_timestamps": {k: iso(v) if live and v <= at else None for k, v in stamps.items()},
            "schedule": {
                "scheduled_start": iso(start) if scheduled else None,
                "scheduled_end": iso(end) if scheduled else None,
                "arrival_window": self.window if scheduled else 0,
            },
            "total_amount": self.total,
            "outstanding_balance": 0 if at_or_before(self.paid_at, at) else self.total,
            "assigned_employees": [self.tech.employee()] if scheduled else [],
            "job_fields": {"job_type": {"name": self.job_type}},
            "canceled_at": iso(self.canceled_at) if self.canceled_at and not live else None,
        }

    def invoice(self, at: datetime) -> dict[str, Any]:
        """Return the invoice object at ``at``."""
        paid = at_or_before(self.paid_at, at)
        return {
            "id": self.invoice_id,
            "job_id": self.id,
            "invoice_number": self.invoice_number,
            "status": "paid" if paid else "open",
            "amount": self.total,
            "due_amount": 0 if paid else self.total,
            "sent_at": iso(self.invoiced_at) if self.invoiced_at else None,
            "paid_at": iso(self.paid_at) if paid and self.paid_at else None,
        }


@dataclass
class EstimatePlan:
    """One estimate: sent during the week, then maybe approved or declined."""

    id: str
    number: str
    title: str
    options: list[tuple[str, str, int]]
    sent_at: datetime
    customer_created_at: datetime
    decided_at: datetime | None
    approved_index: int | None
    customer: SimCustomer | None = None
    new_customer: bool = True

    def snapshot(self, at: datetime) -> dict[str, Any]:
        """Return the estimate object at ``at``."""
        assert self.customer is not None
        decided = at_or_before(self.decided_at, at)
        options = []
        for i, (option_id, name, total) in enumerate(self.options):
            status = ("approved" if i == self.approved_index else "declined") if decided else None
            option = {"id": option_id, "name": f"{self.title}: {name}", "total_amount": total}
            options.append({**option, "approval_status": status})
        return {
            "id": self.id,
            "estimate_number": self.number,
            "customer": self.customer.summary(),
            "address": self.customer.address(),
            "work_status": "complete unrated",
            "options": options,
        }


def _envelope(event: str, at: datetime, key: str, obj: dict[str, Any]) -> dict[str, Any]:
    """Wrap an object in the Housecall Pro webhook envelope."""
    return {"event": event, "event_occurred_at": iso(at), "company_id": COMPANY_ID, key: obj}


def _ticket(rng: random.Random) -> tuple[str, int]:
    """Draw a job type and its ticket in cents."""
    name, _, low, high = rng.choices(JOB_TYPES, weights=[t[1] for t in JOB_TYPES])[0]
    dollars = rng.triangular(low, high, low + (high - low) * 0.3)
    return name, int(round(dollars / 5) * 5 * 100)


def _plan_jobs(rng: random.Random, start: datetime, techs: list[SimTechnician], count: int) -> list[JobPlan]:
    """Lay jobs out on technicians' business days without overlaps, then book each one beforehand."""
    days = [d for d in (start + timedelta(days=i) for i in range(7)) if d.astimezone(SHOP_TZ).weekday() < 5]
    cursors = {
        (d, t): max(local_at(day, OPEN), start + timedelta(hours=1))
        for d, day in enumerate(days)
        for t in range(len(techs))
    }
    jobs: list[JobPlan] = []
    for _ in range(count):
        drive, onsite = random_span(rng, 20 * 60, 60 * 60), random_span(rng, 45 * 60, 180 * 60)
        gap = random_span(rng, 0, 150 * 60)
        fits = [k for k, c in cursors.items() if c + gap + drive + onsite <= local_at(days[k[0]], CLOSE)]
        if not fits:
            gap = timedelta(0)
            fits = [k for k, c in cursors.items() if c + drive + onsite <= local_at(days[k[0]], CLOSE)]
        if not fits:
            break
        key = rng.choice(fits)
        omw = cursors[key] + gap
        started, completed = omw + drive, omw + drive + onsite
        cursors[key] = completed + random_span(rng, 5 * 60, 30 * 60)
        local_start = started.astimezone(SHOP_TZ).replace(minute=0, second=0)
        slot = local_start.astimezone(UTC)
        window = rng.choice((60, 120, 120, 180))
        hours_done = math.ceil((completed - slot).total_seconds() / 3600)
        end = min(local_at(omw, CLOSE), max(slot + timedelta(minutes=window), slot + timedelta(hours=hours_done)))
        job_type, total = _ticket(rng)
        booked = business_moment(rng, start + timedelta(minutes=5), omw - timedelta(minutes=90))
        booked = booked or start + random_span(rng, 300, (omw - start).total_seconds() - 900)
        room = (omw - booked).total_seconds() - 600
        jobs.append(
            JobPlan(
                id=vendor_id(rng, "job"),
                invoice_number="",
                tech=techs[key[1]],
                job_type=job_type,
                description=f"{job_type}. {rng.choice(JOB_NOTES)}".strip(),
                total=total,
                on_my_way_at=omw,
                started_at=started,
                completed_at=completed,
                start=slot,
                end=end,
                window=window,
                booked_at=booked,
                scheduled_at=booked + random_span(rng, 60, min(1200, room)),
                customer_created_at=booked - random_span(rng, 60, 240),
            )
        )
    for n, job in enumerate(sorted(jobs, key=lambda j: j.booked_at)):
        job.invoice_number = str(4101 + n)
    return jobs


def _reschedule(rng: random.Random, job: JobPlan) -> None:
    """Move the job's appointment once: before the move it was at another time."""
    moved = business_moment(rng, job.scheduled_at + timedelta(minutes=30), job.on_my_way_at - timedelta(hours=1))
    if moved is None:
        return
    shifts = [timedelta(hours=-2), timedelta(days=-1), timedelta(days=1), timedelta(hours=2)]
    after = moved + timedelta(hours=1)
    options = [s for s in shifts if job.start + s > after and OPEN <= local_clock(job.start + s) <= time(15, 0)]
    shift = rng.choice(options) if options else timedelta(days=1)
    job.rescheduled_at, job.original = moved, (job.start + shift, job.end + shift)


def _cancel(rng: random.Random, job: JobPlan) -> None:
    """Cancel the job between its scheduling and its technician leaving."""
    low = job.scheduled_at + timedelta(minutes=2)
    high = max(low, job.on_my_way_at - timedelta(minutes=10))
    job.canceled_at = (business_moment(rng, low, high) or low + (high - low) / 2).replace(microsecond=0)
    job.cancel_status = "user canceled" if rng.random() < 0.7 else "pro canceled"


def _pay(rng: random.Random, job: JobPlan, how: str, week_end: datetime) -> None:
    """Set when a completed job is paid: ``onsite``, ``later`` the same day, by ``invoice``, or ``unpaid``."""
    if how == "onsite":
        job.paid_at = job.completed_at + random_span(rng, 60, 8 * 60)
    elif how == "later":
        job.paid_at = awake(rng, job.completed_at + random_span(rng, 20 * 60, 6 * 3600))
    else:
        job.invoice_id = vendor_id(rng, "inv")
        job.invoiced_at = job.completed_at + random_span(rng, 10 * 60, 90 * 60)
        if how == "invoice":
            job.paid_at = awake(rng, job.invoiced_at + random_span(rng, 86400, 4 * 86400))
    if job.paid_at is not None and job.paid_at > week_end - timedelta(minutes=30):
        job.paid_at = None


def _plan_estimates(rng: random.Random, start: datetime, count: int, week_end: datetime) -> list[EstimatePlan]:
    """Plan a few estimates: sent during the week, approved, declined or still pending."""
    plans = []
    for n in range(count):
        title, choices = rng.choice(ESTIMATES)
        options = [
            (vendor_id(rng, "opt"), name, int(rng.randint(low, high) // 10 * 1000)) for name, low, high in choices
        ]
        earliest = start + timedelta(hours=6)
        sent = business_moment(rng, earliest, start + timedelta(days=4)) or earliest
        created = max(start + timedelta(minutes=1), sent - random_span(rng, 2 * 3600, 4 * 3600))
        decision = awake(rng, sent + random_span(rng, 3 * 3600, 3 * 86400))
        roll = rng.random()
        decided = None if roll >= 0.8 or decision > week_end - timedelta(hours=1) else decision
        approved = rng.randrange(len(options)) if roll < 0.5 else None
        plans.append(
            EstimatePlan(
                id=vendor_id(rng, "est"),
                number=str(7001 + n),
                title=title,
                options=options,
                sent_at=sent,
                customer_created_at=created,
                decided_at=decided,
                approved_index=approved,
            )
        )
    return plans


def _assign_customers(rng: random.Random, work: list[JobPlan | EstimatePlan], repeat_jobs: int) -> None:
    """Give each job or estimate a customer, in creation order; about 15% of jobs reuse an earlier one."""
    work.sort(key=lambda w: w.customer_created_at)
    eligible = [i for i, w in enumerate(work) if i >= 4 and isinstance(w, JobPlan)]
    repeats = set(rng.sample(eligible, min(repeat_jobs, len(eligible))))
    phones, pool = people.PhoneBook(rng), list[SimCustomer]()
    for i, item in enumerate(work):
        if i in repeats:
            item.customer, item.new_customer = rng.choice(pool), False
        else:
            item.customer = people.make_customer(rng, phones)
            pool.append(item.customer)


def _customer_events(item: JobPlan | EstimatePlan) -> Stream:
    """Return the `customer.created` event that precedes the item, when its customer is new."""
    assert item.customer is not None
    if not item.new_customer:
        return []
    at = item.customer_created_at
    return [(at, _envelope("customer.created", at, "customer", item.customer.full()))]


def job_events(job: JobPlan) -> Stream:
    """Return every (occurred_at, body) of one job, in order."""
    events = _customer_events(job)
    steps = [("job.created", job.booked_at), ("job.scheduled", job.scheduled_at)]
    if job.rescheduled_at:
        steps.append(("job.appointment.rescheduled", job.rescheduled_at))
    if job.canceled_at:
        steps.append(("job.canceled", job.canceled_at))
    else:
        steps += [
            ("job.on_my_way", job.on_my_way_at),
            ("job.started", job.started_at),
            ("job.completed", job.completed_at),
        ]
        if job.invoiced_at is None and job.paid_at:
            steps.append(("job.paid", job.paid_at))
    events += [(at, _envelope(name, at, "job", job.snapshot(at))) for name, at in steps]
    for name, at in (("invoice.created", job.invoiced_at), ("invoice.paid", job.paid_at)):
        if job.invoiced_at and at:
            events.append((at, {**_envelope(name, at, "invoice", job.invoice(at)), "job": job.snapshot(at)}))
    return events


def _estimate_events(est: EstimatePlan) -> Stream:
    """Return every (occurred_at, body) of one estimate, in order."""
    steps = [("estimate.sent", est.sent_at)]
    if est.decided_at:
        steps.append(("estimate.option.approval_status_change", est.decided_at))
    return _customer_events(est) + [(at, _envelope(name, at, "estimate", est.snapshot(at))) for name, at in steps]


def _deliveries(rng: random.Random, streams: list[Stream]) -> list[SimDelivery]:
    """Deliver each event a few seconds after it occurred; make ~3% late and send ~5% twice."""
    out: list[SimDelivery] = []
    late_candidates: list[tuple[int, datetime]] = []
    for stream in streams:
        deliveries = [SimDelivery(at + random_span(rng, 0, 4), body) for at, body in stream]
        done = next((d.deliver_at for d in deliveries if d.body["event"] == "job.completed"), None)
        for d in deliveries:
            if done and d.body["event"] in ("job.scheduled", "job.on_my_way", "job.started"):
                late_candidates.append((len(out), done))
            out.append(d)
    late = min(len(late_candidates), max(1, round(0.03 * len(out))))
    for index, done in rng.sample(late_candidates, late):
        out[index] = replace(out[index], deliver_at=done + random_span(rng, 60, 30 * 60), late=True)
    for index in rng.sample(range(len(out)), max(1, round(0.05 * len(out)))):
        again = out[index].deliver_at + random_span(rng, 30, 30 * 60)
        out.append(replace(out[index], deliver_at=again, redelivery=True))
    return out


def build_week(start: datetime, seed: int = 7, technicians: int = 9, jobs_per_week: int = 47) -> list[SimDelivery]:
    """Return every webhook delivery of one simulated week, sorted by deliver_at."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    rng = random.Random(seed)
    start = start.astimezone(UTC).replace(microsecond=0)
    week_end = start + WEEK
    jobs = _plan_jobs(rng, start, people.make_technicians(rng, technicians), jobs_per_week)
    live = list(jobs)
    for job in rng.sample(jobs, max(1, round(0.08 * len(jobs)))):
        _cancel(rng, job)
        live.remove(job)
    movable = [j for j in live if j.on_my_way_at - j.scheduled_at >= timedelta(hours=3)]
    for job in rng.sample(movable, min(len(movable), max(1, round(0.08 * len(live))))):
        _reschedule(rng, job)
    modes = ["unpaid"] * max(1, round(0.05 * len(live))) + ["invoice"] * round(0.15 * len(live))
    modes += ["later"] * round(0.18 * len(live))
    modes += ["onsite"] * (len(live) - len(modes))
    rng.shuffle(modes)
    for job, how in zip(live, modes, strict=True):
        _pay(rng, job, how, week_end)
    estimates = _plan_estimates(rng, start, max(2, round(0.1 * jobs_per_week)), week_end)
    _assign_customers(rng, [*jobs, *estimates], round(0.15 * len(jobs)))
    streams = [job_events(j) for j in jobs] + [_estimate_events(e) for e in estimates]
    deliveries = [d for d in _deliveries(rng, streams) if start <= d.deliver_at < week_end]
    return sorted(deliveries, key=lambda d: d.deliver_at)
