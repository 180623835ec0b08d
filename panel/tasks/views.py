"""Tasks under the card: next steps, past activities, and the task form (before, during or after a call).

URL contract (htmx fragments; each returns one template with one stable root id):

- `GET  /panel/records/<id>/tasks?record_type=…[&stage=1]` — both lists in one API request (`#task-lists`);
  `stage=1` (a card the screen pop's search alone found) also reads the card's opportunities in that request and
  swaps the card's `#card-stage` out of band.
- `GET  /panel/records/<id>/next-steps?record_type=…[&offset=N]` — `#next-steps` (offset 0), or one more page of
  items (`partials/task_page.html`) for the "more" link. `…/past-activities` likewise (`#past-activities`).
- `GET  /panel/records/<id>/tasks/new?record_type=…[&call_id=…]` — the open `#task-form`; `closed=1` folds it.
- `POST /panel/records/<id>/tasks` — create. No call: an open Task (Not Started, the agent's), answered with the
  refreshed `#next-steps` (HX-Retarget) and `#past-activities` out of band. A call: the note goes to that call's
  Task through `panel.calls.ledger.add_call_note` (one Task per call ID, closed by the call's end).
  Invalid input: the form again with every typed value and a message per field (422; 400 for a relation the
  form does not offer, e.g. a Lead's related-to); Salesforce unreachable: the same, 503, with a retry.
- `POST /panel/tasks/<task_id>` — edit subject, notes, due date. `POST /panel/tasks/<task_id>/done` — mark done.
  Both answer with the refreshed lists; an invalid edit re-renders that item's form (422).

`call_id` (the active call, from the dialer) rides along on every list and form URL so the form can default to it;
without the parameter it is read from the panel page's own URL (htmx's `HX-Current-URL`). Every write drops the
record's cached card (`panel.callers.lookup.invalidate_pop`). CSRF: every POST goes through flask-wtf's CSRFProtect.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Mapping
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import format_date, format_datetime
from flask_babel import lazy_gettext as _l

from panel.calls import ledger
from panel.callers import lookup
from panel.signin.auth import current_connection, get_salesforce, login_required
from panel.calls.events import identifier_problem
from panel.extensions import cache
from panel.salesforce import tasks
from panel.salesforce.errors import SalesforceRequestError, SalesforceUnavailable
from panel.salesforce.ids import is_record_id, record_type_of

bp = Blueprint("tasks", __name__, url_prefix="/panel")

SUBJECT_MAX = 255
NOTES_MAX = 32_000
RECENT_CALLS = 5
RELATED_CACHE_TTL_S = 300
NO_CALL = ""
# Salesforce field → form field, for the messages Salesforce attaches to a refused write.
_FORM_FIELDS = {"Subject": "subject", "Description": "notes", "ActivityDate": "due_date", "WhatId": "what_id"}
CALL_TYPE_LABELS = {"Inbound": _l("Inbound"), "Outbound": _l("Outbound"), "Internal": _l("Internal")}


class BadRequest(ValueError):
    """A parameter the panel's own pages never send wrong: 400 naming the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# -- request parsing ----------------------------------------------------------------------------------------------

def _record(record_id: str, source: Mapping) -> tuple[str, str]:
    """(record_type, record_id), checked: the type must be one the panel shows and fit the Id's key prefix."""
    record_type = (source.get("record_type") or "").strip()
    if record_type not in tasks.RECORD_TYPES:
        raise BadRequest("record_type", "record_type must be Contact, Lead or Account")
    if not is_record_id(record_id) or record_type_of(record_id) != record_type:
        raise BadRequest("record_id", f"record_id must be a {record_type} Id")
    return record_type, record_id


def _task_id(task_id: str) -> str:
    if not is_record_id(task_id) or task_id[:3] != "00T":
        raise BadRequest("task_id", "task_id must be a Task Id")
    return task_id


def _offset(source: Mapping) -> int:
    raw = (source.get("offset") or "0").strip()
    if not raw.isdigit() or int(raw) > tasks.queries.TASK_MAX_OFFSET:
        raise BadRequest("offset", f"offset must be a whole number up to {tasks.queries.TASK_MAX_OFFSET}")
    return int(raw)


