"""`/softphone`: the panel beside a dialer's own web phone, and the contact match the phone asks the page for.

- `GET /softphone?dialer=<ringcentral|zoom|dialpad|aircall|connect>` (signed-in agent): the page
  (`softphone.html`): the dialer's phone (its embed URL from panel.softphone.settings) and the panel (`/panel`,
  framed from this same origin), side by side on a desktop, one at a time with tabs at 360 px. The dialer's script
  (static/js/softphone/<dialer>.js, on top of host.js) turns the phone's events into the panel's documented
  `panel:call` messages (docs/embedding.md) and the panel's `panel:dial` into the phone's own dial message. Without
  `dialer`, or for a dialer that is off, the page lists the phones that are configured (404 for an unknown or
  unconfigured dialer). The page sets its own Content-Security-Policy: `frame-src 'self' <that dialer's origin>`
  (the panel, and exactly the configured phone), `frame-ancestors 'none'`.
- `GET /softphone/match?phone=<number>` (signed-in agent; GET, changes nothing, so CSRF-safe): the panel's own
  lookup for a number, as JSON, for the phones that ask the host who is calling (RingCentral's contact matcher,
  Zoom's `zp-contact-match-event`). It calls `panel.callers.lookup.pop` with the agent's connection exactly as the
  pop does (panel.pop.views `show_pop`: `Agent.of(current_connection())`, `get_salesforce`, the app's
  `PopSettings`), so the same verification, cache and single flight apply: a number the panel has just popped
  costs no Salesforce request. Answer: `{"phone", "e164", "state", "stale", "records": [{"id", "type", "name",
  "company", "url"}]}` — the card's record, or every verified record when the number has several; none otherwise.
  400 `{"error", "field": "phone"}` for a missing or over-long number.

A softphone variable that cannot work stops the start with a ConfigError naming it (`check` at registration).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, make_response, render_template, request, url_for

from panel.callers import lookup
from panel.config import ConfigError
from panel.signin.session import current_connection, get_salesforce, login_required
from panel.softphone import settings as softphone_settings
from panel.web import app_settings

bp = Blueprint("softphone", __name__, url_prefix="/softphone")

MAX_PHONE_LENGTH = 100  # as the pop (panel.pop.views)
# Iframe permissions each phone asks for in its documentation (RingCentral: microphone, autoplay; Dialpad:
# microphone, speaker-selection, autoplay, camera, display-capture, hid; Aircall: microphone, autoplay,
# clipboard-read, clipboard-write, hid; Zoom: autoplay, microphone, camera, display-capture, clipboard-write).
FRAME_ALLOW = {
    "ringcentral": "microphone; autoplay",
    "zoom": "microphone; autoplay; camera; display-capture; clipboard-write",
    "dialpad": "microphone; speaker-selection; autoplay; camera; display-capture; hid",
    "aircall": "microphone; autoplay; clipboard-read; clipboard-write; hid",
    "connect": "microphone; autoplay",
}


@bp.record_once
def _check_settings(state) -> None:
    """A softphone variable that cannot work stops the start, as panel.config does for the others."""
    try:
        softphone_settings.check(state.app.config)
    except softphone_settings.SoftphoneConfigError as error:
        raise ConfigError(str(error)) from None


def _policy(phone: softphone_settings.Softphone | None) -> str:
    frames = " ".join(("'self'", phone.origin)) if phone else "'self'"
    return (f"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
            f"frame-src {frames}; frame-ancestors 'none'")


@bp.route("", methods=["GET"])
@login_required
def show_softphone():
    dialer = (request.args.get("dialer") or "").strip()
    phone = softphone_settings.softphone(current_app.config, dialer) if dialer else None
    if dialer and phone is None:
        abort(404)
    response = make_response(render_template(
        "softphone.html", phone=phone, phones=softphone_settings.configured(current_app.config),
        panel_url=url_for("sidebar.show_panel", **_language()), frame_allow=FRAME_ALLOW.get(dialer, ""),
        match_url=url_for("softphone.match")))
    response.headers["Content-Security-Policy"] = _policy(phone)
    response.headers["Cache-Control"] = "no-store"
    return response


def _language() -> dict:
    language = request.args.get("lang")
    return {"lang": language} if language in ("ja", "en") else {}


@bp.route("/match", methods=["GET"])
@login_required
def match():
    raw = request.args.get("phone") or ""
    if not raw.strip():
        return jsonify(error="phone is missing", field="phone"), 400
    if len(raw) > MAX_PHONE_LENGTH:
        return jsonify(error=f"phone is longer than {MAX_PHONE_LENGTH} characters", field="phone"), 400
    settings = app_settings(lookup.PopSettings.from_config)
    pop = lookup.pop(lookup.Agent.of(current_connection()), raw, get_salesforce, settings=settings)
    response = jsonify(phone=raw, e164=pop.number.e164 if pop.number else None, state=pop.state,
                       stale=pop.stale_since is not None, records=[_record(card) for card in _records(pop)])
    response.headers["Cache-Control"] = "no-store"
    return response


def _records(pop: lookup.PopResult) -> tuple:
    if pop.state == "card" and pop.card is not None:
        return (pop.card,)
    if pop.state == "matches":
        return pop.cards
    return ()


def _record(card) -> dict:
    return {"id": card.record_id, "type": card.record_type, "name": card.name, "company": card.company,
            "url": card.url}
