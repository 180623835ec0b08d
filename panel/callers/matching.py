"""Which Salesforce records a call belongs to, and what the panel does about it.

The Salesforce layer turns SOSL hits and the recently-modified query into `Candidate`s; this module keeps the ones
whose phone fields really hold the caller's number (SOSL matches tokens, not numbers), orders them the way agents
expect (Contact before Account before Lead, then the freshest), and decides between showing one card, reopening the
record someone picked for this number before, or asking for a pick.

Nothing in this module talks to Salesforce or Flask.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal

from panel.phone import PhoneNumber, parse_caller
from panel.salesforce.ids import record_key

__all__ = ["DEFAULT_PRIORITY", "Candidate", "Decision", "decide", "rank", "same_record", "verify"]

DEFAULT_PRIORITY: tuple[str, ...] = ("Contact", "Account", "Lead")


@dataclass(frozen=True)
class Candidate:
    """One record that may be the caller, as read from Salesforce (every text field is untrusted data).

    `phones` maps each phone field's API name to its stored value (`{"Phone": "03-1234-5678", "MobilePhone":
    None}`); `last_modified` is a datetime or Salesforce's ISO text (`2024-05-01T10:00:00.000+0000`).
    `matched_field` is filled in by `verify`.
    """

    record_id: str
    record_type: str  # "Contact" | "Account" | "Lead"
    name: str
    company: str | None = None
    title: str | None = None
    owner_name: str | None = None
    phones: dict[str, str | None] = field(default_factory=dict)
    last_modified: datetime | str | None = None
    is_converted: bool = False
    extra: dict = field(default_factory=dict)
    matched_field: str | None = None

    @property
    def modified_at(self) -> datetime | None:
        """`last_modified` as an aware datetime (naive values are taken as UTC); None when missing or unreadable."""
        value = self.last_modified
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.strip())
            except ValueError:
                return None
        if not isinstance(value, datetime):
            return None
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def same_record(a: str | None, b: str | None) -> bool:
    """Whether two Salesforce Ids name one record: the 18-character form is the 15-character one plus a checksum."""
    return bool(a) and bool(b) and record_key(a) == record_key(b)


def _newest_first(candidate: Candidate) -> float:
    moment = candidate.modified_at
    return -moment.timestamp() if moment else float("inf")


def verify(candidates: Iterable[Candidate], number: PhoneNumber | str, default_region: str = "JP") -> list[Candidate]:
    """The candidates that really have the caller's number, each once, with the field that matched.

    A candidate is kept when one of its phone fields has the same E.164 as `number` (extensions ignored); the first
    such field in `phones` order becomes `matched_field`. Converted Leads are dropped: their person now lives on as
    a Contact. The same record arriving twice (from SOSL and from the recent-records query, possibly with 15- and
    18-character Ids) is kept once, the most recently modified copy winning. Input order is otherwise preserved.
    """
    wanted = number if isinstance(number, PhoneNumber) else parse_caller(number, default_region)
    if wanted is None:
        return []
    kept: dict[str, Candidate] = {}
    for candidate in candidates:
        if candidate.record_type == "Lead" and candidate.is_converted:
            continue
        matched = _matching_field(candidate, wanted, default_region)
        if matched is None:
            continue
        key = record_key(candidate.record_id)
        earlier = kept.get(key)
        if earlier is None or _newest_first(candidate) < _newest_first(earlier):
            kept[key] = dataclasses.replace(candidate, matched_field=matched)
    return list(kept.values())


def _matching_field(candidate: Candidate, wanted: PhoneNumber, default_region: str) -> str | None:
    for field_name, stored in candidate.phones.items():
        if not stored:
            continue
        parsed = parse_caller(stored, default_region)
        if parsed is not None and parsed.e164 == wanted.e164:
            return field_name
    return None


def rank(candidates: Iterable[Candidate], priority: Sequence[str] = DEFAULT_PRIORITY) -> list[Candidate]:
    """Order for display: record type by `priority` (types not listed come last), newest change first, then Id.

    The Id makes the order total, so the same data always gives the same pick list and the same single choice.
    """
    position = {record_type: index for index, record_type in enumerate(priority)}
    return sorted(candidates, key=lambda c: (position.get(c.record_type, len(position)), _newest_first(c),
                                             c.record_id))


DecisionKind = Literal["single", "remembered", "several", "none"]


@dataclass(frozen=True)
class Decision:
    """What the panel shows: `record` is the card to open for "single" and "remembered", None otherwise.

    `candidates` is always the full verified list in display order, so a "remembered" card can still offer the
    other records ("change the pick").
    """

    kind: DecisionKind
    candidates: tuple[Candidate, ...]
    record: Candidate | None = None


def decide(candidates: Sequence[Candidate], remembered_pick: str | None) -> Decision:
    """Choose between one card, the remembered pick, a pick list, or the no-match state.

    `candidates` must already be verified and ranked. One candidate is shown as is (nothing to choose, so any
    memory is beside the point). With several, a remembered pick is honoured only while it is still among them —
    a record whose number changed since the pick falls back to the pick list.
    """
    ordered = tuple(candidates)
    if not ordered:
        return Decision("none", ordered)
    if len(ordered) == 1:
        return Decision("single", ordered, ordered[0])
    for candidate in ordered:
        if same_record(candidate.record_id, remembered_pick):
            return Decision("remembered", ordered, candidate)
    return Decision("several", ordered)
