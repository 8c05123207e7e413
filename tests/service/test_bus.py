"""The bus: every change has its reactions listed, they run in the listed order, and what they publish follows."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

import pytest

from fieldrelay.domain import events as ev
from fieldrelay.runtime import Runtime
from fieldrelay.service import bus
from fieldrelay.service import changes as ch
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.ports import MirrorStore
from tests.conftest import START
from tests.service.support import apply, at, job_event

# Kinds that are never published themselves, only their subclasses.
_BASES = {ch.Change, ch.RecordChanged}


def _kinds(root: type[ch.Change]) -> set[type[ch.Change]]:
    found: set[type[ch.Change]] = set()
    for sub in root.__subclasses__():
        if sub.__module__ == ch.__name__:
            found |= {sub} | _kinds(sub)
    return found


def test_every_change_a_handler_can_publish_has_its_reactions_listed() -> None:
    published = _kinds(ch.Change) - _BASES
    missing = sorted(kind.__name__ for kind in published if kind not in bus.REACTIONS)
    assert not missing, f"bus.REACTIONS lists nothing for {missing}: their changes would be published and lost"
    unknown = sorted(kind.__name__ for kind in bus.REACTIONS if kind not in published)
    assert not unknown, f"bus.REACTIONS lists {unknown}, which service/changes.py does not define"


def test_a_paid_job_sets_off_the_listed_reactions_in_order(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, frozenset[str]]] = []

    def recording(reaction: bus.Reaction) -> bus.Reaction:
        def run(ctx: HandlerContext, change: Any) -> ch.Change | None:
            seen.append((f"{reaction.__module__}.{reaction.__name__}", change.written))
            return reaction(ctx, change)

        return run

    listed = bus.REACTIONS[ch.JobChanged]
    monkeypatch.setitem(bus.REACTIONS, ch.JobChanged, tuple(recording(r) for r in listed))
    apply(runtime, job_event(ev.JobBooked, at(-300)))
    seen.clear()

    apply(runtime, job_event(ev.PaymentCaptured, at(-5), amount_cents=40000))

    assert [name for name, _ in seen] == [f"{r.__module__}.{r.__name__}" for r in listed]
    # The mapping comes first and hands on the fields it wrote: the outside CRMs are sent exactly those.
    assert seen[0][1] == frozenset()
    written = {name: fields for name, fields in seen}["fieldrelay.service.crm.sync.on_change"]
    assert {"account_status", "last_paid_at"} <= written


@dataclass(frozen=True)
class _Asked(ch.Change):
    """A change only this test publishes."""

    note: str = ""


@dataclass(frozen=True)
class _Followed(ch.Change):
    """A change a reaction to ``_Asked`` publishes."""


def test_settle_hands_each_reaction_the_change_the_one_before_returned_then_runs_what_they_published(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order: list[str] = []

    def first(ctx: HandlerContext, change: _Asked) -> _Asked:
        order.append(f"first saw {change.note!r}")
        ctx.publish(_Followed(change.customer_id, change.occurred_at))
        return replace(change, note="filled in")

    def second(ctx: HandlerContext, change: _Asked) -> None:
        order.append(f"second saw {change.note!r}")

    def third(ctx: HandlerContext, change: _Asked) -> None:
        order.append(f"third saw {change.note!r}")

    def followed(ctx: HandlerContext, change: _Followed) -> None:
        order.append("followed")

    monkeypatch.setitem(bus.REACTIONS, _Asked, (first, second, third))
    monkeypatch.setitem(bus.REACTIONS, _Followed, (followed,))
    ctx = HandlerContext(store=cast(MirrorStore, None), now=START, settings=cast(Any, None))

    ctx.publish(_Asked("c1", START))
    bus.settle(ctx)

    # "second" returned nothing, so "third" gets the change "first" returned; the published change waits its turn.
    assert order == ["first saw ''", "second saw 'filled in'", "third saw 'filled in'", "followed"]
    assert ctx.published == []


def test_a_change_with_no_listed_reaction_is_refused_not_dropped() -> None:
    ctx = HandlerContext(store=cast(MirrorStore, None), now=START, settings=cast(Any, None))
    ctx.publish(_Asked("c1", datetime(2026, 11, 2, tzinfo=START.tzinfo)))

    with pytest.raises(KeyError):
        bus.settle(ctx)
