"""Connections to Salesforce: the one way the panel gets a client, the one renewal, the one token store.

- `agent_client(connection)`: a client acting as a signed-in agent, from their stored connection (the request's
  `SignedInConnection` or a `SalesforceConnection` row). When Salesforce says the access token expired, the client
  renews it once through the refresh token (panel.salesforce.client) and `store_token` keeps the new one on the
  agent's row at once, so the next request or job does not renew it again.
- `agent_connection(email)`: the stored connection of the agent a dialer names by e-mail (for call logging).
- `integration_client()`: a client acting as the integration user (client credentials or JWT bearer), its token
  shared through the cache by every process until it expires; it renews by signing in again.

Where a renewed token is written depends on who holds the client, so the caller says which session
(`agent_client(..., session=...)`): a request writes it in a transaction of its own, since the request's session
may hold unrelated changes; a job writes it through the job's own session, since under SQLite's one-writer rule a
second session would wait for the job's (see `agent_client`).

The OAuth settings are the app's (`panel.signin.auth.init_app` keeps them in `app.extensions`).
"""

from __future__ import annotations

from typing import Callable

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from panel.extensions import cache, db
from panel.salesforce.client import SalesforceClient
from panel.salesforce.oauth import OAuthSettings, TokenResponse, fetch_integration_token
from panel.signin.models import SalesforceConnection, SignedInConnection

__all__ = ["agent_client", "agent_connection", "integration_client", "oauth_settings", "store_token"]

INTEGRATION_TOKEN_KEY = "panel:calls:integration-token"
INTEGRATION_TOKEN_CACHE_S = 3600


def oauth_settings() -> OAuthSettings:
    return current_app.extensions["panel.oauth_settings"]


def _client(instance_url: str, access_token: str, *, on_token_refreshed: Callable[[TokenResponse], None],
            refresh_token: str | None = None, renew: Callable[[], TokenResponse] | None = None) -> SalesforceClient:
    """Every client the panel acts with is made here, with the app's OAuth settings."""
    return SalesforceClient(instance_url, access_token, refresh_token=refresh_token, oauth=oauth_settings(),
                            renew=renew, on_token_refreshed=on_token_refreshed)


# -- an agent ---------------------------------------------------------------------------------------------------------

def agent_client(connection: SalesforceConnection | SignedInConnection, *, session=None) -> SalesforceClient:
    """A client acting as the agent of `connection`. Raises `UnreadableToken` when the stored tokens cannot be read.

    `session` is where a renewed token is saved. None (a request): a session of its own, committed at once, because
    the request's session may hold changes that are not the request's to commit yet. A job passes its own session
    (`db.session`): a second session would wait for the job's, which may already hold SQLite's one write lock (its
    call row is dirty), and time out. Committing the job's pending changes with the token is harmless: the job holds
    the call's lease and every later step re-reads the row.
    """
    connection_id = connection.id

    def keep(token: TokenResponse) -> None:
        if session is not None:
            store_token(session, connection_id, token)
            return
        with Session(db.engine) as own:
            store_token(own, connection_id, token)

    return _client(connection.instance_url, connection.access_token, refresh_token=connection.refresh_token,
                   on_token_refreshed=keep)


def store_token(session, connection_id: int, token: TokenResponse) -> None:
    """Keep a renewed token on the agent's row through `session`, and commit. The refresh token changes only when
    the connected app rotates refresh tokens; a row deleted meanwhile (the user signed out) is left alone."""
    connection = session.get(SalesforceConnection, connection_id)
    if connection is None:
        return
    connection.access_token = token.access_token
    connection.instance_url = token.instance_url or connection.instance_url
    if token.refresh_token:
        connection.refresh_token = token.refresh_token
    if token.issued_at:
        connection.issued_at = token.issued_at
    session.commit()


def agent_connection(email: str) -> SalesforceConnection | None:
    """The signed-in connection of the agent a dialer names by `email` (lower case): matched to the Salesforce
    e-mail or username; the most recently updated when several users share the address."""
    return db.session.execute(
        select(SalesforceConnection)
        .where(or_(func.lower(SalesforceConnection.email) == email, func.lower(SalesforceConnection.username) == email),
               SalesforceConnection.access_token_encrypted.is_not(None))
        .order_by(SalesforceConnection.updated_at.desc())
    ).scalars().first()


# -- the integration user ---------------------------------------------------------------------------------------------

def integration_client() -> tuple[SalesforceClient, str]:
    """The integration user's client and org id; its token is shared through the cache until it expires."""
    settings = oauth_settings()
    token = cache.get(INTEGRATION_TOKEN_KEY)
    if not isinstance(token, TokenResponse):
        token = fetch_integration_token(settings)
        cache.set(INTEGRATION_TOKEN_KEY, token, timeout=INTEGRATION_TOKEN_CACHE_S)

    def remember(fresh: TokenResponse) -> None:
        cache.set(INTEGRATION_TOKEN_KEY, fresh, timeout=INTEGRATION_TOKEN_CACHE_S)

    client = _client(token.instance_url, token.access_token, renew=lambda: fetch_integration_token(settings),
                     on_token_refreshed=remember)
    parts = (token.identity_url or "").rstrip("/").split("/")
    return client, parts[-2] if len(parts) >= 2 else ""
