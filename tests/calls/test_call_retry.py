"""Which Salesforce failures a call-logging job retries, how long it waits, and when it must look before rewriting."""

from __future__ import annotations

import json

import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from panel.calls.retry import backoff_delay, error_codes, is_transient, outcome_unknown

URL = "https://example.my.salesforce.com/services/data/v62.0/sobjects/Task/"


def sf_error(cls, status: int, code: str, as_text: bool = False) -> SalesforceError:
    content = [{"errorCode": code, "message": "x", "fields": []}]
    return cls(URL, status, "Task", json.dumps(content) if as_text else content)


@pytest.mark.parametrize("attempt, ceiling", [(1, 2.0), (2, 4.0), (3, 8.0), (11, 2048.0), (12, 3600.0),
                                              (13, 3600.0), (10_000, 3600.0)])
def test_backoff_ceiling_doubles_up_to_the_cap(attempt, ceiling):
    assert backoff_delay(attempt, rng=lambda: 0.999999) == pytest.approx(ceiling * 0.999999)
    assert backoff_delay(attempt, rng=lambda: 0.0) == 0.0
    assert backoff_delay(attempt, rng=lambda: 0.5) == pytest.approx(ceiling / 2)


def test_backoff_is_jittered_below_the_ceiling():
    delays = [backoff_delay(5, base=1.0, cap=100.0) for _ in range(200)]
    assert all(0 <= delay < 16 for delay in delays)
    assert len(set(delays)) > 150


def test_retries_keep_going_for_hours_on_average():
    expected_total = sum(backoff_delay(n, rng=lambda: 0.5) for n in range(1, 25))
    assert expected_total > 5 * 3600


@pytest.mark.parametrize("attempt", [0, -1])
def test_backoff_counts_retries_from_one(attempt):
    with pytest.raises(ValueError):
        backoff_delay(attempt)


@pytest.mark.parametrize("error, transient", [
    (500, True), (502, True), (503, True), (504, True), (408, True), (429, True),
    (400, False), (401, False), (403, False), (404, False), (200, False),
    ("REQUEST_LIMIT_EXCEEDED", True), ("UNABLE_TO_LOCK_ROW", True), ("SERVER_UNAVAILABLE", True),
    ("unable_to_lock_row", True), ("TIMEOUT", True),
    ("INVALID_CROSS_REFERENCE_KEY", False), ("FIELD_INTEGRITY_EXCEPTION", False), ("INVALID_SESSION_ID", False),
    (requests.ReadTimeout(), True), (requests.ConnectTimeout(), True), (requests.ConnectionError(), True),
    (TimeoutError(), True),
    (sf_error(SalesforceRefusedRequest, 403, "REQUEST_LIMIT_EXCEEDED"), True),
    (sf_error(SalesforceMalformedRequest, 400, "UNABLE_TO_LOCK_ROW"), True),
    (sf_error(SalesforceGeneralError, 503, "SERVER_UNAVAILABLE"), True),
    (sf_error(SalesforceGeneralError, 500, "UNKNOWN_EXCEPTION"), True),
    (sf_error(SalesforceRefusedRequest, 403, "INSUFFICIENT_ACCESS_OR_READONLY"), False),
    (sf_error(SalesforceMalformedRequest, 400, "INVALID_CROSS_REFERENCE_KEY"), False),
    (sf_error(SalesforceMalformedRequest, 400, "UNABLE_TO_LOCK_ROW", as_text=True), True),
    (sf_error(SalesforceExpiredSession, 401, "INVALID_SESSION_ID"), False),
    (ValueError("bug"), False),
])
def test_transient_failures_are_told_from_permanent_ones(error, transient):
    assert is_transient(error) is transient


@pytest.mark.parametrize("error, unknown", [
    (requests.ReadTimeout(), True),
    (requests.ConnectionError(), True),
    (requests.ConnectTimeout(), False),
    (sf_error(SalesforceGeneralError, 500, "UNKNOWN_EXCEPTION"), True),
    (sf_error(SalesforceGeneralError, 503, "SERVER_UNAVAILABLE"), True),
    (sf_error(SalesforceRefusedRequest, 403, "REQUEST_LIMIT_EXCEEDED"), False),
    (sf_error(SalesforceMalformedRequest, 400, "UNABLE_TO_LOCK_ROW"), False),
    (sf_error(SalesforceMalformedRequest, 400, "REQUIRED_FIELD_MISSING"), False),
])
def test_a_write_that_may_have_happened_is_flagged_for_a_lookup_first(error, unknown):
    assert outcome_unknown(error) is unknown


@pytest.mark.parametrize("content, codes", [
    ([{"errorCode": "A"}, {"errorCode": "B"}], ["A", "B"]),
    ({"errorCode": "A"}, ["A"]),
    (b'[{"errorCode": "A"}]', ["A"]),
    ("<html>Bad gateway</html>", []),
    (None, []),
    ([{"message": "no code"}, "junk"], []),
])
def test_error_codes_are_read_from_whatever_body_simple_salesforce_kept(content, codes):
    assert error_codes(SalesforceGeneralError(URL, 500, "Task", content)) == codes
