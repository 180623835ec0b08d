"""Salesforce record Ids as the panel receives them back from its own pages: checked before any query carries one.

An Id is 15 case-sensitive letters and digits, or those 15 followed by a 3-character suffix that spells which of
them are capital letters (so the Id survives systems that ignore case). Salesforce refuses an 18-character Id whose
suffix does not match (`MALFORMED_ID`), so the panel refuses it first, as bad input rather than a failed request.
"""

from __future__ import annotations

import re

__all__ = ["is_record_id"]

_SHAPE = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Z0-5]{3})?$")
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


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
