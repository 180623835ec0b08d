"""One user's (or the integration user's) connection to Salesforce: simple-salesforce plus the rules we need.

What this adds to simple-salesforce:

- a (connect, read) timeout on every request and the route to the local org (`SalesforceSession`);
- an expired access token (`401 INVALID_SESSION_ID`) is renewed **once** — through the refresh token, or by the
  caller's `renew(expired_access_token)` (the integration user signs in again; an agent's client renews under the
  panel's lock across processes, panel.signin.connections) — and the request retried once; `on_token_refreshed`
  hears about the new token so the caller can store it. A refresh token Salesforce no longer honours raises
  `ReconnectRequired`. Requests sent at the same time from several threads (the screen pop's two) that all meet
  the expired token renew it once: the others wait for that renewal and retry with its token (a rotated refresh
  token is only good once);
- failures become the few types of `panel.salesforce.errors`;
- `api_usage` keeps the latest `Sforce-Limit-Info` reading (API requests used / allowed in the last 24 hours).

Every method is one API request (query_all: one per page). Query text comes from `panel.salesforce.queries`.
"""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping, Sequence
from urllib.parse import quote

import requests
from simple_salesforce import Salesforce
from simple_salesforce import exceptions as sf_exceptions

from panel.salesforce.errors import (
    TRANSIENT_ERROR_CODES, NotFound, ReconnectRequired, SalesforceError, SalesforceRequestError,
    SalesforceUnavailable,
)
from panel.salesforce.http import DEFAULT_TIMEOUT, SalesforceSession
from panel.salesforce.oauth import OAuthSettings, TokenResponse, fetch_integration_token, refresh_access_token

__all__ = ["ApiUsage", "SalesforceClient", "integration_client"]

_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class ApiUsage(tuple):
    """(used, allowed) API requests in the org's rolling 24 hours, from the last `Sforce-Limit-Info` header."""

    __slots__ = ()

    def __new__(cls, used: int, allowed: int) -> "ApiUsage":
        return super().__new__(cls, (used, allowed))

    used = property(lambda self: self[0])
    allowed = property(lambda self: self[1])


