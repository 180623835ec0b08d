"""Screen-pop views: the pop itself, picking a record, quick-create and the manual search.

URL contract (dialer vendors and tests rely on it):

- `GET /panel?phone=<number>&call_id=<id>&direction=inbound|outbound` — the panel for a call; the full page
  (`pop_page.html`), or with `HX-Request` the `#pop` fragment (`partials/pop.html`), `Vary: HX-Request`. Served
  through `show_pop`, which the sidebar's `/panel` view calls when a `phone` parameter is present.
- `POST /panel/pick` (`record_id`, `phone`, optional `record_type`, `call_id`) — remember the caller, show the card.
- `POST /panel/records` (`record_type` Lead|Contact, `LastName`, `FirstName`, `Company`, `Title`, `Email`,
  `Phone`, optional `call_id`, `allow_duplicates=1`) — quick-create, then show the new record's card; with a call,
  the call is logged against the new record. When the org's duplicate rules match existing records, those are
  offered instead (each through `POST /panel/pick`), and where the rules only alert, "create anyway" re-posts the
  form with `allow_duplicates=1`.
- `GET /panel/search?q=<text>&phone=<number>` — the manual search's `#search-results` fragment.
- `GET /panel/calls/<call_id>/status[?n=<polls so far>]` — where the signed-in agent's ended call went
  (`partials/call_outcome.html`, root `#call-outcome`: logged with the Task's subject and a link to it, waiting for a
  reviewer and why, waiting for Salesforce since when, not logged and why). Until the call is final the fragment
  asks again by itself (panel.pop.outcome says when). Only the agent the call's events name sees it: anyone else
  403, with nothing about the call; a call no event has named yet reads as "being logged" until it is reported.

Every response is a page or a fragment a person can act on: Salesforce failures become the error or stale state
(see panel.callers.lookup), bad input a 400 (`partials/pop_bad_request.html`, keeping the `#pop` root) or a 422
naming the field.

A pick or a new record tied to a call (`call_id`) is accepted only from the agent the call's events name
(`panel.calls.ledger.may_act_on_call`); anyone else gets 403, and a call no event has named yet 409, with nothing
saved. Showing the pop for a call costs nothing and stays open to anyone signed in.
"""

from __future__ import annotations

from typing import Mapping
from urllib.parse import urlencode

from flask import Blueprint, request, url_for
from flask_babel import lazy_gettext as _l

from panel import web
from panel.callers import lookup, new_record, picks
from panel.calls import ledger
from panel.pop import outcome as call_outcomes
from panel.calls.events import identifier_problem
from panel.i18n import local_time
from panel.phone import PhoneNumber, display, is_withheld, parse_caller, same_caller
from panel.salesforce import call_tasks
from panel.salesforce.contacts import lightning_url
from panel.salesforce.errors import SalesforceRequestError, SalesforceUnavailable
from panel.salesforce.ids import is_record_id
from panel.signin.session import current_connection, get_salesforce, login_required
from panel.web import BadInput

bp = Blueprint("pop", __name__, url_prefix="/panel")

MAX_PHONE_LENGTH = 100
MAX_SEARCH_LENGTH = 100
DIRECTIONS = ("inbound", "outbound")

TYPE_LABELS = {"Contact": _l("Contact"), "Account": _l("Account"), "Lead": _l("Lead")}
PHONE_LABELS = {"Phone": _l("Phone"), "MobilePhone": _l("Mobile"), "HomePhone": _l("Home"),
                "OtherPhone": _l("Other phone"), "AssistantPhone": _l("Assistant")}
# A person account's own phones (Person Accounts) read as its person contact's.
PHONE_LABELS.update({f"Person{name}": label for name, label in PHONE_LABELS.items() if name != "Phone"})
# Salesforce's field → the quick-create input showing its message: the form's fields are Salesforce's own.
_CREATE_FIELDS = {field.name: field.name for field in new_record.FIELDS}

bad_request = web.bad_input_handler("partials/pop_bad_request.html")
bp.register_error_handler(BadInput, bad_request)


# -- who, how and with which settings -----------------------------------------------------------------------------

