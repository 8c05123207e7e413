"""Agreement: the value sources the field-mapping rules accept (rules/mapping.py ``VALUE_SOURCES``) and the resolver
that reads them (service/crm/mapping.py).

A source the rules accept but the resolver does not know would silently clear the field it writes; a source the
resolver has a branch for but the rules refuse is dead code, or a name one side spells differently. Each source is
driven through the real bus, for every event the rules say carries it, on a realistic furnace job.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Connection, func, select

from fieldrelay.domain import events as ev
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.rules.config import Settings
from fieldrelay.rules.loader import parse_settings
from fieldrelay.rules.mapping import (
    ACTIONS,
    CRM_FIELDS,
    LITERAL_PREFIX,
    MAPPED_EVENTS,
    VALUE_SOURCES,
    FieldMapping,
    MappingRow,
    check_row,
)
from fieldrelay.runtime import Runtime, build_runtime
from fieldrelay.service import bus
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.crm import mapping as resolver
from fieldrelay.storage.mirror import SqlMirror
from fieldrelay.storage.tables import customer_equipment, customer_fields, customers, metadata, service_history
from tests.conftest import START

RESOLVER_FILE = Path(resolver.__file__)
T = TypeVar("T")
HCP = "housecallpro"
STRIPE = "stripe"
LITERAL = f"{LITERAL_PREFIX}gold-member"
# Sources the resolver reaches without a branch of their own, and why that is intended.
WITHOUT_A_BRANCH = {
    "none": "the fall-through returns None: the row clears the field on purpose",
    "job": "the whole job: only service_history takes it, and that field reads the stored job itself",
}
# Tags that say a source gave no value ("None" is str(None), "[]" an empty list).
NO_VALUE_TAGS = frozenset({"None", "[]", ""})
# Real disagreements found by this test and reported, not yet fixed: (scenario label or "*", source, fields) → why.
# Empty, and to stay so: a disagreement is fixed, not listed (a listed one shows as xfailed, which hides a bug).
KNOWN_DISAGREEMENTS: dict[tuple[str, str, frozenset[str]], str] = {}

BOOKED_AT = datetime(2026, 11, 3, 16, 0, tzinfo=UTC)  # Tuesday 10:00 in Chicago
LATER_AT = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # another job booked for later in the month


def at(minutes: float) -> datetime:
    """A vendor time ``minutes`` after the test start."""
    return START + timedelta(minutes=minutes)


def pat() -> ev.CustomerSnapshot:
    """The homeowner of every scenario."""
    return ev.CustomerSnapshot(
        external_id="cus_1", first_name="Pat", last_name="Doe", phones=("(512) 555-0142",), emails=("pat@example.com",)
    )


FURNACE = ev.JobSnapshot(
    external_id="job_furnace",
    description="Replace the 20-year-old furnace",
    service_type="Furnace install",
    scheduled_start=BOOKED_AT,
    scheduled_end=BOOKED_AT + timedelta(hours=4),
    technicians=("Alex Rivera",),
    total_cents=845_000,
    balance_cents=845_000,
    line_items=("Furnace install - 96% AFUE gas furnace", "Haul away old unit"),
)
TUNE_UP = ev.JobSnapshot(
    external_id="job_tuneup", service_type="AC tune-up", scheduled_start=LATER_AT, total_cents=9_900
)
ESTIMATE = ev.EstimateSnapshot(external_id="est_1", number="1042", total_cents=1_250_000)


def job(kind: type[ev.JobEvent], minutes: float, **extra: Any) -> ev.JobEvent:
    """A Housecall Pro event about the furnace job."""
    return kind(source=HCP, occurred_at=at(minutes), customer=pat(), job=FURNACE, **extra)


def estimate(kind: type[ev.EstimateEvent], minutes: float) -> ev.EstimateEvent:
    """A Housecall Pro event about the furnace estimate."""
    return kind(source=HCP, occurred_at=at(minutes), customer=pat(), estimate=ESTIMATE)


# The furnace job's life up to each event; a later tune-up is booked first, so the customer always has an appointment.
TUNE_UP_BOOKED = ev.JobBooked(source=HCP, occurred_at=at(-200), customer=pat(), job=TUNE_UP)
LIFE = [
    job(ev.JobBooked, -100),
    job(ev.JobDispatched, -90),
    job(ev.JobArrived, -80),
    job(ev.JobCompleted, -70),
    job(ev.JobInvoiced, -60, invoice_id="inv_1", amount_cents=845_000),
]


@dataclass(frozen=True)
class Scenario:
    """What happened before an event, and the event that applies the mapping row under test."""

    event: str  # the mapped event name the row is keyed by
    label: str
    before: tuple[ev.FieldEvent, ...]
    then: ev.FieldEvent


SCENARIOS = [
    Scenario("job.booked", "job.booked", (TUNE_UP_BOOKED,), LIFE[0]),
    Scenario("job.rescheduled", "job.rescheduled", (TUNE_UP_BOOKED, LIFE[0]), job(ev.JobRescheduled, -95)),
    Scenario("job.dispatched", "job.dispatched", (TUNE_UP_BOOKED, *LIFE[:1]), LIFE[1]),
    Scenario("job.arrived", "job.arrived", (TUNE_UP_BOOKED, *LIFE[:2]), LIFE[2]),
    Scenario("job.completed", "job.completed", (TUNE_UP_BOOKED, *LIFE[:3]), LIFE[3]),
    Scenario("job.invoiced", "job.invoiced", (TUNE_UP_BOOKED, *LIFE[:4]), LIFE[4]),
    Scenario(
        "job.paid",
        "job.paid (field tool)",
        (TUNE_UP_BOOKED, *LIFE),
        job(ev.PaymentCaptured, -50, payment_ref="pay_1", amount_cents=845_000),
    ),
    Scenario(
        "job.paid",
        "job.paid (stripe)",
        (TUNE_UP_BOOKED, *LIFE),
        ev.PaymentReceived(
            source=STRIPE,
            occurred_at=at(-50),
            customer=None,
            payment_ref="pi_1",
            amount_cents=845_000,
            currency="usd",
            job_ref=FURNACE.external_id,
            job_source=HCP,
        ),
    ),
    Scenario(
        "job.cancelled", "job.cancelled", (TUNE_UP_BOOKED, LIFE[0]), job(ev.JobCancelled, -95, reason="Sold the house")
    ),
    Scenario("estimate.sent", "estimate.sent", (TUNE_UP_BOOKED,), estimate(ev.EstimateSent, -100)),
    Scenario(
        "estimate.accepted",
        "estimate.accepted",
        (TUNE_UP_BOOKED, estimate(ev.EstimateSent, -100)),
        estimate(ev.EstimateAccepted, -90),
    ),
    Scenario(
        "estimate.declined",
        "estimate.declined",
        (TUNE_UP_BOOKED, estimate(ev.EstimateSent, -100)),
        estimate(ev.EstimateDeclined, -90),
    ),
    Scenario(
        "lead.received",
        "lead.received",
        (TUNE_UP_BOOKED,),
        ev.LeadReceived(
            source="forms",
            occurred_at=at(-100),
            customer=pat(),
            lead_ref="sub_1",
            service="Water heater replacement",
            channel="web_form",
        ),
    ),
]

BASE_YAML = """
business: {name: Rapid Rooter Plumbing, time_zone: America/Chicago}
field_mapping: {}
sequences: {}
"""


def fields_taking(event: str, source: str) -> list[str]:
    """Every CRM field the rules let this source write on this event, asked of the rules' own check."""
    return [name for name in CRM_FIELDS if not check_row(event, MappingRow(write={name: source}))]


