"""Permissions in Chromium: the menu shows only what a role may use, a CSR cannot reach or do an owner-only action,
anonymous pages go to sign-in while /api answers 401, a POST without the CSRF token is refused, and disabling a person
(from the People page) ends their session and their API token at once. The first owner signs up from the setup link."""

from __future__ import annotations

import pytest
from itsdangerous import URLSafeTimedSerializer
from playwright.sync_api import Browser, Page, expect

from fieldrelay.runtime import Runtime
from fieldrelay.storage.access.tables import users
from tests.browser.conftest import DESKTOP, Screens
from tests.browser.support import sign_in
from tests.service.access.support import PASSWORD, add_person, audit_entries
from tests.service.support import rows

pytestmark = pytest.mark.slow


def test_anonymous_pages_go_to_sign_in_and_the_api_answers_401(server: str, page: Page) -> None:
    page.goto(server + "/people")
    expect(page).to_have_url(f"{server}/signin?next=/people")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")

    assert page.request.get(server + "/api/tasks").status == 401


def test_a_csr_cannot_reach_or_do_what_only_the_owner_and_operations_may(
    runtime: Runtime, server: str, page: Page, screens: Screens
) -> None:
    add_person(runtime, "Carla", "office")
    sign_in(page, server, "Carla")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="People")).to_have_count(0)

    response = page.goto(server + "/people")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not for your role")
    screens.save(page, "forbidden")
    assert page.goto(server + "/audit").status == 403  # type: ignore[union-attr]

    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")
    form: dict[str, str | float | bool] = {"csrf_token": str(csrf), "name": "Mallory", "role": "owner"}
    assert page.request.post(server + "/people", form=form).status == 403
    assert [row.name for row in rows(runtime, users)] == ["Carla"]


def test_a_post_without_the_csrf_token_is_refused(runtime: Runtime, server: str, page: Page) -> None:
    add_person(runtime, "Olga", "operations")
    sign_in(page, server, "Olga")

    refused = page.request.post(server + "/people", form={"name": "Mallory", "role": "owner"})

    assert refused.status == 403 and "reload the page" in refused.text()
    assert [row.name for row in rows(runtime, users)] == ["Olga"]


def test_disabling_a_person_ends_their_session_and_tokens_at_once(
    runtime: Runtime, server: str, browser: Browser, screens: Screens
) -> None:
    carla_user = add_person(runtime, "Carla", "office")
    add_person(runtime, "Olga", "operations")
    carla = browser.new_context(viewport=DESKTOP).new_page()
    sign_in(carla, server, "Carla")
    carla.get_by_role("link", name="Carla").click()  # her own page: make a token
    carla.get_by_label("Label").fill("Spreadsheet")
    carla.get_by_role("button", name="Make a token").click()
    token = carla.locator("#new-token").inner_text()
    auth = {"Authorization": f"Bearer {token}"}
    assert carla.request.get(server + "/api/tasks", headers=auth).status == 200

    olga = browser.new_context(viewport=DESKTOP).new_page()
    sign_in(olga, server, "Olga")
    olga.get_by_role("navigation", name="Main").get_by_role("link", name="People").click()
    screens.save(olga, "people")
    olga.get_by_role("link", name="Carla").click()
    screens.save(olga, "person")
    olga.get_by_role("button", name="Disable sign-in").click()
    expect(olga.get_by_role("status")).to_contain_text("Disabled")

    carla.goto(server + "/")
    expect(carla).to_have_url(f"{server}/signin")
    assert carla.request.get(server + "/api/tasks", headers=auth).status == 401
    (entry,) = audit_entries(runtime, "user.disable")
    assert (entry.actor, entry.subject_id, entry.after) == ("Olga", carla_user.id, {"active": False})

    olga.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    expect(olga.locator("table.list")).to_contain_text("user disable")
    screens.save(olga, "audit")


def test_the_first_owner_signs_up_from_the_setup_link(
    runtime: Runtime, server: str, page: Page, screens: Screens
) -> None:
    page.goto(_owner_link(server))
    screens.save(page, "setup-owner")
    page.get_by_label("Your name").fill("Olga")
    page.get_by_label("Password", exact=False).first.fill(PASSWORD)
    page.get_by_label("The same password again").fill(PASSWORD)
    page.get_by_role("button", name="Create and sign in").click()

    expect(page).to_have_url(f"{server}/")
    expect(page.locator(".me")).to_contain_text("Olga")
    (owner,) = rows(runtime, users)
    assert (owner.name, owner.role) == ("Olga", "owner")


def _owner_link(server: str) -> str:
    """The owner's setup link, signed with the server's secret (as ``serve`` prints it)."""
    token = URLSafeTimedSerializer("browser-test-secret", salt="fieldrelay.owner-setup").dumps("owner")
    return f"{server}/setup/owner?token={token}"


def test_a_person_added_on_the_people_page_sets_a_password_from_the_link(
    runtime: Runtime, server: str, browser: Browser, screens: Screens
) -> None:
    add_person(runtime, "Olga", "operations")
    olga = browser.new_context(viewport=DESKTOP).new_page()
    sign_in(olga, server, "Olga")
    olga.goto(server + "/people")
    olga.get_by_label("Name").fill("Dan")
    olga.get_by_label("Role").select_option("dispatcher")
    olga.get_by_role("button", name="Add").click()
    link = olga.locator("#setup-link").inner_text()
    assert link.startswith(f"{server}/setup/")

    dan = browser.new_context(viewport=DESKTOP).new_page()
    dan.goto(link)
    screens.save(dan, "setup-password")
    dan.get_by_label("Password", exact=False).first.fill("dan's own password")
    dan.get_by_label("The same password again").fill("dan's own password")
    dan.get_by_role("button", name="Save and sign in").click()

    expect(dan).to_have_url(f"{server}/")
    expect(dan.locator(".me")).to_contain_text("Dispatcher")
    assert [entry.actor for entry in audit_entries(runtime, "user.add")] == ["Olga"]
    dan.goto(link)
    expect(dan.get_by_role("heading", level=1)).to_have_text("Link expired")
