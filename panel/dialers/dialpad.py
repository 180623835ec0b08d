"""Dialpad event subscriptions: call states and text messages, as Dialpad sends them.

Verification (https://developers.dialpad.com/docs/event-subscriptions): with a secret set on the webhook
(`signature: {type: "jwt", algo: "HS256", secret}`), each event is sent as a JWT signed HS256 with that secret; its
payload is the event. The panel requires the secret: a body that is not a JWT signed HS256 with
PANEL_DIALPAD_WEBHOOK_SECRET is refused (401). The check is done here with `hmac` (the header must say HS256: no
`none`, no other algorithm); PyJWT is only in the environment as simple-salesforce's dependency, so the panel does
not rely on it. Dialpad documents no timestamp claim, so staleness is not checked: a replayed event is a duplicate.

Call events (https://developers.dialpad.com/docs/call-events; field table also in
https://help.dialpad.com/hc/en-us/articles/115005281886): one event per state transition of each call leg, with
`call_id`, `master_call_id`, `entry_point_call_id`, `state`, `direction` (inbound/outbound), `external_number` (the
other party, both directions), `internal_number`, `target` {id, type, email, name, phone} (the Dialpad user, or the
department / call center, the call is for), `contact`, `date_started`, `date_rang`, `date_connected`, `date_ended`
(epoch milliseconds). Delivery: on a 5xx Dialpad retries three times (2, 4, 8 s), a 4xx is not retried, and events
may arrive out of order (https://developers.dialpad.com/docs/webhook-delivery-failures).

| state | panel event |
|---|---|
| calling (outbound), ringing | call.ringing (`date_rang`, else `date_started`) |
| connected | call.answered (`date_connected`) |
| hangup | call.ended (`date_ended`); answered when `date_connected` is set; duration `date_ended - date_connected` |
| missed, voicemail | call.ended, not answered (a `voicemail` state comes even when no message is left) |
| voicemail_uploaded | call.recording with `voicemail_link` |
| recording | call.recording, one per `recording_details[].url` (else `recording_url`) |
| transcription | call.transcript (`transcription_text`, cut to 32,000 characters) |
| recap_summary | call.summary (`recap_summary`, cut to 32,000 characters) |
| anything else (preanswer, queued, hold, parked, dispositions, …) | nothing (200) |

- The interaction: `call_id = dialpad:<master_call_id>` (the call every leg of a transfer or a call-center ring
  shares), else `dialpad:<entry_point_call_id>`, else the leg's own; `leg_id = dialpad:<call_id>`. Dialpad sends no
  event id: `event_id = dialpad:<call_id>:<state>:<the state's time>` (facts: a digest of the fact instead), so a
  redelivery — or the same `connected` sent again after a hold — is a duplicate.
- The agent: `target.email` (a Salesforce user's e-mail needs no row) or `target.id` (a PANEL_DIALER_USERS row) when
  `target.type` is `user`; a department or call-center target names no agent (`target.id` may still be mapped by a
  row), and the call goes to review until a user's leg names one.
- `internal`: `contact.type` is `user` (another Dialpad user).

SMS events (https://developers.dialpad.com/docs/sms-events): `id`, `created_date`, `direction` (inbound/outbound),
`target` (the Dialpad user/department the message is for or from), `contact` {id, name, phone_number} (the other
party), `sender_id`, `from_number`, `to_number` (a list), `text` (only with the `message_content_export` scope).
inbound → message.received, outbound → message.sent; the other party is `contact.phone_number` (else `from_number`
for inbound, `to_number[0]` for outbound); the agent `sender_id`'s row, then `target.email` / `target.id`.

Not confirmed from Dialpad's documentation (second-hand, from a public Dialpad bridge,
https://github.com/alext8900/dialpad-zendesk-bridge CLAUDE.md): that operator legs of a call-center call carry
`entry_point_call_id` but no `master_call_id` (such a leg is filed under its entry point call, not the master call);
that recording links are `recording_details[].url`; that `voicemail_link` / `transcription_text` / `recap_summary`
are the field names on `voicemail_uploaded` / `transcription` / `recap_summary` states; `contact.type == "user"` for
internal calls. Also unconfirmed: the unit of the SMS `created_date` (milliseconds assumed; a value that can only be
seconds is read as seconds) and the message text field name (`text`).

Pure: no Flask, no database, no network.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from datetime import datetime, timedelta
from typing import Any

from panel.calls.events import MAX_FACT_TEXT, MAX_MESSAGE_TEXT, CallEvent, EventError
from panel.dialers.base import AdapterConfig, DemoCall, Delivery, Refused, Reply, constant_time_equal, namespaced
from panel.dialers.reading import free_text, from_epoch_ms, http_url, identifier, identity, json_object, phone_number

__all__ = ["MAX_BODY_BYTES", "NAME", "SECRET", "SECRETS", "SETTINGS", "demo_delivery", "encode", "receive"]

NAME = "dialpad"
SECRET = "PANEL_DIALPAD_WEBHOOK_SECRET"
SECRETS: tuple[str, ...] = ()
SETTINGS: tuple[str, ...] = ()
MAX_BODY_BYTES = 512 * 1024  # a transcript travels in the event, base64url-encoded inside the JWT
MAX_TOKEN_PART = MAX_BODY_BYTES

PROGRESS_STATES = {"calling": "call.ringing", "ringing": "call.ringing", "connected": "call.answered",
                   "hangup": "call.ended", "missed": "call.ended", "voicemail": "call.ended"}
STATE_TIMES: dict[str, tuple[str, ...]] = {
    "calling": ("date_started",), "ringing": ("date_rang", "date_started"), "connected": ("date_connected",),
    "hangup": ("date_ended",), "missed": ("date_ended", "date_rang", "date_started"),
    "voicemail": ("date_ended", "date_rang", "date_started"),
}
MAX_ID = 200  # a Dialpad id (ids are JSON numbers, taken as their digits)
FACT_TIMES = ("date_ended", "date_connected", "date_rang", "date_started")
_SECONDS_BEFORE = 100_000_000_000  # epoch values below this are seconds (as milliseconds they would be 1973)


# -- the JWT -----------------------------------------------------------------------------------------------------------

def encode(payload: dict, secret: str) -> bytes:
    """The JWT Dialpad sends for `payload` (HS256): used by the demo dialer and the tests."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    signing_input = f"{header}.{body}".encode()
    return signing_input + b"." + _b64(hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()).encode()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _verified_payload(delivery: Delivery, config: AdapterConfig) -> dict:
    """The event inside the JWT, once its HS256 signature is checked; `Refused` otherwise."""
    try:
        token = delivery.body.decode("ascii").strip()
    except UnicodeDecodeError:
        raise Refused("the body must be a JWT signed HS256 with the webhook's secret") from None
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise Refused("the body must be a JWT signed HS256 with the webhook's secret")
    header_b64, payload_b64, signature_b64 = parts
    try:
        header = json.loads(_unb64(header_b64))
        signature = _unb64(signature_b64)
    except (ValueError, binascii.Error, RecursionError):
        raise Refused("the JWT is malformed") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise Refused("the JWT must be signed HS256")
    signing_input = f"{header_b64}.{payload_b64}".encode()
    secrets = config.secret_values(SECRET, *SECRETS)
    if not any(constant_time_equal(hmac.new(secret.encode(), signing_input, hashlib.sha256).digest(), signature)
               for secret in secrets):
        raise Refused("the signature does not match")
    try:
        payload = _unb64(payload_b64)
    except (ValueError, binascii.Error):
        raise EventError("the JWT's payload is not JSON") from None
    return json_object(payload, "the JWT's payload")


