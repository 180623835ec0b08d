"""The Zoom Phone adapter on its own: Zoom's signature and URL validation, and each Zoom event as a panel event.

The payloads are written here from Zoom's documented event shapes (Rivet's typed events,
https://zoom.github.io/rivet-javascript/types/Phone.PhoneCalleeRingingEvent.html and the other `Phone.*Event`
types; https://developers.zoom.us/docs/phone/call-data.md; signature and validation:
https://developers.zoom.us/docs/api/webhooks), with values of our own.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

import pytest

from panel.calls.events import EventError
from panel.dialers import zoom
from panel.dialers.base import Refused, Reply
from panel.dialers.identities import parse_identities
from dialers_support import adapter_config, delivery, secret

NOW = datetime(2026, 11, 22, 1, 20, tzinfo=timezone.utc)
AGENT_USER = "KdYKjnimT4KPd8FFgQt9FQ"  # a Zoom user id (opaque)
USERS = parse_identities("dialer,dialer_user,agent_email\n"
                         f"zoom,{AGENT_USER},agent@example.com\n"
                         "zoom,1002,second.agent@example.com\n")


def config(**overrides):
    return adapter_config("zoom", identities=overrides.pop("identities", USERS), now=overrides.pop("now", NOW),
                          **overrides)


def signed(body: dict | bytes, *, at: datetime = NOW, key: str | None = None) -> tuple[bytes, dict]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    timestamp = str(int(at.timestamp()))
    digest = hmac.new((key or secret("zoom")).encode(), f"v0:{timestamp}:".encode() + raw, hashlib.sha256)
    return raw, {"x-zm-request-timestamp": timestamp, "x-zm-signature": "v0=" + digest.hexdigest()}


def receive(body: dict | bytes, **signing):
    raw, headers = signed(body, **signing)
    return zoom.receive(delivery(raw, headers), config())


def envelope(event: str, obj: dict) -> dict:
    return {"event": event, "event_ts": 1795396500123, "payload": {"account_id": "lAAAAAAAAAAAAAAAAAAAAA",
                                                                     "object": obj}}


AGENT = {"extension_id": "3vOmTcDyQTCSbLbX4j8tuA", "extension_type": "user", "user_id": AGENT_USER,
         "name": "Agent One", "phone_number": "+81312340001", "extension_number": 1001, "timezone": "Asia/Tokyo",
         "device_type": "MAC_Client", "connection_type": "voip"}
CUSTOMER = {"name": "YAMADA TARO", "phone_number": "+81312345678", "connection_type": "pstn_off_net"}


def inbound(event: str, call_id: str = "7285531463958810000", **times) -> dict:
    return envelope(event, {"call_id": call_id, "callee": AGENT, "caller": CUSTOMER,
                            "ringing_start_time": "2026-11-22T01:15:00Z", **times})


def outbound(event: str, call_id: str = "7285531463958820000", **times) -> dict:
    return envelope(event, {"call_id": call_id, "caller": AGENT, "callee": CUSTOMER,
                            "ringing_start_time": "2026-11-22T01:15:00Z", **times})


def at(minute: int, second: int = 0) -> datetime:
    return datetime(2026, 11, 22, 1, minute, second, tzinfo=timezone.utc)


# -- verification and the handshake --------------------------------------------------------------------------------------

def test_a_genuine_ringing_delivery_is_read_as_the_call_ringing_for_the_agent():
    [event] = receive(inbound("phone.callee_ringing"))
    assert (event.type, event.call_id, event.leg_id, event.direction) == (
        "call.ringing", "zoom:7285531463958810000", "zoom:7285531463958810000:KdYKjnimT4KPd8FFgQt9FQ", "inbound")
    assert (event.agent_email, event.agent_ref, event.external_number) == ("agent@example.com", None, "+81312345678")
    assert event.occurred_at == at(15) and event.internal is False
    assert event.event_id.startswith("zoom:phone.callee_ringing:7285531463958810000:")


def test_a_forged_signature_is_refused():
    raw, headers = signed(inbound("phone.callee_ringing"), key="not-the-secret")
    with pytest.raises(Refused):
        zoom.receive(delivery(raw, headers), config())


def test_a_body_changed_after_signing_is_refused():
    raw, headers = signed(inbound("phone.callee_ringing"))
    with pytest.raises(Refused):
        zoom.receive(delivery(raw.replace(b"+81312345678", b"+81399999999"), headers), config())


@pytest.mark.parametrize("age", [timedelta(minutes=6), -timedelta(minutes=6), timedelta(days=3)])
def test_a_delivery_signed_more_than_five_minutes_away_is_refused(age):
    raw, headers = signed(inbound("phone.callee_ringing"), at=NOW - age)
    with pytest.raises(Refused, match="five minutes"):
        zoom.receive(delivery(raw, headers), config())


@pytest.mark.parametrize("missing", ["x-zm-signature", "x-zm-request-timestamp"])
def test_a_delivery_without_zooms_headers_is_refused(missing):
    raw, headers = signed(inbound("phone.callee_ringing"))
    del headers[missing]
    with pytest.raises(Refused):
        zoom.receive(delivery(raw, headers), config())


def test_the_url_validation_is_answered_with_the_token_hashed_with_the_secret():
    reply = receive({"event": "endpoint.url_validation", "event_ts": 1795396500123,
                     "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}})
    expected = hmac.new(secret("zoom").encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert reply == Reply(200, {"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": expected})


def test_an_unsigned_url_validation_is_refused():
    raw = json.dumps({"event": "endpoint.url_validation", "payload": {"plainToken": "x"}}).encode()
    with pytest.raises(Refused):
        zoom.receive(delivery(raw, {}), config())


# -- call events ------------------------------------------------------------------------------------------------------------

def test_an_inbound_call_answered_and_ended_carries_the_talk_time():
    [answered] = receive(inbound("phone.callee_answered", answer_start_time="2026-11-22T01:15:08Z"))
    [ended] = receive(inbound("phone.callee_ended", answer_start_time="2026-11-22T01:15:08Z",
                              call_end_time="2026-11-22T01:17:03Z"))
    assert (answered.type, answered.occurred_at) == ("call.answered", at(15, 8))
    assert (ended.type, ended.answered, ended.duration_seconds, ended.occurred_at) == (
        "call.ended", True, 115, at(17, 3))
    assert len({answered.event_id, ended.event_id}) == 2


@pytest.mark.parametrize("event", ["phone.callee_missed", "phone.callee_rejected"])
def test_a_missed_or_rejected_call_ends_unanswered(event):
    [ended] = receive(inbound(event, call_end_time="2026-11-22T01:15:30Z", handup_result="Call Cancel"))
    assert (ended.type, ended.answered, ended.duration_seconds, ended.direction) == ("call.ended", False, 0,
                                                                                     "inbound")


def test_an_inbound_call_that_ended_without_being_answered_is_not_answered():
    [ended] = receive(inbound("phone.callee_ended", call_end_time="2026-11-22T01:15:30Z"))
    assert (ended.answered, ended.duration_seconds) == (False, 0)


def test_an_outbound_call_names_the_caller_as_agent_and_the_callee_as_the_other_party():
    [ringing] = receive(outbound("phone.caller_ringing"))
    [connected] = receive(outbound("phone.caller_connected", connected_start_time="2026-11-22T01:15:12Z"))
    [ended] = receive(outbound("phone.caller_ended", answer_start_time="2026-11-22T01:15:12Z",
                               call_end_time="2026-11-22T01:16:12Z"))
    assert [e.type for e in (ringing, connected, ended)] == ["call.ringing", "call.answered", "call.ended"]
    assert {(e.direction, e.agent_email, e.external_number) for e in (ringing, connected, ended)} == {
        ("outbound", "agent@example.com", "+81312345678")}
    assert (connected.occurred_at, ended.duration_seconds) == (at(15, 12), 60)


def test_a_redelivered_event_has_the_same_id_and_another_agents_ring_does_not():
    first = receive(inbound("phone.callee_ringing"))[0]
    again = receive(inbound("phone.callee_ringing"), at=NOW + timedelta(seconds=30))[0]
    other = inbound("phone.callee_ringing")
    other["payload"]["object"]["callee"] = {**AGENT, "user_id": "OtherUserId00000000000", "extension_number": 1002}
    second_agent = receive(other)[0]
    assert first.event_id == again.event_id
    assert second_agent.event_id != first.event_id and second_agent.agent_email == "second.agent@example.com"


def test_the_agent_is_found_by_extension_when_the_user_id_has_no_row():
    body = inbound("phone.callee_ringing")
    body["payload"]["object"]["callee"] = {**AGENT, "user_id": "UnknownUser", "extension_number": 1002}
    assert receive(body)[0].agent_email == "second.agent@example.com"


def test_an_agent_nobody_maps_is_kept_by_the_vendors_name_for_review():
    body = inbound("phone.callee_ringing")
    body["payload"]["object"]["callee"] = {**AGENT, "user_id": "UnknownUser", "extension_number": 1999}
    [event] = receive(body)
    assert (event.agent_email, event.agent_ref) == ("", "zoom:UnknownUser")


def test_a_call_between_two_extensions_is_internal():
    body = inbound("phone.callee_ringing")
    body["payload"]["object"]["caller"] = {"extension_number": 1002, "phone_number": "1002", "name": "Colleague"}
    assert receive(body)[0].internal is True


def test_a_directly_transferred_leg_belongs_to_the_original_call():
    [event] = receive(inbound("phone.callee_answered", call_id="7285531463958810000_1",
                              answer_start_time="2026-11-22T01:16:00Z"))
    assert (event.call_id, event.leg_id) == ("zoom:7285531463958810000",
                                             "zoom:7285531463958810000_1:KdYKjnimT4KPd8FFgQt9FQ")


# -- facts --------------------------------------------------------------------------------------------------------------------

def test_a_completed_recording_is_a_recording_of_its_call():
    [event] = receive(envelope("phone.recording_completed", {"recordings": [{
        "id": "a2f9ab6b0ba54b2aa3e9b5f5e3c1c0d1", "caller_number": "+81312345678", "caller_number_type": 2,
        "callee_number": "1001", "callee_number_type": 1, "callee_name": "Agent One", "duration": 115,
        "download_url": "https://zoom.us/v2/phone/recording/download/a2f9ab6b0ba54b2a",
        "date_time": "2026-11-22T01:15:08Z", "end_time": "2026-11-22T01:17:03Z", "user_id": AGENT_USER,
        "call_id": "7285531463958810000", "direction": "inbound", "recording_type": "Automatic",
        "owner": {"type": "user", "id": AGENT_USER, "name": "Agent One", "extension_number": 1001}}]}))
    assert (event.type, event.call_id, event.recording_url, event.agent_email, event.external_number) == (
        "call.recording", "zoom:7285531463958810000", "https://zoom.us/v2/phone/recording/download/a2f9ab6b0ba54b2a",
        "agent@example.com", "+81312345678")
    assert event.event_id == "zoom:phone.recording_completed:a2f9ab6b0ba54b2aa3e9b5f5e3c1c0d1"


def test_a_voicemail_is_a_recording_with_the_voicemail_link():
    [event] = receive(envelope("phone.voicemail_received", {
        "id": "e7d3c2b1a0f94e8d", "date_time": "2026-11-22T01:16:10Z",
        "download_url": "https://zoom.us/v2/phone/voice_mails/download/e7d3c2b1a0f94e8d", "duration": 21,
        "caller_number": "+81312345678", "caller_number_type": 2, "caller_name": "YAMADA TARO",
        "callee_user_id": AGENT_USER, "callee_number": "1001", "callee_number_type": 1, "callee_name": "Agent One",
        "callee_extension_type": "user", "callee_id": "3vOmTcDyQTCSbLbX4j8tuA", "call_id": "7285531463958810000"}))
    assert (event.type, event.voicemail_url, event.recording_url, event.agent_email) == (
        "call.recording", "https://zoom.us/v2/phone/voice_mails/download/e7d3c2b1a0f94e8d", None,
        "agent@example.com")


# -- text messages ------------------------------------------------------------------------------------------------------------

def test_a_received_text_is_a_message_from_the_sender_to_its_owner():
    [event] = receive(envelope("phone.sms_received", {
        "sender": {"phone_number": "+81312345678", "display_name": "YAMADA TARO"},
        "to_members": [{"id": AGENT_USER, "type": "user", "display_name": "Agent One",
                        "phone_number": "+81312340001", "is_message_owner": True}],
        "owner": {"type": "user", "id": AGENT_USER}, "message": "明日の件、了解しました",
        "attachments": [], "session_id": "b1c2d3e4", "message_id": "IQ-sms-0001", "message_type": 1,
        "date_time": "2026-11-22T01:18:00Z"}))
    assert (event.type, event.call_id, event.text, event.external_number, event.agent_email) == (
        "message.received", "", "明日の件、了解しました", "+81312345678", "agent@example.com")
    assert event.event_id == "zoom:phone.sms_received:IQ-sms-0001"


def test_a_sent_text_is_a_message_to_the_recipient():
    [event] = receive(envelope("phone.sms_sent", {
        "sender": {"phone_number": "+81312340001", "id": AGENT_USER, "type": "user", "display_name": "Agent One"},
        "to_members": [{"phone_number": "+81312345678", "display_name": "YAMADA TARO"}],
        "owner": {"type": "user", "id": AGENT_USER, "sms_sender_user_id": AGENT_USER},
        "message": "Thank you for calling.", "attachments": [], "session_id": "b1c2d3e4",
        "message_id": "IQ-sms-0002", "message_type": 1, "date_time": "2026-11-22T01:19:00Z"}))
    assert (event.type, event.direction, event.text, event.external_number, event.agent_email) == (
        "message.sent", "outbound", "Thank you for calling.", "+81312345678", "agent@example.com")


# -- what cannot be mapped ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("field", ["call_id", "callee", "ringing_start_time"])
def test_a_call_event_without_a_field_it_needs_names_the_field(field):
    body = inbound("phone.callee_ringing")
    del body["payload"]["object"][field]
    with pytest.raises(EventError) as error:
        receive(body)
    assert error.value.field == f"payload.object.{field}"


def test_an_ended_event_without_its_end_time_names_it():
    with pytest.raises(EventError) as error:
        receive(inbound("phone.callee_ended", answer_start_time="2026-11-22T01:15:08Z"))
    assert error.value.field == "payload.object.call_end_time"


def test_a_call_id_with_control_characters_is_refused_naming_it():
    with pytest.raises(EventError) as error:
        receive(inbound("phone.callee_ringing", call_id="72855\x00"))
    assert error.value.field == "payload.object.call_id"


def test_a_recording_without_its_call_names_the_field():
    with pytest.raises(EventError) as error:
        receive(envelope("phone.recording_completed", {"recordings": [{
            "id": "r1", "download_url": "https://zoom.us/r1", "date_time": "2026-11-22T01:15:08Z",
            "direction": "inbound", "caller_number": "+81312345678", "callee_number": "1001"}]}))
    assert error.value.field == "payload.object.recordings[0].call_id"


def test_a_signed_body_that_is_not_json_is_a_bad_request():
    with pytest.raises(EventError):
        receive(b"not json")


@pytest.mark.parametrize("event", ["phone.callee_hold", "phone.caller_mute", "phone.callee_call_element_completed",
                                   "meeting.started"])
def test_events_the_panel_does_not_use_are_accepted_and_ignored(event):
    assert receive(inbound(event)) == []


def test_the_demo_delivery_is_genuine():
    from panel.dialers.base import DemoCall

    call = DemoCall(call_id="demo-1", direction="inbound", number="03-1234-5678", agent_email="agent@example.com",
                    started_at=NOW - timedelta(minutes=2), answered=True, duration_seconds=40)
    raw, headers, content_type = zoom.demo_delivery("ended", call, secret=secret("zoom"), url="https://x", now=NOW)
    [event] = zoom.receive(delivery(raw, headers, content_type=content_type), config())
    assert (event.type, event.answered, event.duration_seconds, event.agent_email) == (
        "call.ended", True, 40, "agent@example.com")