def scenarios_carrying(source: str) -> list[Scenario]:
    """The scenarios whose event the rules say carries ``source`` (a literal: every one)."""
    if source.startswith(LITERAL_PREFIX):
        return SCENARIOS
    return [scenario for scenario in SCENARIOS if scenario.event in VALUE_SOURCES[source]]


@pytest.fixture(scope="module")
def base_settings() -> Settings:
    """A shop with no mapping rows and no sequences: only the row under test writes anything."""
    return parse_settings(BASE_YAML, "agreement.yaml")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory, base_settings: Settings) -> Iterator[Runtime]:
    """One migrated SQLite database for the module; every case runs in a transaction that is rolled back."""
    url = f"sqlite:///{tmp_path_factory.mktemp('agreement') / 'fieldrelay.db'}"
    rt = build_runtime(url, settings=base_settings, clock=SimulatedClock(START))
    try:
        yield rt
    finally:
        rt.engine.dispose()


def applied(runtime: Runtime, scenario: Scenario, row: dict[str, Any], read: Callable[[Connection, str], T]) -> T:
    """Apply the scenario through the bus, its last event under a table of only ``row``, and ``read`` the customer's
    records in the same transaction (rolled back after)."""
    mapped = runtime.settings.model_copy(update={"field_mapping": FieldMapping.model_validate({scenario.event: row})})
    with runtime.engine.connect() as conn:
        transaction = conn.begin()
        try:
            for event, settings in [*((e, runtime.settings) for e in scenario.before), (scenario.then, mapped)]:
                store = SqlMirror(conn, runtime.settings.account_id, START)
                bus.apply(HandlerContext(store=store, now=START, settings=settings), event)
            live = select(customers.c.id).where(customers.c.merged_into.is_(None))
            (customer_id,) = conn.execute(live).scalars()
            return read(conn, customer_id)
        finally:
            transaction.rollback()