def current_agent() -> lookup.Agent:
    return lookup.Agent.of(current_connection())


def pop_settings() -> lookup.PopSettings:
    """The pop's settings, read once from the app's config (panel.web.app_settings)."""
    return web.app_settings(lookup.PopSettings.from_config)


def _call_params(source: Mapping) -> dict:
    """call_id and direction, checked: both optional, both echoed into every link and form of the pop."""
    call_id = (source.get("call_id") or "").strip()
    direction = (source.get("direction") or "").strip().lower()
    problem = identifier_problem("call_id", call_id)
    if problem:
        raise BadInput("call_id", problem)
    if direction and direction not in DIRECTIONS:
        raise BadInput("direction", "direction must be inbound or outbound")
    return {"call_id": call_id or None, "direction": direction or None}


def _may_bind(call: Mapping) -> None:
    """Raises `ledger.CallRefused` unless the signed-in agent may tie something to the request's call (if any)."""
    if call["call_id"]:
        ledger.may_act_on_call(call["call_id"], current_connection())


def _phone_param(source: Mapping) -> str:
    phone = source.get("phone") or ""
    if len(phone) > MAX_PHONE_LENGTH:
        raise BadInput("phone", f"phone is longer than {MAX_PHONE_LENGTH} characters")
    return phone


def _picked_record(source: Mapping) -> tuple[str, str | None]:
    """(record_id, record_type or None) of a pick: the type comes with a record the manual search found."""
    record_id = (source.get("record_id") or "").strip()
    if not is_record_id(record_id):
        raise BadInput("record_id", "record_id must be a 15- or 18-character Salesforce Id")
    record_type = source.get("record_type") or None
    if record_type is not None and record_type not in TYPE_LABELS:
        raise BadInput("record_type", "record_type must be Contact, Account or Lead")
    return record_id, record_type


def _search_text(source: Mapping) -> str:
    text = source.get("q") or ""
    if len(text) > MAX_SEARCH_LENGTH:
        raise BadInput("q", f"the search text is longer than {MAX_SEARCH_LENGTH} characters")
    return text


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


def _context(pop: lookup.PopResult | None, settings: lookup.PopSettings, *, call_id=None, direction=None,
             **extra) -> dict:
    phone = pop.raw_phone if pop else extra.get("search_phone") or ""
    region = settings.region
    number = pop.number if pop else None
    context = dict(
        pop=pop, call_id=call_id, direction=direction,
        urls=dict(retry=_panel_url(phone=phone, call_id=call_id, direction=direction),
                  choose=_panel_url(phone=phone, call_id=call_id, direction=direction, choose=1),
                  refresh=_panel_url(phone=phone, call_id=call_id, direction=direction, refresh=1),
                  pick=url_for("pop.pick"), create=url_for("pop.create"), search=url_for("pop.search")),
        local_time=local_time, task_list_url=task_list_url,
        phone_lines=lambda card: lookup.phone_lines(card, region),
        display_number=lambda shown: display(shown, region),
        type_label=lambda name: TYPE_LABELS.get(name, name), phone_label=lambda name: PHONE_LABELS.get(name, name),
        quick_create_fields=new_record.FIELDS, record_types=new_record.RECORD_TYPES,
        form={"record_type": "Lead", "Phone": display(number, region) if number else ""}, errors={},
        results=None, search_error=None, search_text="", search_phone=phone, refused=None, duplicates=None,
    )
    context.update(extra)
    return context


def _respond(context: dict, status: int = 200):
    """The `#pop` fragment (`partials/pop.html`) for htmx, else the whole panel page with the pop in it."""
    return web.page_or_fragment("pop_page.html", "partials/pop.html", context, status)


# -- views --------------------------------------------------------------------------------------------------------

def show_pop():
    """`GET /panel?phone=…` (the sidebar's /panel view calls it when `phone` is given): `partials/pop.html` for
    htmx, else `pop_page.html`, in whichever state the lookup ends (unknown caller, card, pick list, no match,
    unavailable)."""
    phone = _phone_param(request.args)
    call = _call_params(request.args)
    settings = pop_settings()
    pop = lookup.pop(current_agent(), phone, get_salesforce, settings=settings,
                     choose=request.args.get("choose") in ("1", "true"),
                     refresh=request.args.get("refresh") in ("1", "true"))
    return _respond(_context(pop, settings, **call))


