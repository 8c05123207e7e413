"""What a process says about its secrets when it starts, and what ``check`` prints: set or missing, never a value."""

from __future__ import annotations

import structlog
from rich.console import Console

from fieldrelay.connectors.registry import INBOUND
from fieldrelay.rules.config import Settings
from fieldrelay.rules.secrets import SecretState, secret_states


def states(settings: Settings, api: bool = True) -> list[SecretState]:
    """Each connector, provider and CRM target with its secret's state; the API token and sessions where they serve."""
    return [s for s in secret_states(settings, INBOUND) if api or s.kind not in ("api", "web")]


def log_secrets(settings: Settings, api: bool) -> None:
    """One log line per connector, provider and CRM target: secret set, missing (a warning) or not needed."""
    # Asked for here, not at import: a logger cached at import would keep the stream of an earlier configuration.
    log = structlog.get_logger("fieldrelay.start")
    for state in states(settings, api):
        if state.kind == "web":
            continue  # the office app says so itself when it makes a key of its own (web/state.py)
        fields = {"kind": state.kind, "name": state.name, "needs": state.needs or None}
        if state.missing:
            log.warning(state.state, **fields, effect=state.effect)
        else:
            log.info(state.state, **fields)
    if api and any(s.missing for s in states(settings) if s.kind == "api"):
        log.warning("no API token is configured: /api answers 503 until FIELDRELAY_API_TOKEN is set")


def print_secrets(console: Console, settings: Settings) -> None:
    """The secrets of ``fieldrelay check``, one line each, with what a missing one means."""
    console.print("secrets (from the environment; values are never shown):", highlight=False)
    for state in states(settings):
        line = f"  {state.kind + ' ' + state.name:<22} {state.state}"
        if state.missing:
            line += f": {state.needs}; {state.effect}"
        console.print(line, style="yellow" if state.missing else None, markup=False, highlight=False, soft_wrap=True)
