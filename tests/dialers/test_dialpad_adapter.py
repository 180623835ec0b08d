"""The Dialpad adapter on its own: the HS256 JWT every event comes in, and each call state and text message as a
panel event.

The payloads are written here from Dialpad's documented fields (https://developers.dialpad.com/docs/call-events,
https://help.dialpad.com/hc/en-us/articles/115005281886, https://developers.dialpad.com/docs/sms-events; the JWT:
https://developers.dialpad.com/docs/event-subscriptions), with values of our own. The tokens are signed by
the test's own `jwt` helper, not by the adapter's encoder.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

import pytest

from dialers_support import adapter_config, delivery, secret
from panel.calls.events import MAX_FACT_TEXT, EventError
from panel.dialers import dialpad
from panel.dialers.base import Refused
from panel.dialers.identities import parse_identities

NOW = datetime(2026, 11, 22, 1, 20, tzinfo=timezone.utc)
T0 = int(datetime(2026, 11, 22, 1, 15, tzinfo=timezone.utc).timestamp() * 1000)  # epoch ms, as Dialpad sends
USERS = parse_identities("dialer,dialer_user,agent_email\n"
                         "dialpad,5249913223593984,mapped.agent@example.com\n")


def b64(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


def jwt(payload: dict, *, key: str | None = None, alg: str = "HS256") -> bytes:
    header = b64(json.dumps({"typ": "JWT", "alg": alg}).encode())
    body = b64(json.dumps(payload).encode())
    signature = hmac.new((key or secret("dialpad")).encode(), header + b"." + body, hashlib.sha256).digest()
    return header + b"." + body + b"." + b64(signature)


def receive(payload: dict | bytes, **signing):
    raw = payload if isinstance(payload, bytes) else jwt(payload, **signing)
    return dialpad.receive(delivery(raw, content_type="application/jwt"),
                           adapter_config("dialpad", identities=USERS, now=NOW))


AGENT = {"id": 6012345678901248, "type": "user", "email": "agent@example.com", "name": "Agent One",
         "phone": "+81312340001", "office_id": 4876543210987520}
CUSTOMER = {"id": "http://www.google.com/m8/feeds/contacts/x/base/1", "type": "local", "name": "YAMADA TARO",
            "phone": "+81312345678", "email": ""}


def call(state: str, *, call_id: int = 5790123456789504, direction: str = "inbound", **fields) -> dict:
    event = {"call_id": call_id, "master_call_id": None, "entry_point_call_id": None, "state": state,
             "direction": direction, "external_number": "+81312345678", "internal_number": "+81312340001",
             "target": AGENT, "contact": CUSTOMER, "date_started": T0, "date_rang": T0 + 1_000,
             "date_connected": None, "date_ended": None, "was_recorded": False, "is_transferred": False}
    event.update(fields)
    return event


def at(seconds: float) -> datetime:
    return datetime(2026, 11, 22, 1, 15, tzinfo=timezone.utc) + timedelta(seconds=seconds)


# -- verification ------------------------------------------------------------------------------------------------------

def test_a_genuine_ringing_event_is_the_call_ringing_for_the_target():
    [event] = receive(call("ringing"))
    assert (event.type, event.call_id, event.leg_id, event.direction, event.occurred_at) == (
        "call.ringing", "dialpad:5790123456789504", "dialpad:5790123456789504", "inbound", at(1))
    assert (event.agent_email, event.agent_ref, event.external_number, event.internal) == (
        "agent@example.com", None, "+81312345678", False)


def test_a_token_signed_with_another_secret_is_refused():
    with pytest.raises(Refused):
        receive(call("ringing"), key="someone-elses-secret")


def test_a_token_whose_payload_was_changed_is_refused():
    header, body, signature = jwt(call("ringing")).split(b".")
    forged = b64(json.dumps(call("connected", date_connected=T0 + 9_000)).encode())
    with pytest.raises(Refused):
        receive(header + b"." + forged + b"." + signature)


@pytest.mark.parametrize("alg", ["none", "HS512", "RS256"])
def test_a_token_not_signed_hs256_is_refused(alg):
    with pytest.raises(Refused):
        receive(call("ringing"), alg=alg)


@pytest.mark.parametrize("body", [json.dumps(call("ringing")).encode(), b"", b"a.b", b"\xff\xfe.x.y", b"a.b.c"])
def test_a_body_that_is_not_a_signed_jwt_is_refused(body):
    with pytest.raises(Refused):
        receive(body)


# -- call states ----------------------------------------------------------------------------------------------------------

def test_connected_is_the_call_answered_at_the_connect_time():
    [event] = receive(call("connected", date_connected=T0 + 6_000))
    assert (event.type, event.occurred_at) == ("call.answered", at(6))


def test_hangup_after_a_connect_is_an_answered_end_with_the_connected_time():
    [event] = receive(call("hangup", date_connected=T0 + 6_000, date_ended=T0 + 101_500, duration=101500.0,
                           talk_time=95000))
    assert (event.type, event.answered, event.duration_seconds, event.occurred_at) == (
        "call.ended", True, 95, at(101.5))


@pytest.mark.parametrize("state", ["missed", "voicemail"])
def test_missed_and_voicemail_end_the_call_unanswered(state):
    [event] = receive(call(state, date_ended=T0 + 20_000))
    assert (event.type, event.answered, event.duration_seconds) == ("call.ended", False, 0)


def test_a_hangup_never_connected_is_unanswered():
    [event] = receive(call("hangup", date_ended=T0 + 20_000))
    assert (event.answered, event.duration_seconds) == (False, 0)


def test_an_outbound_call_starts_ringing_when_it_is_placed():
    [event] = receive(call("calling", direction="outbound", date_rang=None))
    assert (event.type, event.direction, event.external_number, event.occurred_at) == (
        "call.ringing", "outbound", "+81312345678", at(0))


def test_legs_of_a_transfer_are_one_call_with_their_own_legs():
    [first] = receive(call("connected", call_id=5790123456789504, date_connected=T0 + 6_000))
    [second] = receive(call("connected", call_id=6234567890123776, master_call_id=5790123456789504,
                            date_connected=T0 + 60_000, target={**AGENT, "email": "second@example.com"}))
    assert first.call_id == second.call_id == "dialpad:5790123456789504"
    assert (first.leg_id, second.leg_id) == ("dialpad:5790123456789504", "dialpad:6234567890123776")
    assert second.agent_email == "second@example.com"


def test_a_redelivered_state_has_the_same_id_and_another_state_does_not():
    ringing = receive(call("ringing"))[0]
    assert receive(call("ringing"))[0].event_id == ringing.event_id
    assert receive(call("connected", date_connected=T0 + 6_000))[0].event_id != ringing.event_id


def test_a_target_with_no_email_is_found_by_its_id():
    [event] = receive(call("ringing", target={"id": 5249913223593984, "type": "user", "name": "Mapped"}))
    assert event.agent_email == "mapped.agent@example.com"


def test_a_call_center_target_names_no_agent_and_goes_to_review():
    [event] = receive(call("ringing", target={"id": 4503599627370496, "type": "callcenter", "name": "Support",
                                              "email": "support-queue@example.com"}))
    assert (event.agent_email, event.agent_ref) == ("", "dialpad:4503599627370496")


def test_a_call_from_another_dialpad_user_is_internal():
    [event] = receive(call("ringing", contact={"id": 1, "type": "user", "name": "Colleague", "phone": "+8131"}))
    assert event.internal is True


# -- facts -------------------------------------------------------------------------------------------------------------------

def test_a_recording_state_is_a_recording_per_link():
    [event] = receive(call("recording", date_connected=T0 + 6_000, date_ended=T0 + 101_500, recording_details=[
        {"id": "rec-1", "url": "https://dialpad.com/r/rec-1", "duration": 95000, "recording_type": "call"}]))
    assert (event.type, event.recording_url, event.call_id) == (
        "call.recording", "https://dialpad.com/r/rec-1", "dialpad:5790123456789504")


def test_an_uploaded_voicemail_is_a_recording_with_the_voicemail_link():
    [event] = receive(call("voicemail_uploaded", date_ended=T0 + 40_000,
                           voicemail_link="https://dialpad.com/secureblob/voicemail/v-1"))
    assert (event.type, event.voicemail_url, event.recording_url) == (
        "call.recording", "https://dialpad.com/secureblob/voicemail/v-1", None)


def test_a_transcription_is_the_calls_transcript_cut_to_what_a_task_holds():
    [event] = receive(call("transcription", date_ended=T0 + 101_500, transcription_text="あ" * 40_000))
    assert event.type == "call.transcript" and len(event.transcript) == MAX_FACT_TEXT


def test_a_recap_summary_is_the_calls_summary_and_its_redelivery_is_the_same_event():
    first = receive(call("recap_summary", date_ended=T0 + 101_500,
                         recap_summary="Customer asked to move the meeting to Friday."))[0]
    again = receive(call("recap_summary", date_ended=T0 + 101_500,
                         recap_summary="Customer asked to move the meeting to Friday."))[0]
    assert (first.type, first.summary) == ("call.summary", "Customer asked to move the meeting to Friday.")
    assert first.event_id == again.event_id


# -- text messages ---------------------------------------------------------------------------------------------------------------

def sms(direction: str, **fields) -> dict:
    event = {"id": 4612345678901248, "created_date": T0 + 180_000, "direction": direction,
             "target": {"id": 6012345678901248, "type": "user", "name": "Agent One", "phone_number": "+81312340001"},
             "contact": {"id": "c-1", "name": "YAMADA TARO", "phone_number": "+81312345678"},
             "sender_id": None, "from_number": "+81312345678" if direction == "inbound" else "+81312340001",
             "to_number": ["+81312340001" if direction == "inbound" else "+81312345678"], "mms": False,
             "text": "明日の件、了解しました"}
    event.update(fields)
    return event


def test_an_inbound_text_is_a_received_message_from_the_contact():
    [event] = receive(sms("inbound", target={**sms("inbound")["target"], "email": "agent@example.com"}))
    assert (event.type, event.call_id, event.text, event.external_number, event.agent_email, event.occurred_at) == (
        "message.received", "", "明日の件、了解しました", "+81312345678", "agent@example.com", at(180))
    assert event.event_id == "dialpad:sms:4612345678901248"


def test_an_outbound_text_is_a_sent_message_and_an_unknown_sender_goes_to_review():
    [event] = receive(sms("outbound", text="Thank you for calling."))
    assert (event.type, event.direction, event.external_number) == ("message.sent", "outbound", "+81312345678")
    assert (event.agent_email, event.agent_ref) == ("", "dialpad:6012345678901248")


# -- what cannot be mapped -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("field", ["call_id", "direction"])
def test_a_call_event_without_a_field_it_needs_names_the_field(field):
    event = call("ringing")
    del event[field]
    with pytest.raises(EventError) as error:
        receive(event)
    assert error.value.field == field


def test_a_hangup_without_its_end_time_names_it():
    with pytest.raises(EventError) as error:
        receive(call("hangup", date_connected=T0 + 6_000))
    assert error.value.field == "date_ended"


def test_a_transcription_without_text_names_the_field():
    with pytest.raises(EventError) as error:
        receive(call("transcription", date_ended=T0 + 101_500))
    assert error.value.field == "transcription_text"


def test_a_recording_link_that_is_not_a_url_names_it():
    with pytest.raises(EventError) as error:
        receive(call("recording", date_ended=T0, recording_details=[{"url": "javascript:alert(1)"}]))
    assert error.value.field == "recording_details[0].url"


@pytest.mark.parametrize("state", ["preanswer", "queued", "hold", "unhold", "parked", "dispositions", "eavesdrop"])
def test_states_the_panel_does_not_use_are_accepted_and_ignored(state):
    assert receive(call(state)) == []


def test_the_demo_delivery_is_genuine():
    from panel.dialers.base import DemoCall

    demo = DemoCall(call_id="demo-1", direction="outbound", number="03-1234-5678", agent_email="agent@example.com",
                    started_at=NOW - timedelta(minutes=2), answered=True, duration_seconds=40)
    raw, headers, content_type = dialpad.demo_delivery("ended", demo, secret=secret("dialpad"), url="https://x",
                                                       now=NOW)
    [event] = dialpad.receive(delivery(raw, headers, content_type=content_type),
                              adapter_config("dialpad", now=NOW))
    assert (event.type, event.answered, event.duration_seconds, event.agent_email, event.call_id) == (
        "call.ended", True, 40, "agent@example.com", "dialpad:demo-1")
