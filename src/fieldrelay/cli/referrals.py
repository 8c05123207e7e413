"""``fieldrelay referrals``: enrol referrers (by hand or from a CSV), attribute a code, review and reward."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fieldrelay.cli import lookup
from fieldrelay.cli.acting import AsOpt, ByOpt, acting
from fieldrelay.cli.common import ConfigOpt, DbOpt, console, open_runtime
from fieldrelay.runtime import Runtime
from fieldrelay.service.access import audit
from fieldrelay.service.access.permissions import Action, Actor
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.referrals import program as referrals
from fieldrelay.service.referrals import rewards as referral_rewards
from fieldrelay.storage.referrals import report as referral_report

referrals_app = typer.Typer(
    help="Referral program: referrers and their codes, referred customers, review and rewards.", no_args_is_help=True
)

CustomerArg = Annotated[str, typer.Argument(help="the customer: id or its first characters, phone, email or name")]
ReferralRef = "a referral id or its first characters, or the referred customer"


def _fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[red]{message}[/]", highlight=False)
    return typer.Exit(code)


def _enrol_one(runtime: Runtime, customer_id: str, via: str, actor: Actor) -> tuple[str, str, bool]:
    """(code, link, created) of one enrolment and its audit entry, in their own transaction."""
    with runtime.unit_of_work(runtime.settings.account_id) as ctx:
        referrer, created = referrals.enrol(ctx, customer_id, via, by=actor.name)
        after = {"referrer_id": referrer.id, "code": referrer.code, "created": created, "via": via}
        audit.record(ctx, actor, Action.ENROL_REFERRER, "customer", customer_id, after=after)
        return referrer.code, referrals.link_for(ctx, referrer.code), created


def _status_of(ctx: HandlerContext, referral_id: str) -> dict[str, object] | None:
    """A referral's status before a decision, for the audit log (None when there is no such referral)."""
    found = ctx.store.get_referral(referral_id)
    return None if found is None else {"status": found.status}


@referrals_app.command("enrol")
def enrol(
    customer: CustomerArg, config: ConfigOpt = None, db: DbOpt = None, as_: AsOpt = None, by: ByOpt = None
) -> None:
    """Enrol a customer as a referrer; they keep their code if already enrolled."""
    runtime = open_runtime(db, config, migrate=False)
    actor = acting(runtime, as_, by, Action.ENROL_REFERRER)
    customer_id = lookup.customer(runtime, customer)
    try:
        code, link, created = _enrol_one(runtime, customer_id, "hand", actor)
    except referrals.ReferralError as exc:
        raise _fail(str(exc)) from exc
    console.print(f"{'Enrolled' if created else 'Already enrolled'}: code {code}, link {link}", highlight=False)


@referrals_app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="CSV with a customer_id, phone or email column", exists=True)],
    config: ConfigOpt = None,
    db: DbOpt = None,
    as_: AsOpt = None,
    by: ByOpt = None,
) -> None:
    """Enrol every customer a CSV names (by customer_id, else phone, else email); each row on its own."""
    runtime = open_runtime(db, config, migrate=False)
    actor = acting(runtime, as_, by, Action.ENROL_REFERRER)
    enrolled = already = missing = 0
    with file.open(newline="", encoding="utf-8-sig") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            named = next((row[k].strip() for k in ("customer_id", "phone", "email") if (row.get(k) or "").strip()), "")
            found = lookup.customers_matching(runtime, named) if named else []
            if len(found) != 1:
                missing += 1
                why = f"{len(found)} customers match" if found else "no customer matches"
                console.print(f"line {line}: {why} {named!r}", highlight=False)
                continue
            try:
                _, _, created = _enrol_one(runtime, found[0].id, "import", actor)
            except referrals.ReferralError as exc:
                missing += 1
                console.print(f"line {line}: {exc}", highlight=False)
                continue
            enrolled, already = enrolled + created, already + (not created)
    console.print(f"{enrolled} enrolled, {already} already enrolled, {missing} not found")
    if missing:
        raise typer.Exit(1)


