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
