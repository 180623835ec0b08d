"""Tasks under the card: next steps, past activities, and the task form (before, during or after a call).

URL contract (htmx fragments; each returns one template with one stable root id):

- `GET  /panel/records/<id>/tasks?record_type=…[&stage=1]` — both lists in one API request (`#task-lists`);
  `stage=1` (a card the screen pop's search alone found) also reads the card's opportunities in that request and
  swaps the card's `#card-stage` out of band.
- `GET  /panel/records/<id>/next-steps?record_type=…[&offset=N]` — `#next-steps` (offset 0), or one more page of
  items (`partials/task_list_page.html`) for the "more" link. `…/past-activities` likewise (`#past-activities`).
- `GET  /panel/records/<id>/tasks/new?record_type=…[&call_id=…]` — the open `#task-form`; `closed=1` folds it.
- `POST /panel/records/<id>/tasks` — create. No call: an open Task (Not Started, the agent's), answered with the
  refreshed `#next-steps` (HX-Retarget) and `#past-activities` out of band. A call: the note goes to that call's
  Task through `panel.calls.notes.add_call_note` (one Task per call ID, closed by the call's end; the subject, which
  is optional then, becomes the Task's subject and the notes its description), accepted only
  from the agent the call's events name: anyone else gets the form again with the reason at the call (403), and
  a call no event has named yet 409 (`panel.calls.ledger.may_act_on_call`); nothing is written either way.
  Invalid input: the form again with every typed value and a message per field (422; 400 for a relation the
  form does not offer, e.g. a Lead's related-to); Salesforce unreachable: the same, 503, with a retry.
- `POST /panel/tasks/<task_id>` — edit subject, notes, due date. `POST /panel/tasks/<task_id>/done` — mark done.
  Both post the record the item sits under (`record_id`, `record_type`) and change the Task only when it is one
  of that record's (403 and nothing changed otherwise, checked in the write's own API request). Both answer with
  the refreshed lists; an invalid edit re-renders that item's form (422).

`call_id` (the active call, from the dialer) rides along on every list and form URL so the form can default to it;
without the parameter it is read from the panel page's own URL (htmx's `HX-Current-URL`). Every write drops the
record's cached card (`panel.callers.lookup.invalidate_pop`). CSRF: every POST goes through flask-wtf's CSRFProtect.
The form and the parameters are checked in `panel.tasks.forms`; a parameter the panel's pages never send wrong is a
400 naming it (`partials/task_bad_request.html`).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Mapping
from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, request, url_for
from flask_babel import format_date, format_datetime
from flask_babel import lazy_gettext as _l

from panel import web
from panel.callers import lookup
from panel.calls import jobs, ledger, notes
from panel.calls.events import identifier_problem
from panel.extensions import cache
from panel.i18n import panel_zone
from panel.salesforce import tasks
from panel.salesforce.errors import SalesforceRequestError, SalesforceUnavailable
from panel.signin.session import current_connection, get_salesforce, login_required
from panel.tasks import forms
from panel.tasks.forms import due_date_of, offset_param, record_param, task_id_param, validate_task
from panel.web import BadInput

bp = Blueprint("tasks", __name__, url_prefix="/panel")
bp.register_error_handler(BadInput, web.bad_input_handler("partials/task_bad_request.html"))

RECENT_CALLS = 5
RELATED_CACHE_TTL_S = 300
CALL_TYPE_LABELS = {"Inbound": _l("Inbound"), "Outbound": _l("Outbound"), "Internal": _l("Internal")}
_UNREACHABLE = _l("Salesforce is unreachable, so nothing was saved. Your text is still here: try again.")
_NOT_ON_RECORD = _l("This task is not one of this record's tasks, so nothing was changed.")


# -- request parsing ----------------------------------------------------------------------------------------------

def _active_call(source: Mapping, name: str = "call_id") -> str | None:
    """The call on now: the `call_id` parameter (`active_call_id` in forms), else the one in the panel's URL."""
    call_id = (source.get(name) or "").strip()
    if not call_id and name not in source:
        try:
            page = parse_qs(urlsplit(request.headers.get("HX-Current-URL") or "").query)
        except ValueError:  # not a URL (the header is the browser's to send): no call named there
            page = {}
        call_id = (page.get("call_id") or [""])[0].strip()
    problem = identifier_problem(name, call_id)
    if problem:
        raise BadInput(name, problem)
    return call_id or None


def _posted_record() -> tuple[str, str, str | None]:
    """(record_type, record_id, active call) of a form posted from under a card."""
    record_type, record_id = record_param(request.form.get("record_id") or "", request.form)
    return record_type, record_id, _active_call(request.form, "active_call_id")


def _today() -> date:
    return datetime.now(panel_zone()).date()


# -- context --------------------------------------------------------------------------------------------------------

def _call_choices(agent_email: str | None, record_id: str, active_call: str | None) -> list[tuple[str, str]]:
    recent = ledger.recent_calls(agent_email, record_id=record_id, limit=RECENT_CALLS) if agent_email else ()
    return forms.call_choices(active_call, recent, _call_moment)


