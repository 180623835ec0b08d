"""`/demo`: a fake cloud dialer for the local org, to see the panel work the way a real dialer drives it.

The demo page plays the dialer vendor's page. It embeds the panel from a **different site** (the page at
`http://localhost:<port>/demo` frames the panel at `http://127.0.0.1:<port>/panel`: a host name and an IP address
are different sites), so sign-in, cookies and postMessage face the same cross-site rules as in production.

For each call it does what a dialer does: tells the panel through postMessage (`panel:call`, see
static/js/embed.js) and tells the server through the signed webhook `POST /webhooks/calls`, or, when the page's
"Dialer format" names a vendor, through that vendor's adapter (`POST /webhooks/<dialer>`, panel.dialers) with a
delivery in the vendor's own format and signature (each adapter's `demo_delivery`), so a newcomer sees an adapter
work end to end. The panel is then told the call id the adapter files the call under (`<dialer>:<id>`). The browser must not
hold the webhook secret, so the page posts its events to `POST /demo/events`, which signs them with
PANEL_WEBHOOK_SECRET and forwards them over HTTP to the webhook, exactly as a dialer's backend would.

A server that signs call events on request could forge any agent's calls, so `/demo/events` is held to what a
dialer's backend does for its own agent:
- only for an agent signed in to the panel on the demo page itself (the panel's session on the demo's site; the
  framed panel signs in separately, on its own site), besides the page's CSRF token;
- only as that agent: the event's `agent_email` is the signed-in user's, whatever the request says;
- only to the panel's own webhook, at the address the configuration gives (the origin of LOCALORG_URL, which
  `make run` serves beside the panel), never one built from the request's Host header, which the sender chooses.

Only with the local org: `create_app` registers this blueprint only then, so with a real org every demo URL
is 404.
"""

from __future__ import annotations

import ipaddress
import json
import time
import unicodedata
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import requests
from flask import Blueprint, current_app, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from panel.calls.events import identifier_problem
from panel.calls.signing import signature_headers
from panel.config import DIALER_SECRETS
from panel.dialers import registry
from panel.dialers.base import DemoCall
from panel.extensions import LOCALES
from panel.localorg import seed
from panel.signin.session import current_connection

bp = Blueprint("demo", __name__, url_prefix="/demo")

EVENT_TYPES = {"ringing": "call.ringing", "answered": "call.answered", "ended": "call.ended"}
DIRECTIONS = ("inbound", "outbound")
DISPOSITIONS = ("", "Interested", "Call back", "Not interested", "Wrong number")
MAX_TEXT = 255
MAX_DURATION_S = 86_400
FORWARD_TIMEOUT_S = 10
NATIVE_FORMAT = "panel"
# The vendors' names as the page shows them (product names, not translated).
FORMAT_LABELS = {"zoom": "Zoom", "dialpad": "Dialpad", "ringcentral": "RingCentral", "aircall": "Aircall",
                 "twilio": "Twilio", "webex": "Webex", "connect": "Amazon Connect",
                 "miitel": "MiiTel"}
DEFAULT_AGENT = seed.AGENT_USERNAME
NOBODYS_NUMBER = "03-9999-0000"
WITHHELD = "非通知"  # what Japanese carriers send for a withheld number


def _record_name(key: str) -> str:
    for section in (seed.CONTACTS, seed.LEADS, seed.ACCOUNTS):
        if key in section:
            values = section[key]
            return values.get("Name") or " ".join(filter(None, (values.get("LastName"), values.get("FirstName"))))
    return key


def callers() -> list[dict]:
    """The seeded callers, one per phone case, plus a number nobody has and a withheld one."""
    listed = [{"phone": phone, "name": " / ".join(_record_name(key) for key in keys), "case": case}
              for case, (phone, keys) in seed.SEED_PHONES.items()]
    listed.append({"phone": NOBODYS_NUMBER, "name": _l("No record matches"), "case": "no_match"})
    listed.append({"phone": WITHHELD, "name": _l("Unknown caller"), "case": "withheld"})
    return listed


