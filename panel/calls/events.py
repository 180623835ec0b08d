"""Call events as the dialer posts them to `/webhooks/calls`, checked field by field.

The dialer is outside our control, so every field is validated here and the first problem is reported with the
field's name; the endpoint turns an `EventError` into `400 {"error": ..., "field": ...}` and stores nothing.

Decisions a dialer integrator needs to know (they are also in the webhook documentation):
- `occurred_at` must carry a UTC offset (`+09:00` or `Z`). A time without one is refused rather than guessed: the
  Task's ActivityDate is the call's local date, and a guessed zone moves calls across midnight. It must also lie
  between five years before and one day after the panel's clock when the event arrives: a call outside that window
  is a dialer's bug, and the extremes (year 1, year 9999) made every later job of the call overflow.
- Every string in the body, in any field and in fields the panel ignores, nested ones and keys included, must be
  Unicode text: a lone surrogate (`"\ud800"` in the JSON) is refused naming where it is (`extra.nested[1]`).
  Accepted, it could not be stored (UTF-8 cannot hold it), so the dialer got a 500 on every retry.
- `answered` and `duration_seconds` are required on `call.ended`; `recording_url`, `voicemail_url` and
  `disposition` may be null or absent there. On `call.ringing` / `call.answered` those five fields are ignored.
- `external_number` is kept exactly as sent (withheld callers arrive as `anonymous`, `非通知`, or nothing at all);
  a missing or null number is the empty string.
- Unknown fields are ignored so dialers can send more than we read.
- Facts that arrive after the call (`call.recording`, `call.transcript`, `call.summary`) carry the call's id and
  their fact: a recording or voicemail link, a transcript (text or link), a summary. They may arrive before or
  after `call.ended`, as often as the sender likes; the call's one Task receives each fact once.
- Text messages (`message.received`, `message.sent`) carry the message's text; their `call_id` is optional (the
  panel files a message under its conversation: agent, number and local day, `panel.calls.messages`) and their
  direction follows from the type.
- `leg_id` (optional) names one leg of a call that several legs make up (a transfer, a forward): events of every
  leg share the `call_id` of the interaction and are logged as one Task. Without it the call is its only leg.
- Events built by a dialer adapter (panel.dialers) may name an agent the panel could not resolve: their
  `agent_email` is empty and `agent_ref` says who the vendor named (`zoom:user:…`); such a call goes to review.

Nothing in this module talks to Salesforce or Flask.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator
from urllib.parse import urlsplit

__all__ = [
    "CALL_PROGRESS_TYPES",
    "DIRECTIONS",
    "EVENT_TYPES",
    "FACT_TYPES",
    "MESSAGE_TYPES",
    "MAX_BODY_BYTES",
    "CallEvent",
    "EventError",
    "event_from_dict",
    "identifier_problem",
    "is_email",
    "stored_event_from_dict",
    "parse_event",
    "rechecked",
]

MAX_BODY_BYTES = 64 * 1024
CALL_PROGRESS_TYPES = ("call.ringing", "call.answered", "call.ended")
FACT_TYPES = ("call.recording", "call.transcript", "call.summary")
MESSAGE_TYPES = ("message.received", "message.sent")
EVENT_TYPES = CALL_PROGRESS_TYPES + FACT_TYPES + MESSAGE_TYPES
DIRECTIONS = ("inbound", "outbound")
MAX_ID_LENGTH = 255  # CallObject on Task is a 255-character text field; event ids share the bound.
MAX_NUMBER_LENGTH = 255
MAX_EMAIL_LENGTH = 254  # RFC 5321 path limit
MAX_URL_LENGTH = 2000
MAX_DISPOSITION_LENGTH = 255  # Task.CallDisposition
MAX_DURATION_SECONDS = 86_400
MAX_FACT_TEXT = 32_000  # Task.Description holds 32,000 characters: a longer transcript could not be kept whole
MAX_MESSAGE_TEXT = 10_000
MAX_AGENT_REF_LENGTH = 255
# The window `occurred_at` must lie in, around the panel's clock when the event arrives. A day ahead absorbs any
# dialer's clock error; five years back (leap days included) covers re-sent and backfilled calls.
MAX_EVENT_AGE = timedelta(days=5 * 365 + 2)
MAX_EVENT_LEAD = timedelta(days=1)

# Plausible, not RFC-complete: one @, no spaces, a dot in the domain. Owner lookup by e-mail does the real check.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+$")
# Control characters (tab, newline, NUL, …), which no number or disposition holds; the full-width space of
# Japanese text is not one of them.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_FREE_TEXT = ("external_number", "disposition")


class EventError(ValueError):
    """The body is not an acceptable call event; `field` names the offending field (None for the body itself)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_json(self) -> dict[str, str | None]:
        """The 400 response body of the webhook contract."""
        return {"error": self.message, "field": self.field}


