"""What the office app keeps on the FastAPI app: its signing keys and its sign-in throttle, made once per process."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import structlog
from fastapi import Request
from itsdangerous import URLSafeTimedSerializer

from fieldrelay.rules.secrets import env_secret
from fieldrelay.runtime import Runtime
from fieldrelay.service.access.throttle import LoginThrottle

log = structlog.get_logger(__name__)


@dataclass
class WebState:
    """The office app's keys (sessions, the owner's setup link) and its sign-in throttle."""

    secret: str
    throttle: LoginThrottle = field(default_factory=LoginThrottle)

    def signer(self, purpose: str) -> URLSafeTimedSerializer:
        """A serializer signing with this process's secret, salted by ``purpose`` so no token serves another."""
        return URLSafeTimedSerializer(self.secret, salt=f"fieldrelay.{purpose}")


def new_state() -> WebState:
    """Keys from ``FIELDRELAY_SESSION_SECRET``; without it (a trial or demo run) a fresh one for this process only."""
    secret = env_secret("session_secret")
    if secret is None:
        # Sessions then end when the process restarts and differ between processes: fine for a demo, not a shop.
        log.warning("session_secret_generated", detail="set FIELDRELAY_SESSION_SECRET to keep sign-ins across restarts")
        secret = secrets.token_urlsafe(32)
    return WebState(secret)


def web_state(request: Request) -> WebState:
    """The office app's state on the app serving this request."""
    state: WebState = request.app.state.web
    return state


def runtime_of(request: Request) -> Runtime:
    """The runtime of the app serving this request."""
    runtime: Runtime = request.app.state.runtime
    return runtime
