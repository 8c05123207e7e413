"""Lead forms: the shop's own web form and marketplace leads parsed upstream, posted to ``/webhooks/forms``.

There is no vendor: this contract is fieldrelay's own (documented in docs/connectors.md), so nothing here is
"unverified". A submission is a JSON object or a form-encoded body (``body.py``) with the fields of
``schemas.FormSubmission``.

- Authentication: each configured form (``connectors.forms.forms``) has a token in ``FIELDRELAY_FORMS_SECRET``
  (``website=tok1,angi=tok2``). A request names its form by the ``X-Fieldrelay-Form`` header or a ``form`` /
  ``form_id`` field (both given must agree) and presents the token as ``Authorization: Bearer <token>`` or
  ``X-Fieldrelay-Form-Token``. Tokens are taken from headers only: the inbox keeps the body, never credentials,
  so a plain HTML form must post through the site's backend or a script that can set a header.
- No timestamp scheme: a form has no signing clock, so replays are caught only by the dedupe key
  (``submission_id`` when present, else a hash of the whole body) and spam by the per-IP rate limit and the
  honeypot field (filled: stored and ignored, never a lead).
- ``occurred_at``: ``submitted_at`` (ISO 8601; without an offset it is read in the shop's time zone); without it,
  the time the submission arrived (the inbox's ``received_at``).
- The form's configured source applies when the form is named by the ``X-Fieldrelay-Form`` header only: that
  header is kept with the stored submission (``kept_headers``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from fieldrelay.connectors.forms.auth import FORM_HEADER, parse_tokens, token_matches, token_of
from fieldrelay.connectors.forms.body import is_filled, read_fields, text_fields
from fieldrelay.connectors.forms.schemas import FormSubmission
from fieldrelay.domain import events as ev
from fieldrelay.domain.contact import normalize_email, normalize_phone
from fieldrelay.rules.config import FormsSettings
from fieldrelay.service.ports import Identified, Parsed, ParseError, Received, WebhookRequest

NAME = "forms"
EVENT_TYPE = "form.submitted"
DEFAULT_CHANNEL = "web_form"
NO_CONTACT = "a lead needs a phone or an email"

_FIELDS = set(FormSubmission.model_fields)
_MAX_EXTERNAL_ID = 100  # external_ids.external_id holds 100
_MAX_NAME_PART = 100  # customers.first_name / last_name hold 100
_MAX_NAME = 200  # customers.name (first and last joined) holds 200


class FormsInbound:
    """Web lead form receiver."""

    name = NAME

    def __init__(
        self,
        secret: str | None,
        settings: FormsSettings,
        phone_region: str = "US",
        time_zone: str = "UTC",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._secret_set = bool(secret and secret.strip())
        self._tokens = parse_tokens(secret, (form.id for form in settings.forms))
        self._sources = {form.id: form.source for form in settings.forms}
        self._honeypot = settings.honeypot_field
        self._region = phone_region
        self._zone = ZoneInfo(time_zone)
        self._clock = clock or (lambda: datetime.now(UTC))
        self.rate_limit_per_minute: int | None = settings.rate_limit_per_minute
        self.kept_headers: tuple[str, ...] = (FORM_HEADER,)

    def verify(self, request: WebhookRequest, now: datetime) -> str | None:
        """None when the request names a configured form and presents its token, else why it is refused."""
        try:
            return self._check(request)
        except Exception:  # verify must never raise; whatever broke the check, the request is not authenticated
            return "unreadable request"

    def _check(self, request: WebhookRequest) -> str | None:
        if not self._secret_set:
            return "no secret configured"
        header_form = request.headers.get(FORM_HEADER, "").strip()
        body_form = _body_form(request.body)
        if header_form and body_form and header_form != body_form:
            return "form id in header and body differ"
        form_id = header_form or body_form
        if not form_id:
            return "missing form id"
        expected = self._tokens.get(form_id)
        if expected is None:
            return "unknown form"
        token = token_of(request.headers)
        if token is None:
            return "missing form token"
        if not token_matches(token, expected):
            return "bad form token"
        return None

    def split(self, body: bytes) -> tuple[bytes]:
        """One submission per request."""
        return (body,)

    def identify(self, body: bytes) -> Identified:
        """The submission id (per form) when the body has one, else a hash of the whole body."""
        fields = read_fields(body)
        ids = text_fields(fields, {"submission_id", "form", "form_id"})
        submission = ids.get("submission_id")
        if submission:
            form = ids.get("form") or ids.get("form_id") or ""
            return Identified(dedupe_key="id:" + _digest(f"{form}\x1f{submission}"), event_type=EVENT_TYPE)
        return Identified(dedupe_key=_body_key(body), event_type=EVENT_TYPE)

    def parse(self, body: bytes, received: Received | None = None) -> Parsed:
        """A ``LeadReceived``, or nothing when the honeypot is filled; ParseError without a way to reach them."""
        fields = read_fields(body)
        if is_filled(fields.get(self._honeypot)):
            return Parsed(event_type=EVENT_TYPE, ignored="honeypot filled: likely spam")
        try:
            form = FormSubmission.model_validate(text_fields(fields, _FIELDS))
        except ValidationError as exc:
            parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]]
            raise ParseError("unexpected submission: " + "; ".join(parts)) from exc
        phone = normalize_phone(form.phone, self._region) if form.phone else None
        email = normalize_email(form.email) if form.email else None
        if phone is None and email is None:
            raise ParseError(NO_CONTACT + _why_unusable(form))
        header_form = (received.headers.get(FORM_HEADER, "").strip() or None) if received is not None else None
        form_id = form.form_ref or header_form or (next(iter(self._sources)) if len(self._sources) == 1 else None)
        channel = form.source or self._sources.get(form_id or "") or DEFAULT_CHANNEL
        occurred_at = self._occurred_at(form.submitted_at, received)
        first, last = _names(form)
        if form.submission_id:
            scoped = f"{form_id}:{form.submission_id}" if form_id else form.submission_id
            external_id = scoped if len(scoped) <= _MAX_EXTERNAL_ID else "s:" + _digest(scoped)
            lead_ref = form.submission_id
        else:
            basis = "\x1f".join((form_id or "", phone or "", email or "", form.submitted_at or ""))
            external_id, lead_ref = "h:" + _digest(basis), _body_key(body)
        customer = ev.CustomerSnapshot(
            external_id=external_id,
            first_name=first,
            last_name=last,
            phones=(form.phone,) if form.phone else (),
            emails=(form.email,) if form.email else (),
            address=_address(form),
            lead_source=channel,
        )
        lead = ev.LeadReceived(
            source=NAME,
            occurred_at=occurred_at,
            customer=customer,
            lead_ref=lead_ref,
            service=form.service,
            notes=form.notes or form.message,
            channel=channel,
            referral_code=form.referral_code,
        )
        return Parsed(event_type=EVENT_TYPE, events=(lead,))

    def _occurred_at(self, submitted_at: str | None, received: Received | None) -> datetime:
        if not submitted_at:
            return received.at if received is not None else self._clock()
        try:
            at = datetime.fromisoformat(submitted_at)
        except ValueError as exc:
            raise ParseError(f"submitted_at {submitted_at!r} is not an ISO 8601 time") from exc
        try:
            return (at.replace(tzinfo=self._zone) if at.tzinfo is None else at).astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise ParseError(f"submitted_at {submitted_at!r} is out of range") from exc


def _body_form(body: bytes) -> str | None:
    """The form id a body names, or None (never raises: verify runs before anything is trusted)."""
    try:
        ids = text_fields(read_fields(body), {"form", "form_id"})
    except ParseError:
        return None
    return ids.get("form") or ids.get("form_id")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def _body_key(body: bytes) -> str:
    return "h:" + hashlib.sha256(body).hexdigest()[:40]


def _why_unusable(form: FormSubmission) -> str:
    reasons = []
    # Never the submitted values themselves: this text is stored and shown, and it must hold no personal data.
    if form.phone:
        reasons.append("the phone given is not a valid number")
    if form.email:
        reasons.append("the email given is not an address")
    return f" ({'; '.join(reasons)})" if reasons else ""


def _names(form: FormSubmission) -> tuple[str | None, str | None]:
    """First and last name: the explicit fields, else ``name`` split at its first space."""
    first, last = form.first_name, form.last_name
    if form.name and not (first or last):
        parts: Sequence[str] = form.name.split()
        first, last = parts[0], " ".join(parts[1:]) or None
    for part in (first, last):
        if part and len(part) > _MAX_NAME_PART:
            raise ParseError(f"name part longer than {_MAX_NAME_PART} characters")
    if first and last and len(first) + 1 + len(last) > _MAX_NAME:
        raise ParseError(f"name longer than {_MAX_NAME} characters")
    return first, last


def _address(form: FormSubmission) -> ev.Address | None:
    if any((form.street, form.unit, form.city, form.state, form.postal_code, form.zip)):
        address = ev.Address(
            street=form.street or form.address,
            unit=form.unit,
            city=form.city,
            state=form.state,
            postal_code=form.postal_code or form.zip,
        )
    else:
        address = ev.Address(street=form.address)
    return None if address.is_empty() else address
