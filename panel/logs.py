"""Keeping callers' phone numbers and OAuth secrets out of every log line the process writes.

The panel's own messages avoid them, but other lines carry them by nature: werkzeug's and gunicorn's access logs
print `GET /panel?phone=03-1234-5678 …` and `/auth/callback?code=…&state=…`; the local org's access log prints the
SOSL the panel sends (`/search?q=FIND+{0312345678}…`); a Salesforce error's traceback repeats the request URL and
the query text. Redacting each logger's messages one by one would miss some, so `install()` wraps the process's log
record factory: every record, from any logger and thread, has its message (and its traceback text) redacted once,
when it is made, before any handler or formatter sees it.

What is masked (`redact`):

- the values of query parameters that carry numbers or secrets (`SENSITIVE_PARAMS`), and secrets logged as
  `name: value` pairs;
- bearer and OAuth tokens (`Bearer …`, Salesforce's `00D…!…` access tokens and `5Aep…` refresh tokens);
- digit runs that look like a phone number: 9 to 15 digits (half- or full-width) with the punctuation people put
  between them. Dates, times, IP addresses, counts and Salesforce ids (digits next to letters) are left alone.

`RedactingFilter` does the same as a `logging.Filter`, for logging configurations that set up their own handlers
(e.g. a gunicorn `logconfig_dict`).
"""

from __future__ import annotations

import logging
import re
import traceback

__all__ = ["MASK", "RedactingFilter", "SENSITIVE_PARAMS", "install", "redact"]

MASK = "[redacted]"
SENSITIVE_PARAMS = ("phone", "q", "external_number", "number", "code", "state", "token", "access_token",
                    "refresh_token", "code_verifier", "client_secret", "assertion", "id_token")

_PARAM = re.compile(r"(?i)(?<![A-Za-z0-9_])((?:%s)=)[^&\s<>]*" % "|".join(map(re.escape, SENSITIVE_PARAMS)))
# The same secrets written as `name: 'value'` or `"name": "value"` (authlib logs its PKCE verifier so at DEBUG).
_KEYED = re.compile(r"(?i)(?<![A-Za-z0-9_])((?:code_verifier|client_secret|access_token|refresh_token|assertion)"
                    r"[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+")
_TOKEN = re.compile(r"(?i)\b(bearer|oauth)\s+[A-Za-z0-9!._~+/=-]{16,}"
                    r"|\b00D[A-Za-z0-9]{12,15}![^\s\"',;&]+|\b5Aep[A-Za-z0-9._~+/=-]{20,}")
# Digits are half- or full-width (\d is Unicode); separators are what people type inside numbers, also in URLs.
_DIGIT_OR_LETTER = r"0-9A-Za-z_\uff10-\uff19\uff21-\uff3a\uff41-\uff5a"
_SEPARATOR = r"(?:[\s\-.()/\u2010-\u2015\u2212\u30fc\uff08\uff09\uff0d\uff0e]|%20|%2[dD89])"
_PHONE = re.compile(rf"(?:(?<![{_DIGIT_OR_LETTER}])|(?<=%[0-9A-Fa-f]{{2}}))(?:\+|\uff0b|%2[bB])?"
                    rf"\d(?:{_SEPARATOR}{{0,3}}\d){{8,14}}(?![{_DIGIT_OR_LETTER}])")
_NOT_A_PHONE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$|^\d{4}-\d{2}-\d{2}")  # an IPv4 address, an ISO date


def redact(text: str) -> str:
    """`text` with phone numbers and secrets masked."""
    if not text:
        return text
    text = _PARAM.sub(lambda m: m.group(1) + MASK, text)
    text = _KEYED.sub(lambda m: m.group(1) + MASK, text)
    text = _TOKEN.sub(lambda m: (m.group(1) + " " + MASK) if m.group(1) else MASK, text)
    return _PHONE.sub(lambda m: m.group(0) if _NOT_A_PHONE.match(m.group(0)) else MASK, text)


def _redact_record(record: logging.LogRecord) -> logging.LogRecord:
    try:
        message = record.getMessage()
    except Exception:  # a malformed %-format: leave it for the handler to report, as logging does
        return record
    record.msg, record.args = redact(message), None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class RedactingFilter(logging.Filter):
    """A filter that redacts a record in place and always lets it through."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


def install() -> None:
    """Redact every log record this process makes from now on. Safe to call more than once."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "panel_redacts", False):
        return

    def redacting_factory(*args, **kwargs) -> logging.LogRecord:
        return _redact_record(factory(*args, **kwargs))

    redacting_factory.panel_redacts = True
    logging.setLogRecordFactory(redacting_factory)
