"""What the browser tests share: signing in through the form."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.service.access.support import PASSWORD


def sign_in(page: Page, base: str, login: str, password: str = PASSWORD) -> None:
    """Open the app, land on the sign-in page, sign in, and arrive at My day."""
    page.goto(base + "/")
    expect(page).to_have_url(f"{base}/signin")
    page.get_by_label("Email or name").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/")