def written(conn: Connection, customer_id: str) -> dict[str, Any]:
    """Each plain field's value, and the service history and equipment rows, of the customer."""
    found: dict[str, Any] = {
        r.field: r.value
        for r in conn.execute(select(customer_fields).where(customer_fields.c.customer_id == customer_id))
    }
    for name, table in (("service_history", service_history), ("equipment", customer_equipment)):
        found[name] = conn.execute(select(table).where(table.c.customer_id == customer_id)).all()
    return found


def row_counts(conn: Connection, _customer_id: str) -> dict[str, int]:
    """How many rows every table holds."""
    return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in metadata.sorted_tables}


def what_is_wrong(field: str, source: str, found: dict[str, Any]) -> str | None:
    """Why ``field`` does not hold the value ``source`` promised after the row wrote it, or None when it does."""
    if field in ("service_history", "equipment"):
        return None if found[field] else f"no {field} row was added"
    if field == "tags":
        tags = found.get("tags") or []
        if source == "none":  # tags are only ever added: clearing means adding none
            return f"added the tags {tags!r}" if tags else None
        blank = [tag for tag in tags if tag in NO_VALUE_TAGS]
        return f"added the tags {tags!r}" if blank or not tags else None
    if field not in found:
        return "wrote nothing"
    value = found[field]
    if source == "none":
        return None if value is None else f"wrote {value!r} instead of clearing the field"
    return f"cleared the field (wrote {value!r})" if value is None or value in ([], "") else None


def known(scenario: Scenario, source: str, field: str) -> str | None:
    """The reason a disagreement is known and reported (see KNOWN_DISAGREEMENTS), or None."""
    for (label, known_source, fields), reason in KNOWN_DISAGREEMENTS.items():
        if known_source == source and field in fields and label in ("*", scenario.label):
            return reason
    return None


@pytest.mark.parametrize("source", [*VALUE_SOURCES, LITERAL])
def test_every_source_the_rules_accept_resolves_through_the_resolver(runtime: Runtime, source: str) -> None:
    unknown: list[str] = []
    fixed: list[str] = []
    expected: list[str] = []
    driven = False
    for scenario in scenarios_carrying(source):
        names = fields_taking(scenario.event, source)
        if not names:
            continue
        driven = True
        found = applied(runtime, scenario, {"write": dict.fromkeys(names, source)}, written)
        for name in names:
            wrong = what_is_wrong(name, source, found)
            reason = known(scenario, source, name)
            where = f"{scenario.label}, write {name}: {source}"
            if wrong is not None and reason is None:
                unknown.append(f"{where}: {wrong}")
            elif wrong is None and reason is not None:
                fixed.append(where)
            elif wrong is not None:
                expected.append(f"{where}: {wrong}")
    assert driven, f"rules/mapping.py: no CRM field accepts {source!r} on any event that carries it"
    assert not unknown, (
        f"rules/mapping.py accepts {source!r} but the resolver (service/crm/mapping.py) does not turn it into a "
        "value:\n  " + "\n  ".join(unknown)
    )
    assert not fixed, "these now resolve: remove them from KNOWN_DISAGREEMENTS:\n  " + "\n  ".join(fixed)
    if expected:
        pytest.xfail(f"{len(expected)} known disagreement(s) (KNOWN_DISAGREEMENTS), e.g. {expected[0]}")


