"""Who is signed in on this browser, and their Salesforce client for this request: what every other view uses.

The Flask session holds only the id of the user's `SalesforceConnection` row (`SESSION_KEY`), whichever way it
arrived (cookie, or the embedded panel's token: panel.signin.embed). The sign-in views themselves are in
`panel.signin.auth` and `panel.signin.embed`; other packages import this module, never those.

- `login_required`: sends signed-out users to sign in (htmx requests get `HX-Redirect`), via `ReconnectRequired`
  and the handler in `panel.errors`.
- `current_connection()`: the signed-in user's connection as a read-only `SignedInConnection` (id, org_id, user_id,
  name, email, username, instance_url, tokens) or None.
- `get_salesforce()`: a `SalesforceClient` for that user, made once per request (cached on `g`). A refreshed
  access token is stored at once (panel.signin.connections), so the next request does not refresh again.
- `forget_current_tokens()`: the grant is gone; `safe_next()`: where a sign-in may send the browser afterwards.
"""

from __future__ import annotations

from functools import wraps
from typing import Callable
from urllib.parse import urlsplit

from flask import g, session
from sqlalchemy.orm import Session

from panel.extensions import db
from panel.salesforce.client import SalesforceClient
from panel.salesforce.errors import ReconnectRequired
from panel.signin import connections
from panel.signin.models import SalesforceConnection, SignedInConnection, UnreadableToken, signed_in_connection

__all__ = ["SESSION_KEY", "SignedOut", "current_connection", "forget_current_tokens", "get_salesforce",
           "login_required", "safe_next"]

SESSION_KEY = "connection_id"


class SignedOut(ReconnectRequired):
    """Nobody is signed in on this browser (as opposed to a grant Salesforce stopped honouring)."""


def current_connection() -> SignedInConnection | None:
    """The signed-in user's connection, or None when signed out (or signed out elsewhere). Read once per request,
    as committed at that moment, outside the request's transaction (a warm screen pop opens none)."""
    if "panel_connection" not in g:
        connection_id = session.get(SESSION_KEY)
        g.panel_connection = signed_in_connection(connection_id) if isinstance(connection_id, int) else None
    return g.panel_connection


def login_required(view: Callable) -> Callable:
    """Only signed-in users reach the view; others are sent to sign in (see panel.errors)."""
    @wraps(view)
    def guarded(*args, **kwargs):
        if current_connection() is None:
            raise SignedOut("not signed in")
        return view(*args, **kwargs)
    return guarded


def get_salesforce() -> SalesforceClient:
    """The signed-in user's Salesforce client for this request. Raises ReconnectRequired when signed out."""
    if "salesforce" not in g:
        connection = current_connection()
        if connection is None:
            raise SignedOut("not signed in")
        try:  # a renewed token is stored at once, in a transaction of its own (panel.signin.connections)
            g.salesforce = connections.agent_client(connection)
        except UnreadableToken as error:
            raise ReconnectRequired("the stored tokens cannot be read with the current key") from error
    return g.salesforce


def forget_current_tokens() -> None:
    """The grant is gone (revoked, expired, unreadable): drop the tokens so the next request goes straight to
    sign-in instead of asking Salesforce again."""
    connection_id = session.get(SESSION_KEY)
    if not isinstance(connection_id, int):
        return
    with Session(db.engine) as own:
        connection = own.get(SalesforceConnection, connection_id)
        if connection is not None and connection.is_signed_in:
            connection.forget_tokens()
            own.commit()
    g.pop("panel_connection", None)
    g.pop("salesforce", None)


def safe_next(target: str | None) -> str | None:
    """A same-site path to return to after sign-in; anything pointing elsewhere is ignored."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None
