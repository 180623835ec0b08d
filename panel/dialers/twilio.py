"""Twilio: Voice status callbacks, recording status callbacks and Programmable Messaging webhooks, as Twilio sends
them (form-encoded), into the panel's call events.

Verification — `X-Twilio-Signature` is the base64 HMAC-SHA1, keyed with the account's Auth Token
(PANEL_TWILIO_AUTH_TOKEN), of the full URL Twilio called followed by every POST parameter's name and value, sorted
by name (a repeated name: its values sorted). Twilio's own validator (twilio-python `RequestValidator.validate`)
accepts the signature computed on the URL with and without its port, "since sig generation on back end is
inconsistent", and so does this adapter. For an `application/json` body Twilio adds a `bodySHA256` query parameter
(hex SHA-256 of the raw body) and signs the URL alone; no callback this adapter maps is JSON, so such a delivery is
verified and then ignored. The URL is `Delivery.url`, built on PANEL_PUBLIC_URL when that is set (behind a proxy
the request's own host and scheme are the proxy's, and the signature would never match). Twilio signs no time: a
replayed delivery verifies, and is a duplicate by its event id. A URL matched by a Twilio "Webhooks Rule" is signed
with the rule's shared key instead (header `X-Twilio-Webhooks-Signature-Settings`): not supported, such a delivery
is refused.

Voice status callback (`statusCallback` with `statusCallbackEvent` initiated/ringing/answered/completed, on the
number, the REST API call, and on `<Dial>`'s `<Number>`/`<Client>` nouns for the child legs):
- the interaction is `ParentCallSid` when the leg has one, else `CallSid`: call_id `twilio:<ParentCallSid or
  CallSid>`, leg_id `twilio:<CallSid>`; a transfer (a second `<Dial>`) is one more child leg of the same parent.
- `CallStatus` ringing → call.ringing; in-progress → call.answered; completed → call.ended (answered, duration
  `CallDuration` in seconds); busy, no-answer, canceled, failed → call.ended, not answered; queued, initiated → [].
- a call *into* Twilio (`Direction` inbound: a customer calling a Twilio number, or an agent's browser calling the
  TwiML app) is answered by Twilio itself, not by a person: on that leg in-progress is [] and its end is "not
  answered, 0 s"; the agent's answer and the talk time come from the child leg `<Dial>` creates (outbound-dial).
  A call placed by the REST API (outbound-api) is answered when the callee answers.
- Twilio has no agent identity of its own: the agent is the `client:<identity>` in `From` or `To` (Twilio Voice
  SDK), else the agent's number — `To` of an inbound call, `From` of an outbound one, or `To` of a child leg when
  PANEL_DIALER_USERS names that number. PANEL_DIALER_USERS rows map it (`dialer_user` = the client identity or the
  number as Twilio sends it, E.164).
- the direction and the other party: `From` = `client:…` → outbound to `To`; `To` = `client:…` → inbound from
  `From`; else inbound legs are inbound from `From`, outbound-api legs outbound to `To`, outbound-dial legs inbound
  from `From` when `To` is an agent's mapped number, else outbound to `To`.
- `Timestamp` (RFC 2822) is the moment; without it, the moment the delivery arrived.
- Twilio sends no event id: `event_id` = `twilio:<CallSid>:<CallStatus>`. A leg passes through each status once,
  so a redelivery (same leg, same status) is a duplicate whatever its SequenceNumber, and another status is not.

Recording status callback (`recordingStatusCallback`): `RecordingStatus` completed with `RecordingUrl` →
call.recording of `twilio:<CallSid>` (the recorded call; a recording of a child leg names the child's CallSid and
is filed under it), event id `twilio:<RecordingSid>:recording`; other statuses → []. It carries no numbers or
agent: the fact names none (`agent_ref` `twilio:(none)`), it only adds the link to the call's Task.

Messaging: an incoming message (`SmsStatus`/`MessageStatus` received, `Body`) → message.received from `From`, the
agent being the Twilio number it was sent to (`To`); an outbound message's status callback (sent, delivered, read)
→ message.sent to `To` when the callback carries `Body` (Twilio documents the callback's parameters as varying by
channel: unconfirmed that `Body` is always there; without it nothing is stored). Event id
`twilio:<MessageSid>:message`: each message once, whichever of its statuses arrive. Twilio sends no time with a
message: the moment it arrived is used.

Other callbacks (conference, transcription, answering machine detection) → []. Answer: 200 with an empty TwiML
document `<Response/>` (`text/xml`) — what Twilio asks of a callback (error 15003: "200 OK, Content-Type text/xml,
valid TwiML, or 204"), and, on an incoming message, "reply nothing".

Documentation:
- https://www.twilio.com/docs/usage/webhooks/webhooks-security (signature: URL + sorted POST parameters, HMAC-SHA1)
- https://github.com/twilio/twilio-python/blob/main/twilio/request_validator.py (the algorithm, port, bodySHA256)
- https://www.twilio.com/docs/api/errors/57012 (JSON bodies carry `bodySHA256`)
- https://raw.githubusercontent.com/twilio/twilio-node/HEAD/examples/WebhookSignatureValidation.md (Webhooks Rules)
- https://www.twilio.com/docs/voice/api/call-resource (statusCallback, CallStatus values, Direction)
- https://www.twilio.com/docs/usage/webhooks/voice-webhooks (status callback parameters: CallSid, ParentCallSid,
  CallStatus, Direction, From, To, CallDuration, Timestamp, SequenceNumber; recording callbacks)
- https://www.twilio.com/docs/messaging/guides/webhook-request (incoming message parameters)
- https://www.twilio.com/docs/messaging/guides/outbound-message-status-in-status-callbacks (outbound statuses)
- https://twilio.com/docs/api/errors/15003 (what to answer a callback)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import defaultdict
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from typing import Mapping, Sequence
from urllib.parse import parse_qs, urlencode, urlsplit

from panel.calls.events import MAX_DURATION_SECONDS, MAX_ID_LENGTH, MAX_MESSAGE_TEXT, CallEvent, EventError
from panel.dialers.base import (AdapterConfig, DemoCall, Delivery, Outcome, Refused, Reply, constant_time_equal,
                                namespaced)
from panel.dialers.reading import identifier, printable_text

NAME = "twilio"
SECRET = "PANEL_TWILIO_AUTH_TOKEN"
SECRETS: tuple[str, ...] = ()
SETTINGS: tuple[str, ...] = ()
MAX_BODY_BYTES = 64 * 1024  # a form of a few dozen short fields; a message body is at most 1,600 characters
SIGNATURE_HEADER = "X-Twilio-Signature"
RULE_HEADER = "X-Twilio-Webhooks-Signature-Settings"
# What the intake answers a delivery it accepted (stored or not): an empty TwiML document.
ACCEPTED_REPLY = Reply(status=200, body='<?xml version="1.0" encoding="UTF-8"?><Response/>',
                       headers={"Content-Type": "text/xml; charset=utf-8"})

_CLIENT = "client:"
_RINGING, _ANSWERED = "ringing", "in-progress"
_NOT_ANSWERED = ("busy", "no-answer", "canceled", "failed")
_MESSAGE_SENT = ("sent", "delivered", "read")
_MAX_TEXT = 255
_MAX_ID = MAX_ID_LENGTH - len(f"{NAME}::recording")  # the longest id the adapter makes of one: twilio:<sid>:recording
_OTHER_CALLBACKS = ("ConferenceSid", "StatusCallbackEvent", "TranscriptionSid")


def receive(delivery: Delivery, config: AdapterConfig) -> Outcome:
    _verify(delivery, config.secrets[SECRET])
    if delivery.content_type != "application/x-www-form-urlencoded":
        return []  # a JSON webhook (bodySHA256): none this adapter maps
    form = _fields(delivery.form)
    if form.get("CallSid") and (form.get("RecordingSid") or form.get("RecordingStatus")) \
            and not form.get("CallStatus"):
        return _recording(form, delivery)
    if form.get("CallSid") and not form.get("CallStatus") and any(form.get(name) for name in _OTHER_CALLBACKS):
        return []  # a conference, transcription or other callback: nothing the panel logs
    if form.get("CallSid"):
        return _call(form, delivery, config)
    if form.get("MessageSid") or form.get("SmsSid") or form.get("SmsMessageSid"):
        return _message(form, delivery, config)
    raise EventError("CallSid is missing (or MessageSid for a message)", "CallSid")


# -- verification ------------------------------------------------------------------------------------------------

def _verify(delivery: Delivery, token: str) -> None:
    given = delivery.header(SIGNATURE_HEADER)
    if not given:
        raise Refused(f"the {SIGNATURE_HEADER} header is missing")
    if delivery.header(RULE_HEADER):
        raise Refused("the delivery is signed by a Twilio Webhooks Rule's shared key, which the panel does not use")
    params: Sequence[tuple[str, str]] = delivery.form
    query = parse_qs(urlsplit(delivery.url).query)
    if delivery.content_type != "application/x-www-form-urlencoded":
        expected_hash = (query.get("bodySHA256") or [""])[0]
        if not constant_time_equal(hashlib.sha256(delivery.body).hexdigest(), expected_hash):
            raise Refused("the body does not match the signed bodySHA256")
        params = ()
    if not any(constant_time_equal(signature(token, url, params), given) for url in _url_variants(delivery.url)):
        raise Refused(f"the {SIGNATURE_HEADER} signature does not match")


def signature(token: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    """Twilio's signature of a request: base64 HMAC-SHA1 of the URL, then each parameter name and value sorted by
    name (a repeated name's distinct values sorted), as twilio-python's `RequestValidator.compute_signature`."""
    values: dict[str, set[str]] = defaultdict(set)
    for name, value in params:
        values[name].add(value)
    signed = url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))
    digest = hmac.new(token.encode("utf-8"), signed.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _url_variants(url: str) -> tuple[str, ...]:
    """The URL as called, without its port and with the scheme's default port (Twilio signs either)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return (url,)
    host = parts.netloc.rsplit("@", 1)[-1]
    bare = host if port is None else host.rsplit(":", 1)[0]
    without = parts._replace(netloc=bare).geturl()
    default = 443 if parts.scheme == "https" else 80
    with_port = parts._replace(netloc=f"{bare}:{port or default}").geturl()
    return tuple(dict.fromkeys((url, without, with_port)))


# -- voice -------------------------------------------------------------------------------------------------------

def _call(form: Mapping[str, str], delivery: Delivery, config: AdapterConfig) -> list[CallEvent]:
    call_sid = _identifier(form, "CallSid")
    status = _required(form, "CallStatus").strip().lower()
    parent = _identifier(form, "ParentCallSid", required=False)
    twilio_side = form.get("Direction", "").strip().lower() == "inbound"
    if status == _RINGING:
        kind = "call.ringing"
    elif status == _ANSWERED:
        if twilio_side:
            return []  # Twilio's own answer (TwiML runs); the agent answers on the child leg
        kind = "call.answered"
    elif status == "completed" or status in _NOT_ANSWERED:
        kind = "call.ended"
    else:
        return []  # queued, initiated: nothing for the panel yet
    direction, external, agent_names = _parties(form, config)
    agent_email, agent_ref = config.agent(*agent_names)
    fields: dict = {}
    if kind == "call.ended":
        answered = status == "completed" and not twilio_side
        fields = {"answered": answered, "duration_seconds": _duration(form) if answered else 0}
    return [CallEvent(event_id=_event_id(f"{call_sid}:{status}"), type=kind, call_id=namespaced(NAME, parent or call_sid),
                      leg_id=namespaced(NAME, call_sid), direction=direction, agent_email=agent_email,
                      agent_ref=agent_ref, external_number=external, occurred_at=_moment(form, delivery), **fields)]


def _parties(form: Mapping[str, str], config: AdapterConfig) -> tuple[str, str, tuple[str, ...]]:
    """(direction, the other party's number, the agent's identities) of one leg."""
    sender, receiver = _text(form, "From"), _text(form, "To")
    if sender.lower().startswith(_CLIENT):
        return "outbound", receiver, (sender[len(_CLIENT):],)
    if receiver.lower().startswith(_CLIENT):
        return "inbound", sender, (receiver[len(_CLIENT):],)
    kind = form.get("Direction", "").strip().lower()
    if kind == "inbound":
        return "inbound", sender, (receiver,)
    if kind == "outbound-dial" and receiver:
        # a <Dial> leg to the agent: `From` is the caller (Twilio's default caller ID), never the agent
        return "inbound", sender, (receiver,)
    return "outbound", receiver, (sender,)


def _duration(form: Mapping[str, str]) -> int:
    raw = _required(form, "CallDuration").strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6) or int(raw) > MAX_DURATION_SECONDS:
        raise EventError(f"CallDuration must be whole seconds between 0 and {MAX_DURATION_SECONDS}", "CallDuration")
    return int(raw)


