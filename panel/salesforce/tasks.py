"""A record's Tasks: what is planned (next steps), what happened (past activities), and writing new ones.

Costs, in API requests (a composite request counts as one):

- both lists of a record, first page each: one composite holding two Task queries (`load_lists`); for a card the
  screen pop's search alone found, the same composite also reads the card's opportunity stage
  (`panel.salesforce.contacts.stage_subrequests`);
- the next page of one list ("more"): one composite holding that list's query (`load_page`);
- past activities are read with queryAll (`IsDeleted = false`), so Tasks Salesforce archived (closed, due a year
  ago or more) are still listed; next steps with query (open Tasks are never archived);
- a write (create, edit, mark done) and both lists re-read after it: one composite, so the agent sees the result
  at once without a second round trip (`create_open_task`, `update_task`, `mark_done`); the status a create or a
  mark-done writes is the org's own, read in that same composite (`panel.salesforce.task_statuses`); an edit or
  mark-done first checks, in that same composite, that the Task is one of the record's (`TaskNotOnRecord`
  otherwise);
- what a Task may be related to: one composite for a Contact (its Account, then that Account's open
  Opportunities through a composite reference), one query for an Account, none for a Lead;
- Shared Activities: nothing for an org without it; one more composite, once per process, for an org with it (the
  first read learns it: see "Shared Activities" below).

Salesforce's rules kept here: a Contact's or Lead's Tasks hang off `WhoId` (with Shared Activities: any of its
`TaskRelation` rows, the primary included), an Account's off `WhatId` or `AccountId`; a Task whose `WhoId` is a Lead must not have a `WhatId`; `TaskSubtype` is set on create only.
Calls' recording and voicemail links live in the Description as labelled lines (see
`panel.calls.logging_rules.describe`) and are read back from there.

Everything returned is a plain dataclass; every text value in it came from Salesforce and is untrusted.
Nothing here imports Flask.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Mapping, Sequence
from urllib.parse import quote, urlencode

from panel.salesforce import contacts, queries, task_statuses
from panel.salesforce.contacts import FieldProblem, Opportunity
from panel.salesforce.errors import SalesforceRequestError
from panel.salesforce.ids import record_type_of

__all__ = [
    "LIST_KINDS",
    "RECORD_TYPES",
    "FieldProblem",
    "RelatedOption",
    "RelationRefused",
    "TaskItem",
    "TaskLists",
    "TaskNotOnRecord",
    "TaskPage",
    "TaskRejected",
    "activity_history_url",
    "create_open_task",
    "get_task",
    "load_lists",
    "load_page",
    "mark_done",
    "parse_call_links",
    "related_options",
    "update_task",
    "who_and_what",
]

ListKind = Literal["next_steps", "past_activities"]
LIST_KINDS: tuple[ListKind, ...] = ("next_steps", "past_activities")
RECORD_TYPES = ("Contact", "Lead", "Account")  # what a Task can be about (its prefixes: panel.salesforce.ids)
RELATED_TYPES = ("Account", "Opportunity")  # what a Contact's or Account's Task can be related to
_ACCOUNT_REF = "taskAccount"
_CONTACT_REF = "taskContact"
_WRITE_REF = "taskWrite"
_ON_RECORD_REF = "taskOnRecord"
_STATUS_REF = "taskStatus"
_PROBE_REF = "sharedActivities"
# Labels `panel.calls.logging_rules.describe` writes before each link, in every language it writes.
_LINK_LABELS = {"recording": ("Recording", "録音"), "voicemail": ("Voicemail", "留守番電話")}
_LINK_LINE = re.compile(r"^\s*(?P<label>[^:：]{1,40})\s*[:：]\s*(?P<url>https?://\S+)\s*$")


@dataclass(frozen=True)
class TaskItem:
    """One Task as the lists show it. `is_overdue` is relative to the `today` it was read with."""

    id: str
    subject: str | None
    description: str | None
    status: str | None  # the API value
    due_date: date | None
    is_closed: bool
    is_overdue: bool
    priority: str | None = None
    subtype: str | None = None
    call_type: str | None = None
    call_duration_seconds: int | None = None
    call_disposition: str | None = None
    call_id: str | None = None
    recording_url: str | None = None
    voicemail_url: str | None = None
    who_id: str | None = None
    who_name: str | None = None
    what_id: str | None = None
    what_name: str | None = None
    owner_name: str | None = None
    completed_at: datetime | None = None
    last_modified: datetime | None = None
    status_label: str | None = None  # the status as the agent reads it: toLabel(Status), the agent's language

    @property
    def is_call(self) -> bool:
        return self.subtype == "Call" or bool(self.call_type) or bool(self.call_id)


@dataclass(frozen=True)
class TaskPage:
    """One page of a list. `offset` is where it starts; `has_more` whether another page can be fetched."""

    kind: ListKind
    items: tuple[TaskItem, ...]
    offset: int = 0
    has_more: bool = False

    @property
    def next_offset(self) -> int:
        return self.offset + len(self.items)


@dataclass(frozen=True)
class TaskLists:
    """Both first pages; `opportunities` is the card's stage when it was asked for and Salesforce said (else None)."""

    next_steps: TaskPage
    past_activities: TaskPage
    opportunities: tuple[Opportunity, ...] | None = None


