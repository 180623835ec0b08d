"""Screen-pop views: the pop itself, picking a record, quick-create and the manual search.

URL contract (dialer vendors and tests rely on it):

- `GET /panel?phone=<number>&call_id=<id>&direction=inbound|outbound` — the panel for a call; the full page, or
  with `HX-Request` the `#pop` fragment (`Vary: HX-Request`). Served through `show_pop`, which the sidebar's
  `/panel` view calls when a `phone` parameter is present.
- `POST /panel/pick` (`record_id`, `phone`, optional `record_type`, `call_id`) — remember the caller, show the card.
- `POST /panel/records` (`record_type` Lead|Contact, `LastName`, `FirstName`, `Company`, `Title`, `Email`,
  `Phone`) — quick-create, then show the new record's card.
- `GET /panel/search?q=<text>&phone=<number>` — the manual search's `#search-results` fragment.

Every response is a page or a fragment a person can act on: Salesforce failures become the error or stale state
(see panel.callers.lookup), bad input a 400/422 naming the field.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from panel.calls import ledger
from panel.callers import lookup, picks
from panel.i18n import local_time
from panel.signin.auth import current_connection, get_salesforce, login_required
from panel.calls.events import identifier_problem
from panel.phone import display, is_withheld, parse_caller, same_caller
from panel.salesforce.errors import SalesforceRequestError, SalesforceUnavailable
from panel.salesforce.ids import is_record_id

bp = Blueprint("pop", __name__, url_prefix="/panel")

MAX_PHONE_LENGTH = 100
MAX_SEARCH_LENGTH = 100
DIRECTIONS = ("inbound", "outbound")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+$")

TYPE_LABELS = {"Contact": _l("Contact"), "Account": _l("Account"), "Lead": _l("Lead")}
PHONE_LABELS = {"Phone": _l("Phone"), "MobilePhone": _l("Mobile"), "HomePhone": _l("Home"),
                "OtherPhone": _l("Other phone"), "AssistantPhone": _l("Assistant")}
QUICK_CREATE_TYPES = ("Lead", "Contact")
# (form field = Salesforce field, label, input type, required for, max length). "Required for" drives both the
# server-side check (the source of truth) and the form's marker and `required` attribute, which follow the chosen
# record type (rendered for the chosen type, then switched by static/js/panel.js when the radio changes).
QUICK_CREATE_FIELDS = (
    ("LastName", _l("Last name"), "text", ("Lead", "Contact"), 80),
    ("FirstName", _l("First name"), "text", (), 40),
    ("Company", _l("Company"), "text", ("Lead",), 255),
    ("Title", _l("Title"), "text", (), 128),
    ("Email", _l("E-mail"), "email", (), 80),
    ("Phone", _l("Phone"), "tel", ("Lead", "Contact"), 40),
)


class BadInput(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# -- who and how --------------------------------------------------------------------------------------------------

def current_agent() -> lookup.Agent:
    return lookup.Agent.of(current_connection())


def _is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def _call_params(source) -> dict:
    """call_id and direction, checked: both optional, both echoed into every link and form of the pop."""
    call_id = (source.get("call_id") or "").strip()
    direction = (source.get("direction") or "").strip().lower()
    problem = identifier_problem("call_id", call_id)
    if problem:
        raise BadInput("call_id", problem)
    if direction and direction not in DIRECTIONS:
        raise BadInput("direction", "direction must be inbound or outbound")
    return {"call_id": call_id or None, "direction": direction or None}


def _phone_param(source) -> str:
    phone = source.get("phone") or ""
    if len(phone) > MAX_PHONE_LENGTH:
        raise BadInput("phone", f"phone is longer than {MAX_PHONE_LENGTH} characters")
    return phone


# -- rendering ----------------------------------------------------------------------------------------------------

def _panel_url(**params) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return url_for("sidebar.show_panel") + ("?" + query if query else "")


def task_list_url(card, kind: str = "tasks", call_id: str | None = None) -> str:
    """Where the Tasks feature serves a card's lists (`tasks`: both in one Salesforce request).

    The call rides along so the task form under the card defaults to it even when the panel's own URL does not
    name the call. `stage=1` asks the lists to bring the opportunity stage of a card the search alone found (in
    the same Salesforce request).
    """
    endpoint = {"tasks": "tasks.task_lists", "next-steps": "tasks.next_steps",
                "past-activities": "tasks.past_activities"}[kind]
    params = {"record_type": card.record_type, **({"call_id": call_id} if call_id else {})}
    if kind == "tasks" and not getattr(card, "opportunities_known", True) and card.record_type != "Lead":
        params["stage"] = "1"
    return url_for(endpoint, record_id=card.record_id, **params)


def _context(pop: lookup.PopResult | None, *, call_id=None, direction=None, **extra) -> dict:
    phone = pop.raw_phone if pop else extra.get("search_phone") or ""
    region = current_app.config.get("PANEL_DEFAULT_REGION") or "JP"
    context = dict(
        pop=pop, call_id=call_id, direction=direction,
        urls=dict(retry=_panel_url(phone=phone, call_id=call_id, direction=direction),
                  choose=_panel_url(phone=phone, call_id=call_id, direction=direction, choose=1),
                  refresh=_panel_url(phone=phone, call_id=call_id, direction=direction, refresh=1),
                  pick=url_for("pop.pick"), create=url_for("pop.create"), search=url_for("pop.search")),
        local_time=local_time, task_list_url=task_list_url, phone_lines=lookup.phone_lines,
        display_number=lambda number: display(number, region),
        type_label=lambda name: TYPE_LABELS.get(name, name), phone_label=lambda name: PHONE_LABELS.get(name, name),
        quick_create_fields=[(name, label, kind, required_for) for name, label, kind, required_for, _ in
                             QUICK_CREATE_FIELDS],
        record_types=QUICK_CREATE_TYPES,
        form=_default_form(pop), errors={}, results=None, search_error=None, search_text="",
        search_phone=phone,
    )
    context.update(extra)
    return context


def _default_form(pop: lookup.PopResult | None) -> dict:
    number = pop.number if pop else None
    region = current_app.config.get("PANEL_DEFAULT_REGION") or "JP"
    return {"record_type": "Lead", "Phone": display(number, region) if number else ""}


def _respond(context: dict, status: int = 200):
    """The `#pop` fragment for htmx, else the whole panel page with the pop in it."""
    template = "partials/pop.html" if _is_htmx() else "pop_page.html"
    response = current_app.make_response((render_template(template, **context), status))
    response.vary.add("HX-Request")
    return response


def _bad_request(error: BadInput):
    response = current_app.make_response((render_template(
        "partials/pop_bad_request.html", field=error.field, message=error.message), 400))
    response.vary.add("HX-Request")
    return response


# -- views --------------------------------------------------------------------------------------------------------

def show_pop():
    """`GET /panel?phone=…`: the pop for a call (called by the sidebar's /panel view when `phone` is given)."""
    try:
        phone = _phone_param(request.args)
        call = _call_params(request.args)
    except BadInput as error:
        return _bad_request(error)
    choose = request.args.get("choose") in ("1", "true")
    refresh = request.args.get("refresh") in ("1", "true")
    pop = lookup.pop(current_agent(), phone, get_salesforce, choose=choose, refresh=refresh)
    return _respond(_context(pop, **call))


@bp.route("/pick", methods=["POST"])
@login_required
def pick():
    try:
        phone = _phone_param(request.form)
        call = _call_params(request.form)
        record_id = (request.form.get("record_id") or "").strip()
        if not is_record_id(record_id):
            raise BadInput("record_id", "record_id must be a 15- or 18-character Salesforce Id")
        record_type = request.form.get("record_type") or None
        if record_type is not None and record_type not in TYPE_LABELS:
            raise BadInput("record_type", "record_type must be Contact, Account or Lead")
    except BadInput as error:
        return _bad_request(error)
    agent = current_agent()
    pop = lookup.pick_record(agent, phone, record_id, get_salesforce, call_id=call["call_id"])
    if pop is None:
        pop = _picked_from_search(agent, phone, record_id, record_type, call["call_id"])
    if pop is None:
        return _bad_request(BadInput("record_id", "that record is not one of this number's matches"))
    return _respond(_context(pop, **call))


def _picked_from_search(agent, phone, record_id, record_type, call_id) -> lookup.PopResult | None:
    """A record found by the manual search: show its card, and remember it for the number when there is one."""
    if record_type is None:
        return None
    try:
        card = lookup.card_for_record(get_salesforce, record_type, record_id, agent)
    except SalesforceUnavailable:
        return lookup.PopResult("unavailable", phone, failure="unreachable")
    if card is None:
        return None
    region = current_app.config.get("PANEL_DEFAULT_REGION") or "JP"
    number = None if is_withheld(phone) else parse_caller(phone, region)
    if number is not None and any(same_caller(number, stored, region) for stored in card.phones.values() if stored):
        picks.remember_pick(agent.org_id, number.e164, record_id=card.record_id, record_type=card.record_type,
                            user_id=agent.user_id, user_name=agent.name, call_id=call_id)
    elif call_id:
        # The record does not have the caller's number, so it answers nothing for the next call from it (and must
        # not replace that number's pick); the call itself is still logged against it.
        ledger.remember_call_pick(call_id, record_id=card.record_id, record_type=card.record_type,
                                    user_id=agent.user_id)
    return lookup.PopResult("card", phone, number, cards=(card,), card=card)


@bp.route("/records", methods=["POST"])
@login_required
def create():
    try:
        call = _call_params(request.form)
    except BadInput as error:
        return _bad_request(error)
    form = {name: (request.form.get(name) or "").strip() for name, *_ in QUICK_CREATE_FIELDS}
    form["record_type"] = request.form.get("record_type") or ""
    region = current_app.config.get("PANEL_DEFAULT_REGION") or "JP"
    errors, values = _validate_new_record(form, region)
    number = parse_caller(form["Phone"], region) if form["Phone"] else None
    status = 422
    if not errors:
        try:
            card = lookup.quick_create(get_salesforce, current_agent(), form["record_type"], values)
        except lookup.CreateRejected as rejected:
            errors = _rejection_errors(rejected)
        except SalesforceUnavailable:
            errors = {"_record": _l("Salesforce is unreachable; nothing was created. Try again in a moment.")}
            status = 503
        except SalesforceRequestError as refused:  # a refusal of the request itself, not of the record's fields
            errors = {"_record": _l("Salesforce refused the request: %(message)s", message=refused.message)}
            status = 502
        else:
            pop = lookup.PopResult("card", form["Phone"], number, cards=(card,), card=card)
            return _respond(_context(pop, **call), 201)
    pop = lookup.PopResult("no_match", form["Phone"], number)
    return _respond(_context(pop, form=form, errors=errors, **call), status)


def _validate_new_record(form: dict, region: str) -> tuple[dict, dict]:
    """(errors by field, Salesforce field values). The phone is stored the way people in its region write it."""
    errors: dict = {}
    record_type = form["record_type"]
    if record_type not in QUICK_CREATE_TYPES:
        errors["record_type"] = _l("Choose Lead or Contact.")
    for name, label, _kind, required_for, max_length in QUICK_CREATE_FIELDS:
        value = form.get(name, "")
        if not value and record_type in required_for:
            errors[name] = _l("%(field)s is required.", field=label)
        elif len(value) > max_length:
            errors[name] = _l("%(field)s is longer than %(max)d characters.", field=label, max=max_length)
    if form["Email"] and "Email" not in errors and not _EMAIL.match(form["Email"]):
        errors["Email"] = _l("This is not an e-mail address.")
    if record_type == "Contact" and form.get("Company") and "Company" not in errors:
        # A Contact's company is its Account, which quick-create does not pick: say so rather than drop the text.
        errors["Company"] = _l("A contact's company is its account: create a Lead, or leave the company empty.")
    values = {name: form[name] for name, *_ in QUICK_CREATE_FIELDS if form.get(name)}
    if record_type != "Lead":
        values.pop("Company", None)
    if form["Phone"] and "Phone" not in errors:
        number = None if is_withheld(form["Phone"]) else parse_caller(form["Phone"], region)
        if number is None:
            errors["Phone"] = _l("This is not a phone number.")
        else:
            values["Phone"] = display(number, region)
    return errors, values


def _rejection_errors(rejected: lookup.CreateRejected) -> dict:
    known = {name for name, *_ in QUICK_CREATE_FIELDS}
    errors: dict = {}
    for problem in rejected.problems:
        key = problem.field if problem.field in known else "_record"
        errors[key] = (errors[key] + " " if key in errors else "") + problem.message
    return errors


@bp.route("/search", methods=["GET"])
@login_required
def search():
    try:
        phone = _phone_param(request.args)
        call = _call_params(request.args)
        text = request.args.get("q") or ""
        if len(text) > MAX_SEARCH_LENGTH:
            raise BadInput("q", f"the search text is longer than {MAX_SEARCH_LENGTH} characters")
    except BadInput as error:
        return _bad_request(error)
    extra = dict(search_text=text, search_phone=phone, results=None)
    status = 200
    try:
        extra["results"] = lookup.manual_search(get_salesforce, text, current_agent())
    except ValueError:
        extra["search_error"] = _l("Type at least two characters.")
        status = 422
    except SalesforceUnavailable:
        extra["search_error"] = _l("Salesforce is unreachable right now. Try again in a moment.")
        status = 503
    context = _context(None, **call, **extra)
    response = current_app.make_response((render_template("partials/search_results.html", **context), status))
    response.vary.add("HX-Request")
    return response
