"""Agreement: the bus's tables (service/bus.py) and what they dispatch on.

``EVENT_HANDLERS`` against the canonical events of domain/events.py (the bus looks a handler up by the event's exact
type, so an event without one fails in the worker), and ``TIMER_HANDLERS`` against every timer kind the service
schedules (a due timer of a kind with no handler could never fire).
"""

from __future__ import annotations

import inspect

from fieldrelay.domain import events as ev
from fieldrelay.service import bus
from tests.service.source_scan import Named, distinct, named_arguments

# The functions that take a timer kind and pass it on to ``schedule_timer`` (file, function), and how their callers
# give it (callee, position, keyword).
KIND_WRAPPERS = {
    ("service/outreach/texts.py", "plan_text"): ("plan_text", 99, "kind"),
    ("service/ops/daily_mail.py", "schedule"): ("daily_mail.schedule", 1, "kind"),
}


def canonical_events() -> set[type[ev.FieldEvent]]:
    """The events connectors emit: every FieldEvent class in domain/events.py that no other event extends."""
    classes = [
        cls
        for _, cls in inspect.getmembers(ev, inspect.isclass)
        if issubclass(cls, ev.FieldEvent) and cls.__module__ == ev.__name__
    ]
    return {cls for cls in classes if not any(other is not cls and issubclass(other, cls) for other in classes)}


def test_every_canonical_event_has_a_handler_and_every_handler_an_event() -> None:
    events, handled = canonical_events(), set(bus.EVENT_HANDLERS)
    assert len(events) >= 20, f"found only {sorted(e.__name__ for e in events)}: the check looks at too little"
    unhandled = sorted(e.__name__ for e in events - handled)
    assert not unhandled, f"domain/events.py events with no entry in service/bus.py EVENT_HANDLERS: {unhandled}"
    stray = sorted(e.__name__ for e in handled - events)
    assert not stray, (
        f"service/bus.py EVENT_HANDLERS has entries for {stray}, which are not events a connector emits "
        "(a base class, or not in domain/events.py): the bus looks handlers up by the exact type"
    )


def scheduled_kinds() -> list[Named]:
    """Every timer kind argument in the service: to ``schedule_timer`` and to the wrappers that pass one on."""
    found = distinct(named_arguments("schedule_timer", 1, "kind", "service"))
    for callee, position, keyword in KIND_WRAPPERS.values():
        found += distinct(named_arguments(callee, position, keyword, "service"))
    return found


def test_every_timer_kind_the_service_schedules_has_a_handler() -> None:
    found = scheduled_kinds()
    kinds = {named.value for named in found if named.value is not None}
    assert "job_text" in kinds and len(kinds) >= 6, f"found only {sorted(kinds)}: the check looks at too little"
    unhandled = sorted(
        f"{n.value!r} ({n.where})" for n in found if n.value is not None and n.value not in bus.TIMER_HANDLERS
    )
    assert not unhandled, f"timer kinds scheduled with no entry in service/bus.py TIMER_HANDLERS: {unhandled}"
    unknown = [
        n.where
        for n in found
        if n.value is None and not (n.passed_through and (n.where.rpartition(":")[0], n.function) in KIND_WRAPPERS)
    ]
    assert not unknown, (
        f"a timer is scheduled with a kind this check cannot read at {unknown}: use a module constant, or add the "
        "function that passes the kind on to KIND_WRAPPERS"
    )


def test_every_timer_handler_has_a_timer_that_schedules_it() -> None:
    kinds = {named.value for named in scheduled_kinds()}
    idle = sorted(set(bus.TIMER_HANDLERS) - kinds)
    assert not idle, f"service/bus.py TIMER_HANDLERS has handlers for {idle}, but nothing schedules such a timer"
