"""Webhook fuzz: signed and unsigned hostile requests across all eight connectors against a real ``fieldrelay serve``.

Each connector's real payloads (tests/connectors/*/fixtures) are mutated with lone surrogates, NUL, 10^30,
5,000-digit integers, out-of-range and far-offset dates and deep nesting, then posted correctly signed, unsigned,
wrongly signed or as garbage, with an unknown connector now and then. After the worker has drained the inbox it
prints the status histogram (there must be no 5xx) and the number of inbox rows not in a final state (must be 0).

Usage: .venv/bin/python bench/fuzz_webhooks.py [--requests 20000] [--concurrency 32] [--db URL] [--seed 1]

The service runs with a short retry policy (2 tries, 1-2 s apart) so that deliveries waiting on something that never
comes (a Jobber item fetched from an API that is not there, a receipt for a message never sent) end dead within the
run instead of after the default hour; every other outcome is decided on the first try. Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import yaml
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import create_engine, func, select
from stripe import WebhookSignature
from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]

from fieldrelay.connectors.housecallpro.signature import compute_signature as hcp_signature
from fieldrelay.connectors.jobber.signature import compute_signature as jobber_signature
from fieldrelay.connectors.servicetitan.signature import compute_signature as st_signature
from fieldrelay.storage.tables import inbox

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' hostile values and their JSON writer
from tests.api.support import BIG_INT, DEEP, hostile_json, json_paths

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "connectors"
CONNECTORS = ("housecallpro", "servicetitan", "jobber", "stripe", "twilio", "sendgrid", "postmark", "forms")
FINAL = {"done", "ignored", "error", "dead"}
HOSTILE: list[Any] = [
    "\ud800",
    "a\udfffb",
    "\x00",
    "x\x00y",
    "\x00\ud800",
    "",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "2026-02-30T10:00:00Z",
    "1800-01-01T00:00:00Z",
    10**30,
    -(10**30),
    2**63,
    1e308,
    BIG_INT,
    DEEP,
    None,
    [],
    {},
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _payloads(connector: str) -> list[Any]:
    folder = FIXTURES / connector / "fixtures"
    found = []
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        if connector == "jobber":
            data = data["webhook"]
        if connector == "twilio" and not all(isinstance(v, str) for v in data.values()):
            continue
        found.append(data)
    return found


def mutate(rng: random.Random, base: Any, tag: str) -> Any:
    """A copy of ``base`` with one to three values (or a new key) made hostile, and a unique tag somewhere."""
    value = json.loads(json.dumps(base))
    for _ in range(rng.randint(1, 3)):
        paths = json_paths(value)
        path = rng.choice(paths) if paths else ()
        target = value
        for step in path[:-1]:
            target = target[step]
        if path and rng.random() < 0.8:
            target[path[-1]] = rng.choice(HOSTILE)
        elif isinstance(target, dict):
            target[rng.choice(["\ud800", "k\x00", "\udc80x"])] = rng.choice(HOSTILE)
    if isinstance(value, dict):
        value["fuzz_tag"] = tag  # most vendors' ids repeat across fixtures: keep deliveries distinct
    return value


class Signer:
    """Signs a body as each vendor does, with the secrets the service was started with."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.secrets = {c: secrets.token_hex(16) for c in ("housecallpro", "servicetitan", "jobber", "stripe")}
        self.secrets["stripe"] = "whsec_" + self.secrets["stripe"]
        self.twilio_token = secrets.token_hex(16)
        self.postmark = "fuzz:" + secrets.token_hex(8)
        self.form_token = secrets.token_hex(8)
        self.sendgrid_key = ec.generate_private_key(ec.SECP256R1())

    def environment(self) -> dict[str, str]:
        """The service's secrets."""
        return {
            "FIELDRELAY_HOUSECALLPRO_SECRET": self.secrets["housecallpro"],
            "FIELDRELAY_SERVICETITAN_SECRET": self.secrets["servicetitan"],
            "FIELDRELAY_JOBBER_SECRET": self.secrets["jobber"],
            "FIELDRELAY_JOBBER_ACCESS_TOKEN": "fuzz",
            "FIELDRELAY_STRIPE_SECRET": self.secrets["stripe"],
            "FIELDRELAY_TWILIO_SECRET": self.twilio_token,
            "FIELDRELAY_POSTMARK_SECRET": self.postmark,
            "FIELDRELAY_FORMS_SECRET": f"website={self.form_token}",
            "FIELDRELAY_API_TOKEN": secrets.token_hex(16),
        }

    def public_key(self) -> str:
        """SendGrid's verification key: the base64 DER public key."""
        der = self.sendgrid_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    def sign(self, connector: str, value: Any) -> tuple[bytes, dict[str, str]]:
        """The body and headers of a correctly signed delivery of ``value``."""
        now = str(int(time.time()))
        if connector == "twilio":
            fields = {str(k).encode("utf-8", "replace").decode(): _text(v) for k, v in dict(value).items()}
            url = f"{self.base_url}/webhooks/twilio"
            signature = RequestValidator(self.twilio_token).compute_signature(url, fields)
            headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
            return urlencode(fields).encode(), headers
        body = hostile_json(value)
        json_type = {"Content-Type": "application/json"}
        if connector == "housecallpro":
            signature = hcp_signature(self.secrets[connector], now, body)
            return body, {**json_type, "Api-Timestamp": now, "Api-Signature": signature}
        if connector == "servicetitan":
            return body, {**json_type, "ST-Signature": st_signature(self.secrets[connector], body)}
        if connector == "jobber":
            return body, {**json_type, "X-Jobber-Hmac-SHA256": jobber_signature(self.secrets[connector], body)}
        if connector == "stripe":
            header = WebhookSignature.generate_signature_header(
                body.decode(), self.secrets[connector], timestamp=int(now)
            )
            return body, {**json_type, "Stripe-Signature": header}
        if connector == "sendgrid":
            signature = self.sendgrid_key.sign(now.encode() + body, ec.ECDSA(hashes.SHA256()))
            return body, {
                **json_type,
                "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
                "X-Twilio-Email-Event-Webhook-Timestamp": now,
            }
        if connector == "postmark":
            return body, {**json_type, "Authorization": "Basic " + base64.b64encode(self.postmark.encode()).decode()}
        if isinstance(value, dict):
            value = {**value, "form": "website"}
        return hostile_json(value), {**json_type, "Authorization": f"Bearer {self.form_token}"}


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text.replace(BIG_INT, "9" * 5000).encode("utf-8", "replace").decode()


