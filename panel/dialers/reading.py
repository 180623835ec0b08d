"""Reading the values a vendor's delivery carries, the same way for every dialer adapter.

Each reader takes the raw value and the vendor's own field path (`payload.object.call_id`, `detail.contactId`), and
either answers the value in the panel's terms or raises `EventError` naming that field, so an answer of 400 tells the
admin which field of which vendor's event was missing or wrong. What differs between vendors (which fields, their
limits, whether a vendor sends ids as JSON numbers) is passed in by the adapter; what a vendor's format alone
decides (its signature, its event ids, its time formats other than ISO 8601 and epoch) stays in its own module.

The checks are those of the panel's own webhook (panel.calls.events): ids go through `identifier_problem` (length,
control characters: PostgreSQL refuses NUL in text), numbers and free text lose or refuse control characters.

Pure: no Flask, no database, no network.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

from panel.calls.events import (MAX_EVENT_AGE, MAX_EVENT_LEAD, MAX_ID_LENGTH, MAX_NUMBER_LENGTH, MAX_URL_LENGTH,
                                EventError, identifier_problem)

__all__ = [
    "free_text",
    "from_epoch_ms",
    "from_epoch_seconds",
    "http_url",
    "identifier",
    "identity",
    "iso_moment",
    "json_object",
    "member_object",
    "phone_number",
    "printable_text",
    "recent",
]

ISO_EXAMPLE = "2026-11-22T01:15:00Z"
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")  # control characters and lone surrogates
_CONTROL_BUT_LINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")  # the same, less \t \n \r


def json_object(body: bytes, what: str = "the body") -> dict:
    """`body` (UTF-8 JSON) as a dict; `EventError` when it is not JSON, not an object, or holds NaN / Infinity
    (which JSON does not have and Python's parser would otherwise accept)."""
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise EventError(f"{what} is not JSON") from None
    if not isinstance(data, dict):
        raise EventError(f"{what} must be a JSON object")
    return data


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def member_object(value: Any, field: str) -> dict:
    """A nested JSON object of the delivery (`payload.object`, `body`, `data`); `EventError` "<field> is missing"
    when it is absent or not an object."""
    if not isinstance(value, dict):
        raise EventError(f"{field} is missing", field)
    return value


def identifier(value: Any, field: str, max_length: int = MAX_ID_LENGTH, *, numbers: bool = False) -> str:
    """A vendor's id (a call, leg, event or message id), as sent. `numbers`: the vendor sends ids as JSON numbers
    too (taken as their decimal text). Missing or blank, not text, too long or with control characters → `EventError`
    naming `field`."""
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise EventError(f"{field} is missing", field)
    if not isinstance(value, str):
        raise EventError(f"{field} must be a string", field)
    problem = identifier_problem(field, value) or (
        f"{field} must be at most {max_length} characters" if len(value) > max_length else None)
    if problem:
        raise EventError(problem, field)
    return value


def identity(value: Any, max_length: int = MAX_ID_LENGTH) -> str | None:
    """A value naming a person (a vendor's user id, extension, e-mail) as text for PANEL_DIALER_USERS, or None when
    it names nobody: absent, not a string or integer, blank, not printable or longer than `max_length`."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    text = str(value).strip()
    return text if text and text.isprintable() and len(text) <= max_length else None


def phone_number(value: Any, field: str, *, numbers: bool = False) -> str:
    """The other party's number as the vendor sends it (the panel normalizes it later); "" when absent (a withheld
    number). `numbers`: the vendor may send it as a JSON number. Not text, too long or with control characters →
    `EventError` naming `field`."""
    if value is None:
        return ""
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise EventError(f"{field} must be a string", field)
    if len(value) > MAX_NUMBER_LENGTH or _CONTROL.search(value):
        raise EventError(f"{field} must be a phone number", field)
    return value


def printable_text(value: Any, field: str, max_length: int = 255) -> str:
    """A short value (a number, a name, an identity) without its surrounding spaces; "" when absent. Not text, or
    longer than `max_length` or not printable once stripped → `EventError` naming `field`."""
    if value is None:
        return ""
    text = value.strip() if isinstance(value, str) else None
    if text is None or len(text) > max_length or not text.isprintable():
        raise EventError(f"{field} must be text of at most {max_length} printable characters", field)
    return text


def free_text(value: str, limit: int | None = None) -> str:
    """Free text (a message, a transcript, a summary) kept as sent, less control characters other than line breaks
    and tabs and less lone surrogates, cut to `limit` characters (a Task's Description holds no more)."""
    text = _CONTROL_BUT_LINES.sub("", value)
    return text if limit is None else text[:limit]


def http_url(value: Any, field: str) -> str:
    """A link the vendor sends (a recording, a voicemail): an http(s) URL of at most MAX_URL_LENGTH printable
    characters without spaces; `EventError` naming `field` otherwise."""
    if value is None or value == "":
        raise EventError(f"{field} is missing", field)
    if not isinstance(value, str) or len(value) > MAX_URL_LENGTH or not value.startswith(("https://", "http://")) \
            or not value.isprintable() or any(ch.isspace() for ch in value):
        raise EventError(f"{field} must be an http(s) URL", field)
    return value


def iso_moment(value: Any, field: str, example: str = ISO_EXAMPLE) -> datetime:
    """An ISO 8601 time (`2026-11-22T01:15:00Z`, `…+09:00`) as an aware datetime; a time without an offset is read as
    UTC (the vendors that send one document UTC). Missing or not a time → `EventError` naming `field`, the message
    showing `example` (the vendor's own form)."""
    if value is None or value == "":
        raise EventError(f"{field} is missing", field)
    if not isinstance(value, str):
        raise EventError(f"{field} must be an ISO 8601 time such as {example}", field)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise EventError(f"{field} must be an ISO 8601 time such as {example}", field) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def from_epoch_ms(value: Any, field_name: str) -> datetime:
    """A vendor's epoch milliseconds (a number or its text) as an aware UTC datetime; `EventError` naming the field
    otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise EventError(f"{field_name} must be a time in epoch milliseconds", field_name)
    try:
        return datetime.fromtimestamp(float(value) / 1000.0, tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise EventError(f"{field_name} must be a time in epoch milliseconds", field_name) from None


def from_epoch_seconds(value: Any, field: str) -> datetime:
    """A vendor's epoch seconds (a JSON number) as an aware UTC datetime; `EventError` naming the field otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EventError(f"{field} must be a time in epoch seconds", field)
    try:
        return datetime.fromtimestamp(value, tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise EventError(f"{field} must be a time in epoch seconds", field) from None


def recent(moment: datetime, field: str, now: datetime) -> datetime:
    """`moment` when it lies in the window the panel's own webhook accepts (the last five years, at most a day
    ahead of `now`); `EventError` naming `field` otherwise."""
    try:
        in_window = now - MAX_EVENT_AGE <= moment.astimezone(timezone.utc) <= now + MAX_EVENT_LEAD
    except OverflowError:
        in_window = False
    if not in_window:
        raise EventError(f"{field} must be within the last five years and at most one day ahead", field)
    return moment
