"""Accounts on both databases: argon2 passwords, one-time setup links, disabling, per-person API tokens hashed at
rest, and every change in the audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fieldrelay.runtime import Runtime
from fieldrelay.service.access import accounts
from fieldrelay.service.access.accounts import AccountRefused
from fieldrelay.service.access.permissions import Actor
from fieldrelay.storage.access.tables import api_tokens, users
from tests.service.access.support import PASSWORD, add_person, audit_entries
from tests.service.support import rows

OLGA = Actor("Olga", "operations", "web")


def test_a_password_is_kept_as_an_argon2_hash_and_signs_in_by_login_or_name(runtime: Runtime) -> None:
    add_person(runtime, "Carla", "office", email="Carla@Example.com")

    (row,) = rows(runtime, users)
    assert row.login == "carla@example.com" and row.password_hash.startswith("$argon2id$")
    assert PASSWORD not in row.password_hash
    with runtime.unit_of_work("default") as ctx:
        assert accounts.authenticate(ctx.store, "CARLA@example.com", PASSWORD) is not None
        assert accounts.authenticate(ctx.store, "carla", PASSWORD) is not None
        assert accounts.authenticate(ctx.store, "carla", "wrong password") is None
        assert accounts.authenticate(ctx.store, "nobody", PASSWORD) is None


def test_refusals(runtime: Runtime) -> None:
    add_person(runtime, "Carla", "office")
    with runtime.unit_of_work("default") as ctx, pytest.raises(AccountRefused, match="already has a sign-in"):
        accounts.add_user(ctx.store, ctx.now, OLGA, "carla", "sales")
    with runtime.unit_of_work("default") as ctx, pytest.raises(AccountRefused, match="unknown role"):
        accounts.add_user(ctx.store, ctx.now, OLGA, "Dan", "boss")
    with runtime.unit_of_work("default") as ctx, pytest.raises(AccountRefused, match="at least 10"):
        accounts.add_user(ctx.store, ctx.now, OLGA, "Dan", "dispatcher", password="short")
    with runtime.unit_of_work("default") as ctx, pytest.raises(AccountRefused, match="owner's sign-in exists"):
        accounts.create_first_owner(ctx.store, ctx.now, "web", "Al", None, PASSWORD)


def test_a_setup_link_works_once_and_expires(runtime: Runtime) -> None:
    carla = add_person(runtime, "Carla", "office", password=None)
    with runtime.unit_of_work("default") as ctx:
        secret = accounts.setup_link_secret(ctx.store, ctx.now, OLGA, carla)
        assert accounts.authenticate(ctx.store, "carla", PASSWORD) is None  # no password yet
    (row,) = rows(runtime, users)
    assert row.setup_hash == accounts.digest(secret) and secret not in str(row._mapping)

    with runtime.unit_of_work("default") as ctx:
        assert accounts.user_for_setup(ctx.store, ctx.now + timedelta(hours=73), secret) is None
        found = accounts.user_for_setup(ctx.store, ctx.now, secret)
        assert found is not None
        accounts.set_password(ctx.store, ctx.now, Actor("Carla", "office", "web", carla.id), found, PASSWORD)
        assert accounts.user_for_setup(ctx.store, ctx.now, secret) is None
        assert accounts.authenticate(ctx.store, "carla", PASSWORD) is not None


def test_a_token_is_shown_once_kept_as_a_hash_and_stops_when_revoked_or_disabled(runtime: Runtime) -> None:
    carla = add_person(runtime, "Carla", "office")
    with runtime.unit_of_work("default") as ctx:
        issued = accounts.issue_token(ctx.store, ctx.now, OLGA, carla, "Zapier")
        assert accounts.person_for_token(ctx.store, ctx.now, issued.secret) == ctx.store.user_by_id(carla.id)
        assert accounts.person_for_token(ctx.store, ctx.now, issued.secret + "x") is None
    (row,) = rows(runtime, api_tokens)
    assert row.token_hash == accounts.digest(issued.secret) and issued.secret not in str(row._mapping)
    assert issued.secret.startswith("frp_") and row.prefix == issued.secret[:12] and row.last_used_at is not None

    with runtime.unit_of_work("default") as ctx:
        accounts.set_active(ctx.store, ctx.now, OLGA, carla, False)
        assert accounts.person_for_token(ctx.store, ctx.now, issued.secret) is None
        assert accounts.authenticate(ctx.store, "carla", PASSWORD) is None
        disabled = ctx.store.user_by_id(carla.id)
        assert disabled is not None and disabled.session_epoch == carla.session_epoch + 1
        accounts.set_active(ctx.store, ctx.now, OLGA, disabled, True)
        assert accounts.person_for_token(ctx.store, ctx.now, issued.secret) is not None
        accounts.revoke_token(ctx.store, ctx.now, OLGA, carla, issued.record.id[:8])
        assert accounts.person_for_token(ctx.store, ctx.now, issued.secret) is None


def test_every_change_is_audited_with_who_and_before_after(runtime: Runtime) -> None:
    carla = add_person(runtime, "Carla", "office")
    with runtime.unit_of_work("default") as ctx:
        accounts.set_role(ctx.store, ctx.now, OLGA, carla, "sales")
        accounts.set_active(ctx.store, ctx.now, OLGA, carla, False)

    role, disable = audit_entries(runtime)
    assert (role.actor, role.actor_role, role.via, role.action) == ("Olga", "operations", "web", "user.role")
    assert (role.subject_type, role.subject_id, role.before, role.after) == (
        "user",
        carla.id,
        {"role": "office"},
        {"role": "sales"},
    )
    assert (disable.action, disable.before, disable.after) == ("user.disable", {"active": True}, {"active": False})
    assert role.at == runtime.clock.now()


def test_an_action_that_fails_leaves_no_audit_entry(runtime: Runtime) -> None:
    carla = add_person(runtime, "Carla", "office")
    with pytest.raises(RuntimeError), runtime.unit_of_work("default") as ctx:
        accounts.set_role(ctx.store, ctx.now, OLGA, carla, "sales")
        raise RuntimeError("the action fails after its audit entry was written")
    assert audit_entries(runtime) == []
    assert rows(runtime, users)[0].role == "office"