@dataclass(frozen=True)
class RelatedOption:
    """Something a Task may be related to (its WhatId): the Contact's Account or one of its open Opportunities."""

    id: str
    sobject: str  # "Account" | "Opportunity"
    name: str | None
    stage: str | None = None


class TaskRejected(Exception):
    """Salesforce refused the write (validation rule, bad field value, deleted Task, no access...)."""

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        super().__init__("; ".join(p.message for p in problems) or "Salesforce refused the Task")
        self.problems = tuple(problems)


class TaskNotOnRecord(Exception):
    """The Task is not one of the record's (not in its lists, or not visible to the user): nothing was written."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"Task {task_id} is not one of the record's Tasks")
        self.task_id = task_id


class RelationRefused(ValueError):
    """A relation Salesforce forbids or the panel does not offer, named by the form field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# -- reading -------------------------------------------------------------------------------------------------------

def load_lists(client, record_type: str, record_id: str, *, today: date, with_stage: bool = False) -> TaskLists:
    """The first page of both lists, in one API request; `with_stage` also reads the record's open opportunities
    (the card's stage, when the screen pop could not) in that same request."""
    stage = contacts.stage_subrequests(client, record_type, record_id) if with_stage else []
    answers = _read_knowing_shared(client, record_type, lambda shared: _list_subrequests(
        client, record_type, record_id, shared) + stage)
    found = _lists_from(answers[:len(LIST_KINDS)], today)
    if not stage:
        return found
    return TaskLists(found.next_steps, found.past_activities,
                     contacts.stage_from_answers(record_type, answers[len(LIST_KINDS):]))


def load_page(client, kind: ListKind, record_type: str, record_id: str, *, offset: int, today: date) -> TaskPage:
    """Another page of one list ("more"), in one API request: a composite holding the list's one query, so past
    activities go to queryAll exactly as in `load_lists`."""
    offset = max(0, min(int(offset), queries.TASK_MAX_OFFSET))
    answers = _read_knowing_shared(client, record_type, lambda shared: [
        _list_subrequest(client, kind, record_type, record_id, offset, shared)])
    return _page(kind, _records_of(answers[0]), offset, today)


# -- Shared Activities ---------------------------------------------------------------------------------------------
# With Shared Activities a Task relates to up to 50 contacts and `WhoId` holds only the primary one, so a Contact's
# lists must go through `TaskRelation` (queries.task_list); without it that object does not exist and naming it
# fails the whole statement. What each org has is learnt from the lists' own composite request: a probe query rides
# in it (queries.shared_activities_probe; no request of its own, the fifth query subrequest at most), and only when
# its answer contradicts what the lists assumed are they read again — once per process for an org with Shared
# Activities, never for one without. Writes use what was learnt.
_shared_lock = threading.Lock()
_shared: dict[str, bool] = {}  # instance URL → whether the org has Shared Activities, as last seen


def _has_shared_activities(client) -> bool:
    with _shared_lock:
        return _shared.get(client.instance_url, False)


def _read_knowing_shared(client, record_type: str, build) -> list[dict]:
    """The answers to `build(shared)`'s subrequests, read in one composite with the probe (Contacts and Leads: an
    Account's Tasks do not depend on it); read once more if the probe says the org is not as assumed."""
    probe = ([_query_subrequest(client, _PROBE_REF, queries.shared_activities_probe())]
             if record_type in ("Contact", "Lead") else [])
    assumed = _has_shared_activities(client)
    subrequests = build(assumed)
    answers = client.composite(subrequests + probe)
    if probe and _learn_shared(client, answers[-1]) != assumed:
        return client.composite(build(not assumed))
    return answers[:len(subrequests)]


