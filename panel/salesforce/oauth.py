"""Salesforce's OAuth endpoints, without Flask: refreshing, revoking, identity, and the integration user's token.

The browser part of sign-in (authorize redirect, callback, PKCE bookkeeping in the session) lives in
`panel.signin.auth`; everything here is a plain server-to-server call that the Flask side and background jobs share.

The integration user's token (`fetch_integration_token`; `panel.salesforce.client.integration_client` makes a client
of it) is for work no user is present for (call events arriving by webhook). It uses, in order of preference:

- the JWT bearer flow when `jwt_username` and `jwt_private_key` are configured (`SALESFORCE_JWT_USERNAME`,
  `SALESFORCE_JWT_PRIVATE_KEY_FILE`): the connected app holds the certificate, the user is pre-authorized;
- otherwise the client credentials flow with the connected app's id and secret (the app's "Run As" user). The
  local org answers it with its integration user.

Where each token comes from differs, so the settings keep them apart (`OAuthSettings`):

- agents sign in (and their tokens are refreshed and revoked) at `login_url` (`SALESFORCE_LOGIN_URL`):
  login.salesforce.com, test.salesforce.com or the My Domain all serve the web server flow;
- the integration user's token is requested from the org's My Domain (`my_domain_url`, `SALESFORCE_MY_DOMAIN_URL`):
  the client credentials flow is served there only — "The client credentials flow doesn't support calls to
  login.salesforce.com or test.salesforce.com" (help.salesforce.com/s/articleView?id=000886201); elsewhere it is
  refused with `invalid_grant` "request not supported on this domain";
- the JWT bearer assertion's `aud` is the login server, never the My Domain: https://login.salesforce.com,
  https://test.salesforce.com for a sandbox, or an Experience Cloud site's URL (help.salesforce.com,
  remoteaccess_oauth_jwt_flow.htm); anything else is refused with `invalid_grant` "audience is invalid"
  (`jwt_audience`, `SALESFORCE_JWT_AUDIENCE`; by default the one that fits the org, `default_jwt_audience`).

Token requests go through authlib's requests client; every call has the same (connect, read) timeout as the
REST API calls.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import RSAKey

from panel.salesforce.errors import (
    ReconnectRequired, SalesforceError, SalesforceRequestError, SalesforceUnavailable,
)
from panel.salesforce.http import DEFAULT_TIMEOUT, SalesforceSession

__all__ = [
    "DEFAULT_SCOPE",
    "LOGIN_SERVERS",
    "SANDBOX_LOGIN",
    "Identity",
    "OAuthSettings",
    "TokenResponse",
    "default_jwt_audience",
    "fetch_identity",
    "fetch_integration_token",
    "is_login_server",
    "is_sandbox",
    "jwt_assertion",
    "refresh_access_token",
    "revoke_token",
]

DEFAULT_SCOPE = "api refresh_token openid"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME_S = 180  # Salesforce accepts assertions that expire within three minutes
PRODUCTION_LOGIN = "https://login.salesforce.com"
SANDBOX_LOGIN = "https://test.salesforce.com"
LOGIN_SERVERS = (PRODUCTION_LOGIN, SANDBOX_LOGIN)


def _host(url: str | None) -> str:
    return (urlsplit(url or "").hostname or "").lower()


def is_login_server(url: str | None) -> bool:
    """login.salesforce.com or test.salesforce.com: they sign users in, but serve no client credentials."""
    return _host(url) in {_host(server) for server in LOGIN_SERVERS}


def is_sandbox(url: str | None) -> bool:
    """test.salesforce.com or a sandbox's My Domain (MyDomainName--SandboxName.sandbox.my.salesforce.com)."""
    host = _host(url)
    return host == _host(SANDBOX_LOGIN) or host.endswith(".sandbox.my.salesforce.com")


def default_jwt_audience(*urls: str | None) -> str:
    """The JWT bearer audience that fits the org the URLs point at: test.salesforce.com for a sandbox,
    login.salesforce.com otherwise (the local org is a production org)."""
    return SANDBOX_LOGIN if any(is_sandbox(url) for url in urls) else PRODUCTION_LOGIN


