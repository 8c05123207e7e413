"""How many worker threads `serve` runs: one on SQLite, four on PostgreSQL, or what the configuration says."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

from fastapi.testclient import TestClient
from sqlalchemy import select

from fieldrelay.api.app import create_app, worker_threads
from fieldrelay.runtime import Runtime
from fieldrelay.storage.tables import inbox
from tests.conftest import START
from tests.helpers import job_envelope, signed


def test_default_is_one_on_sqlite_and_four_on_postgresql(runtime: Runtime) -> None:
    expected = 1 if runtime.engine.dialect.name == "sqlite" else 4
    assert worker_threads(runtime) == expected


def test_the_configured_number_wins(runtime: Runtime) -> None:
    worker = runtime.settings.worker.model_copy(update={"threads": 3})
    configured = replace(runtime, settings=runtime.settings.model_copy(update={"worker": worker}))
    assert worker_threads(configured) == 3


def test_serve_runs_the_configured_worker_threads_and_they_apply_what_arrives(runtime: Runtime) -> None:
    worker = runtime.settings.worker.model_copy(update={"threads": 2})
    configured = replace(runtime, settings=runtime.settings.model_copy(update={"worker": worker}))
    with TestClient(create_app(configured, run_worker=True)) as client:
        names = {t.name for t in threading.enumerate() if t.name.startswith("fieldrelay-worker-")}
        assert names == {"fieldrelay-worker-0", "fieldrelay-worker-1"}
        body, headers = signed(job_envelope("job.completed", "2026-11-02T14:59:00Z"), START)
        assert client.post("/webhooks/housecallpro", content=body, headers=headers).status_code == 202
        deadline = time.monotonic() + 20
        status = None
        while time.monotonic() < deadline:
            with runtime.engine.connect() as conn:
                status = conn.execute(select(inbox.c.status)).scalar_one()
            if status == "done":
                break
            time.sleep(0.05)
        assert status == "done"
    assert not [t for t in threading.enumerate() if t.name.startswith("fieldrelay-worker-") and t.is_alive()]
