"""`POST /webhooks/calls`: call events from the dialer, acknowledged only once they are safely stored.

The contract (docs/openapi.yaml, docs/call-events.md):

- body: one JSON call event, at most 64 KiB (larger: 413, read no further);
- `X-Panel-Timestamp` + `X-Panel-Signature: v1=<hex>` (HMAC-SHA256 of "<timestamp>.<raw body>" under
  PANEL_WEBHOOK_SECRET or, during a rotation, PANEL_WEBHOOK_PREVIOUS_SECRET): missing, wrong or more than 300 s
  away → 401, nothing stored;
- an invalid event → 400 `{"error", "field"}`;
- stored → 202 `{"status": "accepted"}`; an `event_id` already stored → 200 `{"status": "duplicate"}` (a unique
  constraint decides, so concurrent identical posts store one event);
- the database unavailable → 503 with Retry-After, so the dialer sends it again.

The request is authenticated by its signature, not by a session, so it is exempt from CSRF protection. All work
beyond storing the event happens in a job (`panel.jobs`).
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from panel import call_log, jobs
from panel.calls.events import MAX_BODY_BYTES, EventError, parse_event
from panel.calls.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, TOLERANCE_S, SignatureError, verify_signature
from panel.extensions import csrf, db

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
log = logging.getLogger(__name__)


def _secrets() -> list[str]:
    config = current_app.config
    return [config.get("PANEL_WEBHOOK_SECRET") or "", config.get("PANEL_WEBHOOK_PREVIOUS_SECRET") or ""]


def _body_within_limit() -> bytes | None:
    """The raw body, or None when it is larger than the limit (whatever Content-Length claims)."""
    declared = request.content_length
    if declared is not None and declared > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_BODY_BYTES:  # one read may return less than asked (chunked bodies, some servers)
        chunk = request.stream.read(MAX_BODY_BYTES + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return None if size > MAX_BODY_BYTES else b"".join(chunks)


@bp.route("/calls", methods=["POST"])
@csrf.exempt
def receive_call_event():
    raw = _body_within_limit()
    if raw is None:
        return jsonify(error=f"the body is larger than {MAX_BODY_BYTES} bytes", field=None), 413
    try:
        verify_signature(_secrets(), request.headers.get(TIMESTAMP_HEADER), request.headers.get(SIGNATURE_HEADER),
                         raw, now=time.time(), tolerance_s=TOLERANCE_S)
    except SignatureError as refused:
        log.info("call event refused: %s", refused.reason)
        return jsonify(error=refused.message), 401, {"WWW-Authenticate": 'Panel-HMAC-SHA256 realm="webhooks"'}
    try:
        event = parse_event(raw)
    except EventError as invalid:
        return jsonify(invalid.as_json()), 400
    try:
        stored = call_log.store_event(event)
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("could not store a call event")
        return jsonify(error="the event could not be stored; send it again"), 503, {"Retry-After": "5"}
    if not stored:
        return jsonify(status="duplicate"), 200
    jobs.enqueue_call(event.call_id)
    return jsonify(status="accepted"), 202
