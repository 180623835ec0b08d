"""Connections to Salesforce: the one way the panel gets a client, the one renewal, the one token store.

- `agent_client(connection)`: a client acting as a signed-in agent, from their stored connection (the request's
  `SignedInConnection` or a `SalesforceConnection` row). When Salesforce says the access token expired, the client
  renews it through `renew_agent_token`, the one renewal of an agent's token in the whole deployment.
- `agent_connection(email)`: the stored connection of the agent a dialer names by e-mail (for call logging).
- `integration_client()`: a client acting as the integration user (client credentials or JWT bearer), its token
  shared through the cache by every process until it expires; it renews by signing in again.

Why one renewal across processes: with refresh token rotation (an option of connected and external client apps,
which Salesforce is making the norm), each refresh answers a new refresh token and invalidates the one used, and
using an invalidated one again revokes the whole grant (help.salesforce.com/s/articleView?id=005316711). A pop, its
task lists and a call job run in different threads, web processes and job workers, each with a client of its own;
when the token expires they all renew at the same moment. Each renewing with the refresh token it read would sign
the agent out mid-call. So a renewal holds the connection's renewal lease (a row of `salesforce_token_renewals`,
taken with one conditional UPDATE in the panel's database: SQLite and PostgreSQL alike, so every process sharing
the database shares the lock), re-reads the stored tokens once it holds it (another process may have renewed
already: then that token is used and nothing is sent to Salesforce), and stores the new tokens, the new refresh
token included, before anyone uses them. Nothing waits on a database lock meanwhile: the lease is a committed row,
and a holder that died loses it after `RENEWAL_LEASE_S`.

The OAuth settings are the app's (`panel.signin.auth.init_app` keeps them in `app.extensions`).
"""

from __future__ import annotations

import time
import uuid
from typing import Callable

from flask import current_app
from sqlalchemy import Column, Float, Integer, String, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from panel.extensions import autocommit, cache, db
from panel.salesforce.client import SalesforceClient
from panel.salesforce.errors import ReconnectRequired, SalesforceUnavailable
from panel.salesforce.oauth import OAuthSettings, TokenResponse, fetch_integration_token, refresh_access_token
from panel.signin.models import SalesforceConnection, SignedInConnection, UnreadableToken

__all__ = ["agent_client", "agent_connection", "integration_client", "oauth_settings", "renew_agent_token",
           "store_token"]

INTEGRATION_TOKEN_KEY = "panel:calls:integration-token"
INTEGRATION_TOKEN_CACHE_S = 3600
# How long a renewal lease outlives a holder that died: longer than one token request may take (connect and read
# timeouts), so a live holder never loses it.
RENEWAL_LEASE_S = 20.0


def oauth_settings() -> OAuthSettings:
    return current_app.extensions["panel.oauth_settings"]


def _client(instance_url: str, access_token: str, *, on_token_refreshed: Callable[[TokenResponse], None] | None,
            refresh_token: str | None = None,
            renew: Callable[[str], TokenResponse] | None = None) -> SalesforceClient:
    """Every client the panel acts with is made here, with the app's OAuth settings."""
    return SalesforceClient(instance_url, access_token, refresh_token=refresh_token, oauth=oauth_settings(),
                            renew=renew, on_token_refreshed=on_token_refreshed)


# -- an agent ---------------------------------------------------------------------------------------------------------

def agent_client(connection: SalesforceConnection | SignedInConnection, *, session=None) -> SalesforceClient:
    """A client acting as the agent of `connection`. Raises `UnreadableToken` when the stored tokens cannot be read.

    `session` is a job's session holding work of its own (`db.session`): it is committed before a renewal writes,
    because under SQLite's one-writer rule the job's session may hold the write lock (its call row is dirty) and
    the renewal's writes, on connections of their own, would wait for it. Committing the job's pending changes
    with the renewal is harmless: the job holds the call's lease and every later step re-reads the row. A request
    passes none: its session holds nothing written yet.
    """
    connection_id = connection.id

    def renew(expired_access_token: str) -> TokenResponse:
        if session is not None:
            session.commit()
        return renew_agent_token(connection_id, expired_access_token)

    return _client(connection.instance_url, connection.access_token, renew=renew, on_token_refreshed=None)


