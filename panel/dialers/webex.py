"""Webex Contact Center: the task and capture events of a Contact Center webhook subscription, as Webex sends them,
into the panel's call events.

Verification — a subscription created with a `secret` (PANEL_WEBEX_WEBHOOK_SECRET; the Subscriptions API's
`secret` field) makes Webex send `X-WebexCC-Signature`: the hex HMAC-SHA256, keyed with that secret, of the
unmodified request body. Version 2 subscriptions also send `X-WebexCC-Timestamp` (epoch milliseconds) equal to the
body's `comciscotimestamp`; when the header is there the two must be equal and within 5 minutes of the panel's
clock (Webex's replay protection, the tolerance of its own sample), else the delivery is refused. Webex's sample
answers a forged delivery 200 so that the subscription is not disabled; the panel answers 401 like every adapter
(whether repeated 4xx answers disable a subscription is unconfirmed). Every subscription sending to the panel must
use the one secret.

The envelope is CloudEvents-like: `id` (the event's id: `event_id` `webex:<id>`, so a redelivery is a duplicate),
`type`, `source` (ends with the subscription id), `comciscoorgid`, `comciscotimestamp` (v2), `data`.

Mapping (telephony tasks only; chat, email and social tasks → []):
- `task:connect` (the task is offered to an agent: it rings) → call.ringing; `task:connected` → call.answered;
  `task:ended` → call.ended. `task:new`, `task:parked` (queued), holds, consults, conferences, `agent:*` → [].
- call_id `webex:<data.taskId>` (`interactionId` when no taskId): a task is the whole interaction, its id kept
  across transfers and consults, so a transferred call is one Task. No legs.
- `data.direction` INBOUND/OUTBOUND (case ignored; absent: inbound — the most plausible for a contact centre);
  the other party: `data.origin` (the caller, ANI) on inbound, `data.destination` (the number dialled) on outbound.
- the agent: `data.agentId` (the agent's Webex user id); PANEL_DIALER_USERS rows map it (`dialer_user` = that id),
  or an `agentEmail`/`email` e-mail in the data when Webex sends one (unconfirmed that it does).
- the moment: `data.createdTime` (epoch ms), else `comciscotimestamp`, else the moment the delivery arrived.
- `task:ended` carries no talk time and no "was answered" flag (fields seen in Cisco's samples: `reason`,
  `terminatingParty`, `queueId`, `createdTime`, …): the call counts as answered when an agent is named on it or the
  agent ended it (`terminatingParty` Agent); its duration is a `duration`/`connectedDuration` number of seconds when
  present (unconfirmed that Webex sends one), else 0. A `task:ended` with `terminatingParty` System and a reason
  naming RONA (the agent did not answer; the task goes back to the queue — a Webex community report) is not the
  end → [].
- `capture:available` (a recording is ready) → call.recording of the task with `data.filePath` when it is an
  http(s) link; Webex documents captures as fetched through the Captures API with pre-signed links valid at most
  60 minutes, so an unreachable path is ignored ([]) — the panel calls no vendor API.

Delivery: "not always guaranteed", "we cannot guarantee that webhooks would arrive in order", "may be delivered
multiple times" (Using Webhooks): idempotency by the event id, and the pipeline logs each task once in whatever
order its events arrive. Webex advises a nightly reconciliation with its APIs; the panel does not run one.

Documentation:
- https://developer.webex.com/webex-contact-center/docs/api/guides/webhooks-cc (request verification:
  X-WebexCC-Signature, HMAC-SHA256 hex of the body; v2 timestamp; envelope; design considerations) — the
  verification text as captured at https://developer.webex.com/docs/receive-and-verify-contact-center-webhooks
- https://developer.webex.com/docs/using-webhooks (delivery not guaranteed, unordered, duplicated)
- https://developer.webex.com/create/docs/webhooks-cc (event reference: agent, capture, task events)
- https://developer.webex.com/docs/api/v1/subscriptions (the Subscriptions resource and its `secret`)
- https://developer.webex.com/webex-contact-center/docs/api/v1/captures (captures, pre-signed links ≤ 60 min)
- https://github.com/WebexSamples/webex-contact-center-api-samples (capture:available: data.taskId, filePath,
  createdTime; subscription bodies)
- https://community.cisco.com/t5/webex-for-developers/webhook-for-courtesy-callbacks-tasks-missing-hang-ups/m-p/4756284
  (task:new → parked → connect → connected → ended; RONA `task:ended` with terminatingParty System)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import datetime, timedelta
from typing import Any, Mapping

from panel.calls.events import MAX_DURATION_SECONDS, MAX_ID_LENGTH, CallEvent, EventError
from panel.dialers.base import AdapterConfig, DemoCall, Delivery, Outcome, Refused, constant_time_equal, namespaced
from panel.dialers.reading import from_epoch_ms, identifier, json_object, member_object, printable_text

NAME = "webex"
SECRET = "PANEL_WEBEX_WEBHOOK_SECRET"
SECRETS: tuple[str, ...] = ()
SETTINGS: tuple[str, ...] = ()
MAX_BODY_BYTES = 64 * 1024
SIGNATURE_HEADER = "X-WebexCC-Signature"
TIMESTAMP_HEADER = "X-WebexCC-Timestamp"
MAX_AGE = timedelta(minutes=5)

_KINDS = {"task:connect": "call.ringing", "task:connected": "call.answered", "task:ended": "call.ended"}
_MAX_TEXT = 255
_MAX_ID = MAX_ID_LENGTH - len(NAME) - 1  # the id namespaced (`webex:<id>`) is a CallObject


def receive(delivery: Delivery, config: AdapterConfig) -> Outcome:
    _verify(delivery, config.secrets[SECRET])
    envelope = json_object(delivery.body)
    _fresh(delivery, envelope, config)
    event_type = envelope.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise EventError("type is missing", "type")
    if event_type not in _KINDS and event_type != "capture:available":
        return []
    data = member_object(envelope.get("data"), "data")
    channel = data.get("channelType")
    if isinstance(channel, str) and channel.lower() != "telephony":
        return []  # chat, email, social: not calls
    event_id = namespaced(NAME, identifier(envelope.get("id"), "id", _MAX_ID))
    task = _task_id(data)
    moment = _moment(data, envelope, delivery)
    if event_type == "capture:available":
        return _recording(event_id, task, data, moment)
    return _task(event_id, _KINDS[event_type], task, data, moment, config)


# -- verification ------------------------------------------------------------------------------------------------

def _verify(delivery: Delivery, secret: str) -> None:
    given = delivery.header(SIGNATURE_HEADER)
    if not given:
        raise Refused(f"the {SIGNATURE_HEADER} header is missing")
    expected = hmac.new(secret.encode("utf-8"), delivery.body, hashlib.sha256).hexdigest()
    if not constant_time_equal(expected, given.strip().lower()):
        raise Refused(f"the {SIGNATURE_HEADER} signature does not match")


def _fresh(delivery: Delivery, envelope: Mapping[str, Any], config: AdapterConfig) -> None:
    """Version 2 subscriptions: the signed body's `comciscotimestamp` is recent (a captured delivery cannot be
    replayed by dropping the unsigned header), and equals the header when the header is sent."""
    header = delivery.header(TIMESTAMP_HEADER)
    signed = envelope.get("comciscotimestamp")
    if signed is None:
        if header is not None:
            raise Refused(f"the {TIMESTAMP_HEADER} header does not match the body's comciscotimestamp")
        return
    if header is not None and str(signed).strip() != header.strip():
        raise Refused(f"the {TIMESTAMP_HEADER} header does not match the body's comciscotimestamp")
    try:
        sent = from_epoch_ms(signed if isinstance(signed, (int, float)) else str(signed).strip(), "comciscotimestamp")
    except EventError:
        raise Refused("the body's comciscotimestamp is not a time") from None
    if abs(config.now() - sent) > MAX_AGE:
        raise Refused("the delivery is older than 5 minutes (or from the future)")


def signature(secret: str, body: bytes) -> str:
    """Webex's signature of a body: hex HMAC-SHA256 keyed with the subscription's secret."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


