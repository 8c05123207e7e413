"""The shop's office working its queue through the JSON API, the way a good shop would, on the simulated clock.

Three people share the work: Dana (CSR) answers new leads, Sofia (sales) follows up estimates and offers, Pat
(operations manager) calls customers who rated a job low. In business hours (Monday to Friday, 08:00-17:00 shop time)
they look at the open tasks (``GET /api/tasks``) whenever something came in (the CRM's new-lead notification) and
otherwise every quarter of an hour, and each task is worked at a moment a person would:

- a new lead gets a call within minutes (``POST /api/deals/{id}/followups``); when the call reaches them the lead is
  qualified on it (``POST /api/deals/{id}/qualify``: ZIP, job type, when), when it goes to voicemail Dana calls back
  within the hour or two and qualifies then;
- an estimate follow-up is called in the hours before it falls due (same afternoon, day 2, day 5) and closed with what
  happened (``POST /api/tasks/{id}/complete``); an estimate the customer already answered is closed as such;
- a service-recovery call within a couple of hours, a plan-offer or rebooking call the same day, any other task with
  its family's plain outcome.

Deterministic per seed: a task's moment and outcome come from a ``random.Random`` seeded with the seed and what the task
is (kind, customer, due time), never its id (a fresh uuid each run). Nothing is done outside business hours: a lead
that writes in at night is called when the shop opens.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from fieldrelay.sim.leads import digits
from fieldrelay.sim.people import CLOSE, OPEN, SHOP_TZ, business_moment, local_at, random_span

CSR, SALES, OPERATIONS = "Dana (CSR)", "Sofia (sales)", "Pat (operations)"
LOOK_EVERY = timedelta(minutes=15)
WRAP_UP = timedelta(minutes=10)  # after closing the office finishes the day's calls (a lead at 16:58 is called back)
ANSWERED = 0.8  # share of first calls that reach the customer (else voicemail and a call back)
WHEN = ("as soon as possible", "this week", "Thursday morning", "Friday afternoon", "next available")
# Notes by outcome; the office picks one per task.
NOTES: dict[str, tuple[str, ...]] = {
    "reached": ("Talked it through; they're deciding this week.", "Answered their questions on the options."),
    "left_message": ("Left a voicemail with my direct line.", "Left a message; will try again."),
    "no_answer": ("No answer, no voicemail set up.",),
    "declined": ("Not interested for now.", "Said no thanks."),
    "plan_booked": ("Signed up for the plan on the call.",),
    "booked": ("Booked the work.",),
    "done": ("Done.",),
}
# Task kind (or prefix) → who works it, and the outcomes drawn (with weights) when the customer picks up or not.
PEOPLE = (
    ("sop.", SALES),
    ("service_recovery.", OPERATIONS),
    ("maintenance_plan_offer.", SALES),
    ("rebooking.", SALES),
)
WORDS = {
    "sop.": "estimate follow-up",
    "service_recovery.": "service-recovery call",
    "maintenance_plan_offer.": "plan-offer call",
    "rebooking.": "rebooking call",
}
OUTCOMES: dict[str, tuple[tuple[str, int], ...]] = {
    "sop.": (("reached", 55), ("left_message", 30), ("no_answer", 15)),
    "service_recovery.": (("reached", 80), ("left_message", 20)),
    "maintenance_plan_offer.": (("plan_booked", 20), ("declined", 40), ("left_message", 25), ("no_answer", 15)),
    "rebooking.": (("booked", 25), ("declined", 35), ("left_message", 25), ("no_answer", 15)),
}
DECIDED = {  # a deal the customer already answered (in the field tool): the follow-up closes saying so
    "work_approved": "They approved the estimate; handed to dispatch to book the work.",
    "scheduled": "They approved the estimate; the work is booked.",
    "won": "They approved the estimate; the work is done.",
    "lost": "They went with another option; closed the loop.",
}


def working(moment: datetime) -> bool:
    """Whether the office is in at ``moment`` (business hours and the wrap-up after closing)."""
    local = moment.astimezone(SHOP_TZ)
    return local.weekday() < 5 and local_at(moment, OPEN) <= moment < local_at(moment, CLOSE) + WRAP_UP


def next_working(moment: datetime) -> datetime:
    """``moment`` when the office is in, else when it next opens."""
    day = moment
    while not working(day):
        opening = local_at(day, OPEN)
        day = opening if opening > day else local_at(day + timedelta(days=1), OPEN)
    return day


def _family(kind: str) -> str:
    return next((prefix for prefix, _ in PEOPLE if kind.startswith(prefix)), "")


@dataclass(order=True)
class Chore:
    """One thing the office will do at ``at`` (ordered by time, then by what it is, never by a random id)."""

    at: datetime
    label: str
    step: str = field(compare=False)  # "first_response", "callback" or "task"
    task: dict[str, Any] = field(compare=False)
    rng: random.Random = field(compare=False)


class Office:
    """The office's people, their queue, and what they did (``done``: counts by what and outcome)."""

    def __init__(self, seed: int = 7, directory: Mapping[str, str] | None = None) -> None:
        self._seed = seed
        # 10-digit phone → ZIP: what a caller tells the CSR when the record has no address yet.
        self._zips = dict(directory or {})
        self._seen: set[str] = set()
        self._chores: list[Chore] = []
        self._next_look: datetime | None = None
        self.done: Counter[str] = Counter()

    def work(
        self, client: httpx.Client, auth: Mapping[str, str], now: datetime, horizon: datetime, arrived: bool = False
    ) -> datetime:
        """Look at the queue when it is time, do every chore due before ``horizon``; when to be woken next.

        ``arrived``: something came in during this step; the office looks once the service has taken it in (at
        ``horizon``, after the clock's advance has applied it).
        """
        if self._next_look is None or now >= self._next_look:
            if working(now):
                self._look(client, auth, now)
                self._next_look = now + LOOK_EVERY
            else:
                self._next_look = next_working(now)
        if arrived and working(horizon):
            self._next_look = min(self._next_look, horizon)
        while self._chores and self._chores[0].at < horizon:
            chore = self._chores.pop(0)
            self._do(client, auth, chore, now)
        upcoming = [self._next_look, *(c.at for c in self._chores[:1])]
        return min(upcoming)

    def _look(self, client: httpx.Client, auth: Mapping[str, str], now: datetime) -> None:
        answer = client.get("/api/tasks", params={"limit": 1000}, headers=auth)
        answer.raise_for_status()
        for task in answer.json()["items"]:
            if task["id"] in self._seen:
                continue
            self._seen.add(task["id"])
            what = f"{task['kind']}-{task['customer_name']}-{task['due_at']}"
            rng = random.Random(f"fieldrelay-office-{self._seed}-{what}")
            step = "first_response" if task["kind"] == "sop.first_response" else "task"
            self._plan(Chore(self._moment(rng, task, now), task["kind"] + task["customer_name"], step, task, rng))

    def _plan(self, chore: Chore) -> None:
        self._chores.append(chore)
        self._chores.sort()

    def _moment(self, rng: random.Random, task: dict[str, Any], now: datetime) -> datetime:
        """When a person gets to the task: a lead within minutes, a follow-up before it is due, a call within hours."""
        kind, due = task["kind"], datetime.fromisoformat(task["due_at"].replace("Z", "+00:00")).astimezone(UTC)
        start = next_working(now)
        if kind == "sop.first_response":
            return start + random_span(rng, 30, 150)
        if due <= start + timedelta(minutes=15):  # due when the office opens (it came in overnight): first thing
            return start + random_span(rng, 60, 15 * 60)
        if kind.startswith("sop."):  # on the estimate's clock: in the hours before it falls due
            before = business_moment(rng, max(start, due - timedelta(hours=3)), due - timedelta(minutes=5))
            return before or next_working(due) + random_span(rng, 60, 15 * 60)
        if kind.startswith("service_recovery."):
            return next_working(start + random_span(rng, 20 * 60, 120 * 60))
        latest = min(due - timedelta(minutes=10), start + timedelta(hours=6))
        return business_moment(rng, start, latest) or next_working(start + random_span(rng, 10 * 60, 90 * 60))

    def _do(self, client: httpx.Client, auth: Mapping[str, str], chore: Chore, now: datetime) -> None:
        if chore.step == "task":
            self._close(client, auth, chore)
            return
        task, rng = chore.task, chore.rng
        deal = task["deal_id"]
        customer = client.get(f"/api/customers/{task['customer_id']}", headers=auth)
        if deal is None or customer.status_code != 200:
            return
        record = customer.json()
        service = (record["fields"].get("interested_in") or {}).get("value") or "a plumbing repair"
        if chore.step == "first_response" and rng.random() >= ANSWERED:
            self._log(client, auth, deal, "Called back within minutes: no answer, left a voicemail.")
            callback = next_working(now + random_span(rng, 30 * 60, 120 * 60))
            self._plan(Chore(callback, chore.label, "callback", task, rng))
            self.done["first call: voicemail"] += 1
            return
        first = "Reached them on the call back" if chore.step == "callback" else "Called back within minutes"
        self._log(client, auth, deal, f"{first}: {str(service).lower()}, talked through the visit.")
        self.done["first call: reached" if chore.step == "first_response" else "call back: reached"] += 1
        stage = next((d["stage"] for d in record["deals"] if d["id"] == deal), None)
        if stage != "new_lead":  # booked meanwhile (the dispatcher reached them first): nothing left to qualify
            self.done[f"lead already {stage}"] += 1
            return
        zip_code = record["address"].get("postal_code") or next(
            (self._zips[digits(p)] for p in record["phones"] if digits(p) in self._zips), ""
        )
        body = {"zip": zip_code, "job_type": str(service), "when": rng.choice(WHEN), "by": CSR}
        answer = client.post(f"/api/deals/{deal}/qualify", json=body, headers=auth)
        self.done["lead qualified" if answer.status_code == 200 else f"lead not qualified ({answer.status_code})"] += 1

    def _log(self, client: httpx.Client, auth: Mapping[str, str], deal: str, note: str) -> None:
        body = {"channel": "call", "note": note, "by": CSR}
        answer = client.post(f"/api/deals/{deal}/followups", json=body, headers=auth)
        if answer.status_code != 200:  # the deal is gone (merged away): the call is not logged, and counted so
            self.done[f"call not logged ({answer.status_code})"] += 1

    def _close(self, client: httpx.Client, auth: Mapping[str, str], chore: Chore) -> None:
        """Close the task with an outcome of its family (what the deal already shows wins over a drawn one)."""
        task, rng = chore.task, chore.rng
        family = _family(task["kind"])
        by = dict(PEOPLE).get(family, OPERATIONS)
        weights = OUTCOMES.get(family, (("done", 1),))
        outcome = rng.choices([o for o, _ in weights], weights=[w for _, w in weights])[0]
        note = rng.choice(NOTES[outcome])
        if family == "sop." and task["deal_id"] is not None:
            decided = self._stage(client, auth, task["customer_id"], task["deal_id"])
            if decided in DECIDED:
                outcome, note = "reached", DECIDED[decided]
        body = {"outcome": outcome, "note": note, "by": by}
        answer = client.post(f"/api/tasks/{task['id']}/complete", json=body, headers=auth)
        if answer.status_code == 409:  # closed meanwhile (an automatic text, or the deal moved on)
            self.done[f"{WORDS.get(family, 'other task')}: closed meanwhile"] += 1
            return
        answer.raise_for_status()
        self.done[f"{WORDS.get(family, 'other task')}: {outcome.replace('_', ' ')}"] += 1

    def _stage(self, client: httpx.Client, auth: Mapping[str, str], customer_id: str, deal_id: str) -> str | None:
        answer = client.get(f"/api/customers/{customer_id}", headers=auth)
        if answer.status_code != 200:
            return None
        return next((d["stage"] for d in answer.json()["deals"] if d["id"] == deal_id), None)
