"""Agreement: the connector registry (connectors/registry.py) and every list that names connectors.

The registry's INBOUND, SMS, EMAIL and CRM tables against: the names the configuration accepts (rules/messaging.py,
rules/crm.py, the ``connectors`` settings sections in rules/config.py), the webhook routes of DESIGN.md's contract,
the connector table in docs/connectors.md, the connector folders, and the ``name`` each connector reports.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
from sqlalchemy import create_engine

from fieldrelay.connectors import registry
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.rules.config import Connectors
from fieldrelay.rules.crm import Crm
from fieldrelay.rules.loader import parse_settings
from fieldrelay.rules.messaging import Messaging
from fieldrelay.storage.dev_sink import SqlDevSink
from tests.conftest import START

ROOT = Path(__file__).resolve().parents[2]
CONNECTORS_DOC = ROOT / "docs" / "connectors.md"  # the connector table (the README links it)
DESIGN = ROOT.parent / "shared" / "DESIGN.md"  # beside the project, as the README links it
CONNECTORS_DIR = Path(registry.__file__).parent
# DESIGN.md, "Contracts other parts rely on": ``POST /webhooks/{connector}``, one endpoint per connector name.
WEBHOOK_CONTRACT = ("housecallpro", "servicetitan", "jobber", "stripe", "twilio", "sendgrid", "postmark", "forms")
# Connector folders registered under another name.
FOLDER_NAMES = {"webhook_out": "webhook"}


def literal_names(annotation: Any) -> set[str]:
    """The strings a ``Literal[...]`` (or a ``list[Literal[...]]``) annotation accepts."""
    if get_origin(annotation) is list:
        (annotation,) = get_args(annotation)
    names = set(get_args(annotation))
    assert names and all(isinstance(n, str) for n in names), f"{annotation!r} is not a Literal of names"
    return names


def both_ways(what: str, left_name: str, left: set[str], right_name: str, right: set[str]) -> list[str]:
    """The names on one side only, each as a sentence saying which side lacks it."""
    return [f"{what} {n!r} is in {left_name} but not in {right_name}" for n in sorted(left - right)] + [
        f"{what} {n!r} is in {right_name} but not in {left_name}" for n in sorted(right - left)
    ]


def test_sms_providers_the_config_accepts_are_the_registered_ones() -> None:
    accepted = literal_names(Messaging.model_fields["sms_provider"].annotation)
    problems = both_ways(
        "SMS provider", "rules/messaging.py sms_provider", accepted, "connectors/registry.py SMS", set(registry.SMS)
    )
    assert not problems, "\n".join(problems)


def test_email_providers_the_config_accepts_are_the_registered_ones() -> None:
    accepted = literal_names(Messaging.model_fields["email_provider"].annotation)
    problems = both_ways(
        "email provider",
        "rules/messaging.py email_provider",
        accepted,
        "connectors/registry.py EMAIL",
        set(registry.EMAIL),
    )
    assert not problems, "\n".join(problems)


def test_crm_targets_the_config_accepts_are_the_registered_ones() -> None:
    accepted = literal_names(Crm.model_fields["targets"].annotation)
    problems = both_ways(
        "CRM target", "rules/crm.py targets", accepted, "connectors/registry.py CRM", set(registry.CRM)
    )
    assert not problems, "\n".join(problems)


def test_inbound_connectors_are_the_webhook_routes_of_the_design_contract() -> None:
    problems = both_ways(
        "webhook connector",
        "DESIGN.md's POST /webhooks/{connector} contract",
        set(WEBHOOK_CONTRACT),
        "connectors/registry.py INBOUND",
        set(registry.INBOUND),
    )
    assert not problems, "\n".join(problems)


def test_the_contract_list_here_is_the_one_in_design_md() -> None:
    if not DESIGN.is_file():
        pytest.skip(f"{DESIGN} is not beside this checkout")
    text = DESIGN.read_text(encoding="utf-8")
    found = re.search(r"POST /webhooks/\{connector\}`: one endpoint per connector name \(([^)]*)\)", text)
    assert found, f"{DESIGN} no longer lists the webhook connector names where this test looks for them"
    listed = {name.strip() for name in found.group(1).split(",")}
    problems = both_ways("webhook connector", "DESIGN.md", listed, "WEBHOOK_CONTRACT here", set(WEBHOOK_CONTRACT))
    assert not problems, "\n".join(problems)


def test_every_connector_settings_section_belongs_to_an_inbound_connector() -> None:
    """A ``connectors.<name>`` section for no registered connector would be settings nothing reads."""
    orphans = sorted(set(Connectors.model_fields) - set(registry.INBOUND))
    assert not orphans, f"rules/config.py Connectors has settings for {orphans}, not in connectors/registry.py INBOUND"


def test_the_readme_connector_table_names_the_registered_connectors() -> None:
    text = CONNECTORS_DOC.read_text(encoding="utf-8")
    table = {
        "POST /webhooks/<name>": (set(re.findall(r"`POST /webhooks/([a-z_]+)`", text)), set(registry.INBOUND)),
        "sms_provider": (set(re.findall(r"sms_provider: ([a-z_]+)", text)), set(registry.SMS)),
        "email_provider": (set(re.findall(r"email_provider: ([a-z_]+)", text)), set(registry.EMAIL)),
        "crm.targets": (set(re.findall(r"crm\.targets: \[([a-z_]+)\]", text)), set(registry.CRM)),
    }
    problems = [
        problem
        for what, (documented, registered) in table.items()
        for problem in both_ways(what, "docs/connectors.md", documented, "connectors/registry.py", registered)
    ]
    assert not problems, "\n".join(problems)


def test_every_connector_folder_is_registered() -> None:
    """ "A connector is one folder plus one line here": every folder is imported by the registry, and only those."""
    folders = {p.name for p in CONNECTORS_DIR.iterdir() if (p / "__init__.py").is_file()}
    tree = ast.parse(Path(registry.__file__).read_text(encoding="utf-8"))
    imported = {
        node.module.split(".")[2]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fieldrelay.connectors.")
    }
    problems = both_ways("connector folder", "src/fieldrelay/connectors/", folders, "registry.py's imports", imported)
    assert not problems, "\n".join(problems)
    registered = set(registry.INBOUND) | set(registry.SMS) | set(registry.EMAIL) | set(registry.CRM)
    unnamed = sorted(FOLDER_NAMES.get(f, f) for f in folders if FOLDER_NAMES.get(f, f) not in registered)
    assert not unnamed, f"connector folders {unnamed} are imported but no registry table names them"


def test_every_registered_connector_reports_its_registry_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """The name a connector stamps on what it stores (inbox rows, sent messages) is the name it is looked up by."""
    for env in ("TWILIO_ACCOUNT_SID", "TWILIO_SECRET", "SENDGRID_API_KEY", "HUBSPOT_TOKEN", "SALESFORCE_TOKEN"):
        monkeypatch.setenv(f"FIELDRELAY_{env}", "test-value")
    monkeypatch.setenv("FIELDRELAY_WEBHOOK_OUT_SECRET", "whsec")
    settings = parse_settings(
        """
business: {name: X}
messaging: {twilio: {from_number: "+15125550100"}}
crm:
  webhook: {url: "https://hooks.example.test/in"}
  salesforce: {instance_url: "https://acme.my.salesforce.com"}
""",
        "t.yaml",
    )
    sink, clock = SqlDevSink(create_engine("sqlite://")), SimulatedClock(START)
    built: dict[str, dict[str, Any]] = {
        "INBOUND": {name: build(settings) for name, build in registry.INBOUND.items()},
        "SMS": {name: build(sink, clock, settings) for name, build in registry.SMS.items()},
        "EMAIL": {name: build(sink, clock, settings) for name, build in registry.EMAIL.items()},
        "CRM": {name: build(clock, settings) for name, build in registry.CRM.items()},
    }
    wrong = [
        f"registry.{table}[{key!r}] builds {type(connector).__name__}, whose name is {connector.name!r}"
        for table, connectors in built.items()
        for key, connector in connectors.items()
        if connector.name != key
    ]
    assert not wrong, "\n".join(wrong)
