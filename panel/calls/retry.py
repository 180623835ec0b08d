"""When a failed Salesforce call is worth retrying, and how long to wait before the next try.

Logging a call must survive Salesforce being slow, locked or over its API limit for hours, without all waiting jobs
hammering the org at the same moment when it comes back. Delays therefore grow exponentially up to a cap and are
drawn uniformly below that ceiling ("full jitter"), which spreads the retries of many jobs apart.

Transient: timeouts and dropped connections, HTTP 408/429/5xx, and the error codes REQUEST_LIMIT_EXCEEDED,
UNABLE_TO_LOCK_ROW, SERVER_UNAVAILABLE (and QUERY_TIMEOUT). Everything else (validation errors, missing access, a
deleted record) will fail the same way again and belongs in the review queue. An expired session is neither: the
caller refreshes the token.

Nothing in this module talks to Salesforce or Flask.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import requests
from simple_salesforce.exceptions import SalesforceError

__all__ = ["TRANSIENT_ERROR_CODES", "backoff_delay", "error_codes", "is_transient", "outcome_unknown"]

TRANSIENT_ERROR_CODES = frozenset({
    "REQUEST_LIMIT_EXCEEDED", "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "QUERY_TIMEOUT", "TIMEOUT",
})
# Codes that prove the request was refused before anything was written.
_REFUSED_BEFORE_WRITE = frozenset({"REQUEST_LIMIT_EXCEEDED", "UNABLE_TO_LOCK_ROW"})
_TRANSIENT_STATUSES = frozenset({408, 429})
_MAX_DOUBLINGS = 64


def backoff_delay(attempt: int, *, base: float = 2.0, cap: float = 3600.0,
                  rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retry number `attempt` (1 for the first retry): uniform in [0, min(cap, base·2^(n-1))).

    `rng` returns a float in [0, 1); tests pass a fixed one.
    """
    if attempt < 1:
        raise ValueError("attempt counts retries from 1")
    doublings = min(attempt - 1, _MAX_DOUBLINGS)
    ceiling = min(cap, base * 2.0 ** doublings)
    return rng() * ceiling


def is_transient(error: BaseException | int | str) -> bool:
    """Whether `error` (an exception, an HTTP status or a Salesforce error code) may succeed when retried."""
    if isinstance(error, bool):
        raise TypeError("expected an exception, an HTTP status or an error code")
    if isinstance(error, int):
        return error >= 500 or error in _TRANSIENT_STATUSES
    if isinstance(error, str):
        return error.strip().upper() in TRANSIENT_ERROR_CODES
    if isinstance(error, (requests.Timeout, requests.ConnectionError, TimeoutError, ConnectionError)):
        return True
    if isinstance(error, SalesforceError):
        codes = error_codes(error)
        return is_transient(error.status) or any(code in TRANSIENT_ERROR_CODES for code in codes)
    return False


def outcome_unknown(error: BaseException) -> bool:
    """Whether a failed write may nevertheless have been applied, so the retry must look before it writes again.

    A read timeout, a dropped connection or a server error can hide a Task that was created; a connect timeout or a
    refusal for limits or locks cannot.
    """
    if isinstance(error, requests.ConnectTimeout):
        return False
    if isinstance(error, (requests.Timeout, requests.ConnectionError, TimeoutError, ConnectionError)):
        return True
    if isinstance(error, SalesforceError):
        if set(error_codes(error)) & _REFUSED_BEFORE_WRITE:
            return False
        return error.status >= 500
    return False


def error_codes(error: SalesforceError) -> list[str]:
    """The `errorCode`s in a Salesforce error response (simple-salesforce keeps the decoded body or its text)."""
    content: Any = error.content
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except ValueError:
            return []
    if isinstance(content, dict):
        content = [content]
    if not isinstance(content, list):
        return []
    return [str(item.get("errorCode")) for item in content if isinstance(item, dict) and item.get("errorCode")]
