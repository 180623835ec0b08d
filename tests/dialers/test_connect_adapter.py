"""The Amazon Connect adapter (panel.dialers.connect) as a pure function: contact events, as an EventBridge API
destination delivers them, into the panel's call events.

The payloads are written here from the documented envelope and samples ("Sample contact event for when a voice call
is connected to an agent" / "... is disconnected"):
https://docs.aws.amazon.com/connect/latest/adminguide/contact-events.html
https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-connect.html
The API key header an EventBridge connection sends:
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_ConnectionApiKeyAuthResponseParameters.html
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from dialers_support import adapter_config, delivery, secret
from panel.calls.events import EventError
from panel.dialers import connect
from panel.dialers.base import Refused
from panel.dialers.identities import parse_identities

INSTANCE = "arn:aws:connect:ap-northeast-1:111122223333:instance/9f3c2a10-5b7e-4d1c-8e2f-0a1b2c3d4e5f"
AGENT_ID = "5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e"
AGENT_ARN = f"{INSTANCE}/agent/{AGENT_ID}"
IDENTITIES = parse_identities(f"dialer,dialer_user,agent_email\nconnect,{AGENT_ARN},agent@example.com\n")


def contact_event(event_type: str, *, event_id: str = "7a1d4c2e-0b9f-4e6a-9c3d-1e2f3a4b5c6d",
                  contact_id: str = "c0ffee00-1111-4222-8333-444455556666", initial: str | None = None,
                  method: str = "INBOUND", channel: str = "VOICE", agent: bool = True, answered: bool = True,
                  number: str | None = "03-1234-5678", **detail) -> dict:
    """An EventBridge envelope around one contact event, shaped like the documented samples."""
    body = {
        "eventType": event_type, "contactId": contact_id, "channel": channel, "instanceArn": INSTANCE,
        "initiationMethod": method, "initiationTimestamp": "2026-11-20T01:00:00.000Z",
        "tags": {"aws:connect:instanceId": INSTANCE.rsplit("/", 1)[-1], "aws:connect:systemEndpoint": "+81312345000"},
    }
    if initial:
        body["initialContactId"] = initial
    if number is not None:
        body["tags"]["CustomerNumber"] = number
    if agent:
        body["agentInfo"] = {"agentArn": AGENT_ARN}
        if answered:
            body["agentInfo"]["connectedToAgentTimestamp"] = "2026-11-20T01:00:20.000Z"
    if answered and method == "OUTBOUND":
        body["connectedToSystemTimestamp"] = "2026-11-20T01:00:12.000Z"
    if event_type == "DISCONNECTED":
        body["disconnectTimestamp"] = "2026-11-20T01:03:05.000Z"
    body.update(detail)
    return {"version": "0", "id": event_id, "detail-type": "Amazon Connect Contact Event", "source": "aws.connect",
            "account": "111122223333", "time": "2026-11-20T01:03:06Z", "region": "ap-northeast-1",
            "resources": [f"{INSTANCE}/contact/{contact_id}", INSTANCE], "detail": body}


def receive(payload: dict | bytes, headers: dict | None = None, *, settings: dict | None = None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return connect.receive(delivery(body, {"x-api-key": secret("connect")} if headers is None else headers),
                           adapter_config("connect", identities=IDENTITIES, settings=settings))


def test_a_genuine_disconnect_is_the_calls_end():
    [event] = receive(contact_event("DISCONNECTED"))
    assert event.type == "call.ended"
    assert event.event_id == "connect:7a1d4c2e-0b9f-4e6a-9c3d-1e2f3a4b5c6d"
    assert event.call_id == event.leg_id == "connect:c0ffee00-1111-4222-8333-444455556666"
    assert (event.direction, event.agent_email, event.agent_ref) == ("inbound", "agent@example.com", None)
    assert event.external_number == "03-1234-5678"
    assert event.occurred_at == datetime(2026, 11, 20, 1, 3, 5, tzinfo=timezone.utc)
    assert event.answered is True and event.duration_seconds == 165  # connected to the agent → disconnect


def test_the_api_key_header_name_is_configurable():
    events = receive(contact_event("DISCONNECTED"), {"Authorization": secret("connect")},
                     settings={"PANEL_CONNECT_API_KEY_HEADER": "Authorization"})
    assert len(events) == 1


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "wrong"}, {"x-api-key": secret("connect") + " "},
                                     {"Authorization": secret("connect")}])
def test_a_delivery_without_the_api_key_is_refused(headers):
    with pytest.raises(Refused) as refused:
        receive(contact_event("DISCONNECTED"), headers)
    assert secret("connect") not in refused.value.message


def test_transfer_legs_share_the_initial_contact():
    first = receive(contact_event("DISCONNECTED", contact_id="leg-1", initial="leg-1", event_id="e1"))[0]
    second = receive(contact_event("DISCONNECTED", contact_id="leg-2", initial="leg-1", method="TRANSFER",
                                   previousContactId="leg-1", event_id="e2"))[0]
    assert first.call_id == second.call_id == "connect:leg-1"
    assert (first.leg_id, second.leg_id) == ("connect:leg-1", "connect:leg-2")
    assert second.direction == "inbound"


def test_initiated_rings_and_an_agent_connecting_answers_an_inbound_call():
    [ringing] = receive(contact_event("INITIATED", agent=False))
    assert ringing.type == "call.ringing" and ringing.occurred_at == datetime(2026, 11, 20, 1, tzinfo=timezone.utc)
    assert ringing.agent_email == "" and ringing.agent_ref == "connect:(none)"
    [answered] = receive(contact_event("CONNECTED_TO_AGENT", event_id="e-answer"))
    assert answered.type == "call.answered"
    assert answered.occurred_at == datetime(2026, 11, 20, 1, 0, 20, tzinfo=timezone.utc)


def test_an_outbound_call_is_answered_when_the_customer_picks_up():
    assert receive(contact_event("CONNECTED_TO_AGENT", method="OUTBOUND")) == []
    [answered] = receive(contact_event("CONNECTED_TO_SYSTEM", method="OUTBOUND"))
    assert (answered.type, answered.direction) == ("call.answered", "outbound")
    assert answered.occurred_at == datetime(2026, 11, 20, 1, 0, 12, tzinfo=timezone.utc)
    [ended] = receive(contact_event("DISCONNECTED", method="OUTBOUND"))
    assert ended.answered is True and ended.duration_seconds == 173  # the customer answered → disconnect


def test_an_outbound_call_nobody_picked_up_is_unanswered():
    [ended] = receive(contact_event("DISCONNECTED", method="OUTBOUND", answered=False))
    assert (ended.answered, ended.duration_seconds, ended.agent_email) == (False, 0, "agent@example.com")


def test_a_call_abandoned_in_the_queue_is_missed_and_names_no_agent():
    [ended] = receive(contact_event("DISCONNECTED", agent=False, queueInfo={"queueArn": f"{INSTANCE}/queue/q"}))
    assert (ended.answered, ended.duration_seconds, ended.agent_email) == (False, 0, "")
    assert ended.agent_ref == "connect:(none)"


def test_connects_1970_placeholder_is_no_answer():
    payload = contact_event("DISCONNECTED", agent=False)
    payload["detail"]["agentInfo"] = {"agentArn": AGENT_ARN, "connectedToAgentTimestamp": "1970-01-01T00:00:00.001Z"}
    [ended] = receive(payload)
    assert ended.answered is False


def test_an_agent_without_a_row_is_named_for_review_and_its_id_may_be_the_row():
    payload = contact_event("DISCONNECTED")
    payload["detail"]["agentInfo"]["agentArn"] = f"{INSTANCE}/agent/unknown-agent"
    [ended] = receive(payload)
    assert ended.agent_email == "" and ended.agent_ref == "connect:unknown-agent"
    by_id = parse_identities("dialer,dialer_user,agent_email\nconnect,unknown-agent,other@example.com\n")
    [ended] = connect.receive(delivery(json.dumps(payload), {"x-api-key": secret("connect")}),
                              adapter_config("connect", identities=by_id))
    assert ended.agent_email == "other@example.com"


def test_the_number_comes_from_the_customer_endpoint_when_connect_sends_one():
    payload = contact_event("DISCONNECTED", number=None, customerEndpoint={"address": "+81312345678",
                                                                         "type": "TELEPHONE_NUMBER"})
    assert receive(payload)[0].external_number == "+81312345678"


def test_without_a_number_the_call_is_still_its_event():
    [ended] = receive(contact_event("DISCONNECTED", number=None))
    assert ended.external_number == ""


def test_the_pascal_case_sample_spelling_is_read_too():
    payload = contact_event("CONNECTED_TO_AGENT")
    detail = payload["detail"]
    payload["detail"] = {"ContactId": detail["contactId"], "Channel": "VOICE", "InitiationMethod": "INBOUND",
                         "EventType": "CONNECTED_TO_AGENT", "tags": detail["tags"],
                         "AgentInfo": {"AgentArn": AGENT_ARN, "ConnectedToAgentTimestamp": "2026-11-20T01:00:20.000Z"}}
    [answered] = receive(payload)
    assert answered.type == "call.answered" and answered.agent_email == "agent@example.com"


@pytest.mark.parametrize("event_type", ["QUEUED", "CONTACT_DATA_UPDATED", "COMPLETED", "AMD_DISABLED", "PAUSED"])
def test_other_contact_events_store_nothing(event_type):
    assert receive(contact_event(event_type)) == []


@pytest.mark.parametrize("change", [{"channel": "CHAT"}, {"channel": "TASK"}, {"method": "MONITOR"},
                                    {"method": "DISCONNECT"}])
def test_contacts_that_are_no_customer_call_store_nothing(change):
    assert receive(contact_event("DISCONNECTED", **change)) == []


def test_other_event_buses_traffic_stores_nothing():
    payload = contact_event("DISCONNECTED")
    payload["detail-type"] = "Contact Lens Post Call Rules Matched"
    assert receive(payload) == []
    payload = contact_event("DISCONNECTED")
    payload["source"] = "aws.ec2"
    assert receive(payload) == []


@pytest.mark.parametrize("path, field", [
    (("id",), "id"),
    (("detail", "contactId"), "detail.contactId"),
    (("detail", "disconnectTimestamp"), None),  # falls back to the envelope's time
])
def test_a_missing_field_is_named(path, field):
    payload = contact_event("DISCONNECTED")
    target = payload
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    if field is None:
        [ended] = receive(payload)
        assert ended.occurred_at == datetime(2026, 11, 20, 1, 3, 6, tzinfo=timezone.utc)
        return
    with pytest.raises(EventError) as error:
        receive(payload)
    assert error.value.field == field and "missing" in error.value.message


def test_a_broken_time_or_body_is_refused_naming_it():
    payload = contact_event("DISCONNECTED", disconnectTimestamp="yesterday")
    with pytest.raises(EventError) as error:
        receive(payload)
    assert error.value.field == "detail.disconnectTimestamp"
    for body in (b"not json", b"[]", b"\xff", json.dumps({**contact_event("INITIATED"), "detail": "x"}).encode()):
        with pytest.raises(EventError):
            receive(body)


def test_an_id_with_control_characters_is_refused():
    with pytest.raises(EventError) as error:
        receive(contact_event("DISCONNECTED", contact_id="c\x00d"))
    assert error.value.field == "detail.contactId"


def test_the_demo_delivers_genuine_events_for_an_answered_inbound_call():
    from panel.dialers.base import DemoCall

    call = DemoCall(call_id="demo-1", direction="inbound", number="03-1234-5678", agent_email="agent@example.com",
                    started_at=datetime(2026, 11, 20, 1, tzinfo=timezone.utc), answered=True, duration_seconds=60)
    now = datetime(2026, 11, 20, 1, 2, tzinfo=timezone.utc)
    kinds = []
    for kind in ("ringing", "answered", "ended"):
        body, headers, content_type = connect.demo_delivery(kind, call, secret=secret("connect"), url="", now=now)
        [event] = connect.receive(delivery(body, headers, content_type=content_type), adapter_config("connect"))
        kinds.append(event.type)
        assert event.call_id == "connect:demo-1" and event.external_number == "03-1234-5678"
    assert kinds == ["call.ringing", "call.answered", "call.ended"]
    assert event.agent_email == "agent@example.com" and event.answered and event.duration_seconds == 60
