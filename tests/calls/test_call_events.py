"""Webhook bodies: what a dialer may send, and the error (naming the field) for anything else."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from panel.calls import events
from panel.calls.events import MAX_BODY_BYTES, CallEvent, EventError

READ_ON = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)  # the examples are dated 2026-11-22: read on that day


def parse_event(raw: bytes, *, now: datetime = READ_ON) -> CallEvent:
    return events.parse_event(raw, now=now)


def event_from_dict(data, *, now: datetime = READ_ON) -> CallEvent:
    return events.event_from_dict(data, now=now)

ENDED = {
    "event_id": "evt_123", "type": "call.ended", "call_id": "call-9", "direction": "inbound", "internal": False,
    "agent_email": "agent@example.com", "external_number": "03-1234-5678",
    "occurred_at": "2026-11-22T10:15:00+09:00", "answered": True, "duration_seconds": 95,
    "recording_url": "https://rec.example.com/r/1", "voicemail_url": None, "disposition": None,
}
RINGING = {key: ENDED[key] for key in ("event_id", "type", "call_id", "direction", "agent_email",
                                       "external_number", "occurred_at")} | {"type": "call.ringing"}


def body(data) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def test_ended_event_is_read_with_all_its_facts():
    event = parse_event(body(ENDED))
    assert event == CallEvent(
        event_id="evt_123", type="call.ended", call_id="call-9", direction="inbound", internal=False,
        agent_email="agent@example.com", external_number="03-1234-5678",
        occurred_at=datetime(2026, 11, 22, 10, 15, tzinfo=timezone(timedelta(hours=9))), answered=True,
        duration_seconds=95, recording_url="https://rec.example.com/r/1", voicemail_url=None, disposition=None)
    assert event.occurred_at.utcoffset() == timedelta(hours=9)


def test_ringing_event_needs_no_end_facts_and_ignores_them_if_sent():
    event = parse_event(body(RINGING | {"answered": "maybe", "duration_seconds": -1}))
    assert (event.type, event.answered, event.duration_seconds, event.internal) == ("call.ringing", None, None, False)


@pytest.mark.parametrize("number", ["anonymous", "非通知", "", "+81312345678", "sip:100@pbx.example"])
def test_external_number_is_kept_exactly_as_sent(number):
    assert parse_event(body(ENDED | {"external_number": number})).external_number == number


@pytest.mark.parametrize("sent", [None, "missing"])
def test_missing_external_number_is_empty(sent):
    data = dict(ENDED)
    if sent == "missing":
        del data["external_number"]
    else:
        data["external_number"] = sent
    assert parse_event(body(data)).external_number == ""


def test_unknown_fields_are_ignored():
    assert parse_event(body(ENDED | {"queue": "sales", "extra": {"nested": [1]}})).call_id == "call-9"


def test_utc_z_suffix_is_accepted():
    event = parse_event(body(ENDED | {"occurred_at": "2026-11-22T15:30:00Z"}))
    assert event.occurred_at == datetime(2026, 11, 22, 15, 30, tzinfo=timezone.utc)


def test_optional_end_fields_may_be_left_out():
    data = {k: v for k, v in ENDED.items() if k not in ("recording_url", "voicemail_url", "disposition")}
    event = parse_event(body(data))
    assert (event.recording_url, event.voicemail_url, event.disposition) == (None, None, None)


def test_stored_event_reads_back_equal():
    event = parse_event(body(ENDED | {"disposition": "商談化", "voicemail_url": "http://vm.example/x"}))
    assert event_from_dict(json.loads(json.dumps(event.as_json()))) == event
    ringing = parse_event(body(RINGING))
    assert event_from_dict(ringing.as_json()) == ringing


@pytest.mark.parametrize("raw, problem", [
    (b"", "not valid JSON"),
    (b"{", "not valid JSON"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b"[]", "JSON object"),
    (b'"call.ended"', "JSON object"),
    (b"null", "JSON object"),
    (body(ENDED)[:-1] + b', "duration_seconds": NaN}', "not valid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "larger than"),
    (b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nested too deeply"),
    (b'{"duration_seconds": ' + b"9" * 5000 + b"}", "not valid JSON"),
])
def test_malformed_bodies_are_refused_without_a_field(raw, problem):
    with pytest.raises(EventError, match=problem) as refused:
        parse_event(raw)
    assert refused.value.field is None
    assert refused.value.as_json() == {"error": refused.value.message, "field": None}


def test_body_over_64_kib_is_refused():
    padded = ENDED | {"padding": "x" * MAX_BODY_BYTES}
    with pytest.raises(EventError, match="larger than"):
        parse_event(body(padded))


INVALID_FIELDS = [
    ("event_id", None), ("event_id", ""), ("event_id", "   "), ("event_id", 42), ("event_id", "x" * 256),
    ("event_id", "evt\n1"), ("event_id", "evt\x001"),
    ("type", None), ("type", "call.missed"), ("type", "CALL.ENDED"), ("type", ["call.ended"]),
    ("call_id", None), ("call_id", ""), ("call_id", "c" * 256), ("call_id", 7),
    ("direction", None), ("direction", "internal"), ("direction", "Inbound"),
    ("internal", "false"), ("internal", 0), ("internal", 1),
    ("agent_email", None), ("agent_email", "agent"), ("agent_email", "agent@localhost"),
    ("agent_email", "a b@example.com"), ("agent_email", "a@@example.com"), ("agent_email", ["a@example.com"]),
    ("agent_email", "a@" + "x" * 250 + ".com"), ("agent_email", "a\x00b@example.com"),
    ("external_number", 312345678), ("external_number", "0" * 256), ("external_number", "03-1234\x00-5678"),
    ("external_number", "0312345678\n"),
    ("occurred_at", None), ("occurred_at", "yesterday"), ("occurred_at", 1795000000),
    ("occurred_at", "2026-11-22T10:15:00"), ("occurred_at", "2026-11-22"), ("occurred_at", "2026-13-01T00:00:00Z"),
    ("answered", None), ("answered", "true"), ("answered", 1),
    ("duration_seconds", None), ("duration_seconds", -1), ("duration_seconds", 86_401), ("duration_seconds", 9.5),
    ("duration_seconds", "95"), ("duration_seconds", True), ("duration_seconds", 95.0),
    ("recording_url", "ftp://rec.example.com/1"), ("recording_url", "javascript:alert(1)"),
    ("recording_url", "https://"), ("recording_url", "rec.example.com/1"), ("recording_url", 5),
    ("recording_url", "https://rec.example.com/a b"), ("recording_url", "https://rec.example.com/" + "x" * 2000),
    ("recording_url", "http://[::1"),
    ("voicemail_url", "mailto:vm@example.com"), ("voicemail_url", {"href": "https://vm.example"}),
    ("disposition", 3), ("disposition", "d" * 256), ("disposition", "商談化\x00"), ("disposition", "a\tb"),
]


@pytest.mark.parametrize("field, value", INVALID_FIELDS)
def test_invalid_field_is_refused_naming_the_field(field, value):
    with pytest.raises(EventError) as refused:
        parse_event(body(ENDED | {field: value}))
    assert refused.value.field == field
    assert field in refused.value.message
    assert refused.value.as_json() == {"error": refused.value.message, "field": field}


@pytest.mark.parametrize("field", ["event_id", "type", "call_id", "direction", "agent_email", "occurred_at",
                                   "answered", "duration_seconds"])
def test_missing_required_field_is_named(field):
    data = {k: v for k, v in ENDED.items() if k != field}
    with pytest.raises(EventError, match=f"{field} is required") as refused:
        parse_event(body(data))
    assert refused.value.field == field


@pytest.mark.parametrize("field, value", [
    ("event_id", "x" * 255), ("call_id", "日本語の通話ID"), ("duration_seconds", 0), ("duration_seconds", 86_400),
    ("recording_url", "HTTPS://rec.example.com/" + "x" * 1970), ("disposition", "d" * 255),
    ("agent_email", "yamada.taro+sales@example.co.jp"), ("internal", True),
    ("external_number", "０３－１２３４\u3000５６７８"), ("disposition", "不在\u3000折り返し"),
])
def test_boundary_values_are_accepted(field, value):
    assert getattr(parse_event(body(ENDED | {field: value})), field) == value


# -- times a call cannot have, and text that is not text -----------------------------------------------------------

def moment(delta: timedelta) -> str:
    return (READ_ON + delta).isoformat()


@pytest.mark.parametrize("sent", [
    "9999-12-31T23:59:59+00:00",  # the last moment a datetime holds: any arithmetic on it overflows
    "9999-12-31T23:59:59-23:59",  # in UTC it is past year 9999
    "0001-01-01T00:00:00+00:00",
    "0001-01-01T00:00:00+23:59",  # in UTC it is before year 1
    "2001-01-01T00:00:00Z",
    moment(-timedelta(days=5 * 365 + 3)),  # a little over five years ago
    moment(timedelta(days=1, minutes=1)),  # more than a day ahead of the panel's clock
    moment(timedelta(days=400)),
])
def test_a_time_outside_the_window_a_call_can_have_is_refused_naming_occurred_at(sent):
    with pytest.raises(EventError) as refused:
        parse_event(body(ENDED | {"occurred_at": sent}))
    assert refused.value.field == "occurred_at"
    assert "occurred_at" in refused.value.message and "five years" in refused.value.message


@pytest.mark.parametrize("delta", [timedelta(days=-5 * 365), timedelta(days=-1), timedelta(0),
                                   timedelta(hours=23, minutes=59)])
def test_a_time_within_five_years_back_and_a_day_ahead_is_accepted(delta):
    event = parse_event(body(ENDED | {"occurred_at": moment(delta)}))
    assert event.occurred_at == READ_ON + delta


def test_the_window_is_checked_against_the_current_time_by_default():
    now = datetime.now(timezone.utc)
    assert events.parse_event(body(ENDED | {"occurred_at": now.isoformat()})).occurred_at == now
    with pytest.raises(EventError, match="occurred_at"):
        events.parse_event(body(ENDED | {"occurred_at": (now + timedelta(days=2)).isoformat()}))
    with pytest.raises(EventError, match="occurred_at"):
        events.event_from_dict(ENDED | {"occurred_at": (now - timedelta(days=6 * 365)).isoformat()})


def test_a_stored_event_is_read_back_whenever_it_happened():
    """The window is checked on arrival; a stored event stays readable when the window has moved on."""
    from panel.calls.events import stored_event_from_dict

    stored = parse_event(body(ENDED)).as_json()
    assert stored_event_from_dict(stored).occurred_at == datetime(2026, 11, 22, 1, 15, tzinfo=timezone.utc)


def json_body(data) -> bytes:
    """Lone surrogates cannot be encoded as UTF-8: a dialer sends them as JSON escapes (`"\\ud800"`)."""
    return json.dumps(data, ensure_ascii=True).encode("ascii")


@pytest.mark.parametrize("change, field", [
    ({"event_id": "evt\ud800"}, "event_id"),
    ({"call_id": "\udfffcall"}, "call_id"),
    ({"type": "call.ended\ud800"}, "type"),
    ({"direction": "\ud83d"}, "direction"),
    ({"agent_email": "agent\ud800@example.com"}, "agent_email"),
    ({"external_number": "03-1234-5678\ud800"}, "external_number"),
    ({"occurred_at": "2026-11-22T10:15:00+09:00\udc00"}, "occurred_at"),
    ({"recording_url": "https://rec.example.com/\ud800"}, "recording_url"),
    ({"voicemail_url": "https://vm.example.com/\udbff"}, "voicemail_url"),
    ({"disposition": "商談化\ud800"}, "disposition"),
    ({"queue": "\ud800"}, "queue"),  # a field the panel ignores is still part of the body it was sent
    ({"extra": {"nested": ["ok", "\ud800"]}}, "extra.nested[1]"),
    ({"extra": {"\ud800": 1}}, "extra.\\ud800"),
    ({"\udfff": "x"}, "\\udfff"),
])
def test_text_that_is_not_unicode_is_refused_in_any_field_naming_it(change, field):
    with pytest.raises(EventError) as refused:
        parse_event(json_body(ENDED | change))
    assert refused.value.field == field
    assert field in refused.value.message and "surrogate" in refused.value.message
    json.dumps(refused.value.as_json()).encode("utf-8")  # the answer itself is valid text


def test_a_surrogate_pair_escaped_in_json_is_ordinary_text():
    event = parse_event(json_body(ENDED | {"disposition": "\U0001F4DE 折り返し"}))
    assert event.disposition == "\U0001F4DE 折り返し"  # "\ud83d\udcde" in the body: one character, a telephone
