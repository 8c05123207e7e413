"""Per-form tokens: ``FIELDRELAY_FORMS_SECRET`` holds ``form_id=token`` pairs separated by commas.

Written here (there is no vendor and so no SDK): a token is compared with ``hmac.compare_digest`` on bytes, so the
time taken says nothing about how much of a guess was right and non-ASCII input cannot raise.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping

import structlog

log = structlog.get_logger("fieldrelay.forms")

FORM_HEADER = "x-fieldrelay-form"
TOKEN_HEADER = "x-fieldrelay-form-token"


def parse_tokens(secret: str | None, known_forms: Iterable[str]) -> dict[str, str]:
    """Token per configured form id; entries naming a form the configuration does not have are dropped."""
    known = set(known_forms)
    tokens: dict[str, str] = {}
    for position, entry in enumerate((secret or "").split(","), start=1):
        if not entry.strip():
            continue
        form_id, sep, token = entry.partition("=")
        form_id, token = form_id.strip(), token.strip()
        if not sep or not form_id or not token:
            log.warning("forms.secret_entry_unreadable", position=position)  # never the value itself
        elif form_id not in known:
            log.warning("forms.secret_names_unknown_form", form=form_id)
        else:
            tokens[form_id] = token
    return tokens


def token_of(headers: Mapping[str, str]) -> str | None:
    """The token a request presents: ``Authorization: Bearer <token>``, else ``X-Fieldrelay-Form-Token``."""
    authorization = headers.get("authorization", "").strip()
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    token = headers.get(TOKEN_HEADER, "").strip()
    return token or None


def token_matches(given: str, expected: str) -> bool:
    """Constant-time comparison of two tokens."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))
