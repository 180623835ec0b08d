"""Zoom Phone calls end to end: Zoom's signed deliveries to `POST /webhooks/zoom`, logged by the real pipeline into
the local org, exactly once.

Payloads are written from Zoom's documented event shapes (https://developers.zoom.us/docs/phone/call-data.md,
https://zoom.github.io/rivet-javascript/types/Phone.PhoneCalleeRingingEvent.html and the other `Phone.*Event`
types), with values of our own; each is signed as Zoom signs (https://developers.zoom.us/docs/api/webhooks).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from datetime import datetime, time as clock, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from calls_support import call_record, call_tasks, configure, run_queued
from dialers_support import logged_once, post_delivery, secret, settled
from panel.localorg.seed import IDS, USER_IDS

YAMADA = IDS["contact.yamada_taro"]  # the record with 03-1234-5678 (+81312345678)
TOKYO = ZoneInfo("Asia/Tokyo")
AGENT_USER = "KdYKjnimT4KPd8FFgQt9FQ"
SECOND_USER = "Wm3c0l1zT9qfXc7wQ2H8Ng"
RECORDING = "https://zoom.us/v2/phone/recording/download/a2f9ab6b0ba54b2a"
LATER = timedelta(minutes=10)  # past every wait of the pipeline
VOICEMAIL = "https://zoom.us/v2/phone/voice_mails/download/e7d3c2b1a0f94e8d"


@pytest.fixture(autouse=True)
def zoom_users(dialer_users):
    """The admin's PANEL_DIALER_USERS: two Zoom user ids and their agents."""
    dialer_users(("zoom", AGENT_USER, "agent@example.com"), ("zoom", SECOND_USER, "agent2@example.com"))


def zulu(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ZoomCall:
    """One Zoom Phone call as Zoom reports it to the panel's webhook."""

    def __init__(self, client, call_id: str, *, direction: str = "inbound", user: str = AGENT_USER,
                 extension: int = 1001, number: str = "+81312345678") -> None:
        self.client = client
        self.call_id = call_id
        self.direction = direction
        self.start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)
        self.agent = {"extension_id": "3vOmTcDyQTCSbLbX4j8tuA", "extension_type": "user", "user_id": user,
                      "name": "Agent", "phone_number": "+81312340001", "extension_number": extension}
        self.customer = {"name": "YAMADA TARO", "phone_number": number, "connection_type": "pstn_off_net"}

    def _event(self, side_events: tuple[str, str], **times) -> dict:
        inbound = self.direction == "inbound"
        obj = {"call_id": self.call_id, "callee": self.agent if inbound else self.customer,
               "caller": self.customer if inbound else self.agent, "ringing_start_time": zulu(self.start), **times}
        return {"event": side_events[0 if inbound else 1], "event_ts": int(time.time() * 1000),
                "payload": {"account_id": "lAAAAAAAAAAAAAAAAAAAAA", "object": obj}}

    def ringing(self) -> dict:
        return self._event(("phone.callee_ringing", "phone.caller_ringing"))

    def answered(self) -> dict:
        key = "answer_start_time" if self.direction == "inbound" else "connected_start_time"
        return self._event(("phone.callee_answered", "phone.caller_connected"),
                           **{key: zulu(self.start + timedelta(seconds=6))})

    def ended(self, talk_s: int = 95) -> dict:
        return self._event(("phone.callee_ended", "phone.caller_ended"),
                           answer_start_time=zulu(self.start + timedelta(seconds=6)),
                           call_end_time=zulu(self.start + timedelta(seconds=6 + talk_s)))

    def missed(self) -> dict:
        return self._event(("phone.callee_missed", "phone.caller_ended"),
                           call_end_time=zulu(self.start + timedelta(seconds=25)))

    def recording(self) -> dict:
        return {"event": "phone.recording_completed", "event_ts": int(time.time() * 1000), "payload": {
            "account_id": "lAAAAAAAAAAAAAAAAAAAAA", "object": {"recordings": [{
                "id": f"rec-{self.call_id}", "caller_number": self.customer["phone_number"], "caller_number_type": 2,
                "callee_number": "1001", "callee_number_type": 1, "callee_name": "Agent", "duration": 95,
                "download_url": RECORDING, "date_time": zulu(self.start + timedelta(seconds=6)),
                "end_time": zulu(self.start + timedelta(seconds=101)), "user_id": self.agent["user_id"],
                "call_id": self.call_id, "direction": self.direction, "recording_type": "Automatic",
                "owner": {"type": "user", "id": self.agent["user_id"], "name": "Agent", "extension_number": 1001},
            }]}}}

    def voicemail(self) -> dict:
        return {"event": "phone.voicemail_received", "event_ts": int(time.time() * 1000), "payload": {
            "account_id": "lAAAAAAAAAAAAAAAAAAAAA", "object": {
                "id": f"vm-{self.call_id}", "date_time": zulu(self.start + timedelta(seconds=40)),
                "download_url": VOICEMAIL, "duration": 21, "caller_number": self.customer["phone_number"],
                "caller_number_type": 2, "caller_name": "YAMADA TARO", "callee_user_id": self.agent["user_id"],
                "callee_number": "1001", "callee_number_type": 1, "callee_name": "Agent",
                "callee_extension_type": "user", "callee_id": "3vOmTcDyQTCSbLbX4j8tuA", "call_id": self.call_id}}}

    def send(self, *events: dict) -> None:
        for event in events:
            response = deliver(self.client, event)
            assert response.status_code == 200, response.text


