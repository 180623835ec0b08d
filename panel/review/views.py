"""`/review`: the calls a person must decide on before they can be logged.

Who: signed-in users whose e-mail is in PANEL_REVIEWERS (everyone else gets 403). What: ended calls that matched
several records with no pick, matched none, or could not be logged (Salesforce refused the Task for good, or the
job failed the same way attempt after attempt; the error is shown), and calls whose agent is unknown (`agent`: the
dialer named someone no PANEL_DIALER_USERS row and no Salesforce user matches; the dialer's name for them is
shown). A record chosen for such a call logs it with the integration connection and no OwnerId of its own (the
integration user owns the Task); "retry" tries the agent again once a row or a user was added. A reviewer picks one of the candidates,
searches Salesforce for another record, creates a Lead, retries a failed call, or dismisses it. The decision is
recorded (who, what, when: the "Resolved" list) and the logging job then writes the call's one Task; two reviewers
deciding at once cannot log a call twice or create two Leads: the item is claimed before anything is created
(`panel.review.queue.resolve_review`).

URL contract (htmx; each action answers with the changed item, `partials/review_item.html`):

- `GET  /review[?reason=several|none|error|agent][&after=<item id>]` — the page; the list root is `id="review-queue"`,
  each item carries `data-call-id`. Oldest waiting call first (first come, first decided), `PAGE_SIZE` at a time;
  `reason` (repeatable) keeps only those reasons; `after` continues past that item. With `HX-Request` it answers
  only the next items and their own "more" entry (`partials/review_queue_page.html`), which the "more" entry swaps in
  for itself. The heading counts every waiting call (`#review-count`), each filter the calls of its reason
  (`#review-filters`), and the latest decisions follow the queue (`#review-history`); item responses refresh all
  three out of band (htmx `hx-swap-oob`, one template each), so a decision shows in them without a reload. The page
  names the signed-in reviewer and signs out (`POST /auth/logout`, with the CSRF token) as the panel does.
- `GET  /review/items/<id>/search?q=…` — `#review-search-<id>` results, each with a pick button.
- `POST /review/items/<id>/pick` (`record_id`, `record_type`) — log the call against that record.
- `POST /review/items/<id>/lead` (`LastName`, `FirstName`, `Company`, `Phone`, `allow_duplicates=1`) — create a
  Lead, log against it. When the org's duplicate rules match existing records, those are offered instead (each
  through `…/pick`), and where the rules only alert, "create anyway" re-posts the form with `allow_duplicates=1`.
- `POST /review/items/<id>/retry` — a failed call, or one whose agent was unknown: try again as it is (after fixing
  the cause in Salesforce or PANEL_DIALER_USERS).
- `POST /review/items/<id>/dismiss` — do not log the call.

Without `HX-Request` the POSTs redirect back to the page. CSRF protection covers every POST.
"""

from __future__ import annotations

from datetime import datetime
from functools import wraps
from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from panel import web
from panel.callers import lookup, new_record
from panel.calls import jobs, ledger
from panel.calls.logging_rules import who_and_what
from panel.i18n import local_time
from panel.review import queue
from panel.salesforce.contacts import CreateRejected, DuplicatesDetected, lightning_url
from panel.salesforce.errors import ReconnectRequired, SalesforceError, SalesforceUnavailable
from panel.salesforce.ids import is_record_id, record_type_of
from panel.signin.session import current_connection, get_salesforce, login_required
from panel.web import BadInput

bp = Blueprint("review", __name__, url_prefix="/review")

# The new Lead's fields (panel.callers.new_record, the pop's quick-create has the same): the phone is optional
# here, since a call with a withheld number also needs its Lead.
LEAD_FIELDS = new_record.select("LastName", "FirstName", "Company", "Phone", optional=("Phone",))
_LEAD_FIELD_NAMES = {field.name: field.name for field in LEAD_FIELDS}
REASONS = {"several": _l("Several records match"), "none": _l("No record matches"),
           "error": _l("The call could not be logged"), "agent": _l("Agent unknown")}