def formats() -> list[tuple[str, str]]:
    """(value, label) of the formats the demo can send: the panel's own, then every adapter that is on."""
    return [(NATIVE_FORMAT, ""), *((name, FORMAT_LABELS.get(name, name)) for name in registry.DIALERS
                                   if current_app.config.get(DIALER_SECRETS[name]))]


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def panel_origin() -> str | None:
    """Where the demo frames the panel from: 127.0.0.1 when the demo page is on localhost (a different site).
    None when this page is on a loopback IP: the demo then moves itself to localhost."""
    parts = urlsplit(request.host_url)
    port = f":{parts.port}" if parts.port else ""
    if parts.hostname == "localhost":
        return f"{parts.scheme}://127.0.0.1{port}"
    if _is_loopback(parts.hostname or ""):
        return None
    return f"{parts.scheme}://{parts.netloc}"  # another host name: same site, but still a working demo


@bp.route("", methods=["GET"])
def show_demo():
    origin = panel_origin()
    if origin is None:
        parts = urlsplit(request.host_url)
        port = f":{parts.port}" if parts.port else ""
        query = request.query_string.decode("latin-1")
        return redirect(f"{parts.scheme}://localhost{port}{url_for('demo.show_demo')}" + (f"?{query}" if query else ""))
    language = request.args.get("lang")
    panel_url = origin + url_for("sidebar.show_panel", **({"lang": language} if language in LOCALES else {}))
    connection = current_connection()
    response = make_response(render_template(
        "demo.html", callers=callers(), panel_origin=origin, panel_url=panel_url,
        agent=_agent_email(connection) if connection else None,
        sign_in_url=url_for("auth.login", next=request.full_path.rstrip("?")), dispositions=DISPOSITIONS,
        formats=formats()))
    # The dialer's own page: it may frame the panel's origin, and nothing may frame it.
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
        f"frame-src {origin}; frame-ancestors 'none'")
    return response


class _BadField(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _text(body: dict, field: str, *, required: bool = True, default: str = "") -> str:
    value = body.get(field, default)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _BadField(field, f"{field} must be text")
    value = value.strip()
    if required and not value:
        raise _BadField(field, f"{field} is required")
    if len(value) > MAX_TEXT:
        raise _BadField(field, f"{field} is longer than {MAX_TEXT} characters")
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in value):  # the webhook refuses them too
        raise _BadField(field, f"{field} must not contain control characters or lone surrogates")
    return value


def _agent_email(connection) -> str:
    return connection.email or connection.username or ""


def panel_address() -> str:
    """The panel's own address, from the configuration: the origin of LOCALORG_URL, since the local org is served
    beside the panel (`make run`, `panel.serve`). Never from the request, whose Host header the sender chooses."""
    parts = urlsplit(current_app.config["LOCALORG_URL"])
    return f"{parts.scheme}://{parts.netloc}"


