"""The Twilio adapter (panel.dialers.twilio) on its own: signatures, the status callbacks' mapping, recordings and
messages. Payloads written from Twilio's documentation:
https://www.twilio.com/docs/usage/webhooks/webhooks-security (the signature),
https://www.twilio.com/docs/usage/webhooks/voice-webhooks and https://www.twilio.com/docs/voice/api/call-resource
(status callback parameters), https://www.twilio.com/docs/messaging/guides/webhook-request (incoming messages).
The signatures here are computed by the test's own signer, never by the adapter.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timezone

import pytest

from panel.calls.events import EventError
from panel.dialers import twilio
from panel.dialers.base import DemoCall, Refused, Reply
from panel.dialers.identities import parse_identities
from tests.dialers_support import adapter_config, delivery, form_body, secret

URL = "https://panel.example.com/webhooks/twilio"
TOKEN = secret("twilio")
FORM = "application/x-www-form-urlencoded"
PARENT = "CA5f1e2d3c4b5a69788796a5b4c3d2e1f0"
CHILD = "CAa1b2c3d4e5f60718293a4b5c6d7e8f90"
IDENTITIES = parse_identities("dialer,dialer_user,agent_email\ntwilio,alice,agent@example.com\n"
                              "twilio,+815012340000,agent2@example.com\n")


def sign(url: str, fields: list[tuple[str, str]], token: str = TOKEN) -> str:
    """Twilio's scheme as its security page states it: the URL, then each name and value sorted by name."""
    text = url + "".join(name + value for name, value in sorted(fields))
    return base64.b64encode(hmac.new(token.encode(), text.encode(), hashlib.sha1).digest()).decode()


def callback(**fields: str) -> list[tuple[str, str]]:
    base = {"AccountSid": "AC" + "1" * 32, "ApiVersion": "2010-04-01", "CallbackSource": "call-progress-events",
            "Timestamp": "Tue, 01 Dec 2026 01:15:00 +0000", "SequenceNumber": "0"}
    return list({**base, **fields}.items())


def receive(fields: list[tuple[str, str]], *, url: str = URL, signature: str | None = None, headers=None,
            identities=IDENTITIES):
    sent = {"X-Twilio-Signature": sign(url, fields) if signature is None else signature, **(headers or {})}
    return twilio.receive(delivery(form_body(fields), sent, url=url, content_type=FORM, form=fields),
                          adapter_config("twilio", identities=identities))


def child_leg(status: str, **extra: str) -> list[tuple[str, str]]:
    return callback(CallSid=CHILD, ParentCallSid=PARENT, CallStatus=status, Direction="outbound-dial",
                    From="+81312345678", To="client:alice", **extra)


def parent_leg(status: str, **extra: str) -> list[tuple[str, str]]:
    return callback(CallSid=PARENT, CallStatus=status, Direction="inbound", From="+81312345678",
                    To="+815012349999", **extra)


# -- signatures --------------------------------------------------------------------------------------------------

def test_the_signature_matches_twilios_documented_example():
    fields = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+12349013030"), ("Digits", "1234"),
              ("From", "+12349013030"), ("To", "+18005551212")]
    assert twilio.signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", fields) == \
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_a_genuine_status_callback_is_accepted():
    [event] = receive(child_leg("ringing"))
    assert event.type == "call.ringing"


def test_a_signature_over_the_url_with_the_default_port_is_accepted():
    fields = child_leg("ringing")
    assert receive(fields, signature=sign("https://panel.example.com:443/webhooks/twilio", fields))


@pytest.mark.parametrize("case", ["other token", "other url", "tampered", "missing", "rule"])
def test_a_forged_callback_is_refused(case):
    fields = child_leg("completed", CallDuration="95")
    signature, headers = sign(URL, fields), {}
    if case == "other token":
        signature = sign(URL, fields, token="not-the-auth-token")
    elif case == "other url":
        signature = sign("https://attacker.example.com/webhooks/twilio", fields)
    elif case == "tampered":
        fields = [(name, "0" if name == "CallDuration" else value) for name, value in fields]
    elif case == "missing":
        signature = ""
    else:
        headers = {"X-Twilio-Webhooks-Signature-Settings": "key=KS1,algorithm=HMAC_SHA256"}
    with pytest.raises(Refused):
        receive(fields, signature=signature, headers=headers)