# A failed call, and one whose agent nobody resolved (after a PANEL_DIALER_USERS row or a Salesforce user was
# added for them), can be tried again as they are.
RETRYABLE = ("error", "agent")
PAGE_SIZE = 20
MAX_ITEM_ID = 2**31 - 1  # the id column is a 32-bit integer on PostgreSQL; a larger number names no item
RESOLUTION_LABELS = {"record": _l("Logged against a record"), "lead": _l("Logged against a new Lead"),
                     "dismissed": _l("Dismissed"), "retry": _l("Retried"),
                     "agent_note": _l("Resolved by the agent's note")}
DIRECTION_LABELS = {"inbound": _l("Inbound"), "outbound": _l("Outbound")}


def reviewers() -> set[str]:
    configured = current_app.config.get("PANEL_REVIEWERS") or ""
    if isinstance(configured, str):
        configured = configured.split(",")
    return {email.strip().lower() for email in configured if email and email.strip()}


def _reviewer_email() -> str | None:
    connection = current_connection()
    email = (getattr(connection, "email", None) or "").strip().lower()
    return email or None


def reviewer_required(view):
    """Signed in, and one of PANEL_REVIEWERS; 403 otherwise."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        email = _reviewer_email()
        if not email or email not in reviewers():
            abort(403)
        return view(*args, **kwargs)

    return login_required(wrapped)


# -- helpers for the templates --------------------------------------------------------------------------------------

def _local_time(moment: datetime | None) -> str:
    return local_time(moment, with_date=True) if moment else "—"


def _record_url(record_id: str | None) -> str | None:
    """The Lightning page of a resolved record, for the reviewer's own org (opens in a new tab)."""
    instance_url = getattr(current_connection(), "instance_url", None)
    record_type = record_type_of(record_id)
    return lightning_url(instance_url, record_type, record_id) if instance_url and record_type else None


def _resolved_record(item) -> dict | None:
    """What a resolved item was logged against, as the reviewer knew it: type, and name when it was a candidate."""
    if not item.resolved_record_id:
        return None
    known = next((candidate for candidate in item.candidate_list()
                  if candidate.get("record_id") == item.resolved_record_id), {})
    return {"record_id": item.resolved_record_id, "name": known.get("name"), "company": known.get("company"),
            "record_type": record_type_of(item.resolved_record_id), "url": _record_url(item.resolved_record_id)}


def _view_helpers() -> dict:
    return {"local_time": _local_time, "reasons": REASONS, "resolution_labels": RESOLUTION_LABELS,
            "direction_labels": DIRECTION_LABELS, "lead_fields": LEAD_FIELDS, "resolved_record": _resolved_record}


def _item_response(item_id: int, *, status: int = 200, errors: dict | None = None, values: dict | None = None,
                   failure: str | None = None, results=None, query: str = "", duplicates=None):
    """`partials/review_item.html` (the item as it is now) and, for htmx, `partials/review_count.html` out of band;
    a POST without htmx that went well goes back to the page instead."""
    item, call = _item_or_404(item_id)
    if not web.is_htmx() and request.method == "POST" and status < 400:
        return redirect(url_for("review.show_queue"))
    html = render_template("partials/review_item.html", item=item, call=call, errors=errors or {},
                           values=values or {}, failure=failure, results=results, query=query,
                           duplicates=duplicates, **_view_helpers())
    if web.is_htmx():
        html += _out_of_band()
    return html, status


def _out_of_band() -> str:
    """The page's parts a decision changes, each its own template swapped in out of band: the waiting count, the
    filters' counts (the filter the page shows, from htmx's `HX-Current-URL`, stays current) and the decisions."""
    counts = queue.open_review_counts()
    try:
        page = parse_qs(urlsplit(request.headers.get("HX-Current-URL") or "").query)
    except ValueError:  # not a URL (the header is the browser's to send): no filter chosen
        page = {}
    chosen = [reason for reason in dict.fromkeys(page.get("reason", [])) if reason in REASONS]
    return "".join((
        render_template("partials/review_count.html", waiting=sum(counts.values()), out_of_band=True),
        render_template("partials/review_filters.html", filters=_filters(counts), chosen=chosen,
                        reasons=REASONS, out_of_band=True),
        render_template("partials/review_history.html", resolved=queue.resolved_reviews(), out_of_band=True,
                        **_view_helpers()),
    ))


