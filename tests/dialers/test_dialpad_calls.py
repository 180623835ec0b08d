"""Dialpad calls end to end: Dialpad's JWT-signed events to `POST /webhooks/dialpad`, logged by the real pipeline
into the local org, exactly once.

Payloads are written from Dialpad's documented fields (https://developers.dialpad.com/docs/call-events,
https://help.dialpad.com/hc/en-us/articles/115005281886, https://developers.dialpad.com/docs/sms-events), with
values of our own; each is sent as Dialpad sends it, a JWT signed HS256 with the webhook's secret
(https://developers.dialpad.com/docs/event-subscriptions).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
from datetime import datetime, time as clock, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from calls_support import call_record, call_tasks, configure, run_queued
from dialers_support import logged_once, post_delivery, secret, settled
from panel.localorg.seed import IDS, USER_IDS

YAMADA = IDS["contact.yamada_taro"]  # the record with 03-1234-5678 (+81312345678)
TOKYO = ZoneInfo("Asia/Tokyo")
RECORDING = "https://dialpad.com/r/5790123456789504/rec-1"
LATER = timedelta(minutes=10)  # past every wait of the pipeline
SUMMARY = "Customer asked to move Friday's meeting to 10:00; agent will send the revised quote."


def b64(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


def token(event: dict, key: str | None = None) -> bytes:
    header = b64(b'{"alg":"HS256","typ":"JWT"}')
    body = b64(json.dumps(event, ensure_ascii=False).encode())
    signature = hmac.new((key or secret("dialpad")).encode(), header + b"." + body, hashlib.sha256).digest()
    return header + b"." + body + b"." + b64(signature)


def deliver(client, event: dict, *, key: str | None = None):
    return post_delivery(client, "dialpad", token(event, key), content_type="application/jwt")


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class DialpadLeg:
    """One leg of a Dialpad call (a transfer adds legs under the same master call) as Dialpad reports it."""

    def __init__(self, client, call_id: int, *, master: int | None = None, direction: str = "inbound",
                 email: str = "agent@example.com", start: datetime | None = None) -> None:
        self.client = client
        self.call_id = call_id
        self.master = master
        self.direction = direction
        self.email = email
        self.start = start or datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)

    def event(self, state: str, **fields) -> dict:
        event = {"call_id": self.call_id, "master_call_id": self.master, "entry_point_call_id": None,
                 "state": state, "direction": self.direction, "external_number": "+81312345678",
                 "internal_number": "+81312340001",
                 "target": {"id": 6012345678901248, "type": "user", "email": self.email, "name": "Agent"},
                 "contact": {"id": "c-1", "type": "local", "name": "YAMADA TARO", "phone": "+81312345678"},
                 "date_started": ms(self.start), "date_rang": ms(self.start + timedelta(seconds=1))}
        event.update(fields)
        return event

    def ringing(self) -> dict:
        return self.event("ringing" if self.direction == "inbound" else "calling")

    def connected(self) -> dict:
        return self.event("connected", date_connected=ms(self.start + timedelta(seconds=6)))

    def hangup(self, talk_s: int = 95) -> dict:
        return self.event("hangup", date_connected=ms(self.start + timedelta(seconds=6)),
                          date_ended=ms(self.start + timedelta(seconds=6 + talk_s)), talk_time=talk_s * 1000)

    def missed(self) -> dict:
        return self.event("missed", date_ended=ms(self.start + timedelta(seconds=25)))

    def recording(self) -> dict:
        return self.event("recording", date_connected=ms(self.start + timedelta(seconds=6)),
                          date_ended=ms(self.start + timedelta(seconds=101)),
                          recording_details=[{"id": "rec-1", "url": RECORDING, "duration": 95000,
                                              "recording_type": "call"}])

    def summary(self) -> dict:
        return self.event("recap_summary", date_ended=ms(self.start + timedelta(seconds=101)), recap_summary=SUMMARY)

    def send(self, *events: dict) -> None:
        for event in events:
            response = deliver(self.client, event)
            assert response.status_code == 200, response.text


# -- calls ------------------------------------------------------------------------------------------------------------------

def test_an_inbound_call_redelivered_and_out_of_order_is_one_task(app, agent, sf):
    leg = DialpadLeg(agent, 5790123456789001)
    events = [leg.ringing(), leg.connected(), leg.hangup(talk_s=95)]
    shuffled = events + events  # Dialpad retries a delivery answered 5xx; its events may arrive out of order
    random.Random(15).shuffle(shuffled)
    leg.send(*shuffled)
    run_queued(app)
    settled(app, "dialpad:5790123456789001", after=LATER)
    task = logged_once(sf, "dialpad:5790123456789001")
    assert (task["CallType"], task["CallDurationInSeconds"], task["Status"]) == ("Inbound", 95, "Completed")
    assert (task["WhoId"], task["OwnerId"]) == (YAMADA, USER_IDS["agent"])


def test_an_outbound_call_is_one_task_under_dialpads_call_id(app, agent, sf):
    leg = DialpadLeg(agent, 5790123456789002, direction="outbound")
    leg.send(leg.hangup(talk_s=60), leg.ringing(), leg.connected(), leg.hangup(talk_s=60))
    run_queued(app)
    settled(app, "dialpad:5790123456789002", after=LATER)
    task = logged_once(sf, "dialpad:5790123456789002")
    assert (task["CallType"], task["CallDurationInSeconds"], task["CallObject"]) == (
        "Outbound", 60, "dialpad:5790123456789002")


def test_a_forged_event_is_refused_and_stores_nothing(app, client):
    leg = DialpadLeg(client, 5790123456789003)
    assert deliver(client, leg.ringing(), key="someone-elses-secret").status_code == 401
    assert post_delivery(client, "dialpad", json.dumps(leg.ringing())).status_code == 401  # unsigned JSON
    assert call_record(app, "dialpad:5790123456789003") is None


def test_a_missed_call_is_not_logged_by_default(app, agent, sf):
    leg = DialpadLeg(agent, 5790123456789004)
    leg.send(leg.ringing(), leg.missed())
    run_queued(app)
    settled(app, "dialpad:5790123456789004", after=LATER)
    assert call_tasks(sf, "dialpad:5790123456789004") == []
    assert call_record(app, "dialpad:5790123456789004").outcome == "missed"


def test_a_missed_call_is_logged_when_the_setting_enables_it(app, agent, sf):
    configure(app, PANEL_LOG_MISSED_CALLS="true")
    leg = DialpadLeg(agent, 5790123456789005)
    leg.send(leg.missed(), leg.ringing(), leg.missed())
    run_queued(app)
    settled(app, "dialpad:5790123456789005", after=LATER)
    assert logged_once(sf, "dialpad:5790123456789005")["Subject"] == "Missed call - Inbound"


def test_a_transferred_call_is_one_task_owned_by_the_agent_who_took_it_last(app, agent, sf):
    first = DialpadLeg(agent, 5790123456789006)
    second = DialpadLeg(agent, 5790123456789106, master=5790123456789006, email="agent2@example.com",
                        start=first.start + timedelta(seconds=60))
    events = [first.ringing(), first.connected(), first.hangup(talk_s=50),
              second.ringing(), second.connected(), second.hangup(talk_s=120)]
    random.Random(6).shuffle(events)
    first.send(*events)
    run_queued(app)
    settled(app, "dialpad:5790123456789006", after=LATER)
    assert call_tasks(sf, "dialpad:5790123456789106") == []
    assert logged_once(sf, "dialpad:5790123456789006")["OwnerId"] == USER_IDS["agent2"]


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_recording_and_summary_before_or_after_the_end_land_in_the_one_task(app, agent, sf, when):
    leg = DialpadLeg(agent, 5790123456789007 if when == "before" else 5790123456789008)
    call_id = f"dialpad:{leg.call_id}"
    if when == "before":
        leg.send(leg.ringing(), leg.connected(), leg.recording(), leg.summary(), leg.hangup(), leg.summary())
        run_queued(app)
    else:
        leg.send(leg.ringing(), leg.connected(), leg.hangup())
        run_queued(app)
        settled(app, call_id, after=LATER)
        leg.send(leg.summary(), leg.recording(), leg.summary(), leg.recording())
        run_queued(app)
    settled(app, call_id, after=LATER)
    task = logged_once(sf, call_id)
    assert task["Description"].count(RECORDING) == 1 and task["Description"].count(SUMMARY) == 1


# -- text messages ---------------------------------------------------------------------------------------------------------

def test_a_day_of_texts_with_one_number_is_one_task(app, agent, sf):
    day = datetime.combine(datetime.now(TOKYO).date() - timedelta(days=2), clock(0, 0), tzinfo=TOKYO)

    def text(message_id: int, direction: str, at: datetime, message: str) -> dict:
        return {"id": message_id, "created_date": ms(at), "direction": direction,
                "target": {"id": 6012345678901248, "type": "user", "name": "Agent", "email": "agent@example.com",
                           "phone_number": "+81312340001"},
                "contact": {"id": "c-1", "name": "YAMADA TARO", "phone_number": "+81312345678"},
                "sender_id": None, "from_number": "+81312345678" if direction == "inbound" else "+81312340001",
                "to_number": ["+81312340001" if direction == "inbound" else "+81312345678"], "mms": False,
                "text": message}

    messages = [text(4612345678901001, "inbound", day + timedelta(hours=10, minutes=3), "明日は10時でよろしいですか？"),
                text(4612345678901002, "outbound", day + timedelta(hours=10, minutes=5), "はい、10時でお願いします。"),
                text(4612345678901003, "inbound", day + timedelta(hours=15), "ありがとうございました")]
    shuffled = messages + messages[:2]
    random.Random(3).shuffle(shuffled)
    for message in shuffled:
        assert deliver(agent, message).status_code == 200
    run_queued(app)
    conversation = f"sms:agent@example.com:+81312345678:{day.date().isoformat()}"
    settled(app, conversation, after=LATER)
    task = logged_once(sf, conversation)
    assert task["WhoId"] == YAMADA
    assert task["Description"] == ("[10:03] ← 明日は10時でよろしいですか？\n[10:05] → はい、10時でお願いします。\n"
                                   "[15:00] ← ありがとうございました")
