"""Signing in inside a dialer's cross-site iframe, where third-party cookies may be blocked.

Salesforce's login page refuses to be framed, and a browser that blocks third-party cookies would drop the panel's
session cookie inside the dialer's page anyway. So the iframe never signs in itself:

1. The iframe shows a sign-in prompt (`GET /embed/prompt`; `/auth/login` sends framed navigations there). Its
   button opens `GET /embed/sign-in` in a popup, on a user gesture so no popup blocker stops it.
2. The popup is a top-level window of the panel's own site, where cookies work: it runs the normal OAuth sign-in
   (or reuses the sign-in it already has) and then shows a page holding a **one-time code** (60 s, stored hashed).
   `static/js/embed.js` in the popup posts the code to `window.opener` with the panel's own origin as the target,
   so only a panel page can receive it, and closes the popup.
3. The iframe posts the code to `POST /embed/exchange` (same origin only). The answer starts the iframe's own
   session (a server-side session of its own, `embed`, see panel.signin.session) with two carriers: a partitioned
   `__Host-` cookie (`Secure; SameSite=None; Partitioned`, see panel.config), which browsers with CHIPS keep even
   with third-party cookies blocked, **and** a short-lived signed token. When the cookie does not come back
   (`GET /embed/session` without the token says signed out), embed.js keeps the token in memory only and sends it
   with every htmx request as `X-Panel-Session`; each answer carries a fresh one (a sliding expiry of
   `PANEL_EMBED_TOKEN_TTL_S`), so a stolen token is good for minutes, and closing the panel forgets it.

`PanelSessionInterface` makes the token an alternative carrier of the ordinary Flask session: views, CSRF and
`panel.signin.session` see one `session` whichever way it arrived. An answer to a token-carried request never sets
the session cookie: the token's minutes are that session's whole life in that browser. A token whose session has
ended (signed out, grant revoked) is refused at once, like a cookie, and not renewed.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time

from flask import Blueprint, Flask, current_app, g, jsonify, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import generate_csrf
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import Integer, String, delete
from sqlalchemy.orm import Mapped, mapped_column

from panel.extensions import csrf, db
from panel.signin.models import SalesforceConnection
from panel.signin.session import begin_session, current_connection, safe_next, signed_in_before

__all__ = ["PanelSessionInterface", "SignInCode", "bp", "consume_code", "init_app", "is_framed_navigation",
           "issue_code", "prompt_url"]

bp = Blueprint("embed", __name__, url_prefix="/embed")

TOKEN_HEADER = "X-Panel-Session"
TOKEN_SALT = "panel-embed-session-token"
CODE_TTL_S = 60
DEFAULT_TOKEN_TTL_S = 900
MAX_CODE_LENGTH = 200


# -- the session: cookie or in-memory token ------------------------------------------------------------------------

COOKIE_REFRESH_S = 3600


def _now() -> float:
    return time.time()


class PanelSession(SecureCookieSession):
    """The Flask session, remembering whether it arrived as a token (then every answer carries a fresh one) and,
    from a cookie, when that cookie was signed."""

    via_token = False
    signed_at: float | None = None


class PanelSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, also accepted from the `X-Panel-Session` header (the token fallback).

    The token is the same signed session under its own salt and a short `max_age`; a missing, forged or expired
    token falls back to the cookie, so a request is never worse off for carrying one.
    """

    session_class = PanelSession

    def token_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        return URLSafeTimedSerializer(app.secret_key, salt=TOKEN_SALT, serializer=self.serializer,
                                      signer_kwargs={"key_derivation": self.key_derivation,
                                                     "digest_method": self.digest_method})

    def open_session(self, app: Flask, request) -> PanelSession | None:
        token = request.headers.get(TOKEN_HEADER)
        serializer = self.token_serializer(app) if token else None  # built only when needed: most requests have none
        if serializer is not None:
            try:
                data = serializer.loads(token, max_age=token_ttl(app))
            except BadSignature:
                data = None
            if isinstance(data, dict):
                opened = self.session_class(data)
                opened.via_token = True
                return opened
        return self._open_cookie(app, request)

    def _open_cookie(self, app: Flask, request) -> PanelSession | None:
        """Flask's own cookie reading, also keeping the time the cookie was signed (see `should_set_cookie`)."""
        if not app.secret_key:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:  # a webhook, a first visit: no serializer to build
            return self.session_class()
        lifetime = int(app.permanent_session_lifetime.total_seconds())
        try:
            data, signed = self.get_signing_serializer(app).loads(value, max_age=lifetime, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        opened = self.session_class(data)
        opened.signed_at = signed.timestamp()
        return opened

    def should_set_cookie(self, app: Flask, session: PanelSession) -> bool:
        """Never for a token-carried session; a changed session always; an unchanged permanent one once its cookie
        is an hour old.

        A request that brought the token is answered with a fresh token only: a cookie would outlive the token's
        minutes by a month.

        Flask re-signs a permanent session's cookie on every answer to slide its expiry; the panel's htmx requests
        would then pay for signing (and send) a cookie dozens of times a minute for a month-long lifetime that an
        hour's precision serves as well."""
        if session.via_token:
            return False
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        return session.signed_at is None or _now() - session.signed_at >= COOKIE_REFRESH_S

    def save_session(self, app: Flask, session: PanelSession, response) -> None:
        """The cookie as Flask sets it, except for a token-carried session (not even its deletion: the request
        brought no cookie of this session); and a fresh token when the request brought one or the exchange starts
        one, unless the request found that session ended (nothing to renew)."""
        if not session.via_token:
            super().save_session(app, session, response)
        wanted = session.via_token or g.get("panel_issue_token")
        if wanted and session and g.get("panel_connection", True) is not None:
            response.headers[TOKEN_HEADER] = self.make_token(app, session)
            response.headers["Cache-Control"] = "no-store"

    def make_token(self, app: Flask, data) -> str:
        return self.token_serializer(app).dumps(dict(data))


def token_ttl(app: Flask | None = None) -> int:
    return int((app or current_app).config.get("PANEL_EMBED_TOKEN_TTL_S") or DEFAULT_TOKEN_TTL_S)


# -- one-time sign-in codes ----------------------------------------------------------------------------------------

class SignInCode(db.Model):
    """A code the popup hands to the iframe: good once, for `CODE_TTL_S`, stored only as its SHA-256."""

    __tablename__ = "embed_sign_in_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    connection_id: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[int] = mapped_column(Integer)


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def issue_code(connection_id: int, *, now: float | None = None) -> str:
    moment = int(now if now is not None else time.time())
    code = secrets.token_urlsafe(32)
    db.session.execute(delete(SignInCode).where(SignInCode.expires_at <= moment))
    db.session.add(SignInCode(code_hash=_digest(code), connection_id=connection_id, expires_at=moment + CODE_TTL_S))
    db.session.commit()
    return code


def consume_code(code: str, *, now: float | None = None) -> int | None:
    """The connection the code was issued for, or None when unknown, expired or already used. The delete's row
    count decides, so two exchanges racing for one code cannot both win."""
    moment = int(now if now is not None else time.time())
    row = db.session.get(SignInCode, _digest(code))
    if row is None:
        return None
    connection_id = row.connection_id
    deleted = db.session.execute(delete(SignInCode).where(SignInCode.code_hash == row.code_hash,
                                                          SignInCode.expires_at > moment)).rowcount
    db.session.commit()
    return connection_id if deleted == 1 else None


# -- helpers for other views ---------------------------------------------------------------------------------------

def is_framed_navigation() -> bool:
    """The browser is loading this page inside a frame (Fetch Metadata), where Salesforce's login cannot show."""
    return request.headers.get("Sec-Fetch-Dest") in ("iframe", "frame")


def prompt_url(after: str | None) -> str:
    return url_for("embed.prompt", next=after) if after else url_for("embed.prompt")


def allowed_origins() -> list[str]:
    """PANEL_FRAME_ANCESTORS for embed.js's postMessage checks, with 'self' spelled out as this origin."""
    own = request.host_url.rstrip("/")
    return list(dict.fromkeys(own if source == "'self'" else source
                              for source in current_app.config["PANEL_FRAME_ANCESTORS"] if source != "'none'"))


def init_app(app: Flask) -> None:
    app.session_interface = PanelSessionInterface()
    app.config.setdefault("PANEL_EMBED_TOKEN_TTL_S", DEFAULT_TOKEN_TTL_S)

    @app.context_processor
    def _embed_settings() -> dict:
        return {"embed_allowed_origins": lambda: json.dumps(allowed_origins())}


def _json_error(message: str, field: str | None, status: int):
    return jsonify(error=message, field=field), status


def _same_origin_request() -> bool:
    return request.headers.get("Origin", "") == request.host_url.rstrip("/")


def _reconnecting() -> bool:
    """This browser's session was signed in with a grant that is gone (revoked or expired): say "reconnect", not
    "sign in"."""
    connection = signed_in_before()
    return connection is not None and not connection.is_signed_in


# -- views ---------------------------------------------------------------------------------------------------------

@bp.route("/prompt", methods=["GET"])
def prompt():
    """The iframe's sign-in (or reconnect) prompt, `embed_prompt.html`: a button that opens the popup."""
    after = safe_next(request.args.get("next")) or url_for("sidebar.show_panel")
    if current_connection() is not None:
        return redirect(after)
    return render_template("embed_prompt.html", after=after, reconnect=_reconnecting(),
                           popup_url=url_for("embed.sign_in_popup"), login_url=url_for("auth.login", next=after))


@bp.route("/sign-in", methods=["GET"])
def sign_in_popup():
    """In the popup: sign in (first-party, cookies work here), then `embed_signed_in.html` hands a one-time code to
    the opener."""
    connection = current_connection()
    if connection is None:
        return redirect(url_for("auth.login", next=url_for("embed.sign_in_popup")))
    return render_template("embed_signed_in.html", code=issue_code(connection.id),
                           panel_url=url_for("sidebar.show_panel"))


@bp.route("/exchange", methods=["POST"])
@csrf.exempt  # the one-time code is the proof; a cross-site page cannot send this request (Origin check)
def exchange():
    """Trade the popup's one-time code for this iframe's own session (partitioned cookie + token), answered as
    JSON. The code is the proof here, not a token the request may carry: the answer sets both carriers."""
    if not _same_origin_request():
        return _json_error("the exchange must come from the panel's own pages", "Origin", 403)
    body = request.get_json(silent=True)
    code = body.get("code") if isinstance(body, dict) else None
    if not isinstance(code, str) or not code or len(code) > MAX_CODE_LENGTH or not code.isascii():
        return _json_error("code is missing or malformed", "code", 400)
    connection_id = consume_code(code)
    connection = db.session.get(SalesforceConnection, connection_id) if connection_id is not None else None
    if connection is None or not connection.is_signed_in:
        return _json_error("the sign-in code is invalid, expired or already used; sign in again", "code", 400)
    begin_session(connection.id, "embed")
    session.via_token = False
    g.panel_issue_token = True
    csrf_token = generate_csrf()
    token = current_app.session_interface.make_token(current_app, session)
    return jsonify(token=token, csrf_token=csrf_token, expires_in=token_ttl())


@bp.route("/session", methods=["GET"])
def session_state():
    """Whether this request is signed in. embed.js asks without its token to learn whether the partitioned
    cookie works, and with it to keep the token fresh while the panel stays open."""
    signed_in = current_connection() is not None
    body = {"signed_in": signed_in, "csrf_token": generate_csrf() if signed_in else None,
            "expires_in": token_ttl()}
    return jsonify(body)
