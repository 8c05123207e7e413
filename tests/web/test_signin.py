"""Signing in to the office app: anonymous pages go to sign-in while /api stays 401, passwords, throttling, CSRF on
every POST, signing out, a disabled person's session ending at once, and the owner's setup link."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fieldrelay.runtime import Runtime
from fieldrelay.server import build_app
from fieldrelay.service.access import accounts
from fieldrelay.service.access.permissions import Actor
from fieldrelay.storage.access.tables import users
from fieldrelay.web.setup import owner_setup_link
from fieldrelay.web.state import WebState
from tests.service.access.support import PASSWORD, add_person, audit_entries
from tests.service.support import rows
from tests.web.support import csrf_of, sign_in


@pytest.fixture
def client(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The server's app (API and office app), no worker."""
    monkeypatch.setenv("FIELDRELAY_SESSION_SECRET", "test-session-secret")
    with TestClient(build_app(runtime)) as test_client:
        yield test_client


def test_anonymous_pages_go_to_sign_in_and_the_api_stays_401(client: TestClient) -> None:
    for path in ("/", "/people", "/audit", "/my-day/tasks"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/signin")
    assert client.get("/people", follow_redirects=False).headers["location"] == "/signin?next=/people"
    htmx = client.get("/my-day/tasks", headers={"HX-Request": "true"}, follow_redirects=False)
    assert (htmx.status_code, htmx.headers["hx-redirect"]) == (401, "/signin?next=/my-day/tasks")
    assert client.get("/api/tasks").status_code == 401
    assert client.get("/static/htmx.min.js").status_code == 200


def test_sign_in_sets_a_safe_cookie_and_is_audited(runtime: Runtime, client: TestClient) -> None:
    add_person(runtime, "Carla", "office", email="carla@example.com")

    assert sign_in(client, "wrong@example.com") == 401
    assert sign_in(client, "carla@example.com", "not her password") == 401
    token = csrf_of(client.get("/signin").text)
    response = client.post(
        "/signin",
        data={"csrf_token": token, "login": "Carla@Example.com", "password": PASSWORD, "next": "//evil.example/"},
        follow_redirects=False,
    )

    assert (response.status_code, response.headers["location"]) == (303, "/")  # never off-site
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie  # plain http here
    assert client.get("/").status_code == 200
    assert [(e.actor, e.action, e.via) for e in audit_entries(runtime)] == [("Carla", "sign_in", "web")]
    assert rows(runtime, users)[0].last_signed_in_at is not None


def test_the_cookie_is_secure_over_https_or_behind_a_public_https_url(runtime: Runtime, client: TestClient) -> None:
    with TestClient(client.app, base_url="https://testserver") as over_tls:
        assert "secure" in over_tls.get("/signin").headers["set-cookie"].lower()
    assert "secure" not in client.get("/signin").headers["set-cookie"].lower()

    runtime.settings = runtime.settings.model_copy(update={"public_base_url": "https://office.example.com"})

    # Behind a proxy that ends TLS the app sees plain http, but the browser is on https.
    assert "secure" in TestClient(client.app).get("/signin").headers["set-cookie"].lower()


def test_a_post_without_the_csrf_token_is_refused(runtime: Runtime, client: TestClient) -> None:
    add_person(runtime, "Carla", "office")
    no_token = {"login": "carla", "password": PASSWORD}
    assert client.post("/signin", data=no_token, follow_redirects=False).status_code == 403
    assert sign_in(client, "carla") == 303

    assert client.post("/tasks/abc/call", data={"note": "hi"}).status_code == 403
    assert client.post("/tasks/abc/call", data={"note": "hi", "csrf_token": "forged"}).status_code == 403
    assert client.post("/signout", follow_redirects=False).status_code == 403
    assert client.get("/").status_code == 200  # still signed in


def test_too_many_wrong_passwords_wait(runtime: Runtime, client: TestClient) -> None:
    add_person(runtime, "Carla", "office")
    state: WebState = client.app.state.web  # type: ignore[attr-defined]
    for _ in range(state.throttle._limit):
        assert sign_in(client, "carla", "guess guess guess") == 401
    token = csrf_of(client.get("/signin").text)

    response = client.post("/signin", data={"csrf_token": token, "login": "carla", "password": PASSWORD})

    assert response.status_code == 429 and "Wait" in response.text  # even the right password waits


def test_signing_out_ends_the_session(runtime: Runtime, client: TestClient) -> None:
    add_person(runtime, "Carla", "office")
    assert sign_in(client, "carla") == 303
    old_cookie = client.cookies.get("fieldrelay_session")
    token = csrf_of(client.get("/").text)

    assert client.post("/signout", data={"csrf_token": token}, follow_redirects=False).status_code == 303

    client.cookies.set("fieldrelay_session", str(old_cookie))  # a copy of the old cookie is void too
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_disabled_person_s_session_stops_at_once(runtime: Runtime, client: TestClient) -> None:
    carla = add_person(runtime, "Carla", "office")
    assert sign_in(client, "carla") == 303
    with runtime.unit_of_work("default") as ctx:
        accounts.set_active(ctx.store, ctx.now, Actor("Olga", "operations", "web"), carla, False)

    assert client.get("/", follow_redirects=False).status_code == 303
    assert sign_in(client, "carla") == 401


def test_the_owner_setup_link_creates_the_owner_once(runtime: Runtime, client: TestClient) -> None:
    link = owner_setup_link(client.app, "http://testserver")  # type: ignore[arg-type]
    assert link is not None
    path = link.removeprefix("http://testserver")
    assert client.get(path.replace("token=", "token=x")).status_code == 410
    form = {"token": path.split("token=")[1], "name": "Olga", "email": "", "password": PASSWORD, "confirm": PASSWORD}

    response = client.post("/setup/owner", data={**form, "csrf_token": csrf_of(client.get(path).text)})

    assert response.status_code == 200 and "My day" in response.text  # signed in
    (owner,) = rows(runtime, users)
    assert (owner.name, owner.role, owner.login) == ("Olga", "owner", "olga")
    assert owner_setup_link(client.app, "http://testserver") is None  # type: ignore[arg-type]
    assert client.get(path).status_code == 410


def test_a_one_time_link_sets_a_password(runtime: Runtime, client: TestClient) -> None:
    dan = add_person(runtime, "Dan", "dispatcher", password=None)
    with runtime.unit_of_work("default") as ctx:
        secret = accounts.setup_link_secret(ctx.store, ctx.now, Actor("Olga", "operations", "web"), dan)
    page = client.get(f"/setup/{secret}")
    assert page.status_code == 200 and "Dan" in page.text
    data = {"csrf_token": csrf_of(page.text), "password": "dan's new password", "confirm": "dan's new password"}

    assert client.post(f"/setup/{secret}", data=data).status_code == 200  # on to My day, signed in
    assert client.get(f"/setup/{secret}").status_code == 410
    assert sign_in(TestClient(client.app), "dan", "dan's new password") == 303