def _learn_shared(client, answer: Mapping) -> bool:
    """What the probe's answer says (200: on; INVALID_TYPE: off; any other failure: as assumed), remembered."""
    status = answer.get("httpStatusCode", 500)
    body = answer.get("body")
    code = body[0].get("errorCode") if isinstance(body, list) and body and isinstance(body[0], Mapping) else None
    if status != 200 and code != "INVALID_TYPE":
        return _has_shared_activities(client)
    with _shared_lock:
        _shared[client.instance_url] = status == 200
    return status == 200


def get_task(client, task_id: str, *, today: date) -> TaskItem | None:
    rows = client.query(queries.task_by_id(task_id)).get("records") or []
    return task_item(rows[0], today) if rows else None


def related_options(client, record_type: str, record_id: str) -> tuple[RelatedOption, ...]:
    """What a new Task about this record may be related to; nothing for a Lead (its WhatId must stay empty)."""
    if record_type == "Account":
        return _options(client.query(queries.task_account_with_opportunities(record_id)).get("records") or [])
    if record_type != "Contact":
        return ()
    reference = f"@{{{_CONTACT_REF}.records[0].AccountId}}"
    answers = client.composite([
        _query_subrequest(client, _CONTACT_REF, queries.task_contact_account(record_id)),
        _query_subrequest(client, _ACCOUNT_REF, queries.task_account_with_opportunities(reference), reference),
    ])
    contacts = _records_of(answers[0])
    if not contacts or not contacts[0].get("AccountId"):
        return ()  # the second query had no Account to read and failed or found nothing: both mean no options
    return _options(_records_of(answers[1]))


def _options(accounts: list[dict]) -> tuple[RelatedOption, ...]:
    options: list[RelatedOption] = []
    for account in accounts[:1]:
        options.append(RelatedOption(account["Id"], "Account", account.get("Name")))
        for opportunity in _children(account, "Opportunities"):
            options.append(RelatedOption(opportunity["Id"], "Opportunity", opportunity.get("Name"),
                                         opportunity.get("StageName")))
    return tuple(options)


# -- writing -------------------------------------------------------------------------------------------------------

def who_and_what(record_type: str, record_id: str, related_id: str | None) -> tuple[str | None, str | None]:
    """(WhoId, WhatId) of a Task about `record_id`, related to `related_id` (an Account or Opportunity Id).

    A Lead's Task can be related to nothing: Salesforce refuses a WhatId beside a Lead WhoId.
    """
    related_id = related_id or None
    if related_id is not None and record_type_of(related_id) not in RELATED_TYPES:
        raise RelationRefused("what_id", "a Task can be related to an Account or an Opportunity only")
    if record_type == "Lead":
        if related_id:
            raise RelationRefused("what_id", "a Task about a Lead cannot be related to anything else")
        return record_id, None
    if record_type == "Contact":
        return record_id, related_id
    if record_type == "Account":
        return None, related_id or record_id
    raise RelationRefused("record_type", "record_type must be Contact, Lead or Account")


def create_open_task(client, *, record_type: str, record_id: str, related_id: str | None, subject: str,
                     notes: str | None, due_date: date | None, owner_id: str | None, today: date,
                     statuses: task_statuses.StatusPreference) -> tuple[str, TaskLists | None]:
    """A planned Task (the org's open status, read in the same request) owned by the agent, then both lists
    read back: one API request.

    Returns the new Task's Id and the lists, which already hold it. Raises TaskRejected when Salesforce refuses.
    """
    who_id, what_id = who_and_what(record_type, record_id, related_id)
    fields = {"Subject": subject, "Description": notes or None, "ActivityDate": _iso(due_date),
              "TaskSubtype": "Task", "WhoId": who_id, "WhatId": what_id, "OwnerId": owner_id}
    status_query, fields["Status"] = _status(client, statuses.open, closed=False)
    write = {"method": "POST", "referenceId": _WRITE_REF, "url": f"{_base(client)}/sobjects/Task",
             "body": {name: value for name, value in fields.items() if value is not None}}
    created, lists = _write_then_read(client, write, record_type, record_id, today, first=status_query)
    return (created or {}).get("id"), lists


def update_task(client, task_id: str, *, record_type: str, record_id: str, subject: str, notes: str | None,
                due_date: date | None, today: date) -> TaskLists | None:
    """Change a Task's subject, notes and due date (empty values clear them), then re-read both lists.

    Raises TaskNotOnRecord, nothing written, when the Task is not one of the record's."""
    body = {"Subject": subject, "Description": notes or None, "ActivityDate": _iso(due_date)}
    return _change_task(client, task_id, body, record_type, record_id, today)