def _call_moment(moment: datetime) -> str:
    return format_datetime(moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc), "short")


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
                   form=None, closed=True, with_stage=False, opportunities=None, refused=None, **_view_helpers())
    context.update(extra)
    return context


def _more_url(urls: Mapping, page: tasks.TaskPage) -> str:
    base = urls["next_steps" if page.kind == "next_steps" else "past_activities"]
    return f"{base}&offset={page.next_offset}"


def _invalidate(record_id: str) -> None:
    lookup.invalidate_pop(current_connection().org_id, record_id=record_id)


def _refusal(error: Exception) -> web.Refusal:
    """A write Salesforce did not take, for the form that wrote it (what was typed stays in the form)."""
    return web.refusal(error, forms.SALESFORCE_FIELDS, unreachable=_UNREACHABLE, refused=lambda message: _l(
        "Salesforce refused to save this (%(message)s). Your text is still here: change it or try again.",
        message=message))


# -- lists ----------------------------------------------------------------------------------------------------------

@bp.route("/records/<record_id>/tasks", methods=["GET"])
@login_required
def task_lists(record_id: str):
    """Both lists at once, one API request: `partials/task_lists.html` (`#task-lists`), the card's single lazy
    placeholder; with `stage=1` also the card's `#card-stage` out of band. 503 (lists that reload themselves) when
    Salesforce is unreachable."""
    record_type, record_id = record_param(record_id, request.args)
    active_call = _active_call(request.args)
    with_stage = request.args.get("stage") == "1" and record_type != "Lead"
    try:
        lists = tasks.load_lists(get_salesforce(), record_type, record_id, today=_today(), with_stage=with_stage)
    except SalesforceUnavailable:
        context = _list_context(record_type, record_id, active_call, None, unavailable=True, with_stage=with_stage,
                                opportunities=None)
        return web.render("partials/task_lists.html", context, 503)
    context = _list_context(record_type, record_id, active_call, lists, with_stage=with_stage,
                            opportunities=lists.opportunities)
    return web.render("partials/task_lists.html", context)


@bp.route("/records/<record_id>/next-steps", methods=["GET"])
@login_required
def next_steps(record_id: str):
    """`partials/next_steps.html` (`#next-steps`), or with `offset` one more page of it
    (`partials/task_list_page.html`)."""
    return _one_list("next_steps", record_id)


@bp.route("/records/<record_id>/past-activities", methods=["GET"])
@login_required
def past_activities(record_id: str):
    """`partials/past_activities.html` (`#past-activities`), or with `offset` one more page of it
    (`partials/task_list_page.html`)."""
    return _one_list("past_activities", record_id)


def _one_list(kind: str, record_id: str):
    record_type, record_id = record_param(record_id, request.args)
    active_call = _active_call(request.args)
    offset = offset_param(request.args)
    template = "partials/next_steps.html" if kind == "next_steps" else "partials/past_activities.html"
    try:
        page = tasks.load_page(get_salesforce(), kind, record_type, record_id, offset=offset, today=_today())
    except SalesforceUnavailable:
        context = _list_context(record_type, record_id, active_call, None, unavailable=True)
        return web.render(template, context, 503)
    context = _list_context(record_type, record_id, active_call, None, page=page,
                            **{"next_page" if kind == "next_steps" else "past_page": page})
    return web.render("partials/task_list_page.html" if offset else template, context)


def _lists_response(record_type: str, record_id: str, active_call: str | None, lists: tasks.TaskLists | None,
                    *, saved: bool):
    """The refreshed `#next-steps` (retargeted there, whatever the form aimed at) and `#past-activities` OOB:
    `partials/next_steps.html` with the past activities inside."""
    context = _list_context(record_type, record_id, active_call, lists, saved=saved, with_past=True)
    return web.render("partials/next_steps.html", context,
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
                  related: tuple = (), refused: str | None = None) -> dict:
    """What `partials/task_form.html` reads; `refused` is why the chosen call took nothing (ledger.CallRefused)."""
    connection = current_connection()
    choices = [] if closed else _call_choices(getattr(connection, "email", None), record_id, active_call)
    return dict(record_type=record_type, record_id=record_id, call_id=active_call,
                urls=_urls(record_type, record_id, active_call), closed=closed,
                form={**forms.defaults(active_call), **(values or {})}, errors=dict(errors or {}), failure=failure,
                related=related, call_choices=choices, refused=refused,
                subject_max=forms.SUBJECT_MAX, notes_max=forms.NOTES_MAX)


@bp.route("/records/<record_id>/tasks/new", methods=["GET"])
@login_required
def new_task(record_id: str):
    """`partials/task_form.html` (`#task-form`): open, or folded into its button with `closed=1`."""
    record_type, record_id = record_param(record_id, request.args)
    active_call = _active_call(request.args)
    closed = request.args.get("closed") in ("1", "true")
    related = () if closed else _related(record_type, record_id)
    return web.render("partials/task_form.html",
                      _form_context(record_type, record_id, active_call, closed=closed, related=related))


