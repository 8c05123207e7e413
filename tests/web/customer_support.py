"""What the customer and duplicates tests share: a customer with a queued look-alike, an htmx POST as a person."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from fieldrelay.domain import events as ev
from fieldrelay.runtime import Runtime
from fieldrelay.storage.tables import merge_candidates
from tests.service.support import PAT_E164, apply, at, job_event, pat, rows
from tests.web.support import csrf_of, sign_in


def queued_pair(runtime: Runtime) -> Any:
    """Pat Doe with a booked job, and a web-form lead with only her phone and surname: a pair for a person to review
    (the newer record, the lead, would fold into Pat's)."""
    apply(runtime, job_event(ev.JobBooked, at(-600), customer=pat()))
    lead = ev.CustomerSnapshot(external_id="sub_1", first_name=None, last_name="Doe", phones=(PAT_E164,))
    apply(
        runtime,
        ev.LeadReceived(source="forms", occurred_at=at(-5), customer=lead, lead_ref="sub_1", channel="web_form"),
    )
    (pair,) = rows(runtime, merge_candidates)
    return pair


def as_person(client: TestClient, name: str, page: str = "/customers") -> str:
    """Sign ``name`` in; the CSRF token of ``page``."""
    assert sign_in(client, name) == 303
    return csrf_of(client.get(page).text)


def post(client: TestClient, path: str, token: str, htmx: bool = True, **data: str) -> tuple[int, str]:
    """A POST with the CSRF token (as htmx sends it, or in the form); its status and body."""
    headers = {"HX-Request": "true", "X-CSRF-Token": token} if htmx else {}
    form = data if htmx else {**data, "csrf_token": token}
    response = client.post(path, data=form, headers=headers, follow_redirects=False)
    return response.status_code, response.text
