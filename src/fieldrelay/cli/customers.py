"""``fieldrelay customers``: find and show a customer, the review queue of possible duplicates, merges and undo."""

from __future__ import annotations

import csv
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from fieldrelay.cli import lookup
from fieldrelay.cli.acting import AsOpt, ByOpt, acting
from fieldrelay.cli.common import ConfigOpt, DbOpt, console, open_runtime
from fieldrelay.cli.profile import print_profile
from fieldrelay.service.access import audit
from fieldrelay.service.access.permissions import Action
from fieldrelay.service.crm.ports import MergeRefused
from fieldrelay.service.identity import review as identity_review
from fieldrelay.storage.identity import queries as identity_queries

customers_app = typer.Typer(
    help="Customers: find one, show a profile, possible duplicates to review, merges and their undo.",
    no_args_is_help=True,
)
CustomerArg = Annotated[str, typer.Argument(help="an id or its first characters, a phone, an email or a name")]


def _describe(customer: dict[str, Any] | None) -> str:
    if customer is None:
        return "(gone)"
    address = customer["address"]
    place = " ".join(str(address[k]) for k in ("street", "unit", "city", "state", "postal_code") if address[k])
    lines = [customer["name"] or "(no name)", ", ".join(customer["phones"]), ", ".join(customer["emails"]), place]
    jobs = len(customer["jobs"])
    lines.append(f"{jobs} job{'s' if jobs != 1 else ''} · {customer['lifecycle_stage']} · {customer['id'][:8]}")
    return "\n".join(line for line in lines if line)


def _show(item: dict[str, Any]) -> None:
    table = Table(
        title=f"Pair {item['id']} · score {item['score']:.3f}" + (f" · {item['rule']}" if item["rule"] else "")
    )
    table.add_column("new record")
    table.add_column("existing record")
    table.add_row(_describe(item["customer"]), _describe(item["other"]))
    console.print(table)
    said = ", ".join(f"{e['field']} {e['outcome']}" for e in item["evidence"])
    console.print(f"evidence: {said or 'none'}", highlight=False)


