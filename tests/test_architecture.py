"""The import contracts in pyproject.toml hold on the real tree, and a wrong-way import breaks them.

``lint-imports`` runs as ``make lint`` runs it. The negative cases copy the package, add one forbidden import to the
copy and lint the copy (first on PYTHONPATH, so it shadows the installed tree) against the same contracts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "pyproject.toml"
PACKAGE = ROOT / "src" / "fieldrelay"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(*args: str, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``lint-imports`` on the contracts in pyproject.toml; ``pythonpath`` puts a copy of the package first."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    cwd = pythonpath or ROOT
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", *args, str(CONFIG)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_import_contracts_hold() -> None:
    result = lint_imports()

    contracts = tomllib.loads(CONFIG.read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(contracts)} kept, 0 broken." in result.stdout


@pytest.fixture(scope="module")
def pristine_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package copied once; each case copies this again (cheap) before breaking it."""
    folder = tmp_path_factory.mktemp("pristine")
    shutil.copytree(PACKAGE, folder / "fieldrelay", ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def test_the_copy_holds_before_it_is_broken(pristine_copy: Path) -> None:
    """The negative cases below fail for their one added import, not for the copy."""
    result = lint_imports(pythonpath=pristine_copy)

    assert result.returncode == 0, result.stdout + result.stderr


# (module the copy changes, what it then imports, the contract that must break)
WRONG_WAY = {
    "domain-imports-engine": ("domain/money.py", "fieldrelay.engine.worker", "layers"),
    "service-imports-runtime": ("service/clock.py", "fieldrelay.runtime", "layers"),
    "connector-imports-storage": ("connectors/devsms/outbound.py", "fieldrelay.storage.tables", "layers"),
    "storage-imports-connector": ("storage/dev_sink.py", "fieldrelay.connectors.devsms.outbound", "layers"),
    "engine-imports-connector": ("engine/backoff.py", "fieldrelay.connectors.devmail.outbound", "engine-no-vendor"),
    "connector-imports-connector": (
        "connectors/stripe/inbound.py",
        "fieldrelay.connectors.twilio.inbound",
        "connectors",
    ),
    "domain-imports-pydantic": ("domain/money.py", "pydantic", "domain-pure"),
    "service-imports-sqlalchemy": ("service/clock.py", "sqlalchemy", "service-no-io"),
    "intake-calls-a-reaction": ("service/intake/jobs.py", "fieldrelay.service.crm.sync", "intake-publishes"),
    "referrals-start-a-sequence": (
        "service/referrals/rewards.py",
        "fieldrelay.service.sequences.enrolment",
        "capabilities-react-through-bus",
    ),
}


@pytest.mark.parametrize(("module", "imported", "contract"), WRONG_WAY.values(), ids=WRONG_WAY.keys())
def test_a_wrong_way_import_breaks_its_contract(
    pristine_copy: Path, tmp_path: Path, module: str, imported: str, contract: str
) -> None:
    shutil.copytree(pristine_copy / "fieldrelay", tmp_path / "fieldrelay")
    broken = tmp_path / "fieldrelay" / module
    broken.write_text(
        broken.read_text(encoding="utf-8") + f"\nimport {imported}  # noqa: E402, F401\n", encoding="utf-8"
    )

    result = lint_imports("--contract", contract, pythonpath=tmp_path)

    assert result.returncode != 0, result.stdout + result.stderr
    assert "Contracts: 0 kept, 1 broken." in result.stdout
    importer = "fieldrelay." + module.removesuffix(".py").replace("/", ".")
    # lint-imports wraps long lines at its own width: compare with the white space folded.
    assert f"{importer} -> {imported}" in " ".join(result.stdout.split()), result.stdout
