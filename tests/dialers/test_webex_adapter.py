"""The Webex Contact Center adapter (panel.dialers.webex) on its own. Payloads written from Webex's documentation:
https://developer.webex.com/webex-contact-center/docs/api/guides/webhooks-cc (envelope, X-WebexCC-Signature,
v2 timestamp), https://developer.webex.com/create/docs/webhooks-cc (task and capture events), and the field names
of Cisco's samples (https://github.com/WebexSamples/webex-contact-center-api-samples: capture:available `taskId`,
`filePath`, `createdTime`; task:ended `origin`, `destination`, `direction`, `reason`, `terminatingParty`).
Signatures are computed by the test's own signer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

import pytest

from panel.calls.events import EventError
from panel.dialers import webex
from panel.dialers.base import DemoCall, Refused
from panel.dialers.identities import parse_identities
from tests.dialers_support import adapter_config, delivery, secret

NOW = datetime(2026, 12, 1, 1, 15, tzinfo=timezone.utc)
STAMP = int(NOW.timestamp() * 1000)
TASK = "f484abb1-0937-11ed-994c-bf6de601ac80"
AGENT_ID = "55de70fc-af58-40e8-b7f8-c23536a53e76"
IDENTITIES = parse_identities(f"dialer,dialer_user,agent_email\nwebex,{AGENT_ID},agent@example.com\n")


def event(event_type: str, *, event_id: str = "e9619c7b-8f8a-45e6-9f32-f44ecef98472", v2: bool = True,
          **data) -> dict:
    body = {"id": event_id, "specversion": "1.0", "type": event_type,
            "source": "/com/cisco/wxcc/fdcac25f-c5e3-43ba-8455-67c44cf4936c",
            "comciscoorgid": "3eb3c4b5-6c60-4893-8bd8-8454537324e4", "datacontenttype": "application/json",
            "data": {"taskId": TASK, "channelType": "telephony", "direction": "INBOUND", "origin": "+81312345678",
                     "destination": "+81500000001", "createdTime": STAMP - 1000, "queueId": "q-1", **data}}
    if v2:
        body["comciscotimestamp"] = STAMP
    return body


def receive(body: dict | bytes, *, key: str | None = None, headers: dict | None = None, now: datetime = NOW,
            timestamp: int | None = STAMP):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    signature = hmac.new((key or secret("webex")).encode(), raw, hashlib.sha256).hexdigest()
    sent = {"X-WebexCC-Signature": signature, **({"X-WebexCC-Timestamp": str(timestamp)} if timestamp else {}),
            "X-WebexCC-Webhook-Version": "task:1.0.0", **(headers or {})}
    return webex.receive(delivery(raw, sent, url="https://panel.example.com/webhooks/webex"),
                         adapter_config("webex", identities=IDENTITIES, now=now))


def test_a_genuine_delivery_is_accepted():
    [ringing] = receive(event("task:connect", agentId=AGENT_ID))
    assert (ringing.type, ringing.call_id, ringing.agent_email) == ("call.ringing", f"webex:{TASK}",
                                                                   "agent@example.com")
    assert ringing.event_id == "webex:e9619c7b-8f8a-45e6-9f32-f44ecef98472"


def test_a_v1_delivery_without_a_timestamp_header_is_accepted():
    assert receive(event("task:connected", agentId=AGENT_ID, v2=False), timestamp=None)


@pytest.mark.parametrize("case", ["other secret", "missing", "tampered"])
def test_a_forged_delivery_is_refused(case):
    body = json.dumps(event("task:ended", agentId=AGENT_ID)).encode()
    if case == "other secret":
        with pytest.raises(Refused):
            receive(body, key="not-the-subscription-secret")
        return
    signature = hmac.new(secret("webex").encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-WebexCC-Signature": "" if case == "missing" else signature,
               "X-WebexCC-Timestamp": str(STAMP)}
    sent = body.replace(b"INBOUND", b"OUTBOUND") if case == "tampered" else body
    with pytest.raises(Refused):
        webex.receive(delivery(sent, headers), adapter_config("webex", now=NOW))


def test_a_stale_delivery_is_refused():
    with pytest.raises(Refused):
        receive(event("task:ended"), now=NOW + timedelta(minutes=6))


def test_a_stale_delivery_replayed_without_its_timestamp_header_is_refused():
    """The header is not signed, the body's comciscotimestamp is: dropping the header does not make an old
    delivery new."""
    with pytest.raises(Refused):
        receive(event("task:ended"), now=NOW + timedelta(minutes=6), timestamp=None)


def test_a_timestamp_header_that_differs_from_the_signed_body_is_refused():
    with pytest.raises(Refused):
        receive(event("task:ended"), timestamp=STAMP + 1)


def test_task_events_map_to_ringing_answered_and_ended():
    [ringing] = receive(event("task:connect", agentId=AGENT_ID))
    [answered] = receive(event("task:connected", agentId=AGENT_ID, event_id="2"))
    [ended] = receive(event("task:ended", agentId=AGENT_ID, reason="Agent Left", terminatingParty="Agent",
                            event_id="3"))
    assert [ringing.type, answered.type, ended.type] == ["call.ringing", "call.answered", "call.ended"]
    assert {e.call_id for e in (ringing, answered, ended)} == {f"webex:{TASK}"}
    assert (ended.direction, ended.external_number, ended.answered) == ("inbound", "+81312345678", True)
    assert ended.occurred_at == NOW - timedelta(seconds=1)
    assert ended.leg_id is None


def test_an_outbound_task_is_outbound_to_its_destination():
    [event_] = receive(event("task:connected", agentId=AGENT_ID, direction="OUTBOUND",
                             origin="+81500000001", destination="+81312345678"))
    assert (event_.direction, event_.external_number) == ("outbound", "+81312345678")


def test_a_task_the_customer_abandoned_ends_not_answered():
    [ended] = receive(event("task:ended", reason="Customer Left", terminatingParty="Customer"))
    assert (ended.answered, ended.duration_seconds) == (False, 0)
    assert ended.agent_ref == "webex:(none)"


def test_a_ring_no_answer_is_not_the_end_of_the_task():
    assert receive(event("task:ended", agentId=AGENT_ID, reason="RONA Timer Expired",
                         terminatingParty="System")) == []


def test_a_recording_ready_is_a_fact_of_the_task():
    link = "https://cjp-ccone-media-storage-recording.s3.amazonaws.com/3eb3c4b5/f484abb1.wav"
    [fact] = receive(event("capture:available", filePath=link))
    assert (fact.type, fact.call_id, fact.recording_url) == ("call.recording", f"webex:{TASK}", link)
    assert receive(event("capture:available", filePath="recordings/3eb3c4b5/f484abb1.wav")) == []


@pytest.mark.parametrize("event_type", ["task:new", "task:parked", "task:on-hold", "agent:login",
                                        "task-message:appended"])
def test_events_the_panel_does_not_log_store_nothing(event_type):
    assert receive(event(event_type, agentId=AGENT_ID)) == []


def test_a_chat_task_is_not_a_call():
    assert receive(event("task:connected", agentId=AGENT_ID, channelType="chat")) == []


@pytest.mark.parametrize("body, field", [
    ({k: v for k, v in event("task:connected").items() if k != "id"}, "id"),
    ({**event("task:connected"), "data": {"channelType": "telephony", "createdTime": STAMP}}, "data.taskId"),
    ({k: v for k, v in event("task:connected").items() if k != "type"}, "type"),
    (event("task:connected", createdTime="yesterday"), "data.createdTime"),
    (event("task:connected", origin="+81\u000012345678"), "data.origin"),
])
def test_a_delivery_missing_what_the_panel_needs_names_the_field(body, field):
    with pytest.raises(EventError) as raised:
        receive(body)
    assert raised.value.field == field


def test_a_body_that_is_not_json_is_refused_as_unmappable():
    with pytest.raises(EventError):
        receive(b"task:ended")


def test_the_demo_sends_a_genuine_delivery():
    call = DemoCall(call_id=TASK, direction="inbound", number="+81312345678", agent_email="agent@example.com",
                    started_at=NOW, duration_seconds=42)
    body, headers, content_type = webex.demo_delivery("ended", call, secret=secret("webex"), url="", now=NOW)
    [ended] = webex.receive(delivery(body, headers, content_type=content_type), adapter_config("webex", now=NOW))
    assert (ended.type, ended.agent_email, ended.answered, ended.duration_seconds) == \
        ("call.ended", "agent@example.com", True, 42)
