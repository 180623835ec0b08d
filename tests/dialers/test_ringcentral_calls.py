"""RingCentral end to end: telephony session and SMS notifications posted to `/webhooks/ringcentral` as RingCentral
sends them, logged against the local org as exactly one Task per call (per telephony session).

Payloads written after RingCentral's documented examples (see tests/dialers/test_ringcentral_adapter.py):
https://developers.ringcentral.com/guide/notifications/event-filters/account-telephony-sessions ,
https://developers.ringcentral.com/guide/voice/telephony-session-notifications ,
https://developers.ringcentral.com/guide/notifications/event-filters/instant-message ,
https://developers.ringcentral.com/guide/notifications/webhooks/receiving .
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
ACCOUNT = "400144452008"
AGENT_EXTENSION = "400144455008"
SECOND_EXTENSION = "400144457008"
CALLER = "+81312345678"  # 03-1234-5678: Yamada Taro


@pytest.fixture
def ringcentral_app(dialer_users):
    """The panel with a PANEL_DIALER_USERS file naming the agents' extensions."""
    return dialer_users(("ringcentral", AGENT_EXTENSION, "agent@example.com"),
                        ("ringcentral", SECOND_EXTENSION, "agent@example.com"))


def stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Session:
    """One telephony session as RingCentral reports it, party by party."""

    def __init__(self, *, direction: str = "Inbound", number: str = CALLER) -> None:
        self.id = f"s-{uuid.uuid4().hex}"
        self.direction = direction
        self.number = number
        self.start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)

    @property
    def call_id(self) -> str:
        return f"ringcentral:{self.id}"

    def party(self, n: int, code: str, *, extension: str | None = AGENT_EXTENSION, missed: bool = False,
              reason: str | None = None, recordings: list[str] | None = None) -> dict:
        own = {"phoneNumber": "+81355550000", "name": "Agent", **({"extensionId": extension} if extension else {})}
        other = {"phoneNumber": self.number}
        outbound = self.direction == "Outbound"
        status = {"code": code, "rcc": False, **({"reason": reason} if reason else {})}
        data = {"accountId": ACCOUNT, "id": f"p-{self.id[2:]}-{n}", "direction": self.direction,
                "from": own if outbound else other, "to": other if outbound else own, "status": status, "park": {},
                "missedCall": missed, "standAlone": False, "muted": False}
        if extension:
            data["extensionId"] = extension
        if recordings:
            data["recordings"] = [{"id": recording, "active": code == "Answered"} for recording in recordings]
        return data

    def notification(self, sequence: int, at_s: float, *parties: dict) -> dict:
        at = self.start + timedelta(seconds=at_s)
        return {"uuid": str(uuid.uuid4().int)[:19], "event": f"/restapi/v1.0/account/{ACCOUNT}/telephony/sessions",
                "timestamp": stamp(at + timedelta(milliseconds=70)), "subscriptionId": "2461434a-276a-4073",
                "ownerId": ACCOUNT,
                "body": {"sequence": sequence, "sessionId": "429180487016", "telephonySessionId": self.id,
                         "serverId": "10.13.22.27.TAM", "eventTime": stamp(at), "parties": list(parties),
                         "origin": {"type": "Call"}}}

    def full_call(self, talk_s: int = 95) -> list[dict]:
        """Setup, ringing at the agent's phone, answered, hung up: the agent's party and the outside one."""
        return [
            self.notification(2, 0, self.party(1, "Setup", extension=None)),
            self.notification(3, 0.1, self.party(2, "Setup")),
            self.notification(4, 0.2, self.party(2, "Proceeding")),
            self.notification(5, 8, self.party(2, "Answered")),
            self.notification(6, 8 + talk_s, self.party(2, "Disconnected", reason="CallFinished")),
            self.notification(7, 8 + talk_s, self.party(1, "Disconnected", extension=None)),
        ]


def deliver(client, payload: dict, token: str | None = None):
    return post_delivery(client, "ringcentral", json.dumps(payload),
                         {"Verification-Token": secret("ringcentral") if token is None else token})


def test_the_subscription_handshake_is_answered_with_the_validation_token(agent):
    response = agent.post("/webhooks/ringcentral", headers={"Validation-Token": "b1f2-validation"})
    assert response.status_code == 200
    assert response.headers["Validation-Token"] == "b1f2-validation"


def test_an_inbound_call_is_logged_once_however_its_notifications_are_redelivered_and_ordered(
        ringcentral_app, agent, sf):
    call = Session()
    notifications = call.full_call()
    for payload in (notifications[4], *reversed(notifications), notifications[3]):
        response = deliver(agent, payload)
        assert response.status_code == 200, response.text
    assert response.json["status"] == "duplicate"
    settled(ringcentral_app, call.call_id)
    task = logged_once(sf, call.call_id)
    assert (task["CallType"], task["WhoId"], task["CallObject"]) == ("Inbound", YAMADA, call.call_id)
    assert task["OwnerId"] == USER_IDS["agent"]
    deliver(agent, notifications[3])
    settled(ringcentral_app, call.call_id)
    logged_once(sf, call.call_id)


def test_the_talk_time_is_the_time_from_answered_to_disconnected(ringcentral_app, agent, sf):
    """RingCentral sends no duration: the Task's is what its Answered and Disconnected notifications span."""
    call = Session()
    for payload in call.full_call(talk_s=95):
        deliver(agent, payload)
    settled(ringcentral_app, call.call_id)
    assert logged_once(sf, call.call_id)["CallDurationInSeconds"] == 95