_RENEWALS = db.Table(
    "salesforce_token_renewals", db.metadata,
    Column("connection_id", Integer, primary_key=True, autoincrement=False),
    Column("holder", String(32)),
    Column("until", Float),  # epoch seconds: compares the same in every database
)
_TAKE_RENEWAL = update(_RENEWALS).where(
    _RENEWALS.c.connection_id == bindparam("connection"),
    or_(_RENEWALS.c.until.is_(None), _RENEWALS.c.until < bindparam("now"))).values(
    holder=bindparam("taker"), until=bindparam("lease_end"))
_GIVE_BACK_RENEWAL = update(_RENEWALS).where(
    _RENEWALS.c.connection_id == bindparam("connection"), _RENEWALS.c.holder == bindparam("giver")).values(
    holder=None, until=None)


def renew_agent_token(connection_id: int, expired_access_token: str) -> TokenResponse:
    """A live access token for the agent whose `expired_access_token` Salesforce refused: the one another process
    stored meanwhile, else a refreshed one, stored (with its rotated refresh token) before it is returned.

    Raises `ReconnectRequired` when the agent signed out meanwhile or Salesforce refuses the refresh token, and
    `SalesforceUnavailable` when Salesforce does not answer or another renewal outlasts two leases.
    """
    holder = uuid.uuid4().hex
    deadline = time.monotonic() + 2 * RENEWAL_LEASE_S
    delay = 0.02
    while True:
        renewed = _renewed_since(connection_id, expired_access_token)
        if renewed is not None:
            return renewed
        if _take_renewal(connection_id, holder):
            break
        if time.monotonic() > deadline:
            raise SalesforceUnavailable("the agent's Salesforce token is being renewed by another process")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)
    try:
        renewed = _renewed_since(connection_id, expired_access_token)  # read again now that the lease is held
        if renewed is not None:
            return renewed
        with Session(db.engine) as own:
            stored = own.get(SalesforceConnection, connection_id)
            refresh_token = stored.refresh_token if stored is not None else None
        if not refresh_token:
            raise ReconnectRequired("the access token expired and there is no refresh token to renew it",
                                    error_code="INVALID_SESSION_ID", status=401)
        token = refresh_access_token(oauth_settings(), refresh_token)
        with Session(db.engine) as own:
            store_token(own, connection_id, token)
        return token
    finally:
        autocommit(_GIVE_BACK_RENEWAL, {"connection": connection_id, "giver": holder})


def _renewed_since(connection_id: int, expired_access_token: str) -> TokenResponse | None:
    """The stored token when it is no longer the expired one (another process renewed it), else None. Raises
    `ReconnectRequired` when the agent signed out meanwhile (no tokens left to renew)."""
    with Session(db.engine) as own:
        stored = own.get(SalesforceConnection, connection_id)
        if stored is None or not stored.is_signed_in:
            raise ReconnectRequired("the agent signed out while the token was renewed", status=401)
        try:
            access_token = stored.access_token
        except UnreadableToken as error:
            raise ReconnectRequired("the stored tokens cannot be read with the current key", status=401) from error
        if access_token == expired_access_token:
            return None
        return TokenResponse(access_token=access_token, instance_url=stored.instance_url)


def _take_renewal(connection_id: int, holder: str) -> bool:
    """Take the connection's renewal lease: free or run out → one conditional UPDATE; never taken → its row."""
    now = time.time()
    lease_end = now + RENEWAL_LEASE_S
    if autocommit(_TAKE_RENEWAL, {"connection": connection_id, "taker": holder, "now": now,
                                  "lease_end": lease_end}) == 1:
        return True
    try:
        autocommit(insert(_RENEWALS).values(connection_id=connection_id, holder=holder, until=lease_end))
    except IntegrityError:  # the row exists: someone holds the lease
        return False
    return True


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

    client = _client(token.instance_url, token.access_token,
                     renew=lambda expired: fetch_integration_token(settings), on_token_refreshed=remember)
    parts = (token.identity_url or "").rstrip("/").split("/")
    return client, parts[-2] if len(parts) >= 2 else ""
