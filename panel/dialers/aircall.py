"""Aircall webhooks: call events, recordings and voicemails, text messages, as Aircall sends them.

Verification (https://developer.aircall.io/docs/webhooks-overview, https://developer.aircall.io/tutorials/webhooks-
guide): every event is a JSON body `{resource, event, timestamp, token, data}`; `token` is the webhook's token,
shown in the Aircall Dashboard (or returned by `POST /v1/webhooks`) when the webhook is created. Aircall signs
nothing and sends no header of its own: the `token` is compared in constant time with PANEL_AIRCALL_WEBHOOK_TOKEN,
and a body without it or with another one is refused (401). `timestamp` (epoch seconds, when the payload was
built) is not signed, so a stale delivery cannot be refused; a redelivery is a duplicate by its event id (below).
Aircall delivers each event "at least once", in no particular order, retries failed deliveries and deactivates a
webhook that keeps failing (re-enabled by a success within 12 hours): answers are fast, and never 500.
(Secondary summary of the same pages with the retry figures: github.com/hookdeck/webhook-skills
skills/aircall-webhooks/references/overview.md.)

Call events carry the call object in `data` (https://developer.aircall.io/docs/calls; the webhook samples:
`id`, `direction` inbound/outbound, `status` initial/answered/done, `started_at`, `answered_at`, `ended_at` (epoch
seconds), `duration` (seconds), `missed_call_reason`, `raw_digits` (the other party's number as Aircall shows it),
`user` {`id`, `email`, `name`}, `recording`, `voicemail`, `asset`, `transferred_to`, `transferred_by`):

| Aircall event | panel event |
|---|---|
| call.created | call.ringing, only with `data.user` set (an agent's outbound call: an inbound one is created before it rings on anyone) |
| call.ringing_on_agent | call.ringing of the agent it rings on (`data.user`) |
| call.answered | call.answered, at `answered_at` |
| call.hungup | nothing: it "fires immediately when a call ends", before Aircall has the call's complete data |
| call.ended | call.ended: it comes "about 30 seconds after" the hang-up with all data (duration, recording, voicemail): the authoritative end. answered: `answered_at` set and no `missed_call_reason`; `duration`; the links |
| call.voicemail_left, call.comm_assets_generated | call.recording, when `recording`, `voicemail` or `asset` holds a link |
| message.received, message.sent | message.received, message.sent: SMS and MMS (`data.channel` null, sms or mms), not WhatsApp |

Anything else (transfers, hold, tags, comments, users, numbers, contacts, conversation intelligence) is answered
200 and stored nowhere.

- The call: `call_id = aircall:<data.id>`. A transfer between Aircall users keeps the call's `id`
  (`call.transferred` carries the same call with `transferred_by` / `transferred_to`), so a transferred call is one
  Task without legs; its owner is `transferred_to` when call.ended names one, else `user`.
- The agent: `data.user.id`, then `data.user.email` (PANEL_DIALER_USERS rows with the Aircall user id as
  `dialer_user`; an e-mail that is a Salesforce user needs no row). Messages name the agent by `data.user` when
  present, else the Aircall number (`data.number.digits`: a row with those digits gives a shared line's texts to
  one agent).
- Links: for the recording / voicemail the Task gets `asset` when Aircall sends it (a page of the Aircall
  Dashboard holding the recording or voicemail), else `recording` / `voicemail` (the file's own link).
- Ids: Aircall sends no event or delivery id. `event_id` is `aircall:<call id>:<state>` plus the time or the agent
  where a call can have several (a ring per agent: `:ringing:<user id>`), so a redelivery is a duplicate and
  another state is not; messages `aircall:message:<message id>:<event>`.

Not confirmed from Aircall's own reference (taken from the modelled spec github.com/api-evangelist/aircall
asyncapi/aircall-webhooks-asyncapi.yml and from captured payloads, e.g. https://pastebin.com/LhNnSsgZ for
call.ended with `duration` ≈ ended_at − answered_at): the message object's fields (`body` or `content` for the
text, `external_number` or `raw_digits` / `from` / `to` for the number, `created_at` / `sent_at` ISO or epoch
seconds: https://www.morf.health/docs/events/payloads/aircall/message shows `body`, `external_number`,
`created_at`), which link `asset` is, and whether call.ended's `user` is the last agent after a transfer.

Pure: no Flask, no database, no network.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from panel.calls.events import MAX_DURATION_SECONDS, MAX_MESSAGE_TEXT, CallEvent, EventError
from panel.dialers.base import AdapterConfig, DemoCall, Delivery, Refused, Reply, constant_time_equal, namespaced
from panel.dialers.reading import (free_text, from_epoch_seconds, http_url, identifier, identity, iso_moment,
                                   json_object, member_object, phone_number, recent)

__all__ = ["MAX_BODY_BYTES", "NAME", "SECRET", "SECRETS", "SETTINGS", "demo_delivery", "receive"]

NAME = "aircall"
SECRET = "PANEL_AIRCALL_WEBHOOK_TOKEN"
SECRETS: tuple[str, ...] = ()
SETTINGS: tuple[str, ...] = ()
MAX_BODY_BYTES = 256 * 1024
RINGING_EVENTS = ("call.created", "call.ringing_on_agent")
FACT_EVENTS = ("call.voicemail_left", "call.comm_assets_generated")
MESSAGE_EVENTS = {"message.received": "message.received", "message.sent": "message.sent"}
MAX_ID = 100  # an Aircall id; the event id joins several (and is hashed beyond 200 characters)
SMS_CHANNELS = (None, "", "sms", "mms", "SMS", "MMS")


def receive(delivery: Delivery, config: AdapterConfig) -> Reply | list[CallEvent]:
    envelope = _json(delivery.body)
    _verify(envelope, config)
    event = envelope.get("event")
    if not isinstance(event, str) or not event:
        raise EventError("event is missing", "event")
    if event not in RINGING_EVENTS and event not in ("call.answered", "call.ended") and event not in FACT_EVENTS \
            and event not in MESSAGE_EVENTS:
        return []
    data = member_object(envelope.get("data"), "data")
    if event in MESSAGE_EVENTS:
        return _message(event, data, envelope, config)
    if event in RINGING_EVENTS:
        return _ringing(event, data, envelope, config)
    if event == "call.answered":
        return [_call_event("call.answered", data, config, _epoch(data, "answered_at", config, envelope),
                            "answered")]
    if event == "call.ended":
        return [_ended(data, config, envelope)]
    return _facts(event, data, envelope, config)


# -- verification ------------------------------------------------------------------------------------------------------

def _verify(envelope: dict, config: AdapterConfig) -> None:
    given = envelope.get("token")
    if not isinstance(given, str) or not given:
        raise Refused("the token is missing")
    secrets = config.secret_values(SECRET, *SECRETS)
    if not any(constant_time_equal(secret, given) for secret in secrets):
        raise Refused("the token does not match")


# -- calls -------------------------------------------------------------------------------------------------------------

def _ringing(event: str, data: dict, envelope: dict, config: AdapterConfig) -> list[CallEvent]:
    user = _user(data.get("user"))
    if not user:
        return []  # an inbound call Aircall created before it rang on an agent
    occurred_at = _epoch(data, "started_at", config, envelope) if event == "call.created" \
        else _envelope_time(envelope, config)
    user_key = identity(user.get("id")) or identity(user.get("email")) or ""
    return [_call_event("call.ringing", data, config, occurred_at, "ringing", user_key)]


def _ended(data: dict, config: AdapterConfig, envelope: dict) -> CallEvent:
    duration = data.get("duration")
    if isinstance(duration, bool) or not isinstance(duration, int) or duration < 0:
        raise EventError("data.duration is missing", "data.duration")
    answered = data.get("answered_at") is not None and not data.get("missed_call_reason")
    voicemail = _link(data, "voicemail") if data.get("voicemail") else None
    recording = _link(data, "recording") if data.get("recording") else None
    asset = _link(data, "asset") if data.get("asset") else None
    return _call_event("call.ended", data, config, _epoch(data, "ended_at", config, envelope), "ended",
                       agent=_user(data.get("transferred_to")) or _user(data.get("user")),
                       answered=answered, duration_seconds=min(duration, MAX_DURATION_SECONDS) if answered else 0,
                       voicemail_url=(asset or voicemail) if voicemail else None,
                       recording_url=(asset or recording) if recording and not voicemail else None)


def _facts(event: str, data: dict, envelope: dict, config: AdapterConfig) -> list[CallEvent]:
    voicemail = _link(data, "voicemail") if data.get("voicemail") else None
    recording = _link(data, "recording") if data.get("recording") else None
    asset = _link(data, "asset") if data.get("asset") else None
    if voicemail:
        state, links = "voicemail", {"voicemail_url": asset or voicemail}
    elif recording or asset:
        state, links = "recording", {"recording_url": asset or recording}
    else:
        return []
    # one fact per call and kind of link: voicemail_left and comm_assets_generated both name the voicemail
    return [_call_event("call.recording", data, config, _envelope_time(envelope, config), state, **links)]


def _call_event(kind: str, data: dict, config: AdapterConfig, occurred_at: datetime, state: str, *key: str,
                agent: dict | None = None, **facts: Any) -> CallEvent:
    vendor_call = identifier(data.get("id"), "data.id", MAX_ID, numbers=True)
    direction = data.get("direction")
    if direction not in ("inbound", "outbound"):
        raise EventError("data.direction must be inbound or outbound", "data.direction")
    user = agent if agent is not None else _user(data.get("user"))
    email, ref = config.agent(identity(user.get("id")), identity(user.get("email")))
    return CallEvent(event_id=_event_id(vendor_call, state, *key), type=kind, call_id=namespaced(NAME, vendor_call),
                     direction=direction, agent_email=email, agent_ref=ref, occurred_at=occurred_at,
                     external_number=phone_number(data.get("raw_digits"), "data.raw_digits"), **facts)


def _user(value: Any) -> dict:
    """An Aircall user object with something to name the agent by, or {} (null, {} or neither id nor e-mail)."""
    if not isinstance(value, dict):
        return {}
    return value if identity(value.get("id")) or identity(value.get("email")) else {}


# -- text messages -----------------------------------------------------------------------------------------------------

def _message(event: str, data: dict, envelope: dict, config: AdapterConfig) -> list[CallEvent]:
    if data.get("channel") not in SMS_CHANNELS:
        return []  # WhatsApp and other channels: not text messages
    message_id = identifier(data.get("id"), "data.id", MAX_ID, numbers=True)
    text = next((data[key] for key in ("body", "content") if isinstance(data.get(key), str)), None)
    if text is None:
        raise EventError("data.body is missing", "data.body")
    kind = MESSAGE_EVENTS[event]
    number_keys = ("external_number", "raw_digits") + (("from",) if kind == "message.received" else ("to",))
    number = ""
    for key in number_keys:
        value = data.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        if value not in (None, ""):
            number = phone_number(value, f"data.{key}")
            break
    user = _user(data.get("user"))
    line = data.get("number") if isinstance(data.get("number"), dict) else {}
    email, ref = config.agent(identity(user.get("id")), identity(user.get("email")), identity(line.get("digits")))
    occurred_at = _message_time(data, envelope, config)
    return [CallEvent(event_id=_event_id("message", message_id, event), type=kind, call_id="",
                      direction="inbound" if kind == "message.received" else "outbound", agent_email=email,
                      agent_ref=ref, occurred_at=occurred_at, external_number=number,
                      text=free_text(text, MAX_MESSAGE_TEXT))]


def _message_time(data: dict, envelope: dict, config: AdapterConfig) -> datetime:
    for key in ("sent_at", "created_at", "received_at"):
        value = data.get(key)
        if isinstance(value, str) and value:
            return recent(iso_moment(value, f"data.{key}"), f"data.{key}", config.now())
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return _epoch(data, key, config, envelope)
    return _envelope_time(envelope, config)


# -- reading values ----------------------------------------------------------------------------------------------------

def _json(body: bytes) -> dict:
    """The event; a body that is not a JSON object cannot carry the token: refused, as a forged one is."""
    try:
        return json_object(body)
    except EventError:
        raise Refused("the body is not an Aircall event (JSON with its token)") from None


def _link(data: dict, key: str) -> str:
    return http_url(data.get(key), f"data.{key}")


def _epoch(data: dict, key: str, config: AdapterConfig, envelope: dict) -> datetime:
    """`data.<key>` (epoch seconds); the envelope's `timestamp` when Aircall left it empty."""
    value = data.get(key)
    if value is None:
        return _envelope_time(envelope, config)
    return _seconds(value, f"data.{key}", config)