@customers_app.command("find")
def find(
    text: Annotated[str, typer.Argument(help="part of a name, a phone (any format), an email or an id prefix")],
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """List the customers a name, phone, email or id prefix matches."""
    runtime = open_runtime(db, config, migrate=False)
    found = lookup.customers_matching(runtime, text, narrow=False)
    if not found:
        console.print(f"No customer matches {text!r}.", markup=False, highlight=False)
        return
    table = Table(title=f"Customers matching {text!r}")
    table.add_column("id", no_wrap=True)
    table.add_column("customer")
    for match in found[: lookup.LIMIT]:
        table.add_row(match.id[:8], match.label)
    console.print(table, highlight=False)
    if len(found) > lookup.LIMIT:
        console.print("… and more: give more of the name, a phone or an email.", highlight=False)


@customers_app.command("show")
def show(customer: CustomerArg, config: ConfigOpt = None, db: DbOpt = None) -> None:
    """A customer's profile: contact details and consent, jobs, deals and the latest of their timeline."""
    runtime = open_runtime(db, config, migrate=False)
    print_profile(runtime, lookup.customer(runtime, customer))


@customers_app.command("review")
def review(
    config: ConfigOpt = None,
    db: DbOpt = None,
    as_: AsOpt = None,
    by: ByOpt = None,
    list_only: Annotated[bool, typer.Option("--list", help="only list the open pairs")] = False,
    limit: Annotated[int, typer.Option(help="pairs to go through", min=1)] = 50,
) -> None:
    """Go through possible duplicates: merge, keep apart or skip each pair."""
    runtime = open_runtime(db, config, migrate=False)
    # Refused before the first pair is shown, not after a person has read it and decided.
    actor = acting(runtime, as_, by, *(() if list_only else (Action.MERGE, Action.KEEP_APART)))
    account = runtime.settings.account_id
    with runtime.engine.connect() as conn:
        items = identity_queries.list_candidates(conn, account, "open", limit)
    if not items:
        console.print("[green]No possible duplicates wait for review.[/]")
        return
    console.print(f"{len(items)} possible duplicate{'s' if len(items) != 1 else ''} to review.")
    for item in items:
        _show(item)
        if list_only:
            continue
        choice = typer.prompt("[m]erge, [d]ifferent people, [s]kip, [q]uit", default="s").strip().lower()[:1]
        if choice == "q":
            return
        if choice not in ("m", "d"):
            continue
        try:
            with runtime.unit_of_work(account) as ctx:
                pair, before = str(item["id"]), {"status": "open", "score": item["score"]}
                if choice == "m":
                    merge_id = identity_review.merge_pair(ctx, item["id"], actor.name)
                    after = {"status": "merged", "merge_id": merge_id}
                    audit.record(ctx, actor, Action.MERGE, "merge_candidate", pair, before, after)
                    console.print(f"Merged (merge {merge_id}; undo with `fieldrelay customers unmerge {merge_id}`).")
                else:
                    identity_review.keep_apart(ctx, item["id"], actor.name)
                    audit.record(ctx, actor, Action.KEEP_APART, "merge_candidate", pair, before, {"status": "distinct"})
                    console.print("Kept apart.")
        except (LookupError, MergeRefused) as exc:
            console.print(f"[red]{exc}[/]")


@customers_app.command("unmerge")
def unmerge(
    merge_id: Annotated[int, typer.Argument(help="the merge's id (`fieldrelay customers merges`)")],
    config: ConfigOpt = None,
    db: DbOpt = None,
    as_: AsOpt = None,
    by: ByOpt = None,
) -> None:
    """Undo a merge: the merged record comes back with its ids, contact points, jobs and timeline."""
    runtime = open_runtime(db, config, migrate=False)
    actor = acting(runtime, as_, by, Action.UNDO_MERGE)
    try:
        with runtime.unit_of_work(runtime.settings.account_id) as ctx:
            survivor_id, restored_id = identity_review.unmerge(ctx, merge_id, actor.name)
            after = {"undone": True, "survivor_id": survivor_id, "restored_id": restored_id}
            audit.record(ctx, actor, Action.UNDO_MERGE, "merge", str(merge_id), {"undone": False}, after)
    except MergeRefused as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    console.print(f"Merge {merge_id} undone: {restored_id} is its own record again beside {survivor_id}.")


@customers_app.command("merges")
def list_merges(
    customer: Annotated[
        str | None, typer.Argument(help="only merges this customer (id, phone, email, name) was in")
    ] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Merges, automatic and by a person, newest first."""
    runtime = open_runtime(db, config, migrate=False)
    customer_id = lookup.customer(runtime, customer) if customer is not None else None
    with runtime.engine.connect() as conn:
        items = identity_queries.list_merges(conn, runtime.settings.account_id, customer_id)
    if not items:
        console.print("No merges.")
        return
    table = Table(title=f"Merges ({len(items)})")
    for column in ("id", "kept", "merged in", "score", "by", "when", "undone"):
        table.add_column(column)
    for m in items:
        score = f"{m['score']:.3f}" if m["score"] is not None else ""
        undone = f"{m['undone_at']} by {m['undone_by']}" if m["undone_at"] else ""
        table.add_row(
            str(m["id"]), m["survivor_id"], m["merged_id"], score, m["decided_by"], m["merged_at"] or "", undone
        )
    console.print(table)


@customers_app.command("pairs")
def labelled_pairs(
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV on standard output, for calibration")] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Every merge, undo and keep-apart as a labelled pair (same / different) with the matcher's evidence."""
    runtime = open_runtime(db, config, migrate=False)
    with runtime.engine.connect() as conn:
        items = identity_queries.labelled_pairs(conn, runtime.settings.account_id)
    if as_csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=PAIR_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(items)
        return
    if not items:
        console.print("No decided pairs yet.")
        return
    table = Table(title=f"Labelled pairs ({len(items)}; --csv for every column)")
    for column in ("kind", "label", "records", "score", "by", "when"):
        table.add_column(column)
    for item in items:
        score = f"{item['score']:.3f}" if item["score"] is not None else ""
        records = f"{item['customer_id'][:8]} {item['other_id'][:8]}"
        table.add_row(item["kind"], item["label"], records, score, item["decided_by"] or "", item["decided_at"] or "")
    console.print(table)


PAIR_COLUMNS = ("kind", "label", "customer_id", "other_id", "score", "decided_by", "decided_at", "evidence")
