"""Webex Contact Center deliveries end to end: `POST /webhooks/webex` as Webex sends them (JSON, signed), logged by
the real pipeline against the local org. Events written from https://developer.webex.com/create/docs/webhooks-cc
and https://developer.webex.com/webex-contact-center/docs/api/guides/webhooks-cc (envelope, signature, v2
timestamp); the signature by the test's own signer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.calls_support import call_record, call_tasks, configure
from tests.conftest import rows_on_record
from tests.dialers_support import post_delivery, secret, settled

TASK = "7d2f4c8e-0937-11ed-994c-bf6de601ac80"
ALICE = "55de70fc-af58-40e8-b7f8-c23536a53e76"
BOB = "66ef81ad-b069-41f9-c8a9-d34647b64f87"
CUSTOMER = "+81312345678"  # 03-1234-5678: contact.yamada_taro
CALL_ID = f"webex:{TASK}"
RECORDING = "https://cjp-ccone-media-storage-recording.s3.amazonaws.com/org/7d2f4c8e.wav"


@pytest.fixture
def webex_app(dialer_users):
    return dialer_users(("webex", ALICE, "agent@example.com"), ("webex", BOB, "agent2@example.com"))


class Task:
    """One Webex task's events, timed from a start a few minutes ago; each with its own event id."""

    def __init__(self, client, *, direction: str = "INBOUND") -> None:
        self.client = client
        self.direction = direction
        self.start = datetime.now(timezone.utc) - timedelta(minutes=5)

    def event(self, event_type: str, at_s: int, **data) -> dict:
        inbound = self.direction == "INBOUND"
        stamp = int((self.start + timedelta(seconds=at_s)).timestamp() * 1000)
        return {"id": str(uuid.uuid4()), "specversion": "1.0", "type": event_type,
                "source": "/com/cisco/wxcc/fdcac25f-c5e3-43ba-8455-67c44cf4936c",
                "comciscoorgid": "3eb3c4b5-6c60-4893-8bd8-8454537324e4", "datacontenttype": "application/json",
                "data": {"taskId": TASK, "channelType": "telephony", "direction": self.direction,
                         "origin": CUSTOMER if inbound else "+81500000001",
                         "destination": "+81500000001" if inbound else CUSTOMER, "createdTime": stamp,
                         "queueId": "ee472d93-7b28-483e-9cd9-6ed59db2dc9a", **data}}

    def post(self, *events: dict, key: str | None = None):
        responses = []
        for body in events:
            now = int(datetime.now(timezone.utc).timestamp() * 1000)
            raw = json.dumps({**body, "comciscotimestamp": now}).encode()
            signature = hmac.new((key or secret("webex")).encode(), raw, hashlib.sha256).hexdigest()
            responses.append(post_delivery(self.client, "webex", raw, {
                "X-WebexCC-Signature": signature, "X-WebexCC-Timestamp": str(now),
                "X-WebexCC-Webhook-Version": "task:1.0.0"}))
        return responses


def handled(task: Task, agent: str = ALICE) -> list[dict]:
    return [task.event("task:new", 0), task.event("task:parked", 1), task.event("task:connect", 5, agentId=agent),
            task.event("task:connected", 9, agentId=agent),
            task.event("task:ended", 100, agentId=agent, reason="Agent Left", terminatingParty="Agent")]


def test_an_inbound_call_is_logged_once_under_redelivery_and_reordering(webex_app, client, sf):
    task = Task(client)
    events = handled(task)
    responses = task.post(*reversed(events), events[2], events[4])
    assert {response.status_code for response in responses} == {200}
    settled(webex_app, CALL_ID)
    task.post(*events)
    settled(webex_app, CALL_ID)
    [logged] = call_tasks(sf, f"webex:{TASK}")
    assert logged["CallType"] == "Inbound" and logged["WhoId"]


def test_an_outbound_call_is_logged_once(webex_app, client, sf):
    task = Task(client, direction="OUTBOUND")
    events = [task.event("task:connect", 0, agentId=ALICE), task.event("task:connected", 6, agentId=ALICE),
              task.event("task:ended", 66, agentId=ALICE, reason="Customer Left", terminatingParty="Customer")]
    task.post(events[2], events[0], events[1], events[2])
    settled(webex_app, CALL_ID)
    [logged] = call_tasks(sf, f"webex:{TASK}")
    assert logged["CallType"] == "Outbound"


def test_a_forged_delivery_stores_nothing(webex_app, client, sf):
    task = Task(client)
    responses = task.post(*handled(task), key="not-the-subscription-secret")
    assert {response.status_code for response in responses} == {401}
    assert call_record(webex_app, f"webex:{TASK}") is None
    assert rows_on_record(webex_app, "SELECT event_id FROM call_events") == []


def abandoned(task: Task) -> list[dict]:
    """Offered to Alice; the customer hangs up while her phone rings."""
    return [task.event("task:new", 0), task.event("task:parked", 1), task.event("task:connect", 20, agentId=ALICE),
            task.event("task:ended", 40, reason="Customer Left", terminatingParty="Customer")]


def test_a_missed_call_is_not_logged_by_default(webex_app, client, sf):
    task = Task(client)
    task.post(*abandoned(task))
    settled(webex_app, CALL_ID)
    assert call_tasks(sf, f"webex:{TASK}") == []


def test_a_missed_call_is_logged_when_the_admin_asks_for_missed_calls(webex_app, client, sf):
    configure(webex_app, PANEL_LOG_MISSED_CALLS=True)
    task = Task(client)
    task.post(*abandoned(task))
    settled(webex_app, CALL_ID)
    assert len(call_tasks(sf, f"webex:{TASK}")) == 1


def test_a_transferred_call_is_one_task_owned_by_the_agent_who_handled_it_last(webex_app, client, sf):
    task = Task(client)
    events = [task.event("task:connect", 5, agentId=ALICE), task.event("task:connected", 9, agentId=ALICE),
              task.event("task:connect", 70, agentId=BOB), task.event("task:connected", 75, agentId=BOB),
              task.event("task:ended", 160, agentId=BOB, reason="Agent Left", terminatingParty="Agent")]
    task.post(*events[2:], *events[:2])
    settled(webex_app, CALL_ID)
    [logged] = call_tasks(sf, f"webex:{TASK}")
    agent2 = sf.query("SELECT Id FROM User WHERE Username = 'agent2@example.com'")["records"][0]["Id"]
    assert logged["OwnerId"] == agent2


@pytest.mark.parametrize("when", ["before the end", "after the end"])
def test_a_recording_ends_in_the_one_task(webex_app, client, sf, when):
    task = Task(client)
    capture = task.event("capture:available", 130, filePath=RECORDING)
    capture["data"].pop("channelType")
    if when == "before the end":
        task.post(capture, *handled(task), capture)
        settled(webex_app, CALL_ID)
    else:
        task.post(*handled(task))
        settled(webex_app, CALL_ID)
        task.post(capture, capture)
        settled(webex_app, CALL_ID)
    [logged] = call_tasks(sf, f"webex:{TASK}")
    assert logged["Description"].count(RECORDING) == 1
