"""The org's Task statuses: Salesforce's defaults, or the admin's own (`org_shape.task_statuses`).

Salesforce keeps the Task Status picklist's values as `TaskStatus` records (Object Reference, TaskStatus:
https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_taskstatus.htm
— `ApiName`, `MasterLabel`, `IsClosed` ("multiple task status values can represent a closed task"), `IsDefault`,
`SortOrder`; supported calls describeSObjects(), query(), retrieve()). A Task's `Status` holds a value's API name,
and its `IsClosed` follows that value's `IsClosed`. An org that renames or replaces the values refuses any other
status on write: `INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`, as for every restricted picklist.

The local org serves TaskStatus rows from the shape rather than storing them: they change only with the admin's
setting, and a reset brings back the defaults. A custom value's API name is its label, as Salesforce makes it
when an admin adds a value. Tasks already stored keep the status and IsClosed they were written with.
"""

from __future__ import annotations

from dataclasses import replace

from . import formats, ids, schema
from . import org_shape
from .org_shape import OrgShape, TaskStatusValue

DEFAULT_STATUSES = (
    TaskStatusValue("Not Started", closed=False, default=True),
    TaskStatusValue("In Progress"),
    TaskStatusValue("Completed", closed=True),
    TaskStatusValue("Waiting on someone else"),
    TaskStatusValue("Deferred"),
)
_KEY_PREFIX = "01J"
_STATUS_OBJECTS = ("task", "openactivity", "activityhistory")


def statuses(shape: OrgShape) -> tuple[TaskStatusValue, ...]:
    return shape.task_statuses or DEFAULT_STATUSES


def closed_values(shape: OrgShape) -> frozenset[str]:
    return frozenset(s.label for s in statuses(shape) if s.closed)


def is_closed(status: str | None, was_closed: bool) -> bool:
    """A Task's IsClosed for its status, in the org's statuses; a status the org no longer has (a Task written
    before the admin replaced the values) keeps the IsClosed it had."""
    known = {s.label: s.closed for s in statuses(org_shape.current())}
    return known.get(status, was_closed)


def added_fields(shape: OrgShape) -> dict[str, dict[str, schema.Field]]:
    """`Status` of Task and its activity views, with the org's values, for `schema.OrgFields.added`; nothing for
    the default statuses (the schema already has them)."""
    if not shape.task_statuses:
        return {}
    values = tuple(s.label for s in shape.task_statuses)
    default = next(s.label for s in shape.task_statuses if s.default)
    return {name: {"status": replace(schema.get_sobject(name).fields["status"], picklist_values=values,
                                     default_value=default)}
            for name in _STATUS_OBJECTS}


def rows(shape: OrgShape, seeded_at: float, admin: str | None) -> list[dict]:
    """The TaskStatus records, in sort order, every field present; `admin` set them up (the org's first user)."""
    generator = ids.IdGenerator()
    stamp = formats.format_epoch(seeded_at)
    return [{"Id": generator.make(_KEY_PREFIX, index), "IsDeleted": False, "CreatedDate": stamp,
             "CreatedById": admin, "LastModifiedDate": stamp, "LastModifiedById": admin, "SystemModstamp": stamp,
             "ApiName": value.label, "MasterLabel": value.label, "IsClosed": value.closed,
             "IsDefault": value.default, "SortOrder": index, "_changed_at": seeded_at}
            for index, value in enumerate(statuses(shape), start=1)]
