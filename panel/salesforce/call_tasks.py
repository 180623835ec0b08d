"""The one Salesforce Task each call produces: find it, create it, append a note to it, close it.

Each function is one API request (`append_note`: two, a read and a write), plus, once per org and hour, the
query for the org's Task statuses: the call rules write a default org's statuses ("In Progress", "Completed")
and the writes here put the org's own values in their place (`panel.salesforce.task_statuses`). Failures keep
the client's types (`SalesforceUnavailable` is worth retrying), except that a refused write becomes `TaskRejected` (the same error
the task form already shows field by field) and a Task that no longer exists becomes `TaskGone`, so the caller
forgets it and creates a new one.

Nothing here imports Flask.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable, Iterator, Mapping, TypeVar

from panel.salesforce import queries, task_statuses
from panel.salesforce.contacts import FieldProblem
from panel.salesforce.errors import NotFound, SalesforceRequestError
from panel.salesforce.tasks import TaskRejected

__all__ = [
    "CallTask",
    "TaskGone",
    "append_note",
    "create_open_call_task",
    "create_task",
    "find_by_call_object",
    "get_task",
    "update_task",
    "upsert_task",
]

_T = TypeVar("_T")
_NOT_UPDATEABLE = "INVALID_FIELD_FOR_INSERT_UPDATE"
DESCRIPTION_MAX = 32_000


@dataclass(frozen=True)
class CallTask:
    """A call's Task as the ledger needs it (every text value came from Salesforce)."""

    task_id: str
    subject: str | None
    description: str | None
    is_closed: bool
    who_id: str | None
    what_id: str | None
    owner_id: str | None


class TaskGone(Exception):
    """The Task does not exist any more (deleted, or an Id from another org)."""


# -- reading ------------------------------------------------------------------------------------------------------

def find_by_call_object(client, call_id: str) -> CallTask | None:
    """The oldest Task whose CallObject is `call_id` (the one every later write goes to), or None."""
    rows = client.query(queries.call_task_by_call_object(call_id)).get("records") or []
    return _task(rows[0]) if rows else None


def get_task(client, task_id: str) -> CallTask:
    rows = client.query(queries.call_task_by_id(task_id)).get("records") or []
    if not rows:
        raise TaskGone(task_id)
    return _task(rows[0])


def _task(row: Mapping[str, Any]) -> CallTask:
    return CallTask(task_id=row["Id"], subject=row.get("Subject"), description=row.get("Description"),
                    is_closed=bool(row.get("IsClosed")), who_id=row.get("WhoId"), what_id=row.get("WhatId"),
                    owner_id=row.get("OwnerId"))


# -- writing ------------------------------------------------------------------------------------------------------

def create_task(client, fields: Mapping[str, Any], *, statuses: task_statuses.StatusPreference) -> str:
    """Create a Task with `fields`, its status in the org's own values (or the settings' `statuses`); its new Id."""
    def create(written: Mapping[str, Any]) -> str:
        with _refusals():
            return client.create("Task", written)

    return _in_org_statuses(client, fields, statuses, create)


def update_task(client, task_id: str, fields: Mapping[str, Any], *, statuses: task_statuses.StatusPreference
                ) -> None:
    if not fields:
        return

    def update(written: Mapping[str, Any]) -> None:
        with _refusals(task_id):
            client.update("Task", task_id, written)

    _in_org_statuses(client, fields, statuses, update)


def _in_org_statuses(client, fields: Mapping[str, Any], statuses: task_statuses.StatusPreference,
                     write: Callable[[Mapping[str, Any]], _T]) -> _T:
    """`write(fields)` with the status in the org's values; when Salesforce refuses the status, the admin changed
    the values since they were cached: read them again and write once more (one more request, that once)."""
    try:
        return write(in_org_statuses(client, fields, statuses))
    except TaskRejected as rejected:
        if "Status" not in fields or not any(problem.code == task_statuses.RESTRICTED_PICKLIST
                                             and problem.field in (None, "Status") for problem in rejected.problems):
            raise
        task_statuses.forget(client)
        return write(in_org_statuses(client, fields, statuses))