# -- receiving ---------------------------------------------------------------------------------------------------------

def receive(delivery: Delivery, config: AdapterConfig) -> Reply | list[CallEvent]:
    event = _verified_payload(delivery, config)
    state = event.get("state")
    if isinstance(state, str) and state:
        return _call_events(state, event, config)
    if "created_date" in event and "direction" in event:  # an SMS event (they carry no state)
        return _message(event, config)
    return []


def _call_events(state: str, event: dict, config: AdapterConfig) -> list[CallEvent]:
    if state not in PROGRESS_STATES and state not in ("voicemail_uploaded", "recording", "transcription",
                                                       "recap_summary"):
        return []
    leg = identifier(event.get("call_id"), "call_id", MAX_ID, numbers=True)
    interaction = next((identifier(event.get(key), key, MAX_ID, numbers=True)
                        for key in ("master_call_id", "entry_point_call_id") if event.get(key) not in (None, "")), leg)
    direction = _choice(event, "direction", ("inbound", "outbound"))
    email, ref = _agent(event, config)
    common: dict[str, Any] = {
        "call_id": namespaced(NAME, interaction), "leg_id": namespaced(NAME, leg), "direction": direction,
        "agent_email": email, "agent_ref": ref, "internal": _party_type(event, "contact") == "user",
        "external_number": _external_number(event),
    }
    if state in PROGRESS_STATES:
        return [_progress(state, leg, event, common)]
    occurred_at = _first_time(event, FACT_TIMES)
    if state == "voicemail_uploaded":
        url = http_url(event.get("voicemail_link"), "voicemail_link")
        return [CallEvent(event_id=_event_id(leg, state, url), type="call.recording", occurred_at=occurred_at,
                          voicemail_url=url, **common)]
    if state == "recording":
        return [CallEvent(event_id=_event_id(leg, state, url), type="call.recording", occurred_at=occurred_at,
                          recording_url=url, **common) for url in _recording_urls(event)]
    if state == "transcription":
        text = _fact_text(event, "transcription_text")
        return [CallEvent(event_id=_event_id(leg, state, text), type="call.transcript", occurred_at=occurred_at,
                          transcript=text, **common)]
    summary = _fact_text(event, "recap_summary")
    return [CallEvent(event_id=_event_id(leg, state, summary), type="call.summary", occurred_at=occurred_at,
                      summary=summary, **common)]


