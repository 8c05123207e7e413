"""One log format: a real ``fieldrelay serve`` writes its own lines and uvicorn's (start-up, access) in the same JSON,
or all as plain text with --log-format text; an access line never holds a query string or a setup link's secret."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve_and_get(tmp_path: Path, log_format: str, *paths: str) -> list[str]:
    """Start serve, GET each path once it answers, stop it; its stderr lines."""
    port = _free_port()
    args = [
        "serve",
        "--demo",
        "--db",
        f"sqlite:///{tmp_path / 'f.db'}",
        "--port",
        str(port),
        "--log-format",
        log_format,
    ]
    env = {**os.environ, "FIELDRELAY_API_TOKEN": "t", "FIELDRELAY_SESSION_SECRET": "s"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fieldrelay", *args], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"serve did not start: {proc.stderr.read() if proc.stderr else ''}")
                time.sleep(0.2)
        for path in paths:
            httpx.get(f"http://127.0.0.1:{port}{path}", timeout=10)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    return [line for line in err.splitlines() if line.strip()]


def test_serve_writes_its_lines_and_uvicorns_as_json(tmp_path: Path) -> None:
    lines = _serve_and_get(tmp_path, "json", "/readyz?verbose=1", "/setup/abc123secret")

    records = [json.loads(line) for line in lines]  # every line is one JSON object

    loggers = {record.get("logger") for record in records}
    assert {"uvicorn.error", "uvicorn.access"} <= loggers, loggers
    access = [record for record in records if record.get("logger") == "uvicorn.access"]
    assert {(r["method"], r["path"]) for r in access} >= {("GET", "/readyz"), ("GET", "/setup/…")}
    assert all(r["event"] == "http.request" and r["level"] == "info" and "timestamp" in r for r in access)
    assert any(r["path"] == "/readyz" and r["status"] == 200 for r in access)
    assert "abc123secret" not in "\n".join(lines) and "verbose" not in "\n".join(lines)
    assert any(r["event"].startswith("Uvicorn running on") for r in records)


def test_text_format_writes_every_line_as_text(tmp_path: Path) -> None:
    lines = _serve_and_get(tmp_path, "text", "/healthz")
    assert not [line for line in lines if line.lstrip().startswith("{")], lines
    assert any("http.request" in line and "path=/healthz" in line for line in lines), lines
    assert any("Uvicorn running on" in line for line in lines), lines