# -- mapping -----------------------------------------------------------------------------------------------------

def _task(event_id: str, kind: str, task: str, data: Mapping[str, Any], moment: datetime,
          config: AdapterConfig) -> list[CallEvent]:
    if kind == "call.ended" and _rona(data):
        return []  # the agent did not answer: the task goes back to the queue
    direction = "outbound" if str(data.get("direction") or "").strip().lower() == "outbound" else "inbound"
    external = _text(data, "origin" if direction == "inbound" else "destination") or \
        _text(data, "ani" if direction == "inbound" else "dnis")
    agent_id = _text(data, "agentId")
    agent_email, agent_ref = config.agent(agent_id or None, _text(data, "agentEmail") or None,
                                          _text(data, "email") or None)
    fields: dict[str, Any] = {}
    if kind == "call.ended":
        answered = bool(agent_id) or _text(data, "terminatingParty").lower() == "agent"
        fields = {"answered": answered, "duration_seconds": _duration(data) if answered else 0}
    return [CallEvent(event_id=event_id, type=kind, call_id=namespaced(NAME, task), direction=direction,
                      agent_email=agent_email, agent_ref=agent_ref, external_number=external, occurred_at=moment,
                      **fields)]


def _recording(event_id: str, task: str, data: Mapping[str, Any], moment: datetime) -> list[CallEvent]:
    link = _text(data, "filePath", max_length=2000)
    if not link.lower().startswith(("https://", "http://")) or any(ch.isspace() for ch in link):
        return []  # a storage path: only the Captures API turns it into a link
    agent_id = _text(data, "agentId")
    return [CallEvent(event_id=event_id, type="call.recording", call_id=namespaced(NAME, task),
                      direction="inbound", agent_email="", agent_ref=f"{NAME}:{agent_id or '(none)'}",
                      occurred_at=moment, recording_url=link)]


