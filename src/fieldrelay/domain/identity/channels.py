"""Contact points a marketplace stands in front of: masked (proxy) phones and relay emails.

Marketplaces that sell a lead (Thumbtack, Yelp, Google Local Services, Angi/HomeAdvisor, Houzz, Porch, Networx, Bark)
often hand on a call-tracking number that rings through to the homeowner, and an address at their own domain that
forwards mail (Yelp's ``…@messaging.yelp.com``, Craigslist's ``…@reply.craigslist.org``). Such a number may forward
many homeowners' calls, and such an address lives for one conversation: sharing one says little about being one
person, and lacking the homeowner's real number says nothing against it. The matcher weighs them weakly either way.
A lead's number that another record gives as the homeowner's own (a form, a call, the field tool) is no mask: the
marketplace passed the real number on, and it counts as shared (``score.py``).
"""

from __future__ import annotations

import re

from fieldrelay.domain.enrichment.contact import normalize_lead_source

# Lead sources (canonical, domain/enrichment/contact.py) whose phone numbers may be masked call-tracking numbers.
_MASKED_SOURCES = frozenset({"google_lsa", "angi", "thumbtack", "yelp", "marketplace"})
# Domains of marketplaces and classified sites that relay mail (any subdomain), and relay-style subdomains elsewhere.
_RELAY_DOMAIN = re.compile(
    r"@(?:[a-z0-9-]+\.)*(?:yelp|thumbtack|angi|homeadvisor|houzz|porch|networx|bark|craigslist|nextdoor|"
    r"craftjack|modernize)\.(?:com|org|net)$"
    r"|@(?:relay|reply|messaging|proxy|leads?)\.[a-z0-9.-]+$"
)


def is_marketplace(lead_source: str | None) -> bool:
    """True when leads from this source come with masked phone numbers."""
    return normalize_lead_source(lead_source) in _MASKED_SOURCES


def is_relay_email(email: str) -> bool:
    """True for an address a marketplace forwards from (``abc123@messaging.yelp.com``): not the homeowner's own."""
    return bool(_RELAY_DOMAIN.search(email.lower()))