@bp.route("/records/<record_id>/tasks", methods=["POST"])
@login_required
def create_task(record_id: str):
    """An open Task, or a note on a call's Task: the refreshed lists (`_lists_response`), or
    `partials/task_form.html` again with what was typed and why it was refused (422, 400, 503, 502)."""
    record_type, record_id = record_param(record_id, request.form)
    active_call = _active_call(request.form, "active_call_id")
    connection = current_connection()
    email = getattr(connection, "email", None)
    offered = {value for value, _label in _call_choices(email, record_id, active_call) if value}
    values, errors, status = validate_task(request.form, record_type=record_type, call_ids=offered)

    def form_again(errors: Mapping, status: int, failure: str | None = None, refused: str | None = None):
        context = _form_context(record_type, record_id, active_call, values=values, errors=errors,
                                failure=failure, related=_related_or_empty(record_type, record_id), refused=refused)
        return web.render("partials/task_form.html", context, status)

    if errors:
        return form_again(errors, status)
    who_id, what_id = tasks.who_and_what(record_type, record_id, values["what_id"] or None)
    client = get_salesforce()
    try:
        if values["call_id"]:
            notes.add_call_note(client, jobs.call_settings(), agent=connection, call_id=values["call_id"],
                                who_id=who_id, what_id=what_id, text=values["notes"], subject=values["subject"],
                                now=datetime.now(timezone.utc))
            lists = None
        else:
            _task_id, lists = tasks.create_open_task(
                client, record_type=record_type, record_id=record_id, related_id=values["what_id"] or None,
                subject=values["subject"], notes=values["notes"] or None, due_date=due_date_of(values),
                owner_id=connection.user_id, today=_today(), statuses=jobs.call_settings().task_statuses)
    except ledger.CallRefused as refused:
        return form_again({}, refused.status, refused=refused.reason)
    except (tasks.TaskRejected, *web.SALESFORCE_FAILURES) as error:
        refused = _refusal(error)
        return form_again(refused.errors, refused.status, refused.failure)
    _invalidate(record_id)
    if lists is None:
        lists = _reread(record_type, record_id)
    return _lists_response(record_type, record_id, active_call, lists, saved=True)


# -- edit and mark done ---------------------------------------------------------------------------------------------

@bp.route("/tasks/<task_id>", methods=["POST"])
@login_required
def edit_task(task_id: str):
    """Subject, notes and due date of an open Task: the refreshed lists (`_lists_response`), or that item's form
    again (`partials/task_item.html`, 422, 503, 502)."""
    task_id = task_id_param(task_id)
    record_type, record_id, active_call = _posted_record()
    form = {name: request.form.get(name) for name in ("subject", "notes", "due_date")}
    values, errors, _status = validate_task(form, record_type=record_type, call_ids=set())

    def item_again(errors: Mapping, status: int, failure: str | None = None, refused: str | None = None):
        typed = tasks.TaskItem(id=task_id, subject=values["subject"], description=values["notes"], status=None,
                               due_date=None, is_closed=request.form.get("closed") == "1", is_overdue=False)
        context = _list_context(record_type, record_id, active_call, None, editing=task_id, task_errors=errors,
                                task_values=values, failure=failure, task=typed, refused=refused)
        return web.render("partials/task_item.html", context, status)

    if errors:
        return item_again(errors, 422)
    try:
        lists = tasks.update_task(get_salesforce(), task_id, record_type=record_type, record_id=record_id,
                                  subject=values["subject"], notes=values["notes"] or None,
                                  due_date=due_date_of(values), today=_today())
    except tasks.TaskNotOnRecord:
        return item_again({}, 403, failure=str(_NOT_ON_RECORD), refused="not_on_record")
    except (tasks.TaskRejected, *web.SALESFORCE_FAILURES) as error:
        refused = _refusal(error)
        return item_again(refused.errors, refused.status, refused.failure)
    _invalidate(record_id)
    return _lists_response(record_type, record_id, active_call, lists or _reread(record_type, record_id),
                           saved=True)


@bp.route("/tasks/<task_id>/done", methods=["POST"])
@login_required
def mark_done(task_id: str):
    """The refreshed lists (`_lists_response`), or why the Task is not done yet next to its buttons
    (`partials/task_action_error.html`, 422, 503, 502)."""
    task_id = task_id_param(task_id)
    record_type, record_id, active_call = _posted_record()
    try:
        lists = tasks.mark_done(get_salesforce(), task_id, record_type=record_type, record_id=record_id,
                                today=_today(), statuses=jobs.call_settings().task_statuses)
    except tasks.TaskNotOnRecord:
        return _action_failed(task_id, str(_NOT_ON_RECORD), 403)
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
    return web.render("partials/task_action_error.html", dict(task_id=task_id, message=message), status,
                      headers={"HX-Retarget": f"#task-error-{task_id}", "HX-Reswap": "outerHTML"})
