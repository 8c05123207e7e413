"""Salesforce's refusals as CrmWriteFailed: which are worth another try, which say Salesforce is down.

Vendor-published (verified), https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm:
300 answers an external-id upsert whose value several records share (the body lists the matching records) and
nothing is written (also https://developer.salesforce.com/docs/platform/api-rest/guide/dome-upsert.html); 401 is an
expired or invalid session or OAuth token, with ``message`` and ``errorCode`` in the body; 403 with
``REQUEST_LIMIT_EXCEEDED`` is the org's API request limit spent (any other 403: permissions); 5xx is Salesforce's
side. Error bodies are a JSON list ``[{"message", "errorCode", "fields"}]`` (the composite subresult example in
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/responses_composite.htm shows one).
Unverified: that a spent limit frees calls gradually (Salesforce counts a rolling 24 hours).

Our choices: a spent daily allowance waits an hour (Salesforce does not say when the rolling window frees calls) and
counts as an outage, so the breaker stops every write rather than each failing alone; ``UNABLE_TO_LOCK_ROW`` (another
transaction holds the record) is worth another try; other 4xx are this record's problem and need a person.
"""

from __future__ import annotations

from typing import Any

from fieldrelay.service.crm.targets import CrmWriteFailed

MAX_DETAIL = 300
REQUEST_LIMIT_WAIT_SECONDS = 3600.0
INVALID_SESSION = "INVALID_SESSION_ID"
REQUEST_LIMIT = "REQUEST_LIMIT_EXCEEDED"
PROCESSING_HALTED = "PROCESSING_HALTED"  # the other subrequests of a rolled-back allOrNone composite
_TRANSIENT_CODES = frozenset({"UNABLE_TO_LOCK_ROW"})


def short(text: str) -> str:
    """A failure detail cut to the length the delivery attempt keeps."""
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


def first_error(body: Any) -> tuple[str | None, str | None]:
    """The errorCode and message of the first error in a Salesforce error body, or (None, None)."""
    entry = body[0] if isinstance(body, list) and body else body
    if not isinstance(entry, dict):
        return None, None
    code = entry.get("errorCode")
    message = entry.get("message")
    return (str(code) if code else None), (str(message) if message else None)


def failure(status: int, body: Any, what: str, fallback_text: str = "") -> CrmWriteFailed:
    """The CrmWriteFailed for a non-success answer ``status`` with JSON ``body`` to the call described by ``what``."""
    if status == 300:
        matches = len(body) if isinstance(body, list) else "several"
        return CrmWriteFailed(
            short(
                f"Salesforce 300 on {what}: {matches} Contacts share this external id; "
                "a person must merge them in Salesforce before this change can be written"
            ),
            retryable=False,
            status_code=300,
        )
    code, message = first_error(body)
    said = f"{code}: {message}" if code else (message or fallback_text or "no error body")
    detail = short(f"Salesforce {status} on {what}: {said}")
    if status == 403 and code == REQUEST_LIMIT:
        return CrmWriteFailed(
            detail,
            retryable=True,
            status_code=status,
            error_code=code,
            retry_after_seconds=REQUEST_LIMIT_WAIT_SECONDS,
            target_down=True,
        )
    if status >= 500 or status in (408, 429):
        return CrmWriteFailed(detail, retryable=True, status_code=status, error_code=code, target_down=True)
    if code in _TRANSIENT_CODES:
        return CrmWriteFailed(detail, retryable=True, status_code=status, error_code=code)
    # 400 (bad field, validation rule, duplicate rule), 401 after a fresh token, 403 permissions, 404 no such field.
    return CrmWriteFailed(detail, retryable=False, status_code=status, error_code=code)
