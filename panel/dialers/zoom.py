"""Zoom Phone webhooks: call status, recordings, voicemails and text messages, as Zoom sends them.

Verification (https://developers.zoom.us/docs/api/webhooks and Zoom's own sample, github.com/zoom/webhook-sample
index.js): every request, the URL validation included, carries `x-zm-request-timestamp` (epoch seconds) and
`x-zm-signature: v0=<hex HMAC-SHA256(secret token, "v0:{timestamp}:{raw body}")>`. A request whose signature does
not match, or whose timestamp is more than five minutes from the panel's clock, is refused (401). Zoom repeats the
URL validation every 72 hours (https://developers.zoom.us/changelog/platform/webhook-url-validation.md): an
`endpoint.url_validation` event is answered with `{"plainToken", "encryptedToken": hex HMAC-SHA256(secret token,
plainToken)}`.

Events (https://developers.zoom.us/docs/phone/call-data.md; the fields from Zoom's typed SDK, Rivet:
https://zoom.github.io/rivet-javascript/types/Phone.PhoneCalleeRingingEvent.html and the other `Phone.*Event` types
in github.com/zoom/rivet-javascript phone/phone.d.ts). The envelope is `{event, event_ts (ms), payload: {account_id,
object}}`; the call events' object has `call_id`, `caller` and `callee` ({user_id, extension_number, phone_number,
name, …}) and ISO times (`ringing_start_time`, `answer_start_time`, `connected_start_time`, `call_end_time`):

| Zoom event | panel event | the agent is | the other party |
|---|---|---|---|
| phone.callee_ringing | call.ringing, inbound | callee | caller.phone_number |
| phone.callee_answered | call.answered, inbound | callee | caller.phone_number |
| phone.callee_missed, phone.callee_rejected | call.ended, inbound, not answered | callee | caller.phone_number |
| phone.callee_ended | call.ended, inbound (answered when `answer_start_time` is set) | callee | caller.phone_number |
| phone.caller_ringing | call.ringing, outbound | caller | callee.phone_number |
| phone.caller_connected | call.answered, outbound | caller | callee.phone_number |
| phone.caller_ended | call.ended, outbound (answered when `answer_start_time` is set) | caller | callee.phone_number |
| phone.recording_completed | call.recording (`recordings[].download_url`), one per recording | owner / user_id | by `direction` |
| phone.voicemail_received | call.recording with the voicemail link (`download_url`) | callee_user_id / callee_id | caller_number |
| phone.sms_received | message.received (`message`) | owner.id | sender.phone_number |
| phone.sms_sent | message.sent (`message`), one per recipient | owner.sms_sender_user_id / sender.id / owner.id | to_members[].phone_number |

Anything else (hold, mute, park, call history/element reports, …) is answered 200 and stored nowhere.

- Ids: Zoom sends no event or delivery id, so `event_id` is `zoom:<event>:<call_id>:<user>:<the event's own time>`
  (the same on a redelivery, different for another state or another agent's ring); recordings use the recording
  id, voicemails the voicemail id, messages `message_id`.
- The call: `call_id = zoom:<call_id>`. Transfers: Zoom's real-time events carry no interaction id. What was found:
  in the call history, a direct (blind) transfer continues the call under the same `call_id` with a suffix `_1`,
  `_2`, … and a warm transfer gets a new `call_id` (https://qiita.com/michitakasugi/items/297ee4e1206d77cbf111,
  second-hand, about the Call History API; Zoom's changelog
  https://developers.zoom.us/changelog/phone/july-02-2026 says warm-transfer segments used to be separate records
  matched through `transfer_call_id`). So a `call_id` of the form `<digits>_<n>` is filed as a leg
  (`leg_id = zoom:<digits>_<n>`) of the call `zoom:<digits>`; a warm transfer is not linked and is logged as a call
  of its own. NOT confirmed from Zoom's webhook reference: that the suffix appears in the real-time events too.
- The agent: `callee`/`caller` `user_id`, then `extension_number` (PANEL_DIALER_USERS rows with either as the
  `dialer_user`); Zoom's call events carry no e-mail. An agent no row names goes to review (`zoom:<user_id>`).
- `internal`: the other party has an extension number (a Zoom user of the account).
- Times: Zoom's ISO times end in `Z`; a time without an offset is read as UTC (Zoom documents its times in GMT).
  `duration_seconds` is `call_end_time - answer_start_time` (0 for a call nobody answered).
- Not confirmed: whether `callee_rejected` is followed by `callee_missed`/`callee_ended` for the same agent (a
  second `call.ended` changes nothing: both say not answered); the `message_type` values of SMS events.

Pure: no Flask, no database, no network.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from panel.calls.events import MAX_MESSAGE_TEXT, CallEvent, EventError
from panel.dialers.base import AdapterConfig, DemoCall, Delivery, Refused, Reply, constant_time_equal, namespaced
from panel.dialers.reading import (free_text, http_url, identifier, identity, iso_moment, json_object, member_object,
                                   phone_number)

__all__ = ["MAX_BODY_BYTES", "NAME", "SECRET", "SECRETS", "SETTINGS", "demo_delivery", "receive", "sign"]

NAME = "zoom"
SECRET = "PANEL_ZOOM_WEBHOOK_SECRET"
SECRETS: tuple[str, ...] = ()
SETTINGS: tuple[str, ...] = ()
MAX_BODY_BYTES = 256 * 1024
MAX_SKEW = timedelta(minutes=5)
SIGNATURE_HEADER = "x-zm-signature"
TIMESTAMP_HEADER = "x-zm-request-timestamp"
VALIDATION_EVENT = "endpoint.url_validation"
MAX_ID = 200  # a Zoom id; the event id joins several (and is hashed beyond 200 characters)

# event → (panel type, direction, the agent's side, the other side)
CALL_EVENTS: dict[str, tuple[str, str, str, str]] = {
    "phone.callee_ringing": ("call.ringing", "inbound", "callee", "caller"),
    "phone.callee_answered": ("call.answered", "inbound", "callee", "caller"),
    "phone.callee_missed": ("call.ended", "inbound", "callee", "caller"),
    "phone.callee_rejected": ("call.ended", "inbound", "callee", "caller"),
    "phone.callee_ended": ("call.ended", "inbound", "callee", "caller"),
    "phone.caller_ringing": ("call.ringing", "outbound", "caller", "callee"),
    "phone.caller_connected": ("call.answered", "outbound", "caller", "callee"),
    "phone.caller_ended": ("call.ended", "outbound", "caller", "callee"),
}
KNOWN_FACTS_AND_MESSAGES = ("phone.recording_completed", "phone.voicemail_received", "phone.sms_received",
                            "phone.sms_sent")
# the time each event happened at, in the order to look for it
EVENT_TIMES: dict[str, tuple[str, ...]] = {
    "call.ringing": ("ringing_start_time",),
    "call.answered": ("answer_start_time", "connected_start_time"),
    "call.ended": ("call_end_time",),
}
_TRANSFER_LEG = re.compile(r"^(\d+)_(\d+)$")


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The `x-zm-signature` Zoom sends with `body` at `timestamp` (epoch seconds)."""
    message = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def receive(delivery: Delivery, config: AdapterConfig) -> Reply | list[CallEvent]:
    _verify(delivery, config)
    envelope = json_object(delivery.body)
    event = _string(envelope, "event", "event")
    if event != VALIDATION_EVENT and event not in CALL_EVENTS and event not in KNOWN_FACTS_AND_MESSAGES:
        return []
    payload = member_object(envelope.get("payload"), "payload")
    if event == VALIDATION_EVENT:
        return _validation_reply(payload, config.secrets[SECRET])
    if event in CALL_EVENTS:
        return [_call_event(event, _object(payload), config)]
    if event == "phone.recording_completed":
        return _recordings(_object(payload), config)
    if event == "phone.voicemail_received":
        return [_voicemail(_object(payload), config)]
    if event in ("phone.sms_received", "phone.sms_sent"):
        return _messages(event, _object(payload), config)
    return []


