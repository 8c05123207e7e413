"""``fieldrelay referrals``: enrol by hand and from a CSV, attribute a code (exit 2 when unknown), review, reward;
each in the audit log, and who may: a CSR enrols but may not reward, an unknown or disabled person is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fieldrelay.cli.acting import USER_ENV
from fieldrelay.cli.main import app
from fieldrelay.domain import events as ev
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from fieldrelay.service.access import accounts
from fieldrelay.storage.tables import customers
from tests.cli.support import OPERATOR, signed
from tests.service.access.support import SETUP, add_person, audit_entries
from tests.service.referrals.support import (
    REFERRAL_YAML,
    all_referrers,
    configure,
    enrolled_pat,
    lead,
    referral_settings,
    rewards,
    sam_job,
    the_referral,
)
from tests.service.support import PAT_E164, apply, at, job_event, rows

CLI = CliRunner()


@pytest.fixture
def settings() -> Settings:
    """The referral program on."""
    return referral_settings()


def _base(db_url: str, tmp_path: Path, extra: str = "") -> list[str]:
    config = tmp_path / "fieldrelay.yaml"
    config.write_text(REFERRAL_YAML + extra, encoding="utf-8")
    return ["--db", db_url, "--config", str(config)]


def test_enrol_by_phone_and_import_a_csv(runtime: Runtime, db_url: str, tmp_path: Path) -> None:
    base = _base(db_url, tmp_path)
    apply(runtime, job_event(ev.JobCompleted, at(-600)))
    other = ev.CustomerSnapshot(external_id="cus_9", first_name="Lou", last_name="Park", emails=("lou@example.com",))
    apply(runtime, job_event(ev.JobCompleted, at(-500), job_id="job_9", customer=other))

    done = CLI.invoke(app, ["referrals", "enrol", PAT_E164, "--by", "dana", *base])
    assert done.exit_code == 0, done.output
    (pat_referrer,) = all_referrers(runtime)
    assert f"Enrolled: code {pat_referrer.code}" in done.output and pat_referrer.enrolled_by == "dana"

    sheet = tmp_path / "referrers.csv"
    sheet.write_text("customer_id,phone,email\n,,lou@example.com\n,(512) 555-0142,\n,+15550000000,\n", encoding="utf-8")
    imported = CLI.invoke(app, ["referrals", "import", str(sheet), *base])
    assert imported.exit_code == 1  # one row names nobody
    assert "1 enrolled, 1 already enrolled, 1 not found" in imported.output
    assert sorted(r.enrolled_via for r in all_referrers(runtime)) == ["hand", "import"]
    lou = next(r.customer_id for r in all_referrers(runtime) if r.enrolled_via == "import")
    assert [(who, subject) for who, _, _, subject in signed(runtime, "enrol_referrer")] == [
        ("dana", pat_referrer.customer_id),
        (OPERATOR, lou),
        (OPERATOR, pat_referrer.customer_id),  # already enrolled: the import said so, and that is recorded too
    ]

    unknown = CLI.invoke(app, ["referrals", "enrol", "nobody@example.com", *base])
    assert unknown.exit_code == 2 and "No customer matches" in unknown.output


def test_attribute_a_code_and_an_unknown_code(runtime: Runtime, db_url: str, tmp_path: Path) -> None:
    base = _base(db_url, tmp_path)
    _, code = enrolled_pat(runtime)
    apply(runtime, lead(None, at(0)), now=at(0))
    (sam_row,) = rows(runtime, customers, customers.c.first_name == "Sam")

    bad = CLI.invoke(app, ["referrals", "attribute", sam_row.id, "--code", "WXYZ99", *base])
    assert bad.exit_code == 2 and "matches no active referrer" in bad.output

    good = CLI.invoke(app, ["referrals", "attribute", sam_row.id, "--code", code, *base])
    assert good.exit_code == 0, good.output
    assert "is pending" in good.output and the_referral(runtime).captured_via == "csr"
    assert signed(runtime, "attribute_referral") == [(OPERATOR, "owner", "cli", sam_row.id)]  # not the bad code


def test_review_approve_reject_and_manual_reward(runtime: Runtime, db_url: str, tmp_path: Path) -> None:
    base = _base(db_url, tmp_path)
    # This test's command-line runs read the YAML file: approval required, rewards issued by hand.
    config = Path(base[3])
    config.write_text(
        REFERRAL_YAML.replace(
            "  enabled: true\n", "  enabled: true\n  require_approval: true\n  reward_issue: manual\n"
        ),
        encoding="utf-8",
    )
    runtime.settings = runtime.settings.model_copy(
        update={
            "referrals": runtime.settings.referrals.model_copy(
                update={"require_approval": True, "reward_issue": "manual"}
            )
        }
    )
    _, code = enrolled_pat(runtime)
    apply(runtime, lead(code, at(0)), now=at(0))
    apply(runtime, sam_job(ev.PaymentCaptured, at(60), amount_cents=45000), now=at(60))
    referral_id = the_referral(runtime).id

    listed = CLI.invoke(app, ["referrals", "review", *base])
    assert listed.exit_code == 0 and "Sam Lee" in listed.output and "Pat Doe" in listed.output

    no_reason = CLI.invoke(app, ["referrals", "review", "--reject", referral_id, *base])
    assert no_reason.exit_code == 2

    approved = CLI.invoke(app, ["referrals", "review", "--approve", referral_id, "--by", "dana", *base])
    assert approved.exit_code == 0 and "is approved" in approved.output
    assert rewards(runtime) == []

    issued = CLI.invoke(app, ["referrals", "reward", referral_id, "--by", "dana", *base])
    assert issued.exit_code == 0 and "is rewarded" in issued.output
    (reward,) = rewards(runtime)
    assert (reward.amount_cents, reward.issued_by) == (5000, "dana")
    assert signed(runtime, "approve_referral") == [("dana", "owner", "cli", referral_id)]
    assert signed(runtime, "issue_reward") == [("dana", "owner", "cli", referral_id)]

    again = CLI.invoke(app, ["referrals", "reward", referral_id, *base])
    assert again.exit_code == 2 and "rewarded" in again.output


def test_reject_from_the_terminal(runtime: Runtime, db_url: str, tmp_path: Path) -> None:
    base = _base(db_url, tmp_path)
    runtime.settings = runtime.settings.model_copy(
        update={"referrals": runtime.settings.referrals.model_copy(update={"require_approval": True})}
    )
    _, code = enrolled_pat(runtime)
    apply(runtime, lead(code, at(0)), now=at(0))
    apply(runtime, sam_job(ev.PaymentCaptured, at(60), amount_cents=45000), now=at(60))
    referral_id = the_referral(runtime).id

    rejected = CLI.invoke(app, ["referrals", "review", "--reject", referral_id, "--reason", "same person", *base])

    assert rejected.exit_code == 0 and "is rejected" in rejected.output
    assert (the_referral(runtime).status, rewards(runtime)) == ("rejected", [])
    assert signed(runtime, "reject_referral") == [(OPERATOR, "owner", "cli", referral_id)]


def test_a_csr_enrols_but_may_not_reward_and_who_is_named_must_sign_in(
    runtime: Runtime, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = _base(db_url, tmp_path, "  reward_issue: manual\n")
    configure(runtime, reward_issue="manual")
    add_person(runtime, "Carla", "office")
    add_person(runtime, "Olga", "operations")
    dan = add_person(runtime, "Dan", "dispatcher")
    with runtime.unit_of_work(runtime.settings.account_id) as ctx:
        accounts.set_active(ctx.store, ctx.now, SETUP, dan, False)
    pat_id, code = enrolled_pat(runtime)
    apply(runtime, lead(code, at(0)), now=at(0))
    apply(runtime, sam_job(ev.PaymentCaptured, at(60), amount_cents=45000), now=at(60))
    referral_id = the_referral(runtime).id

    def invoke(*args: str) -> tuple[int, str]:
        result = CLI.invoke(app, [*args, *base])
        return result.exit_code, result.output.strip()

    assert invoke("referrals", "enrol", pat_id, "--as", "carla")[0] == 0
    assert signed(runtime, "enrol_referrer") == [("Carla", "office", "cli", pat_id)]

    refusal = (1, "Carla (Office (CSR)) may not issue referral rewards")
    assert invoke("referrals", "reward", referral_id, "--as", "Carla") == refusal
    assert invoke("referrals", "reward", referral_id, "--by", "Carla") == refusal  # --by naming a person is --as
    monkeypatch.setenv(USER_ENV, "Carla")
    assert invoke("referrals", "reward", referral_id) == refusal
    assert invoke("users", "add", "Zed", "--role", "sales", "--link") == (
        1,
        "Carla (Office (CSR)) may not manage people and their sign-ins",
    )
    monkeypatch.setenv(USER_ENV, "Zed")
    exit_code, said = invoke("referrals", "reward", referral_id)
    assert exit_code == 2 and said.startswith("FIELDRELAY_USER 'Zed': nobody by that name") and "unset it" in said
    monkeypatch.delenv(USER_ENV)
    assert invoke("referrals", "reward", referral_id, "--as", "Zed") == (
        2,
        "--as 'Zed': nobody by that name has a sign-in (people: Carla, Olga)",
    )
    assert invoke("referrals", "reward", referral_id, "--as", "dan") == (2, "--as 'dan': Dan's sign-in is disabled")
    assert invoke("referrals", "reward", referral_id, "--as", "Olga", "--by", "Carla")[0] == 2
    assert rewards(runtime) == [] and signed(runtime, "issue_reward") == []

    monkeypatch.setenv(USER_ENV, "Olga")
    assert invoke("referrals", "reward", referral_id) == (0, f"Referral {referral_id} is rewarded")
    assert signed(runtime, "issue_reward") == [("Olga", "operations", "cli", referral_id)]
    (entry,) = audit_entries(runtime, "issue_reward")
    assert (entry.before, entry.after) == ({"status": "qualified"}, {"status": "rewarded"})
    assert rewards(runtime)[0].issued_by == "Olga"
