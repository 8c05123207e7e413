"""What a person types to name a record: customers, deals, tasks and referrals by id prefix, phone, email, name or
address (the CLI's ``cli/lookup.py`` and the office app's customer search both read words through here)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, false, func, literal, or_, select

from fieldrelay.domain.contact import normalize_email, normalize_phone
from fieldrelay.storage import contact_points
from fieldrelay.storage.handoff.tables import referrals
from fieldrelay.storage.sequences.tables import tasks
from fieldrelay.storage.tables import consents, customer_emails, customer_phones, customers, deals

# A person picks from a list this long at most; more matches say "give more" instead.
LIMIT = 20
_ID_PREFIX = re.compile(r"^[0-9a-f][0-9a-f-]{3,35}$")  # 4 or more characters of a UUID


@dataclass(frozen=True)
class Found:
    """One record a reference matched: its id and a short description a person recognises."""

    id: str
    label: str
    name: str = ""  # a customer's whole name, so a reference naming it exactly can win over partial matches


def customers_matching(
    conn: Connection,
    account_id: str,
    *,
    id_prefix: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    words: Sequence[str] = (),
) -> list[Found]:
    """Customers whose id starts with ``id_prefix``, or who hold the phone (E.164) or email, or whose name (or
    address) holds every word; most recently changed first. Merged-away records are found by id only (their contacts
    moved)."""
    c, p, e = customers.c, customer_phones.c, customer_emails.c
    live = c.merged_into.is_(None)
    found: list[ColumnElement[bool]] = []
    if id_prefix:
        found.append(c.id.startswith(id_prefix.lower(), autoescape=True))
    if phone:
        found.append(and_(live, c.id.in_(select(p.customer_id).where(p.account_id == account_id, p.e164 == phone))))
    if email:
        found.append(and_(live, c.id.in_(select(e.customer_id).where(e.account_id == account_id, e.email == email))))
    if words:
        full = func.lower(
            func.coalesce(c.name, "")
            + literal(" ")
            + func.coalesce(c.first_name, "")
            + literal(" ")
            + func.coalesce(c.last_name, "")
        )
        place = func.lower(
            func.coalesce(c.street, "")
            + literal(" ")
            + func.coalesce(c.unit, "")
            + literal(" ")
            + func.coalesce(c.city, "")
            + literal(" ")
            + func.coalesce(c.postal_code, "")
        )
        in_name = and_(*(full.contains(word.lower(), autoescape=True) for word in words))
        in_place = and_(*(place.contains(word.lower(), autoescape=True) for word in words))
        found.append(and_(live, or_(in_name, in_place)))
    query = (
        select(c.id, c.name, c.first_name, c.last_name, c.merged_into)
        .where(c.account_id == account_id, or_(false(), *found))
        .order_by(c.updated_at.desc(), c.id)
        .limit(LIMIT + 1)
    )
    return [Found(row.id, customer_label(conn, row), display_name(row)) for row in conn.execute(query)]


def customers_named(conn: Connection, account_id: str, region: str, text: str, narrow: bool = True) -> list[Found]:
    """Every customer ``text`` may mean: an id (prefix), a phone in any format, an email, words of a name or an
    address; with ``narrow`` the one named exactly (full id, whole name) alone if one is."""
    text = text.strip()
    if not text:
        return []
    email = normalize_email(text) if "@" in text else None
    phone = None if email else normalize_phone(text, region)
    # Words of a name or an address ("Oak St", a ZIP code); a phone's digits are not words.
    words = text.split() if not email and not phone else []
    found = customers_matching(conn, account_id, id_prefix=id_prefix(text), phone=phone, email=email, words=words)
    named = " ".join(words).lower()
    exact = [f for f in found if f.id == text.lower() or (named and f.name.lower() == named)]
    return exact if narrow and len(exact) == 1 else found


def id_prefix(text: str) -> str | None:
    """``text`` as the start of an id (4 or more characters of a UUID), else None."""
    lowered = text.strip().lower()
    return lowered if _ID_PREFIX.match(lowered) else None


def customer_label(conn: Connection, row: Any) -> str:
    """Name · primary phone · primary email (and where a merged-away record went)."""
    phone = conn.execute(
        select(customer_phones.c.e164)
        .where(customer_phones.c.customer_id == row.id)
        .order_by(*contact_points.primary_first(customer_phones))
    ).scalar()
    email = conn.execute(
        select(customer_emails.c.email)
        .where(customer_emails.c.customer_id == row.id)
        .order_by(*contact_points.primary_first(customer_emails))
    ).scalar()
    parts = [display_name(row), phone, email]
    if row.merged_into:
        parts.append(f"merged into {row.merged_into[:8]}")
    return " · ".join(part for part in parts if part)


def display_name(row: Any) -> str:
    """The customer's name as the office knows it."""
    return row.name or " ".join(p for p in (row.first_name, row.last_name) if p) or "(no name)"


