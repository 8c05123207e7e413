"""``fieldrelay config docs``: the configuration reference (docs/configuration.md) generated from the models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fieldrelay.cli.common import console, fail
from fieldrelay.rules.reference import render

config_app = typer.Typer(help="The configuration's reference.", no_args_is_help=True)


@config_app.command("docs")
def config_docs(
    output: Annotated[Path | None, typer.Option("--output", help="write it here (default: print it)")] = None,
) -> None:
    """Every key of fieldrelay.yaml (type, default, meaning) and every environment variable, as Markdown."""
    text = render()
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror}")
    console.print(f"Wrote {output}", markup=False, highlight=False)
