"""The baseline bench/ingest.py measures fieldrelay's acknowledgements against: a minimal FastAPI + SQLite webhook app.

It does what an acknowledgement minimally needs and nothing else: verify the Housecall Pro HMAC on the raw body,
insert the event (unique per delivery), upsert the customer and queue one outbox row, in one transaction per
request on a WAL database. No worker runs beside it. Run on its own port by the bench, in the same run as fieldrelay,
so the ratio between the two holds on a machine other processes load.

    python bench/baseline.py --db /tmp/base.db --port 8123   (secret in FIELDRELAY_HOUSECALLPRO_SECRET)
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import sqlite3
import threading

import uvicorn
from fastapi import FastAPI, Request, Response

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS customers (id TEXT PRIMARY KEY, first_name TEXT, last_name TEXT, updated TEXT);
CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, event_key TEXT NOT NULL, status TEXT NOT NULL);
"""


def build(db_path: str, secret: str) -> FastAPI:
    """The app: one POST route, a connection per server thread."""
    local = threading.local()

    def conn() -> sqlite3.Connection:
        c: sqlite3.Connection | None = getattr(local, "conn", None)
        if c is None:
            c = sqlite3.connect(db_path, timeout=30, isolation_level=None)
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=NORMAL")
            local.conn = c
        return c

    with sqlite3.connect(db_path) as setup:
        setup.executescript(_SCHEMA)

    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/webhooks/housecallpro")
    async def receive(request: Request) -> Response:
        raw = await request.body()
        stamp = request.headers.get("api-timestamp", "")
        given = request.headers.get("api-signature", "")
        expected = hmac.new(secret.encode(), f"{stamp}.".encode() + raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(given, expected):
            return Response(status_code=401)
        envelope = json.loads(raw)
        customer = (envelope.get("job") or {}).get("customer") or envelope.get("customer") or {}
        key = hashlib.sha256(raw).hexdigest()
        c = conn()
        c.execute("BEGIN IMMEDIATE")
        try:
            c.execute("INSERT OR IGNORE INTO events (key, body) VALUES (?, ?)", (key, raw))
            c.execute(
                "INSERT INTO customers (id, first_name, last_name, updated) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET first_name = excluded.first_name, "
                "last_name = excluded.last_name, updated = excluded.updated",
                (customer.get("id", ""), customer.get("first_name"), customer.get("last_name"), stamp),
            )
            c.execute("INSERT INTO outbox (event_key, status) VALUES (?, 'pending')", (key,))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        return Response(status_code=202)

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = build(args.db, os.environ["FIELDRELAY_HOUSECALLPRO_SECRET"])
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
