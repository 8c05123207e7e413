"""The bounds ``fieldrelay serve`` runs uvicorn with (server.py): a header deadline, no server banner."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from fieldrelay.rules.limits import ServerLimits
from fieldrelay.server import uvicorn_options


async def _hello(_request: object) -> PlainTextResponse:
    return PlainTextResponse("hello")


@pytest.fixture
def port() -> Iterator[int]:
    """A real uvicorn on loopback with serve's options (header deadline 0.3 s, keep-alive 5 s)."""
    app = Starlette(routes=[Route("/", _hello)])
    limits = ServerLimits(header_timeout_seconds=0.3, keep_alive_seconds=5)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", **uvicorn_options(limits))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield server.servers[0].sockets[0].getsockname()[1]
    server.should_exit = True
    thread.join(timeout=10)


def _closed_within(conn: socket.socket, seconds: float) -> bool:
    """True when the server closes ``conn`` (recv gives b"") before ``seconds`` pass."""
    conn.settimeout(seconds)
    try:
        while True:
            if conn.recv(4096) == b"":
                return True
    except TimeoutError:
        return False


def test_a_connection_that_never_finishes_its_headers_is_closed(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and then nothing, as a slowloris client does
        assert _closed_within(conn, 10)


def test_a_silent_connection_is_closed(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as conn:
        assert _closed_within(conn, 10)


def test_a_prompt_request_is_answered_without_a_server_banner(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        conn.settimeout(10)
        answer = b""
        while b"hello" not in answer:
            chunk = conn.recv(4096)
            assert chunk, f"closed before the answer: {answer!r}"
            answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 200")
    assert b"\r\nserver:" not in head
