"""Salesforce record Ids as the panel receives them back from its own pages: checked before any query carries one.

An Id is 15 case-sensitive letters and digits, or those 15 followed by a 3-character suffix that spells which of
them are capital letters (so the Id survives systems that ignore case). Salesforce refuses an 18-character Id whose
suffix does not match (`MALFORMED_ID`), so the panel refuses it first, as bad input rather than a failed request.
"""

from __future__ import annotations

import re

__all__ = ["KEY_PREFIXES", "is_record_id", "record_key", "record_type_of"]

_SHAPE = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Z0-5]{3})?$")
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
# An Id's first three characters name its object: the ones the panel shows or logs calls against.
KEY_PREFIXES = {"003": "Contact", "00Q": "Lead", "001": "Account", "006": "Opportunity"}


def _case_suffix(id15: str) -> str:
    letters = ""
    for start in (0, 5, 10):
        bits = sum(1 << offset for offset, char in enumerate(id15[start:start + 5]) if "A" <= char <= "Z")
        letters += _SUFFIX_ALPHABET[bits]
    return letters


def is_record_id(text: object) -> bool:
    """True for a well-formed 15-character Id or an 18-character one whose suffix matches its first 15."""
    if not isinstance(text, str) or not _SHAPE.match(text):
        return False
    return len(text) == 15 or text[15:] == _case_suffix(text[:15])


def record_key(record_id: str) -> str:
    """The 15-character form, the same for both forms of one Id: what to compare and key records by."""
    return record_id[:15]


def record_type_of(record_id: str | None) -> str | None:
    """The object an Id belongs to, among `KEY_PREFIXES`; None for any other."""
    return KEY_PREFIXES.get((record_id or "")[:3])