def deliver(client, event: dict, *, key: str | None = None):
    raw = json.dumps(event, ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    signature = hmac.new((key or secret("zoom")).encode(), f"v0:{timestamp}:".encode() + raw, hashlib.sha256)
    return post_delivery(client, "zoom", raw, {"x-zm-request-timestamp": timestamp,
                                               "x-zm-signature": "v0=" + signature.hexdigest()})


# -- calls ------------------------------------------------------------------------------------------------------------------

def test_an_inbound_call_redelivered_and_out_of_order_is_one_task(app, agent, sf):
    call = ZoomCall(agent, "7285531463958810001")
    events = [call.ringing(), call.answered(), call.ended(talk_s=95)]
    shuffled = events + events  # Zoom retries a delivery it thinks failed
    random.Random(15).shuffle(shuffled)
    call.send(*shuffled)
    run_queued(app)
    settled(app, "zoom:7285531463958810001", after=LATER)
    task = logged_once(sf, "zoom:7285531463958810001")
    assert (task["CallType"], task["CallDurationInSeconds"], task["Status"]) == ("Inbound", 95, "Completed")
    assert (task["WhoId"], task["OwnerId"]) == (YAMADA, USER_IDS["agent"])


def test_an_outbound_call_is_one_task_under_zoom_call_id(app, agent, sf):
    call = ZoomCall(agent, "7285531463958820002", direction="outbound")
    call.send(call.ringing(), call.ended(talk_s=60), call.answered(), call.ended(talk_s=60))
    run_queued(app)
    settled(app, "zoom:7285531463958820002", after=LATER)
    task = logged_once(sf, "zoom:7285531463958820002")
    assert (task["CallType"], task["CallDurationInSeconds"], task["CallObject"]) == (
        "Outbound", 60, "zoom:7285531463958820002")


def test_a_forged_delivery_is_refused_and_stores_nothing(app, client):
    call = ZoomCall(client, "7285531463958830003")
    response = deliver(client, call.ringing(), key="not-the-secret")
    assert response.status_code == 401
    assert call_record(app, "zoom:7285531463958830003") is None


def test_the_url_validation_is_answered(client):
    response = deliver(client, {"event": "endpoint.url_validation", "event_ts": int(time.time() * 1000),
                                "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}})
    assert response.status_code == 200
    assert response.json == {"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": hmac.new(
        secret("zoom").encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()}


def test_a_missed_call_is_not_logged_by_default(app, agent, sf):
    call = ZoomCall(agent, "7285531463958840004")
    call.send(call.ringing(), call.missed())
    run_queued(app)
    settled(app, "zoom:7285531463958840004", after=LATER)
    assert call_tasks(sf, "zoom:7285531463958840004") == []
    assert call_record(app, "zoom:7285531463958840004").outcome == "missed"


def test_a_missed_call_is_logged_when_the_setting_enables_it(app, agent, sf):
    configure(app, PANEL_LOG_MISSED_CALLS="true")
    call = ZoomCall(agent, "7285531463958850005")
    call.send(call.ringing(), call.missed(), call.missed())
    run_queued(app)
    settled(app, "zoom:7285531463958850005", after=LATER)
    assert logged_once(sf, "zoom:7285531463958850005")["Subject"] == "Missed call - Inbound"


def test_a_directly_transferred_call_is_one_task_owned_by_the_agent_who_took_it_last(app, agent, sf):
    first = ZoomCall(agent, "7285531463958860006")
    second = ZoomCall(agent, "7285531463958860006_1", user=SECOND_USER, extension=1002)
    second.start = first.start + timedelta(seconds=60)
    first.send(first.ringing(), first.answered(), first.ended(talk_s=50))
    second.send(second.ringing(), second.answered(), second.ended(talk_s=120))
    run_queued(app)
    settled(app, "zoom:7285531463958860006", after=LATER)
    assert call_tasks(sf, "zoom:7285531463958860006_1") == []
    task = logged_once(sf, "zoom:7285531463958860006")
    assert task["OwnerId"] == USER_IDS["agent2"]


def test_a_ring_group_members_missed_ring_does_not_end_the_call_another_member_answered(app, agent, sf):
    """Zoom rings every member of a call queue or ring group under one call_id: the member who did not answer gets
    `callee_missed` (or rejects) while another talks. That ends their ring only; the call is the answering member's,
    and it is logged when they hang up, answered, with their talk time."""
    taken = ZoomCall(agent, "7285531463958870007", user=SECOND_USER, extension=1002)
    missed = ZoomCall(agent, "7285531463958870007")
    missed.start = taken.start
    taken.send(missed.ringing(), taken.ringing(), taken.answered(), missed.missed())
    run_queued(app)
    settled(app, "zoom:7285531463958870007", after=LATER)
    assert call_tasks(sf, "zoom:7285531463958870007") == []  # still on: nothing logged yet
    taken.send(taken.ended(talk_s=80))
    run_queued(app)
    settled(app, "zoom:7285531463958870007", after=LATER)
    task = logged_once(sf, "zoom:7285531463958870007")
    assert (task["OwnerId"], task["CallDurationInSeconds"]) == (USER_IDS["agent2"], 80)


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_recording_before_or_after_the_end_lands_in_the_one_task(app, agent, sf, when):
    call = ZoomCall(agent, f"72855314639588700{7 if when == 'before' else 8}")
    call_id = f"zoom:{call.call_id}"
    if when == "before":
        call.send(call.ringing(), call.answered(), call.recording(), call.ended(), call.recording())
        run_queued(app)
    else:
        call.send(call.ringing(), call.answered(), call.ended())
        run_queued(app)
        settled(app, call_id, after=LATER)
        call.send(call.recording(), call.recording())
        run_queued(app)
    settled(app, call_id, after=LATER)
    task = logged_once(sf, call_id)
    assert task["Description"].count(RECORDING) == 1


def test_a_voicemail_after_a_missed_call_logs_the_call_with_its_link(app, agent, sf):
    call = ZoomCall(agent, "7285531463958890009")
    call.send(call.ringing(), call.missed())
    run_queued(app)
    call.send(call.voicemail(), call.voicemail())
    run_queued(app)
    settled(app, "zoom:7285531463958890009", after=LATER)
    task = logged_once(sf, "zoom:7285531463958890009")
    assert task["Description"].count(VOICEMAIL) == 1


# -- text messages ---------------------------------------------------------------------------------------------------------

def test_a_day_of_texts_with_one_number_is_one_task(app, agent, sf):
    day = datetime.combine(datetime.now(TOKYO).date() - timedelta(days=2), clock(0, 0), tzinfo=TOKYO)

    def text(event: str, message_id: str, at: datetime, message: str) -> dict:
        customer = {"phone_number": "+81312345678", "display_name": "YAMADA TARO"}
        agent_member = {"id": AGENT_USER, "type": "user", "display_name": "Agent", "phone_number": "+81312340001"}
        received = event == "phone.sms_received"
        return {"event": event, "event_ts": int(time.time() * 1000), "payload": {
            "account_id": "lAAAAAAAAAAAAAAAAAAAAA", "object": {
                "sender": customer if received else agent_member,
                "to_members": [{**agent_member, "is_message_owner": True}] if received else [customer],
                "owner": {"type": "user", "id": AGENT_USER, **({} if received else {"sms_sender_user_id": AGENT_USER})},
                "message": message, "attachments": [], "session_id": "b1c2d3e4", "message_id": message_id,
                "message_type": 1, "date_time": zulu(at)}}}

    messages = [text("phone.sms_received", "IQ-1", day + timedelta(hours=10, minutes=3), "明日は10時でよろしいですか？"),
                text("phone.sms_sent", "IQ-2", day + timedelta(hours=10, minutes=5), "はい、10時でお願いします。"),
                text("phone.sms_received", "IQ-3", day + timedelta(hours=15), "ありがとうございました")]
    for message in messages + messages[:2]:
        assert deliver(agent, message).status_code == 200
    run_queued(app)
    conversation = f"sms:agent@example.com:+81312345678:{day.date().isoformat()}"
    settled(app, conversation, after=LATER)
    task = logged_once(sf, conversation)
    assert task["WhoId"] == YAMADA
    assert task["Description"] == ("[10:03] ← 明日は10時でよろしいですか？\n[10:05] → はい、10時でお願いします。\n"
                                   "[15:00] ← ありがとうございました")