# -- recordings --------------------------------------------------------------------------------------------------

def _recording(form: Mapping[str, str], delivery: Delivery) -> list[CallEvent]:
    if form.get("RecordingStatus", "completed").strip().lower() != "completed":
        return []  # in-progress, absent, failed
    call_sid = _identifier(form, "CallSid")
    recording_sid = _identifier(form, "RecordingSid")
    url = _url(form, "RecordingUrl")
    return [CallEvent(event_id=_event_id(f"{recording_sid}:recording"), type="call.recording",
                      call_id=namespaced(NAME, call_sid), leg_id=namespaced(NAME, call_sid), direction="inbound",
                      agent_email="", agent_ref=f"{NAME}:(none)", occurred_at=_moment(form, delivery),
                      recording_url=url)]


# -- messages ----------------------------------------------------------------------------------------------------

def _message(form: Mapping[str, str], delivery: Delivery, config: AdapterConfig) -> list[CallEvent]:
    name = next(field for field in ("MessageSid", "SmsSid", "SmsMessageSid") if form.get(field))
    message_sid = _identifier(form, name)
    status = (form.get("SmsStatus") or form.get("MessageStatus") or "").strip().lower()
    if status == "received":
        kind, external, agent = "message.received", _text(form, "From"), _text(form, "To")
    elif status in _MESSAGE_SENT:
        kind, external, agent = "message.sent", _text(form, "To"), _text(form, "From")
    else:
        return []  # queued, accepted, sending, failed, undelivered, …
    if "Body" not in form:
        if kind == "message.received":
            raise EventError("Body is missing", "Body")
        return []  # a status callback without the text: nothing to log
    text = form["Body"]
    if len(text) > MAX_MESSAGE_TEXT:
        text = text[:MAX_MESSAGE_TEXT]
    if any(not (ch.isprintable() or ch in "\n\r\t") for ch in text):
        raise EventError("Body must not contain control characters other than line breaks and tabs", "Body")
    agent_email, agent_ref = config.agent(agent[len(_CLIENT):] if agent.lower().startswith(_CLIENT) else agent)
    return [CallEvent(event_id=_event_id(f"{message_sid}:message"), type=kind, call_id="",
                      direction="inbound" if kind == "message.received" else "outbound", agent_email=agent_email,
                      agent_ref=agent_ref, external_number=external, occurred_at=delivery.received_at, text=text)]


