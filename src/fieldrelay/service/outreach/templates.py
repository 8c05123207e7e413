"""Message templates: the values every template gets, the links chosen per customer, and rendering (Jinja2)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from urllib.parse import urlsplit

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from fieldrelay.domain.money import dollars
from fieldrelay.rules.config import Settings
from fieldrelay.rules.sequences import Plan, Season
from fieldrelay.service.records import CustomerRecord, JobRecord

# Templates are the shop's text; the sandbox keeps a template from reaching into Python objects. StrictUndefined:
# a misspelt variable is an error a person sees (fieldrelay check, templates render, the skipped step on the
# customer's timeline), never a blank in a customer's text.
_ENV = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined)


# Values an enrolment carries in its context (the referral program's), given to its templates over base_values.
CONTEXT_VALUES = ("referral_code", "referral_link", "reward", "referred_name")

# Every value a template may name: base_values fills each, and fieldrelay check renders every template with them.
VALUE_NAMES = (
    "first_name",
    "business_name",
    "service",
    "booking_url",
    "review_url",
    "plan",
    "plan_url",
    "season",
    "balance",
    "renewal_date",
    "rating",
    *CONTEXT_VALUES,
)


class TemplateFailed(Exception):
    """A template could not be rendered (unknown template, or a variable it names is missing)."""


def service_text(job: JobRecord | None) -> str:
    """What was serviced, for matching seasons and plans: the service type and the description."""
    if job is None:
        return ""
    return " ".join(part for part in (job.service_type, job.description) if part)


def season_for(settings: Settings, service: str) -> Season | None:
    """The first configured season whose pattern matches the service."""
    return next((s for s in settings.followup.seasons if re.search(s.match, service, re.IGNORECASE)), None)


def plan_for(settings: Settings, service: str) -> Plan | None:
    """The first configured maintenance plan whose pattern matches the service."""
    return next((p for p in settings.followup.plans if re.search(p.match, service, re.IGNORECASE)), None)


# Review sites a link's host names (www.yelp.com → yelp); g.page and goo.gl are Google's short links.
REVIEW_SITES = ("google", "yelp", "facebook", "nextdoor", "angi", "bbb", "trustpilot", "houzz", "homeadvisor")
_SHORT_HOSTS = {"g.page": "google", "goo.gl": "google", "fb.com": "facebook"}


def platform_of(url: str) -> str:
    """The review site a link is on (google, yelp, facebook…), else its host; ``other`` for a link with no host."""
    host = (urlsplit(url.strip()).hostname or "").removeprefix("www.")
    if host in _SHORT_HOSTS:
        return _SHORT_HOSTS[host]
    return next((site for site in REVIEW_SITES if site in host.split(".")), host or "other")


def review_link(settings: Settings, lead_source: str | None) -> str:
    """The review page for where the customer came from (their lead source); the shop's Google link otherwise."""
    return review_choice(settings, lead_source)[1]


def review_choice(settings: Settings, lead_source: str | None) -> tuple[str, str]:
    """(platform, link) of the review page for the customer's lead source (followup.review_links), else of
    review_request.review_url (the shop's Google link). The platform is the review site the link is on; a link on a
    site not known here is named by the lead source it is kept under (a shop may send "referral" leads to Google)."""
    links = settings.followup.review_links
    if lead_source and lead_source.lower() in links:
        link = links[lead_source.lower()]
        site = platform_of(link)
        return (site if site in REVIEW_SITES else lead_source.lower()), link
    return platform_of(settings.review_request.review_url), settings.review_request.review_url


def carried_platform(settings: Settings, lead_source: str | None, *texts: str | None) -> str | None:
    """The review platform when one of ``texts`` (a rendered body or subject) carries the customer's review link."""
    platform, link = review_choice(settings, lead_source)
    return platform if any(text and link in text for text in texts) else None


def base_values(settings: Settings, customer: CustomerRecord, job: JobRecord | None) -> dict[str, object]:
    """The values every template may use."""
    service = job.service_type if job is not None else None
    plan = plan_for(settings, service_text(job))
    season = season_for(settings, service_text(job))
    balance = job.balance_cents if job is not None and job.balance_cents is not None else None
    return {
        "first_name": customer.first_name,
        "business_name": settings.business.name,
        "service": service,
        "booking_url": settings.followup.booking_url,
        "review_url": review_link(settings, customer.lead_source),
        "plan": plan.name if plan else "maintenance plan",
        "plan_url": plan.url if plan else None,
        "season": season.name if season else "tune-up",
        "balance": dollars(balance) if balance else "the balance",
        "renewal_date": "soon",  # renewal reminders get the date; a preview without one reads naturally
        "rating": None,
        # The referral templates' values; an enrolment from the referral program carries the real ones.
        "referral_code": "",
        "referral_link": settings.referrals.link_base_url,
        "reward": dollars(settings.referrals.reward_cents),
        "referred_name": "your friend",
    }


def render(
    settings: Settings, name: str, values: Mapping[str, object], renewal_date: date | None = None
) -> tuple[str | None, str]:
    """(subject or None, body) of a named template; TemplateFailed says what is wrong with it."""
    template = settings.templates.get(name)
    if template is None:
        raise TemplateFailed(f"no template named {name!r}")
    scope = dict(values)
    if renewal_date is not None:
        scope["renewal_date"] = f"{renewal_date:%B %-d}"
    try:
        subject = _ENV.from_string(template.subject).render(scope) if template.subject else None
        body = _ENV.from_string(template.body).render(scope)
    except TemplateError as exc:
        raise TemplateFailed(f"template {name!r}: {exc}") from exc
    return subject, body


def problems(settings: Settings) -> list[str]:
    """Each configured template that cannot render (a syntax error, a name no template gets), in words."""
    sample = {name: f"<{name}>" for name in VALUE_NAMES}
    found = []
    for name in settings.templates:
        try:
            render(settings, name, sample)
        except TemplateFailed as exc:
            found.append(str(exc))
    return found