def _active_call(source: Mapping, name: str = "call_id") -> str | None:
    """The call on now: the `call_id` parameter (`active_call_id` in forms), else the one in the panel's URL."""
    call_id = (source.get(name) or "").strip()
    if not call_id and name not in source:
        page = request.headers.get("HX-Current-URL") or ""
        call_id = (parse_qs(urlsplit(page).query).get("call_id") or [""])[0].strip()
    problem = identifier_problem(name, call_id)
    if problem:
        raise BadRequest(name, problem)
    return call_id or None


def _today() -> date:
    try:
        zone = ZoneInfo(current_app.config.get("PANEL_TIMEZONE") or "Asia/Tokyo")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return datetime.now(zone).date()


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
    if not values["subject"]:
        errors["subject"] = _l("Enter a subject.")
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


# -- context --------------------------------------------------------------------------------------------------------

def _call_choices(agent_email: str | None, record_id: str, active_call: str | None) -> list[tuple[str, str]]:
    """(value, label) for the "which call" select: the call on now, this record's recent calls, no call."""
    choices: list[tuple[str, str]] = []
    if active_call:
        choices.append((active_call, str(_l("The current call"))))
    for call in ledger.recent_calls(agent_email, record_id=record_id, limit=RECENT_CALLS) if agent_email else ():
        call_id = _attr(call, "call_id")
        if call_id and call_id != active_call:
            choices.append((call_id, _call_label(call)))
    choices.append((NO_CALL, str(_l("No call (open task)"))))
    return choices


def _attr(item, name: str):
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def _call_label(call) -> str:
    direction = {"inbound": _l("Inbound call"), "outbound": _l("Outbound call")}.get(
        (_attr(call, "direction") or "").lower(), _l("Call"))
    moment = _attr(call, "started_at") or _attr(call, "ringing_at") or _attr(call, "ended_at")
    if isinstance(moment, datetime):
        when = format_datetime(moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc), "short")
        return f"{direction} · {when}"
    return str(direction)


def _related(record_type: str, record_id: str) -> tuple[tasks.RelatedOption, ...]:
    """What a Task may be related to; kept a few minutes so a re-shown form needs no request."""
    if record_type == "Lead":
        return ()
    connection = current_connection()
    key = f"tasks:related:{connection.org_id}:{connection.user_id}:{record_id}"
    options = cache.get(key)
    if options is None:
        options = tasks.related_options(get_salesforce(), record_type, record_id)
        cache.set(key, options, timeout=RELATED_CACHE_TTL_S)
    return options


def _related_or_empty(record_type: str, record_id: str) -> tuple[tasks.RelatedOption, ...]:
    try:
        return _related(record_type, record_id)
    except (SalesforceUnavailable, SalesforceRequestError):
        return ()


def _urls(record_type: str, record_id: str, active_call: str | None) -> dict:
    params = dict(record_id=record_id, record_type=record_type)
    if active_call:
        params["call_id"] = active_call
    return dict(
        next_steps=url_for("tasks.next_steps", **params),
        past_activities=url_for("tasks.past_activities", **params),
        form=url_for("tasks.new_task", **params),
        form_closed=url_for("tasks.new_task", closed=1, **params),
        create=url_for("tasks.create_task", record_id=record_id),
    )


def _view_helpers() -> dict:
    return dict(due_label=_due_label, duration_label=_duration_label, moment_label=_moment_label,
                call_type_label=lambda value: CALL_TYPE_LABELS.get(value, value))


def _due_label(value: date | None) -> str:
    return format_date(value, "medium") if value else ""


def _moment_label(value: datetime | None) -> str:
    return format_datetime(value, "short") if value else ""


def _duration_label(seconds) -> str:
    if not isinstance(seconds, int) or seconds < 0:
        return ""
    minutes, rest = divmod(seconds, 60)
    if not minutes:
        return str(_l("%(seconds)d s", seconds=rest))
    return str(_l("%(minutes)d min %(seconds)d s", minutes=minutes, seconds=rest))


