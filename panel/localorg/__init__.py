"""The local org: a Salesforce REST API stand-in backed by SQLite, for running and testing without an org.

It imports nothing from the rest of the panel and is reached only over HTTP, through the same simple-salesforce
client the app uses for Salesforce. It serves Salesforce's own paths (`/services/oauth2/...`,
`/services/data/vXX.X/...`) relative to wherever it is mounted (the app mounts it at `/localorg`), plus
`/_admin/...` for tests and benchmarks.

Configuration (`create_localorg(config)` keys):

| key | meaning | default |
|---|---|---|
| DATABASE | SQLite file; several processes may share it | `localorg.sqlite3` in the instance folder |
| SEARCH_LAG_S | seconds before a created/changed record is visible to SOSL | 60 |
| LATENCY_MS | extra latency for every REST API request | 0 |
| TOKEN_TTL_S | access token lifetime in org-clock seconds | 7200 |
| MAX_BODY_BYTES | largest request body accepted (larger → 413) | 6 MB |
| JWT_PUBLIC_KEY | PEM certificate or RSA public key the JWT bearer flow checks assertions with | none |
"""

from __future__ import annotations

import os
import secrets
import traceback

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from . import admin, api, oauth, rest, sobjects, composite  # noqa: F401 - route modules register on import
from .context import LocalOrg, current_org
from .errors import ApiError
from .store import Store

DEFAULTS = {"SEARCH_LAG_S": 60, "LATENCY_MS": 0, "TOKEN_TTL_S": 7200, "MAX_BODY_BYTES": 6 * 1024 * 1024}


def create_localorg(config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    settings = {**DEFAULTS, **(config or {})}
    if not settings.get("DATABASE"):
        os.makedirs(app.instance_path, exist_ok=True)
        settings["DATABASE"] = os.path.join(app.instance_path, "localorg.sqlite3")
    store = Store(settings["DATABASE"])
    app.config.update(
        MAX_CONTENT_LENGTH=int(settings["MAX_BODY_BYTES"]),
        SESSION_COOKIE_NAME="localorg_session",
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=3600,
        SECRET_KEY=_secret_key(store),
    )
    app.json.sort_keys = False  # Salesforce writes "attributes" first
    app.extensions["localorg"] = LocalOrg(store=store, search_lag_s=float(settings["SEARCH_LAG_S"]),
                                          latency_ms=int(settings["LATENCY_MS"]),
                                          token_ttl_s=float(settings["TOKEN_TTL_S"]),
                                          jwt_public_key=(oauth.public_key_pem(settings["JWT_PUBLIC_KEY"])
                                                          if settings.get("JWT_PUBLIC_KEY") else None))
    for blueprint in (oauth.bp, api.bp, admin.bp):
        app.register_blueprint(blueprint)
    app.add_url_rule("/id/<org_id>/<user_id>", view_func=_identity, methods=["GET", "POST"])
    _register_error_handlers(app)
    app.after_request(_security_headers)
    with app.app_context():
        if store.meta("seeded") is None:
            admin.reset_org()
    return app


SECURITY_HEADERS = (
    # No page of the org may be framed (its sign-in page least of all: clickjacking); a page that needs more than
    # nothing (the sign-in page's style and form) sets its own policy, with the same frame-ancestors.
    ("Content-Security-Policy", "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
)


def _security_headers(response: Response) -> Response:
    """The security headers the panel sends, in the org's strictest form, on every answer that has not set its own."""
    for name, value in SECURITY_HEADERS:
        response.headers.setdefault(name, value)
    return response


def _secret_key(store: Store) -> str:
    """One key per database, so every process sharing it signs the sign-in form's CSRF token alike."""
    with store.transaction():
        key = store.meta("secret_key")
        if key is None:
            key = secrets.token_hex(32)
            store.set_meta("secret_key", key)
    return key


def _identity(org_id: str, user_id: str):
    """The identity URL a token response's `id` points at (Salesforce's identity service)."""
    user = oauth.bearer_user(current_org().store)
    if user is None or user["Id"] != user_id:
        return Response("Bad_OAuth_Token", status=403, mimetype="text/plain")
    return jsonify(oauth.identity(user))


def _error_json(status: int, code: str, message: str) -> Response:
    response = jsonify([{"message": message, "errorCode": code, "fields": []}])
    response.status_code = status
    return response


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(error: ApiError):
        response = jsonify(error.body())
        response.status_code = error.status
        return response

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error):
        return _error_json(413, "REQUEST_ENTITY_TOO_LARGE",
                           f"The request body exceeds the limit of {app.config['MAX_CONTENT_LENGTH']} bytes")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code == 405:
            allowed = ",".join(sorted(m for m in (error.valid_methods or []) if m not in ("HEAD", "OPTIONS")))
            return _error_json(405, "METHOD_NOT_ALLOWED",
                               f"HTTP Method '{request.method}' not allowed. Allowed are {allowed}")
        if error.code == 404:
            return _error_json(404, "NOT_FOUND", "The requested resource does not exist")
        return _error_json(error.code or 400, "INVALID_REQUEST", error.description or "Bad request")

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        app.logger.error("local org bug: %s", "".join(traceback.format_exception(error)))
        return _error_json(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred in the local org.")
