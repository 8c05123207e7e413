"""``fieldrelay users`` and ``fieldrelay audit``: adding people (a password asked twice, or a one-time link), the list,
disabling, new passwords, API tokens printed once, the audit log they all write; ``init --owner``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fieldrelay.cli.common import console
from fieldrelay.cli.main import app
from fieldrelay.runtime import Runtime
from fieldrelay.service.access import accounts
from fieldrelay.storage.access.tables import api_tokens, users
from tests.service.access.support import PASSWORD
from tests.service.support import rows
from tests.service.tasks.support import TASKS_YAML

cli = CliRunner()
TWICE = f"{PASSWORD}\n{PASSWORD}\n"


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tables as wide as they need to be, so a cell is never folded across lines."""
    monkeypatch.setattr(console, "_width", 400)
    yield


@pytest.fixture
def base(db_url: str, tmp_path: Path) -> list[str]:
    """The --db and --config options of every command (the task shop: Carla, Dan, Sam, Olga)."""
    config = tmp_path / "fieldrelay.yaml"
    config.write_text(TASKS_YAML, encoding="utf-8")
    return ["--db", db_url, "--config", str(config)]


def invoke(*args: str, input: str | None = None) -> tuple[int, str]:
    """Run the CLI; its exit code and output."""
    result = cli.invoke(app, list(args), input=input)
    return result.exit_code, result.output


def test_add_asks_a_password_twice_and_the_person_signs_in(runtime: Runtime, base: list[str]) -> None:
    code, out = invoke("users", "add", "Carla", "--role", "office", "--email", "carla@example.com", *base, input=TWICE)

    assert code == 0, out
    assert "Added Carla (Office (CSR)), signing in as carla@example.com." in out
    assert "not on the team" not in out
    with runtime.unit_of_work("default") as ctx:
        assert accounts.authenticate(ctx.store, "carla@example.com", PASSWORD) is not None
    code, out = invoke("users", "list", *base)
    assert code == 0 and "carla@example.com" in out and "active" in out


def test_add_with_link_prints_a_one_time_setup_link(runtime: Runtime, base: list[str]) -> None:
    code, out = invoke("users", "add", "Zed", "--role", "sales", "--link", *base)

    assert code == 0, out
    assert "Zed is not on the team" in out
    link = out.split("hours): ")[1].strip()
    assert link.startswith("http://127.0.0.1:8000/setup/")
    with runtime.unit_of_work("default") as ctx:
        assert accounts.user_for_setup(ctx.store, ctx.now, link.rsplit("/", 1)[1]) is not None


def test_refusals_exit_with_one_line(base: list[str]) -> None:
    assert invoke("users", "add", "Carla", "--role", "boss", "--link", *base)[0] == 2
    assert invoke("users", "add", "Carla", "--role", "office", "--link", *base)[0] == 0
    code, out = invoke("users", "add", "carla", "--role", "sales", "--link", *base)
    assert (code, out.strip()) == (1, "'carla' already has a sign-in (or 'carla' is taken)")
    code, out = invoke("users", "disable", "Nobody", *base)
    assert (code, out.strip()) == (1, "nobody called 'Nobody' has a sign-in (people: Carla)")


def test_a_token_is_printed_once_and_revoked_and_disable_stops_everything(runtime: Runtime, base: list[str]) -> None:
    invoke("users", "add", "Olga", "--role", "operations", *base, input=TWICE)
    invoke("users", "add", "Carla", "--role", "office", "--link", *base)

    code, out = invoke("users", "token", "Carla", "--label", "Zapier", "--as", "Olga", *base)

    assert code == 0, out
    secret = out.strip().splitlines()[-1]
    (token,) = rows(runtime, api_tokens)
    assert secret.startswith("frp_") and token.token_hash == accounts.digest(secret) and token.label == "Zapier"
    assert invoke("users", "revoke-token", "Carla", token.id[:8], *base)[0] == 0
    assert rows(runtime, api_tokens)[0].revoked_at is not None
    assert invoke("users", "disable", "carla", "--as", "Olga", *base)[0] == 0
    assert [u.active for u in rows(runtime, users) if u.name == "Carla"] == [False]

    code, out = invoke("audit", "--who", "olga", *base)
    assert code == 0, out
    assert "token.issue" in out and "user.disable" in out and "active: True → False" in out
    code, out = invoke("audit", "--action", "user.", "--since", "1d", "--json", *base)
    assert code == 0 and out.count("\n") == 4  # two adds, Carla's setup link, the disable
    assert invoke("audit", "--since", "yesterday", *base)[0] == 2


def test_reset_password_ends_sessions_and_sets_the_new_one(runtime: Runtime, base: list[str]) -> None:
    invoke("users", "add", "Carla", "--role", "office", *base, input=TWICE)

    code, out = invoke("users", "reset-password", "Carla", *base, input="a brand new one\na brand new one\n")

    assert code == 0 and "Password changed" in out
    (carla,) = rows(runtime, users)
    assert carla.session_epoch == 1
    with runtime.unit_of_work("default") as ctx:
        assert accounts.authenticate(ctx.store, "carla", "a brand new one") is not None


def test_init_can_create_the_owner(tmp_path: Path, sqlite_url: str) -> None:
    path = tmp_path / "fieldrelay.yaml"
    flags = ["--name", "Sparks", "--time-zone", "America/Denver", "--hours", "mon-fri 08:00-17:00"]

    code, out = invoke("init", "--config", str(path), *flags, "--owner", "Al", "--db", sqlite_url, input=TWICE)

    assert code == 0, out
    assert "Al can sign in as the owner with al." in out
    code, out = invoke("users", "list", "--db", sqlite_url, "--config", str(path))
    assert "Owner" in out and "active" in out
