"""CRM fields in storage: a write replaces what another transaction wrote meanwhile, and reads see their own writes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from fieldrelay.runtime import Runtime
from fieldrelay.service.records import FieldWrite, StoredField
from fieldrelay.storage.mirror import SqlMirror
from fieldrelay.storage.tables import customer_fields
from tests.conftest import START


def new_customer(runtime: Runtime) -> str:
    """A customer with no fields yet."""
    with runtime.engine.begin() as conn:
        store = SqlMirror(conn, "default", START)
        return store.insert_customer({"lifecycle_stage": "lead", "name": "Ana Lopez"})


def test_a_field_another_transaction_added_meanwhile_is_replaced_not_refused(runtime: Runtime) -> None:
    if runtime.engine.dialect.name == "sqlite":
        pytest.skip("SQLite serialises writing transactions (storage/db.py): two cannot overlap")
    customer_id = new_customer(runtime)
    with runtime.engine.connect() as slow_conn, slow_conn.begin():
        slow = SqlMirror(slow_conn, "default", START)
        assert slow.fields_of(customer_id) == {}  # read before the other transaction's write
        with runtime.engine.begin() as fast_conn:
            SqlMirror(fast_conn, "default", START).write_fields(
                customer_id, {"eta": FieldWrite("09:00", "vendor:housecallpro", START)}
            )
        # The first transaction's cache and its read say "no eta"; the upsert keeps its write from failing.
        slow.write_fields(customer_id, {"eta": FieldWrite("10:30", "vendor:jobber", START)})
        assert slow.fields_of(customer_id)["eta"] == StoredField("10:30", "vendor:jobber", START)
    with runtime.engine.connect() as conn:
        rows = conn.execute(select(customer_fields.c.field, customer_fields.c.value, customer_fields.c.source)).all()
    assert [tuple(r) for r in rows] == [("eta", "10:30", "vendor:jobber")]


def test_reads_in_a_transaction_see_its_own_writes(runtime: Runtime) -> None:
    customer_id = new_customer(runtime)
    with runtime.engine.begin() as conn:
        store = SqlMirror(conn, "default", START)
        assert store.fields_of(customer_id) == {}
        store.write_fields(customer_id, {"tags": FieldWrite(["vip"], "person", None)})
        assert store.fields_of(customer_id) == {"tags": StoredField(["vip"], "person", None)}
    with runtime.engine.begin() as conn:
        assert SqlMirror(conn, "default", START).fields_of(customer_id)["tags"].value == ["vip"]
