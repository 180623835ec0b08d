"""Errors the local org answers with, shaped like Salesforce's: `[{"message", "errorCode", "fields"}]`."""

from __future__ import annotations


class ApiError(Exception):
    """An error the REST layer turns into a Salesforce-shaped JSON error response."""

    def __init__(self, status: int, error_code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields or []

    def body(self) -> list[dict]:
        return [{"message": self.message, "errorCode": self.error_code, "fields": self.fields}]


def malformed_query(message: str) -> ApiError:
    return ApiError(400, "MALFORMED_QUERY", message)


def malformed_search(message: str) -> ApiError:
    return ApiError(400, "MALFORMED_SEARCH", message)


def invalid_field(message: str, fields: list[str] | None = None) -> ApiError:
    return ApiError(400, "INVALID_FIELD", message, fields)


def invalid_type(message: str) -> ApiError:
    return ApiError(400, "INVALID_TYPE", message)


def malformed_id(message: str, fields: list[str] | None = None) -> ApiError:
    return ApiError(400, "MALFORMED_ID", message, fields)
