"""Amazon Connect end to end: contact events posted to `/webhooks/connect` as an EventBridge API destination sends
them, logged against the local org as exactly one Task per interaction.

Payloads written after the documented envelope and samples:
https://docs.aws.amazon.com/connect/latest/adminguide/contact-events.html ; the API key header:
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_ConnectionApiKeyAuthResponseParameters.html
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from calls_support import call_record, call_tasks, configure, run_call
from dialers_support import logged_once, post_delivery, secret, settled
from panel.localorg.seed import IDS, USER_IDS

YAMADA = IDS["contact.yamada_taro"]
INSTANCE = "arn:aws:connect:ap-northeast-1:111122223333:instance/9f3c2a10-5b7e-4d1c-8e2f-0a1b2c3d4e5f"
AGENT_ARN = f"{INSTANCE}/agent/5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e"
SECOND_AGENT_ARN = f"{INSTANCE}/agent/0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d"


@pytest.fixture
def connect_app(dialer_users):
    """The panel with a PANEL_DIALER_USERS file naming the Connect agents by ARN."""
    return dialer_users(("connect", AGENT_ARN, "agent@example.com"), ("connect", SECOND_AGENT_ARN, "agent@example.com"))


class Contact:
    """One voice contact as Connect reports it through EventBridge."""

    def __init__(self, *, method: str = "INBOUND", number: str | None = "03-1234-5678", initial: str | None = None,
                 agent_arn: str = AGENT_ARN, start: datetime | None = None) -> None:
        self.contact_id = str(uuid.uuid4())
        self.initial = initial or self.contact_id
        self.method = method
        self.number = number
        self.agent_arn = agent_arn
        self.start = start or datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)

    @property
    def call_id(self) -> str:
        return f"connect:{self.initial}"

    def event(self, event_type: str, *, answered: bool = True, talk_s: int = 95) -> dict:
        at = lambda seconds: (self.start + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.000Z")  # noqa
        detail = {"eventType": event_type, "contactId": self.contact_id, "initialContactId": self.initial,
                  "channel": "VOICE", "instanceArn": INSTANCE, "initiationMethod": self.method,
                  "initiationTimestamp": at(0), "tags": {"aws:connect:instanceId": INSTANCE.rsplit("/", 1)[-1]}}
        if self.initial != self.contact_id:
            detail["previousContactId"] = self.initial
        if self.number is not None:
            detail["tags"]["CustomerNumber"] = self.number
        outbound = self.method == "OUTBOUND"
        if event_type != "INITIATED" and (answered or outbound):
            detail["agentInfo"] = {"agentArn": self.agent_arn, "connectedToAgentTimestamp": at(1 if outbound else 10)}
        if outbound and answered and event_type != "INITIATED":
            detail["connectedToSystemTimestamp"] = at(10)
        if event_type == "DISCONNECTED":
            detail["disconnectTimestamp"] = at(10 + talk_s if answered else 30)
        return {"version": "0", "id": f"{self.contact_id}-{event_type.lower()}", "detail-type":
                "Amazon Connect Contact Event", "source": "aws.connect", "account": "111122223333",
                "time": at(10 + talk_s), "region": "ap-northeast-1",
                "resources": [f"{INSTANCE}/contact/{self.contact_id}", INSTANCE], "detail": detail}


def deliver(client, payload: dict, key: str | None = None):
    return post_delivery(client, "connect", json.dumps(payload),
                         {"x-api-key": secret("connect") if key is None else key})


def test_an_inbound_call_is_logged_once_however_its_events_are_redelivered_and_ordered(connect_app, agent, sf):
    contact = Contact()
    ended = contact.event("DISCONNECTED", talk_s=95)
    for payload in (ended, contact.event("INITIATED"), contact.event("CONNECTED_TO_AGENT"), ended):
        response = deliver(agent, payload)
        assert response.status_code == 200, response.text
    assert response.json == {"status": "duplicate", "stored": 0, "duplicates": 1}
    run_call(connect_app, contact.call_id)
    task = logged_once(sf, contact.call_id)
    assert (task["CallType"], task["CallDurationInSeconds"], task["WhoId"]) == ("Inbound", 95, YAMADA)
    assert task["OwnerId"] == USER_IDS["agent"] and task["CallObject"] == contact.call_id
    deliver(agent, contact.event("CONNECTED_TO_AGENT"))
    run_call(connect_app, contact.call_id)
    logged_once(sf, contact.call_id)


def test_an_outbound_call_is_logged_once(connect_app, agent, sf):
    contact = Contact(method="OUTBOUND")
    for payload in (contact.event("CONNECTED_TO_SYSTEM"), contact.event("INITIATED"),
                    contact.event("DISCONNECTED", talk_s=61), contact.event("CONNECTED_TO_AGENT")):
        assert deliver(agent, payload).status_code == 200
    run_call(connect_app, contact.call_id)
    task = logged_once(sf, contact.call_id)
    assert (task["CallType"], task["CallDurationInSeconds"], task["WhoId"]) == ("Outbound", 61, YAMADA)


def test_a_delivery_without_the_api_key_stores_nothing(connect_app, agent, sf):
    contact = Contact()
    for key in ("", "wrong-key"):
        response = deliver(agent, contact.event("DISCONNECTED"), key=key)
        assert response.status_code == 401
    assert call_record(connect_app, contact.call_id) is None
    assert call_tasks(sf, contact.call_id) == []


def test_events_the_panel_does_not_use_are_accepted_and_store_nothing(connect_app, agent):
    contact = Contact()
    response = deliver(agent, contact.event("QUEUED"))
    assert response.status_code == 200 and response.json["stored"] == 0
    assert call_record(connect_app, contact.call_id) is None


def test_a_missing_contact_id_is_a_400_naming_it(connect_app, agent):
    payload = Contact().event("DISCONNECTED")
    del payload["detail"]["contactId"]
    response = deliver(agent, payload)
    assert response.status_code == 400 and response.json["field"] == "detail.contactId"


def test_a_call_abandoned_in_the_queue_is_skipped_by_default(connect_app, agent, sf):
    contact = Contact()
    for payload in (contact.event("INITIATED"), contact.event("DISCONNECTED", answered=False)):
        deliver(agent, payload)
    run_call(connect_app, contact.call_id)
    assert call_tasks(sf, contact.call_id) == []
    assert call_record(connect_app, contact.call_id).outcome == "missed"


def test_with_missed_calls_logged_an_unanswered_outbound_call_is_logged_and_an_abandoned_one_reviewed(
        connect_app, agent, sf):
    """An inbound call abandoned in the queue never reached an agent: nobody owns its Task, so it goes to the review
    queue; an outbound call nobody picked up is the dialling agent's."""
    configure(connect_app, PANEL_LOG_MISSED_CALLS="true")
    outbound, abandoned = Contact(method="OUTBOUND"), Contact()
    for contact in (outbound, abandoned):
        for payload in (contact.event("INITIATED"), contact.event("DISCONNECTED", answered=False)):
            deliver(agent, payload)
        run_call(connect_app, contact.call_id)
    assert logged_once(sf, outbound.call_id)["Subject"] == "No answer - Outbound"
    assert call_tasks(sf, abandoned.call_id) == []
    assert call_record(connect_app, abandoned.call_id).status == "needs_review"