# -- verification ------------------------------------------------------------------------------------------------------

def _verify(delivery: Delivery, config: AdapterConfig) -> None:
    timestamp = (delivery.header(TIMESTAMP_HEADER) or "").strip()
    given = delivery.header(SIGNATURE_HEADER)
    if not timestamp or not given:
        raise Refused("x-zm-signature and x-zm-request-timestamp are required")
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 11:
        raise Refused("x-zm-request-timestamp must be epoch seconds")
    try:
        signed_at = datetime.fromtimestamp(int(timestamp), tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise Refused("x-zm-request-timestamp must be epoch seconds") from None
    if abs(config.now() - signed_at) > MAX_SKEW:
        raise Refused("the delivery is more than five minutes old (or ahead of the panel's clock)")
    secrets = config.secret_values(SECRET, *SECRETS)
    if not any(constant_time_equal(sign(secret, timestamp, delivery.body), given.strip()) for secret in secrets):
        raise Refused("the signature does not match")


def _validation_reply(payload: dict, secret: str) -> Reply:
    plain = _string(payload, "plainToken", "payload.plainToken")
    if len(plain) > 512:
        raise EventError("payload.plainToken is too long", "payload.plainToken")
    encrypted = hmac.new(secret.encode(), plain.encode(), hashlib.sha256).hexdigest()
    return Reply(200, {"plainToken": plain, "encryptedToken": encrypted})


# -- calls ---------------------------------------------------------------------------------------------------------------

def _call_event(event: str, obj: dict, config: AdapterConfig) -> CallEvent:
    kind, direction, agent_side, other_side = CALL_EVENTS[event]
    vendor_call = identifier(obj.get("call_id"), "payload.object.call_id", MAX_ID, numbers=True)
    agent = _party(obj, agent_side)
    other = _party(obj, other_side)
    occurred_at = _first_time(obj, EVENT_TIMES[kind])
    email, ref = config.agent(identity(agent.get("user_id")), identity(agent.get("extension_number")),
                              identity(agent.get("email")))
    fields: dict[str, Any] = {}
    if kind == "call.ended":
        answered = event.endswith("_ended") and obj.get("answer_start_time") not in (None, "")
        duration = 0
        if answered:
            started = iso_moment(obj.get("answer_start_time"), "payload.object.answer_start_time")
            duration = max(0, min(86_400, int((occurred_at - started).total_seconds())))
        fields = {"answered": answered, "duration_seconds": duration}
    call_id, transfer_leg = _call_ids(vendor_call)
    user = identity(agent.get("user_id")) or identity(agent.get("extension_number")) or ""
    # Each agent the call rings is a leg of its own: a ring group's member who missed it ends only their leg, not
    # the call another member answered.
    leg_id = namespaced(NAME, f"{vendor_call}:{user}") if user else transfer_leg
    return CallEvent(
        event_id=_event_id(event, vendor_call, user, occurred_at.isoformat()), type=kind, call_id=call_id,
        direction=direction, agent_email=email, agent_ref=ref, occurred_at=occurred_at,
        internal=other.get("extension_number") not in (None, ""),
        external_number=phone_number(other.get("phone_number"), f"payload.object.{other_side}.phone_number",
                                     numbers=True),
        leg_id=leg_id, **fields)


def _call_ids(vendor_call: str) -> tuple[str, str | None]:
    """(call_id, leg_id): a transferred leg `123_1` belongs to the call `123`."""
    leg = _TRANSFER_LEG.match(vendor_call)
    if leg:
        return namespaced(NAME, leg.group(1)), namespaced(NAME, vendor_call)
    return namespaced(NAME, vendor_call), None


def _party(obj: dict, side: str) -> dict:
    return member_object(obj.get(side), f"payload.object.{side}")


# -- facts ---------------------------------------------------------------------------------------------------------------

def _recordings(obj: dict, config: AdapterConfig) -> list[CallEvent]:
    recordings = obj.get("recordings")
    if not isinstance(recordings, list) or not recordings:
        raise EventError("payload.object.recordings is missing", "payload.object.recordings")
    return [_recording(item, index, config) for index, item in enumerate(recordings)]


def _recording(item: Any, index: int, config: AdapterConfig) -> CallEvent:
    where = f"payload.object.recordings[{index}]"
    if not isinstance(item, dict):
        raise EventError(f"{where} must be an object", where)
    vendor_call = identifier(item.get("call_id"), f"{where}.call_id", MAX_ID, numbers=True)
    recording_id = identifier(item.get("id"), f"{where}.id", MAX_ID, numbers=True)
    direction = "outbound" if identity(item.get("direction")) == "outbound" else "inbound"
    owner = item.get("owner") if isinstance(item.get("owner"), dict) else {}
    email, ref = config.agent(identity(owner.get("id")) if owner.get("type") == "user" else None,
                              identity(item.get("user_id")), identity(owner.get("extension_number")))
    other = "callee_number" if direction == "outbound" else "caller_number"
    call_id, leg_id = _call_ids(vendor_call)
    return CallEvent(
        event_id=_event_id("phone.recording_completed", recording_id), type="call.recording", call_id=call_id,
        direction=direction, agent_email=email, agent_ref=ref,
        occurred_at=_first_time(item, ("end_time", "date_time"), where),
        external_number=phone_number(item.get(other), f"{where}.{other}", numbers=True), leg_id=leg_id,
        recording_url=http_url(item.get("download_url"), f"{where}.download_url"))


def _voicemail(obj: dict, config: AdapterConfig) -> CallEvent:
    where = "payload.object"
    vendor_call = identifier(obj.get("call_id"), f"{where}.call_id", MAX_ID, numbers=True)
    voicemail_id = identifier(obj.get("id"), f"{where}.id", MAX_ID, numbers=True)
    email, ref = config.agent(identity(obj.get("callee_user_id")), identity(obj.get("callee_id")),
                              identity(obj.get("callee_number")))
    call_id, leg_id = _call_ids(vendor_call)
    return CallEvent(
        event_id=_event_id("phone.voicemail_received", voicemail_id), type="call.recording", call_id=call_id,
        direction="inbound", agent_email=email, agent_ref=ref,
        occurred_at=iso_moment(obj.get("date_time"), f"{where}.date_time"),
        external_number=phone_number(obj.get("caller_number"), f"{where}.caller_number", numbers=True),
        leg_id=leg_id,
        voicemail_url=http_url(obj.get("download_url"), f"{where}.download_url"))


# -- text messages ---------------------------------------------------------------------------------------------------------

def _messages(event: str, obj: dict, config: AdapterConfig) -> list[CallEvent]:
    where = "payload.object"
    message_id = identifier(obj.get("message_id"), f"{where}.message_id", MAX_ID, numbers=True)
    occurred_at = iso_moment(obj.get("date_time"), f"{where}.date_time")
    text = _message_text(obj)
    owner = obj.get("owner") if isinstance(obj.get("owner"), dict) else {}
    sender = obj.get("sender") if isinstance(obj.get("sender"), dict) else {}
    if event == "phone.sms_received":
        email, ref = config.agent(identity(owner.get("id")), *_owning_members(obj))
        return [CallEvent(event_id=_event_id(event, message_id), type="message.received", call_id="",
                          direction="inbound", agent_email=email, agent_ref=ref, occurred_at=occurred_at,
                          external_number=phone_number(sender.get("phone_number"), f"{where}.sender.phone_number",
                                                       numbers=True),
                          text=text)]
    email, ref = config.agent(identity(owner.get("sms_sender_user_id")), identity(sender.get("id")),
                              identity(owner.get("id")))
    members = obj.get("to_members")
    if not isinstance(members, list) or not members:
        raise EventError(f"{where}.to_members is missing", f"{where}.to_members")
    events = []
    for index, member in enumerate(members):
        number_field = f"{where}.to_members[{index}].phone_number"
        number = phone_number(member.get("phone_number") if isinstance(member, dict) else None, number_field,
                              numbers=True)
        events.append(CallEvent(
            event_id=_event_id(event, message_id, number if len(members) > 1 else ""), type="message.sent",
            call_id="", direction="outbound", agent_email=email, agent_ref=ref, occurred_at=occurred_at,
            external_number=number, text=text))
    return events


def _owning_members(obj: dict) -> list[str | None]:
    members = obj.get("to_members")
    if not isinstance(members, list):
        return []
    owning = [m for m in members if isinstance(m, dict) and m.get("is_message_owner")] or \
        [m for m in members if isinstance(m, dict)]
    return [identity(m.get("id")) for m in owning[:1]]


def _message_text(obj: dict) -> str:
    message = obj.get("message")
    text = free_text(message, MAX_MESSAGE_TEXT) if isinstance(message, str) else ""
    attachments = obj.get("attachments")
    if not text and isinstance(attachments, list) and attachments:
        names = [free_text(a.get("name"), 100) for a in attachments if isinstance(a, dict)
                 and isinstance(a.get("name"), str)]
        text = "[" + ", ".join(names or ["attachment"]) + "]"
    if not text and message is None:
        raise EventError("payload.object.message is missing", "payload.object.message")
    return text


# -- reading values --------------------------------------------------------------------------------------------------------

def _object(payload: dict) -> dict:
    return member_object(payload.get("object"), "payload.object")


def _string(data: dict, key: str, field: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise EventError(f"{field} is missing", field)
    return value


def _first_time(data: dict, keys: tuple[str, ...], where: str = "payload.object") -> datetime:
    """The first of `keys` that is set, read as an ISO time (Zoom's end in `Z`; without an offset: UTC, Zoom
    documents its times in GMT)."""
    key = next((key for key in keys if data.get(key) not in (None, "")), keys[0])
    return iso_moment(data.get(key), f"{where}.{key}")


def _event_id(*parts: str) -> str:
    key = ":".join(part for part in parts if part)
    if len(key) > 200:
        key = f"{parts[0]}:{hashlib.sha256(key.encode()).hexdigest()}"
    return namespaced(NAME, key)


# -- the demo dialer -------------------------------------------------------------------------------------------------------

def demo_delivery(kind: str, call: DemoCall, *, secret: str, url: str,
                  now: datetime) -> tuple[bytes, dict, str] | None:
    """The demo's call as Zoom reports it: callee_* events for an inbound call, caller_* for an outbound one. Zoom's
    events name the agent by an opaque user id; the demo puts the agent's e-mail there, so it needs no
    PANEL_DIALER_USERS row."""
    inbound = call.direction == "inbound"
    side = "callee" if inbound else "caller"
    event = {
        ("ringing", True): "phone.callee_ringing", ("answered", True): "phone.callee_answered",
        ("ended", True): "phone.callee_ended" if call.answered else "phone.callee_missed",
        ("ringing", False): "phone.caller_ringing", ("answered", False): "phone.caller_connected",
        ("ended", False): "phone.caller_ended",
    }[(kind, inbound)]
    iso = lambda moment: moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    agent = {"user_id": call.agent_email, "extension_number": 100, "phone_number": "+81300000100",
             "name": "Demo agent", "extension_type": "user"}
    other = {"phone_number": call.number, "name": "Demo customer"}
    obj: dict[str, Any] = {"call_id": call.call_id, side: agent, ("caller" if inbound else "callee"): other,
                           "ringing_start_time": iso(call.started_at)}
    answered_at = call.started_at + timedelta(seconds=5)
    if kind == "answered":
        obj["answer_start_time" if inbound else "connected_start_time"] = iso(answered_at)
    if kind == "ended":
        if call.answered:
            obj["answer_start_time"] = iso(answered_at)
        obj["call_end_time"] = iso(answered_at + timedelta(seconds=call.duration_seconds))
    body = json.dumps({"event": event, "event_ts": int(now.timestamp() * 1000),
                       "payload": {"account_id": "demo-account", "object": obj}}).encode()
    timestamp = str(int(now.timestamp()))
    return body, {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, timestamp, body)}, "application/json"
