"""ASGI middleware every response passes through: security headers, and a deadline on reading a request's body.

Pure ASGI rather than Starlette's BaseHTTPMiddleware, which would buffer and re-wrap every response (the webhook
route's cost per delivery matters: see bench/ingest.py).
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The office app loads its script and stylesheet from /static and nothing inline (web/static/README.md).
# https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Content-Security-Policy
APP_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
# FastAPI's /docs and /redoc pages load Swagger UI and ReDoc from jsDelivr with an inline start-up script.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
_DOCS = ("/docs", "/redoc")
_COMMON: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    """Adds no-sniff, frame denial, a referrer policy and a Content-Security-Policy to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers the response does not set itself."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        policy = DOCS_POLICY if path.startswith(_DOCS) else APP_POLICY
        added = [*_COMMON, (b"content-security-policy", policy.encode())]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in added if name not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyDeadline:
    """A request's body must arrive within ``seconds`` of its headers; a slower one reads as a client disconnect.

    uvicorn bounds idle connections (keep-alive) but not a body trickling in a byte at a time, which would hold a
    connection and a request slot for as long as the client likes. Past the deadline the app's next read gets
    ``http.disconnect`` (Starlette raises ClientDisconnect: the webhook route answers 408, FastAPI's forms 400).
    """

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with a ``receive`` that gives up at the deadline."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.seconds
        body_done = False

        async def receive_by_deadline() -> Message:
            nonlocal body_done
            if body_done:  # afterwards a read waits for the client to leave, as long as the response takes
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                return {"type": "http.disconnect"}
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, receive_by_deadline, send)
