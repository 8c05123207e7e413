"""A customer's phones and emails, primary first: the latest one the customer or a person confirmed, else the latest
one a field event named, else the latest added (rows kept before migration 0011 have neither time).

Every reader of contact points orders them this way, so a text, an email, the office app, the API and the outside
CRMs all use the same primary phone and email.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, Table, Update, bindparam, or_, update
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression

from fieldrelay.storage.prepared import insert_ignore
from fieldrelay.storage.tables import customer_emails, customer_phones

# (table, value column) of each kind of contact point.
KINDS: dict[str, tuple[Table, str]] = {"phone": (customer_phones, "e164"), "email": (customer_emails, "email")}


def _mine(table: Table, column: str) -> tuple[ColumnElement[bool], ...]:
    c = table.c
    return (
        c.account_id == bindparam("b_account"),
        c.customer_id == bindparam("b_customer"),
        c[column].in_(bindparam("b_values", expanding=True)),
    )


def _seen(table: Table, column: str) -> Update:
    # An older event arriving late does not make an address the latest seen.
    newer = or_(table.c.seen_at.is_(None), table.c.seen_at < bindparam("seen_at"))
    return update(table).where(*_mine(table, column), newer).values(seen_at=bindparam("seen_at"))


# The updates of the values a customer already holds, built once per kind (this runs for every field event).
_SEEN = {kind: _seen(table, column) for kind, (table, column) in KINDS.items()}
_CONFIRMED = {
    kind: update(table).where(*_mine(table, column)).values(confirmed_at=bindparam("confirmed_at"))
    for kind, (table, column) in KINDS.items()
}


def primary_first(table: Table) -> tuple[UnaryExpression[object], ...]:
    """ORDER BY for one customer's contact points, the primary first."""
    c = table.c
    return (c.confirmed_at.desc().nulls_last(), c.seen_at.desc().nulls_last(), c.id.desc())


def add(
    conn: Connection,
    account_id: str,
    customer_id: str,
    kind: str,
    values: Sequence[str],
    seen_at: datetime | None,
    confirmed_at: datetime | None,
) -> list[str]:
    """Add the values the customer does not hold yet and mark every value seen (and confirmed); return those added."""
    table, column = KINDS[kind]
    added: list[str] = []
    held: list[str] = []
    for value in dict.fromkeys(values):
        row: dict[str, object] = {"account_id": account_id, "customer_id": customer_id, column: value}
        row.update(seen_at=seen_at, confirmed_at=confirmed_at)
        (added if insert_ignore(conn, table, row) else held).append(value)
    if held and (seen_at is not None or confirmed_at is not None):
        # One statement for the values already held, whatever their number (this runs for every field event).
        mine = {"b_account": account_id, "b_customer": customer_id, "b_values": held}
        if seen_at is not None:
            conn.execute(_SEEN[kind], {**mine, "seen_at": seen_at})
        if confirmed_at is not None:
            conn.execute(_CONFIRMED[kind], {**mine, "confirmed_at": confirmed_at})
    return added
