"""Archived activities: closed Tasks old enough that `query` no longer returns them (`org_shape.archive_after_days`).

Salesforce archives activities over a year old (SOAP API Developer Guide, "Archived Activities":
https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_guidelines_archive.htm). A Task is
archived when `IsClosed` is true and its `ActivityDate` is at least that many days old, or, with no
`ActivityDate`, its `CreatedDate` is. `query()` "automatically filters out all records where isArchived is set to
true" — at top level, in child subqueries and in semi-joins alike — and only `queryAll()` returns them; the records
can still be read, updated and deleted, and `IsArchived` itself cannot be written. Salesforce's default age is 365
days (support can lengthen it); the org shape's number of days stands for it. Open Tasks are never archived.

Salesforce archives in a background run, so a Task that just became old enough may stay visible until the next
run; the local org archives at once, the stricter reading (a client that relies on `queryAll` works either way).
Without `archive_after_days` nothing is archived and `IsArchived` is false everywhere.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Optional

from . import formats
from .org_shape import OrgShape


def is_archived(task: dict, shape: OrgShape, now: datetime, today: date) -> bool:
    """Whether this stored Task row is archived in an org shaped `shape`, at `now` (`today` in the org's zone)."""
    days = shape.archive_after_days
    if days is None or not task.get("IsClosed"):
        return False
    due = _date(task.get("ActivityDate"))
    if due is not None:
        return due <= today - timedelta(days=days)
    created = _datetime(task.get("CreatedDate"))
    return created is not None and created <= now - timedelta(days=days)


def _date(text: object) -> Optional[date]:
    try:
        return formats.parse_date(text) if isinstance(text, str) and text else None
    except ValueError:
        return None


def _datetime(text: object) -> Optional[datetime]:
    try:
        return formats.parse_datetime(text) if isinstance(text, str) and text else None
    except ValueError:
        return None
