"""Webhook signatures: proof that a call event comes from the dialer and was sent just now.

The dialer signs `"<unix seconds>.<raw body>"` with HMAC-SHA256 under a shared secret and sends
`X-Panel-Timestamp: <unix seconds>` and `X-Panel-Signature: v1=<hex>`. Signing the timestamp with the body lets us
refuse replays older than the tolerance; signing the raw bytes (not re-serialised JSON) means nothing can be
changed in transit, not even whitespace.

Secrets rotate without downtime from either side: the server may hold several secrets (the current
PANEL_WEBHOOK_SECRET and the previous one), and the dialer may send several comma-separated `v1=` values. One match
between any secret and any value is enough. Every comparison goes through `hmac.compare_digest`.

Nothing in this module talks to Salesforce or Flask.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "TOLERANCE_S",
    "SignatureError",
    "sign",
    "signature_headers",
    "verify_signature",
]

TIMESTAMP_HEADER = "X-Panel-Timestamp"
SIGNATURE_HEADER = "X-Panel-Signature"
TOLERANCE_S = 300
SCHEME = "v1"

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


class SignatureError(Exception):
    """The request cannot be trusted. `reason` is a short code for logs and tests, the message says it in words.

    Reasons: no_secret, missing_timestamp, missing_signature, malformed_timestamp, stale_timestamp,
    future_timestamp, no_v1_signature, mismatch.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def sign(secret: str, timestamp: int, raw_body: bytes) -> str:
    """The hex HMAC-SHA256 of `"<timestamp>.<raw body>"` under `secret`."""
    if not secret:
        raise ValueError("a webhook secret must not be empty")
    message = str(int(timestamp)).encode("ascii") + b"." + raw_body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_headers(secrets: str | Iterable[str], raw_body: bytes, timestamp: int) -> dict[str, str]:
    """The two headers a dialer sends with `raw_body`, signed by every given secret (as during a rotation)."""
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    values = ",".join(f"{SCHEME}={sign(secret, timestamp, raw_body)}" for secret in keys)
    return {TIMESTAMP_HEADER: str(int(timestamp)), SIGNATURE_HEADER: values}


def verify_signature(secrets: Iterable[str], timestamp_header: str | None, signature_header: str | None,
                     raw_body: bytes, now: float, tolerance_s: float = TOLERANCE_S) -> None:
    """Return quietly when one of `secrets` signed this body at a time within `tolerance_s` of `now`.

    Raises `SignatureError` otherwise. Empty secrets are ignored, so an unset "previous secret" setting never turns
    into a key anyone can sign with; with no usable secret at all every request is refused.
    """
    keys = [secret for secret in secrets if secret]
    if not keys:
        raise SignatureError("no_secret", "no webhook secret is configured")
    if not timestamp_header or not timestamp_header.strip():
        raise SignatureError("missing_timestamp", f"the {TIMESTAMP_HEADER} header is missing")
    if not signature_header or not signature_header.strip():
        raise SignatureError("missing_signature", f"the {SIGNATURE_HEADER} header is missing")

    stamp = timestamp_header.strip()
    if not _TIMESTAMP.fullmatch(stamp):
        raise SignatureError("malformed_timestamp", f"{TIMESTAMP_HEADER} must be whole Unix seconds")
    timestamp = int(stamp)
    if now - timestamp > tolerance_s:
        raise SignatureError("stale_timestamp", f"{TIMESTAMP_HEADER} is more than {tolerance_s:g} s in the past")
    if timestamp - now > tolerance_s:
        raise SignatureError("future_timestamp", f"{TIMESTAMP_HEADER} is more than {tolerance_s:g} s in the future")

    offered = _v1_values(signature_header)
    if offered is None:
        raise SignatureError("no_v1_signature", f"{SIGNATURE_HEADER} has no {SCHEME}= value")
    expected = [sign(secret, timestamp, raw_body).encode("ascii") for secret in keys]
    if not any(hmac.compare_digest(mine, theirs) for mine in expected for theirs in offered):
        raise SignatureError("mismatch", "the signature does not match the body")


def _v1_values(header: str) -> list[bytes] | None:
    """The `v1=` values in the header, as bytes ready for compare_digest; None when there is no `v1=` at all.

    Values that cannot be a SHA-256 hex digest are kept as an impossible value rather than dropped, so a header
    holding only garbage `v1=` values reads as a mismatch, not as "no signature".
    """
    values: list[bytes] | None = None
    for part in header.split(","):
        scheme, sep, value = part.strip().partition("=")
        if not sep or scheme.strip() != SCHEME:
            continue
        value = value.strip().lower()
        values = values if values is not None else []
        values.append(value.encode("ascii") if _HEX_DIGEST.fullmatch(value) else b"")
    return values
