"""OAuth 2.0 as Salesforce serves it: web server flow with PKCE, refresh tokens, client credentials, JWT bearer,
revocation.

There is one client, the panel's own (`panel-local` / `panel-local-secret`). Its redirect URIs may be any path on a
loopback host (`http://127.0.0.1:<port>/…`, `http://localhost:<port>/…`), so the app can run on any port; any
other redirect URI, or any other client, gets an error page and is never redirected to.

Token responses have Salesforce's shape (`access_token`, `refresh_token` for the web server flow only,
`signature`, `scope`, `instance_url`, `id`, `token_type`, `issued_at` in milliseconds, and no `expires_in`).
The JWT bearer flow is served too, once a certificate (or RSA public key) is uploaded for the client through
`POST /_admin/connected_app` or the `JWT_PUBLIC_KEY` setting. Tokens are stored as SHA-256 digests. Access tokens
live `TOKEN_TTL_S` seconds of org time. Like Salesforce, a user keeps at most five refresh tokens for the app:
issuing a sixth revokes the oldest, with its access tokens.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from typing import Optional
from urllib.parse import urlencode, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Blueprint, Response, jsonify, render_template, request
from flask_wtf.csrf import generate_csrf, validate_csrf
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from wtforms import ValidationError

from . import org_shape, seed
from .context import current_org, instance_url
from .store import Store

CLIENT_ID = "panel-local"
CLIENT_SECRET = "panel-local-secret"
CODE_TTL_S = 15 * 60
REFRESH_TOKENS_PER_USER = 5
DEFAULT_SCOPE = "api refresh_token id"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_AUDIENCE = "https://login.salesforce.com"  # a production org's login server (a sandbox's: test.salesforce.com)
JWT_MAX_LIFETIME_S = 3 * 60 + 30  # Salesforce wants exp within three minutes; a little clock skew is tolerated
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}

bp = Blueprint("oauth", __name__, url_prefix="/services/oauth2")


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


@bp.before_request
def _count():
    """OAuth calls are not API requests; they are counted apart so tests can see refreshes."""
    current_org().store.increment(f"oauth:{request.endpoint.rpartition('.')[2]}")


@bp.errorhandler(OAuthError)
def _oauth_error(error: OAuthError):
    return jsonify(error=error.error, error_description=error.description), error.status


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def redirect_uri_allowed(client_id: str, redirect_uri: str) -> bool:
    if client_id != CLIENT_ID or not isinstance(redirect_uri, str):
        return False
    try:
        parts = urlsplit(redirect_uri)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and parts.hostname in _LOOPBACK_HOSTS and not parts.username \
        and not parts.password


# -- the sign-in page ----------------------------------------------------------------------------------------

_AUTHORIZE_PARAMS = ("response_type", "client_id", "redirect_uri", "state", "code_challenge",
                     "code_challenge_method", "scope", "prompt")


@bp.route("/authorize", methods=["GET", "POST"])
def authorize():
    source = request.form if request.method == "POST" else request.args
    params = {name: source.get(name, "") for name in _AUTHORIZE_PARAMS}
    if params["client_id"] != CLIENT_ID:
        return _error_page("不明なクライアントです (invalid client_id)。", 400)
    if not redirect_uri_allowed(params["client_id"], params["redirect_uri"]):
        return _error_page("リダイレクト URI が登録されていません (redirect_uri_mismatch)。", 400)
    if params["response_type"] != "code":
        return _redirect_back(params, error="unsupported_response_type",
                              error_description="response type not supported")
    if params["code_challenge"] and params["code_challenge_method"] not in ("", "S256"):
        return _redirect_back(params, error="invalid_request",
                              error_description="code_challenge_method must be S256")
    store = current_org().store
    if request.method == "GET":
        return _sign_in_page(store, params)
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return _sign_in_page(store, params, "フォームの有効期限が切れました。もう一度お試しください。", 400)
    user = find_user(store, request.form.get("username", ""))
    if user is None:
        return _sign_in_page(store, params, "そのユーザーは見つかりません。", 400)
    code = "aPrx" + secrets.token_urlsafe(32)
    with store.transaction() as conn:
        conn.execute("INSERT INTO oauth_codes (code, user_id, client_id, redirect_uri, code_challenge, scope, "
                     "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (_digest(code), user["Id"], CLIENT_ID, params["redirect_uri"],
                      params["code_challenge"] or None, params["scope"] or DEFAULT_SCOPE, store.now() + CODE_TTL_S))
    return _redirect_back(params, code=code)


def _sign_in_page(store: Store, params: dict, error: Optional[str] = None, status: int = 200):
    users = [u for u in store.rows("User") if u["IsActive"] and u["Username"] != seed.INTEGRATION_USERNAME]
    nonce = secrets.token_urlsafe(16)
    html = render_template("localorg/authorize.html", params=params, users=users, error=error,
                           csrf_token=generate_csrf(), typed=request.form.get("username", ""), nonce=nonce)
    return Response(html, status=status, mimetype="text/html",
                    headers={"Content-Security-Policy": _page_policy(nonce, _origin(params["redirect_uri"]))})


def _error_page(message: str, status: int):
    nonce = secrets.token_urlsafe(16)
    return Response(render_template("localorg/authorize_error.html", message=message, nonce=nonce), status=status,
                    mimetype="text/html", headers={"Content-Security-Policy": _page_policy(nonce, None)})


def _page_policy(nonce: str, redirect_origin: Optional[str]) -> str:
    """The sign-in page's policy: its own style block only, no script, never framed. Its form posts to the page,
    which sends the browser on to the (already checked) redirect URI; browsers hold that redirect to form-action
    too, so its origin is listed."""
    form_action = f"'self' {redirect_origin}" if redirect_origin else "'none'"
    return (f"default-src 'none'; style-src 'nonce-{nonce}'; base-uri 'none'; form-action {form_action}; "
            f"frame-ancestors 'none'")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _redirect_back(params: dict, **answer: str) -> Response:
    if params["state"]:
        answer["state"] = params["state"]
    separator = "&" if urlsplit(params["redirect_uri"]).query else "?"
    return Response(status=302, headers={"Location": params["redirect_uri"] + separator + urlencode(answer)})


def find_user(store: Store, typed: str) -> Optional[dict]:
    wanted = (typed or "").strip().lower()
    if not wanted:
        return None
    return next((u for u in store.rows("User") if u["IsActive"]
                 and wanted in ((u["Username"] or "").lower(), (u["Email"] or "").lower())), None)


# -- the token endpoint ----------------------------------------------------------------------------------------

@bp.route("/token", methods=["POST"])
def token():
    form = request.form
    store = current_org().store
    if form.get("grant_type") == JWT_BEARER_GRANT:  # the signed assertion names the client; no secret is sent
        return jsonify(_grant_jwt_bearer(store, form.get("assertion", "")))
    client_id, client_secret, by_header = _client_credentials()
    if client_id != CLIENT_ID:
        raise OAuthError("invalid_client_id", "client identifier invalid", 401 if by_header else 400)
    grant_type = form.get("grant_type", "")
    if client_secret is not None and not hmac.compare_digest(client_secret.encode(), CLIENT_SECRET.encode()):
        raise OAuthError("invalid_client", "invalid client credentials", 401 if by_header else 400)
    store = current_org().store
    if grant_type == "authorization_code":
        return jsonify(_grant_authorization_code(store, form))
    if grant_type == "refresh_token":
        return jsonify(_grant_refresh_token(store, form.get("refresh_token", "")))
    if grant_type == "client_credentials":
        if client_secret is None:
            raise OAuthError("invalid_client", "invalid client credentials", 401 if by_header else 400)
        user = find_user(store, seed.INTEGRATION_USERNAME)
        return jsonify(_issue(store, user, "api id", with_refresh=False))
    raise OAuthError("unsupported_grant_type", "grant type not supported")


def jwt_public_key(store: Store) -> Optional[RSAKey]:
    """The key of the certificate uploaded to the connected app (`/_admin/connected_app`), if any."""
    pem = store.meta("jwt_public_key") or current_org().jwt_public_key
    return RSAKey.import_key(pem) if pem else None


def public_key_pem(text: str) -> str:
    """The PEM public key of an X.509 certificate or of a public key, as Salesforce takes a certificate upload.
    Raises ValueError for anything else."""
    data = text.encode() if isinstance(text, str) else b""
    if b"BEGIN CERTIFICATE" in data:
        key = x509.load_pem_x509_certificate(data).public_key()
    else:
        key = serialization.load_pem_public_key(data)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the key must be an RSA key")
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _grant_jwt_bearer(store: Store, assertion: str) -> dict:
    """OAuth 2.0 JWT bearer flow as Salesforce checks it (help.salesforce.com, remoteaccess_oauth_jwt_flow.htm):
    an RS256 assertion signed with the key of the connected app's certificate, `iss` = the client id, `aud` = the
    login server, `sub` = an active user's username, `exp` no more than three minutes ahead. No refresh token is
    issued. The audience is https://login.salesforce.com (https://test.salesforce.com for a sandbox, or an
    Experience Cloud site URL), never the org's My Domain: this org is a production org, so only
    `JWT_AUDIENCE` is accepted and anything else, its own URL included, is "audience is invalid"."""
    key = jwt_public_key(store)
    if key is None:
        raise OAuthError("invalid_grant", "no certificate is uploaded for this connected app")
    try:
        claims = jwt.decode(assertion, key, algorithms=["RS256"]).claims
    except (JoseError, ValueError, TypeError):
        raise OAuthError("invalid_grant", "invalid assertion") from None
    if claims.get("iss") != CLIENT_ID:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if claims.get("aud") not in (JWT_AUDIENCE, JWT_AUDIENCE + "/"):
        raise OAuthError("invalid_grant", "audience is invalid")
    expires = claims.get("exp")
    if isinstance(expires, bool) or not isinstance(expires, (int, float)) or expires <= store.now():
        raise OAuthError("invalid_grant", "expired assertion")
    if expires > store.now() + JWT_MAX_LIFETIME_S:
        raise OAuthError("invalid_grant", "the assertion must expire within three minutes")
    user = find_user(store, str(claims.get("sub") or ""))
    if user is None:
        raise OAuthError("invalid_grant", "user hasn't approved this consumer")
    return _issue(store, user, "api id", with_refresh=False)


def _client_credentials() -> tuple[str, Optional[str], bool]:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError("invalid_client", "invalid client credentials", 401) from None
        client_id, _, client_secret = decoded.partition(":")
        return client_id, client_secret, True
    return request.form.get("client_id", ""), request.form.get("client_secret"), False


def _grant_authorization_code(store: Store, form) -> dict:
    code, verifier = form.get("code", ""), form.get("code_verifier")
    with store.transaction() as conn:
        found = conn.execute("SELECT user_id, redirect_uri, code_challenge, scope, expires_at, used "
                             "FROM oauth_codes WHERE code = ?", (_digest(code),)).fetchone()
        if found is None or found[5] or found[4] < store.now():
            raise OAuthError("invalid_grant", "invalid authorization code")
        conn.execute("UPDATE oauth_codes SET used = 1 WHERE code = ?", (_digest(code),))
    user_id, redirect_uri, challenge, scope = found[:4]
    if form.get("redirect_uri", "") != redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri must match configuration")
    if challenge:
        expected = base64.urlsafe_b64encode(hashlib.sha256((verifier or "").encode()).digest()).rstrip(b"=")
        if not verifier or not hmac.compare_digest(expected.decode(), challenge):
            raise OAuthError("invalid_grant", "invalid code verifier")
    elif verifier:
        raise OAuthError("invalid_grant", "invalid code verifier")
    user = store.row(user_id)
    scopes = scope.split()
    return _issue(store, user, scope, with_refresh="refresh_token" in scopes or "offline_access" in scopes
                  or "full" in scopes)


# `revoked` of a refresh token: live, revoked (by /revoke, the cap, or its grant's revocation), or invalidated by
# rotation (used once already: using it again revokes its whole grant).
LIVE, REVOKED, ROTATED = 0, 1, 2


def _grant_refresh_token(store: Store, refresh_token: str) -> dict:
    """The refresh token flow. With refresh token rotation on (`refresh_token_rotation` in the org shape), as
    Salesforce documents it (help.salesforce.com/s/articleView?id=005316711, "Force one-time-use Refresh Tokens";
    remoteaccess_oauth_refresh_token_flow.htm): each refresh answers a new refresh token and invalidates the one
    used; using an invalidated one again revokes the grant's current refresh token and every access token it
    issued, and is answered `invalid_grant`. A grant is the chain of refresh tokens rotation made from one sign-in
    (a refresh token row's `refresh_token` column names the chain's first)."""
    digest = _digest(refresh_token)
    rotate = org_shape.current().refresh_token_rotation
    with store.transaction() as conn:
        found = conn.execute("SELECT user_id, scope, revoked, refresh_token FROM oauth_tokens WHERE token = ? "
                             "AND kind = 'refresh'", (digest,)).fetchone()
        grant = (found[3] if found is not None else None) or digest
        if found is not None and found[2] == ROTATED:
            for (member,) in conn.execute("SELECT token FROM oauth_tokens WHERE kind = 'refresh' AND "
                                          "(token = ? OR refresh_token = ?)", (grant, grant)).fetchall():
                _revoke_digest(conn, member)
        elif found is not None and found[2] == LIVE and rotate:
            conn.execute("UPDATE oauth_tokens SET revoked = ? WHERE token = ?", (ROTATED, digest))
    if found is None or found[2] != LIVE:
        raise OAuthError("invalid_grant", "expired access/refresh token")
    user = store.row(found[0])
    if rotate:
        return _issue(store, user, found[1], with_refresh=True, grant=grant)
    return _issue(store, user, found[1], with_refresh=False, parent=digest)


def _issue(store: Store, user: dict, scope: str, *, with_refresh: bool, parent: Optional[str] = None,
           grant: Optional[str] = None) -> dict:
    """A token answer. A new refresh token joins `grant` (rotation) or starts a grant of its own."""
    now = store.now()
    access = f"{seed.ORG_ID[:15]}!" + secrets.token_urlsafe(48)
    refresh = "5Aep861" + secrets.token_urlsafe(60) if with_refresh else None
    ttl = current_org().token_ttl_s
    with store.transaction() as conn:
        if refresh:
            _cap_refresh_tokens(conn, user["Id"])
            conn.execute("INSERT INTO oauth_tokens (token, kind, user_id, client_id, scope, refresh_token, "
                         "issued_at) VALUES (?, 'refresh', ?, ?, ?, ?, ?)",
                         (_digest(refresh), user["Id"], CLIENT_ID, scope, grant or _digest(refresh), now))
            parent = _digest(refresh)
        conn.execute("INSERT INTO oauth_tokens (token, kind, user_id, client_id, scope, refresh_token, issued_at, "
                     "expires_at) VALUES (?, 'access', ?, ?, ?, ?, ?, ?)",
                     (_digest(access), user["Id"], CLIENT_ID, scope, parent, now, now + ttl))
    identity = identity_url(user["Id"])
    issued_at = str(int(now * 1000))
    signature = base64.b64encode(hmac.new(CLIENT_SECRET.encode(), (identity + issued_at).encode(),
                                          hashlib.sha256).digest()).decode()
    answer = {"access_token": access, "signature": signature, "scope": scope, "instance_url": instance_url(),
              "id": identity, "token_type": "Bearer", "issued_at": issued_at}
    if refresh:
        answer["refresh_token"] = refresh
    return answer


def _cap_refresh_tokens(conn, user_id: str) -> None:
    live = [row[0] for row in conn.execute(
        "SELECT token FROM oauth_tokens WHERE user_id = ? AND client_id = ? AND kind = 'refresh' AND revoked = 0 "
        "ORDER BY issued_at, rowid", (user_id, CLIENT_ID))]
    for oldest in live[:max(0, len(live) - REFRESH_TOKENS_PER_USER + 1)]:
        _revoke_digest(conn, oldest)


def _revoke_digest(conn, digest: str) -> None:
    conn.execute("UPDATE oauth_tokens SET revoked = 1 WHERE token = ? OR refresh_token = ?", (digest, digest))


def identity_url(user_id: str) -> str:
    return f"{instance_url()}/id/{seed.ORG_ID}/{user_id}"


# -- using tokens ------------------------------------------------------------------------------------------------

def bearer_user(store: Store) -> Optional[dict]:
    """The user a request's live access token belongs to, or None (missing, unknown, expired or revoked)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() not in ("bearer", "oauth") or not token.strip():
        return None
    found = store.conn.execute("SELECT user_id FROM oauth_tokens WHERE token = ? AND kind = 'access' AND revoked = 0 "
                               "AND expires_at > ?", (_digest(token.strip()), store.now())).fetchone()
    return store.row(found[0]) if found else None