def _list_context(record_type: str, record_id: str, active_call: str | None, lists: tasks.TaskLists | None,
                  **extra) -> dict:
    """What the list templates read. `next_page` / `past_page` None means "not loaded": the list reloads itself."""
    instance_url = getattr(get_salesforce(), "instance_url", "") or ""
    urls = _urls(record_type, record_id, active_call)
    context = dict(record_type=record_type, record_id=record_id, call_id=active_call, urls=urls,
                   next_page=lists.next_steps if lists else None,
                   past_page=lists.past_activities if lists else None,
                   history_url=tasks.activity_history_url(instance_url, record_type, record_id)
                   if instance_url else None,
                   more_url=lambda page: _more_url(urls, page),
                   saved=False, oob=False, with_past=False, unavailable=False,
                   editing=None, task_errors={}, task_values={}, failure=None,
                   form=None, closed=True, with_stage=False, opportunities=None, **_view_helpers())
    context.update(extra)
    return context


def _more_url(urls: Mapping, page: tasks.TaskPage) -> str:
    base = urls["next_steps" if page.kind == "next_steps" else "past_activities"]
    return f"{base}&offset={page.next_offset}"


def _fragment(template: str, context: dict, status: int = 200, headers: Mapping | None = None):
    response = current_app.make_response((render_template(template, **context), status))
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _bad_request(error: BadRequest):
    return _fragment("partials/task_bad_request.html", dict(field=error.field, message=error.message), 400)


def _invalidate(record_id: str) -> None:
    lookup.invalidate_pop(current_connection().org_id, record_id=record_id)


# -- lists ----------------------------------------------------------------------------------------------------------

@bp.route("/records/<record_id>/tasks", methods=["GET"])
@login_required
def task_lists(record_id: str):
    """Both lists at once: the card's single lazy placeholder, one API request."""
    try:
        record_type, record_id = _record(record_id, request.args)
        active_call = _active_call(request.args)
    except BadRequest as error:
        return _bad_request(error)
    with_stage = request.args.get("stage") == "1" and record_type != "Lead"
    try:
        lists = tasks.load_lists(get_salesforce(), record_type, record_id, today=_today(), with_stage=with_stage)
    except SalesforceUnavailable:
        context = _list_context(record_type, record_id, active_call, None, unavailable=True, with_stage=with_stage,
                                opportunities=None)
        return _fragment("partials/task_lists.html", context, 503)
    context = _list_context(record_type, record_id, active_call, lists, with_stage=with_stage,
                            opportunities=lists.opportunities)
    return _fragment("partials/task_lists.html", context)


@bp.route("/records/<record_id>/next-steps", methods=["GET"])
@login_required
def next_steps(record_id: str):
    return _one_list("next_steps", record_id)


@bp.route("/records/<record_id>/past-activities", methods=["GET"])
@login_required
def past_activities(record_id: str):
    return _one_list("past_activities", record_id)


def _one_list(kind: str, record_id: str):
    try:
        record_type, record_id = _record(record_id, request.args)
        active_call = _active_call(request.args)
        offset = _offset(request.args)
    except BadRequest as error:
        return _bad_request(error)
    template = "partials/next_steps.html" if kind == "next_steps" else "partials/past_activities.html"
    try:
        page = tasks.load_page(get_salesforce(), kind, record_type, record_id, offset=offset, today=_today())
    except SalesforceUnavailable:
        context = _list_context(record_type, record_id, active_call, None, unavailable=True)
        return _fragment(template, context, 503)
    context = _list_context(record_type, record_id, active_call, None, page=page,
                            **{"next_page" if kind == "next_steps" else "past_page": page})
    return _fragment("partials/task_page.html" if offset else template, context)


