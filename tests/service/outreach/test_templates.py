"""Template values and the check that every configured template renders."""

from __future__ import annotations

from fieldrelay.rules.config import Settings
from fieldrelay.rules.loader import parse_settings
from fieldrelay.service.outreach import templates
from fieldrelay.service.records import CustomerRecord, JobRecord
from tests.conftest import START

PAT = CustomerRecord("c1", "Pat", None, None, None, None, None, "Yelp", False, None)


def test_the_values_fieldrelay_check_renders_with_are_the_values_templates_get() -> None:
    settings = Settings.model_validate({"business": {"name": "Rapid Rooter Plumbing"}})
    job = JobRecord("j1", "c1", "paid", START, "Drain cleaning", 45000, START)
    assert sorted(templates.base_values(settings, PAT, job)) == sorted(templates.VALUE_NAMES)


def test_the_packaged_templates_have_no_problems() -> None:
    assert templates.problems(Settings.model_validate({"business": {"name": "X"}})) == []


def test_a_misspelt_value_and_a_syntax_error_are_both_named() -> None:
    settings = parse_settings(
        "business:\n  name: X\nsequences: {}\ntemplates:\n"
        "  a: {channel: sms, body: 'Hi {{ frist_name }}'}\n"
        "  b: {channel: email, subject: 'Hi {% if %}', body: 'ok'}\n"
        "  c: {channel: sms, body: 'Hi {{ first_name }}'}\n"
    )
    found = templates.problems(settings)
    assert len(found) == 2
    assert found[0].startswith("template 'a': 'frist_name' is undefined")
    assert found[1].startswith("template 'b':")


def test_the_review_link_follows_the_lead_source_and_falls_back_to_google() -> None:
    settings = Settings.model_validate({"business": {"name": "X"}})
    assert templates.review_link(settings, "Yelp") == settings.followup.review_links["yelp"]
    assert templates.review_link(settings, "Angi") == settings.review_request.review_url
    assert templates.review_link(settings, None) == settings.review_request.review_url


def test_a_review_link_is_named_by_its_review_site_or_else_its_host() -> None:
    assert templates.platform_of("https://g.page/r/your-shop/review") == "google"
    assert templates.platform_of("https://search.google.com/local/writereview?placeid=X") == "google"
    assert templates.platform_of("https://www.yelp.com/writeareview/biz/your-shop") == "yelp"
    assert templates.platform_of("https://m.facebook.com/your-shop/reviews") == "facebook"
    assert templates.platform_of("https://reviews.example.net/shop") == "reviews.example.net"
    assert templates.platform_of("not a link") == "other"


def test_the_platform_is_the_site_of_the_link_else_the_lead_source_and_only_when_the_text_carries_the_link() -> None:
    google = "https://g.page/r/your-shop/review"
    settings = Settings.model_validate(
        {
            "business": {"name": "X"},
            "followup": {"review_links": {"nextdoor": "https://nd.example/r", "referral": google}},
        }
    )
    assert templates.review_choice(settings, "Nextdoor") == ("nextdoor", "https://nd.example/r")
    assert templates.review_choice(settings, "Referral") == ("google", google)
    assert templates.review_choice(settings, "Angi") == ("google", settings.review_request.review_url)
    assert templates.carried_platform(settings, "Nextdoor", "Review us: https://nd.example/r") == "nextdoor"
    assert templates.carried_platform(settings, "Nextdoor", "Thanks!", None) is None
