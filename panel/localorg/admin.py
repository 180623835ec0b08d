"""Endpoints for tests and benchmarks, not part of Salesforce's API, never counted, loopback callers only.

They reset and break the org, so a web page the developer happens to open must not reach them. A request is
served only when all of these hold, else 403 (or 415) with `{"error": ...}`:

- it comes from a loopback address (REMOTE_ADDR) and names a loopback host (`Host`: 127.0.0.1, localhost, [::1];
  a site whose name an attacker made resolve to 127.0.0.1 sends its own name: DNS rebinding);
- it carries no `Origin`, or the org's own (scripts and tests send none; every cross-site request a browser makes
  carries the page's);
- a POST's body is JSON (`Content-Type: application/json` or `+json`): a page can post text/plain or a form to any
  site without asking, but not JSON.

Behind a reverse proxy on the same machine every request comes from loopback, so these checks are not a defence for
an exposed org: the local org is for development only and must never be reachable from other machines.

- `GET  /_admin/stats`  → `{"api_requests": N, "endpoints": {"query": n, ...}, "oauth": {"token": n, ...},
  "api_requests_peak_in_flight": n, "clock": "<org time>", "clock_offset_s": s}` (endpoint names are listed in
  api.py; the peak is the most API requests served at once since the reset, by this process).
- `POST /_admin/faults` `{"latency_ms": int, "error_rate": 0..1, "error_status": 401|403|500|502|503|504,
  "expire_tokens": bool}`; `{}` clears latency and errors. `expire_tokens` is an action: it expires every access
  token issued so far (refresh tokens stay valid) and is not remembered.
- `POST /_admin/reset` reloads the seed; clears faults, counters, tokens, query locators and the clock offset.
- `POST /_admin/clock` `{"advance_s": N}` moves the org clock forward (search lag, token expiry).
- `POST /_admin/org` `{"person_accounts": bool, "custom_phone_fields": [...], "encrypted_fields": [...],
  "object_access": {...}, "duplicate_rules": [...], "task_statuses": [...], "refresh_token_rotation": bool,
  "archive_after_days": int, "shared_activities": bool, "api_enabled": bool}`, every key optional, shapes the org
  as an admin configured it (`org_shape.py`); answers the whole shape. Unknown keys or wrong values → 400 naming
  the key. Reset restores the default org.
- `POST /_admin/connected_app` `{"jwt_certificate": "<PEM>"}` uploads the certificate (or RSA public key) the JWT
  bearer flow verifies assertions with, as an admin does in a connected app; `null` removes it. Reset removes it.
- `POST /_admin/field_security` `{"username": "...", "hidden": ["Contact.HomePhone", ...]}` hides fields from one
  user, as a profile without Read access does: the API then answers as if they did not exist (`INVALID_FIELD` in
  SOQL and SOSL, absent from describe, searches and record reads). Required fields cannot be hidden, as in
  Salesforce. `"hidden": []` shows everything again; reset does too.
"""

from __future__ import annotations

import ipaddress
import json
import math

from flask import Blueprint, jsonify, request

from . import formats, oauth, org_shape, schema, seed
from .api import FAULT_ERRORS
from .context import current_org

bp = Blueprint("admin", __name__, url_prefix="/_admin")


class AdminError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.status = message, status


@bp.errorhandler(AdminError)
def _admin_error(error: AdminError):
    return jsonify(error=error.message), error.status


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})


@bp.before_request
def loopback_only():
    try:
        local = ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        local = False
    if not local or _host_name(request.host) not in LOOPBACK_HOSTS:
        raise AdminError("admin endpoints answer loopback callers only, addressed by a loopback name "
                         "(127.0.0.1, localhost or [::1])", 403)
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"{request.scheme}://{request.host}":
        raise AdminError("admin endpoints refuse requests from web pages of another Origin", 403)
    if request.method == "POST" and not request.is_json:
        raise AdminError("admin endpoints take a JSON body: send Content-Type: application/json", 415)


def _host_name(host: str) -> str:
    """The host of a Host header without its port ("127.0.0.1:5000" → "127.0.0.1", "[::1]:80" → "[::1]")."""
    host = host.lower()
    if host.startswith("["):
        return host.partition("]")[0] + "]"
    return host.rpartition(":")[0] if ":" in host else host


@bp.route("/stats", methods=["GET"])
def stats():
    store = current_org().store
    counters = store.counters()
    return jsonify(
        api_requests=counters.get("api_requests", 0),
        endpoints={k.removeprefix("endpoint:"): v for k, v in counters.items() if k.startswith("endpoint:")},
        oauth={k.removeprefix("oauth:"): v for k, v in counters.items() if k.startswith("oauth:")},
        api_requests_peak_in_flight=current_org().in_flight.peak,
        clock=formats.format_epoch(store.now()),
        clock_offset_s=store.clock_offset(),
    )