def _progress(state: str, leg: str, event: dict, common: dict) -> CallEvent:
    kind = PROGRESS_STATES[state]
    occurred_at = _first_time(event, STATE_TIMES[state])
    fields: dict[str, Any] = {}
    if kind == "call.ended":
        connected = event.get("date_connected") not in (None, "", 0)
        answered = state == "hangup" and connected
        duration = 0
        if answered:
            since = from_epoch_ms(event["date_connected"], "date_connected")
            duration = max(0, min(86_400, int((occurred_at - since).total_seconds())))
        fields = {"answered": answered, "duration_seconds": duration}
    return CallEvent(event_id=_event_id(leg, state, str(int(occurred_at.timestamp() * 1000))), type=kind,
                     occurred_at=occurred_at, **common, **fields)


def _message(event: dict, config: AdapterConfig) -> list[CallEvent]:
    message_id = identifier(event.get("id"), "id", MAX_ID, numbers=True)
    direction = _choice(event, "direction", ("inbound", "outbound"))
    contact = event.get("contact") if isinstance(event.get("contact"), dict) else {}
    number = contact.get("phone_number")
    field = "contact.phone_number"
    if number in (None, ""):
        if direction == "inbound":
            number, field = event.get("from_number"), "from_number"
        else:
            recipients = event.get("to_number")
            number = recipients[0] if isinstance(recipients, list) and recipients else recipients
            field = "to_number"
    target = event.get("target") if isinstance(event.get("target"), dict) else {}
    email, ref = config.agent(identity(event.get("sender_id")) if direction == "outbound" else None,
                              identity(target.get("email")), identity(target.get("id")))
    text = event.get("text")
    if text is None:
        text = event.get("text_content")
    return [CallEvent(
        event_id=namespaced(NAME, f"sms:{message_id}"), type="message.sent" if direction == "outbound"
        else "message.received", call_id="", direction=direction, agent_email=email, agent_ref=ref,
        occurred_at=_epoch(event, "created_date"), external_number=phone_number(number, field, numbers=True),
        text=free_text(text, MAX_MESSAGE_TEXT) if isinstance(text, str) else "")]


# -- reading values ------------------------------------------------------------------------------------------------------

def _agent(event: dict, config: AdapterConfig) -> tuple[str, str | None]:
    target = event.get("target") if isinstance(event.get("target"), dict) else {}
    if _party_type(event, "target") == "user":
        return config.agent(identity(target.get("email")), identity(target.get("id")))
    return config.agent(identity(target.get("id")))