class SalesforceClient:
    """The panel's only way to call the Salesforce REST API.

    `on_token_refreshed(token: TokenResponse)` is called after a renewal; `token.refresh_token` is only set when
    the connected app rotates refresh tokens. `renew(expired_access_token)` replaces the refresh-token grant: the
    integration user has no refresh token and signs in again; an agent's client is renewed by whoever keeps the
    stored token, which may find it renewed already by another process and answer that one.
    """

    def __init__(self, instance_url: str, access_token: str, *, refresh_token: str | None = None,
                 oauth: OAuthSettings | None = None, api_version: str | None = None,
                 on_token_refreshed: Callable[[TokenResponse], Any] | None = None,
                 renew: Callable[[str], TokenResponse] | None = None,
                 timeout: tuple[float, float] | None = None) -> None:
        self.instance_url = instance_url.rstrip("/")
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.oauth = oauth
        self.api_version = api_version or (oauth.api_version if oauth else "62.0")
        self.timeout = timeout or (oauth.timeout if oauth else DEFAULT_TIMEOUT)
        self.on_token_refreshed = on_token_refreshed
        self._renew = renew
        self.api_usage: ApiUsage | None = None
        self._renewal = threading.Lock()
        self._session: SalesforceSession | None = None
        self._sf = self._connect()

    def __repr__(self) -> str:  # never show the token
        return f"SalesforceClient({self.instance_url!r}, api_version={self.api_version!r})"

    def _connect(self) -> Salesforce:
        # A renewal inside `read_timeout` keeps that block's shorter wait for the retried request.
        timeout = self._session.timeout if self._session is not None else self.timeout
        self._session = SalesforceSession(self.instance_url, timeout=timeout)
        return Salesforce(instance_url=self.instance_url, session_id=self.access_token, version=self.api_version,
                          session=self._session, object_pairs_hook=dict)

    # -- the API -----------------------------------------------------------------------------------------------

    def query(self, soql: str) -> dict:
        """One page of a SOQL query: `{"totalSize", "done", "records", ["nextRecordsUrl"]}`."""
        return self._call(lambda sf: sf.query(soql))

    def query_all(self, soql: str) -> dict:
        """Every page of a SOQL query (one API request per page), records concatenated."""
        return self._call(lambda sf: sf.query_all(soql))

    def search(self, sosl: str) -> list[dict]:
        """The `searchRecords` of a SOSL search (each with `attributes.type`)."""
        answer = self._call(lambda sf: sf.search(sosl))
        return list((answer or {}).get("searchRecords") or [])

    def create(self, sobject: str, fields: Mapping[str, Any]) -> str:
        """Create one record; its Id."""
        answer = self._rest("POST", f"sobjects/{_name(sobject)}", json=dict(fields))
        return answer["id"]

    def update(self, sobject: str, record_id: str, fields: Mapping[str, Any]) -> None:
        self._rest("PATCH", f"sobjects/{_name(sobject)}/{_segment(record_id)}", json=dict(fields))

    def upsert(self, sobject: str, external_id_field: str, external_id: str, fields: Mapping[str, Any]) -> dict:
        """Create or update by external id: `{"id", "created", ...}` (Salesforce answers 201 or 200; 204 before
        API 46.0, then only `created` is known)."""
        answer = self._rest("PATCH", f"sobjects/{_name(sobject)}/{_name(external_id_field)}/{_segment(external_id)}",
                            json=dict(fields))
        return answer if isinstance(answer, dict) else {"created": False}

    def delete(self, sobject: str, record_id: str) -> None:
        self._rest("DELETE", f"sobjects/{_name(sobject)}/{_segment(record_id)}")

    def get(self, sobject: str, record_id: str, fields: Sequence[str] | None = None) -> dict:
        params = {"fields": ",".join(_name(f) for f in fields)} if fields else None
        return self._rest("GET", f"sobjects/{_name(sobject)}/{_segment(record_id)}", params=params)

    def composite(self, subrequests: Sequence[Mapping[str, Any]], all_or_none: bool = False) -> list[dict]:
        """Up to 25 subrequests in ONE API request; each answer is `{"body", "httpStatusCode", "referenceId",
        "httpHeaders"}` in order. Subrequest failures are in the answers, not raised."""
        answer = self._rest("POST", "composite", json={"allOrNone": bool(all_or_none),
                                                       "compositeRequest": list(subrequests)})
        return list(answer["compositeResponse"])

    def describe(self, sobject: str) -> dict:
        return self._rest("GET", f"sobjects/{_name(sobject)}/describe")

    def limits(self) -> dict:
        return self._call(lambda sf: sf.limits())

    @contextmanager
    def read_timeout(self, seconds: float | None) -> Iterator["SalesforceClient"]:
        """Wait at most `seconds` for each answer inside the block (never longer than the usual read timeout).

        For requests that have something better to show than a long wait: the screen pop falls back to the last
        known answer. A timeout raises SalesforceUnavailable like any other.
        """
        previous = self._session.timeout
        if seconds:
            self._session.timeout = (previous[0], min(previous[1], float(seconds)))
        try:
            yield self
        finally:
            self._session.timeout = previous  # the session a renewal inside the block replaced it with, if any

    # -- plumbing ----------------------------------------------------------------------------------------------

    def _rest(self, method: str, path: str, **kwargs) -> Any:
        return self._call(lambda sf: sf.restful(path, method=method, **kwargs))

    def _call(self, operation: Callable[[Salesforce], Any]) -> Any:
        try:
            return self._attempt(operation)
        finally:
            if self._session.api_usage is not None:
                self.api_usage = ApiUsage(*self._session.api_usage)

    def _attempt(self, operation: Callable[[Salesforce], Any]) -> Any:
        token = self.access_token
        try:
            try:
                return operation(self._sf)
            except sf_exceptions.SalesforceExpiredSession:
                self._renew_once(token)
            try:
                return operation(self._sf)
            except sf_exceptions.SalesforceExpiredSession as error:
                raise ReconnectRequired("Salesforce refused a freshly refreshed access token",
                                        error_code=_first_error(error.content).get("errorCode"), status=401,
                                        errors=error.content) from error
        except sf_exceptions.SalesforceError as error:
            raise _translate(error) from error
        except requests.RequestException as error:
            raise SalesforceUnavailable(f"Salesforce did not answer: {type(error).__name__}") from error
        except ValueError as error:  # an answer that is not JSON (an HTML maintenance page, a proxy error)
            raise SalesforceUnavailable("Salesforce answered something that is not JSON") from error

    def _renew_once(self, expired: str) -> None:
        """Renew the `expired` access token unless another thread already has while this one waited."""
        with self._renewal:
            if self.access_token == expired:
                self._refresh(expired)

    def _refresh(self, expired: str) -> None:
        if self._renew is not None:
            token = self._renew(expired)
        elif self.refresh_token and self.oauth:
            token = refresh_access_token(self.oauth, self.refresh_token)
        else:
            raise ReconnectRequired("the access token expired and there is no way to renew it",
                                    error_code="INVALID_SESSION_ID", status=401)
        self.access_token = token.access_token
        self.instance_url = token.instance_url or self.instance_url
        if token.refresh_token:
            self.refresh_token = token.refresh_token
        self._sf = self._connect()
        if self.on_token_refreshed is not None:
            self.on_token_refreshed(token)


def integration_client(settings: OAuthSettings, **client_options) -> SalesforceClient:
    """A client acting as the integration user; it fetches a fresh token whenever the old one expires."""
    token = fetch_integration_token(settings)
    return SalesforceClient(token.instance_url, token.access_token, oauth=settings,
                            renew=lambda expired: fetch_integration_token(settings), **client_options)


def _name(api_name: str) -> str:
    """An sObject or field API name, refused when it could change the request path."""
    if not isinstance(api_name, str) or not _API_NAME.match(api_name):
        raise ValueError(f"not a Salesforce API name: {api_name!r}")
    return api_name


def _segment(value: str) -> str:
    return quote(str(value), safe="")


def _first_error(content: Any) -> dict:
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return content[0]
    if isinstance(content, dict):
        return content
    return {}


def _translate(error: sf_exceptions.SalesforceError) -> SalesforceError:
    first = _first_error(error.content)
    code = first.get("errorCode")
    status = error.status
    message = first.get("message") or f"Salesforce answered HTTP {status}"
    details = dict(error_code=code, status=status, fields=first.get("fields") or (), errors=error.content)
    if status >= 500 or status == 429 or code in TRANSIENT_ERROR_CODES:
        return SalesforceUnavailable(message, **details)
    if status == 404:
        return NotFound(message, **details)
    return SalesforceRequestError(message, **details)