def _filters(counts: dict[str, int]) -> list[tuple[str | None, int, str]]:
    """(reason or None for all, how many wait, its URL) for each filter."""
    return [(None, sum(counts.values()), url_for("review.show_queue"))] + [
        (reason, counts.get(reason, 0), url_for("review.show_queue", reason=reason)) for reason in REASONS]


def _item_or_404(item_id: int):
    found = queue.review_item(item_id)
    if found is None:
        abort(404)
    return found


def _already_resolved(item_id: int):
    return _item_response(item_id, status=409,
                          failure=str(_l("Someone else resolved this call first; nothing was changed.")))


def _resolve(item_id: int, resolution: str, record_id: str | None = None, record_type: str | None = None,
             create=None):
    """The decision, exactly once (`queue.resolve_review`: claimed before `create` makes anything); what `create`
    raises reaches the caller, the item waiting again."""
    try:
        queue.resolve_review(item_id, jobs.call_settings(), reviewer=_reviewer_email(), resolution=resolution,
                             record_id=record_id, record_type=record_type, create=create)
    except queue.AlreadyResolved:
        return _already_resolved(item_id)
    except ledger.CallBusy:
        return _item_response(item_id, status=503, failure=str(_l("The call is being updated; try again.")))
    item, _call = _item_or_404(item_id)
    if resolution != "dismissed":
        jobs.enqueue_call(item.call_id)
    return _item_response(item_id)


def _pop_settings() -> lookup.PopSettings:
    """The caller lookup's settings (the region a typed number is read in), read once from the app's config."""
    return web.app_settings(lookup.PopSettings.from_config)


def _reviewer_agent() -> lookup.Agent:
    connection = current_connection()
    return lookup.Agent(org_id=connection.org_id, user_id=connection.user_id,
                        name=getattr(connection, "display_name", None) or getattr(connection, "name", None))


# -- views ----------------------------------------------------------------------------------------------------------

def _queue_params() -> tuple[list[str], int | None]:
    """(`reason` filters, `after` item id) from the query string; 400 naming the parameter when one is wrong."""
    chosen = [value for value in request.args.getlist("reason") if value]
    unknown = [value for value in chosen if value not in REASONS]
    if unknown:
        raise BadInput("reason", str(_l("The “reason” filter must be one of: %(values)s.", values=", ".join(REASONS))))
    after = request.args.get("after") or None
    if after is not None and not (after.isascii() and after.isdigit() and len(after) <= 10
                                  and 0 < int(after) <= MAX_ITEM_ID):
        raise BadInput("after", str(_l("“after” must be the number of a review item.")))
    return list(dict.fromkeys(chosen)), int(after) if after else None


@bp.route("", methods=["GET"])
@reviewer_required
def show_queue():
    """The page (`review.html`); for htmx, the next items and their own "more" entry only
    (`partials/review_queue_page.html`). A wrong filter is a 400 naming it (panel.errors)."""
    reasons, after = _queue_params()
    rows = queue.open_reviews(reasons=reasons, after=after, limit=PAGE_SIZE + 1)
    items, more = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    more_url = url_for("review.show_queue", reason=reasons, after=items[-1][0].id) if more else None
    context = dict(items=items, more_url=more_url, chosen=reasons, errors={}, values={}, failure=None, results=None,
                   query="", **_view_helpers())
    if web.is_htmx():  # the "more" entry: the next items only, never the "nothing waits" note
        return web.render("partials/review_queue_page.html", dict(fragment=True, **context), vary_on_htmx=True)
    counts = queue.open_review_counts()
    return web.render("review.html", dict(waiting=sum(counts.values()), filters=_filters(counts),
                                          continued=after is not None, resolved=queue.resolved_reviews(),
                                          connection=current_connection(), **context), vary_on_htmx=True)


# A queue item's id in a URL: a whole number the id column can hold (PostgreSQL's integer is 32-bit); anything
# else is a 404, never a database error.
_ITEM = f"<int(min=1, max={MAX_ITEM_ID}):item_id>"


