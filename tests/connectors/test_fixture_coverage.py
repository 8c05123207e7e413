"""Meta-test: every vendor fixture file has a test named after it in that vendor's test modules.

A fixture ``tests/connectors/<vendor>/fixtures/job.created.json`` needs a test function in
``tests/connectors/<vendor>/**/*.py`` whose name contains ``job_created`` (the file stem, lower case, with dots
and dashes turned into underscores). Test names are read with ``ast``, so nothing is imported or run.
README files and hidden files (``.gitkeep``) in a fixtures folder are not fixtures.
"""

from __future__ import annotations

import ast
from pathlib import Path

CONNECTOR_TESTS = Path(__file__).parent


def fixture_token(path: Path) -> str:
    """The part of a test name a fixture file asks for: its stem, lower case, dots and dashes as underscores."""
    return path.stem.lower().replace(".", "_").replace("-", "_")


def collect_test_names(vendor_dir: Path) -> set[str]:
    """Names of the test functions and methods (``test_…``) defined in a vendor's test modules."""
    names: set[str] = set()
    for module in sorted(vendor_dir.rglob("*.py")):
        if "fixtures" in module.relative_to(vendor_dir).parts:
            continue
        tree = ast.parse(module.read_text(encoding="utf-8"), filename=str(module))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
                names.add(node.name)
    return names


def fixture_files(vendor_dir: Path) -> list[Path]:
    """Every fixture file of a vendor, README and hidden files excepted."""
    fixtures = vendor_dir / "fixtures"
    if not fixtures.is_dir():
        return []
    return sorted(
        p
        for p in fixtures.rglob("*")
        if p.is_file() and not p.name.upper().startswith("README") and not p.name.startswith(".")
    )


def missing_tests(root: Path) -> list[str]:
    """``<vendor>/fixtures/<file> (needs a test named *<token>*)`` for every fixture no test is named after."""
    missing: list[str] = []
    for vendor_dir in sorted(p for p in root.iterdir() if p.is_dir() and (p / "fixtures").is_dir()):
        names = collect_test_names(vendor_dir)
        for fixture in fixture_files(vendor_dir):
            token = fixture_token(fixture)
            if not any(token in name for name in names):
                where = fixture.relative_to(root).as_posix()
                missing.append(f"{where} (needs a test named *{token}*)")
    return missing


def test_every_connector_fixture_has_a_test_named_after_it() -> None:
    missing = missing_tests(CONNECTOR_TESTS)
    assert not missing, "fixture files without a test named after them:\n  " + "\n  ".join(missing)


def test_the_check_sees_the_reference_connectors_fixtures() -> None:
    """Guard against a check that passes because it looks at nothing."""
    fixtures = fixture_files(CONNECTOR_TESTS / "housecallpro")
    assert len(fixtures) >= 10
    assert "job_created" in {fixture_token(p) for p in fixtures}
    assert "test_job_created" in collect_test_names(CONNECTOR_TESTS / "housecallpro")


def test_fixture_token_lowers_and_replaces_dots_and_dashes() -> None:
    assert fixture_token(Path("job.created.json")) == "job_created"
    assert (
        fixture_token(Path("customer.updated.thirdparty-test-fixture.json"))
        == "customer_updated_thirdparty_test_fixture"
    )
    assert fixture_token(Path("Incoming-SMS.form")) == "incoming_sms"
    assert fixture_token(Path("charge.refunded")) == "charge"  # the last suffix is the file type
    assert fixture_token(Path("inbound")) == "inbound"


def test_the_check_reports_every_fixture_without_a_test(tmp_path: Path) -> None:
    vendor = tmp_path / "acme"
    (vendor / "fixtures" / "nested").mkdir(parents=True)
    for name in (
        "job.created.json",
        "Payment-Received.json",
        "inbound-sms.form",
        "bounce.txt",
        "nested/open.event.json",
        "README.md",
        "readme.txt",
        ".gitkeep",
    ):
        (vendor / "fixtures" / name).write_text("{}")
    (vendor / "test_acme.py").write_text(
        "def test_job_created_is_parsed():\n    pass\n\n"
        "class TestForms:\n    async def test_inbound_sms_from_a_customer(self):\n        pass\n\n"
        "def helper_bounce():\n    pass\n"
    )
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "test_other.py").write_text("def test_payment_received():\n    pass\n")

    assert missing_tests(tmp_path) == [
        "acme/fixtures/Payment-Received.json (needs a test named *payment_received*)",
        "acme/fixtures/bounce.txt (needs a test named *bounce*)",
        "acme/fixtures/nested/open.event.json (needs a test named *open_event*)",
    ]

    (vendor / "test_more.py").write_text(
        "def test_payment_received():\n    pass\n\ndef test_bounce():\n    pass\n\ndef test_open_event():\n    pass\n"
    )
    assert missing_tests(tmp_path) == []
