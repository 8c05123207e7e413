"""The one place connectors are registered: a connector is one folder plus one line here."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from fieldrelay.connectors.devsms.outbound import DevSmsSender
from fieldrelay.connectors.housecallpro.inbound import HousecallProInbound
from fieldrelay.engine.clock import Clock
from fieldrelay.rules.config import Settings
from fieldrelay.rules.secrets import connector_secret
from fieldrelay.service.ports import InboundConnector, SmsSender

INBOUND: dict[str, Callable[[Settings], InboundConnector]] = {
    "housecallpro": lambda s: HousecallProInbound(
        connector_secret("housecallpro"), s.connectors.housecallpro.max_timestamp_age_seconds
    ),
}

SMS: dict[str, Callable[[Engine, Clock], SmsSender]] = {
    "devsms": DevSmsSender,
}


def inbound_connectors(settings: Settings) -> dict[str, InboundConnector]:
    """Every inbound connector, built with its secret from the environment (None: it refuses everything)."""
    return {name: build(settings) for name, build in INBOUND.items()}