def mark_done(client, task_id: str, *, record_type: str, record_id: str, today: date,
              statuses: task_statuses.StatusPreference) -> TaskLists | None:
    """Complete a Task (it moves from next steps to past activities), then re-read both lists.

    Raises TaskNotOnRecord, nothing written, when the Task is not one of the record's."""
    status_query, status = _status(client, statuses.done, closed=True)
    return _change_task(client, task_id, {"Status": status}, record_type, record_id, today, first=status_query)


def _status(client, chosen: str | None, *, closed: bool) -> tuple[list[dict], str]:
    """(subrequests, Status value) for a write: the settings' status (`chosen`) as it is, else a reference to the
    org's own, read by a query placed before the write in the same composite (`panel.salesforce.task_statuses`)."""
    if chosen:
        return [], chosen
    return ([_query_subrequest(client, _STATUS_REF, queries.task_status(closed=closed))],
            f"@{{{_STATUS_REF}.records[0].ApiName}}")


def _change_task(client, task_id: str, body: dict, record_type: str, record_id: str, today: date,
                 first: Sequence[dict] = ()) -> TaskLists | None:
    """PATCH the Task only if it is one of the record's, in the one composite that also re-reads the lists.

    The edit forms post the record they sit under, but the Task id is the browser's to change: a query for the
    Task under the record's own condition comes first (`queries.task_of_record`), and the PATCH's URL names the
    Task through that query's row (`@{taskOnRecord.records[0].Id}`). With no row the reference has no value and
    Salesforce halts the PATCH, so a Task of another record is never written, at no extra request. Composite
    references in a later subrequest's URL: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/
    api_rest/resources_composite_composite_post.htm
    """
    check = _query_subrequest(client, _ON_RECORD_REF, queries.task_of_record(
        task_id, record_type, record_id, shared_activities=_has_shared_activities(client)), query_all=True)
    patch = {"method": "PATCH", "referenceId": _WRITE_REF,
             "url": f"{_base(client)}/sobjects/Task/@{{{_ON_RECORD_REF}.records[0].Id}}", "body": body}
    answers = client.composite([check, *first, patch] + _list_subrequests(client, record_type, record_id))
    if not _records_of(answers[0]):
        raise TaskNotOnRecord(task_id)
    return _written_and_lists(answers[1 + len(first):], today)[1]


def _write_then_read(client, write: dict, record_type: str, record_id: str, today: date,
                     first: Sequence[dict] = ()) -> tuple[dict | None, TaskLists | None]:
    """Run one write (after `first`, which it may refer to) and both list queries in one composite; the write's
    response body and the lists."""
    answers = client.composite([*first, write] + _list_subrequests(client, record_type, record_id))
    return _written_and_lists(answers[len(first):], today)


def _list_subrequests(client, record_type: str, record_id: str, shared: bool | None = None) -> list[dict]:
    shared = _has_shared_activities(client) if shared is None else shared
    return [_list_subrequest(client, kind, record_type, record_id, 0, shared) for kind in LIST_KINDS]


def _written_and_lists(answers: Sequence[Mapping], today: date) -> tuple[dict | None, TaskLists | None]:
    """The write's response body and the lists, from the write's answer followed by the two lists' answers.

    Raises TaskRejected when the write was refused. The lists are None when the write went through but reading
    them back failed: the caller must not report the write as lost (the lists can be read again on their own).
    """
    written = answers[0]
    if written.get("httpStatusCode", 500) >= 400:
        raise TaskRejected(_problems(written.get("body")))
    try:
        lists = _lists_from(answers[1:], today)
    except SalesforceRequestError:
        lists = None
    return written.get("body") if isinstance(written.get("body"), dict) else None, lists


# -- shapes --------------------------------------------------------------------------------------------------------

def task_item(record: Mapping, today: date) -> TaskItem:
    """A Task query row as the lists show it."""
    due = _date(record.get("ActivityDate"))
    closed = bool(record.get("IsClosed"))
    recording, voicemail = parse_call_links(record.get("Description"))
    return TaskItem(
        id=record["Id"],
        subject=record.get("Subject"),
        description=record.get("Description"),
        status=record.get("Status"),
        status_label=record.get("StatusLabel") or record.get("Status"),
        due_date=due,
        is_closed=closed,
        is_overdue=not closed and due is not None and due < today,
        priority=record.get("Priority"),
        subtype=record.get("TaskSubtype"),
        call_type=record.get("CallType"),
        call_duration_seconds=record.get("CallDurationInSeconds"),
        call_disposition=record.get("CallDisposition"),
        call_id=record.get("CallObject"),
        recording_url=recording,
        voicemail_url=voicemail,
        who_id=record.get("WhoId"),
        who_name=_parent_name(record, "Who"),
        what_id=record.get("WhatId"),
        what_name=_parent_name(record, "What"),
        owner_name=_parent_name(record, "Owner"),
        completed_at=_datetime(record.get("CompletedDateTime")),
        last_modified=_datetime(record.get("LastModifiedDate")),
    )