def _party_type(event: dict, key: str) -> str:
    party = event.get(key)
    kind = party.get("type") if isinstance(party, dict) else None
    return kind.strip().lower() if isinstance(kind, str) else ""


def _external_number(event: dict) -> str:
    if event.get("external_number") not in (None, ""):
        return phone_number(event.get("external_number"), "external_number", numbers=True)
    contact = event.get("contact") if isinstance(event.get("contact"), dict) else {}
    return phone_number(contact.get("phone"), "contact.phone", numbers=True)


def _recording_urls(event: dict) -> list[str]:
    details = event.get("recording_details")
    urls: list[str] = []
    if isinstance(details, list):
        for index, item in enumerate(details):
            if isinstance(item, dict) and item.get("url") not in (None, ""):
                urls.append(http_url(item.get("url"), f"recording_details[{index}].url"))
    if not urls and event.get("recording_url") not in (None, ""):
        value = event["recording_url"]
        values = value if isinstance(value, list) else [value]
        urls = [http_url(item, f"recording_url[{index}]") for index, item in enumerate(values)]
    if not urls:
        raise EventError("recording_details[].url is missing", "recording_details")
    return list(dict.fromkeys(urls))


def _fact_text(event: dict, key: str) -> str:
    value = event.get(key)
    if isinstance(value, list):  # a summary sent as points
        value = "\n".join(str(item) for item in value if isinstance(item, (str, int, float)))
    elif isinstance(value, dict):
        value = value.get("summary") or value.get("text") or value.get("content")
    if not isinstance(value, str) or not value.strip():
        raise EventError(f"{key} is missing", key)
    return free_text(value, MAX_FACT_TEXT)


def _choice(event: dict, key: str, allowed: tuple[str, ...]) -> str:
    value = event.get(key)
    if value not in allowed:
        raise EventError(f"{key} must be one of {', '.join(allowed)}", key)
    return value


def _epoch(event: dict, key: str) -> datetime:
    value = event.get(key)
    if value in (None, ""):
        raise EventError(f"{key} is missing", key)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < _SECONDS_BEFORE:
        value = value * 1000
    moment = from_epoch_ms(value, key)
    if moment.year < 2000:
        raise EventError(f"{key} must be a time in epoch milliseconds", key)
    return moment


def _first_time(event: dict, keys: tuple[str, ...]) -> datetime:
    for key in keys:
        if event.get(key) not in (None, "", 0):
            return _epoch(event, key)
    raise EventError(f"{keys[0]} is missing", keys[0])


def _event_id(leg: str, state: str, detail: str) -> str:
    if not detail.isdigit():
        detail = hashlib.sha256(detail.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return namespaced(NAME, f"{leg}:{state}:{detail}")


# -- the demo dialer -------------------------------------------------------------------------------------------------------

def demo_delivery(kind: str, call: DemoCall, *, secret: str, url: str,
                  now: datetime) -> tuple[bytes, dict, str] | None:
    """The demo's call as Dialpad's call-state events: ringing (or calling, outbound), connected, hangup (or missed),
    the agent named by `target.email`."""
    state = {"ringing": "ringing" if call.direction == "inbound" else "calling", "answered": "connected",
             "ended": "hangup" if call.answered else "missed"}[kind]
    ms = lambda moment: int(moment.timestamp() * 1000)  # noqa: E731
    connected_at = call.started_at + timedelta(seconds=5)
    event: dict[str, Any] = {
        "call_id": call.call_id, "master_call_id": None, "state": state, "direction": call.direction,
        "external_number": call.number, "internal_number": "+81300000100",
        "target": {"id": "demo-user", "type": "user", "email": call.agent_email, "name": "Demo agent"},
        "contact": {"id": "demo-contact", "type": "local", "name": "Demo customer", "phone": call.number},
        "date_started": ms(call.started_at), "date_rang": ms(call.started_at),
    }
    if kind != "ringing" and call.answered:
        event["date_connected"] = ms(connected_at)
    if kind == "ended":
        event["date_ended"] = ms(connected_at + timedelta(seconds=call.duration_seconds)) if call.answered \
            else ms(now)
    return encode(event, secret), {}, "application/jwt"