# -- fields ------------------------------------------------------------------------------------------------------

def _fields(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The form as a dict (the first value of a repeated name)."""
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)
    return form


def _required(form: Mapping[str, str], name: str) -> str:
    value = form.get(name)
    if value is None or not value.strip():
        raise EventError(f"{name} is missing", name)
    return value


def _identifier(form: Mapping[str, str], name: str, *, required: bool = True) -> str | None:
    value = (form.get(name) or "").strip()
    if not required and not value:
        return None
    return identifier(value, name, _MAX_ID)


def _text(form: Mapping[str, str], name: str) -> str:
    return printable_text(form.get(name), name, _MAX_TEXT)


def _url(form: Mapping[str, str], name: str) -> str:
    value = _required(form, name).strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(value) > 2000 \
            or any(ch.isspace() or not ch.isprintable() for ch in value):
        raise EventError(f"{name} must be an http(s) URL", name)
    return value


def _moment(form: Mapping[str, str], delivery: Delivery) -> datetime:
    raw = (form.get("Timestamp") or "").strip()
    if not raw:
        return delivery.received_at
    try:
        moment = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        moment = None
    if moment is None or moment.tzinfo is None:
        raise EventError("Timestamp must be an RFC 2822 date with its offset, such as Tue, 01 Dec 2026 10:15:00 "
                         "+0000", "Timestamp")
    return moment


def _event_id(key: str) -> str:
    return namespaced(NAME, key)


# -- the demo ----------------------------------------------------------------------------------------------------

def demo_delivery(kind: str, call: DemoCall, *, secret: str, url: str, now: datetime) -> tuple[bytes, dict, str] | None:
    """One status callback of a single-leg call in Twilio's format, signed with `secret` for `url`: an inbound call
    rings the agent's browser (`To` = `client:<agent>`), an outbound one is dialled from it (`From`)."""
    status = {"ringing": "ringing", "answered": "in-progress",
              "ended": "completed" if call.answered else "no-answer"}.get(kind)
    if status is None:
        return None
    agent = _CLIENT + call.agent_email
    inbound = call.direction == "inbound"
    fields = [("AccountSid", "AC" + "0" * 32), ("ApiVersion", "2010-04-01"), ("CallSid", call.call_id),
              ("CallStatus", status), ("CallbackSource", "call-progress-events"),
              ("Direction", "outbound-dial" if inbound else "outbound-api"),
              ("From", call.number if inbound else agent), ("To", agent if inbound else call.number),
              ("SequenceNumber", str({"ringing": 1, "answered": 2, "ended": 3}[kind])),
              ("Timestamp", format_datetime(now.astimezone(timezone.utc), usegmt=True))]
    if kind == "ended":
        fields.append(("CallDuration", str(call.duration_seconds if call.answered else 0)))
    body = urlencode(fields).encode()
    return body, {SIGNATURE_HEADER: signature(secret, url, fields)}, "application/x-www-form-urlencoded"