def expire_access_tokens(store: Store) -> None:
    with store.transaction() as conn:
        conn.execute("UPDATE oauth_tokens SET expires_at = ? WHERE kind = 'access'", (store.now(),))


@bp.route("/revoke", methods=["GET", "POST"])
def revoke():
    token_value = request.values.get("token", "")
    store = current_org().store
    with store.transaction() as conn:
        found = conn.execute("SELECT 1 FROM oauth_tokens WHERE token = ? AND revoked = 0",
                             (_digest(token_value),)).fetchone()
        if found is None:
            raise OAuthError("unsupported_token_type", "this token type is not supported")
        _revoke_digest(conn, _digest(token_value))
    return Response(status=200)


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo():
    user = bearer_user(current_org().store)
    if user is None:
        return Response("Bad_OAuth_Token", status=403, mimetype="text/plain")
    return jsonify(identity(user))


def identity(user: dict) -> dict:
    base = instance_url()
    urls = {name: f"{base}/services/data/v{{version}}/{path}" for name, path in (
        ("enterprise", "../../Soap/c/{version}"), ("metadata", "../../Soap/m/{version}"),
        ("partner", "../../Soap/u/{version}"), ("rest", ""), ("sobjects", "sobjects/"), ("search", "search/"),
        ("query", "query/"), ("recent", "recent/"), ("tooling_rest", "tooling/"), ("tooling_soap", "tooling/"),
        ("limits", "limits/"))}
    urls.update(profile=f"{base}/{user['Id']}", feeds=f"{base}/services/data/v{{version}}/chatter/feeds",
                custom_domain=base)
    language = user.get("LanguageLocaleKey") or "ja"
    return {
        "sub": identity_url(user["Id"]), "user_id": user["Id"], "organization_id": seed.ORG_ID,
        "preferred_username": user["Username"], "nickname": user["Alias"], "name": user["Name"],
        "email": user["Email"], "email_verified": True, "given_name": user.get("FirstName"),
        "family_name": user["LastName"], "zoneinfo": user.get("TimeZoneSidKey") or "Asia/Tokyo",
        "photos": {"picture": f"{base}/profilephoto/005/F", "thumbnail": f"{base}/profilephoto/005/T"},
        "profile": f"{base}/{user['Id']}", "picture": f"{base}/profilephoto/005/F",
        "address": {}, "is_salesforce_integration_user": user["Username"] == seed.INTEGRATION_USERNAME,
        "urls": urls, "active": bool(user["IsActive"]), "user_type": "STANDARD", "language": language,
        "locale": "ja_JP" if language == "ja" else language, "utcOffset": 32400000,
        "updated_at": user["LastModifiedDate"], "is_app_installed": True,
    }