Plan = tuple[str, Any, float, str]  # connector, payload, what to do with it (0..1), garbage path


def build_requests(rng: random.Random, count: int) -> list[Plan]:
    """What to send: about 60 % signed hostile payloads, the rest unsigned, forged, garbage or to no connector."""
    payloads = {c: _payloads(c) for c in CONNECTORS}
    plans = []
    for n in range(count):
        connector = rng.choice(CONNECTORS)
        value = mutate(rng, rng.choice(payloads[connector]), f"fuzz-{n}")
        plans.append((connector, value, rng.random(), rng.choice(["nope", "%00", "x" * 300, "housecallpro/x"])))
    return plans


def realise(signer: Signer, rng: random.Random, plan: Plan) -> tuple[str, bytes, dict[str, str], bool]:
    """The request of a plan, signed now (vendors' signatures carry a time): path, body, headers, signed."""
    connector, value, kind, garbage_path = plan
    body, headers = signer.sign(connector, value)
    path, signed = f"/webhooks/{connector}", True
    if kind < 0.15:
        headers = {"Content-Type": headers.get("Content-Type", "application/json")}  # unsigned
        signed = False
    elif kind < 0.3:
        # The signature no longer matches, except where the credential does not cover the body (Basic, bearer).
        body, signed = body + b" ", connector in ("postmark", "forms")
    elif kind < 0.35:
        body, signed = bytes(rng.randrange(256) for _ in range(rng.randint(0, 64))), False
    elif kind < 0.38:
        path, signed = f"/webhooks/{garbage_path}", False
    return path, body, headers, signed


def start_server(workdir: Path, db_url: str, signer: Signer, port: int) -> subprocess.Popen[bytes]:
    """``fieldrelay serve`` on the packaged demo shop with every connector configured."""
    config = yaml.safe_load((ROOT / "fieldrelay.yaml").read_text())
    connectors = config.setdefault("connectors", {})
    connectors.setdefault("sendgrid", {})["verification_key"] = signer.public_key()
    connectors.setdefault("forms", {}).update({"rate_limit_per_minute": 10**6})
    connectors.setdefault("jobber", {})["graphql_url"] = f"http://127.0.0.1:{_free_port()}/graphql"  # nobody there
    config["retry"] = {"max_attempts": 2, "base_seconds": 1, "max_seconds": 2}
    config["public_base_url"] = signer.base_url
    path = workdir / "fuzz.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    cmd = [sys.executable, "-m", "fieldrelay", "serve", "--demo", "--config", str(path), "--db", db_url]
    cmd += ["--port", str(port), "--log-level", "WARNING"]
    log = (workdir / "server.log").open("wb")
    return subprocess.Popen(cmd, cwd=workdir, env={**os.environ, **signer.environment()}, stdout=log, stderr=log)


