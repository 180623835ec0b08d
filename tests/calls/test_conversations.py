"""Text messages through the signed webhook: one completed Task per agent, number and local day, each message once.

Messages are posted as a dialer posts them (`message.received` / `message.sent`, no call id: the panel files each
under its conversation `sms:<agent>:<E.164>:<day in PANEL_TIMEZONE>`); the conversation's job runs as a worker
runs it, against the local org.
"""

from __future__ import annotations

import json
import random
import re
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from calls_support import AGENT, call_record, call_tasks, configure, run_call, run_queued, signed
from tests.conftest import sign_in  # not `conftest`: that name is whichever folder's conftest pytest loaded last
from panel.localorg.seed import IDS, USER_IDS

TOKYO = ZoneInfo("Asia/Tokyo")
YAMADA = IDS["contact.yamada_taro"]  # the one record with 03-1234-5678
SHARED = "06-6123-4567"  # contact.yoshida_sho and contact.yoshida_aya
AYA = IDS["contact.yoshida_aya"]
HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def english_tasks(app):
    configure(app, PANEL_TASK_LANGUAGE="en")


def a_day_ago() -> datetime:
    """A local day that is over (Tokyo), at midnight: messages are dated within it."""
    day = datetime.now(TOKYO).date() - timedelta(days=2)
    return datetime.combine(day, time(0, 0), tzinfo=TOKYO)


class Phone:
    """An agent's text messages with one number, as a dialer reports them."""

    def __init__(self, client, *, number: str = "03-1234-5678", agent: str = AGENT, prefix: str = "sms") -> None:
        self.client = client
        self.number = number
        self.agent = agent
        self.prefix = prefix
        self._serial = 0

    def message(self, kind: str, at: datetime, text: str) -> dict:
        self._serial += 1
        return {"event_id": f"{self.prefix}-{self._serial}", "type": f"message.{kind}", "agent_email": self.agent,
                "external_number": self.number, "occurred_at": at.isoformat(), "text": text}

    def received(self, at: datetime, text: str) -> dict:
        return self.message("received", at, text)

    def sent(self, at: datetime, text: str) -> dict:
        return self.message("sent", at, text)

    def post(self, event: dict):
        body = json.dumps(event, ensure_ascii=False).encode()
        return self.client.post("/webhooks/calls", data=body, headers=signed(body))

    def send(self, *events: dict) -> None:
        for event in events:
            response = self.post(event)
            assert response.status_code in (200, 202), response.text


def conversation(day: datetime, e164: str = "+81312345678", agent: str = AGENT) -> str:
    return f"sms:{agent}:{e164}:{day.date().isoformat()}"


def logged_once(sf, conversation_id: str) -> dict:
    tasks = call_tasks(sf, conversation_id)
    assert len(tasks) == 1, tasks
    return tasks[0]


def later(minutes: int = 10) -> datetime:
    return datetime.now(timezone.utc) + timedelta(minutes=minutes)


# -- one Task a day -------------------------------------------------------------------------------------------------

def test_a_day_of_messages_with_one_number_is_one_task_with_every_message_once(app, client, sf):
    day = a_day_ago()
    phone = Phone(client)
    morning = [phone.received(day + timedelta(hours=10, minutes=3), "明日の打ち合わせは10時でよろしいですか？"),
               phone.sent(day + timedelta(hours=10, minutes=5), "はい、10時でお願いします。"),
               phone.received(day + timedelta(hours=10, minutes=6), "承知しました\n資料もお持ちします")]
    shuffled = morning + morning[:2]  # redelivered
    random.Random(15).shuffle(shuffled)  # and reordered
    phone.send(*shuffled)
    assert run_queued(app) >= 1

    task = logged_once(sf, conversation(day))
    assert task["Subject"] == f"SMS - 03-1234-5678 / {day.date().isoformat()}"
    assert (task["Status"], task["IsClosed"], task["TaskSubtype"]) == ("Completed", True, "Task")
    assert task["ActivityDate"] == day.date().isoformat()
    assert (task["WhoId"], task["OwnerId"]) == (YAMADA, USER_IDS["agent"])
    assert task["CallType"] is None and task["CallDurationInSeconds"] is None
    assert task["Description"] == ("[10:03] ← 明日の打ち合わせは10時でよろしいですか？\n"
                                   "[10:05] → はい、10時でお願いします。\n"
                                   "[10:06] ← 承知しました\n"
                                   "        資料もお持ちします")

    afternoon = phone.sent(day + timedelta(hours=15, minutes=30), "本日はありがとうございました。")
    phone.send(afternoon, *morning, afternoon)  # the old ones once more, the new one twice
    run_queued(app)
    assert run_call(app, conversation(day), now=later()) is None
    task = logged_once(sf, conversation(day))
    assert task["Description"].splitlines()[-1] == "[15:30] → 本日はありがとうございました。"
    for line in ("10:03", "10:05", "10:06", "15:30"):
        assert task["Description"].count(f"[{line}]") == 1
    record = call_record(app, conversation(day))
    assert (record.status, record.task_id) == ("logged", task["Id"])


