"""The deployment files agree with the code: .env.example names every variable fieldrelay reads, compose.yaml's
commands exist, the image's health check asks a route the app serves."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version
from typer.testing import CliRunner

from fieldrelay.cli.main import app
from fieldrelay.connectors.registry import INBOUND
from fieldrelay.rules.environment import VARIABLES

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "fieldrelay"
# Names in the source that are not environment variables: a HubSpot property's constant, a prefix in a message.
NOT_VARIABLES = {"FIELDRELAY_ID", "FIELDRELAY_SALESFORCE"}


def _example_names() -> set[str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def _variables_read() -> set[str]:
    named = {
        name
        for path in SRC.rglob("*.py")
        for name in re.findall(r"\bFIELDRELAY_[A-Z0-9_]*[A-Z0-9]\b", path.read_text(encoding="utf-8"))
    }
    # connector_secret(name) builds FIELDRELAY_<NAME>_SECRET; SendGrid is checked with a public key from the YAML.
    built = {f"FIELDRELAY_{name.upper()}_SECRET" for name in INBOUND if name != "sendgrid"}
    return (named | built | {"DATABASE_URL"}) - NOT_VARIABLES


def test_env_example_names_every_variable_fieldrelay_reads() -> None:
    missing = _variables_read() - _example_names()
    assert not missing, f"add to .env.example: {sorted(missing)}"
    # The table in docs/configuration.md (rules/environment.py) names the same ones.
    assert {v.name for v in VARIABLES} == _example_names()
    assert {"FIELDRELAY_STRIPE_SECRET", "FIELDRELAY_SESSION_SECRET", "POSTGRES_PASSWORD"} <= _example_names()


def test_compose_runs_commands_that_exist() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"db", "migrate", "serve", "worker-1", "worker-2", "caddy"} <= set(services)
    assert services["db"]["image"] == "postgres:16"
    commands = [s["command"] for s in services.values() if isinstance(s.get("command"), list)]
    invoked = [c[1:] for c in commands if c[0] == "fieldrelay"]
    invoked += [shlex.split(c[2].removeprefix("exec "))[1:3] for c in commands if c[0] == "sh"]
    assert ["db", "upgrade"] in invoked and ["users", "add"] in [args[:2] for args in invoked]
    for args in invoked:
        command = [a for a in args if not a.startswith("-")][:2]
        words = command if command[0] in {"db", "users"} else command[:1]
        assert CliRunner().invoke(app, [*words, "--help"]).exit_code == 0, words
    for name in ("serve", "worker-1", "worker-2"):  # nothing but migrate changes the schema
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_the_image_health_check_asks_a_route_the_app_serves() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    checked = re.search(r"HEALTHCHECK .*?'http://127\.0\.0\.1:8000(/\w+)'", dockerfile, flags=re.DOTALL)
    assert checked is not None
    routes = (SRC / "api" / "routes.py").read_text(encoding="utf-8")
    assert f'@router.get("{checked.group(1)}"' in routes
    assert re.search(r"^USER \d+", dockerfile, flags=re.MULTILINE), "the image runs as a non-root user"


def _pins(lock: Path) -> dict[str, Version]:
    found = re.findall(r"^([A-Za-z0-9_.-]+)==([^ ;\\\n]+)", lock.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {canonicalize_name(name): Version(version) for name, version in found}


def test_the_lock_files_pin_every_dependency_within_pyproject_ranges() -> None:
    """A dependency added to pyproject.toml without `make lock` would be missing from every install (`make` installs
    the lock, then the project with --no-deps)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for lock, extras in (("main.txt", []), ("dev.txt", ["dev"])):
        pins = _pins(ROOT / "requirements" / lock)
        wanted = [*project["dependencies"], *(r for e in extras for r in project["optional-dependencies"][e])]
        for line in wanted:
            requirement = Requirement(line)
            name = canonicalize_name(requirement.name)
            assert name in pins, f"{requirement.name} is not in requirements/{lock}: run `make lock`"
            assert requirement.specifier.contains(pins[name], prereleases=True), f"{line} vs {pins[name]}: make lock"
