"""Each outside CRM's circuit as its breaker last changed it (storage/ops/tables.py ``circuit_states``), or, for a
target whose breaker recorded nothing yet, as its latest delivery attempt suggests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, case, select
from sqlalchemy.dialects import postgresql, sqlite

from fieldrelay.storage.ops.health import circuits as inferred_circuits
from fieldrelay.storage.ops.tables import circuit_states


@dataclass(frozen=True)
class RecordedCircuit:
    """A target's circuit as the breaker recorded it: open, half_open or closed, since when, the next probe."""

    target: str
    state: str
    since: datetime
    next_probe_at: datetime | None
    worker_id: str


def record_change(
    conn: Connection,
    account_id: str,
    target: str,
    state: str,
    at: datetime,
    next_probe_at: datetime | None,
    worker_id: str,
) -> None:
    """Keep a change of state; the same state announced again (another worker, a re-opened circuit) keeps its
    ``since`` and updates the next probe."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    offered = dialect.insert(circuit_states).values(
        account_id=account_id, target=target, state=state, since=at, next_probe_at=next_probe_at, worker_id=worker_id
    )
    new = offered.excluded
    conn.execute(
        offered.on_conflict_do_update(
            index_elements=["account_id", "target"],
            set_={
                "since": case((circuit_states.c.state == new.state, circuit_states.c.since), else_=new.since),
                "state": new.state,
                "next_probe_at": new.next_probe_at,
                "worker_id": new.worker_id,
            },
        )
    )


def recorded(conn: Connection, account_id: str) -> dict[str, RecordedCircuit]:
    """Every target's recorded circuit, by target."""
    c = circuit_states.c
    rows = conn.execute(
        select(c.target, c.state, c.since, c.next_probe_at, c.worker_id).where(c.account_id == account_id)
    )
    return {r.target: RecordedCircuit(r.target, r.state, r.since, r.next_probe_at, r.worker_id) for r in rows}


@dataclass(frozen=True)
class CircuitView:
    """What the Health page shows of a target's circuit, and whether the breaker said so or it was inferred."""

    target: str
    state: str  # open, half_open, closed
    since: datetime | None  # recorded: the change; inferred: the latest try
    next_probe_at: datetime | None
    recorded: bool


def current(conn: Connection, account_id: str, targets: list[str]) -> list[CircuitView]:
    """Each configured target's circuit: the breaker's own record where there is one, else inferred from the latest
    delivery attempt (``held``: the target was down)."""
    known = recorded(conn, account_id)
    missing = [t for t in targets if t not in known]
    guessed = {c.target: c for c in inferred_circuits(conn, account_id, missing)} if missing else {}
    views = []
    for target in targets:
        if target in known:
            r = known[target]
            views.append(CircuitView(target, r.state, r.since, r.next_probe_at, True))
        else:
            g = guessed[target]
            views.append(CircuitView(target, "open" if g.open else "closed", g.last_try_at, g.next_probe_at, False))
    return views
