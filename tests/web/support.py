"""Helpers for the office app's tests without a browser: the whole server app, the CSRF token of a page, signing in."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.service.access.support import PASSWORD

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: TestClient, login: str, password: str = PASSWORD) -> int:
    """Sign in through the form; the status of the answer (303 on success)."""
    token = csrf_of(client.get("/signin").text)
    data = {"csrf_token": token, "login": login, "password": password, "next": "/"}
    status: int = client.post("/signin", data=data, follow_redirects=False).status_code
    return status