def _envelope_time(envelope: dict, config: AdapterConfig) -> datetime:
    return _seconds(envelope.get("timestamp"), "timestamp", config)


def _seconds(value: Any, field: str, config: AdapterConfig) -> datetime:
    return recent(from_epoch_seconds(value, field), field, config.now())


def _event_id(*parts: str) -> str:
    key = ":".join(part for part in parts if part)
    if len(key) > 200:
        key = f"{parts[0][:40]}:{hashlib.sha256(key.encode()).hexdigest()}"
    return namespaced(NAME, key)


# -- the demo dialer ---------------------------------------------------------------------------------------------------

DEMO_EVENTS = {"ringing": "call.ringing_on_agent", "answered": "call.answered", "ended": "call.ended"}


def demo_delivery(kind: str, call: DemoCall, *, secret: str, url: str,
                  now: datetime) -> tuple[bytes, dict, str] | None:
    """An Aircall webhook body for the demo's call, carrying the webhook token. The call id is made numeric-looking
    text from the demo's id; the agent is named by e-mail, as Aircall's `user.email`."""
    started = int(call.started_at.timestamp())
    answered_at = started + 5 if call.answered and kind != "ringing" else None
    ended_at = int(now.timestamp()) if kind == "ended" else None
    data = {
        "id": call.call_id, "direct_link": f"https://api.aircall.io/v1/calls/{call.call_id}",
        "direction": call.direction, "status": "done" if kind == "ended" else ("answered" if answered_at else
                                                                               "initial"),
        "missed_call_reason": None if call.answered or kind != "ended" else "no_available_agent",
        "started_at": started, "answered_at": answered_at, "ended_at": ended_at,
        "duration": call.duration_seconds if kind == "ended" and call.answered else 0,
        "raw_digits": call.number, "voicemail": None, "recording": None, "asset": None,
        "user": {"id": 100001, "name": "Demo agent", "email": call.agent_email},
    }
    envelope = {"resource": "call", "event": DEMO_EVENTS[kind], "timestamp": int(now.timestamp()),
                "token": secret, "data": data}
    return json.dumps(envelope).encode(), {}, "application/json"
