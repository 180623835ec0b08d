"""The Aircall adapter on its own: Aircall's webhook bodies in, the panel's call events out.

The payloads are written here after Aircall's documented envelope and call object
(https://developer.aircall.io/docs/webhooks-overview, https://developer.aircall.io/docs/calls,
https://developer.aircall.io/tutorials/webhooks-guide: `{resource, event, timestamp, token, data}`, times in epoch
seconds), not copied. The message bodies follow the fields Aircall's message events are reported to carry (see the
adapter's docstring: not confirmed from Aircall's own reference).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from dialers_support import adapter_config, delivery, secret
from panel.calls.events import EventError
from panel.dialers import aircall
from panel.dialers.base import DemoCall, Refused
from panel.dialers.identities import parse_identities

NOW = datetime(2026, 12, 5, 1, 30, tzinfo=timezone.utc)
START = int((NOW - timedelta(minutes=3)).timestamp())
CALLER = "+81 3-1234-5678"
USER = {"id": 216119, "direct_link": "https://api.aircall.io/v1/users/216119", "name": "Sato Hanako",
        "email": "agent@example.com", "available": True, "availability_status": "available"}


def call(**changes) -> dict:
    data = {"id": 76259012, "direct_link": "https://api.aircall.io/v1/calls/76259012", "direction": "inbound",
            "status": "initial", "missed_call_reason": None, "started_at": START, "answered_at": None,
            "ended_at": None, "duration": 0, "voicemail": None, "recording": None, "asset": None,
            "raw_digits": CALLER, "user": None, "contact": None,
            "number": {"id": 58108, "name": "Support", "digits": "+81 50-5555-0000", "country": "JP",
                       "time_zone": "Asia/Tokyo"}}
    data.update(changes)
    return data


def envelope(event: str, data: dict, *, token: str | None = None, at: int | None = None) -> dict:
    resource = event.split(".", 1)[0]
    return {"resource": resource, "event": event, "timestamp": at or START + 200,
            "token": secret("aircall") if token is None else token, "data": data}


def receive(body: dict | bytes, identities=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return aircall.receive(delivery(raw), adapter_config("aircall", now=NOW, identities=identities))


ANSWERED = dict(status="answered", answered_at=START + 8, user=USER)
ENDED = dict(status="done", answered_at=START + 8, ended_at=START + 128, duration=120, user=USER)


# -- verification ------------------------------------------------------------------------------------------------------

def test_a_genuine_event_is_accepted():
    event, = receive(envelope("call.answered", call(**ANSWERED)))
    assert event.type == "call.answered"


def test_an_event_with_another_token_is_refused():
    with pytest.raises(Refused):
        receive(envelope("call.answered", call(**ANSWERED), token="forged-token"))


def test_an_event_without_a_token_is_refused():
    body = envelope("call.answered", call(**ANSWERED))
    del body["token"]
    with pytest.raises(Refused):
        receive(body)


def test_a_body_that_is_not_json_is_refused():
    with pytest.raises(Refused):
        receive(b"token=local-aircall-secret")


# -- calls -------------------------------------------------------------------------------------------------------------

def test_ringing_on_an_agent_is_a_ringing_call_of_that_agent():
    event, = receive(envelope("call.ringing_on_agent", call(user=USER), at=START + 2))
    assert event.type == "call.ringing"
    assert event.call_id == "aircall:76259012"
    assert event.direction == "inbound"
    assert event.external_number == CALLER
    assert event.agent_email == "agent@example.com"
    assert event.occurred_at == datetime.fromtimestamp(START + 2, tz=timezone.utc)
    assert event.leg_id is None


def test_an_inbound_call_created_before_it_rings_on_anyone_gives_nothing():
    assert receive(envelope("call.created", call())) == []


def test_an_outbound_call_created_by_an_agent_rings():
    event, = receive(envelope("call.created", call(direction="outbound", user=USER)))
    assert (event.type, event.direction) == ("call.ringing", "outbound")
    assert event.occurred_at == datetime.fromtimestamp(START, tz=timezone.utc)


def test_answered_happens_at_answered_at():
    event, = receive(envelope("call.answered", call(**ANSWERED)))
    assert event.occurred_at == datetime.fromtimestamp(START + 8, tz=timezone.utc)


def test_hangup_gives_nothing_the_later_ended_event_is_the_end():
    assert receive(envelope("call.hungup", call(**ENDED))) == []
    recorded = call(**ENDED, recording="https://aircall-recordings.example/r/76259012.mp3")
    event, = receive(envelope("call.ended", recorded))
    assert event.type == "call.ended"
    assert event.answered is True
    assert event.duration_seconds == 120
    assert event.recording_url == "https://aircall-recordings.example/r/76259012.mp3"
    assert event.occurred_at == datetime.fromtimestamp(START + 128, tz=timezone.utc)


def test_a_missed_call_ends_unanswered_with_its_voicemail():
    missed = call(status="done", ended_at=START + 30, duration=0, missed_call_reason="no_available_agent",
                  voicemail="https://aircall-voicemails.example/v/76259012.mp3",
                  asset="https://assets.aircall.io/calls/76259012/voicemail")
    event, = receive(envelope("call.ended", missed))
    assert event.answered is False
    assert event.duration_seconds == 0
    assert event.voicemail_url == "https://assets.aircall.io/calls/76259012/voicemail"
    assert event.recording_url is None
    assert event.agent_ref == "aircall:(none)"


def test_a_transferred_call_is_owned_by_the_agent_it_went_to():
    second = {"id": 216120, "name": "Suzuki", "email": "second.agent@example.com"}
    event, = receive(envelope("call.ended", call(**ENDED, transferred_by=USER, transferred_to=second)))
    assert event.agent_email == "second.agent@example.com"
    assert event.call_id == "aircall:76259012"


def test_an_aircall_user_id_row_wins_over_the_email():
    rows = parse_identities("dialer,dialer_user,agent_email\naircall,216119,owner@example.com\n")
    event, = receive(envelope("call.answered", call(**ANSWERED)), identities=rows)
    assert event.agent_email == "owner@example.com"


def test_assets_generated_after_the_end_are_a_recording_fact_once():
    assets = call(**ENDED, recording="https://aircall-recordings.example/r/76259012.mp3",
                  asset="https://assets.aircall.io/calls/76259012/recording")
    event, = receive(envelope("call.comm_assets_generated", assets, at=START + 400))
    assert event.type == "call.recording"
    assert event.recording_url == "https://assets.aircall.io/calls/76259012/recording"
    again, = receive(envelope("call.comm_assets_generated", assets, at=START + 900))
    assert again.event_id == event.event_id


def test_a_redelivered_end_has_the_same_event_id():
    first, = receive(envelope("call.ended", call(**ENDED), at=START + 160))
    again, = receive(envelope("call.ended", call(**ENDED), at=START + 260))
    assert first.event_id == again.event_id == "aircall:76259012:ended"


@pytest.mark.parametrize("field, value, named", [
    ("id", None, "data.id"),
    ("direction", "sideways", "data.direction"),
    ("duration", None, "data.duration"),
    ("recording", "javascript:alert(1)", "data.recording"),
])
def test_a_missing_or_wrong_field_is_named(field, value, named):
    with pytest.raises(EventError) as error:
        receive(envelope("call.ended", call(**{**ENDED, field: value})))
    assert error.value.field == named


def test_other_events_are_ignored():
    assert receive(envelope("call.tagged", call(**ENDED))) == []
    assert receive(envelope("user.connected.v2", {"id": 216119})) == []


# -- text messages -----------------------------------------------------------------------------------------------------

def message(**changes) -> dict:
    data = {"id": 1779973182, "direction": "inbound", "channel": None, "status": "received",
            "body": "折り返しお願いします", "external_number": "+81312345678",
            "created_at": (NOW - timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
            "number": {"id": 58108, "name": "Support", "digits": "+81 50-5555-0000"}, "user": USER}
    data.update(changes)
    return data


def test_a_received_sms_is_a_received_message():
    event, = receive(envelope("message.received", message()))
    assert event.type == "message.received"
    assert event.text == "折り返しお願いします"
    assert event.external_number == "+81312345678"
    assert event.agent_email == "agent@example.com"
    assert event.occurred_at == NOW - timedelta(minutes=1)


def test_a_sent_sms_is_a_sent_message():
    event, = receive(envelope("message.sent", message(direction="outbound", status="sent", body="承知しました")))
    assert (event.type, event.direction) == ("message.sent", "outbound")


def test_a_whatsapp_message_is_not_an_sms():
    assert receive(envelope("message.received", message(channel="whatsapp"))) == []


def test_a_message_without_text_is_named():
    with pytest.raises(EventError) as error:
        receive(envelope("message.received", message(body=None)))
    assert error.value.field == "data.body"


# -- the demo ----------------------------------------------------------------------------------------------------------

def test_the_demo_delivery_is_read_back_by_the_adapter():
    demo = DemoCall(call_id="demo-7", direction="outbound", number="03-1234-5678", agent_email="agent@example.com",
                    started_at=NOW - timedelta(minutes=2), answered=True, duration_seconds=95)
    kinds = []
    for kind in ("ringing", "answered", "ended"):
        body, headers, content_type = aircall.demo_delivery(kind, demo, secret=secret("aircall"),
                                                            url="https://panel.example.com/webhooks/aircall", now=NOW)
        event, = aircall.receive(delivery(body, headers, content_type=content_type), adapter_config("aircall", now=NOW))
        assert event.call_id == "aircall:demo-7" and event.agent_email == "agent@example.com"
        kinds.append((event.type, event.duration_seconds))
    assert kinds == [("call.ringing", None), ("call.answered", None), ("call.ended", 95)]
