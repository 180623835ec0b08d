"""RingCentral webhooks: telephony session notifications and inbound text messages, as RingCentral sends them.

Subscription and verification (https://developers.ringcentral.com/guide/notifications/webhooks/creating-webhooks,
…/webhooks/receiving; source github.com/ringcentral/ringcentral-api-docs docs/notifications/webhooks/*.md):
- When a subscription is created (`POST /restapi/v1.0/subscription`, `deliveryMode.transportType = WebHook`),
  RingCentral sends the URL a request with a `Validation-Token` header; the answer must be 200 within 3 s and carry
  the same `Validation-Token` header, and be at most 1024 bytes with its headers. The docs advise answering with
  `Content-Type: application/json` even with an empty body (error SUB-525). Nothing is stored.
- With `deliveryMode.verificationToken` set on the subscription, every notification carries it in the
  `Verification-Token` header. The panel requires it: it is PANEL_RINGCENTRAL_VERIFICATION_TOKEN, compared in
  constant time; a notification without it or with another value is refused (401). RingCentral signs nothing
  and sends no signed time, so a stale or replayed notification cannot be told apart (a redelivery is a
  duplicate by its event id, below).
- A webhook URL that keeps failing gets its subscription suspended ("blacklisted") permanently
  (…/webhooks/troubleshooting): answers are fast, and never 500.

Notifications are `{uuid, event, timestamp, subscriptionId, ownerId, body}`; `event` is the event filter. (The
filter pages' examples show the push form, the same object inside `pn_apns`: it is read too.)

Telephony sessions (event filter `/restapi/v1.0/account/~/telephony/sessions`, the account's every extension;
https://developers.ringcentral.com/guide/notifications/event-filters/account-telephony-sessions,
https://developers.ringcentral.com/guide/voice/telephony-session-notifications, and the event-stream samples it
links, github.com/dibyenduroy/csn-data). `body` has `telephonySessionId` (one call, across its parties),
`sequence` (the order of the session's notifications, which may arrive out of order), `eventTime` and `parties[]`:
{`id`, `extensionId` (set for a party that is an extension of the account), `direction` (Inbound/Outbound),
`from`/`to` {`phoneNumber`, `extensionId`, `name`}, `status` {`code`, `reason`}, `missedCall`, `recordings[]`
{`id`, `active`}} (the typed definition: github.com/ringcentral/ringcentral-extensible
packages/core/src/definitions/TelephonySessionsEventPartyInfo.ts, RecordingInfo.ts, CallStatusInfo.ts).

- Which party is the agent: each party with an `extensionId` is one leg of the call, its agent that extension
  (PANEL_DIALER_USERS rows with the extension id as `dialer_user`; RingCentral's events carry no e-mail). A party
  without one (the caller's side of an inbound call, the callee's side of an outbound one) is not an agent: it is
  skipped. An IVR or call-queue extension is a party with an extension too: it is stored as a leg whose agent is
  that extension (unresolved unless a row names it).
- `call_id = ringcentral:<telephonySessionId>`, `leg_id = ringcentral:<party id>`: a transfer within the session is
  one Task. RingCentral documents that a party that moves to another session (an attended transfer's cross call,
  a conference) is reported under that other session: such a call is logged as two calls.
- The party's status code: Proceeding → call.ringing (the call rings at the party's endpoint; for an outbound
  party, at the callee); Answered → call.answered (also after Hold: "unhold" is Answered again); Disconnected and
  Gone → call.ended. Setup, Hold, Parked, VoiceMail, VoiceMailScreening, FaxReceive and Tds → nothing.
- RingCentral sends no duration and no "answered" flag with Disconnected (only `missedCall`), and each
  notification describes one moment: the call.ended says `answered: false`, `duration_seconds: 0`; the call counts
  as answered because the leg's Answered notification (call.answered) arrived (panel.calls.state), and the talk
  time is the pipeline's to derive from the answered and ended times.
- `direction` is the party's; the other party's number is `from.phoneNumber` (inbound) or `to.phoneNumber`
  (outbound); `internal` when both ends have an `extensionId`.
- Recordings: a party listing `recordings[]` gives one call.recording per recording id (the same id listed again
  is a duplicate). RingCentral's notification carries the id only, no link: the link stored is the recording's
  API resource, `https://platform.ringcentral.com/restapi/v1.0/account/<accountId>/recording/<id>` (the form the
  call log's `recording.uri` has, https://developers.ringcentral.com/guide/voice/call-log/recordings), which opens
  with a RingCentral access token only.
- `event_id = ringcentral:<telephonySessionId>:<party id>:<sequence>:<status code>`: a redelivery (same sequence)
  is a duplicate whatever its `uuid`; `eventTime` (ISO, with `Z`) is when it happened (the envelope's
  `timestamp` when it is absent).

Text messages (event filter `/restapi/v1.0/account/~/extension/~/message-store/instant?type=SMS`, one subscription
per user: https://developers.ringcentral.com/guide/notifications/event-filters/instant-message; example
code-samples/events/instant-message.json): "notifications in case of receiving a new inbound SMS". `body` is the
message: `id`, `from.phoneNumber`, `to[]`, `creationTime`, `direction`, `subject` (which "replicates message
text"). → message.received; the agent is the subscription's owner extension (`ownerId`, else the extension in the
`event` path). A message whose `direction` is Outbound becomes message.sent to `to[0].phoneNumber`. RingCentral
sends the text of inbound messages only: the `message-store` filter reports changes as counts, without text
(…/event-filters/message), so messages the agents send are not logged. Other event filters (presence, renewal
reminders, …) are answered 200 and stored nowhere.

Not confirmed from RingCentral's documents: whether a redelivered notification keeps its `uuid` (the event id does
not depend on it); how long RingCentral retries; that `eventTime` is the event's time (the reference calls it "the
call start datetime", its own event-stream samples show it moving with each event).

Pure: no Flask, no database, no network.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timezone
from typing import Any

from panel.calls.events import MAX_MESSAGE_TEXT, CallEvent, EventError
from panel.dialers.base import AdapterConfig, DemoCall, Delivery, Refused, Reply, constant_time_equal, namespaced
from panel.dialers.reading import (free_text, identifier, identity, iso_moment, json_object, member_object,
                                   phone_number, recent)

__all__ = ["MAX_BODY_BYTES", "NAME", "SECRET", "SECRETS", "SETTINGS", "demo_delivery", "receive"]

NAME = "ringcentral"
SECRET = "PANEL_RINGCENTRAL_VERIFICATION_TOKEN"
SECRETS: tuple[str, ...] = ()
SETTINGS: tuple[str, ...] = ()
MAX_BODY_BYTES = 256 * 1024
VALIDATION_HEADER = "Validation-Token"
VERIFICATION_HEADER = "Verification-Token"
MAX_VALIDATION_TOKEN = 512  # the whole answer, headers included, must stay under 1024 bytes
MAX_ID = 100  # a RingCentral id; the event id joins several (and is hashed beyond 200 characters)
RECORDING_URL = "https://platform.ringcentral.com/restapi/v1.0/account/{account}/recording/{recording}"

# a party's status code → the panel's event (codes not listed give nothing)
STATUS_EVENTS = {
    "Proceeding": "call.ringing",
    "Answered": "call.answered",
    "Disconnected": "call.ended",
    "Gone": "call.ended",
}
_EXTENSION_IN_PATH = re.compile(r"/extension/([^/?]+)/")


def receive(delivery: Delivery, config: AdapterConfig) -> Reply | list[CallEvent]:
    validation = delivery.header(VALIDATION_HEADER)
    if validation is not None:
        return _validation_reply(validation)
    _verify(delivery, config)
    notification = _notification(json_object(delivery.body))
    event = notification.get("event")
    if not isinstance(event, str):
        raise EventError("event is missing", "event")
    path = event.split("?", 1)[0]
    if path.endswith("/telephony/sessions"):
        return _session_events(notification, config)
    if path.endswith("/message-store/instant"):
        return _message_events(notification, event, config)
    return []


# -- the handshake and verification ------------------------------------------------------------------------------------

def _validation_reply(token: str) -> Reply:
    token = token.strip()
    if not token or len(token) > MAX_VALIDATION_TOKEN or not token.isascii() or not token.isprintable():
        raise EventError("the Validation-Token header must be printable text of at most 512 characters",
                         VALIDATION_HEADER)
    return Reply(200, None, {VALIDATION_HEADER: token, "Content-Type": "application/json"})


def _verify(delivery: Delivery, config: AdapterConfig) -> None:
    given = delivery.header(VERIFICATION_HEADER)
    if not given:
        raise Refused("the Verification-Token header is required")
    secrets = config.secret_values(SECRET, *SECRETS)
    if not any(constant_time_equal(secret, given.strip()) for secret in secrets):
        raise Refused("the Verification-Token does not match")


# -- telephony sessions ------------------------------------------------------------------------------------------------

def _session_events(notification: dict, config: AdapterConfig) -> list[CallEvent]:
    body = _body(notification)
    session = identifier(body.get("telephonySessionId"), "body.telephonySessionId", MAX_ID, numbers=True)
    sequence = body.get("sequence")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 0:
        raise EventError("body.sequence is missing", "body.sequence")
    occurred_at = _moment(body.get("eventTime") or notification.get("timestamp"), "body.eventTime", config)
    parties = body.get("parties")
    if not isinstance(parties, list):
        raise EventError("body.parties is missing", "body.parties")
    events: list[CallEvent] = []
    for index, party in enumerate(parties):
        where = f"body.parties[{index}]"
        if not isinstance(party, dict):
            raise EventError(f"{where} must be an object", where)
        if identity(party.get("extensionId")) is None:
            continue  # the outside party: not an agent
        events.extend(_party_events(party, where, session, sequence, occurred_at, config))
    return events


def _party_events(party: dict, where: str, session: str, sequence: int, occurred_at: datetime,
                  config: AdapterConfig) -> list[CallEvent]:
    party_id = identifier(party.get("id"), f"{where}.id", MAX_ID, numbers=True)
    extension = identity(party.get("extensionId")) or ""
    direction = _direction(party.get("direction"), f"{where}.direction")
    ours, theirs = ("from", "to") if direction == "outbound" else ("to", "from")
    other = party.get(theirs) if isinstance(party.get(theirs), dict) else {}
    own = party.get(ours) if isinstance(party.get(ours), dict) else {}
    email, ref = config.agent(extension)
    common: dict[str, Any] = dict(
        call_id=namespaced(NAME, session), leg_id=namespaced(NAME, party_id), direction=direction,
        agent_email=email, agent_ref=ref, occurred_at=occurred_at,
        internal=identity(other.get("extensionId")) is not None and identity(own.get("extensionId")) is not None,
        external_number=phone_number(other.get("phoneNumber"), f"{where}.{theirs}.phoneNumber"))
    events = [CallEvent(event_id=_event_id(session, party_id, "recording", recording_id), type="call.recording",
                        recording_url=RECORDING_URL.format(account=_account(party), recording=recording_id),
                        **common)
              for recording_id in _recording_ids(party, where)]
    status = party.get("status")
    code = status.get("code") if isinstance(status, dict) else None
    if not isinstance(code, str):
        raise EventError(f"{where}.status.code is missing", f"{where}.status.code")
    kind = STATUS_EVENTS.get(code)
    if kind is not None:
        end = {"answered": False, "duration_seconds": 0} if kind == "call.ended" else {}
        events.append(CallEvent(event_id=_event_id(session, party_id, str(sequence), code), type=kind,
                                **common, **end))
    return events


def _recording_ids(party: dict, where: str) -> list[str]:
    recordings = party.get("recordings")
    if recordings is None:
        return []
    if not isinstance(recordings, list):
        raise EventError(f"{where}.recordings must be a list", f"{where}.recordings")
    ids = []
    for index, recording in enumerate(recordings):
        if not isinstance(recording, dict):
            raise EventError(f"{where}.recordings[{index}] must be an object", f"{where}.recordings[{index}]")
        recording_id = identifier(recording.get("id"), f"{where}.recordings[{index}].id", MAX_ID, numbers=True)
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,100}", recording_id):
            raise EventError(f"{where}.recordings[{index}].id is not a recording id", f"{where}.recordings[{index}].id")
        ids.append(recording_id)
    return list(dict.fromkeys(ids))


def _account(party: dict) -> str:
    account = identity(party.get("accountId"))
    return account if account is not None and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", account) else "~"


def _direction(value: Any, field: str) -> str:
    if value == "Inbound":
        return "inbound"
    if value == "Outbound":
        return "outbound"
    raise EventError(f"{field} must be Inbound or Outbound", field)


# -- text messages -----------------------------------------------------------------------------------------------------

def _message_events(notification: dict, event: str, config: AdapterConfig) -> list[CallEvent]:
    body = _body(notification)
    if body.get("type", "SMS") != "SMS":
        return []
    message_id = identifier(body.get("id"), "body.id", MAX_ID, numbers=True)
    occurred_at = _moment(body.get("creationTime") or notification.get("timestamp"), "body.creationTime", config)
    subject = body.get("subject")
    if not isinstance(subject, str):
        raise EventError("body.subject is missing", "body.subject")
    owner = identity(notification.get("ownerId")) or _extension_in(event)
    email, ref = config.agent(owner)
    if body.get("direction") == "Outbound":
        recipients = body.get("to")
        first = recipients[0] if isinstance(recipients, list) and recipients else None
        if not isinstance(first, dict):
            raise EventError("body.to is missing", "body.to")
        kind, number = "message.sent", phone_number(first.get("phoneNumber"), "body.to[0].phoneNumber")
    else:
        sender = body.get("from")
        if not isinstance(sender, dict):
            raise EventError("body.from is missing", "body.from")
        kind, number = "message.received", phone_number(sender.get("phoneNumber"), "body.from.phoneNumber")
    return [CallEvent(event_id=_event_id("sms", message_id), type=kind, call_id="",
                      direction="outbound" if kind == "message.sent" else "inbound", agent_email=email,
                      agent_ref=ref, occurred_at=occurred_at, external_number=number,
                      text=free_text(subject, MAX_MESSAGE_TEXT))]


def _extension_in(event: str) -> str | None:
    match = _EXTENSION_IN_PATH.search(event)
    return identity(match.group(1)) if match and match.group(1) != "~" else None


# -- reading values ----------------------------------------------------------------------------------------------------

def _notification(data: dict) -> dict:
    """The notification itself: the object, or (the documented push example's form) its `pn_apns`."""
    if "body" not in data and isinstance(data.get("pn_apns"), dict):
        return {**data, **data["pn_apns"]}
    return data


def _body(notification: dict) -> dict:
    return member_object(notification.get("body"), "body")


def _moment(value: Any, field: str, config: AdapterConfig) -> datetime:
    """An ISO time as RingCentral writes it (UTC, `Z`), within the window the panel's own webhook accepts."""
    return recent(iso_moment(value, field, "2026-12-05T01:15:00.000Z"), field, config.now())


def _event_id(*parts: str) -> str:
    key = ":".join(parts)
    if len(key) > 200:
        key = f"{parts[0][:40]}:{hashlib.sha256(key.encode()).hexdigest()}"
    return namespaced(NAME, key)


# -- the demo dialer ---------------------------------------------------------------------------------------------------

DEMO_CODES = {"ringing": ("Proceeding", 3), "answered": ("Answered", 5), "ended": ("Disconnected", 9)}


def demo_delivery(kind: str, call: DemoCall, *, secret: str, url: str,
                  now: datetime) -> tuple[bytes, dict, str] | None:
    """A telephony session notification for the demo's call, with its Verification-Token. The demo has no
    RingCentral account: the agent's extension is named by the agent's e-mail, which the panel takes as the
    agent's e-mail (PANEL_DIALER_USERS maps real extension ids)."""
    code, sequence = DEMO_CODES[kind]
    if kind == "ended" and not call.answered:
        sequence += 1
    agent = {"phoneNumber": "+81300000000", "extensionId": call.agent_email, "name": "Demo agent"}
    other = {"phoneNumber": call.number}
    outbound = call.direction == "outbound"
    stamp = now.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    notification = {
        "uuid": hashlib.sha256(f"{call.call_id}:{kind}".encode()).hexdigest()[:18],
        "event": "/restapi/v1.0/account/100000001/telephony/sessions",
        "timestamp": stamp, "subscriptionId": "demo-subscription", "ownerId": "100000001",
        "body": {
            "sequence": sequence, "telephonySessionId": call.call_id, "eventTime": stamp,
            "parties": [{
                "accountId": "100000001", "extensionId": call.agent_email, "id": f"p-{call.call_id}-1",
                "direction": "Outbound" if outbound else "Inbound",
                "from": agent if outbound else other, "to": other if outbound else agent,
                "status": {"code": code}, "missedCall": kind == "ended" and not call.answered,
            }],
            "origin": {"type": "Call"},
        },
    }
    return json.dumps(notification).encode(), {VERIFICATION_HEADER: secret}, "application/json"