def build_event(body: dict, *, agent_email: str = DEFAULT_AGENT, now: datetime | None = None) -> dict:
    """The webhook payload for one button press on the demo page, for the agent `agent_email` (the view passes the
    signed-in agent's; an `agent_email` in the body is ignored); `_BadField` names what is wrong."""
    state = _text(body, "state")
    if state not in EVENT_TYPES:
        raise _BadField("state", "state must be ringing, answered or ended")
    direction = _text(body, "direction", default="inbound")
    if direction not in DIRECTIONS:
        raise _BadField("direction", "direction must be inbound or outbound")
    event = {
        "event_id": f"evt_demo_{uuid.uuid4().hex}",
        "type": EVENT_TYPES[state],
        "call_id": _call_id(body),
        "direction": direction,
        "internal": False,
        "agent_email": agent_email,
        "external_number": _text(body, "phone"),
        "occurred_at": (now or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
    }
    if state == "ended":
        duration = body.get("duration_seconds", 0)
        if isinstance(duration, str) and duration.strip().isdigit():
            duration = int(duration)
        if isinstance(duration, bool) or not isinstance(duration, int) or not 0 <= duration <= MAX_DURATION_S:
            raise _BadField("duration_seconds", f"duration_seconds must be a whole number from 0 to {MAX_DURATION_S}")
        answered = body.get("answered", duration > 0)
        if not isinstance(answered, bool):
            raise _BadField("answered", "answered must be true or false")
        disposition = _text(body, "disposition", required=False)
        voicemail = body.get("voicemail", False)
        if not isinstance(voicemail, bool):
            raise _BadField("voicemail", "voicemail must be true or false")
        voicemail_url = panel_address() + url_for("demo.voicemail", call_id=event["call_id"]) if voicemail else None
        event.update(answered=answered, duration_seconds=duration if answered else 0, recording_url=None,
                     voicemail_url=voicemail_url, disposition=disposition or None)
    return event


def _call_id(body: dict) -> str:
    value = _text(body, "call_id")
    problem = identifier_problem("call_id", value)
    if problem:
        raise _BadField("call_id", problem)
    return value


@bp.route("/events", methods=["POST"])
def forward_event():
    """Sign the demo page's call event with the webhook secret and deliver it to `POST /webhooks/calls`, as the
    signed-in agent (see the module's docstring). CSRF-protected like every form: only the demo page itself can
    ask. The body is checked first, so a request the page never sends is refused alike whoever sends it; nothing
    is signed or sent for a signed-out one (401)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify(error="the body must be a JSON object", field=None), 400
    connection = current_connection()
    agent = _agent_email(connection) if connection is not None else ""
    try:
        event = build_event(body, agent_email=agent)
    except _BadField as bad:
        return jsonify(error=bad.message, field=bad.field), 400
    if not agent:
        return jsonify(error="sign in on the demo page first: it sends call events as the signed-in agent only",
                       field=None), 401
    dialer = body.get("format") or NATIVE_FORMAT
    if dialer != NATIVE_FORMAT:
        if dialer not in dict(formats()):
            return jsonify(error="format must be panel or one of the dialers that are on", field="format"), 400
        return _forward_as_vendor(dialer, body, event)
    raw = json.dumps(event, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json",
               **signature_headers(current_app.config["PANEL_WEBHOOK_SECRET"], raw, int(time.time()))}
    return _deliver(panel_address() + url_for("webhooks.receive_call_event"), raw, headers,
                    event_id=event["event_id"], type=event["type"])


def _deliver(target: str, raw: bytes, headers: dict, **shown):
    """POST the signed delivery to the panel's webhook; the page is told its answer (502 when none came)."""
    try:
        answer = requests.post(target, data=raw, headers=headers, timeout=FORWARD_TIMEOUT_S)
    except requests.RequestException:
        return jsonify(error="the webhook did not answer", field=None), 502
    try:
        webhook_body = answer.json()
    except ValueError:
        webhook_body = None
    return jsonify(webhook_status=answer.status_code, webhook=webhook_body, **shown), 200


def _forward_as_vendor(dialer: str, body: dict, event: dict):
    """Deliver the button press in the vendor's format, signed with its secret, to its adapter's webhook."""
    module = registry.adapter(dialer)
    kind = {value: key for key, value in EVENT_TYPES.items()}[event["type"]]
    started = datetime.now(timezone.utc) - timedelta(seconds=int(event.get("duration_seconds") or 0))
    call = DemoCall(call_id=event["call_id"], direction=event["direction"], number=event["external_number"],
                    agent_email=event["agent_email"], started_at=started,
                    answered=bool(event.get("answered", kind != "ringing")),
                    duration_seconds=int(event.get("duration_seconds") or 0))
    target = panel_address() + url_for("dialer_webhooks.receive", dialer=dialer)
    # Connect and MiiTel send their secret in a header the admin names (PANEL_CONNECT_API_KEY_HEADER, …).
    header = {"header": current_app.config[module.SETTINGS[0]]} if module.SETTINGS else {}
    built = module.demo_delivery(kind, call, secret=current_app.config[module.SECRET], url=target,
                                 now=datetime.now(timezone.utc), **header)
    if built is None:  # the vendor sends no such event (MiiTel reports calls only after they end)
        return jsonify(webhook_status=None, webhook={"status": f"{FORMAT_LABELS[dialer]} sends no {kind} event"},
                       type=event["type"], format=dialer), 200
    raw, headers, content_type = built
    return _deliver(target, raw, {**headers, "Content-Type": content_type}, type=event["type"], format=dialer)


@bp.route("/voicemail/<call_id>", methods=["GET"])
def voicemail(call_id: str):
    """A stand-in for the dialer's voicemail link, so the logged Task's link leads somewhere."""
    return render_template("demo_voicemail.html", call_id=call_id[:MAX_TEXT])
