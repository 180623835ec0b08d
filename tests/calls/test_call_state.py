"""A call's state does not depend on how often or in which order its events arrive."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from panel.calls.events import CallEvent
from panel.calls.state import CallState, apply, fold

T0 = datetime(2026, 11, 22, 1, 15, tzinfo=timezone.utc)
JST = timezone(timedelta(hours=9))


def event(event_id: str, type_: str, at: datetime, call_id: str = "call-1", **end) -> CallEvent:
    if type_ == "call.ended":
        end = {"answered": True, "duration_seconds": 95, **end}
    return CallEvent(event_id=event_id, type=type_, call_id=call_id, direction=end.pop("direction", "inbound"),
                     agent_email="agent@example.com", occurred_at=at,
                     external_number=end.pop("external_number", "03-1234-5678"), **end)


RINGING = event("e1", "call.ringing", T0)
ANSWERED = event("e2", "call.answered", T0 + timedelta(seconds=10))
ENDED = event("e3", "call.ended", T0 + timedelta(seconds=105), recording_url="https://rec.example/1")


def test_a_normal_call_ends_answered_with_its_end_facts():
    state = fold([RINGING, ANSWERED, ENDED])
    assert state.status == "ended"
    assert state.answered is True
    assert state.duration_seconds == 95
    assert state.recording_url == "https://rec.example/1"
    assert state.ringing_at == T0
    assert state.answered_at == T0 + timedelta(seconds=10)
    assert state.started_at == T0
    assert state.event_ids == {"e1", "e2", "e3"}


@pytest.mark.parametrize("events, status", [
    ([RINGING], "ringing"),
    ([ANSWERED], "answered"),
    ([ANSWERED, RINGING], "answered"),
    ([ENDED], "ended"),
    ([ENDED, RINGING], "ended"),
    ([ENDED, ANSWERED, RINGING], "ended"),
])
def test_status_is_how_far_the_call_got(events, status):
    assert fold(events).status == status


def test_end_before_answer_gives_the_same_state_as_the_usual_order():
    assert fold([ENDED, ANSWERED, RINGING]) == fold([RINGING, ANSWERED, ENDED])


def test_a_repeated_event_changes_nothing():
    state = fold([RINGING, ANSWERED, ENDED])
    assert apply(state, ENDED) is state
    assert apply(state, RINGING) is state


def test_the_same_instant_in_another_offset_gives_an_equal_stored_state():
    tokyo = event("e1", "call.ringing", T0.astimezone(JST))
    assert fold([tokyo]).as_json() == fold([RINGING]).as_json()


def test_answered_event_counts_even_when_the_end_event_says_unanswered():
    unanswered_end = event("e3", "call.ended", T0 + timedelta(minutes=1), answered=False, duration_seconds=0)
    assert fold([unanswered_end]).answered is False
    assert fold([unanswered_end, ANSWERED]).answered is True


def test_start_is_end_minus_duration_when_only_the_end_arrived():
    assert fold([ENDED]).started_at == T0 + timedelta(seconds=10)


def test_event_of_another_call_is_refused():
    with pytest.raises(ValueError, match="another call"):
        apply(fold([RINGING]), event("x", "call.ended", T0, call_id="call-2"))


def test_state_survives_storage():
    state = fold([RINGING, ANSWERED, ENDED])
    assert CallState.from_json(state.as_json()) == state
    assert CallState.from_json(fold([RINGING]).as_json()) == fold([RINGING])


# Several events of one call with conflicting details, including two different end events, so that every tie-break
# in `apply` is exercised.
_times = st.integers(min_value=-3600, max_value=3600).map(lambda s: T0 + timedelta(seconds=s))
_offsets = st.sampled_from([timezone.utc, JST, timezone(timedelta(hours=-5))])


@st.composite
def call_events(draw) -> list[CallEvent]:
    count = draw(st.integers(min_value=1, max_value=7))
    events = []
    for index in range(count):
        type_ = draw(st.sampled_from(["call.ringing", "call.answered", "call.ended"]))
        at = draw(_times).astimezone(draw(_offsets))
        extra = {"direction": draw(st.sampled_from(["inbound", "outbound"])),
                 "external_number": draw(st.sampled_from(["03-1234-5678", "anonymous", ""]))}
        if type_ == "call.ended":
            extra |= {"answered": draw(st.booleans()), "duration_seconds": draw(st.integers(0, 7200)),
                      "voicemail_url": draw(st.sampled_from([None, "https://vm.example/1"])),
                      "disposition": draw(st.sampled_from([None, "sale", "callback"]))}
        events.append(event(f"evt-{index}", type_, at, **extra))
    return events


@settings(max_examples=300, deadline=None)
@given(data=st.data(), events=call_events())
def test_any_order_and_any_repetition_give_the_same_state(data, events):
    expected = fold(events)
    delivered = data.draw(st.lists(st.sampled_from(events), min_size=0, max_size=20)) + events
    shuffled = data.draw(st.permutations(delivered))
    state = fold(shuffled)
    assert state == expected
    assert state.as_json() == expected.as_json()
    assert state.status == expected.status and state.started_at == expected.started_at


@settings(max_examples=100, deadline=None)
@given(data=st.data(), events=call_events())
def test_resuming_from_a_stored_state_gives_the_same_result(data, events):
    shuffled = data.draw(st.permutations(events))
    split = data.draw(st.integers(min_value=1, max_value=len(events)))
    halfway = CallState.from_json(fold(shuffled[:split]).as_json())
    assert fold(shuffled[split:], halfway) == fold(events)


# -- legs (a transfer, a forward) and facts that arrive after the call -----------------------------------------------

def leg_event(event_id: str, type_: str, at: datetime, leg: str, agent: str = "agent@example.com", **end) -> CallEvent:
    if type_ == "call.ended":
        end = {"answered": True, "duration_seconds": 60, **end}
    return CallEvent(event_id=event_id, type=type_, call_id="call-1", direction="inbound", agent_email=agent,
                     occurred_at=at, external_number="03-1234-5678", leg_id=leg, **end)


def fact(event_id: str, type_: str, at: datetime, **fields) -> CallEvent:
    return CallEvent(event_id=event_id, type=type_, call_id="call-1", direction="inbound",
                     agent_email="agent@example.com", occurred_at=at, external_number="03-1234-5678", **fields)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


# A blind transfer: A answers at 10 s, talks until 70 s; B rings at 71 s, answers at 75 s, ends at 175 s.
TRANSFER = [
    leg_event("a1", "call.ringing", at(0), "leg-a"),
    leg_event("a2", "call.answered", at(10), "leg-a"),
    leg_event("a3", "call.ended", at(70), "leg-a", duration_seconds=60),
    leg_event("b1", "call.ringing", at(71), "leg-b", agent="agent2@example.com"),
    leg_event("b2", "call.answered", at(75), "leg-b", agent="agent2@example.com"),
    leg_event("b3", "call.ended", at(175), "leg-b", agent="agent2@example.com", duration_seconds=100,
              recording_url="https://rec.example/b"),
]


def test_a_transferred_call_is_one_interaction_owned_by_the_last_agent_with_the_connected_time():
    state = fold(TRANSFER)
    assert state.status == "ended" and state.answered
    assert state.leg_ids == ("leg-a", "leg-b")
    assert state.agent_email == "agent2@example.com"
    assert state.agent_emails == {"agent@example.com", "agent2@example.com"}
    assert state.duration_seconds == 60 + 100  # the customer waited 5 s between the legs: not connected time
    assert state.started_at == at(0)
    assert state.recording_url == "https://rec.example/b"


def test_an_interaction_is_not_over_while_one_of_its_legs_is_open():
    state = fold(TRANSFER[:4])  # A ended, B rings
    assert state.status == "answered" and state.end is None
    assert state.agent_email == "agent@example.com"  # A handled it; B has not answered yet


def test_overlapping_legs_count_the_connected_time_once():
    consult = [leg_event("a2", "call.answered", at(0), "leg-a"),
               leg_event("a3", "call.ended", at(100), "leg-a", duration_seconds=100),
               leg_event("b2", "call.answered", at(50), "leg-b", agent="agent2@example.com"),
               leg_event("b3", "call.ended", at(150), "leg-b", agent="agent2@example.com", duration_seconds=100)]
    assert fold(consult).duration_seconds == 150


def test_when_no_leg_was_answered_the_agent_is_the_one_of_the_latest_leg():
    missed = [leg_event("a1", "call.ringing", at(0), "leg-a"),
              leg_event("a3", "call.ended", at(20), "leg-a", answered=False, duration_seconds=0),
              leg_event("b1", "call.ringing", at(21), "leg-b", agent="agent2@example.com"),
              leg_event("b3", "call.ended", at(40), "leg-b", agent="agent2@example.com", answered=False,
                        duration_seconds=0)]
    state = fold(missed)
    assert state.status == "ended" and not state.answered and state.agent_email == "agent2@example.com"


def test_an_unresolved_agent_is_carried_as_the_vendors_name():
    unknown = CallEvent(event_id="u1", type="call.answered", call_id="call-1", direction="inbound", agent_email="",
                        agent_ref="zoom:user-9", occurred_at=at(0), external_number="03-1234-5678")
    state = fold([unknown])
    assert state.agent_email == "" and state.agent_ref == "zoom:user-9"
    assert CallState.from_json(state.as_json()) == state


def test_a_fact_is_kept_once_at_its_first_moment_and_changes_nothing_else():
    call = [RINGING, ANSWERED, ENDED]
    recording = [fact("f1", "call.recording", at(300), recording_url="https://rec.example/late"),
                 fact("f2", "call.recording", at(200), recording_url="https://rec.example/late")]
    state = fold(call + recording)
    assert [(f.kind, f.value, f.at) for f in state.facts] == [("recording", "https://rec.example/late", at(200))]
    without = fold(call)
    assert (state.status, state.agent_email, state.details_key, state.duration_seconds) == (
        without.status, without.agent_email, without.details_key, without.duration_seconds)


def test_a_call_with_facts_only_waits_for_its_events():
    state = fold([fact("f1", "call.summary", at(10), summary="Asked about the invoice.")])
    assert state.legs == () and state.end is None and state.status == "ringing"
    assert state.started_at == at(10)


def test_a_voicemail_fact_makes_the_call_a_voicemail():
    missed = event("e3", "call.ended", at(30), answered=False, duration_seconds=0)
    state = fold([missed, fact("f1", "call.recording", at(90), voicemail_url="https://vm.example/1")])
    assert state.voicemail_url == "https://vm.example/1"


def test_a_state_stored_before_legs_reads_as_a_call_of_one_leg():
    old = {"call_id": "call-1", "event_ids": ["e1", "e2", "e3"], "direction": "inbound", "internal": False,
           "agent_email": "agent@example.com", "external_number": "03-1234-5678",
           "details_key": [3, at(105).isoformat(), "e3"], "ringing_at": T0.isoformat(),
           "answered_at": at(10).isoformat(),
           "end": {"event_id": "e3", "ended_at": at(105).isoformat(), "answered": True, "duration_seconds": 95,
                   "recording_url": "https://rec.example/1", "voicemail_url": None, "disposition": None}}
    stored = CallState.from_json(old)
    fresh = fold([RINGING, ANSWERED, ENDED])
    assert stored.task_view() == fresh.task_view()
    assert stored == fresh
    assert fold([ENDED], stored) is stored  # already folded in: the next job changes nothing


_legs = st.sampled_from(["leg-a", "leg-b", "leg-c"])
_agents = st.sampled_from(["agent@example.com", "agent2@example.com", ""])
_fact_values = st.sampled_from(["https://rec.example/1", "https://rec.example/2"])


@st.composite
def interaction_events(draw) -> list[CallEvent]:
    count = draw(st.integers(min_value=1, max_value=9))
    events = []
    for index in range(count):
        type_ = draw(st.sampled_from(["call.ringing", "call.answered", "call.ended", "call.recording",
                                      "call.transcript", "call.summary"]))
        moment = draw(_times).astimezone(draw(_offsets))
        agent = draw(_agents)
        common = dict(event_id=f"evt-{index}", type=type_, call_id="call-1",
                      direction=draw(st.sampled_from(["inbound", "outbound"])), agent_email=agent,
                      agent_ref=None if agent else "zoom:someone", occurred_at=moment,
                      external_number=draw(st.sampled_from(["03-1234-5678", ""])))
        if type_ == "call.recording":
            events.append(CallEvent(**common, **{draw(st.sampled_from(["recording_url", "voicemail_url"])):
                                                 draw(_fact_values)}))
        elif type_ == "call.transcript":
            events.append(CallEvent(**common, transcript=draw(st.sampled_from(["Hello.", "Thanks."]))))
        elif type_ == "call.summary":
            events.append(CallEvent(**common, summary=draw(st.sampled_from(["Invoice.", "Refund."]))))
        else:
            extra = {}
            if type_ == "call.ended":
                extra = {"answered": draw(st.booleans()), "duration_seconds": draw(st.integers(0, 7200)),
                         "voicemail_url": draw(st.sampled_from([None, "https://vm.example/1"]))}
            events.append(CallEvent(**common, leg_id=draw(st.sampled_from([None, "leg-a", "leg-b"])), **extra))
    return events


@settings(max_examples=300, deadline=None)
@given(data=st.data(), events=interaction_events())
def test_legs_and_facts_in_any_order_and_any_repetition_give_the_same_state(data, events):
    expected = fold(events)
    delivered = data.draw(st.lists(st.sampled_from(events), min_size=0, max_size=20)) + events
    state = fold(data.draw(st.permutations(delivered)))
    assert state == expected
    assert state.as_json() == expected.as_json()
    assert state.task_view() == expected.task_view()
    assert (state.agent_email, state.agent_ref, state.ordered_facts) == (
        expected.agent_email, expected.agent_ref, expected.ordered_facts)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), events=interaction_events())
def test_resuming_an_interaction_from_a_stored_state_gives_the_same_result(data, events):
    shuffled = data.draw(st.permutations(events))
    split = data.draw(st.integers(min_value=1, max_value=len(events)))
    halfway = CallState.from_json(fold(shuffled[:split]).as_json())
    assert fold(shuffled[split:], halfway) == fold(events)


# -- a leg that only rang ----------------------------------------------------------------------------------------------

def _leg(event_id: str, type_: str, seconds: int, leg: str, **end) -> CallEvent:
    return event(event_id, type_, T0 + timedelta(seconds=seconds), leg_id=leg, **end)


def test_a_ring_group_member_who_only_rang_does_not_hold_the_answered_call_open():
    """Rung at the same time as the member who answered, never told the call ended: not waited for."""
    state = fold([_leg("a1", "call.ringing", 0, "leg-a"), _leg("b1", "call.ringing", 0, "leg-b"),
                  _leg("b2", "call.answered", 5, "leg-b"), _leg("b3", "call.ended", 85, "leg-b", duration_seconds=80)])
    assert (state.status, state.duration_seconds, state.answered) == ("ended", 80, True)


def test_a_transfers_next_agent_ringing_after_the_answer_holds_the_call_open():
    state = fold([_leg("a1", "call.ringing", 0, "leg-a"), _leg("a2", "call.answered", 5, "leg-a"),
                  _leg("a3", "call.ended", 60, "leg-a", duration_seconds=55), _leg("b1", "call.ringing", 61, "leg-b")])
    assert state.status == "answered" and state.end is None
