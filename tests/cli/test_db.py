"""``fieldrelay db``: backup and restore as a round trip on both databases; on PostgreSQL only ``db upgrade``
migrates, and serve and worker refuse a schema that is behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from fieldrelay.cli.main import app
from fieldrelay.storage.access.tables import users
from fieldrelay.storage.db import make_engine
from tests.conftest import TEST_YAML

cli = CliRunner()
pytestmark = pytest.mark.usefixtures("logging_restored")  # serve and worker configure logging


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "fieldrelay.yaml"
    path.write_text(TEST_YAML, encoding="utf-8")
    return path


def _add_person(name: str, db_url: str, config: Path) -> None:
    args = ["users", "add", name, "--role", "owner", "--link", "--db", db_url, "--config", str(config)]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output


def _people(db_url: str) -> list[str]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return sorted(conn.execute(select(users.c.name)).scalars())
    finally:
        engine.dispose()


def test_a_backup_restores_the_database_as_it_was(db_url: str, config: Path, tmp_path: Path) -> None:
    _add_person("Dana Whitfield", db_url, config)
    file = tmp_path / "shop.backup"

    backed_up = cli.invoke(app, ["db", "backup", str(file), "--db", db_url])
    assert backed_up.exit_code == 0, backed_up.output
    assert backed_up.output.startswith("Backed up ") and file.stat().st_size > 0
    _add_person("Luis Ortega", db_url, config)  # after the backup: the restore takes it away
    assert _people(db_url) == ["Dana Whitfield", "Luis Ortega"]

    restored = cli.invoke(app, ["db", "restore", str(file), "--db", db_url, "--yes"])

    assert restored.exit_code == 0, restored.output
    assert restored.output.startswith("Restored ") and restored.output.count("\n") == 1, restored.output
    assert _people(db_url) == ["Dana Whitfield"]
    # The restored database is usable as it stands: the schema is current, a command works on it.
    listed = cli.invoke(app, ["users", "list", "--db", db_url, "--config", str(config)])
    assert listed.exit_code == 0 and "Dana Whitfield" in listed.output


def test_a_backup_restores_into_a_new_database(db_url: str, request: pytest.FixtureRequest, config: Path) -> None:
    """A new machine: the backup restored into a database that has nothing yet (a new SQLite file, an empty one)."""
    if db_url.startswith("sqlite"):
        tmp_path = request.getfixturevalue("tmp_path")
        target = f"sqlite:///{tmp_path / 'new-machine' / 'fieldrelay.db'}"
    else:
        tmp_path, target = request.getfixturevalue("tmp_path"), str(request.getfixturevalue("empty_pg_database"))
    _add_person("Dana Whitfield", db_url, config)
    file = tmp_path / "shop.backup"
    assert cli.invoke(app, ["db", "backup", str(file), "--db", db_url]).exit_code == 0

    restored = cli.invoke(app, ["db", "restore", str(file), "--db", target, "--yes"])

    assert restored.exit_code == 0, restored.output
    assert target != db_url and _people(target) == ["Dana Whitfield"]


def test_a_backup_of_the_other_kind_is_refused_and_changes_nothing(db_url: str, tmp_path: Path) -> None:
    other = tmp_path / "other.backup"
    other.write_bytes(b"PGDMP\x01\x0e" if db_url.startswith("sqlite") else b"SQLite format 3\x00" + bytes(100))
    restored = cli.invoke(app, ["db", "restore", str(other), "--db", db_url, "--yes"])
    assert restored.exit_code == 2
    assert "restore it into a" in restored.output and restored.output.count("\n") == 1, restored.output
    assert _people(db_url) == []


def test_restore_asks_before_replacing_the_database(db_url: str, config: Path, tmp_path: Path) -> None:
    file = tmp_path / "shop.backup"
    assert cli.invoke(app, ["db", "backup", str(file), "--db", db_url]).exit_code == 0
    _add_person("Luis Ortega", db_url, config)
    answered_no = cli.invoke(app, ["db", "restore", str(file), "--db", db_url], input="n\n")
    assert answered_no.exit_code == 1 and "Replace everything in" in answered_no.output
    assert _people(db_url) == ["Luis Ortega"]


def test_a_missing_sqlite_database_has_nothing_to_back_up(tmp_path: Path) -> None:
    result = cli.invoke(app, ["db", "backup", str(tmp_path / "b"), "--db", f"sqlite:///{tmp_path / 'none.db'}"])
    assert result.exit_code == 2 and "nothing to back up" in result.output
    assert not (tmp_path / "none.db").exists()


@pytest.mark.postgres
@pytest.mark.parametrize("command", ["serve", "worker"])
def test_on_postgresql_serve_and_worker_never_migrate(
    command: str, empty_pg_database: str, pg_database: str, config: Path
) -> None:
    """Only `db upgrade` migrates a shared database: a process that starts on an empty or older schema refuses."""
    empty = cli.invoke(app, [command, "--config", str(config), "--db", empty_pg_database])
    assert empty.exit_code == 2
    assert empty.output.strip().endswith("has no fieldrelay schema: run `fieldrelay db upgrade`"), empty.output
    engine = make_engine(empty_pg_database)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT to_regclass('alembic_version')")).scalar() is None, "it migrated"
    finally:
        engine.dispose()

    engine = make_engine(pg_database)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    finally:
        engine.dispose()
    older = cli.invoke(app, [command, "--config", str(config), "--db", pg_database])
    assert older.exit_code == 2
    assert "has an older schema (0001): run `fieldrelay db upgrade`" in older.output


def test_on_sqlite_a_first_start_creates_the_database(tmp_path: Path, config: Path) -> None:
    """The embedded default stays one command: serve or worker make and migrate a new file (here: a check that the
    worker got past opening the database, stopped by a provider that cannot start)."""
    config.write_text(TEST_YAML + "messaging:\n  sms_provider: twilio\n  twilio: {from_number: '+15005550006'}\n")
    path = tmp_path / "new.db"
    result = cli.invoke(app, ["worker", "--config", str(config), "--db", f"sqlite:///{path}"])
    assert result.output.startswith("cannot start: sms_provider twilio"), result.output
    assert cli.invoke(app, ["users", "list", "--db", f"sqlite:///{path}", "--config", str(config)]).exit_code == 0