def _rona(data: Mapping[str, Any]) -> bool:
    return _text(data, "terminatingParty").lower() == "system" and "rona" in _text(data, "reason").lower()


def _duration(data: Mapping[str, Any]) -> int:
    for name in ("duration", "connectedDuration"):
        value = data.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_DURATION_SECONDS:
            raise EventError(f"data.{name} must be seconds between 0 and {MAX_DURATION_SECONDS}", f"data.{name}")
        return int(value)
    return 0


# -- fields ------------------------------------------------------------------------------------------------------

def _task_id(data: Mapping[str, Any]) -> str:
    name = "taskId" if data.get("taskId") is not None or data.get("interactionId") is None else "interactionId"
    return identifier(data.get(name), f"data.{name}", _MAX_ID)


def _text(data: Mapping[str, Any], name: str, *, max_length: int = _MAX_TEXT) -> str:
    return printable_text(data.get(name), f"data.{name}", max_length)


def _moment(data: Mapping[str, Any], envelope: Mapping[str, Any], delivery: Delivery) -> datetime:
    if data.get("createdTime") is not None:
        return from_epoch_ms(data["createdTime"], "data.createdTime")
    if envelope.get("comciscotimestamp") is not None:
        return from_epoch_ms(envelope["comciscotimestamp"], "comciscotimestamp")
    return delivery.received_at


# -- the demo ----------------------------------------------------------------------------------------------------

def demo_delivery(kind: str, call: DemoCall, *, secret: str, url: str, now: datetime) -> tuple[bytes, dict, str] | None:
    """One task event of a telephony task in Webex's format (a v2 subscription), signed with `secret`. The agent is
    named by e-mail (`agentEmail`), which needs no PANEL_DIALER_USERS row."""
    event_type = {"ringing": "task:connect", "answered": "task:connected", "ended": "task:ended"}.get(kind)
    if event_type is None:
        return None
    stamp = int(now.timestamp() * 1000)
    inbound = call.direction == "inbound"
    data: dict[str, Any] = {"taskId": call.call_id, "channelType": "telephony",
                            "direction": "INBOUND" if inbound else "OUTBOUND", "createdTime": stamp,
                            "origin": call.number if inbound else "", "destination": "" if inbound else call.number,
                            "agentEmail": call.agent_email}
    if kind == "ended":
        data.update(terminatingParty="Agent" if call.answered else "Customer",
                    reason="Agent Left" if call.answered else "Customer Left",
                    duration=call.duration_seconds if call.answered else 0)
    envelope = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{call.call_id}:{event_type}")), "specversion": "1.0",
                "type": event_type, "source": "/com/cisco/wxcc/panel-demo", "comciscoorgid": "panel-demo",
                "comciscotimestamp": stamp, "datacontenttype": "application/json", "data": data}
    body = json.dumps(envelope).encode()
    return body, {SIGNATURE_HEADER: signature(secret, body), TIMESTAMP_HEADER: str(stamp)}, "application/json"
