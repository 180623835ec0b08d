"""Salesforce's wire formats for dates and datetimes, and parsing of what callers send.

The REST API writes datetimes as `2026-11-22T01:15:00.000+0000` (always UTC) and dates as `2026-11-22`. On input it
accepts ISO 8601 with `Z`, `+09:00` or `+0900` offsets and optional fractions; a datetime without an offset is
taken as UTC.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def format_datetime(moment: datetime) -> str:
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def format_epoch(seconds: float) -> str:
    return format_datetime(datetime.fromtimestamp(seconds, tz=timezone.utc))


def parse_datetime(text: str) -> datetime:
    """A timezone-aware datetime from Salesforce/ISO text (raises ValueError)."""
    match = _DATETIME.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"not a datetime: {text!r}")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0").ljust(6, "0")[:6])
    tz = timezone.utc
    if offset and offset != "Z":
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro, tzinfo=tz)


def parse_date(text: str) -> date:
    """A date from `YYYY-MM-DD` (raises ValueError). A full datetime is accepted and truncated, as Salesforce does."""
    if not isinstance(text, str):
        raise ValueError(f"not a date: {text!r}")
    match = _DATE.match(text.strip())
    if match:
        return date(*(int(part) for part in match.groups()))
    return parse_datetime(text).date()


def to_epoch(text: str) -> float:
    return parse_datetime(text).timestamp()
