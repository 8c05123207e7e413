"""Forms test support: configuration, tokens, fixtures and database helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, select

from fieldrelay.storage.tables import activities, customer_emails, customer_phones, customers, external_ids
from tests.conftest import TEST_YAML

FIXTURES = Path(__file__).with_name("fixtures")
WEBSITE_TOKEN = "tok-website-3f9a"
MARKET_TOKEN = "tok-marketplace-77c1"
FORMS_SECRET = f"website={WEBSITE_TOKEN}, marketplace={MARKET_TOKEN},ghost=tok-ghost"
RATE_LIMIT = 5

FORMS_YAML = (
    TEST_YAML
    + f"""
connectors:
  forms:
    forms:
      - id: website
        source: web_form
      - id: marketplace
        source: marketplace
    honeypot_field: website_url
    rate_limit_per_minute: {RATE_LIMIT}
"""
)


def fixture(name: str) -> bytes:
    """A fixture's bytes by file name."""
    return (FIXTURES / name).read_bytes()


def bearer(token: str = WEBSITE_TOKEN, content_type: str = "application/json") -> dict[str, str]:
    """Headers of a form post authenticated by bearer token."""
    return {"Authorization": f"Bearer {token}", "Content-Type": content_type}


FORM_ENCODED = "application/x-www-form-urlencoded"

MIRROR = (customers, customer_phones, customer_emails, external_ids, activities)


def rows(engine: Engine, table: Table) -> list[Any]:
    """Every row of a table, in id order."""
    with engine.connect() as conn:
        return list(conn.execute(select(table).order_by(table.c.id)).all())


def mirror(engine: Engine) -> dict[str, list[Any]]:
    """Every mirror row a lead can touch, for "nothing changed" comparisons."""
    return {t.name: rows(engine, t) for t in MIRROR}
