"""What we know about one call, folded from its events in whatever order and however often they arrive.

Dialers retry, networks reorder, and webhook deliveries race each other, so `apply` is built so that the order and
repetition of events cannot change the outcome: folding any permutation of any multiset of a call's events gives
the same `CallState`. Every part of the state is either a set union (seen event ids), a minimum (first ringing and
answered times) or a maximum under one fixed total order of events (the event that supplies the call's details,
and the `call.ended` event that supplies its end facts). Each of those is idempotent, commutative and associative,
so their combination is too.

Choices worth knowing:
- An event whose `event_id` was already applied is ignored: an id names one event, and the webhook already
  answers 200 "duplicate" for it.
- Direction, internal flag, agent and number come from the most authoritative event: `call.ended` before
  `call.answered` before `call.ringing`, then the latest, then the greatest event id. The same order picks the end
  facts when a dialer sends two different `call.ended` events for one call.
- A call counts as answered when its end event says so *or* a `call.answered` event arrived: losing a real
  conversation from the log is worse than logging one call the dialer later described as unanswered.
- Times are stored in UTC, so equal instants sent with different offsets give equal states.

Nothing in this module talks to Salesforce or Flask.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from panel.calls.events import CallEvent

__all__ = ["CallState", "EndFacts", "apply", "fold"]

_TYPE_RANK = {"call.ringing": 1, "call.answered": 2, "call.ended": 3}


@dataclass(frozen=True)
class EndFacts:
    """What the `call.ended` event reported."""

    event_id: str
    ended_at: datetime  # UTC
    answered: bool
    duration_seconds: int
    recording_url: str | None = None
    voicemail_url: str | None = None
    disposition: str | None = None


@dataclass(frozen=True)
class CallState:
    """The folded state of one call. Build it with `apply`; store it with `as_json` / `from_json`."""

    call_id: str
    event_ids: frozenset[str]
    direction: str
    internal: bool
    agent_email: str
    external_number: str
    details_key: tuple[int, datetime, str]  # the order key of the event that supplied the four fields above
    ringing_at: datetime | None = None  # earliest, UTC
    answered_at: datetime | None = None  # earliest, UTC
    end: EndFacts | None = None

    @property
    def status(self) -> str:
        """"ended", "answered" or "ringing": how far the call got, whatever order its events came in."""
        if self.end is not None:
            return "ended"
        return "answered" if self.answered_at is not None else "ringing"

    @property
    def answered(self) -> bool:
        return self.answered_at is not None or (self.end is not None and self.end.answered)

    @property
    def duration_seconds(self) -> int:
        return self.end.duration_seconds if self.end else 0

    @property
    def recording_url(self) -> str | None:
        return self.end.recording_url if self.end else None

    @property
    def voicemail_url(self) -> str | None:
        return self.end.voicemail_url if self.end else None

    @property
    def disposition(self) -> str | None:
        return self.end.disposition if self.end else None

    @property
    def started_at(self) -> datetime:
        """The earliest moment known to belong to the call (UTC): what its local date is taken from.

        Without ringing or answered events, the end time minus the duration stands in for the start.
        """
        moments = [m for m in (self.ringing_at, self.answered_at) if m is not None]
        if self.end is not None:
            moments.append(self.end.ended_at - timedelta(seconds=self.end.duration_seconds))
        if not moments:
            return self.details_key[1]
        return min(moments)

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict that `from_json` turns back into an equal state."""
        end = self.end
        return {
            "call_id": self.call_id,
            "event_ids": sorted(self.event_ids),
            "direction": self.direction,
            "internal": self.internal,
            "agent_email": self.agent_email,
            "external_number": self.external_number,
            "details_key": [self.details_key[0], self.details_key[1].isoformat(), self.details_key[2]],
            "ringing_at": _iso(self.ringing_at),
            "answered_at": _iso(self.answered_at),
            "end": None if end is None else {
                "event_id": end.event_id, "ended_at": end.ended_at.isoformat(), "answered": end.answered,
                "duration_seconds": end.duration_seconds, "recording_url": end.recording_url,
                "voicemail_url": end.voicemail_url, "disposition": end.disposition,
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallState:
        end = data.get("end")
        rank, moment, event_id = data["details_key"]
        return cls(
            call_id=data["call_id"],
            event_ids=frozenset(data["event_ids"]),
            direction=data["direction"],
            internal=data["internal"],
            agent_email=data["agent_email"],
            external_number=data["external_number"],
            details_key=(rank, datetime.fromisoformat(moment), event_id),
            ringing_at=_parse(data.get("ringing_at")),
            answered_at=_parse(data.get("answered_at")),
            end=None if end is None else EndFacts(**{**end, "ended_at": datetime.fromisoformat(end["ended_at"])}),
        )


def apply(state: CallState | None, event: CallEvent) -> CallState:
    """The state after `event`. Applying the same events in any order, any number of times, gives one result."""
    if state is not None and state.call_id != event.call_id:
        raise ValueError(f"event {event.event_id!r} belongs to another call than {state.call_id!r}")
    if state is not None and event.event_id in state.event_ids:
        return state

    moment = event.occurred_at.astimezone(timezone.utc)
    key = (_TYPE_RANK[event.type], moment, event.event_id)
    if state is None:
        state = CallState(call_id=event.call_id, event_ids=frozenset(), direction=event.direction,
                          internal=event.internal, agent_email=event.agent_email,
                          external_number=event.external_number, details_key=key)
    elif key > state.details_key:
        state = replace(state, direction=event.direction, internal=event.internal, agent_email=event.agent_email,
                        external_number=event.external_number, details_key=key)

    state = replace(state, event_ids=state.event_ids | {event.event_id})
    if event.type == "call.ringing":
        return replace(state, ringing_at=_earliest(state.ringing_at, moment))
    if event.type == "call.answered":
        return replace(state, answered_at=_earliest(state.answered_at, moment))
    end = EndFacts(event_id=event.event_id, ended_at=moment, answered=bool(event.answered),
                   duration_seconds=event.duration_seconds or 0, recording_url=event.recording_url,
                   voicemail_url=event.voicemail_url, disposition=event.disposition)
    if state.end is None or (end.ended_at, end.event_id) > (state.end.ended_at, state.end.event_id):
        state = replace(state, end=end)
    return state


def fold(events, state: CallState | None = None) -> CallState | None:
    """`apply` over several events (None when there are none and no state to start from)."""
    for event in events:
        state = apply(state, event)
    return state


def _earliest(current: datetime | None, moment: datetime) -> datetime:
    return moment if current is None or moment < current else current


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
