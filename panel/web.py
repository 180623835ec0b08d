"""What every view of the panel does the same way, in one place.

- `is_htmx()`: the request came from htmx (`HX-Request: true`), so it wants a fragment, not a page.
- `render(...)`: one template as the answer (status, extra headers); `page_or_fragment(...)`: the page, or for
  htmx only its fragment, from one URL, with `Vary: HX-Request` so no cache hands one to the other.
- `BadInput`: a parameter the panel's own pages never send wrong. Views raise it while parsing; the answer is a 400
  naming the field (`bad_input_handler` for a blueprint whose fragments need their own root, else the app-wide
  handler in `panel.errors`), never a 500.
- `refusal(...)`: a write Salesforce did not take, as the form shows it: a rejection of the record's fields
  (validation rule, bad value) as errors by field (`field_errors`), 422; Salesforce unreachable, 503; the request
  itself refused, 502.
- `app_settings(build)`: settings built once per app from its checked config and handed to domain code, which does
  not read `current_app` itself (`forget_settings(app)` after changing the config, as a restart would).

Views stay thin: parse the input (raising `BadInput`), call the domain, render one template.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, TypeVar

from flask import Flask, Response, current_app, jsonify, render_template, request

from panel.salesforce.errors import SalesforceRequestError, SalesforceUnavailable

__all__ = ["SALESFORCE_FAILURES", "BadInput", "Refusal", "app_settings", "bad_input_handler", "body_within",
           "field_errors", "forget_settings", "is_htmx", "json_answer", "page_or_fragment", "refusal", "render"]

_T = TypeVar("_T")
_SETTINGS_KEY = "panel.settings"


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


class BadInput(ValueError):
    """A parameter the panel's own pages never send wrong: answered 400, naming `field`."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def render(template: str, context: Mapping[str, Any], status: int = 200,
           headers: Mapping[str, str] | None = None, *, vary_on_htmx: bool = False) -> Response:
    """One template as the whole answer (a page, or an htmx fragment with its stable root id). `vary_on_htmx`
    where the same URL answers differently for htmx."""
    response = current_app.make_response((render_template(template, **context), status))
    response.headers.update(headers or {})
    if vary_on_htmx:
        response.vary.add("HX-Request")
    return response


def page_or_fragment(page: str, fragment: str, context: Mapping[str, Any], status: int = 200) -> Response:
    """The fragment for htmx, the page (which includes that fragment) otherwise; one URL serves both."""
    return render(fragment if is_htmx() else page, context, status, vary_on_htmx=True)


def bad_input_handler(template: str) -> Callable[[BadInput], Response]:
    """The 400 answer of a blueprint whose fragments must keep their root (the pop's `#pop`): `template` gets
    `field` and `message`."""

    def answer(error: BadInput) -> Response:
        return render(template, {"field": error.field, "message": error.message}, 400, vary_on_htmx=True)

    return answer


def field_errors(problems: Iterable[Any], fields: Mapping[str, str], *, other: str = "_form") -> dict[str, str]:
    """Salesforce's problems (each with `field`, the API name it blamed or None, and `message`) as errors by form
    field: `fields` maps a Salesforce field to the form field showing it; the rest go to `other`, the form's own
    message. Several problems with one field are joined."""
    errors: dict[str, str] = {}
    for problem in problems:
        key = fields.get(problem.field or "", other)
        errors[key] = f"{errors[key]} {problem.message}" if key in errors else problem.message
    return errors


# What a write can meet besides its own rejection; the rest (a lost grant: sign in again) goes to panel.errors.
SALESFORCE_FAILURES = (SalesforceUnavailable, SalesforceRequestError)


@dataclass(frozen=True)
class Refusal:
    """Why Salesforce did not take a write, as the form shows it: `errors` by form field, and `failure` when
    Salesforce could not be asked or refused the request itself (what was typed is kept either way)."""

    status: int
    errors: dict[str, str]
    failure: str | None = None

    def messages(self, other: str) -> dict[str, str]:
        """Every message by field, the failure under `other`: for a form without a place of its own for it."""
        return {**self.errors, other: self.failure} if self.failure else dict(self.errors)


def refusal(error: Exception, fields: Mapping[str, str], *, unreachable: str, refused: Callable[[str], str],
            other: str = "_form") -> Refusal:
    """A write's failure (its rejection, which carries `problems`, or one of `SALESFORCE_FAILURES`) as the form
    shows it. `unreachable` is the message for a Salesforce that did not answer; `refused(message)` words a
    refusal of the request itself around Salesforce's own message."""
    if isinstance(error, SalesforceUnavailable):
        return Refusal(503, {}, str(unreachable))
    if isinstance(error, SalesforceRequestError):
        return Refusal(502, {}, str(refused(error.message)))
    return Refusal(422, field_errors(error.problems, fields, other=other))


def app_settings(build: Callable[[Mapping[str, Any]], _T]) -> _T:
    """`build(app.config)`, made once per app and then reused: the settings a domain module is handed.

    The config is complete and checked when the app starts (panel.config), so the first request builds the same
    settings as any later one would."""
    built = current_app.extensions.setdefault(_SETTINGS_KEY, {})
    if build not in built:
        built[build] = build(current_app.config)
    return built[build]


def forget_settings(app: Flask) -> None:
    """Build the settings again from `app.config` on their next use: what a restart does after the config changed."""
    app.extensions.pop(_SETTINGS_KEY, None)


# -- webhooks (the panel's own and the dialers') -------------------------------------------------------------------

def json_answer(body: dict, status: int, headers: Mapping[str, str] | None = None) -> Response:
    """A webhook's JSON answer; an app context is enough (the call-event intake answers without a request context)."""
    response = jsonify(body)
    response.status_code = status
    response.headers.update(dict(headers or {}))
    return response


def body_within(incoming, limit: int) -> bytes | None:
    """The raw body of a request (werkzeug's or Flask's), or None when it is larger than `limit` bytes, whatever
    Content-Length claims; read no further than that."""
    declared = incoming.content_length
    if declared is not None and declared > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while size <= limit:  # one read may return less than asked (chunked bodies, some servers)
        chunk = incoming.stream.read(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return None if size > limit else b"".join(chunks)