@bp.route("/pick", methods=["POST"])
@login_required
def pick():
    """Remember the picked record as the caller: `partials/pop.html` (or `pop_page.html`) showing its card."""
    phone = _phone_param(request.form)
    call = _call_params(request.form)
    record_id, record_type = _picked_record(request.form)
    settings = pop_settings()
    try:
        _may_bind(call)
    except ledger.CallRefused as refused:
        context = _context(None, settings, search_phone=phone, refused=refused.reason, **call)
        return web.render("partials/pop_call_refused.html", context, refused.status, vary_on_htmx=True)
    agent = current_agent()
    pop = lookup.pick_record(agent, phone, record_id, get_salesforce, settings=settings, call_id=call["call_id"])
    if pop is None and record_type is not None:
        pop = _picked_from_search(agent, phone, record_id, record_type, call["call_id"], settings)
    if pop is None:
        raise BadInput("record_id", "that record is not one of this number's matches")
    return _respond(_context(pop, settings, **call))


def _picked_from_search(agent: lookup.Agent, phone: str, record_id: str, record_type: str, call_id: str | None,
                        settings: lookup.PopSettings) -> lookup.PopResult | None:
    """A record found by the manual search: show its card, and remember it for the number when there is one."""
    try:
        card = lookup.card_for_record(get_salesforce, record_type, record_id, agent, settings=settings)
    except SalesforceUnavailable:
        return lookup.PopResult("unavailable", phone, failure="unreachable")
    if card is None:
        return None
    region = settings.region
    number = None if is_withheld(phone) else parse_caller(phone, region)
    if number is not None and any(same_caller(number, stored, region) for stored in card.phones.values() if stored):
        picks.remember_pick(agent.org_id, number.e164, record_id=card.record_id, record_type=card.record_type,
                            user_id=agent.user_id, user_name=agent.name, call_id=call_id)
    elif call_id:
        # The record does not have the caller's number, so it answers nothing for the next call from it (and must
        # not replace that number's pick); the call itself is still logged against it.
        picks.remember_call_pick(call_id, record_id=card.record_id, record_type=card.record_type,
                                 user_id=agent.user_id)
    return _only_card(card, phone, number)


def _only_card(card, raw_phone: str, number: PhoneNumber | None) -> lookup.PopResult:
    """The pop showing one record that did not come from this number's lookup (found by hand, or just created)."""
    return lookup.PopResult("card", raw_phone, number, cards=(card,), card=card)


@bp.route("/records", methods=["POST"])
@login_required
def create():
    """Quick-create: `partials/pop.html` (or `pop_page.html`) with the new record's card (201), or the no-match
    state with the form again, every typed value kept and a message per field (422; 503 or 502 when Salesforce
    could not be asked or refused the request; 403 or 409, nothing created, when the form's call is not the
    agent's). When the org's duplicate rules refuse it, 409 with the records they matched offered as picks
    (`partials/duplicate_choices.html`) and, for rules that only alert, "create anyway" (`allow_duplicates=1`). A
    record created during a call is what the call is logged against."""
    call = _call_params(request.form)
    settings = pop_settings()
    record_type = request.form.get("record_type") or ""
    typed = new_record.read(request.form)
    errors, values = new_record.check(typed, record_type, settings.region)
    number = parse_caller(typed["Phone"], settings.region) if typed["Phone"] else None
    status, refusal, duplicates = 422, None, None
    if not errors:
        try:
            _may_bind(call)
            card = lookup.quick_create(get_salesforce, current_agent(), record_type, values, settings=settings,
                                       allow_duplicates=request.form.get("allow_duplicates") == "1")
        except ledger.CallRefused as refused:
            refusal, status = refused.reason, refused.status
        except lookup.DuplicatesDetected as found:  # the existing records are offered: never a bare refusal
            duplicates, status = found, 409
        except (lookup.CreateRejected, *web.SALESFORCE_FAILURES) as error:
            refused = web.refusal(
                error, _CREATE_FIELDS, other="_record",
                unreachable=_l("Salesforce is unreachable; nothing was created. Try again in a moment."),
                refused=lambda message: _l("Salesforce refused the request: %(message)s", message=message))
            errors, status = refused.messages("_record"), refused.status
        else:
            if call["call_id"]:  # the agent said who is calling by creating them: the call is logged against it
                picks.remember_call_pick(call["call_id"], record_id=card.record_id, record_type=card.record_type,
                                         user_id=current_agent().user_id)
            return _respond(_context(_only_card(card, typed["Phone"], number), settings, **call), 201)
    pop = lookup.PopResult("no_match", typed["Phone"], number)
    return _respond(_context(pop, settings, form={**typed, "record_type": record_type}, errors=errors,
                             refused=refusal, duplicates=duplicates, **call), status)


