"""One-click unsubscribe over HTTP: the link in a marketing email, its confirmation page and the opt-out it records."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from fieldrelay.domain import events as ev
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from fieldrelay.service.outreach.consent import withheld_reason
from fieldrelay.service.outreach.unsubscribe import read_token, unsubscribe_url
from fieldrelay.storage.tables import activities, consents, outbox
from tests.conftest import START
from tests.service.sequences.support import at, job, library_settings, reply, run_until
from tests.service.support import HCP, apply, count, in_store, only_customer, pat, rows, timeline

SECRET = "test-unsubscribe-secret"
BASE = "https://relay.example.com"
PAT = "pat.doe@example.com"  # Pat's email as the mirror keeps it


@pytest.fixture
def settings() -> Settings:
    """The default sequence library, with a public base URL for the links."""
    return library_settings(f"public_base_url: {BASE}/\n")


@pytest.fixture
def client(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """The test client, with the signing secret set."""
    monkeypatch.setenv("FIELDRELAY_UNSUBSCRIBE_SECRET", SECRET)
    return client


def pat_with_link(runtime: Runtime, account_id: str = "default", secret: str = SECRET) -> tuple[str, str]:
    """Pat in the mirror, and the path of an unsubscribe link for her email."""
    apply(runtime, ev.CustomerCreated(source=HCP, occurred_at=START, customer=pat()))
    customer_id = str(only_customer(runtime).id)
    url = unsubscribe_url(runtime.settings, secret, account_id=account_id, customer_id=customer_id, address=PAT)
    assert url is not None
    return customer_id, urlsplit(url).path


def marketing_withheld(runtime: Runtime, customer_id: str, channel: str, address: str) -> str | None:
    """Why a marketing message to Pat would be withheld now, or None."""
    return in_store(
        runtime,
        lambda store: withheld_reason(
            store, runtime.settings, customer_id=customer_id, channel=channel, category="marketing", address=address
        ),
    )


def test_the_link_shows_a_form_and_changes_nothing(client: TestClient, runtime: Runtime) -> None:
    customer_id, path = pat_with_link(runtime)

    page = client.get(path)

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<form method="post">' in page.text and "Unsubscribe</button>" in page.text
    assert "Rapid Rooter Plumbing" in page.text and PAT in page.text
    assert count(runtime, consents) == 0
    assert marketing_withheld(runtime, customer_id, ev.EMAIL, PAT) is None


def test_posting_the_link_opts_the_address_out_once(client: TestClient, runtime: Runtime) -> None:
    customer_id, path = pat_with_link(runtime)

    done = client.post(path)

    assert done.status_code == 200 and "You're unsubscribed" in done.text
    (consent,) = rows(runtime, consents)
    assert (consent.channel, consent.address, consent.opted_out) == ("email", PAT, True)
    assert (consent.source, consent.reason) == ("unsubscribe_link", "unsubscribe link")
    assert marketing_withheld(runtime, customer_id, ev.EMAIL, PAT) is not None
    assert marketing_withheld(runtime, customer_id, ev.SMS, "+15125550142") is not None  # all marketing stops
    (opted_out,) = timeline(runtime, customer_id, "consent.opted_out")
    assert opted_out.source == "unsubscribe_link"

    # A second click, and a mail client's RFC 8058 one-click POST: still fine, nothing more recorded.
    assert client.post(path).status_code == 200
    one_click = client.post(
        path,
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200 and "You're unsubscribed" in one_click.text
    assert [(c.id, c.changed_at) for c in rows(runtime, consents)] == [(consent.id, consent.changed_at)]
    assert count(runtime, activities, activities.c.kind == "consent.opted_out") == 1


def test_a_one_click_post_works_without_the_page(client: TestClient, runtime: Runtime) -> None:
    customer_id, path = pat_with_link(runtime)
    response = client.post(
        path, content="List-Unsubscribe=One-Click", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 200
    assert marketing_withheld(runtime, customer_id, ev.EMAIL, PAT) is not None


@pytest.mark.parametrize("who", ["tampered", "another secret", "another account", "garbage"])
def test_a_link_we_did_not_sign_for_this_shop_is_not_found(client: TestClient, runtime: Runtime, who: str) -> None:
    if who == "another secret":
        _, path = pat_with_link(runtime, secret="not-our-secret")
    elif who == "another account":
        _, path = pat_with_link(runtime, account_id="other-shop")
    elif who == "garbage":
        path = "/unsubscribe/not-a-token"
    else:
        _, good = pat_with_link(runtime)
        payload, _, signature = good.rpartition(".")
        path = f"{payload}x.{signature}"

    assert client.get(path).status_code == 404
    assert client.post(path).status_code == 404
    assert count(runtime, consents) == 0


def test_without_the_secret_no_link_is_honoured(
    client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, path = pat_with_link(runtime)
    monkeypatch.delenv("FIELDRELAY_UNSUBSCRIBE_SECRET")
    assert client.post(path).status_code == 404
    assert count(runtime, consents) == 0


def test_a_marketing_email_from_a_sequence_carries_a_working_link(client: TestClient, runtime: Runtime) -> None:
    # A job completed and rated 5: the plan offer goes out at 48 hours by text and by (marketing) email.
    apply(runtime, job(ev.JobCompleted, START))
    run_until(runtime, at(0.5))
    apply(runtime, reply("5", at(1)), now=at(1))
    run_until(runtime, at(48))

    (offer,) = [r for r in rows(runtime, outbox, outbox.c.kind == "email") if r.payload["category"] == "marketing"]
    url = offer.payload["unsubscribe_url"]
    assert url.startswith(f"{BASE}/unsubscribe/")
    customer_id = str(only_customer(runtime).id)
    link = read_token(SECRET, url.removeprefix(f"{BASE}/unsubscribe/"))
    assert link is not None and (link.account_id, link.customer_id, link.address) == ("default", customer_id, PAT)
    # Visible in the email too, not only in the List-Unsubscribe header.
    assert offer.payload["body"].endswith(f"To stop these emails from Rapid Rooter Plumbing: {url}")

    assert client.post(urlsplit(url).path).status_code == 200
    assert marketing_withheld(runtime, customer_id, ev.EMAIL, PAT) is not None
