"""The task form and what the task views take from a request, checked: plain functions, testable without one.

- `record_param`, `task_id_param`, `offset_param`: the ids and paging the panel's own pages send; anything else is
  a `panel.web.BadInput` (400 naming the field).
- `validate_task`: a submitted task or call note as typed (kept to show again) and its errors by field. A task needs
  a subject; a note on a call does not (the call's Task then keeps the call's own subject), but it needs a subject or
  notes: the subject becomes the call Task's subject, the notes go to its description (panel.calls.notes).
- `call_choices`: the "which call" select (the call on now, the record's recent calls, no call).
- `SALESFORCE_FIELDS`: which input shows the message Salesforce attaches to a field it refused.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Callable, Iterable, Mapping

from flask_babel import lazy_gettext as _l

from panel.salesforce import tasks
from panel.salesforce.ids import is_record_id, record_type_of
from panel.web import BadInput

__all__ = ["NOTES_MAX", "NO_CALL", "SALESFORCE_FIELDS", "SUBJECT_MAX", "call_choices", "defaults", "due_date_of",
           "offset_param", "parse_due_date", "record_param", "task_id_param", "validate_task"]

SUBJECT_MAX = 255
NOTES_MAX = 32_000
NO_CALL = ""
# Salesforce field → form field, for the messages Salesforce attaches to a refused write.
SALESFORCE_FIELDS = {"Subject": "subject", "Description": "notes", "ActivityDate": "due_date", "WhatId": "what_id"}


# -- what the URLs carry ----------------------------------------------------------------------------------------------

def record_param(record_id: str, source: Mapping) -> tuple[str, str]:
    """(record_type, record_id), checked: the type must be one the panel shows and fit the Id's key prefix."""
    record_type = (source.get("record_type") or "").strip()
    if record_type not in tasks.RECORD_TYPES:
        raise BadInput("record_type", "record_type must be Contact, Lead or Account")
    if not is_record_id(record_id) or record_type_of(record_id) != record_type:
        raise BadInput("record_id", f"record_id must be a {record_type} Id")
    return record_type, record_id


def task_id_param(task_id: str) -> str:
    if not is_record_id(task_id) or task_id[:3] != "00T":
        raise BadInput("task_id", "task_id must be a Task Id")
    return task_id


def offset_param(source: Mapping) -> int:
    raw = (source.get("offset") or "0").strip()
    if not raw.isdigit() or int(raw) > tasks.queries.TASK_MAX_OFFSET:
        raise BadInput("offset", f"offset must be a whole number up to {tasks.queries.TASK_MAX_OFFSET}")
    return int(raw)


# -- the form ---------------------------------------------------------------------------------------------------------

def defaults(active_call: str | None) -> dict[str, str]:
    """An empty form: bound to the call on now, if any."""
    return {"subject": "", "notes": "", "due_date": "", "what_id": "", "call_id": active_call or NO_CALL}


def validate_task(form: Mapping, *, record_type: str, call_ids: set[str]) -> tuple[dict, dict, int]:
    """(values, errors by field, status) for a submitted task or note.

    Values keep what was typed (line endings normalised) so a refused form shows it again. Errors in what a person
    types answer 422; a relation or call the form never offers (a Lead's related-to, an unknown call) 400.
    """
    values = {
        "subject": (form.get("subject") or "").strip(),
        "notes": (form.get("notes") or "").replace("\r\n", "\n").replace("\r", "\n"),
        "due_date": (form.get("due_date") or "").strip(),
        "what_id": (form.get("what_id") or "").strip(),
        "call_id": (form.get("call_id") or "").strip(),
    }
    errors: dict = {}
    if not values["subject"] and not values["call_id"]:
        errors["subject"] = _l("Enter a subject.")
    elif not values["subject"] and not values["notes"].strip():
        errors["subject"] = _l("Enter a subject or notes for the call.")
    elif len(values["subject"]) > SUBJECT_MAX:
        errors["subject"] = _l("The subject is longer than %(max)d characters.", max=SUBJECT_MAX)
    if len(values["notes"]) > NOTES_MAX:
        errors["notes"] = _l("The notes are longer than %(max)d characters.", max=NOTES_MAX)
    if values["due_date"]:
        due = parse_due_date(values["due_date"])
        if due is None:
            errors["due_date"] = _l("Enter the due date as a date, e.g. 2025-04-30.")
        elif values["call_id"]:
            errors["due_date"] = _l("A note on a call has no due date: choose “No call” or clear the date.")
    status = 422 if errors else 200
    if values["what_id"]:
        try:
            if not is_record_id(values["what_id"]):
                raise tasks.RelationRefused("what_id", "what_id is not a Salesforce Id")
            tasks.who_and_what(record_type, "", values["what_id"])
        except tasks.RelationRefused as refused:
            errors[refused.field] = (_l("A task about a lead cannot be related to anything else.")
                                     if record_type == "Lead" else _l("Choose one of the records offered."))
            status = 400
    if values["call_id"] and values["call_id"] not in call_ids:
        errors["call_id"] = _l("Choose one of the calls offered.")
        status = 400
    return values, errors, status


def parse_due_date(text: str) -> date | None:
    """An ISO date (what `<input type=date>` sends) within the years Salesforce stores, else None."""
    try:
        value = date.fromisoformat(text)
    except ValueError:
        return None
    return value if 1700 <= value.year <= 4000 else None


def due_date_of(values: Mapping[str, str]) -> date | None:
    """The checked form's due date, None when it has none."""
    return parse_due_date(values["due_date"]) if values["due_date"] else None


# -- the "which call" select ------------------------------------------------------------------------------------------

def call_choices(active_call: str | None, recent_calls: Iterable[Any],
                 moment_label: Callable[[datetime], str]) -> list[tuple[str, str]]:
    """(value, label) for the "which call" select: the call on now, the record's recent calls (ledger rows or
    mappings with call_id, direction and a moment), no call. `moment_label` writes a moment in the agent's locale."""
    choices: list[tuple[str, str]] = []
    if active_call:
        choices.append((active_call, str(_l("The current call"))))
    for call in recent_calls:
        call_id = _attr(call, "call_id")
        if call_id and call_id != active_call:
            choices.append((call_id, _call_label(call, moment_label)))
    choices.append((NO_CALL, str(_l("No call (open task)"))))
    return choices


def _attr(item, name: str):
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def _call_label(call, moment_label: Callable[[datetime], str]) -> str:
    direction = {"inbound": _l("Inbound call"), "outbound": _l("Outbound call")}.get(
        (_attr(call, "direction") or "").lower(), _l("Call"))
    moment = _attr(call, "started_at") or _attr(call, "ringing_at") or _attr(call, "ended_at")
    if isinstance(moment, datetime):
        return f"{direction} · {moment_label(moment)}"
    return str(direction)
