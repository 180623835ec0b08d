"""Every error a request can end in, mapped to what the user sees, in one place.

- `ReconnectRequired` (signed out, grant revoked): back to sign-in. A normal request is redirected; an htmx
  request gets 401 with `HX-Redirect`, so htmx navigates the whole sidebar instead of swapping a login page
  into a fragment.
- `SalesforceUnavailable`: 503 with the error partial ("try again"); other Salesforce errors: 502 with what
  Salesforce said, except `API_DISABLED_FOR_ORG` (an edition without API access, or a user without "API Enabled":
  REST API Developer Guide, "Supported Editions and Required Permissions"), which says so in words an admin acts
  on (`API_DISABLED_MESSAGE`, also the pop's). Never a 500.
- `panel.web.BadInput` (a parameter the panel's own pages never send wrong): 400 naming the field, unless the
  blueprint answers it with a fragment of its own (the pop, the tasks).
- CSRF failures: 400 saying the form expired; oversized bodies: 413; other HTTP errors keep their status.

htmx requests get the partial alone (base.html's htmx-config swaps 4xx/5xx answers); others get it inside a page.
"""

from __future__ import annotations

from flask import Flask, current_app, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge

from panel.salesforce.errors import ReconnectRequired, SalesforceError, SalesforceUnavailable
from panel.signin.session import SignedOut, forget_current_tokens
from panel.web import BadInput, is_htmx, page_or_fragment

__all__ = ["API_DISABLED_FOR_ORG", "API_DISABLED_MESSAGE", "register_error_handlers", "render_error"]

API_DISABLED_FOR_ORG = "API_DISABLED_FOR_ORG"
API_DISABLED_MESSAGE = _l("Salesforce refuses the panel's requests: this org's edition does not include API access "
                          "(Professional Edition without the API add-on, or Essentials), or your user lacks the "
                          "“API Enabled” permission. The panel cannot work without it: ask your Salesforce "
                          "administrator to add API access to the org or the permission to your user.")


def render_error(message: str, status: int, *, retry: bool = False, field: str | None = None):
    """The error partial for htmx, the error page otherwise (`partials/error.html` inside `error_page.html`)."""
    return page_or_fragment("error_page.html", "partials/error.html",
                            dict(message=message, status=status, retry=retry, field=field), status)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(BadInput, _bad_input)
    app.register_error_handler(ReconnectRequired, _reconnect)
    app.register_error_handler(SalesforceUnavailable, _unavailable)
    app.register_error_handler(SalesforceError, _refused)
    app.register_error_handler(CSRFError, _csrf_failed)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.register_error_handler(InternalServerError, _internal_error)
    app.register_error_handler(HTTPException, _http_error)


def _reconnect(error: ReconnectRequired):
    if not isinstance(error, SignedOut):
        current_app.logger.info("Salesforce grant no longer valid: %s", error.message)
        forget_current_tokens()
    if is_htmx():
        return "", 401, {"HX-Redirect": url_for("auth.login")}
    if request.method == "GET":
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    return redirect(url_for("auth.login"))


def _bad_input(error: BadInput):
    return render_error(_("This request cannot be served: %(field)s is invalid (%(message)s).", field=error.field,
                          message=error.message), 400, field=error.field)


def _unavailable(error: SalesforceUnavailable):
    current_app.logger.warning("Salesforce unavailable: %s", error.message)
    return render_error(_("Salesforce is not answering right now. Please try again in a moment."), 503, retry=True)


def _refused(error: SalesforceError):
    current_app.logger.warning("Salesforce refused a request: %s (%s)", error.message, error.error_code)
    if error.error_code == API_DISABLED_FOR_ORG:
        return render_error(str(API_DISABLED_MESSAGE), 502)
    return render_error(_("Salesforce refused the request: %(message)s", message=error.message), 502)


def _csrf_failed(error: CSRFError):
    return render_error(_("This form has expired or did not come from the panel (%(reason)s). "
                          "Reload the panel and try again.", reason=error.description), 400)


def _too_large(error: RequestEntityTooLarge):
    return render_error(_("The request is too large."), 413)


def _internal_error(error: InternalServerError):
    return render_error(_("Something went wrong in the panel. Please try again."), 500, retry=True)


def _http_error(error: HTTPException):
    if error.code is None or error.code < 400:
        return error
    messages = {404: _("This page does not exist."), 405: _("This action is not allowed here.")}
    return render_error(messages.get(error.code, error.description or error.name), error.code)