@dataclass(frozen=True)
class CallEvent:
    """One validated webhook event. End facts are None unless `type` is `call.ended`; `recording_url` and
    `voicemail_url` also come with `call.recording`, `transcript`/`transcript_url` with `call.transcript`,
    `summary` with `call.summary`, `text` with the message types."""

    event_id: str
    type: str
    call_id: str
    direction: str
    agent_email: str
    occurred_at: datetime  # aware, in the offset the dialer sent
    internal: bool = False
    external_number: str = ""
    answered: bool | None = None
    duration_seconds: int | None = None
    recording_url: str | None = None
    voicemail_url: str | None = None
    disposition: str | None = None
    leg_id: str | None = None  # None: the call is its own only leg
    agent_ref: str | None = None  # the agent as the vendor named them, when the panel could not resolve an e-mail
    transcript: str | None = None
    transcript_url: str | None = None
    summary: str | None = None
    text: str | None = None

    @property
    def is_end(self) -> bool:
        return self.type == "call.ended"

    @property
    def is_fact(self) -> bool:
        return self.type in FACT_TYPES

    @property
    def is_message(self) -> bool:
        return self.type in MESSAGE_TYPES

    @property
    def leg(self) -> str:
        """The leg this event belongs to (the call itself when it has one leg)."""
        return self.leg_id or self.call_id

    def as_json(self) -> dict[str, Any]:
        """The event as a JSON-ready dict that `event_from_dict` reads back unchanged (for storing it)."""
        data: dict[str, Any] = {
            "event_id": self.event_id, "type": self.type, "call_id": self.call_id, "direction": self.direction,
            "internal": self.internal, "agent_email": self.agent_email, "external_number": self.external_number,
            "occurred_at": self.occurred_at.isoformat(),
        }
        if self.is_end:
            data.update(answered=self.answered, duration_seconds=self.duration_seconds,
                        recording_url=self.recording_url, voicemail_url=self.voicemail_url,
                        disposition=self.disposition)
        optional = {"leg_id": self.leg_id, "agent_ref": self.agent_ref}
        if self.type == "call.recording":
            optional.update(recording_url=self.recording_url, voicemail_url=self.voicemail_url)
        elif self.type == "call.transcript":
            optional.update(transcript=self.transcript, transcript_url=self.transcript_url)
        elif self.type == "call.summary":
            optional.update(summary=self.summary)
        elif self.is_message:
            optional.update(text=self.text)
        data.update({name: value for name, value in optional.items() if value is not None})
        return data


def parse_event(raw_body: bytes, *, now: datetime | None = None) -> CallEvent:
    """The event in a webhook body, or `EventError` saying what is wrong with it.

    The body must be UTF-8 JSON holding one object. NaN and Infinity (which Python's json accepts but JSON does
    not) are refused. The size limit is the endpoint's job (413), but an oversized body is refused here too.
    `now` (default: the current time) is the moment the event arrives, which `occurred_at` is checked against.
    """
    if len(raw_body) > MAX_BODY_BYTES:
        raise EventError(f"body is larger than {MAX_BODY_BYTES} bytes")
    try:
        text = raw_body.decode("utf-8")
    except UnicodeDecodeError:
        raise EventError("body is not UTF-8 text") from None
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except ValueError as error:  # JSONDecodeError, NaN/Infinity, integers beyond Python's digit limit
        raise EventError(f"body is not valid JSON: {error}") from None
    except RecursionError:
        raise EventError("body is nested too deeply") from None
    return event_from_dict(data, now=now)


def event_from_dict(data: Any, *, now: datetime | None = None) -> CallEvent:
    """The event in already-decoded JSON, with the same checks as `parse_event`."""
    return _event(data, arrived_at=now or datetime.now(timezone.utc))


