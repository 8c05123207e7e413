"""Salesforce outbound failures: which refusals are retried, which count as an outage (httpx.MockTransport)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fieldrelay.service.crm.targets import CrmWriteFailed
from tests.connectors.salesforce.support import API, answer, change, error, target


def _halted(reference: str) -> dict[str, Any]:
    """A subresult rolled back because another subrequest failed."""
    return {
        "body": [{"errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled back"}],
        "httpHeaders": {},
        "httpStatusCode": 400,
        "referenceId": reference,
    }


def test_300_multiple_matches_is_not_retried_and_asks_for_a_merge() -> None:
    urls = [f"{API}/sobjects/Contact/003A", f"{API}/sobjects/Contact/003B"]
    sf, _vendor = target(answer(300, urls))

    with pytest.raises(CrmWriteFailed) as caught:
        sf.write(change())

    failed = caught.value
    assert failed.retryable is False
    assert failed.status_code == 300
    assert failed.target_down is False
    assert "merge" in str(failed) and "2 Contacts" in str(failed)


def test_request_limit_exceeded_waits_an_hour_and_counts_as_an_outage() -> None:
    sf, _vendor = target(error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."))

    with pytest.raises(CrmWriteFailed) as caught:
        sf.write(change())

    failed = caught.value
    assert failed.retryable is True
    assert failed.target_down is True
    assert failed.retry_after_seconds == 3600
    assert failed.error_code == "REQUEST_LIMIT_EXCEEDED"


def test_another_403_is_a_permission_problem_for_a_person() -> None:
    sf, _vendor = target(error(403, "INSUFFICIENT_ACCESS", "insufficient access rights on object id"))

    with pytest.raises(CrmWriteFailed) as caught:
        sf.write(change())

    assert caught.value.retryable is False
    assert caught.value.target_down is False


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried_and_count_as_an_outage(status: int) -> None:
    sf, _vendor = target(answer(status))

    with pytest.raises(CrmWriteFailed) as caught:
        sf.write(change(note=True))

    assert caught.value.retryable is True
    assert caught.value.target_down is True
    assert caught.value.status_code == status


@pytest.mark.parametrize("exc", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")])
def test_network_trouble_is_retried_and_counts_as_an_outage(exc: Exception) -> None:
    def raising(_request: httpx.Request) -> httpx.Response:
        raise exc

    sf, _vendor = target(raising)

    with pytest.raises(CrmWriteFailed) as caught:
        sf.write(change())

    assert caught.value.retryable is True
    assert caught.value.target_down is True
    assert type(exc).__name__ in str(caught.value)


def test_a_400_is_not_retried_and_carries_the_error_code() -> None:
    message = "Email: invalid email address: " + "x" * 400
    sf, _vendor = target(error(400, "INVALID_EMAIL_ADDRESS", message, ["Email"]))

    with pytest.raises(CrmWriteFailed) as caught:
        sf.write(change())

    failed = caught.value
    assert failed.retryable is False
    assert failed.target_down is False
    assert failed.status_code == 400
    assert failed.error_code == "INVALID_EMAIL_ADDRESS"
    assert "INVALID_EMAIL_ADDRESS: Email: invalid email address" in str(failed)
    assert len(str(failed)) <= 300


def test_a_locked_row_is_worth_another_try() -> None:
    sf, _vendor = target(error(400, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"))

    with pytest.raises(CrmWriteFailed) as caught:
        sf.write(change())

    assert caught.value.retryable is True
    assert caught.value.target_down is False


def test_a_failed_composite_subrequest_fails_the_write_with_its_own_error() -> None:
    bad_task = {
        "body": [{"message": "Subject: bad value", "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "fields": []}],
        "httpHeaders": {},
        "httpStatusCode": 400,
        "referenceId": "task",
    }
    results = [_halted("contact"), _halted("contactId"), bad_task]
    sf, _vendor = target(answer(200, {"compositeResponse": results}))

    with pytest.raises(CrmWriteFailed) as caught:
        sf.write(change(note=True))

    failed = caught.value
    assert failed.retryable is False
    assert failed.error_code == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert "composite task" in str(failed)


def test_a_composite_upsert_matching_several_contacts_is_a_300_failure() -> None:
    several = {"body": [f"{API}/sobjects/Contact/003A", f"{API}/sobjects/Contact/003B"]}
    results = [{**several, "httpHeaders": {}, "httpStatusCode": 300, "referenceId": "contact"}]
    results += [_halted("contactId"), _halted("task")]
    sf, _vendor = target(answer(200, {"compositeResponse": results}))

    with pytest.raises(CrmWriteFailed) as caught:
        sf.write(change(note=True))

    assert caught.value.status_code == 300
    assert caught.value.retryable is False


def test_a_composite_answer_without_results_is_retried() -> None:
    sf, _vendor = target(answer(200, {"unexpected": True}))

    with pytest.raises(CrmWriteFailed) as caught:
        sf.write(change(note=True))

    assert caught.value.retryable is True
