"""Agreement: the sequence triggers the configuration accepts (rules/sequences.py ``TRIGGERS``) and the places that
fire them (service/), and the ones ``fieldrelay sequences preview`` replays (storage/sequences/queries.py).

A trigger the rules accept but nothing fires is a sequence that never starts; a trigger the code fires that the rules
refuse is one no sequence can name.
"""

from __future__ import annotations

from fieldrelay.domain.lifecycle import JobStatus
from fieldrelay.rules.sequences import TRIGGERS
from fieldrelay.storage.sequences.queries import TRIGGER_STATUSES
from tests.service.source_scan import Named, distinct, named_arguments

# Every applied job event reaches the sequences as "job.<status>" (service/sequences/triggers.py on_job).
JOB_TRIGGERS = {f"job.{status.value}" for status in JobStatus}
# Triggers the preview does not replay, and why.
NOT_REPLAYED = {
    "estimate.no_decision": "fired by a timer when an estimate gets no answer, not by an event in the window",
    "referrer.enrolled": "fired by the referral program, whose enrolments the preview does not replay",
    "referral.rewarded": "fired by the referral program, whose rewards the preview does not replay",
}


def fire_sites() -> list[Named]:
    """Every trigger argument given to ``on_trigger`` or a ``Triggered`` change in the service."""
    return distinct(named_arguments("on_trigger", 1, "trigger", "service")) + distinct(
        named_arguments("Triggered", 2, "trigger", "service")
    )


def test_every_trigger_the_rules_accept_is_fired() -> None:
    sites = fire_sites()
    named = {site.value for site in sites if site.value is not None}
    assert "rating.received" in named, f"found only {sorted(named)}: the check looks at too little"
    never = sorted(set(TRIGGERS) - named - JOB_TRIGGERS)
    assert not never, (
        f"rules/sequences.py TRIGGERS accepts {never}, but nothing in service/ fires them: a sequence with such a "
        "trigger would never start"
    )


def test_every_trigger_the_service_fires_is_one_the_rules_accept() -> None:
    refused = sorted(
        f"{s.value!r} ({s.where})" for s in fire_sites() if s.value is not None and s.value not in TRIGGERS
    )
    assert not refused, (
        f"service/ fires triggers rules/sequences.py TRIGGERS refuses, so no sequence can start on them: {refused}"
    )
    unreadable = sorted(s.where for s in fire_sites() if s.value is None and not s.passed_through)
    assert not unreadable, f"a trigger is fired with a name this check cannot read at {unreadable}: use a constant"


def test_every_job_trigger_is_a_job_status() -> None:
    odd = sorted(t for t in TRIGGERS if t.startswith("job.") and t not in JOB_TRIGGERS)
    assert not odd, f"rules/sequences.py TRIGGERS has {odd}, but job events reach sequences as job.<JobStatus> only"


def test_the_preview_replays_every_trigger_but_the_listed_ones() -> None:
    """``fieldrelay sequences preview`` replays job statuses (TRIGGER_STATUSES) and ratings from the mirror."""
    replayed = {f"job.{status}" for status in TRIGGER_STATUSES} | {
        n.value for n in named_arguments("Replayed", 0, "trigger", "storage/sequences") if n.value is not None
    }
    assert "rating.received" in replayed, f"found only {sorted(replayed)}: the check looks at too little"
    stray = sorted(replayed - set(TRIGGERS))
    assert not stray, f"storage/sequences/queries.py replays {stray}, which rules/sequences.py TRIGGERS refuses"
    missed = sorted(set(TRIGGERS) - replayed - set(NOT_REPLAYED))
    assert not missed, (
        f"rules/sequences.py TRIGGERS has {missed}, which the preview (storage/sequences/queries.py "
        "TRIGGER_STATUSES, triggers_since) does not replay: replay them, or list them in NOT_REPLAYED with why"
    )
    stale = sorted(set(NOT_REPLAYED) - (set(TRIGGERS) - replayed))
    assert not stale, f"NOT_REPLAYED lists {stale}, which are replayed now or no longer triggers"