def test_a_message_that_arrives_late_takes_its_place_in_time_order(app, client, sf):
    day = a_day_ago()
    phone = Phone(client)
    first, second, third = (phone.received(day + timedelta(hours=9), "おはようございます"),
                            phone.sent(day + timedelta(hours=9, minutes=1), "おはようございます！"),
                            phone.received(day + timedelta(hours=9, minutes=2), "見積書を拝見しました"))
    phone.send(first, third)
    run_queued(app)
    phone.send(second)
    run_queued(app)
    assert logged_once(sf, conversation(day))["Description"] == (
        "[09:00] ← おはようございます\n[09:01] → おはようございます！\n[09:02] ← 見積書を拝見しました")


def test_a_note_the_agent_added_in_salesforce_stays_and_new_messages_come_under_it(app, client, sf):
    day = a_day_ago()
    phone = Phone(client)
    phone.send(phone.received(day + timedelta(hours=11), "折り返しお願いします"))
    run_queued(app)
    task = logged_once(sf, conversation(day))
    sf.Task.update(task["Id"], {"Description": task["Description"] + "\n\n（電話で対応済み）"})
    phone.send(phone.sent(day + timedelta(hours=11, minutes=30), "お電話しました"))
    run_queued(app)
    assert logged_once(sf, conversation(day))["Description"] == (
        "[11:00] ← 折り返しお願いします\n\n（電話で対応済み）\n\n[11:30] → お電話しました")


def test_the_next_local_day_is_a_second_task(app, client, sf):
    """23:59 and 00:01 on the org's clock (PANEL_TIMEZONE, Tokyo): two days, two Tasks."""
    day = a_day_ago()
    next_day = day + timedelta(days=1)
    phone = Phone(client)
    phone.send(phone.received(day + timedelta(hours=23, minutes=59), "夜分に失礼します"),
               phone.sent(next_day + timedelta(minutes=1), "承知しました"))
    run_queued(app)
    evening, night = logged_once(sf, conversation(day)), logged_once(sf, conversation(next_day))
    assert evening["Description"] == "[23:59] ← 夜分に失礼します"
    assert night["Description"] == "[00:01] → 承知しました"
    assert (evening["ActivityDate"], night["ActivityDate"]) == (day.date().isoformat(), next_day.date().isoformat())
    assert night["Subject"] == f"SMS - 03-1234-5678 / {next_day.date().isoformat()}"


def test_the_same_number_with_another_agent_is_another_task(app, client, sf):
    day = a_day_ago()
    mine, theirs = Phone(client), Phone(client, agent="agent2@example.com", prefix="sms-agent2")
    mine.send(mine.received(day + timedelta(hours=14), "担当の方へ"))
    theirs.send(theirs.received(day + timedelta(hours=14), "担当の方へ"))
    run_queued(app)
    assert logged_once(sf, conversation(day))["OwnerId"] == USER_IDS["agent"]
    assert logged_once(sf, conversation(day, agent="agent2@example.com"))["OwnerId"] == USER_IDS["agent2"]


def test_a_task_whose_creation_answer_was_lost_is_found_and_no_message_is_written_twice(app, client, sf,
                                                                                         lost_answers):
    armed, dropped = lost_answers
    armed.append(("POST", "/sobjects/Task"))
    day = a_day_ago()
    phone = Phone(client)
    phone.send(phone.received(day + timedelta(hours=16), "資料届きました"))
    assert run_call(app, conversation(day)) is not None and dropped  # unknown outcome: again later
    phone.send(phone.sent(day + timedelta(hours=16, minutes=2), "ありがとうございます"))
    assert run_call(app, conversation(day), now=later()) is None
    assert logged_once(sf, conversation(day))["Description"] == (
        "[16:00] ← 資料届きました\n[16:02] → ありがとうございます")


def test_an_added_message_whose_answer_was_lost_is_not_added_again(app, client, sf, lost_answers):
    armed, dropped = lost_answers
    day = a_day_ago()
    phone = Phone(client)
    phone.send(phone.received(day + timedelta(hours=17), "明日伺います"))
    run_queued(app)
    task_id = logged_once(sf, conversation(day))["Id"]
    armed.append(("PATCH", f"/sobjects/Task/{task_id}"))
    phone.send(phone.sent(day + timedelta(hours=17, minutes=1), "お待ちしております"))
    assert run_call(app, conversation(day)) is not None and dropped
    phone.send(phone.received(day + timedelta(hours=17, minutes=2), "よろしくお願いします"))
    assert run_call(app, conversation(day), now=later()) is None
    assert logged_once(sf, conversation(day))["Description"] == (
        "[17:00] ← 明日伺います\n[17:01] → お待ちしております\n[17:02] ← よろしくお願いします")



# -- which record ----------------------------------------------------------------------------------------------------

