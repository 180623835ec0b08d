"""Signing in with Salesforce, and the per-request connection every Salesforce-backed view uses.

Sign-in is OAuth 2.0's web server flow with PKCE (S256) through authlib: `/auth/login` sends the browser to the
org's authorize page, `/auth/callback` exchanges the code, asks userinfo who signed in and stores the tokens
(encrypted) on that user's one `SalesforceConnection` row. The Flask session holds only the row's id.

For views:

- `login_required`: sends signed-out users to sign in (htmx requests get `HX-Redirect`), via `ReconnectRequired`
  and the handler in `panel.errors`.
- `current_connection()`: the signed-in user's connection as a read-only `SignedInConnection` (id, org_id, user_id,
  name, email, username, instance_url, tokens) or None.
- `get_salesforce()`: a `SalesforceClient` for that user, made once per request (cached on `g`). A refreshed
  access token is stored at once, in its own transaction, so the next request does not refresh again.
"""

from __future__ import annotations

from functools import wraps
from typing import Callable
from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, Flask, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from panel.extensions import db
from panel.signin.models import (SalesforceConnection, SignedInConnection, UnreadableToken, record_sign_in,
                          signed_in_connection)
from panel.salesforce.client import SalesforceClient
from panel.salesforce.errors import ReconnectRequired, SalesforceError, SalesforceUnavailable
from panel.salesforce.oauth import OAuthSettings, TokenResponse, fetch_identity, revoke_token

__all__ = ["bp", "current_connection", "get_salesforce", "init_app", "login_required", "oauth_settings"]

bp = Blueprint("auth", __name__, url_prefix="/auth")

SESSION_KEY = "connection_id"
_NEXT_KEY = "after_sign_in"


def init_app(app: Flask, settings: OAuthSettings) -> None:
    """Register the Salesforce OAuth client for this app's effective login URL."""
    app.extensions["panel.oauth_settings"] = settings
    oauth = OAuth(app)
    metadata = {}
    if not app.config["LOCALORG_ENABLED"]:
        metadata["jwks_uri"] = f"{settings.login_url}/id/keys"  # to verify the id_token the openid scope brings
    oauth.register(
        "salesforce",
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        authorize_url=settings.authorize_url,
        access_token_url=settings.token_url,
        client_kwargs={"scope": settings.scope, "code_challenge_method": "S256",
                       "token_endpoint_auth_method": "client_secret_post" if settings.client_secret else "none",
                       "default_timeout": settings.timeout},
        **metadata,
    )
    app.extensions["panel.oauth_client"] = oauth.salesforce


def oauth_settings() -> OAuthSettings:
    return current_app.extensions["panel.oauth_settings"]


# -- the connection of this request ------------------------------------------------------------------------------

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
        try:
            access_token, refresh_token = connection.access_token, connection.refresh_token
        except UnreadableToken as error:
            raise ReconnectRequired("the stored tokens cannot be read with the current key") from error
        connection_id = connection.id
        g.salesforce = SalesforceClient(
            connection.instance_url, access_token, refresh_token=refresh_token, oauth=oauth_settings(),
            on_token_refreshed=lambda token: _store_refreshed_token(connection_id, token))
    return g.salesforce


def _store_refreshed_token(connection_id: int, token: TokenResponse) -> None:
    """Persist a refreshed token in its own transaction: the request's session may hold unrelated changes."""
    with Session(db.engine) as own:
        connection = own.get(SalesforceConnection, connection_id)
        if connection is None:
            return
        connection.access_token = token.access_token
        connection.instance_url = token.instance_url
        if token.refresh_token:
            connection.refresh_token = token.refresh_token
        if token.issued_at:
            connection.issued_at = token.issued_at
        own.commit()


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


# -- views ---------------------------------------------------------------------------------------------------------

def _safe_next(target: str | None) -> str | None:
    """A same-site path to return to after sign-in; anything pointing elsewhere is ignored."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


safe_next = _safe_next  # for panel.signin.embed, which sends the popup back to the same places


@bp.route("/login", methods=["GET"])
def login():
    """Start the web server flow; authlib keeps the state and the PKCE verifier in the session.

    Inside a frame, Salesforce's login page would refuse to show: send the frame to the popup sign-in prompt."""
    after = _safe_next(request.args.get("next"))
    from panel.signin import embed

    if embed.is_framed_navigation():
        return redirect(embed.prompt_url(after)), 302, {"Vary": "Sec-Fetch-Dest"}
    if after:
        session[_NEXT_KEY] = after
    _drop_older_sign_ins()
    client = current_app.extensions["panel.oauth_client"]
    return client.authorize_redirect(url_for("auth.callback", _external=True))


PENDING_SIGN_INS_KEPT = 3


def _drop_older_sign_ins() -> None:
    """authlib keeps each started sign-in (state, PKCE verifier) in the session cookie for an hour and tidies up
    only after a completed one; a user who clicks "sign in" again and again would grow the cookie past the 4 KB
    browsers keep. Only the newest few (a sign-in per open tab) are worth keeping."""
    pending = sorted((key for key in session if key.startswith("_state_salesforce_")),
                     key=lambda key: (session[key] or {}).get("exp") or 0, reverse=True)
    for key in pending[PENDING_SIGN_INS_KEPT - 1:]:
        session.pop(key, None)


@bp.route("/callback", methods=["GET"])
def callback():
    client = current_app.extensions["panel.oauth_client"]
    try:
        raw_token = client.authorize_access_token()
    except MismatchingStateError:
        if current_connection() is not None:  # the callback reloaded (back button) after signing in: carry on
            return redirect(url_for("sidebar.show_panel"))
        return _sign_in_failed(_("This sign-in link has expired or was opened in another browser. "
                                 "Please sign in again."))
    except OAuthError as error:
        return _sign_in_failed(_("Salesforce did not complete the sign-in (%(reason)s). Please sign in again.",
                                 reason=error.error or "error"))
    except (requests.RequestException, ValueError) as error:
        raise SalesforceUnavailable("the token exchange did not complete") from error
    try:
        token = TokenResponse.from_response(raw_token)
        identity = fetch_identity(token.instance_url, token.access_token, timeout=oauth_settings().timeout)
    except SalesforceUnavailable:
        raise
    except SalesforceError as error:
        current_app.logger.warning("sign-in: %s", error.message)
        return _sign_in_failed(_("Salesforce signed you in but did not say who you are. Please sign in again."))
    connection, replaced = record_sign_in(identity, token)
    if replaced:
        revoke_token(oauth_settings(), replaced)
    after = session.get(_NEXT_KEY)
    session.clear()  # a new session for the signed-in user: nothing from before sign-in carries over
    session[SESSION_KEY] = connection.id
    session.permanent = True
    return redirect(_safe_next(after) or url_for("sidebar.show_panel"))


def _sign_in_failed(message: str):
    return render_template("sign_in_failed.html", message=message), 400


@bp.route("/logout", methods=["POST"])
def logout():
    """Revoke the grant at Salesforce (the refresh token takes its access tokens with it) and sign out here."""
    connection = current_connection()
    if connection is not None:
        try:
            token = connection.refresh_token or connection.access_token
        except UnreadableToken:
            token = None
        if token:
            revoke_token(oauth_settings(), token)
        forget_current_tokens()
    session.clear()
    g.pop("panel_connection", None)
    target = url_for("auth.signed_out")
    if request.headers.get("HX-Request") == "true":
        return "", 204, {"HX-Redirect": target}
    return redirect(target)


@bp.route("/signed-out", methods=["GET"])
def signed_out():
    return render_template("signed_out.html")
