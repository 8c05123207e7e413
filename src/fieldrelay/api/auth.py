"""Bearer-token authentication for the JSON API (fail closed when no token is configured)."""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request, status

from fieldrelay.rules.secrets import api_token


def require_token(request: Request) -> str:
    """Return the caller's account id, or refuse: 503 when the server has no token configured, else 401."""
    expected = api_token()
    if not expected:
        # Still closed to everyone, but a caller learns the server needs setting up, not that their token is wrong.
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "no API token is configured on this server: set FIELDRELAY_API_TOKEN and restart fieldrelay",
        )
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), expected):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
    # One token serves the deployment's account; per-account tokens come with multi-shop deployments.
    account: str = request.app.state.runtime.settings.account_id
    return account
