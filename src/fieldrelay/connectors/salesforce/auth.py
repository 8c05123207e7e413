"""Salesforce credentials: a static access token, or an OAuth 2.0 client-credentials app whose token is cached.

Vendor-published (verified),
https://developer.salesforce.com/docs/atlas.en-us.chatterapi.meta/chatterapi/quickstart_connecting.htm: the client
credentials flow is ``POST https://<My Domain>/services/oauth2/token`` with the form fields
``grant_type=client_credentials``, ``client_id`` and ``client_secret``; the JSON answer carries ``access_token``
(and ``instance_url``, ``token_type: Bearer``, ``issued_at``). The example posts to the org's My Domain URL, which is
what ``salesforce.instance_url`` holds. Unverified against Salesforce's own pages: the refusal shape, taken from
OAuth 2.0 itself (RFC 6749 §5.2, https://www.rfc-editor.org/rfc/rfc6749#section-5.2): 400 with
``{"error": "invalid_client", "error_description": ...}``.

Our choices: the answer carries no expiry (a Salesforce session lasts as long as the org's session timeout), so the
token is kept until an API call answers 401 and then fetched again, once per call (see target.py). A static token
(``FIELDRELAY_SALESFORCE_TOKEN``) cannot be renewed by us; when client credentials are also set they renew it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from fieldrelay.rules.secrets import env_secret
from fieldrelay.service.crm.targets import CrmWriteFailed

TOKEN_ENV = "FIELDRELAY_SALESFORCE_TOKEN"
CLIENT_ID_ENV = "FIELDRELAY_SALESFORCE_CLIENT_ID"
CLIENT_SECRET_ENV = "FIELDRELAY_SALESFORCE_CLIENT_SECRET"
TOKEN_PATH = "/services/oauth2/token"
_MAX_DETAIL = 300


@dataclass(frozen=True)
class SalesforceCredentials:
    """How the connector signs in: a static access token, client credentials, or both (the token used first)."""

    # Secrets stay out of repr, so they never reach a log line or a traceback.
    access_token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.access_token and not self.can_fetch:
            raise ValueError(
                f"Salesforce needs {TOKEN_ENV}, or both {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV}, in the environment"
            )

    @property
    def can_fetch(self) -> bool:
        """True when a (new) token can be fetched with the client-credentials flow."""
        return bool(self.client_id and self.client_secret)


def credentials_from_env() -> SalesforceCredentials | None:
    """The credentials in the environment, or None when neither a token nor a full client id + secret pair is set."""
    token = env_secret("SALESFORCE_TOKEN")
    client_id = env_secret("SALESFORCE_CLIENT_ID")
    client_secret = env_secret("SALESFORCE_CLIENT_SECRET")
    if not token and not (client_id and client_secret):
        return None
    return SalesforceCredentials(access_token=token, client_id=client_id, client_secret=client_secret)


class TokenSource:
    """Hands out the current access token; fetches one with client credentials when there is none or it expired."""

    def __init__(self, credentials: SalesforceCredentials, http: httpx.Client) -> None:
        self._credentials = credentials
        self._http = http  # its base_url is the instance URL (My Domain)
        self._token: str | None = credentials.access_token

    def token(self) -> str:
        """The cached token, fetching one first if there is none."""
        if self._token is None:
            self._token = self._fetch()
        return self._token

    def refresh(self) -> str | None:
        """A new token after a 401, or None when there is no way to get one (a static token only)."""
        if not self._credentials.can_fetch:
            return None
        self._token = None
        self._token = self._fetch()
        return self._token

    def _fetch(self) -> str:
        """Run the client-credentials flow; raise CrmWriteFailed when Salesforce refuses or cannot be reached."""
        credentials = self._credentials
        form = {
            "grant_type": "client_credentials",
            "client_id": credentials.client_id or "",
            "client_secret": credentials.client_secret or "",
        }
        try:
            response = self._http.post(TOKEN_PATH, data=form)
        except httpx.TransportError as exc:
            raise CrmWriteFailed(
                f"Salesforce token endpoint unreachable: {type(exc).__name__}: {exc}"[:_MAX_DETAIL],
                retryable=True,
                target_down=True,
            ) from exc
        status = response.status_code
        if status == 200:
            token = _json_field(response, "access_token")
            if token:
                return token
            raise CrmWriteFailed("Salesforce token endpoint answered 200 without an access_token", status_code=200)
        error = _json_field(response, "error")
        description = _json_field(response, "error_description")
        detail = f"Salesforce token request {status}: {error or response.reason_phrase}"
        if description:
            detail += f": {description}"
        if status >= 500 or status in (408, 429):
            raise CrmWriteFailed(detail[:_MAX_DETAIL], retryable=True, status_code=status, target_down=True)
        # invalid_client, invalid_grant, unsupported_grant_type (flow not enabled): a setup problem a retry won't fix.
        raise CrmWriteFailed(detail[:_MAX_DETAIL], retryable=False, status_code=status, error_code=error)


def _json_field(response: httpx.Response, name: str) -> str | None:
    """A string field of a JSON object body, or None."""
    try:
        value = response.json().get(name)
    except (ValueError, AttributeError):
        return None
    return str(value) if value else None