def in_org_statuses(client, fields: Mapping[str, Any], statuses: task_statuses.StatusPreference
                    ) -> Mapping[str, Any]:
    """`fields` with a default org's Status ("Not Started", "In Progress", "Completed": what the call rules
    write) turned into the org's own value (`panel.salesforce.task_statuses`); no request when there is no Status
    or the org's values are cached."""
    status = fields.get("Status")
    roles = {task_statuses.DEFAULT.open: "open", task_statuses.DEFAULT.working: "working",
             task_statuses.DEFAULT.done: "done"}
    if status not in roles:
        return fields
    return {**fields, "Status": getattr(task_statuses.for_org(client, statuses), roles[status])}


def upsert_task(client, field_name: str, key: str, fields: Mapping[str, Any], *,
                statuses: task_statuses.StatusPreference) -> tuple[str, bool]:
    """Create the Task keyed `key` in the external id field `field_name`, or find it when it already exists.

    Returns (Task Id, created). A Task that exists is not changed here: `TaskSubtype` may only be set on create,
    so Salesforce refuses the upsert (INVALID_FIELD_FOR_INSERT_UPDATE) and the caller closes the Task found.
    """
    def upsert(written: Mapping[str, Any]) -> dict:
        with _refusals():
            return client.upsert("Task", field_name, key,
                                 {name: value for name, value in written.items() if name != field_name})

    try:
        answer = _in_org_statuses(client, fields, statuses, upsert)
    except TaskRejected as rejected:
        if not any(problem.code == _NOT_UPDATEABLE for problem in rejected.problems):
            raise
        existing = client.query(queries.call_task_by_external_key(field_name, key)).get("records") or []
        if not existing:
            raise
        return existing[0]["Id"], False
    if answer.get("id"):
        return answer["id"], bool(answer.get("created", True))
    found = client.query(queries.call_task_by_external_key(field_name, key)).get("records") or []
    return found[0]["Id"], False


def create_open_call_task(client, *, call_id: str, who_id: str | None, what_id: str | None,
                          description: str | None, subject: str, direction: str | None, activity_date: date,
                          statuses: task_statuses.StatusPreference, external_id_field: str | None = None) -> str:
    """The open Task an agent's note during a call starts; the call's end completes this same Task."""
    fields = {"Subject": subject, "Status": task_statuses.DEFAULT.working, "TaskSubtype": "Call", "Type": "Call",
              "CallObject": call_id, "WhoId": who_id, "WhatId": what_id, "Description": description,
              "ActivityDate": activity_date.isoformat(),
              "CallType": direction.capitalize() if direction in ("inbound", "outbound") else None}
    fields = {name: value for name, value in fields.items() if value is not None}
    if external_id_field:
        task_id, _created = upsert_task(client, external_id_field, call_id, fields, statuses=statuses)
        return task_id
    return create_task(client, fields, statuses=statuses)


def append_note(client, task_id: str, note: str | None, *, subject: str | None = None) -> None:
    """Add `note` under what the Task's Description already holds and, with `subject`, make it the Task's subject
    (read, then write: two API requests; only the read when nothing changes)."""
    task = get_task(client, task_id)
    fields: dict[str, Any] = {}
    if note:
        existing = (task.description or "").rstrip()
        text = f"{existing}\n\n{note}" if existing else note
        if _utf16_len(text) > DESCRIPTION_MAX:
            raise TaskRejected([FieldProblem("Description", "The call's notes are full (32,000 characters).",
                                             "STRING_TOO_LONG")])
        fields["Description"] = text
    if subject and subject != task.subject:
        fields["Subject"] = subject
    if fields:
        with _refusals(task_id):  # no Status in the write: nothing to put in the org's values
            client.update("Task", task_id, fields)


@contextmanager
def _refusals(task_id: str | None = None) -> Iterator[None]:
    """Turn a refused write into `TaskRejected` (and a missing Task into `TaskGone`); let the rest pass."""
    try:
        yield
    except NotFound as error:
        if task_id:
            raise TaskGone(task_id) from error
        raise _rejected(error) from error
    except SalesforceRequestError as error:
        raise _rejected(error) from error


def _rejected(error: SalesforceRequestError) -> TaskRejected:
    return TaskRejected([FieldProblem(name, error.message, error.error_code or "") for name in error.fields or [None]])


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
