"""The few ways a Salesforce call can fail, as the rest of the panel needs to tell them apart.

Callers decide what to show from the class alone:

- `ReconnectRequired`: the user's grant is gone (refresh token revoked or expired, user deactivated). Only signing
  in again helps.
- `SalesforceUnavailable`: worth trying again later — timeouts, connection failures, 5xx answers, the org's API
  request limit (`REQUEST_LIMIT_EXCEEDED`) and record lock contention (`UNABLE_TO_LOCK_ROW`).
- `SalesforceRequestError`: Salesforce refused this request (a 4xx with an `errorCode`, e.g. `INVALID_FIELD`,
  `REQUIRED_FIELD_MISSING`); retrying the same request will not help. `NotFound` is the 404 case.

Every error carries what Salesforce said: `error_code`, `fields`, `status` and the parsed `errors` body.
"""

from __future__ import annotations

from typing import Any, Sequence

__all__ = [
    "NotFound",
    "ReconnectRequired",
    "SalesforceError",
    "SalesforceRequestError",
    "SalesforceUnavailable",
    "TRANSIENT_ERROR_CODES",
]

# errorCodes that describe the org's momentary state rather than the request.
TRANSIENT_ERROR_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED", "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"})


class SalesforceError(Exception):
    """Base of every failure the Salesforce boundary raises."""

    def __init__(self, message: str, *, error_code: str | None = None, status: int | None = None,
                 fields: Sequence[str] = (), errors: Any = None, response: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code
        self.status = status
        self.fields = list(fields or ())
        self.errors = errors
        self.response = response

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, error_code={self.error_code!r}, status={self.status!r})"


class ReconnectRequired(SalesforceError):
    """The stored grant no longer works; the user has to sign in to Salesforce again."""


class SalesforceUnavailable(SalesforceError):
    """Salesforce could not answer now (transient); the same request may succeed later."""


class SalesforceRequestError(SalesforceError):
    """Salesforce refused the request itself; `error_code` and `fields` say why."""


class NotFound(SalesforceRequestError):
    """The record or resource does not exist (or is not visible to this user)."""
