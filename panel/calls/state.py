"""What we know about one call, folded from its events in whatever order and however often they arrive.

Dialers retry, networks reorder, and webhook deliveries race each other, so `apply` is built so that the order and
repetition of events cannot change the outcome: folding any permutation of any multiset of a call's events gives
the same `CallState`. Every part of the state is either a set union (seen event ids, facts), a minimum (first
ringing and answered times, a fact's first moment) or a maximum under one fixed total order of events (the event
that supplies the call's details, and the `call.ended` event that supplies a leg's end facts). Each of those is
idempotent, commutative and associative, so their combination is too; everything else (the interaction's agent,
status, duration) is a function of those parts, computed when asked.

Choices worth knowing:
- An event whose `event_id` was already applied is ignored: an id names one event, and the webhook already
  answers 200 "duplicate" for it.
- A call is one *interaction* made of one or more *legs* (a transfer, a forward: `CallEvent.leg`). Each leg is
  folded on its own (`Leg`); the interaction is "ended" only when every leg it has seen has ended, "answered" when
  any leg was. Its agent is the one who handled it last: the agent of the leg connected latest, or, when no leg was
  connected, of the leg with the latest event (ties: the greatest leg id); legs whose agent the panel resolved
  come before legs whose agent it did not (a trunk's or an IVR's leg names nobody), so the call's agent is unknown
  only when no leg names a known one. Its duration is the time the customer
  spent connected: the length of the union of the legs' connected intervals (a single leg: its own duration, as
  the dialer reported it). Recording, voicemail and disposition come from the leg that ended last, else from any
  leg that has them.
- Direction, internal flag and number come from the most authoritative event: `call.ended` before
  `call.answered` before `call.ringing` before a fact, then the latest, then the greatest event id. Within a leg,
  the same order picks its agent and its end facts (when a dialer sends two different `call.ended` events).
- Facts that arrive after the call (`call.recording`, `call.transcript`, `call.summary`) are kept once each, keyed
  by their kind and their link or text, at the earliest moment they were reported. They change neither the
  status nor the agent nor the details (their rank is below ringing). A call with facts only has no leg yet.
- A leg counts as answered when its end event says so *or* a `call.answered` event arrived: losing a real
  conversation from the log is worse than logging one call the dialer later described as unanswered.
- Times are stored in UTC, so equal instants sent with different offsets give equal states.
- States stored by the version before legs (no `legs` key) are read as a call of one leg: the call itself.

Nothing in this module talks to Salesforce or Flask.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from panel.calls.events import CallEvent

__all__ = ["FACT_KINDS", "CallState", "EndFacts", "Fact", "Leg", "apply", "fold", "timed_out"]

_TYPE_RANK = {"call.recording": 0, "call.transcript": 0, "call.summary": 0,
              "call.ringing": 1, "call.answered": 2, "call.ended": 3}
# The kinds of facts, in the order the Task's Description lists them.
FACT_KINDS = ("recording", "voicemail", "transcript_url", "summary", "transcript")


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

    def as_json(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "ended_at": self.ended_at.isoformat(), "answered": self.answered,
                "duration_seconds": self.duration_seconds, "recording_url": self.recording_url,
                "voicemail_url": self.voicemail_url, "disposition": self.disposition}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EndFacts:
        return cls(**{**data, "ended_at": datetime.fromisoformat(data["ended_at"])})


@dataclass(frozen=True)
class Fact:
    """A recording or voicemail link, a transcript (link or text) or a summary that belongs to the call."""

    kind: str  # one of FACT_KINDS
    value: str
    at: datetime  # the earliest moment it was reported, UTC

    @property
    def key(self) -> str:
        """Names the fact on the call's row (`calls.facts_written`) without holding a transcript's whole text."""
        return f"{self.kind}:{hashlib.sha256(self.value.encode('utf-8')).hexdigest()[:32]}"

    @property
    def is_text(self) -> bool:
        return self.kind in ("summary", "transcript")


@dataclass(frozen=True)
class Leg:
    """One leg of the interaction, folded from the events that name it."""

    leg_id: str
    agent_email: str
    agent_ref: str | None
    key: tuple[int, datetime, str]  # the order key of the event that supplied the agent
    latest: tuple[datetime, str]  # (moment, event id) of its latest event
    ringing_at: datetime | None = None
    answered_at: datetime | None = None
    end: EndFacts | None = None

    @property
    def answered(self) -> bool:
        return self.answered_at is not None or (self.end is not None and self.end.answered)

    @property
    def connected_at(self) -> datetime | None:
        """When the customer was put through to this leg's agent; None when they never were."""
        if self.answered_at is not None:
            return self.answered_at
        if self.end is not None and self.end.answered:
            return self.end.ended_at - timedelta(seconds=self.end.duration_seconds)
        return None

    @property
    def last_moment(self) -> datetime:
        """The latest moment known of the leg (its end, else its latest event)."""
        return self.end.ended_at if self.end is not None else self.latest[0]

    def as_json(self) -> dict[str, Any]:
        return {"leg_id": self.leg_id, "agent_email": self.agent_email, "agent_ref": self.agent_ref,
                "key": [self.key[0], self.key[1].isoformat(), self.key[2]],
                "latest": [self.latest[0].isoformat(), self.latest[1]],
                "ringing_at": _iso(self.ringing_at), "answered_at": _iso(self.answered_at),
                "end": None if self.end is None else self.end.as_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Leg:
        rank, moment, event_id = data["key"]
        latest_moment, latest_id = data["latest"]
        return cls(leg_id=data["leg_id"], agent_email=data["agent_email"], agent_ref=data.get("agent_ref"),
                   key=(rank, datetime.fromisoformat(moment), event_id),
                   latest=(datetime.fromisoformat(latest_moment), latest_id),
                   ringing_at=_parse(data.get("ringing_at")), answered_at=_parse(data.get("answered_at")),
                   end=None if data.get("end") is None else EndFacts.from_json(data["end"]))


@dataclass(frozen=True)
class CallState:
    """The folded state of one call (an interaction of one or more legs). Build it with `apply`; store it with
    `as_json` / `from_json`."""

    call_id: str
    event_ids: frozenset[str]
    direction: str
    internal: bool
    external_number: str
    details_key: tuple[int, datetime, str]  # the order key of the event that supplied the fields above
    details_agent: tuple[str, str | None] = ("", None)  # that event's (agent_email, agent_ref): a call with no leg
    legs: tuple[Leg, ...] = ()  # sorted by leg id
    facts: tuple[Fact, ...] = ()  # sorted by (kind, value)

    # -- the interaction -------------------------------------------------------------------------------------------

    @property
    def leg_ids(self) -> tuple[str, ...]:
        return tuple(leg.leg_id for leg in self.legs)

    @property
    def has_named_legs(self) -> bool:
        """Whether the dialer names legs (a transfer may follow the end of the leg seen so far)."""
        return any(leg.leg_id != self.call_id for leg in self.legs)

    @property
    def handling_leg(self) -> Leg | None:
        """The leg of the agent who handled the call last (see the module docstring). Legs whose agent was
        resolved come first: a dialer's trunk or IVR leg names no agent of the panel's."""
        pool = [leg for leg in self.legs if leg.agent_email] or list(self.legs)
        connected = [leg for leg in pool if leg.connected_at is not None]
        if connected:
            return max(connected, key=lambda leg: (leg.connected_at, leg.leg_id))
        if pool:
            return max(pool, key=lambda leg: (leg.latest, leg.leg_id))
        return None

    @property
    def agent_email(self) -> str:
        leg = self.handling_leg
        return leg.agent_email if leg is not None else self.details_agent[0]

    @property
    def agent_ref(self) -> str | None:
        leg = self.handling_leg
        return leg.agent_ref if leg is not None else self.details_agent[1]

    @property
    def agent_emails(self) -> frozenset[str]:
        """Every agent any leg names (lower case), for who may add notes to the call."""
        emails = {leg.agent_email.strip().lower() for leg in self.legs} or {self.details_agent[0].strip().lower()}
        return frozenset(email for email in emails if email)

    @property
    def ringing_at(self) -> datetime | None:
        return _min(leg.ringing_at for leg in self.legs)

    @property
    def answered_at(self) -> datetime | None:
        return _min(leg.answered_at for leg in self.legs)

    @property
    def end(self) -> EndFacts | None:
        """The interaction's end once every leg has ended (None before, and for a call with facts only).

        A leg that only rang, and rang before another leg was answered, does not hold the call open once the
        answered legs have ended: the other members of a ring group stop ringing when one answers, and the dialer
        may never report their legs' end. A leg that started ringing after the answer (a transfer's next agent)
        does hold it open."""
        if not self.legs:
            return None
        ended = [leg for leg in self.legs if leg.end is not None]
        still_open = [leg for leg in self.legs if leg.end is None]
        if still_open:
            answered_at = [leg.answered_at for leg in ended if leg.answered_at is not None]
            if not answered_at or any(leg.answered or leg.ringing_at is None or leg.ringing_at > max(answered_at)
                                      for leg in still_open):
                return None
        ends = sorted((leg.end for leg in ended), key=lambda end: (end.ended_at, end.event_id), reverse=True)
        last = ends[0]
        if len(ends) == 1:
            leg = ended[0]
            if last.duration_seconds == 0 and leg.answered_at is not None and leg.answered_at < last.ended_at:
                # The dialer reported no talk time (RingCentral never does) but the call was seen answered: the
                # time from the answer to the end is its talk time.
                return replace(last, duration_seconds=int((last.ended_at - leg.answered_at).total_seconds()))
            return last
        return EndFacts(event_id=last.event_id, ended_at=last.ended_at,
                        answered=any(end.answered for end in ends),
                        duration_seconds=self._connected_seconds(),
                        recording_url=next((end.recording_url for end in ends if end.recording_url), None),
                        voicemail_url=next((end.voicemail_url for end in ends if end.voicemail_url), None),
                        disposition=next((end.disposition for end in ends if end.disposition), None))

    def _connected_seconds(self) -> int:
        """The length of the union of the legs' connected intervals, in whole seconds."""
        spans = sorted((leg.connected_at, leg.end.ended_at) for leg in self.legs
                       if leg.end is not None and leg.connected_at is not None and leg.connected_at < leg.end.ended_at)
        total = timedelta(0)
        current_start = current_end = None
        for start, stop in spans:
            if current_end is None or start > current_end:
                if current_end is not None:
                    total += current_end - current_start
                current_start, current_end = start, stop
            else:
                current_end = max(current_end, stop)
        if current_end is not None:
            total += current_end - current_start
        return int(total.total_seconds())

    @property
    def status(self) -> str:
        """"ended", "answered" or "ringing": how far the call got, whatever order its events came in."""
        if self.end is not None:
            return "ended"
        return "answered" if any(leg.answered for leg in self.legs) else "ringing"

    @property
    def answered(self) -> bool:
        return any(leg.answered for leg in self.legs)

    @property
    def duration_seconds(self) -> int:
        end = self.end
        return end.duration_seconds if end else 0

    @property
    def recording_url(self) -> str | None:
        end = self.end
        return end.recording_url if end else None

    @property
    def voicemail_url(self) -> str | None:
        """The end's voicemail link, else the first voicemail reported as a fact."""
        end = self.end
        if end is not None and end.voicemail_url:
            return end.voicemail_url
        return next((fact.value for fact in self.ordered_facts if fact.kind == "voicemail"), None)

    @property
    def disposition(self) -> str | None:
        end = self.end
        return end.disposition if end else None

    @property
    def ordered_facts(self) -> tuple[Fact, ...]:
        """The facts in the order the Task lists them: links first, then summaries, then transcripts; each kind
        by the moment it was first reported."""
        return tuple(sorted(self.facts, key=lambda fact: (FACT_KINDS.index(fact.kind), fact.at, fact.value)))

    @property
    def started_at(self) -> datetime:
        """The earliest moment known to belong to the call (UTC): what its local date is taken from.

        Without ringing or answered events, a leg's end time minus its duration stands in for its start.
        """
        moments = []
        for leg in self.legs:
            moments.extend(moment for moment in (leg.ringing_at, leg.answered_at) if moment is not None)
            if leg.end is not None:
                moments.append(leg.end.ended_at - timedelta(seconds=leg.end.duration_seconds))
        if moments:
            return min(moments)
        return min((fact.at for fact in self.facts), default=self.details_key[1])  # facts only: the first's time

    @property
    def last_end_at(self) -> datetime | None:
        ends = [leg.end.ended_at for leg in self.legs if leg.end is not None]
        return max(ends) if ends else None

    def task_view(self) -> tuple:
        """What the call's Task says about the call itself (not its facts): when it changes after the Task was
        written, the Task is written again."""
        end = self.end
        return (self.status, self.agent_email.strip().lower(), self.agent_ref, self.direction, self.internal,
                self.answered, self.duration_seconds, self.recording_url, self.voicemail_url, self.disposition,
                self.started_at.isoformat(), None if end is None else end.ended_at.isoformat())

    # -- storage ---------------------------------------------------------------------------------------------------

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict that `from_json` turns back into an equal state."""
        return {
            "call_id": self.call_id,
            "event_ids": sorted(self.event_ids),
            "direction": self.direction,
            "internal": self.internal,
            "agent_email": self.details_agent[0],
            "agent_ref": self.details_agent[1],
            "external_number": self.external_number,
            "details_key": [self.details_key[0], self.details_key[1].isoformat(), self.details_key[2]],
            "legs": [leg.as_json() for leg in self.legs],
            "facts": [{"kind": fact.kind, "value": fact.value, "at": fact.at.isoformat()} for fact in self.facts],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallState:
        rank, moment, event_id = data["details_key"]
        key = (rank, datetime.fromisoformat(moment), event_id)
        if "legs" in data:
            legs = tuple(Leg.from_json(leg) for leg in data["legs"])
        else:  # stored before legs: the call is its own only leg
            end = data.get("end")
            legs = (Leg(leg_id=data["call_id"], agent_email=data["agent_email"], agent_ref=None, key=key,
                        latest=(key[1], key[2]), ringing_at=_parse(data.get("ringing_at")),
                        answered_at=_parse(data.get("answered_at")),
                        end=None if end is None else EndFacts.from_json(end)),)
        return cls(
            call_id=data["call_id"],
            event_ids=frozenset(data["event_ids"]),
            direction=data["direction"],
            internal=data["internal"],
            external_number=data["external_number"],
            details_key=key,
            details_agent=(data["agent_email"], data.get("agent_ref")),
            legs=legs,
            facts=tuple(Fact(kind=fact["kind"], value=fact["value"], at=datetime.fromisoformat(fact["at"]))
                        for fact in data.get("facts") or ()),
        )


def apply(state: CallState | None, event: CallEvent) -> CallState:
    """The state after `event`. Applying the same events in any order, any number of times, gives one result."""
    if state is not None and state.call_id != event.call_id:
        raise ValueError(f"event {event.event_id!r} belongs to another call than {state.call_id!r}")
    if state is not None and event.event_id in state.event_ids:
        return state
    if event.type not in _TYPE_RANK:
        raise ValueError(f"event {event.event_id!r} of type {event.type!r} is not part of a call")

    moment = event.occurred_at.astimezone(timezone.utc)
    key = (_TYPE_RANK[event.type], moment, event.event_id)
    agent = (event.agent_email, event.agent_ref)
    if state is None:
        state = CallState(call_id=event.call_id, event_ids=frozenset(), direction=event.direction,
                          internal=event.internal, external_number=event.external_number, details_key=key,
                          details_agent=agent)
    elif key > state.details_key:
        state = replace(state, direction=event.direction, internal=event.internal,
                        external_number=event.external_number, details_key=key, details_agent=agent)
    state = replace(state, event_ids=state.event_ids | {event.event_id})
    if event.is_fact:
        return replace(state, facts=_with_facts(state.facts, _facts_of(event, moment)))
    return replace(state, legs=_with_leg(state.legs, _applied_to_leg(_leg_of(state, event.leg), event, key, moment)))


def fold(events: Iterable[CallEvent], state: CallState | None = None) -> CallState | None:
    """`apply` over several events (None when there are none and no state to start from)."""
    for event in events:
        state = apply(state, event)
    return state


def timed_out(state: CallState, event_id: str) -> CallState:
    """The state closed as far as it is known, when the dialer never reported the end: each open leg ends at its
    latest moment, answered if it was, with the talk time so far; a call with facts only becomes one unanswered
    leg. `event_id` names the made-up end (the pipeline's `panel:timeout`)."""
    if not state.legs:
        moment = state.details_key[1]
        leg = Leg(leg_id=state.call_id, agent_email=state.details_agent[0], agent_ref=state.details_agent[1],
                  key=state.details_key, latest=(moment, state.details_key[2]),
                  end=EndFacts(event_id=event_id, ended_at=moment, answered=False, duration_seconds=0))
        return replace(state, legs=(leg,))
    legs = []
    for leg in state.legs:
        if leg.end is None:
            last = max(m for m in (leg.ringing_at, leg.answered_at, leg.latest[0]) if m is not None)
            talked = int((last - leg.answered_at).total_seconds()) if leg.answered_at else 0
            leg = replace(leg, end=EndFacts(event_id=event_id, ended_at=last, answered=leg.answered,
                                            duration_seconds=max(0, talked)))
        legs.append(leg)
    return replace(state, legs=tuple(legs))


def _leg_of(state: CallState, leg_id: str) -> Leg | None:
    return next((leg for leg in state.legs if leg.leg_id == leg_id), None)


def _with_leg(legs: tuple[Leg, ...], changed: Leg) -> tuple[Leg, ...]:
    return tuple(sorted([leg for leg in legs if leg.leg_id != changed.leg_id] + [changed],
                        key=lambda leg: leg.leg_id))


def _applied_to_leg(leg: Leg | None, event: CallEvent, key: tuple[int, datetime, str], moment: datetime) -> Leg:
    if leg is None:
        leg = Leg(leg_id=event.leg, agent_email=event.agent_email, agent_ref=event.agent_ref, key=key,
                  latest=(moment, event.event_id))
    else:
        # The leg's agent: from its most authoritative event that names a resolved agent (a vendor's end event
        # often names nobody: Webex's task:ended, a trunk leg), else from its most authoritative event.
        if (bool(event.agent_email), key) > (bool(leg.agent_email), leg.key):
            leg = replace(leg, agent_email=event.agent_email, agent_ref=event.agent_ref, key=key)
        if (moment, event.event_id) > leg.latest:
            leg = replace(leg, latest=(moment, event.event_id))
    if event.type == "call.ringing":
        return replace(leg, ringing_at=_earliest(leg.ringing_at, moment))
    if event.type == "call.answered":
        return replace(leg, answered_at=_earliest(leg.answered_at, moment))
    end = EndFacts(event_id=event.event_id, ended_at=moment, answered=bool(event.answered),
                   duration_seconds=event.duration_seconds or 0, recording_url=event.recording_url,
                   voicemail_url=event.voicemail_url, disposition=event.disposition)
    if leg.end is None or (end.ended_at, end.event_id) > (leg.end.ended_at, leg.end.event_id):
        leg = replace(leg, end=end)
    return leg


def _facts_of(event: CallEvent, moment: datetime) -> list[Fact]:
    found = [("recording", event.recording_url), ("voicemail", event.voicemail_url),
             ("transcript_url", event.transcript_url), ("transcript", event.transcript),
             ("summary", event.summary)]
    return [Fact(kind=kind, value=value, at=moment) for kind, value in found if value and value.strip()]


def _with_facts(facts: tuple[Fact, ...], new: list[Fact]) -> tuple[Fact, ...]:
    known = {(fact.kind, fact.value): fact for fact in facts}
    for fact in new:
        held = known.get((fact.kind, fact.value))
        if held is None or fact.at < held.at:
            known[(fact.kind, fact.value)] = fact
    return tuple(sorted(known.values(), key=lambda fact: (fact.kind, fact.value)))


def _earliest(current: datetime | None, moment: datetime) -> datetime:
    return moment if current is None or moment < current else current


def _min(moments: Iterable[datetime | None]) -> datetime | None:
    present = [moment for moment in moments if moment is not None]
    return min(present) if present else None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
