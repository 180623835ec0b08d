"""The REST API's front door: versions, authentication, faults, counting, and the `Sforce-Limit-Info` header.

Every request under `/services/data/v<version>/` passes the same gate, in Salesforce's order: the version must be
one the org serves (404 `NOT_FOUND`), the bearer token must be live (401 `INVALID_SESSION_ID`), the org's edition
must have API access (403 `API_DISABLED_FOR_ORG`, `api_disabled`), then injected faults apply, then the request is
counted against the daily limit (a refused one is not). Composite subrequests are dispatched without
passing the gate again, so a composite call counts once, as in Salesforce.

Stats names (`GET /_admin/stats` → `endpoints`): resources, query, queryAll, queryMore, search,
parameterizedSearch, describeGlobal, describe, sobjects (record create/read/update/delete/upsert), composite,
compositeSobjects, limits. `api_requests_peak_in_flight` is the most API requests this process served at once
since the last reset (in flight from the gate, injected latency included, to the answer).
"""

from __future__ import annotations

import json
import random
import time
from typing import Callable

from flask import Blueprint, Response, current_app, g, request

from . import oauth, org_records, org_shape
from .context import API_VERSIONS, DAILY_API_LIMIT, current_org
from .errors import ApiError

bp = Blueprint("api", __name__, url_prefix="/services/data")
_IN_FLIGHT = "localorg.in_flight"

FAULT_ERRORS = {
    401: ("INVALID_SESSION_ID", "Session expired or invalid"),
    403: ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    500: ("UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId if you contact support."),
    502: ("SERVER_UNAVAILABLE", "Bad gateway"),
    503: ("SERVER_UNAVAILABLE", "Server temporarily unavailable"),
    504: ("SERVER_UNAVAILABLE", "Gateway timeout"),
}


def counted(name: str) -> Callable:
    """Marks a view as an API request Salesforce counts, under this stats name."""
    def mark(view: Callable) -> Callable:
        view.api_counter = name
        return view
    return mark


def not_found() -> ApiError:
    return ApiError(404, "NOT_FOUND", "The requested resource does not exist")


def invalid_session() -> ApiError:
    return ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")


def api_disabled() -> ApiError:
    """An org whose edition has no API access (`org_shape.api_enabled` false: Professional without the API add-on,
    Essentials). "If you send an API request to an org without API access, Salesforce returns a
    API_DISABLED_FOR_ORG error" (REST API Developer Guide, "Supported Editions and Required Permissions",
    intro-rest-compatible-editions); 403 is REST's "the request has been refused" (Status Codes and Error
    Responses), and the message is the one clients report receiving. Signing in is not an API request and still
    works: the token is issued, then every REST call is refused."""
    return ApiError(403, "API_DISABLED_FOR_ORG", "The REST API is not enabled for this Organization.")


@bp.before_request
def gate():
    org = current_org()
    faults = current_faults()
    view = current_app.view_functions.get(request.endpoint)
    counter = getattr(view, "api_counter", None)
    if counter is not None:
        org.in_flight.enter()
        request.environ[_IN_FLIGHT] = True  # not g: composite subrequests share it and tear down before the call
    delay_ms = org.latency_ms + int(faults.get("latency_ms") or 0)
    if delay_ms > 0:
        time.sleep(delay_ms / 1000)
    if counter is None:  # the version list and unknown paths answer without a session
        return None
    version = (request.view_args or {}).get("version", "")
    if api_version(version) is None:
        raise not_found()
    user = oauth.bearer_user(org.store)
    if user is None:
        raise invalid_session()
    g.user = user
    shape = org_shape.from_store(org.store)
    if not shape.api_enabled:
        raise api_disabled()
    g.hidden_fields = hidden_from(org.store, user["Id"])
    g.org_fields = org_records.org_fields(shape, user.get("Username") or "")
    g.api_version = api_version(version)
    rate = float(faults.get("error_rate") or 0)
    if rate and random.random() < rate:
        status = int(faults.get("error_status") or 503)
        code, message = FAULT_ERRORS[status]
        raise ApiError(status, code, message)
    org.store.increment("api_requests", f"endpoint:{counter}")
    return None


@bp.teardown_request
def leave_flight(_error=None) -> None:
    if request.environ.pop(_IN_FLIGHT, False):
        current_org().in_flight.leave()


@bp.after_request
def limit_info(response: Response) -> Response:
    used = current_org().store.counters().get("api_requests", 0)
    response.headers["Sforce-Limit-Info"] = f"api-usage={used}/{DAILY_API_LIMIT}"
    return response


def api_version(segment: str) -> str | None:
    """`v62.0` → `62.0` when the org serves that version, else None."""
    if not segment.startswith("v") or segment[1:] not in API_VERSIONS:
        return None
    return segment[1:]


def current_faults() -> dict:
    return json.loads(current_org().store.meta("faults", "{}"))


def hidden_from(store, user_id: str) -> frozenset[tuple[str, str]]:
    """The (object, field) pairs field-level security hides from this user (`POST /_admin/field_security`)."""
    names = json.loads(store.meta("field_security", "{}")).get(user_id, ())
    return frozenset(tuple(name.lower().split(".", 1)) for name in names)


def current_user() -> dict:
    return g.user


def read_json(*, allow_empty: bool = False) -> object:
    """The request body as JSON, or the `JSON_PARSER_ERROR` Salesforce answers for what is not."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if allow_empty:
            return None
        raise ApiError(400, "JSON_PARSER_ERROR", "No content to map to Object due to end of input")
    try:
        body = json.loads(raw, parse_constant=_no_constants)
    except (ValueError, RecursionError) as error:
        position = f" at [line:{error.lineno}, column:{error.colno}]" if hasattr(error, "lineno") else ""
        raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character in the request body{position}") from None
    try:  # a lone surrogate ("\ud800") decodes, but no UTF-8 store can hold it; what Salesforce does is unknown
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError):
        raise ApiError(400, "JSON_PARSER_ERROR", "Invalid character in the request body: a lone surrogate "
                                                 "(such as \\ud800) is not text") from None
    return body


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def api_url(path: str) -> str:
    """A resource path as Salesforce writes it in responses: relative to the instance, with the version."""
    return f"/services/data/v{g.api_version}/{path}"
