"""Browser tests: the real app served by uvicorn on 127.0.0.1 (a free port, a thread) on SQLite and on PostgreSQL,
driven through Debian's Chromium by Playwright for Python. Playwright never downloads a browser here: ``chromium``
must be on the PATH (`make` and `.ci/run` install it with apt). Locally the tests skip without it; in CI they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Playwright, ViewportSize, sync_playwright

from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from fieldrelay.server import build_app
from tests.service.tasks.support import tasks_settings

ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artefacts" / "screens"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}


def chromium_path() -> str:
    """Debian's chromium on the PATH; skip without it locally, fail in CI."""
    found = shutil.which("chromium")
    if found:
        return found
    message = "chromium is not on the PATH: apt-get install -y chromium (make and .ci/run do)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """Playwright's driver for the session."""
    chromium_path()
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """One headless Chromium for the session (no sandbox when running as root, which Chromium refuses otherwise)."""
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    launched = playwright.chromium.launch(executable_path=chromium_path(), args=args, headless=True)
    try:
        yield launched
    finally:
        launched.close()


@pytest.fixture
def settings() -> Settings:
    """The task test shop: Carla (office), Dan (dispatcher), Sam (sales), Olga (operations)."""
    return tasks_settings()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The whole app (API and office app, no worker) served by uvicorn in a thread; yields its base URL."""
    monkeypatch.setenv("FIELDRELAY_SESSION_SECRET", "browser-test-secret")
    port = _free_port()
    config = uvicorn.Config(build_app(runtime), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, name="uvicorn-browser-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        running.should_exit = True
        thread.join(timeout=20)


@dataclass
class Screens:
    """Saves screenshots of a page at desktop and phone width under test-artefacts/screens (git-ignored)."""

    db: str

    def save(self, page: Page, name: str) -> None:
        """``<name>-desktop.png`` and ``<name>-phone.png`` of the whole page (the SQLite run's; PostgreSQL adds -pg)."""
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        suffix = "" if self.db == "sqlite" else f"-{self.db}"
        for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(size)
            page.screenshot(path=str(ARTEFACTS / f"{name}-{label}{suffix}.png"), full_page=True)
        page.set_viewport_size(DESKTOP)


@pytest.fixture
def screens(request: pytest.FixtureRequest) -> Screens:
    """Screenshots named after the database the test runs on."""
    db = "postgres" if "postgres" in request.node.callspec.id else "sqlite"
    return Screens(db)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page at desktop size."""
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()