def _event(data: Any, *, arrived_at: datetime | None, stored: bool = False) -> CallEvent:
    """The checks of every field; `occurred_at` is checked against the window around `arrived_at` unless None.
    `stored`: an event the panel built and stored itself may name an unresolved agent (empty `agent_email` beside
    an `agent_ref`)."""
    if not isinstance(data, dict):
        raise EventError("body must be a JSON object")
    broken = _first_unpaired_surrogate(data)
    if broken is not None:
        raise EventError(f"{broken} must be Unicode text: it holds a lone surrogate (such as \\ud800)", broken)
    event_type = _choice(data, "type", EVENT_TYPES)
    message = event_type in MESSAGE_TYPES
    agent_ref = _text(data, "agent_ref", MAX_AGENT_REF_LENGTH) or None
    fields: dict[str, Any] = {
        "event_id": _identifier(data, "event_id"),
        "type": event_type,
        "call_id": ((_optional_identifier(data, "call_id") if data.get("call_id") != "" else None) or "")
                   if message else _identifier(data, "call_id"),
        "direction": (("inbound" if event_type == "message.received" else "outbound") if message
                      else _choice(data, "direction", DIRECTIONS)),
        "internal": _boolean(data, "internal", default=False),
        "agent_email": ("" if stored and agent_ref and not data.get("agent_email")
                        else _email(data, "agent_email")),
        "external_number": _text(data, "external_number", MAX_NUMBER_LENGTH) or "",
        "occurred_at": _moment(data, "occurred_at", arrived_at),
        "leg_id": _optional_identifier(data, "leg_id"),
        "agent_ref": agent_ref,
    }
    if not message and fields["call_id"].startswith("sms:"):
        raise EventError("call_id must not start with sms: (the panel names text conversations so)", "call_id")
    if (fields["leg_id"] or "").startswith("sms:"):
        raise EventError("leg_id must not start with sms: (the panel names text conversations so)", "leg_id")
    if event_type == "call.ended":
        fields.update(
            answered=_boolean(data, "answered"),
            duration_seconds=_duration(data, "duration_seconds"),
            recording_url=_url(data, "recording_url"),
            voicemail_url=_url(data, "voicemail_url"),
            disposition=_text(data, "disposition", MAX_DISPOSITION_LENGTH),
        )
    elif event_type == "call.recording":
        fields.update(recording_url=_url(data, "recording_url"), voicemail_url=_url(data, "voicemail_url"))
        if fields["recording_url"] is None and fields["voicemail_url"] is None:
            raise EventError("call.recording needs recording_url or voicemail_url", "recording_url")
    elif event_type == "call.transcript":
        fields.update(transcript=_text(data, "transcript", MAX_FACT_TEXT, lines=True),
                      transcript_url=_url(data, "transcript_url"))
        if not fields["transcript"] and fields["transcript_url"] is None:
            raise EventError("call.transcript needs transcript or transcript_url", "transcript")
    elif event_type == "call.summary":
        fields.update(summary=_text(data, "summary", MAX_FACT_TEXT, lines=True))
        if not fields["summary"]:
            raise EventError("summary is required", "summary")
    elif message:
        text = _text(data, "text", MAX_MESSAGE_TEXT, lines=True)
        if text is None:
            raise EventError("text is required", "text")
        fields.update(text=text)
    return CallEvent(**fields)


def rechecked(event: CallEvent, *, now: datetime) -> CallEvent:
    """An event built by a dialer adapter (panel.dialers), held to every rule of the panel's own contract (lengths,
    control characters, URLs, the time window around `now`), except that its agent may be unresolved (an empty
    `agent_email` beside an `agent_ref`). `EventError` names the panel's field at fault."""
    return _event(event.as_json(), arrived_at=now, stored=True)


def stored_event_from_dict(data: Any) -> CallEvent:
    """An event as stored on arrival, checked again. Versions before 2026-12-03 accepted control characters in
    `external_number` and `disposition`; they are dropped here, so such a stored call is still logged instead of
    being refused by every job. `occurred_at` was checked against the window on arrival: a stored event stays
    readable when the window has moved on."""
    if isinstance(data, dict):
        data = {**data, **{field: _CONTROL.sub("", data[field]) for field in _FREE_TEXT
                           if isinstance(data.get(field), str)}}
    return _event(data, arrived_at=None, stored=True)


_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_PATH_KEY = 80  # characters of a key shown in an answer


def _first_unpaired_surrogate(data: dict) -> str | None:
    """Where the first string holding a lone surrogate is (`extra.nested[1]`, a key by its own name), or None.
    Python's json turns an escaped pair (`"\\ud83d\\udcde"`) into one character, so any surrogate left is
    unpaired. Walked without recursion: the body may be nested as deeply as the JSON parser allows."""
    for path, text in _strings(data):
        if _SURROGATE.search(text):
            return path
    return None