def test_several_matches_wait_for_a_reviewer_whose_pick_logs_the_conversation(app, client, sf, localorg):
    day = a_day_ago()
    phone = Phone(client, number=SHARED)
    phone.send(phone.received(day + timedelta(hours=13), "吉田です。ご連絡ください。"))
    run_queued(app)
    waiting = conversation(day, "+81661234567")
    assert call_tasks(sf, waiting) == []
    assert call_record(app, waiting).status == "needs_review"

    phone.send(phone.sent(day + timedelta(hours=13, minutes=10), "折り返しいたします"))  # while it waits
    reviewer_picks(app, localorg, waiting, AYA, "several")
    task = logged_once(sf, waiting)
    assert (task["WhoId"], task["Subject"]) == (AYA, f"SMS - 06-6123-4567 / {day.date().isoformat()}")
    assert task["Description"] == "[13:00] ← 吉田です。ご連絡ください。\n[13:10] → 折り返しいたします"

    phone.send(phone.received(day + timedelta(hours=13, minutes=20), "ありがとうございます"))
    run_queued(app)
    assert logged_once(sf, waiting)["Description"].endswith("\n[13:20] ← ありがとうございます")


def reviewer_picks(app, localorg, conversation_id: str, record_id: str, reason: str) -> None:
    reviewer = app.test_client()
    reviewer.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    sign_in(reviewer, localorg, "reviewer@example.com")
    page = reviewer.get("/review").text
    item = re.search(rf'<li id="review-item-(\d+)"[^>]*\s+data-call-id="{re.escape(conversation_id)}"'
                     rf'\s+data-reason="{reason}"', page)
    assert item, f"{conversation_id} does not wait for a reviewer ({reason})"
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    picked = reviewer.post(f"/review/items/{item.group(1)}/pick", headers=HX,
                           data={"csrf_token": token, "record_id": record_id})
    assert picked.status_code == 200, picked.text
    run_queued(app)


def test_a_conversation_whose_agent_nobody_resolves_waits_for_a_reviewer(app, client, sf, localorg):
    """An adapter stores a message whose agent is only the vendor's name for them (no e-mail)."""
    from panel.calls import ledger
    from panel.calls.events import CallEvent
    from panel.calls.filing import FilingSettings, filed

    day = a_day_ago()
    event = filed(CallEvent(event_id="zoom:sms-1", type="message.received", call_id="", direction="inbound",
                            internal=False, agent_email="", agent_ref="zoom:user-9",
                            external_number="03-1234-5678", occurred_at=day + timedelta(hours=10),
                            text="どなたかいらっしゃいますか"), FilingSettings(timezone="Asia/Tokyo"))
    assert event.call_id == f"sms:zoom:user-9:+81312345678:{day.date().isoformat()}"
    with app.app_context():
        assert ledger.store_event(event)
    run_call(app, event.call_id)
    assert call_record(app, event.call_id).status == "needs_review"
    assert call_tasks(sf, event.call_id) == []
    reviewer_picks(app, localorg, event.call_id, YAMADA, "agent")
    task = logged_once(sf, event.call_id)
    assert (task["WhoId"], task["Description"]) == (YAMADA, "[10:00] ← どなたかいらっしゃいますか")


def test_a_conversation_is_not_a_call_to_pick_a_record_for(app, signed_in_client, sf):
    day = a_day_ago()
    phone = Phone(signed_in_client)
    phone.send(phone.received(day + timedelta(hours=12), "確認お願いします"))
    run_queued(app)
    client = signed_in_client
    page = client.get("/panel?phone=03-9999-0000", headers=HX).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    refused = client.post("/panel/pick", headers=HX, data={"csrf_token": token, "record_id": AYA,
                                                           "phone": "03-1234-5678", "call_id": conversation(day)})
    assert refused.status_code == 403, refused.text
    assert logged_once(sf, conversation(day))["WhoId"] == YAMADA


# -- the setting -----------------------------------------------------------------------------------------------------

def test_with_message_logging_off_nothing_is_stored_or_logged(app, client, sf):
    configure(app, PANEL_LOG_MESSAGES=False)
    day = a_day_ago()
    phone = Phone(client)
    response = phone.post(phone.received(day + timedelta(hours=10), "届いていますか？"))
    assert (response.status_code, response.json) == (200, {"status": "ignored"})
    assert run_queued(app) == 0
    assert call_record(app, conversation(day)) is None
    with app.app_context():
        from panel.calls import ledger

        assert ledger.events_of(conversation(day)) == []
    assert call_tasks(sf, conversation(day)) == []


def test_a_message_that_is_not_valid_is_refused_naming_the_field_even_with_logging_off(app, client):
    configure(app, PANEL_LOG_MESSAGES=False)
    phone = Phone(client)
    event = phone.received(a_day_ago(), "x")
    del event["text"]
    response = phone.post(event)
    assert response.status_code == 400 and response.json["field"] == "text"
