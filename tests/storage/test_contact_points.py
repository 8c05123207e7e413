"""Primary contact details: the latest confirmed phone or email, else the latest seen; one order for every reader."""

from __future__ import annotations

from fieldrelay.domain import events as ev
from fieldrelay.runtime import Runtime
from fieldrelay.storage import queries
from tests.service.support import HCP, apply, at, in_store, only_customer, pat

OLD, NEW, TYPED = "+15125550142", "+15125559876", "+17375550123"


def _primary(runtime: Runtime) -> tuple[str, list[str], str | None]:
    """What the API shows (its primary phone and the list) and what a text would use (phones_of)."""
    customer_id = only_customer(runtime).id
    with runtime.engine.connect() as conn:
        (view,) = queries.find_customers(conn, runtime.settings.account_id, phone=OLD)
    texts_to = in_store(runtime, lambda store: store.phones_of(customer_id))[0]
    return view["primary_phone"], view["phones"], texts_to


def _seen(runtime: Runtime, minutes: float, *phones: str) -> None:
    """A customer.updated naming these phones at ``minutes``."""
    apply(runtime, ev.CustomerUpdated(source=HCP, occurred_at=at(minutes), customer=pat(phones=phones)))


def test_the_latest_seen_phone_is_primary_and_a_late_older_event_does_not_change_it(runtime: Runtime) -> None:
    _seen(runtime, -300, OLD)
    assert _primary(runtime) == (OLD, [OLD], OLD)
    _seen(runtime, -100, NEW)
    assert _primary(runtime) == (NEW, [NEW, OLD], NEW)
    _seen(runtime, -200, OLD)  # delivered late: it was seen before NEW was
    assert _primary(runtime) == (NEW, [NEW, OLD], NEW)
    _seen(runtime, -50, OLD)  # named again, later: the customer is back on their old number
    assert _primary(runtime) == (OLD, [OLD, NEW], OLD)


def test_a_phone_confirmed_by_a_person_beats_one_seen_later(runtime: Runtime) -> None:
    _seen(runtime, -300, OLD)
    customer_id = only_customer(runtime).id
    in_store(runtime, lambda store: store.add_contact_points(customer_id, [TYPED], [], at(-200), True))
    _seen(runtime, -100, NEW)
    assert _primary(runtime) == (TYPED, [TYPED, NEW, OLD], TYPED)
