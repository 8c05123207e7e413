"""``fieldrelay init``: a commented starter fieldrelay.yaml for the user's own shop."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer

from fieldrelay.cli.common import DbOpt, console, fail, open_runtime, print_config_error
from fieldrelay.cli.users import create_owner
from fieldrelay.rules.loader import DEFAULT_PATH, ConfigError, parse_settings
from fieldrelay.rules.starter import WEEKDAYS, describe_hours, parse_hours, starter_yaml


def init(
    name: Annotated[str | None, typer.Option("--name", help="the shop's name, as customers know it")] = None,
    time_zone: Annotated[str | None, typer.Option("--time-zone", help="IANA name, e.g. America/Denver")] = None,
    hours: Annotated[
        str | None, typer.Option("--hours", help="e.g. 'mon-fri 08:00-17:00; sat 09:00-12:00' (other days closed)")
    ] = None,
    path: Annotated[Path, typer.Option("--config", help="where to write it")] = DEFAULT_PATH,
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing file")] = False,
    owner: Annotated[
        str | None, typer.Option("--owner", help="also create the owner's sign-in to the office app (asks a password)")
    ] = None,
    owner_email: Annotated[str | None, typer.Option("--owner-email", help="the owner signs in with it")] = None,
    db: DbOpt = None,
) -> None:
    """Write a commented starter fieldrelay.yaml for your shop (name, time zone, business hours; asked if not given)."""
    if path.exists() and not force:
        fail(f"{path} already exists: edit it, or pass --force to replace it with a starter file")
    # Asked only now, so nobody answers questions before learning the file cannot be written.
    name = name if name is not None else typer.prompt("Shop name")
    time_zone = time_zone or typer.prompt("Time zone (IANA name)", default="America/Chicago")
    hours = hours or typer.prompt("Business hours", default=WEEKDAYS)
    if not name.strip():
        fail("the shop's name cannot be empty")
    try:
        ZoneInfo(time_zone.strip())
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"--time-zone: unknown time zone {time_zone!r} (use an IANA name such as America/Chicago)")
    try:
        opening = parse_hours(hours)
    except ValueError as exc:
        fail(f"--hours: {exc}")
    text = starter_yaml(name, time_zone.strip(), opening)
    try:
        settings = parse_settings(text, str(path))  # what is written must pass `fieldrelay check`
    except ConfigError as exc:
        print_config_error(exc)
        raise typer.Exit(2) from exc
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror}")
    business = settings.business
    days = describe_hours({str(day): window for day, window in business.business_hours.items()})
    console.print(
        f"Wrote {path} for {business.name} ({business.time_zone}; {days}).",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    if owner is not None:
        user = create_owner(open_runtime(db, path), owner, owner_email)
        console.print(f"{user.name} can sign in as the owner with {user.login}.", markup=False, highlight=False)
    console.print(
        "Next: `fieldrelay check` lists the secrets to set in the environment, then `fieldrelay serve`.",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
