"""`POST /webhooks/<dialer>`: each vendor's deliveries, verified its way, stored before they are answered.

For one delivery (docs/dialers.md):
- an unknown dialer, or one whose secret is unset → 404 (the adapter is off);
- a body larger than the adapter's limit → 413, read no further;
- failing the vendor's verification → 401, nothing stored;
- the vendor's handshake (Zoom's URL validation, RingCentral's Validation-Token, MiiTel's challenge) → answered as
  the vendor documents it, nothing stored;
- a delivery the adapter cannot map → 400 `{"error", "field"}`, nothing stored;
- otherwise each event is stored (a unique event id: a redelivery stores nothing new) and its call queued → 200
  `{"status": "accepted", "stored": n, "duplicates": m}` (vendors retry on 5xx only, and some treat anything but
  200 as failure, so 200 rather than the native webhook's 202), or the adapter's `ACCEPTED_REPLY` when it has one
  (Twilio expects TwiML);
- the database unavailable → 503 with Retry-After, so the vendor sends it again; an error nothing above expects
  is logged and answered 503 too (never 500: the vendor retries, and nothing was stored).

The request is authenticated by the vendor's scheme, not by a session: exempt from CSRF protection.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from urllib.parse import parse_qsl

from flask import Blueprint, Flask, Response, abort, current_app, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from panel import web
from panel.calls import jobs, ledger
from panel.calls.events import CallEvent, EventError, rechecked
from panel.calls.filing import FilingSettings, filed
from panel.dialers import registry
from panel.dialers.base import AdapterConfig, Delivery, Refused, Reply
from panel.dialers.identities import Identities, IdentitiesError, load_identities
from panel.extensions import csrf, db

__all__ = ["bp", "identities", "init_app", "public_url"]

bp = Blueprint("dialer_webhooks", __name__, url_prefix="/webhooks")
log = logging.getLogger(__name__)
_IDENTITIES_KEY = "panel.dialer_identities"


def init_app(app: Flask) -> None:
    """Read PANEL_DIALER_USERS once; a file the panel cannot use stops the start, naming the line at fault."""
    try:
        app.extensions[_IDENTITIES_KEY] = load_identities(app.config.get("PANEL_DIALER_USERS"),
                                                          known_dialers=registry.DIALERS)
    except IdentitiesError as error:
        raise RuntimeError(f"PANEL_DIALER_USERS: {error}") from None


def identities() -> Identities:
    return current_app.extensions.get(_IDENTITIES_KEY) or Identities()


def public_url() -> str:
    """The URL the vendor called: on PANEL_PUBLIC_URL when set (behind a proxy the request's own host and scheme
    are the proxy's), else the request's."""
    base = current_app.config.get("PANEL_PUBLIC_URL")
    if not base:
        return request.url
    query = request.query_string.decode("latin-1")
    return f"{base}{request.path}" + (f"?{query}" if query else "")


def _reply(reply: Reply) -> Response:
    if isinstance(reply.body, (dict, list)):
        response = jsonify(reply.body)
    else:
        response = Response("" if reply.body is None else str(reply.body), mimetype="text/plain")
    response.status_code = reply.status
    response.headers.update(dict(reply.headers))
    return response


@bp.route("/<dialer>", methods=["POST"])
@csrf.exempt
def receive(dialer: str):
    module = registry.adapter(dialer)
    if module is None:
        abort(404)
    config = current_app.config
    secret = config.get(module.SECRET)
    if not secret:
        abort(404)
    raw = web.body_within(request, module.MAX_BODY_BYTES)
    if raw is None:
        return web.json_answer({"error": f"the body is larger than {module.MAX_BODY_BYTES} bytes", "field": None}, 413)
    content_type = request.mimetype or ""
    form: list[tuple[str, str]] = []
    if content_type == "application/x-www-form-urlencoded":
        try:
            form = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            return web.json_answer({"error": "the form body is not UTF-8", "field": None}, 400)
    delivery = Delivery(headers=request.headers, body=raw, url=public_url(), received_at=datetime.now(timezone.utc),
                        form=tuple(form), content_type=content_type)
    adapter_config = AdapterConfig(
        dialer=dialer, secrets={name: config[name] for name in (module.SECRET, *module.SECRETS) if config.get(name)},
        identities=identities(), settings={name: config.get(name) for name in module.SETTINGS})
    try:
        outcome = module.receive(delivery, adapter_config)
        if not isinstance(outcome, Reply):  # every event also keeps the panel's own contract (a safety net)
            outcome = [rechecked(event, now=delivery.received_at) for event in outcome]
    except Refused as refused:
        log.info("%s delivery refused: %s", dialer, refused.message)
        return web.json_answer({"error": refused.message}, 401)
    except EventError as invalid:
        return web.json_answer(invalid.as_json(), 400)
    except Exception:  # a bug in an adapter: nothing stored; the vendor retries a 5xx
        log.exception("a %s delivery could not be read", dialer)
        return web.json_answer({"error": "the delivery could not be handled; send it again"}, 503,
                               {"Retry-After": "30"})
    if isinstance(outcome, Reply):
        return _reply(outcome)
    response = _store(list(outcome))
    accepted = getattr(module, "ACCEPTED_REPLY", None)  # a vendor that wants its own answer (Twilio: TwiML)
    return _reply(accepted) if accepted is not None and response.status_code == 200 else response


def _store(events: list[CallEvent]) -> Response:
    settings = web.app_settings(FilingSettings.from_config)
    logging_messages = bool(current_app.config.get("PANEL_LOG_MESSAGES", True))
    stored, duplicates, calls = 0, 0, []
    try:
        for event in events:
            if event.is_message and not logging_messages:
                continue
            event = filed(event, settings)
            if ledger.store_event(event):
                stored += 1
                calls.append(event.call_id)
            else:
                duplicates += 1
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("could not store a dialer's call event")
        return web.json_answer({"error": "the event could not be stored; send it again"}, 503, {"Retry-After": "5"})
    for call_id in dict.fromkeys(calls):
        jobs.enqueue_call(call_id)
    return web.json_answer({"status": "accepted" if stored or not duplicates else "duplicate", "stored": stored,
                  "duplicates": duplicates}, 200)
