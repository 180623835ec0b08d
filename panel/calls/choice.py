"""Which record an ended call is logged against: the whole order, in one rule.

1. The record the agent's note named during the call (its WhoId, else its WhatId): the agent said so in writing.
2. The record the agent picked in the panel during this very call.
3. The record remembered for the number (the last pick anyone made for it), but only while that record still has
   the number: `panel.callers.matching.decide` falls back to the pick list when it no longer does.
4. The single verified match for the number.
5. Otherwise a person decides: the review queue, because there are several matches or none.

Steps 3 and 4 start from the matches the ringing call's pre-fetch kept, when there are some. Before the call goes to
a person the number is looked up once more: an agent may have created or fixed the record during the call.

Nothing in this module talks to Salesforce, Flask or the database: `panel.calls.pipeline` gathers the facts and the
way to look the number up, and carries the answer out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from panel.callers.matching import Candidate, decide
from panel.salesforce.ids import record_type_of

__all__ = ["Chosen", "ToReview", "choose_record"]

Source = Literal["note", "call_pick", "remembered", "single"]


class Picked(Protocol):
    """A record someone picked: the call's pick (panel.callers.picks.CallPick) has these two."""

    record_id: str
    record_type: str


@dataclass(frozen=True)
class Chosen:
    """The record to log the call against, and which rule chose it (kept as the call's `record_source`)."""

    record_id: str
    record_type: str | None
    source: Source


@dataclass(frozen=True)
class ToReview:
    """No rule chose a record: a person must, because the number has `several` matches or `none`."""

    reason: Literal["several", "none"]


def choose_record(*, note_record_id: str | None, picked_during_call: Picked | None, remembered_pick: str | None,
                  matches_seen: Sequence[Candidate] | None,
                  look_up: Callable[[], Sequence[Candidate]]) -> Chosen | ToReview:
    """The record an ended call is logged against, in the order of the module docstring.

    `note_record_id`: the record the agent's note named, if any. `picked_during_call`: the call's own pick.
    `remembered_pick`: the Id of the number's remembered pick. `matches_seen`: the verified, ranked matches the
    call kept (None when it kept none); `look_up()` looks the number up now and returns them. Nothing is looked up
    when a note or a pick decides.
    """
    if note_record_id:
        return Chosen(note_record_id, record_type_of(note_record_id), "note")
    if picked_during_call is not None:
        return Chosen(picked_during_call.record_id, picked_during_call.record_type, "call_pick")
    decision = decide(look_up() if matches_seen is None else matches_seen, remembered_pick)
    if decision.kind not in ("single", "remembered"):
        decision = decide(look_up(), remembered_pick)  # the record may have been created or fixed meanwhile
    if decision.kind in ("single", "remembered"):
        return Chosen(decision.record.record_id, decision.record.record_type, decision.kind)
    return ToReview("several" if decision.kind == "several" else "none")