def parse_call_links(description: str | None) -> tuple[str | None, str | None]:
    """(recording URL, voicemail URL) from the labelled lines a call's Task description ends with."""
    found: dict[str, str] = {}
    for line in (description or "").splitlines():
        match = _LINK_LINE.match(line)
        if not match:
            continue
        label = match.group("label").strip()
        for kind, labels in _LINK_LABELS.items():
            if label in labels:
                found[kind] = match.group("url")
    return found.get("recording"), found.get("voicemail")


def activity_history_url(instance_url: str, record_type: str, record_id: str) -> str:
    """The record's full activity history in Lightning (opens in a new tab: Salesforce cannot be framed)."""
    return (f"{instance_url.rstrip('/')}/lightning/r/{record_type}/{quote(record_id, safe='')}"
            f"/related/ActivityHistories/view")


def _page(kind: ListKind, rows: list[dict], offset: int, today: date) -> TaskPage:
    size = queries.TASK_PAGE_SIZE
    has_more = len(rows) > size and offset + size < queries.TASK_MAX_OFFSET
    return TaskPage(kind, tuple(task_item(row, today) for row in rows[:size]), offset, has_more)


def _lists_from(answers: Sequence[Mapping], today: date) -> TaskLists:
    pages = {kind: _page(kind, _records_of(answer), 0, today) for kind, answer in zip(LIST_KINDS, answers)}
    return TaskLists(next_steps=pages["next_steps"], past_activities=pages["past_activities"])


def _base(client) -> str:
    return f"/services/data/v{client.api_version}"


def _list_subrequest(client, kind: ListKind, record_type: str, record_id: str, offset: int,
                     shared: bool) -> dict:
    soql = queries.task_list(kind, record_type, record_id, offset=offset, shared_activities=shared)
    return _query_subrequest(client, kind, soql, query_all=queries.TASK_QUERY_ALL[kind])


def _query_subrequest(client, reference_id: str, soql: str, keep: str | None = None, *,
                      query_all: bool = False) -> dict:
    """A composite query subrequest (to the QueryAll resource with `query_all`: archived and deleted rows too);
    `keep` is a composite reference left unencoded so Salesforce resolves it."""
    query = urlencode({"q": soql})
    if keep:
        query = query.replace(quote(keep, safe=""), keep)
    resource = "queryAll" if query_all else "query"
    return {"method": "GET", "referenceId": reference_id, "url": f"{_base(client)}/{resource}?{query}"}


def _records_of(answer: Mapping) -> list[dict]:
    status = answer.get("httpStatusCode", 500)
    body = answer.get("body")
    if status >= 400:
        first = body[0] if isinstance(body, list) and body and isinstance(body[0], Mapping) else {}
        raise SalesforceRequestError(first.get("message") or f"composite subrequest failed ({status})",
                                     error_code=first.get("errorCode"), status=status)
    return list((body or {}).get("records") or []) if isinstance(body, Mapping) else []


def _problems(body) -> list[FieldProblem]:
    problems = [FieldProblem(name, str(error.get("message") or ""), str(error.get("errorCode") or ""))
                for error in (body if isinstance(body, list) else []) if isinstance(error, Mapping)
                for name in (error.get("fields") or [None])]
    return problems or [FieldProblem(None, "Salesforce refused the Task", "UNKNOWN")]


def _children(record: Mapping, relationship: str) -> list[dict]:
    child = record.get(relationship)
    return list(child.get("records") or []) if isinstance(child, Mapping) else []


def _parent_name(record: Mapping, relationship: str) -> str | None:
    parent = record.get(relationship)
    return parent.get("Name") if isinstance(parent, Mapping) else None


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _date(text) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if isinstance(text, str) and text else None
    except ValueError:
        return None


def _datetime(text) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:  # Salesforce writes the offset without a colon: 2024-05-01T10:42:00.000+0000
            return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
        except ValueError:
            return None