@bp.route("/search", methods=["GET"])
@login_required
def search():
    """The manual search: `partials/search_results.html` (`#search-results`); 422 when the text is too short to
    search, 503 when Salesforce is unreachable."""
    phone = _phone_param(request.args)
    call = _call_params(request.args)
    text = _search_text(request.args)
    settings = pop_settings()
    extra = dict(search_text=text, search_phone=phone, results=None)
    status = 200
    try:
        extra["results"] = lookup.manual_search(get_salesforce, text, current_agent(), settings=settings)
    except ValueError:
        extra["search_error"] = _l("Type at least two characters.")
        status = 422
    except SalesforceUnavailable:
        extra["search_error"] = _l("Salesforce is unreachable right now. Try again in a moment.")
        status = 503
    return web.render("partials/search_results.html", _context(None, settings, **call, **extra), status,
                      vary_on_htmx=True)


@bp.route("/calls/<path:call_id>/status", methods=["GET"])
@login_required
def call_status(call_id: str):
    """Where the agent's ended call went: `partials/call_outcome.html` (`#call-outcome`), which polls itself until
    the call is final; 403 (the same root, saying nothing about the call) for anyone but the call's agent."""
    call_id = call_id.strip()
    if not call_id or identifier_problem("call_id", call_id):  # 400 keeping the fragment's root (not the pop's)
        return web.render("partials/call_outcome.html", dict(outcome=None, refused="bad_call_id"), 400,
                          vary_on_htmx=True)
    polls = _polls_param(request.args)
    try:
        ledger.may_act_on_call(call_id, current_connection())
    except ledger.CallNotKnown:
        pass  # the dialer's events may still be on their way: "being logged" until they come (or never do)
    except ledger.CallRefused as refused:
        return web.render("partials/call_outcome.html", dict(outcome=None, refused=refused.reason), refused.status,
                          vary_on_htmx=True)
    found = call_outcomes.call_outcome(call_id, polls)
    subject, task_url = (_logged_task(found.task_id) if found.kind == "logged" and found.task_id else (None, None))
    next_url = url_for("pop.call_status", call_id=call_id, n=polls + 1)
    return web.render("partials/call_outcome.html",
                      dict(outcome=found, subject=subject, task_url=task_url, next_url=next_url, refused=None,
                           since=local_time(found.since) if found.since else ""),
                      headers={"Cache-Control": "no-store"}, vary_on_htmx=True)


def _polls_param(source: Mapping) -> int:
    """How often the panel asked already (`n`): anything that is not a small count reads as 0."""
    text = source.get("n") or ""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 5 else 0


def _logged_task(task_id: str) -> tuple[str | None, str | None]:
    """The logged Task's subject (one query, asked once: the fragment stops polling when the call is logged) and
    its page in Salesforce on the agent's instance; the subject is None when Salesforce cannot say it now."""
    connection = current_connection()
    url = lightning_url(connection.instance_url, "Task", task_id) if connection.instance_url else None
    try:
        return call_tasks.get_task(get_salesforce(), task_id).subject, url
    except (SalesforceUnavailable, SalesforceRequestError, call_tasks.TaskGone):
        return None, url
