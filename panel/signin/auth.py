"""Signing in with Salesforce: the sign-in views (`/auth/login`, `/auth/callback`, `/auth/logout`).

Sign-in is OAuth 2.0's web server flow with PKCE (S256) through authlib: `/auth/login` sends the browser to the
org's authorize page, `/auth/callback` exchanges the code, asks userinfo who signed in and stores the tokens
(encrypted) on that user's one `SalesforceConnection` row, then starts this browser's own session on the server
(`panel.signin.session.begin_session`); the Flask session holds only that session's id. `/auth/logout` revokes the
grant at Salesforce, which ends every session of the user (they all acted with it), this one included.

What other views use (who is signed in, `login_required`, this request's Salesforce client) is in
`panel.signin.session`; a framed page signs in through `panel.signin.embed`'s popup instead.
"""

from __future__ import annotations

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, Flask, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from panel.salesforce.errors import SalesforceError, SalesforceUnavailable
from panel.salesforce.oauth import OAuthSettings, TokenResponse, fetch_identity, revoke_token
from panel.signin import embed
from panel.signin.connections import oauth_settings
from panel.signin.models import UnreadableToken, record_sign_in
from panel.signin.session import (begin_session, current_connection, end_current_session, forget_current_tokens,
                                  safe_next)
from panel.web import is_htmx

__all__ = ["bp", "init_app"]

bp = Blueprint("auth", __name__, url_prefix="/auth")

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


# -- views ---------------------------------------------------------------------------------------------------------

@bp.route("/login", methods=["GET"])
def login():
    """Start the web server flow: a redirect to the org's authorize page; authlib keeps the state and the PKCE
    verifier in the session.

    Inside a frame, Salesforce's login page would refuse to show: send the frame to the popup sign-in prompt
    (`/embed/prompt`)."""
    after = safe_next(request.args.get("next"))
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
    """Finish the sign-in: a redirect to the panel (or where the sign-in started), or `sign_in_failed.html` (400)
    saying what to do."""
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
    begin_session(connection.id, "sign-in")  # a new session: nothing from before sign-in carries over
    return redirect(safe_next(after) or url_for("sidebar.show_panel"))


def _sign_in_failed(message: str):
    return render_template("sign_in_failed.html", message=message), 400


@bp.route("/logout", methods=["POST"])
def logout():
    """Revoke the grant at Salesforce (the refresh token takes its access tokens with it), which ends every
    session of the user, and end this one whatever the grant's state; then to `/auth/signed-out` (a redirect, or
    `HX-Redirect` for htmx)."""
    connection = current_connection()
    if connection is not None:
        try:
            token = connection.refresh_token or connection.access_token
        except UnreadableToken:
            token = None
        if token:
            revoke_token(oauth_settings(), token)
        forget_current_tokens()
    end_current_session()
    target = url_for("auth.signed_out")
    if is_htmx():
        return "", 204, {"HX-Redirect": target}
    return redirect(target)


@bp.route("/signed-out", methods=["GET"])
def signed_out():
    """`signed_out.html`."""
    return render_template("signed_out.html")