@referrals_app.command("attribute")
def attribute(
    customer: CustomerArg,
    code: Annotated[str, typer.Option("--code", help="the referral code the customer gave")],
    config: ConfigOpt = None,
    db: DbOpt = None,
    as_: AsOpt = None,
    by: ByOpt = None,
) -> None:
    """Attribute a customer to the referrer whose code they gave (a CSR on the phone); exit 2 on an unknown code."""
    runtime = open_runtime(db, config, migrate=False)
    actor = acting(runtime, as_, by, Action.ATTRIBUTE_REFERRAL)
    customer_id = lookup.customer(runtime, customer)
    try:
        with runtime.unit_of_work(runtime.settings.account_id) as ctx:
            referral = referrals.attribute(ctx, customer_id, code, "csr", by=actor.name)
            after = {"referral_id": referral.id, "code": code, "status": referral.status}
            audit.record(ctx, actor, Action.ATTRIBUTE_REFERRAL, "customer", customer_id, after=after)
    except referrals.ReferralError as exc:
        raise _fail(str(exc)) from exc
    extra = f": {referral.reason}" if referral.reason else ""
    console.print(f"Referral {referral.id} is {referral.status}{extra}", highlight=False)


@referrals_app.command("review")
def review(
    config: ConfigOpt = None,
    db: DbOpt = None,
    as_: AsOpt = None,
    by: ByOpt = None,
    approve: Annotated[str | None, typer.Option("--approve", help=f"approve this referral: {ReferralRef}")] = None,
    reject: Annotated[str | None, typer.Option("--reject", help="reject this referral (needs --reason)")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="why; required with --reject")] = None,
    status: Annotated[str, typer.Option(help="which referrals to list")] = "review",
) -> None:
    """List the referrals waiting for review, or approve / reject one."""
    runtime = open_runtime(db, config, migrate=False)
    if approve or reject:
        if reject and not reason:
            raise _fail("--reject needs --reason")
        decision = Action.APPROVE_REFERRAL if approve else Action.REJECT_REFERRAL
        actor = acting(runtime, as_, by, decision)
        chosen = lookup.referral(runtime, approve or reject or "")
        try:
            with runtime.unit_of_work(runtime.settings.account_id) as ctx:
                before = _status_of(ctx, chosen)
                if approve:
                    done = referral_rewards.approve(ctx, chosen, actor.name, reason)
                else:
                    assert reason is not None
                    done = referral_rewards.reject(ctx, chosen, actor.name, reason)
                after = {"status": done.status, "reason": reason}
                audit.record(ctx, actor, decision, "referral", done.id, before, after)
        except (LookupError, referral_rewards.ReferralError) as exc:
            raise _fail(str(exc).strip("'")) from exc
        console.print(f"Referral {done.id} is {done.status}", highlight=False)
        return
    with runtime.engine.connect() as conn:
        items = referral_report.list_referrals(conn, runtime.settings.account_id, status)
    if not items:
        console.print(f"[green]No referrals are {status}.[/]")
        return
    table = Table(title=f"Referrals: {status}")
    for column in ("id", "referrer", "referred", "code", "via", "captured", "flags / reason"):
        table.add_column(column)
    for item in items:
        why = ", ".join(item["flags"]) + (f" — {item['reason']}" if item["reason"] else "")
        table.add_row(
            item["id"],
            item["referrer_name"] or "",
            item["referred_name"] or "",
            item["code"],
            item["captured_via"],
            item["captured_at"][:16],
            why,
        )
    console.print(table)


@referrals_app.command("reward")
def reward(
    referral: Annotated[str, typer.Argument(help=ReferralRef)],
    config: ConfigOpt = None,
    db: DbOpt = None,
    as_: AsOpt = None,
    by: ByOpt = None,
) -> None:
    """Issue the reward of a qualified or approved referral (``reward_issue: manual``)."""
    runtime = open_runtime(db, config, migrate=False)
    actor = acting(runtime, as_, by, Action.ISSUE_REWARD)
    referral_id = lookup.referral(runtime, referral)
    try:
        with runtime.unit_of_work(runtime.settings.account_id) as ctx:
            before = _status_of(ctx, referral_id)
            done = referral_rewards.issue(ctx, referral_id, actor.name)
            audit.record(ctx, actor, Action.ISSUE_REWARD, "referral", done.id, before, {"status": done.status})
    except (LookupError, referral_rewards.ReferralError) as exc:
        raise _fail(str(exc).strip("'")) from exc
    console.print(f"Referral {done.id} is {done.status}", highlight=False)