def test_a_json_webhook_is_verified_by_its_body_hash_and_ignored():
    body = '{"event": "something"}'
    url = f"{URL}?bodySHA256={hashlib.sha256(body.encode()).hexdigest()}"
    headers = {"X-Twilio-Signature": sign(url, [])}
    assert twilio.receive(delivery(body, headers, url=url), adapter_config("twilio")) == []
    with pytest.raises(Refused):
        twilio.receive(delivery(body + " ", headers, url=url), adapter_config("twilio"))


# -- calls -------------------------------------------------------------------------------------------------------

def test_a_child_leg_to_a_browser_is_an_inbound_call_of_the_parent_interaction():
    [ringing] = receive(child_leg("ringing"))
    [answered] = receive(child_leg("in-progress"))
    [ended] = receive(child_leg("completed", CallDuration="95"))
    assert [ringing.type, answered.type, ended.type] == ["call.ringing", "call.answered", "call.ended"]
    assert ended.call_id == f"twilio:{PARENT}" and ended.leg_id == f"twilio:{CHILD}"
    assert (ended.direction, ended.external_number, ended.agent_email) == ("inbound", "+81312345678",
                                                                            "agent@example.com")
    assert (ended.answered, ended.duration_seconds) == (True, 95)
    assert ended.occurred_at == datetime(2026, 12, 1, 1, 15, tzinfo=timezone.utc)


def test_the_leg_twilio_answers_itself_is_not_an_agents_answer():
    assert receive(parent_leg("in-progress")) == []
    [ringing] = receive(parent_leg("ringing"))
    assert (ringing.type, ringing.call_id, ringing.direction) == ("call.ringing", f"twilio:{PARENT}", "inbound")
    assert ringing.agent_ref == "twilio:+815012349999"  # the number called: no PANEL_DIALER_USERS row
    [ended] = receive(parent_leg("completed", CallDuration="130"))
    assert (ended.answered, ended.duration_seconds) == (False, 0)


def test_a_call_placed_by_the_rest_api_is_outbound_from_the_agents_number():
    fields = callback(CallSid=CHILD, CallStatus="completed", Direction="outbound-api", From="+815012340000",
                      To="+81312345678", CallDuration="61")
    [ended] = receive(fields)
    assert (ended.direction, ended.external_number, ended.agent_email) == ("outbound", "+81312345678",
                                                                            "agent2@example.com")
    assert ended.call_id == ended.leg_id == f"twilio:{CHILD}"
    assert (ended.answered, ended.duration_seconds) == (True, 61)


def test_a_call_from_the_agents_browser_is_outbound_to_the_number_dialled():
    fields = callback(CallSid=PARENT, CallStatus="ringing", Direction="inbound", From="client:alice",
                      To="+81312345678")
    [event] = receive(fields)
    assert (event.direction, event.external_number, event.agent_email) == ("outbound", "+81312345678",
                                                                            "agent@example.com")


def test_a_child_leg_to_an_agents_mapped_number_is_inbound():
    fields = callback(CallSid=CHILD, ParentCallSid=PARENT, CallStatus="in-progress", Direction="outbound-dial",
                      From="+81312345678", To="+815012340000")
    [event] = receive(fields)
    assert (event.direction, event.agent_email, event.external_number) == ("inbound", "agent2@example.com",
                                                                            "+81312345678")


@pytest.mark.parametrize("status", ["busy", "no-answer", "canceled", "failed"])
def test_an_unanswered_leg_ends_not_answered(status):
    [ended] = receive(child_leg(status))
    assert (ended.type, ended.answered, ended.duration_seconds) == ("call.ended", False, 0)


@pytest.mark.parametrize("status", ["queued", "initiated"])
def test_statuses_before_ringing_store_nothing(status):
    assert receive(child_leg(status)) == []


def test_a_redelivered_status_has_the_same_event_id_and_another_status_does_not():
    [first] = receive(child_leg("ringing", SequenceNumber="1"))
    [again] = receive(child_leg("ringing", SequenceNumber="1"))
    [answered] = receive(child_leg("in-progress", SequenceNumber="2"))
    assert first.event_id == again.event_id == f"twilio:{CHILD}:ringing"
    assert answered.event_id != first.event_id


def test_an_unknown_agent_is_kept_by_the_identity_twilio_named():
    [event] = receive(child_leg("ringing"), identities=parse_identities("dialer,dialer_user,agent_email\n"))
    assert (event.agent_email, event.agent_ref) == ("", "twilio:alice")


