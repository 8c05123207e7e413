"""Friends of happy customers: a referred lead through the website form, then a booked, done and paid first job.

Pure and deterministic (one ``random.Random`` per seed), except for the one thing only the service knows: the
referrer's code. A referrer is a customer of the week who answered the satisfaction question with a 4 or a 5 (the
service enrols them and texts them their link); their friend fills in the form a few hours later with that code, which
the driver asks the service for when it posts the form (``with_code``). The shop then books the friend in Housecall
Pro, with the same name, phone and email, for the next business day; the technician does the work and is paid on site.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta

import httpx

from fieldrelay.domain.contact import normalize_phone
from fieldrelay.sim import people
from fieldrelay.sim.leads import FORM_ID, HONEYPOT, SimSubmission, customers_of, digits, spelled_out, typed_phone
from fieldrelay.sim.people import SHOP_TZ, SimCustomer, SimTechnician, business_moment, local_at, random_span
from fieldrelay.sim.replies import SimReply
from fieldrelay.sim.shop import JobPlan, SimDelivery, job_events

REFERRED = "referred"  # the kind of a friend's submission (beside leads.KINDS)
# (service on the form and in Housecall Pro, lowest ticket $, highest ticket $)
SERVICES = (
    ("Drain cleaning", 180, 420),
    ("Water heater repair", 250, 600),
    ("Leak repair", 200, 550),
    ("Toilet repair", 150, 380),
)
MESSAGES = ("{first} {last} said you did great work for them.", "Referred by my neighbor {first}.", "")
SLOTS = (time(9, 0), time(10, 0), time(13, 0))  # the friend's appointment on the next business day
LAST_CALL = timedelta(days=3, hours=8)  # a friend writes in by Thursday 15:00, so the job is done and paid by Friday


@dataclass(frozen=True)
class Referral:
    """One friend's way through the week: the form they send and the Housecall Pro deliveries of their first job."""

    submission: SimSubmission
    deliveries: list[SimDelivery]
    referrer: SimCustomer


def build_referrals(
    deliveries: Sequence[SimDelivery],
    replies: Sequence[SimReply],
    taken: Mapping[str, str],
    start: datetime,
    seed: int = 7,
    count: int = 3,
) -> list[Referral]:
    """Return up to ``count`` referred friends of the week, by submission time.

    ``taken``: 10-digit phone → name of everyone else who writes in during the week (the friends are new people).
    """
    rng = random.Random(f"fieldrelay-referrals-{seed}")
    start = start.astimezone(UTC)
    known = [c for _, c in customers_of(deliveries)]
    by_phone = {normalize_phone(n): c for c in known for n in (c.mobile_number, c.home_number) if n}
    limit = start + LAST_CALL
    happy: dict[str, SimReply] = {}  # one friend per referrer, counted from their first happy reply
    for r in replies:
        if r.rating >= 4 and r.deliver_at + timedelta(hours=3) < limit and r.from_phone in by_phone:
            happy.setdefault(r.from_phone, r)
    chosen = rng.sample(sorted(happy.values(), key=lambda r: r.deliver_at), min(count, len(happy)))
    names = {f"{c.first_name} {c.last_name}" for c in known} | set(taken.values())
    numbers = {digits(n) for c in known for n in (c.mobile_number, c.home_number) if n} | set(taken)
    techs = _technicians(deliveries)
    referrals = []
    for n, reply in enumerate(sorted(chosen, key=lambda r: r.deliver_at)):
        referrer = by_phone[reply.from_phone]
        friend = _friend(rng, referrer, names, numbers)
        submitted = business_moment(rng, reply.deliver_at + timedelta(hours=3), limit) or limit
        service = rng.choice(SERVICES)[0]
        submission = _submission(rng, friend, referrer, submitted, service, reply.from_phone, n)
        job = _first_job(rng, friend, submitted, service, rng.choice(techs), n)
        stream = [SimDelivery(at + random_span(rng, 1, 4), body) for at, body in job_events(job)]
        referrals.append(Referral(submission, stream, referrer))
    return referrals


def with_code(client: httpx.Client, auth: Mapping[str, str], submission: SimSubmission) -> SimSubmission:
    """The submission with its referrer's code, as the service holds it (unchanged when the referrer is unknown).

    The friend has the code from the referrer's invitation text; the simulator asks the service for it instead:
    ``POST /api/referrers`` answers an enrolled customer's code and changes nothing.
    """
    if submission.referred_by is None:
        return submission
    found = client.get("/api/customers", params={"phone": submission.referred_by}, headers=auth)
    items = found.json()["items"] if found.status_code == 200 else []
    if not items:
        return submission
    answer = client.post("/api/referrers", json={"customer_id": items[0]["id"], "by": "simulator"}, headers=auth)
    answer.raise_for_status()
    return replace(submission, fields={**submission.fields, "referral_code": answer.json()["code"]})