@bp.route(f"/items/{_ITEM}/pick", methods=["POST"])
@reviewer_required
def pick_record(item_id: int):
    """Log the call against the chosen record: `partials/review_item.html`, resolved (400 naming `record_id` when
    the call cannot be logged against it)."""
    _item_or_404(item_id)
    record_id = (request.form.get("record_id") or "").strip()
    if not is_record_id(record_id) or record_type_of(record_id) is None:
        return _item_response(item_id, status=400, errors={"record_id": str(_l(
            "Choose a Contact, Lead, Account or Opportunity."))})
    try:
        who_and_what(record_id)
    except ValueError as error:
        return _item_response(item_id, status=400, errors={"record_id": str(error)})
    return _resolve(item_id, "record", record_id, record_type_of(record_id))


@bp.route(f"/items/{_ITEM}/search", methods=["GET"])
@reviewer_required
def search_records(item_id: int):
    """`partials/review_item.html` with the search's results (`#review-search-<id>`), each with a pick button."""
    _item_or_404(item_id)
    query = " ".join((request.args.get("q") or "").split())[:100]
    try:
        results = lookup.manual_search(get_salesforce, query, _reviewer_agent(), settings=_pop_settings())
    except ValueError:
        return _item_response(item_id, status=422, query=query,
                              errors={"q": str(_l("Type at least two characters."))})
    except ReconnectRequired:
        raise
    except SalesforceUnavailable:
        return _item_response(item_id, status=503, query=query,
                              failure=str(_l("Salesforce is unreachable; try the search again.")))
    except SalesforceError as error:
        return _item_response(item_id, status=422, query=query, errors={"q": error.message})
    return _item_response(item_id, results=results, query=query)


@bp.route(f"/items/{_ITEM}/lead", methods=["POST"])
@reviewer_required
def create_lead(item_id: int):
    """Create a Lead and log the call against it: `partials/review_item.html`, resolved. The item is claimed
    before the Lead is created, so reviewers deciding at once create one Lead (the others get 409). When no Lead
    is created, the item again, still waiting, what was typed kept and a message per field (422; 503 when
    Salesforce is unreachable, 502 when it refused the request). When the org's duplicate rules refused the Lead,
    409 with the records they matched offered as picks (the `…/pick` path) and, for rules that only alert, "create
    anyway" (`allow_duplicates=1`)."""
    _item_or_404(item_id)
    settings = _pop_settings()
    values = new_record.read(request.form, LEAD_FIELDS)
    errors, lead = new_record.check(values, "Lead", settings.region, LEAD_FIELDS)
    if errors:
        return _item_response(item_id, status=422, errors=errors, values=values)

    def create() -> tuple[str, str]:
        card = lookup.quick_create(get_salesforce, _reviewer_agent(), "Lead", lead, settings=settings,
                                   allow_duplicates=request.form.get("allow_duplicates") == "1")
        return card.record_id, "Lead"

    try:
        return _resolve(item_id, "lead", create=create)
    except DuplicatesDetected as found:  # the claim was given back; the existing records are offered instead
        return _item_response(item_id, status=409, values=values, duplicates=found)
    except (CreateRejected, *web.SALESFORCE_FAILURES) as error:
        refused = web.refusal(error, _LEAD_FIELD_NAMES, unreachable=_l(
            "Salesforce is unreachable, so no Lead was created and the call is still waiting. Try again."),
            refused=lambda message: _l("Salesforce refused the request, so the call is still waiting: %(message)s",
                                       message=message))
        return _item_response(item_id, status=refused.status, values=values, errors=refused.errors,
                              failure=refused.failure or str(_l("No Lead was created; the call is still waiting.")))


@bp.route(f"/items/{_ITEM}/retry", methods=["POST"])
@reviewer_required
def retry_call(item_id: int):
    """A failed call, tried again as it is: `partials/review_item.html`, resolved."""
    item, _call = _item_or_404(item_id)
    if item.reason not in RETRYABLE:
        return _item_response(item_id, status=400, errors={"_form": str(_l(
            "Only a call that failed can be retried as it is; pick a record instead."))})
    return _resolve(item_id, "retry")


@bp.route(f"/items/{_ITEM}/dismiss", methods=["POST"])
@reviewer_required
def dismiss_call(item_id: int):
    """Do not log the call: `partials/review_item.html`, resolved."""
    _item_or_404(item_id)
    return _resolve(item_id, "dismissed")