def test_an_outbound_call_is_logged_once(ringcentral_app, agent, sf):
    call = Session(direction="Outbound")
    for payload in reversed(call.full_call(talk_s=61)):
        assert deliver(agent, payload).status_code == 200
    settled(ringcentral_app, call.call_id)
    task = logged_once(sf, call.call_id)
    assert (task["CallType"], task["WhoId"]) == ("Outbound", YAMADA)


def test_a_notification_without_the_verification_token_stores_nothing(ringcentral_app, agent, sf):
    call = Session()
    for token in ("", "forged-token"):
        response = deliver(agent, call.full_call()[4], token=token)
        assert response.status_code == 401
    assert call_record(ringcentral_app, call.call_id) is None
    assert call_tasks(sf, call.call_id) == []


def test_a_missed_call_is_skipped_by_default(ringcentral_app, agent, sf):
    call = Session()
    for payload in (call.notification(4, 0.2, call.party(2, "Proceeding")),
                    call.notification(6, 30, call.party(2, "Disconnected", missed=True, reason="NoAnswer"))):
        assert deliver(agent, payload).status_code == 200
    settled(ringcentral_app, call.call_id)
    assert call_tasks(sf, call.call_id) == []
    assert call_record(ringcentral_app, call.call_id).outcome == "missed"


def test_a_missed_call_is_logged_when_the_setting_enables_it(ringcentral_app, agent, sf):
    configure(ringcentral_app, PANEL_LOG_MISSED_CALLS="true")
    call = Session()
    for payload in (call.notification(4, 0.2, call.party(2, "Proceeding")),
                    call.notification(6, 30, call.party(2, "Disconnected", missed=True, reason="NoAnswer"))):
        deliver(agent, payload)
    settled(ringcentral_app, call.call_id)
    assert logged_once(sf, call.call_id)["Subject"] == "Missed call - Inbound"


def test_a_call_transferred_to_another_extension_is_one_task(ringcentral_app, agent, sf):
    call = Session()
    first = call.full_call(talk_s=40)[:4]  # rings and is answered at the first extension …
    transferred = [
        call.notification(6, 48, call.party(2, "Disconnected", reason="BlindTransfer")),
        call.notification(7, 48.5, call.party(3, "Proceeding", extension=SECOND_EXTENSION)),
        call.notification(8, 52, call.party(3, "Answered", extension=SECOND_EXTENSION)),
        call.notification(9, 112, call.party(3, "Disconnected", extension=SECOND_EXTENSION)),
        call.notification(10, 112, call.party(1, "Disconnected", extension=None)),
    ]
    for payload in reversed(first + transferred):
        assert deliver(agent, payload).status_code == 200
    settled(ringcentral_app, call.call_id)
    task = logged_once(sf, call.call_id)
    assert task["WhoId"] == YAMADA
    assert call_tasks(sf, f"ringcentral:p-{call.id[2:]}-3") == []


@pytest.mark.parametrize("when", ["before the end", "after the end"])
def test_a_recording_ends_in_the_calls_one_task(ringcentral_app, agent, sf, when):
    call = Session()
    notifications = call.full_call()
    recording = call.notification(5, 9, call.party(2, "Answered", recordings=["2640223004"]))
    late = call.notification(12, 200, call.party(2, "Disconnected", recordings=["2640223004"]))
    sent = [*notifications[:4], recording, *notifications[4:]] if when == "before the end" else notifications
    for payload in sent:
        deliver(agent, payload)
    settled(ringcentral_app, call.call_id)
    if when == "after the end":
        deliver(agent, late)
        deliver(agent, late)
        settled(ringcentral_app, call.call_id)
    task = logged_once(sf, call.call_id)
    link = f"https://platform.ringcentral.com/restapi/v1.0/account/{ACCOUNT}/recording/2640223004"
    assert (task["Description"] or "").count(link) == 1


def test_a_day_of_text_messages_with_one_number_is_one_task(ringcentral_app, agent, sf):
    from panel.calls.events import CallEvent
    from panel.calls.filing import FilingSettings, conversation_id

    day = (datetime.now(timezone.utc) - timedelta(hours=1)).replace(minute=10, second=0, microsecond=0)
    texts = ["お見積りの件でご連絡しました", "明日10時に伺います", "よろしくお願いします"]
    for index, text in enumerate(texts):
        at = day + timedelta(minutes=index)
        payload = {"uuid": str(uuid.uuid4()), "ownerId": AGENT_EXTENSION, "timestamp": stamp(at),
                   "event": f"/restapi/v1.0/account/~/extension/{AGENT_EXTENSION}/message-store/instant?type=SMS",
                   "subscriptionId": "dc853541-66ac-45d8-a289-1a239fd72888",
                   "body": {"id": f"60609003{index:04d}", "to": [{"phoneNumber": "+81355550000"}],
                            "from": {"phoneNumber": CALLER}, "type": "SMS", "creationTime": stamp(at),
                            "direction": "Inbound", "subject": text, "messageStatus": "Received",
                            "conversationId": "7876416245344257449"}}
        assert deliver(agent, payload).status_code == 200
        assert deliver(agent, payload).json["status"] == "duplicate"
    first = CallEvent(event_id="x", type="message.received", call_id="", direction="inbound",
                      agent_email="agent@example.com", occurred_at=day, external_number=CALLER)
    with ringcentral_app.app_context():
        conversation = conversation_id(first, FilingSettings.from_config(ringcentral_app.config))
    run_call(ringcentral_app, conversation)
    task = logged_once(sf, conversation)
    assert all((task["Description"] or "").count(text) == 1 for text in texts)