def resolver_branches() -> set[str]:
    """The source names service/crm/mapping.py branches on: ``source == "…"``, ``source in (…)``, ``case "…":``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(RESOLVER_FILE.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare) and isinstance(node.left, ast.Name) and node.left.id == "source":
            for right in node.comparators:
                items = right.elts if isinstance(right, ast.Tuple | ast.List | ast.Set) else [right]
                names.update(i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str))
        elif isinstance(node, ast.Match) and isinstance(node.subject, ast.Name) and node.subject.id == "source":
            for case in node.cases:
                for pattern in ast.walk(case.pattern):
                    if isinstance(pattern, ast.MatchValue) and isinstance(pattern.value, ast.Constant):
                        names.add(str(pattern.value.value))
    return names


def test_the_resolver_branches_only_on_sources_the_rules_accept() -> None:
    branches = resolver_branches()
    assert "event.occurred_at" in branches, f"found no source branches in {RESOLVER_FILE}: the check looks at nothing"
    refused = sorted(branches - set(VALUE_SOURCES))
    assert not refused, (
        f"service/crm/mapping.py has a branch for {refused}, which rules/mapping.py VALUE_SOURCES refuses "
        "(add it to VALUE_SOURCES with the events that carry it, or remove the dead branch)"
    )


def test_every_source_the_rules_accept_has_a_resolver_branch_or_a_stated_reason() -> None:
    missing = sorted(set(VALUE_SOURCES) - resolver_branches() - set(WITHOUT_A_BRANCH))
    assert not missing, (
        f"rules/mapping.py VALUE_SOURCES accepts {missing}, but service/crm/mapping.py has no branch for them: "
        "they would resolve to None and clear the field they write"
    )
    stale = sorted(set(WITHOUT_A_BRANCH) - set(VALUE_SOURCES))
    assert not stale, f"WITHOUT_A_BRANCH names {stale}, which VALUE_SOURCES no longer has"


def test_the_scenarios_cover_every_mapped_event() -> None:
    """Guard: every event a mapping row can be keyed by is driven above, so no carrier is left unchecked."""
    covered = {scenario.event for scenario in SCENARIOS}
    assert covered == set(MAPPED_EVENTS), (
        f"mapped events without a scenario here: {sorted(set(MAPPED_EVENTS) - covered)}; "
        f"scenarios for events the rules do not map: {sorted(covered - set(MAPPED_EVENTS))}"
    )
    for (label, source, fields), _ in KNOWN_DISAGREEMENTS.items():
        assert label == "*" or label in {s.label for s in SCENARIOS}, f"KNOWN_DISAGREEMENTS: no scenario {label!r}"
        assert source in VALUE_SOURCES and fields <= set(CRM_FIELDS), f"KNOWN_DISAGREEMENTS: {source} {fields}"


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_action_the_rules_accept_is_carried_out(runtime: Runtime, action: str) -> None:
    """A trigger the rules accept but nothing carries out would be a row that silently does nothing."""
    idle = []
    for scenario in [s for s in SCENARIOS if s.event in ACTIONS[action]]:
        without = applied(runtime, scenario, {}, row_counts)
        with_it = applied(runtime, scenario, {"trigger": [action]}, row_counts)
        if with_it == without:
            idle.append(scenario.label)
    assert not idle, (
        f"rules/mapping.py ACTIONS lets {action!r} follow {sorted(ACTIONS[action])}, but triggering it on {idle} "
        "wrote nothing (no timer, message, field or activity): no handler in the service carries it out"
    )
