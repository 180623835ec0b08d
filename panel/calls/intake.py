"""`POST /webhooks/calls`: call events from the dialer, acknowledged only once they are safely stored.

The contract (docs/openapi.yaml, docs/call-events.md):

- body: one JSON call event, at most 64 KiB (larger: 413, read no further);
- `X-Panel-Timestamp` + `X-Panel-Signature: v1=<hex>` (HMAC-SHA256 of "<timestamp>.<raw body>" under
  PANEL_WEBHOOK_SECRET or, during a rotation, PANEL_WEBHOOK_PREVIOUS_SECRET): missing, wrong or more than 300 s
  away → 401, nothing stored;
- an invalid event → 400 `{"error", "field"}`;
- stored → 202 `{"status": "accepted"}`; an `event_id` already stored → 200 `{"status": "duplicate"}` (a unique
  constraint decides, so concurrent identical posts store one event);
- a text message while PANEL_LOG_MESSAGES is off → 200 `{"status": "ignored"}`, nothing stored (a success, so the
  dialer does not send it again; not 202, which promises the event is stored);
- the database unavailable → 503 with Retry-After, so the dialer sends it again.

The request is authenticated by its signature, not by a session, so it is exempt from CSRF protection. All work
beyond storing the event happens in a job (`panel.calls.jobs`).

It is the busiest endpoint (every call posts three events or more) and needs nothing of Flask's request handling
(no session, no CSRF, no templates, no locale), which is a third of its CPU. So `CallEventIntake`, in front of the
Flask app, answers it from the WSGI environment with `answer` under an app context (configuration, database,
queue); every other request, and any other method on this path, goes on to Flask. The blueprint's route gives the
same answer when a request reaches Flask anyway, and keeps the URL in Flask's map (`url_for`, 405 for GET).
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Flask, current_app, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Request, Response

from panel import web
from panel.calls import jobs, ledger
from panel.calls.events import MAX_BODY_BYTES, EventError, parse_event
from panel.calls.filing import FilingSettings, filed
from panel.calls.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, TOLERANCE_S, SignatureError, verify_signature
from panel.extensions import csrf, db

__all__ = ["PATH", "CallEventIntake", "answer", "bp"]

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
PATH = "/webhooks/calls"
log = logging.getLogger(__name__)


def _secrets() -> list[str]:
    config = current_app.config
    return [config.get("PANEL_WEBHOOK_SECRET") or "", config.get("PANEL_WEBHOOK_PREVIOUS_SECRET") or ""]


def answer(incoming: Request) -> Response:
    """The whole endpoint for one request (a werkzeug or Flask request), inside an app context."""
    raw = web.body_within(incoming, MAX_BODY_BYTES)
    if raw is None:
        return web.json_answer({"error": f"the body is larger than {MAX_BODY_BYTES} bytes", "field": None}, 413)
    try:
        verify_signature(_secrets(), incoming.headers.get(TIMESTAMP_HEADER), incoming.headers.get(SIGNATURE_HEADER),
                         raw, now=time.time(), tolerance_s=TOLERANCE_S)
    except SignatureError as refused:
        log.info("call event refused: %s", refused.reason)
        return web.json_answer({"error": refused.message}, 401,
                               {"WWW-Authenticate": 'Panel-HMAC-SHA256 realm="webhooks"'})
    try:
        event = filed(parse_event(raw), web.app_settings(FilingSettings.from_config))
    except EventError as invalid:
        return web.json_answer(invalid.as_json(), 400)
    if event.is_message and not current_app.config.get("PANEL_LOG_MESSAGES", True):
        return web.json_answer({"status": "ignored"}, 200)  # text messages are not logged (PANEL_LOG_MESSAGES off)
    try:
        stored = ledger.store_event(event)
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("could not store a call event")
        return web.json_answer({"error": "the event could not be stored; send it again"}, 503, {"Retry-After": "5"})
    if not stored:
        return web.json_answer({"status": "duplicate"}, 200)
    jobs.enqueue_call(event.call_id)
    return web.json_answer({"status": "accepted"}, 202)


@bp.route("/calls", methods=["POST"])
@csrf.exempt
def receive_call_event():
    return answer(request)


class CallEventIntake:
    """WSGI middleware: `POST /webhooks/calls` answered before Flask (see the module's docstring), with the
    security headers every answer of the app carries. An error nothing above expects is logged and answered 500
    in JSON, as a dialer reads it; the dialer sends the event again."""

    def __init__(self, app: Flask, wsgi_app) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.headers = app.extensions["panel.security_headers"]

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.wsgi_app(environ, start_response)
        with self.app.app_context():
            try:
                response = answer(Request(environ))
            except Exception:
                log.exception("a call event could not be answered")
                response = web.json_answer({"error": "the event could not be handled; send it again"}, 500)
        for name, value in self.headers:
            response.headers.setdefault(name, value)
        return response(environ, start_response)
