"""Salesforce record ids: 15-character case-sensitive ids and their 18-character case-insensitive form.

The 3-character suffix encodes, for each 5-character chunk, which characters are upper-case letters, so that an id
survives case-insensitive systems. The API always returns 18-character ids and accepts either form.
"""

from __future__ import annotations

import re
import threading
import time

_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_SHAPE = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$")


def checksum_suffix(id15: str) -> str:
    suffix = ""
    for chunk_start in (0, 5, 10):
        bits = 0
        for position, char in enumerate(id15[chunk_start:chunk_start + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += _SUFFIX_ALPHABET[bits]
    return suffix


def to_18(record_id: str) -> str:
    """The 18-character form of a 15- or 18-character id (raises ValueError for anything else)."""
    if not _ID_SHAPE.match(record_id or ""):
        raise ValueError(f"not a Salesforce id: {record_id!r}")
    id15 = record_id[:15]
    full = id15 + checksum_suffix(id15)
    if len(record_id) == 18 and record_id.upper() != full.upper():
        raise ValueError(f"id checksum does not match: {record_id!r}")
    return full


def is_valid_id(record_id: str) -> bool:
    try:
        to_18(record_id)
    except (ValueError, TypeError):
        return False
    return True


class IdGenerator:
    """Mints ids for one key prefix: prefix + pod "0" + a base-62 counter, like Salesforce's own layout."""

    def __init__(self, org_marker: str = "5g") -> None:
        self._org_marker = org_marker
        self._lock = threading.Lock()

    def make(self, key_prefix: str, sequence: int) -> str:
        digits = ""
        n = sequence
        for _ in range(10):
            n, r = divmod(n, 62)
            digits = _BASE62[r] + digits
        id15 = f"{key_prefix}{self._org_marker}{digits}"[:15]
        return id15 + checksum_suffix(id15)


def base62_sequence_seed() -> int:
    """A start for sequences so that ids differ between resets of a long-running org."""
    return int(time.time() * 1000) % (62 ** 6)