def _payload() -> dict:
    raw = request.get_data()
    if not raw.strip():
        return {}
    try:
        payload = json.loads(raw)
    except ValueError:
        raise AdminError("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise AdminError("the body must be a JSON object")
    return payload


@bp.route("/faults", methods=["POST"])
def faults():
    payload = _payload()
    unknown = sorted(set(payload) - {"latency_ms", "error_rate", "error_status", "expire_tokens"})
    if unknown:
        raise AdminError(f"unknown fault: {', '.join(unknown)}")
    latency = payload.get("latency_ms", 0)
    if isinstance(latency, bool) or not isinstance(latency, int) or not 0 <= latency <= 60_000:
        raise AdminError("latency_ms must be an integer between 0 and 60000")
    rate = payload.get("error_rate", 0)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or not 0 <= rate <= 1:
        raise AdminError("error_rate must be a number between 0 and 1")
    status = payload.get("error_status", 503)
    if isinstance(status, bool) or status not in FAULT_ERRORS:
        raise AdminError(f"error_status must be one of {sorted(FAULT_ERRORS)}")
    expire = payload.get("expire_tokens", False)
    if not isinstance(expire, bool):
        raise AdminError("expire_tokens must be true or false")
    store = current_org().store
    active = {"latency_ms": latency, "error_rate": rate, "error_status": status}
    store.set_meta("faults", json.dumps(active))
    if expire:
        oauth.expire_access_tokens(store)
    return jsonify(active)


@bp.route("/reset", methods=["POST"])
def reset():
    reset_org()
    return jsonify(status="reset")


def reset_org() -> None:
    current_org().in_flight.reset()
    store = current_org().store
    now = store.now() - store.clock_offset()
    store.reset(seed.records_at(now), seed.sequence_start())


@bp.route("/clock", methods=["POST"])
def clock():
    advance = _payload().get("advance_s")
    if isinstance(advance, bool) or not isinstance(advance, (int, float)) or not math.isfinite(advance) \
            or not 0 <= advance <= 10 * 365 * 86400:
        raise AdminError("advance_s must be a number of seconds between 0 and ten years")
    store = current_org().store
    return jsonify(clock=formats.format_epoch(store.advance_clock(advance)))


@bp.route("/field_security", methods=["POST"])
def field_security():
    payload = _payload()
    unknown = sorted(set(payload) - {"username", "hidden"})
    if unknown:
        raise AdminError(f"unknown settings: {', '.join(unknown)}")
    store = current_org().store
    wanted = str(payload.get("username") or "").strip().lower()
    user = next((u for u in store.rows("User") if (u["Username"] or "").lower() == wanted), None)
    if user is None:
        raise AdminError("username must name a user of the org")
    hidden = payload.get("hidden")
    if not isinstance(hidden, list) or not all(isinstance(name, str) for name in hidden):
        raise AdminError('hidden must be a list of "Object.Field" names')
    for name in hidden:
        obj = schema.SOBJECTS.get(name.partition(".")[0].lower())
        found = obj.fields.get(name.partition(".")[2].lower()) if obj is not None else None
        if found is None:
            raise AdminError(f"{name} is not a field of the org")
        if not found.nillable or found.calculated:
            raise AdminError(f"{name} is required or calculated: field-level security cannot hide it")
    settings = json.loads(store.meta("field_security", "{}"))
    settings[user["Id"]] = sorted(set(hidden))
    store.set_meta("field_security", json.dumps(settings))
    return jsonify(username=user["Username"], hidden=settings[user["Id"]])


@bp.route("/org", methods=["POST"])
def org():
    """How the org's admin configured it (`org_shape`): each key changes only its aspect; answers the whole shape."""
    try:
        shape = org_shape.apply(current_org().store, _payload())
    except org_shape.ShapeError as error:
        raise AdminError(str(error)) from None
    return jsonify(org_shape.to_json(shape))


@bp.route("/connected_app", methods=["POST"])
def connected_app():
    payload = _payload()
    unknown = sorted(set(payload) - {"jwt_certificate"})
    if unknown:
        raise AdminError(f"unknown setting: {', '.join(unknown)}")
    certificate = payload.get("jwt_certificate")
    store = current_org().store
    if certificate is None:
        with store.transaction() as conn:
            conn.execute("DELETE FROM meta WHERE key = 'jwt_public_key'")
        return jsonify(jwt_bearer=False)
    try:
        store.set_meta("jwt_public_key", oauth.public_key_pem(certificate))
    except (ValueError, TypeError):
        raise AdminError("jwt_certificate must be a PEM X.509 certificate or RSA public key") from None
    return jsonify(jwt_bearer=True)
