"""The twilio SDK's HTTP seam, backed by httpx: one configured origin, one timeout, a transport tests can replace.

The SDK builds every URL on ``https://api.twilio.com`` and hands the request to the ``twilio.http.HttpClient`` passed
as ``Client(http_client=...)`` ("custom HTTP clients":
https://github.com/twilio/twilio-python/blob/main/advanced-examples/custom-http-client.md). This one sends it with
``httpx`` to the configured ``api_base_url`` instead, keeping path and query, so tests inject ``httpx.MockTransport``
and the crash test points the SDK at a local stand-in, while the SDK still does paths, form encoding, auth, paging
and error parsing.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit, urlunsplit

import httpx
from twilio.http import HttpClient  # type: ignore[import-untyped]  # the twilio package ships no type hints
from twilio.http.response import Response  # type: ignore[import-untyped]

_logger = logging.getLogger("fieldrelay.twilio.http")

# The SDK picks the body encoding from the Content-Type it sets; these two are JSON, everything else is a form.
_JSON_TYPES = frozenset({"application/json", "application/scim+json"})


class HttpxTwilioClient(HttpClient):  # type: ignore[misc]  # subclassing the untyped SDK base class
    """Sends the SDK's requests with httpx to ``base_url`` (origin rewritten, path and query kept)."""

    def __init__(self, base_url: str, timeout_seconds: float, transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(_logger, False, timeout_seconds)
        base = urlsplit(base_url)
        if base.scheme not in ("http", "https") or not base.netloc:
            raise ValueError(f"Twilio api_base_url must be an http(s) URL, got {base_url!r}")
        self._scheme = base.scheme
        self._netloc = base.netloc
        self._prefix = base.path.rstrip("/")
        self._http = httpx.Client(transport=transport, timeout=timeout_seconds)

    def rebase(self, url: str) -> str:
        """The SDK's URL with its origin (scheme and host, whatever edge or region it chose) replaced by ours."""
        parts = urlsplit(url)
        return urlunsplit((self._scheme, self._netloc, self._prefix + parts.path, parts.query, ""))

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        """Send one request; httpx errors (unreachable, timeout) propagate for the caller to classify."""
        # No ``self.log_request`` as the SDK's own client does: it logs query strings, which carry phone numbers.
        content_type = (headers or {}).get("Content-Type", "")
        body = {"json": data} if content_type in _JSON_TYPES else {"data": data}
        response = self._http.request(
            method.upper(),
            self.rebase(url),
            params=params,  # type: ignore[arg-type]  # the SDK's values are str, int or lists of them
            headers=headers,
            auth=auth,
            timeout=timeout if timeout is not None else self.timeout,
            follow_redirects=allow_redirects,
            **body,  # type: ignore[arg-type]
        )
        return Response(response.status_code, response.text, response.headers)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()
