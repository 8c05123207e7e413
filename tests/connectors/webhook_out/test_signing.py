"""The webhook signature: a known answer that pins the documented scheme, and what ``verify`` accepts and rejects."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from fieldrelay.connectors.webhook_out.signing import sign, signed_content, verify

SECRET = "whsec-test-0f1e2d3c4b5a"
OTHER_SECRET = "whsec-rotated-99aa88bb"
WEBHOOK_ID = "crm:webhook:cus_01J9Z:job.paid:job_42:2026-11-02T15:00:00+00:00"
TIMESTAMP = 1793631600  # 2026-11-02T15:00:00Z
NOW = datetime.fromtimestamp(TIMESTAMP, UTC)
BODY = b'{"event":"job.paid","key":"crm:webhook:cus_01J9Z:job.paid:job_42:2026-11-02T15:00:00+00:00"}'


def test_known_answer_pins_the_documented_scheme() -> None:
    # Computed straight from docs/crm.md: hex HMAC-SHA256, key = the secret's UTF-8 bytes, message "{ts}.{id}.{body}".
    message = f"{TIMESTAMP}.{WEBHOOK_ID}.".encode() + BODY
    expected = "v1=" + hmac.new(SECRET.encode("utf-8"), message, hashlib.sha256).hexdigest()
    assert sign(SECRET, WEBHOOK_ID, TIMESTAMP, BODY) == expected
    assert signed_content(WEBHOOK_ID, TIMESTAMP, BODY) == message


def test_known_answer_literal_digest() -> None:
    # A literal value (worked out once with hmac/hashlib), so the scheme cannot drift along with a shared helper.
    expected = "v1=47cb51a3b1dfcc307eca924dc8be9c349267f5b598385262c3296f48ff8abbaa"
    assert sign("secret", "id-1", 1700000000, b"{}") == expected
    assert verify("secret", "id-1", "1700000000", expected, b"{}", datetime.fromtimestamp(1700000000, UTC))


def test_sign_refuses_an_empty_secret() -> None:
    with pytest.raises(ValueError, match="non-empty secret"):
        sign("", WEBHOOK_ID, TIMESTAMP, BODY)


def test_verify_accepts_a_genuine_request() -> None:
    signature = sign(SECRET, WEBHOOK_ID, TIMESTAMP, BODY)
    assert verify(SECRET, WEBHOOK_ID, str(TIMESTAMP), signature, BODY, NOW)


def test_verify_rejects_a_tampered_body() -> None:
    signature = sign(SECRET, WEBHOOK_ID, TIMESTAMP, BODY)
    tampered = BODY.replace(b"job.paid", b"job.void", 1)
    assert not verify(SECRET, WEBHOOK_ID, str(TIMESTAMP), signature, tampered, NOW)


def test_verify_rejects_the_wrong_secret() -> None:
    signature = sign(OTHER_SECRET, WEBHOOK_ID, TIMESTAMP, BODY)
    assert not verify(SECRET, WEBHOOK_ID, str(TIMESTAMP), signature, BODY, NOW)


def test_verify_rejects_a_swapped_id_or_timestamp() -> None:
    signature = sign(SECRET, WEBHOOK_ID, TIMESTAMP, BODY)
    assert not verify(SECRET, WEBHOOK_ID + "x", str(TIMESTAMP), signature, BODY, NOW)
    assert not verify(SECRET, WEBHOOK_ID, str(TIMESTAMP + 1), signature, BODY, NOW)


@pytest.mark.parametrize("skew", [timedelta(seconds=301), timedelta(hours=2), timedelta(seconds=-301)])
def test_verify_rejects_a_timestamp_outside_the_tolerance(skew: timedelta) -> None:
    # Too old is a replay; too far in the future would stay fresh for too long. Both are refused.
    signature = sign(SECRET, WEBHOOK_ID, TIMESTAMP, BODY)
    assert not verify(SECRET, WEBHOOK_ID, str(TIMESTAMP), signature, BODY, NOW + skew)


def test_verify_accepts_the_edge_of_the_tolerance_and_a_custom_one() -> None:
    signature = sign(SECRET, WEBHOOK_ID, TIMESTAMP, BODY)
    assert verify(SECRET, WEBHOOK_ID, str(TIMESTAMP), signature, BODY, NOW + timedelta(seconds=300))
    late = NOW + timedelta(minutes=20)
    assert not verify(SECRET, WEBHOOK_ID, str(TIMESTAMP), signature, BODY, late)
    assert verify(SECRET, WEBHOOK_ID, str(TIMESTAMP), signature, BODY, late, tolerance_seconds=1800)


def test_verify_accepts_either_of_two_signatures_during_rotation() -> None:
    both = f"{sign(OTHER_SECRET, WEBHOOK_ID, TIMESTAMP, BODY)} {sign(SECRET, WEBHOOK_ID, TIMESTAMP, BODY)}"
    assert verify(SECRET, WEBHOOK_ID, str(TIMESTAMP), both, BODY, NOW)
    assert verify(OTHER_SECRET, WEBHOOK_ID, str(TIMESTAMP), both, BODY, NOW)
    assert not verify("a-third-secret", WEBHOOK_ID, str(TIMESTAMP), both, BODY, NOW)


def test_verify_skips_unknown_versions() -> None:
    genuine = sign(SECRET, WEBHOOK_ID, TIMESTAMP, BODY)
    digest = genuine.removeprefix("v1=")
    assert not verify(SECRET, WEBHOOK_ID, str(TIMESTAMP), f"v2={digest}", BODY, NOW)
    assert not verify(SECRET, WEBHOOK_ID, str(TIMESTAMP), digest, BODY, NOW)
    assert verify(SECRET, WEBHOOK_ID, str(TIMESTAMP), f"v2=abc {genuine}", BODY, NOW)


@pytest.mark.parametrize(
    ("timestamp_header", "signature_header"),
    [
        (None, "v1=00"),
        ("", "v1=00"),
        ("not-a-number", "v1=00"),
        ("-1793631600", "v1=00"),
        ("١٧٩٣٦٣١٦٠٠", "v1=00"),  # Arabic-Indic digits: isdigit() says yes, int() would even parse them
        (str(TIMESTAMP), None),
        (str(TIMESTAMP), ""),
        (str(TIMESTAMP), "v1=é-not-ascii"),  # compare_digest raises on non-ASCII str; verify must just say no
    ],
)
def test_verify_rejects_malformed_headers(timestamp_header: str | None, signature_header: str | None) -> None:
    assert not verify(SECRET, WEBHOOK_ID, timestamp_header, signature_header, BODY, NOW)


def test_verify_with_an_empty_secret_is_false_not_an_error() -> None:
    signature = sign(SECRET, WEBHOOK_ID, TIMESTAMP, BODY)
    assert not verify("", WEBHOOK_ID, str(TIMESTAMP), signature, BODY, NOW)
