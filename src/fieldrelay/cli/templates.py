"""``fieldrelay templates``: the message templates, and one rendered for one customer as they would read it."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from fieldrelay.cli import lookup
from fieldrelay.cli.common import ConfigOpt, DbOpt, console, load_config, open_runtime
from fieldrelay.cli.sequences import add_row
from fieldrelay.service.outreach import templates
from fieldrelay.service.records import StoredField
from fieldrelay.storage.mirror import SqlMirror
from fieldrelay.storage.sequences import queries as sequence_queries

templates_app = typer.Typer(help="Message templates: list them, render one for a customer.", no_args_is_help=True)


@templates_app.command("list")
def list_templates(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """The configured templates and the sequence steps that use them."""
    del db  # accepted like every command's, but the list is the configuration's alone
    settings = load_config(config)
    if not settings.templates:
        console.print("No templates are configured.")
        return
    used: dict[str, list[str]] = {}
    for name, sequence in settings.sequences.items():
        for step in sequence.steps:
            if step.template is not None:
                used.setdefault(step.template, []).append(f"{name}.{step.name}")
    table = Table(title=f"Templates ({len(settings.templates)})")
    for column in ("name", "channel", "subject", "begins", "used by"):
        table.add_column(column)
    for name, template in settings.templates.items():
        begins = " ".join(template.body.split())
        begins = begins if len(begins) <= 60 else begins[:59] + "…"
        add_row(table, name, template.channel, template.subject or "", begins, ", ".join(used.get(name, [])))
    console.print(table, highlight=False)


@templates_app.command("render")
def render(
    name: Annotated[str, typer.Argument(help="the template's name (`fieldrelay templates list`)")],
    customer: Annotated[
        str, typer.Option("--customer", help="the customer: id or first characters, phone, email, name")
    ],
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Render one template for one customer (with their latest job), as the message would read; sends nothing."""
    runtime = open_runtime(db, config, migrate=False)
    settings = runtime.settings
    customer_id = lookup.customer(runtime, customer)
    with runtime.engine.connect() as conn:
        store = SqlMirror(conn, settings.account_id, runtime.clock.now())
        record = store.get_customer(customer_id)
        job_id = sequence_queries.latest_job_id(conn, settings.account_id, record.id)
        job = store.get_job(job_id) if job_id else None
        renewal = _renewal_date(store.fields_of(record.id).get("renewal_due_on"))
    try:
        values = templates.base_values(settings, record, job)
        subject, body = templates.render(settings, name, values, renewal_date=renewal)
    except templates.TemplateFailed as exc:
        console.print(f"Cannot render: {exc}", style="red", markup=False, highlight=False)
        raise typer.Exit(2) from exc
    if subject is not None:
        console.print(f"Subject: {subject}", markup=False, highlight=False, soft_wrap=True)
        console.print()
    console.print(body, markup=False, highlight=False, soft_wrap=True)


def _renewal_date(field: StoredField | None) -> date | None:
    """The customer's renewal date from the CRM field the field mapping writes, when it holds one."""
    if field is None or not isinstance(field.value, str):
        return None
    try:
        return date.fromisoformat(field.value[:10])
    except ValueError:
        return None