def _lists_response(record_type: str, record_id: str, active_call: str | None, lists: tasks.TaskLists | None,
                    *, saved: bool):
    """The refreshed `#next-steps` (retargeted there, whatever the form aimed at) and `#past-activities` OOB."""
    context = _list_context(record_type, record_id, active_call, lists, saved=saved, with_past=True)
    return _fragment("partials/next_steps.html", context,
                     headers={"HX-Retarget": "#next-steps", "HX-Reswap": "outerHTML"})


def _reread(record_type: str, record_id: str) -> tasks.TaskLists | None:
    """Both lists after a write that could not bring them back itself; None leaves them to reload on their own."""
    try:
        return tasks.load_lists(get_salesforce(), record_type, record_id, today=_today())
    except (SalesforceUnavailable, SalesforceRequestError):
        return None


# -- the task form --------------------------------------------------------------------------------------------------

def _form_context(record_type: str, record_id: str, active_call: str | None, *, values: Mapping | None = None,
                  errors: Mapping | None = None, failure: str | None = None, closed: bool = False,
                  related: tuple = ()) -> dict:
    connection = current_connection()
    choices = [] if closed else _call_choices(getattr(connection, "email", None), record_id, active_call)
    defaults = {"subject": "", "notes": "", "due_date": "", "what_id": "",
                "call_id": active_call or NO_CALL}
    return dict(record_type=record_type, record_id=record_id, call_id=active_call,
                urls=_urls(record_type, record_id, active_call), closed=closed,
                form={**defaults, **(values or {})}, errors=dict(errors or {}), failure=failure,
                related=related, call_choices=choices,
                subject_max=SUBJECT_MAX, notes_max=NOTES_MAX)


@bp.route("/records/<record_id>/tasks/new", methods=["GET"])
@login_required
def new_task(record_id: str):
    try:
        record_type, record_id = _record(record_id, request.args)
        active_call = _active_call(request.args)
    except BadRequest as error:
        return _bad_request(error)
    closed = request.args.get("closed") in ("1", "true")
    related = () if closed else _related(record_type, record_id)
    return _fragment("partials/task_form.html",
                     _form_context(record_type, record_id, active_call, closed=closed, related=related))


@bp.route("/records/<record_id>/tasks", methods=["POST"])
@login_required
def create_task(record_id: str):
    try:
        record_type, record_id = _record(record_id, request.form)
        active_call = _active_call(request.form, "active_call_id")
    except BadRequest as error:
        return _bad_request(error)
    connection = current_connection()
    email = getattr(connection, "email", None)
    offered = {value for value, _label in _call_choices(email, record_id, active_call) if value}
    values, errors, status = validate_task(request.form, record_type=record_type, call_ids=offered)

    def form_again(errors: Mapping, status: int, failure: str | None = None):
        context = _form_context(record_type, record_id, active_call, values=values, errors=errors,
                                failure=failure, related=_related_or_empty(record_type, record_id))
        return _fragment("partials/task_form.html", context, status)

    if errors:
        return form_again(errors, status)
    who_id, what_id = tasks.who_and_what(record_type, record_id, values["what_id"] or None)
    client = get_salesforce()
    try:
        if values["call_id"]:
            text = values["subject"] + ("\n" + values["notes"] if values["notes"].strip() else "")
            ledger.add_call_note(client, org_id=connection.org_id, call_id=values["call_id"], agent_email=email,
                                   who_id=who_id, what_id=what_id, text=text, now=datetime.now(timezone.utc))
            lists = None
        else:
            _task_id, lists = tasks.create_open_task(
                client, record_type=record_type, record_id=record_id, related_id=values["what_id"] or None,
                subject=values["subject"], notes=values["notes"] or None,
                due_date=parse_due_date(values["due_date"]) if values["due_date"] else None,
                owner_id=connection.user_id, today=_today())
    except tasks.TaskRejected as rejected:
        return form_again(_rejection_errors(rejected), 422)
    except SalesforceUnavailable:
        return form_again({}, 503, failure=str(_UNREACHABLE))
    except SalesforceRequestError as refused:
        return form_again({}, 502, failure=_refused_message(refused))
    _invalidate(record_id)
    if lists is None:
        lists = _reread(record_type, record_id)
    return _lists_response(record_type, record_id, active_call, lists, saved=True)


