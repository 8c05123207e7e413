"""A stand-in for Twilio's Messages API, run as its own process by the crash test: records texts, stalls the first.

``python fake_twilio.py RECORD PORT_FILE ACCOUNT_SID AUTH_TOKEN FIRST_DELAY_SECONDS``

- ``POST /2010-04-01/Accounts/{sid}/Messages.json`` (form ``To``, ``Body``, ``From`` or ``MessagingServiceSid``)
  creates a queued Message, appends it as one JSON line to RECORD, then answers 201 with it; the first create only
  answers after FIRST_DELAY_SECONDS, so a worker can be killed while Twilio already holds the text.
- ``GET /2010-04-01/Accounts/{sid}/Messages.json?To=…&PageSize=…`` lists that recipient's messages newest first,
  in the list shape of https://www.twilio.com/docs/messaging/api/message-resource (one page, no next page).
- Requests without HTTP basic auth ACCOUNT_SID:AUTH_TOKEN get Twilio's 401 (error 20003).

It listens on a free port of 127.0.0.1 and writes that port to PORT_FILE once it accepts connections.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit


class FakeTwilio(ThreadingHTTPServer):
    """The server and what it has been sent."""

    daemon_threads = True

    def __init__(self, record: Path, account_sid: str, auth_token: str, first_delay: float) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.record = record
        self.account_sid = account_sid
        self.expected_auth = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self.first_delay = first_delay
        self.messages: list[dict[str, Any]] = []
        self.creates = 0
        self.lock = threading.Lock()

    @property
    def messages_path(self) -> str:
        return f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    def create(self, form: dict[str, list[str]]) -> tuple[dict[str, Any], int]:
        """Record a new queued message; return it and how many creates came before it."""
        now = format_datetime(datetime.now(UTC))
        sid = "SM" + uuid.uuid4().hex
        message = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": _one(form, "Body"),
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": _one(form, "From"),
            "messaging_service_sid": _one(form, "MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": None,
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": f"{self.messages_path[:-5]}/{sid}/Media.json"},
            "to": _one(form, "To"),
            "uri": f"{self.messages_path[:-5]}/{sid}.json",
        }
        with self.lock:
            before = self.creates
            self.creates += 1
            self.messages.append(message)
            with self.record.open("a", encoding="utf-8") as out:
                out.write(json.dumps(message) + "\n")
                out.flush()
                os.fsync(out.fileno())
        return message, before

    def page(self, to: str | None, size: int) -> dict[str, Any]:
        """One page of the recipient's messages, newest first, in Twilio's list shape."""
        with self.lock:
            found = [m for m in reversed(self.messages) if to is None or m["to"] == to][:size]
        uri = f"{self.messages_path}?PageSize={size}&Page=0"
        return {
            "end": max(len(found) - 1, 0),
            "first_page_uri": uri,
            "next_page_uri": None,
            "page": 0,
            "page_size": size,
            "previous_page_uri": None,
            "start": 0,
            "uri": uri,
            "messages": found,
        }


class Handler(BaseHTTPRequestHandler):
    """One request to the stand-in."""

    server: FakeTwilio
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        if not self._allowed():
            return
        message, before = self.server.create(parse_qs(raw, keep_blank_values=True))
        if before == 0:
            time.sleep(self.server.first_delay)  # the worker is meant to be killed while waiting here
        self._answer(201, message)

    def do_GET(self) -> None:
        if not self._allowed():
            return
        query = parse_qs(urlsplit(self.path).query)
        size = int(_one(query, "PageSize") or 50)
        self._answer(200, self.server.page(_one(query, "To"), size))

    def _allowed(self) -> bool:
        if urlsplit(self.path).path != self.server.messages_path:
            self._answer(404, {"code": 20404, "message": "The requested resource was not found", "status": 404})
            return False
        if self.headers.get("Authorization") != self.server.expected_auth:
            self._answer(401, {"code": 20003, "message": "Authentication Error", "status": 401})
            return False
        return True

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller was killed while we stalled: nobody is left to answer


def _one(values: dict[str, list[str]], name: str) -> str | None:
    found = values.get(name)
    return found[0] if found else None


def main(argv: list[str]) -> None:
    record, port_file, account_sid, auth_token, first_delay = argv
    server = FakeTwilio(Path(record), account_sid, auth_token, float(first_delay))
    ready = Path(port_file)
    partial = ready.with_suffix(".partial")
    partial.write_text(str(server.server_address[1]), encoding="utf-8")
    partial.replace(ready)  # the test never reads a half-written port
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
