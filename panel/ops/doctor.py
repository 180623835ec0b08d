"""The connection check: is this deployment able to do its job, and if not, what exactly to change.

Two ways in, one set of checks:

- `flask --app app panel doctor` (exit status 1 when something fails) for whoever deploys the panel;
- `GET /admin/doctor` for signed-in admins (PANEL_ADMINS, by default the PANEL_REVIEWERS): the same checks, plus
  the signed-in user's own access, since Salesforce permissions differ per user.

What is checked: the settings a dialer depends on (webhook secret, frame ancestors), the agents the dialers named
in the last 24 hours that resolve to nobody (a vendor's user id with no PANEL_DIALER_USERS row, an e-mail no
Salesforce user has: their calls wait in the review queue as "agent unknown"), then for the integration user
(the one that logs calls when no agent is present) and, on the page, the signed-in user: the org answers, the REST
API is enabled in the configured version, Contact / Account / Lead can be read with the phone fields the screen pop searches, Task can be created with the call
fields (CallObject, CallType, CallDurationInSeconds, CallDisposition, TaskSubtype, and the configured external-id
field). Salesforce tells most of this through describe, so the check costs a handful of API requests and writes
nothing. Every failure carries the fix, in the words of the setting or Salesforce screen to change. No secret or
token is ever shown.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import wraps
from typing import Any, Callable, Mapping

import click
import requests
from flask import Blueprint, Flask, abort, current_app, render_template
from flask.cli import AppGroup
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from panel import config as panel_config
from panel.calls.ledger import CallRecord, ReviewItem, StoredEvent
from panel.extensions import db
from panel.logs import redact
from panel.salesforce import queries
from panel.salesforce.client import integration_client
from panel.salesforce.errors import NotFound, ReconnectRequired, SalesforceError, SalesforceUnavailable
from panel.salesforce.http import SalesforceSession
from panel.salesforce.oauth import LOGIN_SERVERS, SANDBOX_LOGIN, default_jwt_audience
from panel.signin.connections import oauth_settings
from panel.signin.session import current_connection, get_salesforce, login_required

__all__ = ["Finding", "Section", "check_configuration", "check_connection", "check_describes", "check_token_sources",
           "check_unknown_agents", "run", "init_app", "unknown_agents"]

bp = Blueprint("admin", __name__, url_prefix="/admin")
cli = AppGroup("panel", help="Operate the contact panel.")

READ_OBJECTS = ("Contact", "Account", "Lead")
OBJECT_LABELS = {"Contact": _l("Contact"), "Account": _l("Account"), "Lead": _l("Lead"), "Task": _l("Task")}
CALL_FIELDS = ("CallObject", "CallType", "CallDurationInSeconds", "CallDisposition", "TaskSubtype")
# The phone fields the screen pop searches (panel.salesforce.queries). One hidden from the user by field-level
# security is left out of the pop (panel.callers.lookup learns which), so a number kept only there is never found.
POP_SEARCH_FIELDS = {**queries.POP_PHONE_FIELDS, "Lead": (*queries.POP_PHONE_FIELDS["Lead"], "IsConverted")}
MIN_SECRET_LENGTH = 16
_API_DISABLED = {"API_DISABLED_FOR_ORG", "API_CURRENTLY_DISABLED", "API_DISABLED_FOR_USER"}
UNKNOWN_AGENTS_WINDOW = timedelta(hours=24)
MAX_LISTED_AGENTS = 20
_NEW_SECRET = 'python3 -c "import secrets; print(secrets.token_urlsafe(32))"'


@dataclass(frozen=True)
class Finding:
    """One thing checked. `key` is stable (tests, monitoring); `fix` is set when `ok` is False."""

    key: str
    title: str
    ok: bool
    detail: str
    fix: str = ""


@dataclass
class Section:
    title: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(finding.ok for finding in self.findings)


# -- configuration --------------------------------------------------------------------------------------------------

def check_configuration(config: Mapping[str, Any], settings=None) -> list[Finding]:
    """The settings the dialer side depends on; a real org (SALESFORCE_LOGIN_URL set) gets the strict rules. With
    the OAuth `settings`, also where each token comes from."""
    real_org = bool(config.get("SALESFORCE_LOGIN_URL"))
    found = [_webhook_secret(config.get("PANEL_WEBHOOK_SECRET"), real_org),
             _frame_ancestors(config.get("PANEL_FRAME_ANCESTORS") or (), real_org)]
    return found + ([check_token_sources(settings)] if settings is not None else [])


def check_token_sources(settings) -> Finding:
    """Agents sign in at SALESFORCE_LOGIN_URL; the integration user's token comes from the org's My Domain
    (SALESFORCE_MY_DOMAIN_URL), which alone serves the client credentials flow; a JWT bearer assertion is addressed
    to the login server that fits the org (SALESFORCE_JWT_AUDIENCE). Says which of them is wrong without asking
    Salesforce (panel.salesforce.oauth cites the documentation)."""
    title = _("Where tokens come from")
    source = settings.integration_url
    if settings.uses_jwt:
        flow = _("JWT bearer, audience %(audience)s", audience=settings.assertion_audience)
        expected = default_jwt_audience(settings.login_url, settings.my_domain_url)
        if settings.assertion_audience in LOGIN_SERVERS and settings.assertion_audience != expected:
            return Finding("config.token_sources", title, False,
                           _("The JWT bearer audience (SALESFORCE_JWT_AUDIENCE) is %(audience)s, but %(url)s is "
                             "a %(kind)s.", audience=settings.assertion_audience,
                             url=source or settings.login_url,
                             kind=_("sandbox") if expected == SANDBOX_LOGIN else _("production org")),
                           _("Set SALESFORCE_JWT_AUDIENCE to %(expected)s, or unset it: it follows the org.",
                             expected=expected))
    elif source is None:
        return Finding("config.token_sources", title, False,
                       _("The integration user signs in with client credentials, which only the org's My Domain "
                         "serves, and SALESFORCE_MY_DOMAIN_URL is not set (SALESFORCE_LOGIN_URL is %(login)s): "
                         "calls of agents who are not signed in cannot be logged.", login=settings.login_url),
                       _MY_DOMAIN_FIX)
    else:
        flow = _("client credentials")
    return Finding("config.token_sources", title, True,
                   _("Agents sign in at %(login)s; the integration user's token comes from %(source)s (%(flow)s).",
                     login=settings.login_url, source=source or settings.login_url, flow=flow))


_MY_DOMAIN_FIX = _l("Set SALESFORCE_MY_DOMAIN_URL to the org's My Domain URL (Setup → My Domain), such as "
                    "https://MyDomainName.my.salesforce.com, or https://MyDomainName--SandboxName.sandbox.my."
                    "salesforce.com for a sandbox. Keep SALESFORCE_LOGIN_URL for the agents' sign-in.")


def _webhook_secret(secret: str | None, real_org: bool) -> Finding:
    title = _("Webhook secret (PANEL_WEBHOOK_SECRET)")
    fix = _("Set PANEL_WEBHOOK_SECRET to a long random value (for example the output of %(command)s) and enter the "
            "same value in the dialer's webhook settings.", command=_NEW_SECRET)
    if not secret:
        return Finding("config.webhook_secret", title, False, _("It is not set: call events cannot be verified."),
                       fix)
    if secret == panel_config.LOCAL_WEBHOOK_SECRET:
        if real_org:
            return Finding("config.webhook_secret", title, False,
                           _("It is the documented local default, so anyone could send call events."), fix)
        return Finding("config.webhook_secret", title, True,
                       _("The documented local default: fine for the local org, never for a real one."))
    if len(secret) < MIN_SECRET_LENGTH:
        return Finding("config.webhook_secret", title, False,
                       _("It has only %(num)d characters; at least %(min)d are needed.", num=len(secret),
                         min=MIN_SECRET_LENGTH), fix)
    return Finding("config.webhook_secret", title, True, _("Set (%(num)d characters).", num=len(secret)))


def _frame_ancestors(sources, real_org: bool) -> Finding:
    title = _("Dialer origins (PANEL_FRAME_ANCESTORS)")
    sources = [str(source) for source in sources]
    fix = _("Set PANEL_FRAME_ANCESTORS to the dialer's origins, separated by spaces, for example "
            "“https://dialer.example.com https://*.dialer.example.com”.")
    # Start-up refuses these (panel.config.frame_ancestor_problem); the check does not rely on that.
    wildcard = [source for source in sources if panel_config.frame_ancestor_problem(source)]
    if wildcard:
        return Finding("config.frame_ancestors", title, False,
                       _("%(sources)s lets any site frame the panel.", sources=" ".join(wildcard)), fix)
    dialers = [source for source in sources if source != "'self'"]
    if not dialers:
        return Finding("config.frame_ancestors", title, False,
                       _("No dialer origin is allowed: browsers will refuse to show the panel inside the dialer."),
                       fix)
    if real_org:
        insecure = [source for source in dialers if not source.startswith("https://")]
        if insecure:
            return Finding("config.frame_ancestors", title, False,
                           _("%(sources)s is not an https origin; a real deployment must only be framed over https.",
                             sources=" ".join(insecure)), fix)
    return Finding("config.frame_ancestors", title, True, " ".join(dialers))


# -- the dialers' agents --------------------------------------------------------------------------------------------

def unknown_agents(now: datetime | None = None) -> list[str]:
    """The agents the dialers named that resolve to nobody, sorted: the vendor identities (`agent_ref`) of events
    received in the last 24 hours with no agent e-mail, and the e-mails of calls waiting in review because no
    Salesforce user has them."""
    since = (now or datetime.now(timezone.utc)) - UNKNOWN_AGENTS_WINDOW
    refs = db.session.execute(select(StoredEvent.agent_ref).distinct().where(
        StoredEvent.agent_ref.is_not(None), StoredEvent.received_at >= since)).scalars()
    emails = db.session.execute(select(CallRecord.agent_email).distinct().join(
        ReviewItem, ReviewItem.call_id == CallRecord.call_id).where(
        ReviewItem.reason == "agent", ReviewItem.resolved_at.is_(None), CallRecord.agent_email.is_not(None),
        CallRecord.agent_email != "")).scalars()
    # An identity can be a number (a Twilio agent's mobile): shown masked, as every log line is.
    found = sorted({redact(value) for value in (*refs, *emails) if value})
    db.session.rollback()
    return found


def check_unknown_agents(now: datetime | None = None) -> Finding:
    title = _("Agents the dialers name")
    try:
        found = unknown_agents(now)
    except SQLAlchemyError:
        db.session.rollback()
        return Finding("dialers.unknown_agents", title, False, _("The panel's database could not be read."),
                       _("Check DATABASE_URL and that the database is up, then run the check again."))
    if not found:
        return Finding("dialers.unknown_agents", title, True,
                       _("Every agent the dialers named in the last 24 hours is known."))
    shown = ", ".join(found[:MAX_LISTED_AGENTS]) + (" …" if len(found) > MAX_LISTED_AGENTS else "")
    return Finding("dialers.unknown_agents", title, False,
                   ngettext("%(num)d agent named by a dialer resolves to nobody, so their calls wait in the review "
                            "queue: %(agents)s",
                            "%(num)d agents named by a dialer resolve to nobody, so their calls wait in the review "
                            "queue: %(agents)s", len(found), agents=shown),
                   _("Add a row for each to the PANEL_DIALER_USERS file (header dialer,dialer_user,agent_email: the "
                     "dialer's name, the identity after its first colon, the agent's Salesforce e-mail), or give "
                     "the e-mail a Salesforce user; then retry their calls in the review queue."))


# -- Salesforce -----------------------------------------------------------------------------------------------------

def check_connection(connect: Callable[[], Any], settings, external_id_field: str | None = None) -> list[Finding]:
    """Sign in (or take the user's client), then ask Salesforce what this user may do. Stops at the first step
    that fails: everything after it would fail for the same reason."""
    findings = []
    reach_title = _("The org answers")
    try:
        client = connect()
    except SalesforceUnavailable as error:
        return [Finding("org.reach", reach_title, False,
                        _("%(url)s did not answer: %(error)s", url=settings.integration_url or settings.login_url,
                          error=error.message),
                        _reach_fix(settings))]
    except SalesforceError as error:
        return [Finding("org.reach", reach_title, False,
                        _("The sign-in was refused: %(error)s", error=error.message), _sign_in_fix(settings, error))]
    findings.append(Finding("org.reach", reach_title, True, client.instance_url))

    api = _api_version(client, settings)
    findings.append(api)
    if not api.ok:
        return findings

    describes: dict[str, dict | None] = {}
    for sobject in (*READ_OBJECTS, "Task"):
        try:
            describes[sobject] = client.describe(sobject)
        except NotFound:
            describes[sobject] = None  # the object is not visible to this user
        except SalesforceError as error:
            findings.append(_api_refused(error, settings))
            return findings
    findings.extend(check_describes(describes, external_id_field))
    return findings


def _api_version(client, settings) -> Finding:
    title = _("REST API version %(version)s", version=settings.api_version)
    try:
        with SalesforceSession(client.instance_url, timeout=settings.timeout) as session:
            answer = session.get(f"{client.instance_url}/services/data/")
            offered = [str(entry.get("version")) for entry in answer.json()]
    except (requests.RequestException, ValueError, TypeError, AttributeError):
        return Finding("org.api", title, False, _("%(url)s did not list its API versions.", url=client.instance_url),
                       _reach_fix(settings))
    if settings.api_version not in offered:
        return Finding("org.api", title, False,
                       _("This org does not offer version %(version)s (newest: %(newest)s).",
                         version=settings.api_version, newest=offered[-1] if offered else "—"),
                       _("Set SALESFORCE_API_VERSION to a version the org offers, such as %(newest)s.",
                         newest=offered[-1] if offered else "62.0"))
    return Finding("org.api", title, True, _("Offered."))


def _api_refused(error: SalesforceError, settings) -> Finding:
    title = _("API access")
    if isinstance(error, ReconnectRequired):
        return Finding("org.api_access", title, False, _("Salesforce refused the access token: %(error)s",
                                                         error=error.message), _sign_in_fix(settings, error))
    if error.error_code in _API_DISABLED:
        # API_DISABLED_FOR_ORG: the edition has no API access, or the user lacks "API Enabled" (REST API Developer
        # Guide, "Supported Editions and Required Permissions"); signing in works all the same.
        return Finding("org.api_access", title, False,
                       _("Salesforce signed this user in but refuses every API call (%(code)s): the org's edition "
                         "does not include API access — Professional Edition without the API add-on, or "
                         "Essentials — or this user lacks the “API Enabled” permission. The panel cannot work "
                         "without it.", code=error.error_code),
                       _("Ask Salesforce (your account executive) to add API access to the org: Enterprise, "
                         "Unlimited, Performance and Developer Edition include it, Professional Edition needs the "
                         "API add-on. If the edition has it, give this user the “API Enabled” permission (profile "
                         "or permission set)."))
    if isinstance(error, SalesforceUnavailable):
        fix = _reach_fix(settings) if error.status is None else _(
            "Salesforce answered but could not serve the request (HTTP %(status)s): it may be in maintenance or "
            "over its API request limit. Check https://status.salesforce.com and the org's API usage, then run "
            "the check again.", status=error.status)
        return Finding("org.api_access", title, False, _("Salesforce did not answer: %(error)s", error=error.message),
                       fix)
    return Finding("org.api_access", title, False, _("Salesforce refused: %(error)s", error=error.message),
                   _("Check this user's profile and permission sets in Salesforce."))


def check_describes(describes: Mapping[str, dict | None], external_id_field: str | None = None) -> list[Finding]:
    """What the describe results say this user may do: read the caller's records, create call Tasks."""
    findings = []
    for sobject in READ_OBJECTS:
        found = describes.get(sobject)
        title = _("Read %(object)s", object=_object_name(sobject))
        if found and found.get("queryable"):
            findings.append(Finding(f"object.{sobject}", title, True, _("Allowed.")))
            findings.append(_pop_search_fields(sobject, found))
        else:
            findings.append(Finding(f"object.{sobject}", title, False,
                                    _("This user cannot read %(object)s records.", object=_object_name(sobject)),
                                    _("In Salesforce, give this user Read access to %(object)s (profile or "
                                      "permission set).", object=_object_name(sobject))))
    task = describes.get("Task")
    title = _("Create %(object)s", object=_object_name("Task"))
    if not (task and task.get("createable")):
        findings.append(Finding("object.Task", title, False, _("This user cannot create Tasks."),
                                _("In Salesforce, give this user the “Edit Tasks” permission and Create access "
                                  "to Task (profile or permission set).")))
        return findings
    findings.append(Finding("object.Task", title, True, _("Allowed.")))
    fields = {entry.get("name"): entry for entry in task.get("fields") or ()}
    wanted = list(CALL_FIELDS) + ([external_id_field] if external_id_field else [])
    missing = [name for name in wanted if name not in fields]
    locked = [name for name in wanted if name in fields and not fields[name].get("createable")]
    title = _("Call fields on Task")
    if missing or locked:
        problems = []
        if missing:
            problems.append(_("not visible: %(fields)s", fields=", ".join(missing)))
        if locked:
            problems.append(_("not writable: %(fields)s", fields=", ".join(locked)))
        findings.append(Finding("task.fields", title, False, "; ".join(problems),
                                _("In Setup → Object Manager → Task (Activity) → Fields, open each field and make it "
                                  "visible and editable for this user's profile (field-level security).")))
    else:
        findings.append(Finding("task.fields", title, True, ", ".join(wanted)))
    if external_id_field and external_id_field in fields and not fields[external_id_field].get("externalId"):
        findings.append(Finding("task.external_id", _("External ID field %(field)s", field=external_id_field), False,
                                _("%(field)s is not marked as an External ID.", field=external_id_field),
                                _("Mark the field as “External ID” (and unique) in Salesforce, or unset "
                                  "PANEL_CALL_EXTERNAL_ID_FIELD.")))
    return findings


def _pop_search_fields(sobject: str, describe: dict) -> Finding:
    """A field the user cannot see is missing from describe; the pop leaves it out for this user, so a caller whose
    number is only there is not found."""
    visible = {entry.get("name") for entry in describe.get("fields") or ()}
    wanted = POP_SEARCH_FIELDS[sobject]
    hidden = [name for name in wanted if name not in visible]
    title = _("Screen pop fields on %(object)s", object=_object_name(sobject))
    if hidden:
        return Finding(f"search.{sobject}", title, False,
                       _("Hidden from this user: %(fields)s. The screen pop leaves them out, so a caller whose number "
                         "is only there is not found.", fields=", ".join(hidden)),
                       _("In Salesforce, grant Read access to %(fields)s on %(object)s in this user's profile or a "
                         "permission set (Field Permissions; or Setup → Object Manager → %(object)s → Fields → "
                         "Set Field-Level Security).", fields=", ".join(hidden), object=_object_name(sobject)))
    return Finding(f"search.{sobject}", title, True, _("All visible."))


def _object_name(api_name: str) -> str:
    """The object as Salesforce shows it in this language, with its API name when that differs (admins search
    Setup by either)."""
    label = str(OBJECT_LABELS.get(api_name, api_name))
    return api_name if label == api_name else f"{label} ({api_name})"


def _reach_fix(settings) -> str:
    if current_app.config.get("LOCALORG_ENABLED"):
        return _("Start the local org (`make run` serves it) or point LOCALORG_URL at it.")
    return _("Check SALESFORCE_MY_DOMAIN_URL (the org's My Domain URL, where the integration user's token comes "
             "from; unset, the SALESFORCE_LOGIN_URL) and that this server can reach it (proxy, firewall).")


# What Salesforce answers when a token is asked for at the wrong place (panel.salesforce.oauth cites the pages).
_WRONG_DOMAIN = "request not supported on this domain"
_WRONG_AUDIENCE = "audience is invalid"


def _sign_in_fix(settings, error: SalesforceError) -> str:
    if error.error_code == "my_domain_unknown" or _WRONG_DOMAIN in (error.message or ""):
        return str(_MY_DOMAIN_FIX)
    if _WRONG_AUDIENCE in (error.message or ""):
        return _("Salesforce wants the JWT addressed to its login server, not to %(audience)s: set "
                 "SALESFORCE_JWT_AUDIENCE to https://login.salesforce.com, or https://test.salesforce.com for a "
                 "sandbox (never the My Domain), or unset it.", audience=settings.assertion_audience)
    if settings.uses_jwt:
        return _("Check SALESFORCE_CLIENT_ID, SALESFORCE_JWT_USERNAME and the private key "
                 "(SALESFORCE_JWT_PRIVATE_KEY_FILE); the connected app must hold the matching certificate and the "
                 "user must be pre-authorized.")
    return _("Check SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET. In the connected app, enable the client "
             "credentials flow and choose its “Run As” user, or configure the JWT bearer flow "
             "(SALESFORCE_JWT_USERNAME, SALESFORCE_JWT_PRIVATE_KEY_FILE).")


# -- the whole check --------------------------------------------------------------------------------------------------

def run(*, signed_in_user: tuple[str, Callable[[], Any]] | None = None) -> list[Section]:
    """Every check, in sections: configuration, the integration user, and (on the page) the signed-in user."""
    config = current_app.config
    settings = oauth_settings()
    external_id = config.get("PANEL_CALL_EXTERNAL_ID_FIELD") or None
    sections = [Section(_("Configuration"), check_configuration(config, settings)),
                Section(_("Dialers"), [check_unknown_agents()]),
                Section(_("Integration user (logs calls)"),
                        check_connection(lambda: integration_client(settings), settings, external_id))]
    if signed_in_user is not None:
        who, connect = signed_in_user
        sections.append(Section(_("You (%(user)s)", user=who), check_connection(connect, settings, external_id)))
    return sections


def admin_required(view):
    """Signed in, and one of PANEL_ADMINS (by default the reviewers); 403 otherwise."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        connection = current_connection()
        email = (getattr(connection, "email", None) or "").strip().lower()
        if not email or email not in set(current_app.config.get("PANEL_ADMINS") or ()):
            abort(403)
        return view(*args, **kwargs)

    return login_required(wrapped)


@bp.route("/doctor", methods=["GET"])
@admin_required
def show_doctor():
    connection = current_connection()
    sections = run(signed_in_user=(connection.email, get_salesforce))
    response = current_app.make_response(render_template("doctor.html", sections=sections,
                                                         ok=all(section.ok for section in sections)))
    response.headers["Cache-Control"] = "no-store"
    return response


@cli.command("doctor")
@click.option("--lang", type=click.Choice(["ja", "en"]), default=None,
              help="Language of the report (default: from LANG, else English).")
def doctor_command(lang: str | None) -> None:
    """Check the connection to Salesforce and the settings dialers rely on; exit status 1 when something fails."""
    lang = lang or ("ja" if os.environ.get("LANG", "").startswith("ja") else "en")
    with force_locale(lang):
        sections = run()
        for section in sections:
            click.echo(section.title)
            for finding in section.findings:
                mark = click.style("OK  ", fg="green") if finding.ok else click.style("FAIL", fg="red", bold=True)
                click.echo(f"  {mark} {finding.title}: {finding.detail}")
                if not finding.ok:
                    click.echo(f"       {_('Fix')}: {finding.fix}")
        failed = sum(not finding.ok for section in sections for finding in section.findings)
        click.echo(ngettext("%(num)d problem to fix.", "%(num)d problems to fix.", failed) if failed
                   else _("Everything is ready."))
    if failed:
        raise SystemExit(1)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.cli.add_command(cli)
