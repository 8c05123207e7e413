"""The demo's sign-in: the owner of the demo shop, with a fresh password printed for this run."""

from __future__ import annotations

from fieldrelay.runtime import Runtime
from fieldrelay.service.access.accounts import authenticate
from fieldrelay.sim.demo import DEMO_OWNER, DEMO_OWNER_EMAIL, demo_sign_in


def test_the_demo_prints_a_sign_in_that_works(runtime: Runtime, db_url: str) -> None:
    password = demo_sign_in(db_url)

    with runtime.unit_of_work(runtime.settings.account_id) as ctx:
        owner = authenticate(ctx.store, DEMO_OWNER_EMAIL, password)
        assert owner is not None
        assert (owner.name, owner.role) == (DEMO_OWNER, "owner")
        assert authenticate(ctx.store, DEMO_OWNER_EMAIL, password + "x") is None