async def fire(
    signer: Signer, rng: random.Random, plans: list[Plan], concurrency: int
) -> collections.Counter[tuple[str, int | str]]:
    """Post every planned request, ``concurrency`` at a time; a histogram of (signed or unsigned, status)."""
    histogram: collections.Counter[tuple[str, int | str]] = collections.Counter()
    queue: asyncio.Queue[Plan] = asyncio.Queue()
    for plan in plans:
        queue.put_nowait(plan)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=signer.base_url, timeout=60.0, limits=limits) as client:

        async def post() -> None:
            while not queue.empty():
                path, body, headers, signed = realise(signer, rng, queue.get_nowait())
                label = "signed" if signed else "unsigned"
                try:
                    response = await client.post(path, content=body, headers=headers)
                    histogram[(label, response.status_code)] += 1
                except httpx.HTTPError as exc:
                    histogram[(label, type(exc).__name__)] += 1

        await asyncio.gather(*(post() for _ in range(concurrency)))
    return histogram


def main() -> None:
    """Run the fuzz and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drain-timeout", type=float, default=900.0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="fieldrelay-fuzz-") as tmp:
        workdir = Path(tmp)
        db_url = args.db or f"sqlite:///{workdir / 'fuzz.db'}"
        port = _free_port()
        signer = Signer(f"http://127.0.0.1:{port}")
        plans = build_requests(rng, args.requests)
        proc = start_server(workdir, db_url, signer, port)
        try:
            _wait_healthy(signer.base_url, proc, workdir)
            started = time.monotonic()
            histogram = asyncio.run(fire(signer, rng, plans, args.concurrency))
            fired = time.monotonic() - started
            drained, left = _drain(db_url, args.drain_timeout)
            _report(args, histogram, fired, drained, left, db_url, workdir)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_healthy(base_url: str, proc: subprocess.Popen[bytes], workdir: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"serve exited:\n{(workdir / 'server.log').read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("serve did not answer /healthz in 60 s")


def _drain(db_url: str, timeout: float) -> tuple[float, int]:
    """Wait until no inbox row is pending or in flight; the seconds it took and how many were left."""
    engine = create_engine(db_url)
    started = time.monotonic()
    left = -1
    try:
        while time.monotonic() - started < timeout:
            with engine.connect() as conn:
                left = conn.execute(
                    select(func.count()).select_from(inbox).where(inbox.c.status.not_in(FINAL))
                ).scalar_one()
            if left == 0:
                break
            time.sleep(1.0)
    finally:
        engine.dispose()
    return time.monotonic() - started, left


def _report(
    args: argparse.Namespace,
    histogram: collections.Counter[tuple[str, int | str]],
    fired: float,
    drained: float,
    left: int,
    db_url: str,
    workdir: Path,
) -> None:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        by_status = conn.execute(
            select(inbox.c.connector, inbox.c.status, func.count()).group_by(inbox.c.connector, inbox.c.status)
        ).all()
    engine.dispose()
    total = sum(histogram.values())
    print(
        f"requests: {total} in {fired:.1f} s ({total / fired:.0f}/s), concurrency {args.concurrency}, seed {args.seed}"
    )
    print("status histogram (signed / unsigned):")
    for (label, status), n in sorted(histogram.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        print(f"  {label:8} {status!s:>16}  {n}")
    server_errors = sum(n for (_label, status), n in histogram.items() if isinstance(status, int) and status >= 500)
    print(f"5xx answers: {server_errors}")
    print("inbox rows by connector and status:")
    for connector, status, n in sorted(by_status):
        print(f"  {connector:14} {status:10} {n}")
    print(f"drained in {drained:.1f} s; rows not in a final state: {left}")
    log = (workdir / "server.log").read_text(errors="replace")
    print(f"server log: {len(log.splitlines())} lines, {len(log.encode())} bytes; tracebacks: {log.count('Traceback')}")


if __name__ == "__main__":
    main()
