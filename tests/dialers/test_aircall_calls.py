"""Aircall end to end: webhook events posted to `/webhooks/aircall` as Aircall sends them, logged against the local
org as exactly one Task per call.

Payloads written after Aircall's documented envelope and call object (see tests/dialers/test_aircall_adapter.py):
https://developer.aircall.io/docs/webhooks-overview , https://developer.aircall.io/docs/calls ,
https://developer.aircall.io/tutorials/webhooks-guide .
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone

import pytest

from calls_support import call_record, call_tasks, configure, run_call
from dialers_support import logged_once, post_delivery, secret
from panel.localorg.seed import IDS, USER_IDS

YAMADA = IDS["contact.yamada_taro"]
AGENT = {"id": 216119, "name": "Agent One", "email": "agent@example.com", "available": True}
SECOND_AGENT = {"id": 216120, "name": "Agent Two", "email": "agent2@example.com", "available": True}


class Call:
    """One Aircall call, and the events Aircall sends about it."""

    def __init__(self, *, direction: str = "inbound", number: str = "+81 3-1234-5678") -> None:
        self.id = random.randint(10**8, 10**9)
        self.direction = direction
        self.number = number
        self.start = int((datetime.now(timezone.utc) - timedelta(minutes=5)).timestamp())

    @property
    def call_id(self) -> str:
        return f"aircall:{self.id}"

    def event(self, event: str, *, answered: bool = True, talk_s: int = 95, user: dict | None = AGENT,
              sent_after_s: int = 0, **extra) -> dict:
        ended = event in ("call.hungup", "call.ended", "call.comm_assets_generated", "call.voicemail_left")
        answered_at = self.start + 8 if answered and event != "call.ringing_on_agent" and event != "call.created" \
            else None
        ended_at = (self.start + 8 + talk_s if answered else self.start + 30) if ended else None
        data = {"id": self.id, "direct_link": f"https://api.aircall.io/v1/calls/{self.id}",
                "direction": self.direction, "status": "done" if ended else ("answered" if answered_at else "initial"),
                "missed_call_reason": None if answered or not ended else "no_available_agent",
                "started_at": self.start, "answered_at": answered_at, "ended_at": ended_at,
                "duration": talk_s if ended and answered else 0, "raw_digits": self.number, "voicemail": None,
                "recording": None, "asset": None, "user": user,
                "number": {"id": 58108, "name": "Support", "digits": "+81 50-5555-0000", "country": "JP"},
                **extra}
        moment = (ended_at or answered_at or self.start) + sent_after_s
        return {"resource": "call", "event": event, "timestamp": moment, "token": secret("aircall"), "data": data}

    def full_call(self, talk_s: int = 95) -> list[dict]:
        first = "call.created" if self.direction == "outbound" else "call.ringing_on_agent"
        return [self.event(first), self.event("call.answered"), self.event("call.hungup", talk_s=talk_s),
                self.event("call.ended", talk_s=talk_s, sent_after_s=30)]


def deliver(client, payload: dict, token: str | None = None):
    if token is not None:
        payload = {**payload, "token": token}
    return post_delivery(client, "aircall", json.dumps(payload))


def test_an_inbound_call_is_logged_once_however_its_events_are_redelivered_and_ordered(app, agent, sf):
    call = Call()
    ringing, answered, hungup, ended = call.full_call(talk_s=95)
    for payload in (ended, hungup, ringing, ended, answered, ringing):
        response = deliver(agent, payload)
        assert response.status_code == 200, response.text
    assert response.json == {"status": "duplicate", "stored": 0, "duplicates": 1}
    run_call(app, call.call_id)
    task = logged_once(sf, call.call_id)
    assert (task["CallType"], task["CallDurationInSeconds"], task["WhoId"]) == ("Inbound", 95, YAMADA)
    assert task["OwnerId"] == USER_IDS["agent"] and task["CallObject"] == call.call_id
    deliver(agent, ended)
    run_call(app, call.call_id)
    logged_once(sf, call.call_id)


def test_an_outbound_call_is_logged_once(app, agent, sf):
    call = Call(direction="outbound")
    for payload in reversed(call.full_call(talk_s=61)):
        assert deliver(agent, payload).status_code == 200
    run_call(app, call.call_id)
    task = logged_once(sf, call.call_id)
    assert (task["CallType"], task["CallDurationInSeconds"], task["WhoId"]) == ("Outbound", 61, YAMADA)


def test_the_hangup_alone_logs_nothing_the_end_does(app, agent, sf):
    call = Call()
    for payload in call.full_call()[:3]:
        deliver(agent, payload)
    run_call(app, call.call_id)
    assert call_tasks(sf, call.call_id) == []
    deliver(agent, call.full_call()[3])
    run_call(app, call.call_id)
    logged_once(sf, call.call_id)


def test_an_event_with_another_token_stores_nothing(app, agent, sf):
    call = Call()
    for token in ("", "forged-token"):
        response = deliver(agent, call.full_call()[3], token=token)
        assert response.status_code == 401
    assert call_record(app, call.call_id) is None
    assert call_tasks(sf, call.call_id) == []


def test_a_missed_call_is_skipped_by_default(app, agent, sf):
    call = Call()
    for payload in (call.event("call.ringing_on_agent"), call.event("call.ended", answered=False, user=None)):
        assert deliver(agent, payload).status_code == 200
    run_call(app, call.call_id)
    assert call_tasks(sf, call.call_id) == []
    assert call_record(app, call.call_id).outcome == "missed"


def test_a_missed_call_with_a_voicemail_is_logged_when_the_setting_enables_it(app, agent, sf):
    configure(app, PANEL_LOG_MISSED_CALLS="true")
    call = Call()
    voicemail = f"https://assets.aircall.io/calls/{call.id}/voicemail"
    for payload in (call.event("call.ringing_on_agent"),
                    call.event("call.ended", answered=False, asset=voicemail,
                               voicemail=f"https://voicemails.aircall.example/{call.id}.mp3")):
        deliver(agent, payload)
    run_call(app, call.call_id)
    task = logged_once(sf, call.call_id)
    assert voicemail in (task["Description"] or "")


def test_a_call_transferred_to_another_agent_is_one_task(app, agent, sf):
    call = Call()
    transferred = call.event("call.transferred", transferred_by=AGENT, transferred_to=SECOND_AGENT)
    ended = call.event("call.ended", sent_after_s=30, transferred_by=AGENT, transferred_to=SECOND_AGENT)
    for payload in (call.event("call.ringing_on_agent"), call.event("call.answered"), transferred, ended):
        assert deliver(agent, payload).status_code == 200
    run_call(app, call.call_id)
    task = logged_once(sf, call.call_id)
    assert task["WhoId"] == YAMADA
    assert task["OwnerId"] == USER_IDS["agent2"]


@pytest.mark.parametrize("when", ["before the end", "after the end"])
def test_a_recording_ends_in_the_calls_one_task(app, agent, sf, when):
    call = Call()
    link = f"https://assets.aircall.io/calls/{call.id}/recording"
    assets = call.event("call.comm_assets_generated", sent_after_s=40, asset=link,
                        recording=f"https://recordings.aircall.example/{call.id}.mp3")
    events = call.full_call()
    for payload in ([assets, *events] if when == "before the end" else events):
        deliver(agent, payload)
    run_call(app, call.call_id)
    if when == "after the end":
        deliver(agent, assets)
        deliver(agent, assets)
        run_call(app, call.call_id)
    task = logged_once(sf, call.call_id)
    assert (task["Description"] or "").count(link) == 1


def test_a_day_of_text_messages_with_one_number_is_one_task(app, agent, sf):
    from panel.calls.events import CallEvent
    from panel.calls.filing import FilingSettings, conversation_id

    first_at = (datetime.now(timezone.utc) - timedelta(hours=1)).replace(minute=10, second=0, microsecond=0)
    texts = [("message.received", "見積書を受け取りました"), ("message.sent", "ありがとうございます"),
             ("message.received", "来週お電話します")]
    for index, (event, text) in enumerate(texts):
        at = first_at + timedelta(minutes=index)
        payload = {"resource": "message", "event": event, "timestamp": int(at.timestamp()),
                   "token": secret("aircall"),
                   "data": {"id": 1779973182 + index, "direction": "inbound" if event == "message.received"
                            else "outbound", "channel": None, "status": "received", "body": text,
                            "external_number": "+81312345678", "created_at": at.isoformat().replace("+00:00", "Z"),
                            "number": {"id": 58108, "digits": "+81 50-5555-0000"}, "user": AGENT}}
        assert deliver(agent, payload).status_code == 200
        assert deliver(agent, payload).json["status"] == "duplicate"
    first = CallEvent(event_id="x", type="message.received", call_id="", direction="inbound",
                      agent_email="agent@example.com", occurred_at=first_at, external_number="+81312345678")
    with app.app_context():
        conversation = conversation_id(first, FilingSettings.from_config(app.config))
    run_call(app, conversation)
    task = logged_once(sf, conversation)
    assert all((task["Description"] or "").count(text) == 1 for _event, text in texts)