def deals_matching(
    conn: Connection, account_id: str, *, id_prefix: str | None = None, customer_ids: Sequence[str] = ()
) -> list[Found]:
    """Deals whose id starts with ``id_prefix``, and the open deals of these customers."""
    d, c = deals.c, customers.c
    found: list[ColumnElement[bool]] = []
    if id_prefix:
        found.append(d.id.startswith(id_prefix.lower(), autoescape=True))
    if customer_ids:
        found.append(and_(d.customer_id.in_(customer_ids), d.is_open.is_(True)))
    query = (
        select(d.id, d.stage, d.owner, d.is_open, c.name, c.first_name, c.last_name)
        .join(customers, c.id == d.customer_id)
        .where(d.account_id == account_id, or_(false(), *found))
        .order_by(d.updated_at.desc(), d.id)
        .limit(LIMIT + 1)
    )
    return [
        Found(r.id, f"{display_name(r)} · {r.stage}{'' if r.is_open else ' (closed)'} · {r.owner or 'unassigned'}")
        for r in conn.execute(query)
    ]


def tasks_matching(
    conn: Connection, account_id: str, *, id_prefix: str | None = None, customer_ids: Sequence[str] = ()
) -> list[Found]:
    """Tasks whose id starts with ``id_prefix``, and the open tasks of these customers."""
    t, c = tasks.c, customers.c
    found: list[ColumnElement[bool]] = []
    if id_prefix:
        found.append(t.id.startswith(id_prefix.lower(), autoescape=True))
    if customer_ids:
        found.append(and_(t.customer_id.in_(customer_ids), t.status == "open"))
    query = (
        select(t.id, t.title, t.status, t.due_at, c.name, c.first_name, c.last_name)
        .join(customers, c.id == t.customer_id)
        .where(t.account_id == account_id, or_(false(), *found))
        .order_by(t.due_at, t.id)
        .limit(LIMIT + 1)
    )
    return [
        Found(r.id, f"{r.title} · {display_name(r)} · {r.status}, due {r.due_at:%Y-%m-%d %H:%M}Z")
        for r in conn.execute(query)
    ]


def referrals_matching(
    conn: Connection, account_id: str, *, id_prefix: str | None = None, customer_ids: Sequence[str] = ()
) -> list[Found]:
    """Referrals whose id starts with ``id_prefix``, and the referrals of these referred customers."""
    r, c = referrals.c, customers.c
    found: list[ColumnElement[bool]] = []
    if id_prefix:
        found.append(r.id.startswith(id_prefix.lower(), autoescape=True))
    if customer_ids:
        found.append(r.referred_customer_id.in_(customer_ids))
    query = (
        select(r.id, r.status, r.code, c.name, c.first_name, c.last_name)
        .join(customers, c.id == r.referred_customer_id)
        .where(r.account_id == account_id, or_(false(), *found))
        .order_by(r.updated_at.desc(), r.id)
        .limit(LIMIT + 1)
    )
    return [Found(x.id, f"{display_name(x)} · {x.status} · code {x.code}") for x in conn.execute(query)]


def consent_of(conn: Connection, account_id: str, addresses: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """The last consent change recorded for each (channel, address) that has one: opted_out, reason, changed_at."""
    k = consents.c
    if not addresses:
        return {}
    pairs = or_(*(and_(k.channel == channel, k.address == address) for channel, address in addresses))
    query = select(k.channel, k.address, k.opted_out, k.reason, k.changed_at).where(k.account_id == account_id, pairs)
    return {(row.channel, row.address): row for row in conn.execute(query)}