def _strings(data: dict) -> Iterator[tuple[str, str]]:
    """(path, string) for every key and string value in the document, in document order, each key before its
    value."""
    pending: list[tuple[str | None, Any]] = [(None, data)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            yield path or "", value
        elif isinstance(value, dict):
            items = [(_key_path(path, key), key, item) for key, item in value.items()]
            yield from ((key_path, key) for key_path, key, _item in items)
            pending.extend((key_path, item) for key_path, _key, item in reversed(items))
        elif isinstance(value, list):
            pending.extend((f"{path}[{index}]", item) for index, item in reversed(list(enumerate(value))))


def _key_path(parent: str | None, key: str) -> str:
    return f"{parent}.{_printable(key)}" if parent is not None else _printable(key)


def _printable(key: str) -> str:
    """A key as it can be named in an answer: a lone surrogate written as its escape, a long key cut short."""
    shown = key.encode("utf-8", "backslashreplace").decode("utf-8")
    return shown if len(shown) <= MAX_PATH_KEY else shown[:MAX_PATH_KEY] + "…"


class _NonJsonConstant(ValueError):
    pass


def _refuse_constant(name: str) -> None:
    raise _NonJsonConstant(f"{name} is not a JSON value")


def _required(data: dict, field: str) -> Any:
    value = data.get(field)
    if value is None:
        raise EventError(f"{field} is required", field)
    return value


def _string(data: dict, field: str) -> str:
    value = _required(data, field)
    if not isinstance(value, str):
        raise EventError(f"{field} must be a string", field)
    return value


def identifier_problem(field: str, value: str) -> str | None:
    """What is wrong with a call or event id, or None. The panel's pages check the call ids they are given the same
    way, so no id reaches the database (PostgreSQL refuses NUL in text) that a dialer's event could not carry."""
    if len(value) > MAX_ID_LENGTH:
        return f"{field} must be at most {MAX_ID_LENGTH} characters"
    if not value.isprintable():
        return f"{field} must not contain control characters"
    return None


def _identifier(data: dict, field: str) -> str:
    value = _string(data, field)
    if not value.strip():
        raise EventError(f"{field} must not be empty", field)
    problem = identifier_problem(field, value)
    if problem:
        raise EventError(problem, field)
    return value


def _optional_identifier(data: dict, field: str) -> str | None:
    if data.get(field) is None:
        return None
    return _identifier(data, field)


def _choice(data: dict, field: str, allowed: tuple[str, ...]) -> str:
    value = _string(data, field)
    if value not in allowed:
        raise EventError(f"{field} must be one of {', '.join(allowed)}", field)
    return value


def _boolean(data: dict, field: str, default: bool | None = None) -> bool:
    value = data.get(field)
    if value is None:
        if default is None:
            raise EventError(f"{field} is required", field)
        return default
    if not isinstance(value, bool):
        raise EventError(f"{field} must be true or false", field)
    return value


def is_email(value: str) -> bool:
    """A plausible e-mail address (one @, no spaces, a dot in the domain, at most 254 characters)."""
    return len(value) <= MAX_EMAIL_LENGTH and value.isprintable() and _EMAIL.match(value) is not None


def _email(data: dict, field: str) -> str:
    value = _string(data, field)
    if not is_email(value):
        raise EventError(f"{field} must be an e-mail address", field)
    return value


def _text(data: dict, field: str, max_length: int, *, lines: bool = False) -> str | None:
    """Text of at most `max_length` characters, or None; without control characters (a NUL would be accepted here
    and then refused by PostgreSQL in every job), except the line breaks and tabs of `lines` text (a transcript, a
    message)."""
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise EventError(f"{field} must be a string or null", field)
    if len(value) > max_length:
        raise EventError(f"{field} must be at most {max_length} characters", field)
    if (_CONTROL_BUT_LINES if lines else _CONTROL).search(value):
        raise EventError(f"{field} must not contain control characters"
                         + (" other than line breaks and tabs" if lines else ""), field)
    return value


def _moment(data: dict, field: str, arrived_at: datetime | None) -> datetime:
    value = _string(data, field)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise EventError(f"{field} must be an ISO 8601 date-time such as 2026-11-22T10:15:00+09:00", field) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise EventError(f"{field} must include a UTC offset (e.g. +09:00 or Z)", field)
    if arrived_at is not None:
        try:
            in_window = arrived_at - MAX_EVENT_AGE <= moment.astimezone(timezone.utc) <= arrived_at + MAX_EVENT_LEAD
        except OverflowError:  # year 1 or 9999 shifted by its offset past what a datetime holds
            in_window = False
        if not in_window:
            raise EventError(f"{field} must be within the last five years and at most one day ahead of the "
                             f"panel's clock", field)
    return moment


def _duration(data: dict, field: str) -> int:
    value = _required(data, field)
    if isinstance(value, bool) or not isinstance(value, int):
        raise EventError(f"{field} must be a whole number of seconds", field)
    if not 0 <= value <= MAX_DURATION_SECONDS:
        raise EventError(f"{field} must be between 0 and {MAX_DURATION_SECONDS}", field)
    return value


def _url(data: dict, field: str) -> str | None:
    value = _text(data, field, MAX_URL_LENGTH)
    if value is None:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if (parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname
            or any(ch.isspace() or not ch.isprintable() for ch in value)):
        raise EventError(f"{field} must be an http(s) URL or null", field)
    return value