def test_a_transferred_call_is_one_task_under_the_initial_contact(connect_app, agent, sf):
    first = Contact()
    second = Contact(method="TRANSFER", initial=first.contact_id, agent_arn=SECOND_AGENT_ARN,
                     start=first.start + timedelta(seconds=70))
    for payload in (second.event("DISCONNECTED", talk_s=40), first.event("INITIATED"),
                    first.event("CONNECTED_TO_AGENT"), first.event("DISCONNECTED", talk_s=50),
                    second.event("INITIATED"), second.event("CONNECTED_TO_AGENT")):
        assert deliver(agent, payload).status_code == 200
    assert second.call_id == first.call_id
    # The legs of a transfer are logged once they have settled (PANEL_CALL_SETTLE_S after the last event).
    settled(connect_app, first.call_id)
    task = logged_once(sf, first.call_id)
    assert (task["CallType"], task["WhoId"], task["OwnerId"]) == ("Inbound", YAMADA, USER_IDS["agent"])
    assert call_tasks(sf, f"connect:{second.contact_id}") == []


def test_a_call_without_the_customers_number_goes_to_the_review_queue(connect_app, agent, sf):
    """Contact events document no customer number: without the CustomerNumber tag there is nothing to match."""
    contact = Contact(number=None)
    for payload in (contact.event("INITIATED"), contact.event("CONNECTED_TO_AGENT"), contact.event("DISCONNECTED")):
        deliver(agent, payload)
    run_call(connect_app, contact.call_id)
    assert call_tasks(sf, contact.call_id) == []
    assert call_record(connect_app, contact.call_id).status == "needs_review"