@dataclass(frozen=True)
class OAuthSettings:
    """Where and as which connected app the panel signs in. `login_url` (agents' sign-in) is
    login/test.salesforce.com, a My Domain URL, or the local org's instance URL. `my_domain_url` is where the
    integration user's token is requested (the login URL when that is a My Domain); `jwt_audience` the JWT bearer
    assertion's `aud` (by default `default_jwt_audience`)."""

    login_url: str
    client_id: str
    client_secret: str | None = None
    api_version: str = "62.0"
    scope: str = DEFAULT_SCOPE
    timeout: tuple[float, float] = DEFAULT_TIMEOUT
    jwt_username: str | None = None
    jwt_private_key: str | None = None  # PEM text
    my_domain_url: str | None = None
    jwt_audience: str | None = None

    def endpoint(self, name: str) -> str:
        return f"{self.login_url.rstrip('/')}/services/oauth2/{name}"

    @property
    def integration_url(self) -> str | None:
        """The My Domain the integration user's token comes from; None when only a login server is known."""
        if self.my_domain_url:
            return self.my_domain_url.rstrip("/")
        return None if is_login_server(self.login_url) else self.login_url.rstrip("/")

    @property
    def assertion_audience(self) -> str:
        return (self.jwt_audience or default_jwt_audience(self.login_url, self.my_domain_url)).rstrip("/")

    @property
    def authorize_url(self) -> str:
        return self.endpoint("authorize")

    @property
    def token_url(self) -> str:
        return self.endpoint("token")

    @property
    def revoke_url(self) -> str:
        return self.endpoint("revoke")

    @property
    def uses_jwt(self) -> bool:
        return bool(self.jwt_username and self.jwt_private_key)


@dataclass(frozen=True)
class TokenResponse:
    """A token endpoint answer as Salesforce shapes it (no `expires_in`; `issued_at` in epoch milliseconds)."""

    access_token: str
    instance_url: str
    refresh_token: str | None = None
    identity_url: str | None = None
    issued_at: datetime | None = None

    @classmethod
    def from_response(cls, token: Mapping[str, Any]) -> "TokenResponse":
        access_token, instance_url = token.get("access_token"), token.get("instance_url")
        if not isinstance(access_token, str) or not isinstance(instance_url, str):
            raise SalesforceRequestError("the token response has no access_token or instance_url",
                                         errors=dict(token))
        return cls(access_token=access_token, instance_url=instance_url.rstrip("/"),
                   refresh_token=token.get("refresh_token") or None, identity_url=token.get("id"),
                   issued_at=_issued_at(token.get("issued_at")))


@dataclass(frozen=True)
class Identity:
    """Who signed in, from the OpenID Connect userinfo endpoint."""

    user_id: str
    org_id: str
    name: str | None
    email: str | None
    username: str | None