@pytest.mark.parametrize("fields, field", [
    (callback(CallStatus="ringing", Direction="inbound", From="+81312345678", To="+815012349999"), "CallSid"),
    (callback(CallSid=CHILD, ParentCallSid=PARENT, CallStatus="completed", Direction="outbound-dial",
              From="+81312345678", To="client:alice"), "CallDuration"),
    (callback(CallSid=CHILD, ParentCallSid=PARENT, CallStatus="completed", Direction="outbound-dial",
              From="+81312345678", To="client:alice", CallDuration="ninety"), "CallDuration"),
    (callback(CallSid=CHILD, CallStatus="ringing", Direction="inbound", From="+81312345678", To="+815012349999",
              Timestamp="yesterday"), "Timestamp"),
    (callback(CallSid=CHILD, CallStatus="ringing", Direction="inbound", From="+81\x0012345678",
              To="+815012349999"), "From"),
])
def test_a_callback_missing_what_the_panel_needs_names_the_field(fields, field):
    with pytest.raises(EventError) as raised:
        receive(fields)
    assert raised.value.field == field


def test_a_conference_callback_stores_nothing():
    fields = callback(CallSid=CHILD, ConferenceSid="CF" + "2" * 32, StatusCallbackEvent="participant-join",
                      FriendlyName="support")
    assert receive(fields) == []


# -- recordings and messages -------------------------------------------------------------------------------------

def test_a_completed_recording_is_a_fact_of_the_recorded_call():
    fields = callback(CallSid=PARENT, RecordingSid="RE" + "3" * 32, RecordingStatus="completed",
                      RecordingUrl=f"https://api.twilio.com/2010-04-01/Accounts/AC{'1' * 32}/Recordings/RE{'3' * 32}",
                      RecordingDuration="94", RecordingChannels="1", RecordingSource="DialVerb")
    [fact] = receive(fields)
    assert (fact.type, fact.call_id) == ("call.recording", f"twilio:{PARENT}")
    assert fact.recording_url.endswith("/Recordings/RE" + "3" * 32)
    assert receive([(n, "in-progress" if n == "RecordingStatus" else v) for n, v in fields]) == []


def test_an_incoming_text_is_a_received_message_of_the_number_it_was_sent_to():
    fields = [("MessageSid", "SM" + "4" * 32), ("SmsSid", "SM" + "4" * 32), ("AccountSid", "AC" + "1" * 32),
              ("From", "+81312345678"), ("To", "+815012340000"), ("Body", "明日の納品は何時ですか"),
              ("NumMedia", "0"), ("SmsStatus", "received"), ("ApiVersion", "2010-04-01")]
    [message] = receive(fields)
    assert (message.type, message.text, message.external_number) == ("message.received", "明日の納品は何時ですか",
                                                                      "+81312345678")
    assert (message.agent_email, message.call_id) == ("agent2@example.com", "")


def test_a_sent_status_with_the_text_is_a_sent_message_once_whatever_statuses_follow():
    def status(value: str, body: bool = True) -> list[tuple[str, str]]:
        fields = [("MessageSid", "SM" + "5" * 32), ("MessageStatus", value), ("SmsStatus", value),
                  ("From", "+815012340000"), ("To", "+81312345678")]
        return fields + ([("Body", "14時に伺います")] if body else [])

    [sent] = receive(status("sent"))
    [delivered] = receive(status("delivered"))
    assert (sent.type, sent.external_number, sent.text) == ("message.sent", "+81312345678", "14時に伺います")
    assert sent.event_id == delivered.event_id
    assert receive(status("sent", body=False)) == []
    assert receive(status("undelivered")) == []


def test_the_demo_sends_a_genuine_callback():
    call = DemoCall(call_id=CHILD, direction="outbound", number="+81312345678", agent_email="agent@example.com",
                    started_at=datetime.now(timezone.utc), duration_seconds=42)
    body, headers, content_type = twilio.demo_delivery("ended", call, secret=TOKEN, url=URL,
                                                       now=datetime.now(timezone.utc))
    from urllib.parse import parse_qsl

    fields = parse_qsl(body.decode())
    [event] = twilio.receive(delivery(body, headers, url=URL, content_type=content_type, form=fields),
                             adapter_config("twilio"))
    assert (event.type, event.direction, event.agent_email, event.duration_seconds) == \
        ("call.ended", "outbound", "agent@example.com", 42)


def test_what_the_intake_answers_is_empty_twiml():
    assert isinstance(twilio.ACCEPTED_REPLY, Reply)
    assert "<Response/>" in twilio.ACCEPTED_REPLY.body
