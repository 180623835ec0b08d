"""Webhook signatures: what a dialer must send for a call event to be trusted, and what gets refused."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from panel.calls.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    sign,
    signature_headers,
    verify_signature,
)

SECRET = "whsec_current"
PREVIOUS = "whsec_previous"
NOW = 1_795_000_000
BODY = b'{"event_id": "evt_1", "type": "call.ended", "call_id": "c1"}'


def verify(headers: dict[str, str | None], body: bytes = BODY, secrets=(SECRET,), now: float = NOW) -> None:
    verify_signature(list(secrets), headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER), body, now)


def test_signature_is_hmac_sha256_of_timestamp_dot_raw_body():
    expected = hmac.new(b"k", b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert sign("k", 1_700_000_000, BODY) == expected


def test_signature_headers_carry_timestamp_and_one_v1_value_per_secret():
    headers = signature_headers([SECRET, PREVIOUS], BODY, timestamp=NOW)
    assert headers[TIMESTAMP_HEADER] == str(NOW)
    assert headers[SIGNATURE_HEADER] == f"v1={sign(SECRET, NOW, BODY)},v1={sign(PREVIOUS, NOW, BODY)}"


@pytest.mark.parametrize("case, sent_with, server_secrets, sent_at", [
    ("current secret", [SECRET], [SECRET], NOW),
    ("dialer still on the previous secret", [PREVIOUS], [SECRET, PREVIOUS], NOW),
    ("dialer already on the new secret", [SECRET], [PREVIOUS, SECRET], NOW),
    ("dialer sends both during rotation", [PREVIOUS, SECRET], [SECRET], NOW),
    ("unset previous secret is ignored", [SECRET], [SECRET, ""], NOW),
    ("300 s in the past", [SECRET], [SECRET], NOW - 300),
    ("300 s in the future", [SECRET], [SECRET], NOW + 300),
])
def test_valid_signatures_are_accepted(case, sent_with, server_secrets, sent_at):
    verify(signature_headers(sent_with, BODY, timestamp=sent_at), secrets=server_secrets)


def test_signature_with_extra_whitespace_and_other_schemes_is_accepted():
    header = f" v0=deadbeef , v1={sign(SECRET, NOW, BODY).upper()} "
    verify({TIMESTAMP_HEADER: f" {NOW} ", SIGNATURE_HEADER: header})


def _signed(**overrides) -> dict[str, str | None]:
    headers: dict[str, str | None] = signature_headers(SECRET, BODY, timestamp=NOW)
    headers.update(overrides)
    return headers


@pytest.mark.parametrize("case, headers, body, secrets, reason", [
    ("stale by 301 s", signature_headers(SECRET, BODY, timestamp=NOW - 301), BODY, [SECRET], "stale_timestamp"),
    ("301 s in the future", signature_headers(SECRET, BODY, timestamp=NOW + 301), BODY, [SECRET],
     "future_timestamp"),
    ("forged with another secret", signature_headers("guess", BODY, timestamp=NOW), BODY, [SECRET], "mismatch"),
    ("tampered body", _signed(), BODY.replace(b"c1", b"c2"), [SECRET], "mismatch"),
    ("body with a trailing newline", _signed(), BODY + b"\n", [SECRET], "mismatch"),
    ("timestamp changed after signing", _signed(**{TIMESTAMP_HEADER: str(NOW + 1)}), BODY, [SECRET], "mismatch"),
    ("signed by a secret the server dropped", signature_headers(PREVIOUS, BODY, timestamp=NOW), BODY, [SECRET],
     "mismatch"),
    ("empty-key signature against an unset secret", signature_headers("x", BODY, timestamp=NOW), BODY, [""],
     "no_secret"),
    ("no timestamp header", _signed(**{TIMESTAMP_HEADER: None}), BODY, [SECRET], "missing_timestamp"),
    ("blank timestamp header", _signed(**{TIMESTAMP_HEADER: " "}), BODY, [SECRET], "missing_timestamp"),
    ("no signature header", _signed(**{SIGNATURE_HEADER: None}), BODY, [SECRET], "missing_signature"),
    ("empty signature header", _signed(**{SIGNATURE_HEADER: ""}), BODY, [SECRET], "missing_signature"),
    ("fractional timestamp", _signed(**{TIMESTAMP_HEADER: f"{NOW}.5"}), BODY, [SECRET], "malformed_timestamp"),
    ("negative timestamp", _signed(**{TIMESTAMP_HEADER: "-5"}), BODY, [SECRET], "malformed_timestamp"),
    ("non-ASCII digits", _signed(**{TIMESTAMP_HEADER: "１７９５０００００００"}), BODY, [SECRET],
     "malformed_timestamp"),
    ("timestamp in milliseconds", _signed(**{TIMESTAMP_HEADER: str(NOW * 1000)}), BODY, [SECRET],
     "malformed_timestamp"),
    ("signature without v1", _signed(**{SIGNATURE_HEADER: f"v0={sign(SECRET, NOW, BODY)}"}), BODY, [SECRET],
     "no_v1_signature"),
    ("bare hex without scheme", _signed(**{SIGNATURE_HEADER: sign(SECRET, NOW, BODY)}), BODY, [SECRET],
     "no_v1_signature"),
    ("v1 value that is not hex", _signed(**{SIGNATURE_HEADER: "v1=ｚｚ署名"}), BODY, [SECRET], "mismatch"),
    ("truncated v1 value", _signed(**{SIGNATURE_HEADER: f"v1={sign(SECRET, NOW, BODY)[:-2]}"}), BODY, [SECRET],
     "mismatch"),
])
def test_untrustworthy_requests_are_refused_with_the_reason(case, headers, body, secrets, reason):
    with pytest.raises(SignatureError) as refused:
        verify(headers, body=body, secrets=secrets)
    assert refused.value.reason == reason
    assert str(refused.value)


def test_stale_request_names_the_header_in_its_message():
    with pytest.raises(SignatureError, match="X-Panel-Timestamp.*300 s in the past"):
        verify(signature_headers(SECRET, BODY, timestamp=NOW - 301))


def test_an_empty_secret_cannot_be_used_to_sign():
    with pytest.raises(ValueError):
        sign("", NOW, BODY)