def _issued_at(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _oauth_session(settings: OAuthSettings) -> OAuth2Session:
    method = "client_secret_post" if settings.client_secret else "none"
    return OAuth2Session(settings.client_id, settings.client_secret, token_endpoint_auth_method=method,
                         revocation_endpoint_auth_method=method)


def _token_call(call: Callable[[OAuth2Session], Mapping[str, Any]], settings: OAuthSettings,
                what: str) -> TokenResponse:
    """Run one token request and translate its failures into the boundary's errors."""
    try:
        with _oauth_session(settings) as session:
            return TokenResponse.from_response(call(session))
    except OAuthError as error:
        message = f"{what} refused: {error.error}" + (f" ({error.description})" if error.description else "")
        if error.error == "invalid_grant":
            raise ReconnectRequired(message, error_code=error.error) from error
        raise SalesforceRequestError(message, error_code=error.error) from error
    except (requests.Timeout, requests.ConnectionError) as error:
        raise SalesforceUnavailable(f"{what} failed: Salesforce did not answer in time") from error
    except requests.HTTPError as error:
        status = error.response.status_code if error.response is not None else None
        kind = SalesforceUnavailable if status is None or status >= 500 or status == 429 else SalesforceRequestError
        raise kind(f"{what} failed with HTTP {status}", status=status, response=error.response) from error
    except ValueError as error:  # a token endpoint that answered something other than JSON
        raise SalesforceUnavailable(f"{what} failed: {error}") from error


def refresh_access_token(settings: OAuthSettings, refresh_token: str) -> TokenResponse:
    """A new access token for a stored refresh token. `refresh_token` in the answer is set only when the connected
    app rotates refresh tokens. Raises ReconnectRequired when the refresh token is no longer valid."""
    return _token_call(lambda session: session.refresh_token(settings.token_url, refresh_token=refresh_token,
                                                             timeout=settings.timeout), settings, "token refresh")


def jwt_assertion(settings: OAuthSettings, now: float | None = None) -> str:
    """The signed JWT the bearer flow posts: issuer is the connected app, subject the integration username,
    audience the login server (login/test.salesforce.com or the Experience Cloud site), never the My Domain."""
    issued = int(time.time() if now is None else now)
    claims = {"iss": settings.client_id, "sub": settings.jwt_username, "aud": settings.assertion_audience,
              "exp": issued + JWT_LIFETIME_S}
    return jwt.encode({"alg": "RS256"}, claims, RSAKey.import_key(settings.jwt_private_key))


def fetch_integration_token(settings: OAuthSettings) -> TokenResponse:
    """A token for the integration user, from the org's My Domain: JWT bearer when configured, else client
    credentials. Raises SalesforceRequestError (`error_code` "my_domain_unknown"), asking Salesforce nothing,
    when only a login server is configured: it would refuse the client credentials flow. The JWT bearer flow is
    served there too, so it falls back to the login URL."""
    if settings.uses_jwt:
        token_url = f"{settings.integration_url or settings.login_url.rstrip('/')}/services/oauth2/token"
        return _token_call(lambda session: session.fetch_token(
            token_url, grant_type=JWT_BEARER_GRANT, assertion=jwt_assertion(settings),
            timeout=settings.timeout), settings, "JWT bearer sign-in")
    if settings.integration_url is None:
        raise SalesforceRequestError(f"client credentials sign-in needs the org's My Domain URL: "
                                     f"{settings.login_url} does not serve that flow", error_code="my_domain_unknown")
    token_url = f"{settings.integration_url}/services/oauth2/token"
    return _token_call(lambda session: session.fetch_token(token_url, grant_type="client_credentials",
                                                           timeout=settings.timeout),
                       settings, "client credentials sign-in")


def revoke_token(settings: OAuthSettings, token: str) -> bool:
    """Revoke an access or refresh token (revoking a refresh token also revokes its access tokens).

    Best effort: False when Salesforce refused or could not be reached; signing out goes on regardless.
    """
    try:
        with SalesforceSession(timeout=settings.timeout) as session:
            answer = session.post(settings.revoke_url, data={"token": token})
    except requests.RequestException:
        return False
    return answer.status_code == 200


def fetch_identity(instance_url: str, access_token: str, *,
                   timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> Identity:
    """Who owns this access token, from `<instance>/services/oauth2/userinfo`."""
    try:
        with SalesforceSession(timeout=timeout) as session:
            answer = session.get(f"{instance_url.rstrip('/')}/services/oauth2/userinfo",
                                 headers={"Authorization": f"Bearer {access_token}"})
    except requests.RequestException as error:
        raise SalesforceUnavailable("userinfo failed: Salesforce did not answer in time") from error
    if answer.status_code >= 500:
        raise SalesforceUnavailable(f"userinfo failed with HTTP {answer.status_code}", status=answer.status_code)
    if answer.status_code in (401, 403):
        raise SalesforceRequestError("userinfo refused the access token (does the connected app grant the "
                                     "openid scope?)", status=answer.status_code)
    try:
        info = answer.json()
        answer.raise_for_status()
        return Identity(user_id=info["user_id"], org_id=info["organization_id"], name=info.get("name"),
                        email=info.get("email"), username=info.get("preferred_username"))
    except (ValueError, KeyError, TypeError, requests.HTTPError) as error:
        raise SalesforceError(f"userinfo answered something unexpected (HTTP {answer.status_code})",
                              status=answer.status_code) from error
