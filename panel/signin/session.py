"""Who is signed in on this browser, and their Salesforce client for this request: what every other view uses.

The Flask session holds only the id of this browser's own server-side session (`SESSION_KEY`; panel.signin.models
`StoredSession`), whichever way it arrived (cookie, or the embedded panel's token: panel.signin.embed), never the
user's connection row, which every browser of theirs shares. Every request checks that session (one read, joining
the connection): revoked, unknown or idle for longer than the cookie lives, it is signed out. A cookie from before
sessions were kept on the server holds `connection_id` instead and reads as signed out. The sign-in views
themselves are in `panel.signin.auth` and `panel.signin.embed`; other packages import this module, never those.

- `login_required`: sends signed-out users to sign in (htmx requests get `HX-Redirect`), via `ReconnectRequired`
  and the handler in `panel.errors`.
- `current_connection()`: the signed-in user's connection as a read-only `SignedInConnection` (id, org_id, user_id,
  name, email, username, instance_url, tokens) or None.
- `get_salesforce()`: a `SalesforceClient` for that user, made once per request (cached on `g`). A refreshed
  access token is stored at once (panel.signin.connections), so the next request does not refresh again.
- `begin_session(...)` / `end_current_session()`: what the sign-in views call to start and end this browser's session.
- `forget_current_tokens()`: the grant is gone (every session of the user ends with it); `safe_next()`: where a
  sign-in may send the browser afterwards.
"""

from __future__ import annotations

from functools import wraps
from typing import Callable
from urllib.parse import urlsplit

from flask import current_app, g, session
from sqlalchemy.orm import Session

from panel.extensions import db
from panel.salesforce.client import SalesforceClient
from panel.salesforce.errors import ReconnectRequired
from panel.signin import connections
from panel.signin.models import (SalesforceConnection, SignedInConnection, UnreadableToken, end_session,
                                 session_connection, signed_in_connection, start_session)

__all__ = ["SESSION_KEY", "SignedOut", "begin_session", "current_connection", "end_current_session",
           "forget_current_tokens", "get_salesforce", "login_required", "safe_next", "signed_in_before"]

SESSION_KEY = "session_id"
_KEPT_ACROSS_SIGN_IN = ("lang",)  # the language the page was asked in; nothing else from before sign-in


class SignedOut(ReconnectRequired):
    """Nobody is signed in on this browser (as opposed to a grant Salesforce stopped honouring)."""


def current_connection() -> SignedInConnection | None:
    """The signed-in user's connection, or None when signed out (or signed out elsewhere). Read once per request,
    as committed at that moment, outside the request's transaction (a warm screen pop opens none)."""
    if "panel_connection" not in g:
        session_id = session.get(SESSION_KEY)
        g.panel_connection = (signed_in_connection(session_id, idle_limit=current_app.permanent_session_lifetime)
                              if isinstance(session_id, str) else None)
    return g.panel_connection


def begin_session(connection_id: int, started_via: str) -> None:
    """Sign this browser in as the connection's user with a session of its own (`sign-in`, or `embed` for an
    iframe's exchange): a fresh Flask session carrying only the new session's id."""
    kept = {key: session[key] for key in _KEPT_ACROSS_SIGN_IN if key in session}
    session.clear()
    session.update(kept)
    session[SESSION_KEY] = start_session(connection_id, started_via,
                                         idle_limit=current_app.permanent_session_lifetime)
    session.permanent = True
    g.pop("panel_connection", None)


def end_current_session() -> None:
    """Sign this browser out: its session is revoked on the server (a copy of its cookie or token is refused from
    now on) and the Flask session emptied."""
    session_id = session.get(SESSION_KEY)
    if isinstance(session_id, str):
        end_session(session_id)
    session.clear()
    g.panel_connection = None
    g.pop("salesforce", None)


def signed_in_before() -> SalesforceConnection | None:
    """The connection this browser's session was signed in with, even when that session has ended: the sign-in
    prompt says "reconnect" rather than "sign in" when its grant is gone."""
    session_id = session.get(SESSION_KEY)
    return session_connection(session_id) if isinstance(session_id, str) else None


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
    sign-in instead of asking Salesforce again, and end every session of the user, here and in their other
    browsers: they all acted with this grant, and stay ended when the user signs in again."""
    connection = current_connection()
    if connection is None:
        return
    with Session(db.engine) as own:
        stored = own.get(SalesforceConnection, connection.id)
        if stored is not None and stored.is_signed_in:
            stored.forget_tokens()
            own.commit()
    g.panel_connection = None  # this session ended with the others: the answer renews no token
    g.pop("salesforce", None)


def safe_next(target: str | None) -> str | None:
    """A same-site path to return to after sign-in; anything pointing elsewhere is ignored."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None