def _technicians(deliveries: Sequence[SimDelivery]) -> list[SimTechnician]:
    """The week's technicians, from the jobs they were assigned to."""
    found: dict[str, SimTechnician] = {}
    for d in deliveries:
        for e in (d.body.get("job") or {}).get("assigned_employees") or []:
            found.setdefault(e["id"], SimTechnician(e["id"], e["first_name"], e["last_name"]))
    return [found[k] for k in sorted(found)]


def _friend(rng: random.Random, referrer: SimCustomer, names: set[str], numbers: set[str]) -> SimCustomer:
    """Someone new to the shop, living elsewhere than the referrer, with a fictional number nobody in the week has."""
    while True:
        first, last = rng.choice(people.FIRST_NAMES), rng.choice(people.LAST_NAMES)
        if f"{first} {last}" not in names and last != referrer.last_name:
            break
    names.add(f"{first} {last}")
    free = [f"{a}555{n:04d}" for a in sorted(set(people.AREA_CODES)) for n in range(100, 200)]
    number = rng.choice([n for n in free if n not in numbers])
    numbers.add(number)
    zip_code = rng.choice([z for z in people.AUSTIN_ZIPS if z != referrer.zip])
    return SimCustomer(
        id=people.vendor_id(rng, "cus"),
        first_name=first,
        last_name=last,
        email=f"{first}.{last}@{rng.choice(people.EMAIL_DOMAINS)}".lower().replace("'", ""),
        mobile_number=f"({number[:3]}) {number[3:6]}-{number[6:]}",
        home_number=None,
        lead_source="Referral",
        address_id=people.vendor_id(rng, "adr"),
        street=f"{rng.randrange(100, 9999)} {rng.choice(people.STREETS)}",
        street_line_2=None,
        zip=zip_code,
    )


def _submission(
    rng: random.Random,
    friend: SimCustomer,
    referrer: SimCustomer,
    at: datetime,
    service: str,
    referrer_phone: str,
    n: int,
) -> SimSubmission:
    """The friend's form: their own details, the service, a word about who sent them (the code comes at posting)."""
    assert friend.mobile_number is not None and friend.email is not None
    local = at.astimezone(SHOP_TZ)
    fields = {
        "form": FORM_ID,
        "submission_id": f"sub_{local:%Y%m%d}_r{n + 1:03d}",
        "submitted_at": local.isoformat(timespec="seconds"),
        "name": f"{friend.first_name} {friend.last_name}",
        "phone": typed_phone(rng, friend.mobile_number),
        "email": friend.email,
        "address": spelled_out(friend.street),
        "zip": friend.zip,
        "service": service,
        "message": rng.choice(MESSAGES).format(first=referrer.first_name, last=referrer.last_name),
        HONEYPOT: "",
    }
    return SimSubmission(
        deliver_at=at + random_span(rng, 1, 5),
        fields=fields,
        kind=REFERRED,
        style=f"referred by {referrer.first_name} {referrer.last_name}",
        about=None,
        client_ip=f"198.51.100.{10 + n}",  # documentation range, apart from the other visitors'
        referred_by=referrer_phone,
    )


def _first_job(
    rng: random.Random, friend: SimCustomer, submitted: datetime, service: str, tech: SimTechnician, n: int
) -> JobPlan:
    """Booked within the hour of the form, done the next business day, paid on site."""
    created = business_moment(rng, submitted + timedelta(minutes=25), submitted + timedelta(minutes=70))
    created = created or submitted + timedelta(minutes=25)
    booked = created + random_span(rng, 60, 180)
    day = local_at(submitted, time(12, 0)) + timedelta(days=1)
    while day.astimezone(SHOP_TZ).weekday() >= 5:
        day += timedelta(days=1)
    slot = local_at(day, rng.choice(SLOTS))
    on_my_way = slot - random_span(rng, 25 * 60, 45 * 60)
    started = on_my_way + random_span(rng, 20 * 60, 40 * 60)
    completed = started + random_span(rng, 60 * 60, 150 * 60)
    service, low, high = next(s for s in SERVICES if s[0] == service)
    return JobPlan(
        id=people.vendor_id(rng, "job"),
        invoice_number=str(4901 + n),
        tech=tech,
        job_type=service,
        description=f"{service}. Referred customer.",
        total=int(round(rng.uniform(low, high) / 5) * 5 * 100),
        on_my_way_at=on_my_way,
        started_at=started,
        completed_at=completed,
        start=slot,
        end=slot + timedelta(hours=2),
        window=120,
        booked_at=booked,
        scheduled_at=booked + random_span(rng, 60, 6 * 60),
        customer_created_at=created,
        customer=friend,
        paid_at=completed + random_span(rng, 60, 8 * 60),
    )