_UNREACHABLE = _l("Salesforce is unreachable, so nothing was saved. Your text is still here: try again.")


def _refused_message(refused: SalesforceRequestError) -> str:
    return str(_l("Salesforce refused to save this (%(message)s). Your text is still here: change it or try again.",
                  message=refused.message))


def _rejection_errors(rejected: tasks.TaskRejected) -> dict:
    errors: dict = {}
    for problem in rejected.problems:
        key = _FORM_FIELDS.get(problem.field or "", "_form")
        errors[key] = (errors[key] + " " if key in errors else "") + problem.message
    return errors


# -- edit and mark done ---------------------------------------------------------------------------------------------

@bp.route("/tasks/<task_id>", methods=["POST"])
@login_required
def edit_task(task_id: str):
    try:
        task_id = _task_id(task_id)
        record_type, record_id = _record(request.form.get("record_id") or "", request.form)
        active_call = _active_call(request.form, "active_call_id")
    except BadRequest as error:
        return _bad_request(error)
    form = {name: request.form.get(name) for name in ("subject", "notes", "due_date")}
    values, errors, _status = validate_task(form, record_type=record_type, call_ids=set())

    def item_again(errors: Mapping, status: int, failure: str | None = None):
        typed = tasks.TaskItem(id=task_id, subject=values["subject"], description=values["notes"], status=None,
                               due_date=None, is_closed=request.form.get("closed") == "1", is_overdue=False)
        context = _list_context(record_type, record_id, active_call, None, editing=task_id, task_errors=errors,
                                task_values=values, failure=failure, task=typed)
        return _fragment("partials/task_item.html", context, status)

    if errors:
        return item_again(errors, 422)
    try:
        lists = tasks.update_task(get_salesforce(), task_id, record_type=record_type, record_id=record_id,
                                  subject=values["subject"], notes=values["notes"] or None,
                                  due_date=parse_due_date(values["due_date"]) if values["due_date"] else None,
                                  today=_today())
    except tasks.TaskRejected as rejected:
        return item_again(_rejection_errors(rejected), 422)
    except SalesforceUnavailable:
        return item_again({}, 503, failure=str(_UNREACHABLE))
    except SalesforceRequestError as refused:
        return item_again({}, 502, failure=_refused_message(refused))
    _invalidate(record_id)
    return _lists_response(record_type, record_id, active_call, lists or _reread(record_type, record_id),
                           saved=True)


@bp.route("/tasks/<task_id>/done", methods=["POST"])
@login_required
def mark_done(task_id: str):
    try:
        task_id = _task_id(task_id)
        record_type, record_id = _record(request.form.get("record_id") or "", request.form)
        active_call = _active_call(request.form, "active_call_id")
    except BadRequest as error:
        return _bad_request(error)
    try:
        lists = tasks.mark_done(get_salesforce(), task_id, record_type=record_type, record_id=record_id,
                                today=_today())
    except tasks.TaskRejected as rejected:
        message = " ".join(p.message for p in rejected.problems)
        return _action_failed(task_id, str(_l("Salesforce refused to mark this task done: %(message)s",
                                              message=message)), 422)
    except SalesforceUnavailable:
        return _action_failed(task_id, str(_l("Salesforce is unreachable, so the task is not marked done yet. "
                                              "Try again.")), 503)
    except SalesforceRequestError as refused:
        return _action_failed(task_id, str(_l("Salesforce refused to mark this task done: %(message)s",
                                              message=refused.message)), 502)
    _invalidate(record_id)
    return _lists_response(record_type, record_id, active_call, lists or _reread(record_type, record_id),
                           saved=False)


def _action_failed(task_id: str, message: str, status: int):
    """A mark-done that did not happen: the message goes next to that task's buttons, the list stays as it is
    (the button's form aims at the whole list, so the answer is retargeted)."""
    return _fragment("partials/task_action_error.html", dict(task_id=task_id, message=message), status,
                     headers={"HX-Retarget": f"#task-error-{task_id}", "HX-Reswap": "outerHTML"})
