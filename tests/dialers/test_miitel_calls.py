"""MiiTel end to end: call-history deliveries posted to `/webhooks/miitel` as MiiTel's outgoing webhook sends them,
logged against the local org as exactly one Task per call, the transcript and minutes in its Description.

Payloads written after MiiTel's published schemas and samples
(https://github.com/revcomm/miitel-developers-public/tree/main/schema/outgoing_webhook) and the challenge described
at https://developers.miitel.com/docs/outgoing-webhook-callhistory .
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
TRANSCRIPT = "0:00 (取引先) お世話になっております。\n0:04 (ユーザー) 見積もりの件でお電話しました。"
MINUTES = "【議題】\n見積もりの再送\n\n【今後取るべき方針】\n金曜までに再送する"


class Call:
    """One MiiTel call as its call history reports it."""

    def __init__(self, *, outbound: bool = False, number: str | None = "03-1234-5678", answered: bool = True) -> None:
        self.id = str(uuid.uuid4())
        self.outbound = outbound
        self.number = number
        self.answered = answered
        self.start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=10)

    @property
    def call_id(self) -> str:
        return f"miitel:{self.id}"

    def detail(self, *, leg_id: str | None = None, call_type: str | None = None, offset_s: int = 0,
               talk_s: int = 150, answered: bool | None = None, transcript: str = "",
               minutes: str | None = None, previous_id: str | None = None) -> dict:
        at = lambda seconds: (self.start + timedelta(seconds=offset_s + seconds)).isoformat()  # noqa: E731
        answered = self.answered if answered is None else answered
        agent_side, customer_side = ("FROM", "TO") if self.outbound else ("TO", "FROM")
        entry = {
            "id": leg_id or self.id, "dial_starts_at": at(0), "dial_answered_at": at(8) if answered else None,
            "dial_ends_at": at(8 + talk_s if answered else 25), "queueing_starts_at": None,
            "queueing_answered_at": None, "queueing_ends_at": None,
            "call_type": call_type or ("OUTGOING_CALL" if self.outbound else "INCOMING_CALL"),
            "circuit_number": "050-1111-2222", "circuit_name": "代表番号",
            "from_number": None if self.outbound else self.number,
            "to_number": self.number if self.outbound else "050-1111-2222", "previous_id": previous_id,
            "participants": [
                {"id": str(uuid.uuid4()), "from_to": agent_side, "name": "佐藤 花子", "company_name": None,
                 "login_id": "agent@example.com"},
                {"id": str(uuid.uuid4()), "from_to": customer_side, "name": None, "company_name": None,
                 "login_id": None}],
            "speech_recognition": {"raw": transcript, "summary": ""},
        }
        if minutes is not None:
            entry["minutes"] = minutes
        return entry

    def history(self, *details: dict) -> dict:
        return {"call": {"id": self.id, "tenant_code": "panel-test", "details": list(details or [self.detail()])}}


def deliver(client, payload: dict, headers: dict | None = None):
    return post_delivery(client, "miitel", json.dumps(payload, ensure_ascii=False),
                         {"Authorization": f"Bearer {secret('miitel')}"} if headers is None else headers)


def test_the_challenge_is_answered_when_the_admin_saves_the_setting(client):
    response = post_delivery(client, "miitel", json.dumps({"challenge": "a1b2c3d4e5f60718", "params_key": "x"}))
    assert response.status_code == 200
    assert response.mimetype == "text/plain" and response.text == "a1b2c3d4e5f60718"


def test_an_inbound_call_is_logged_once_however_often_miitel_sends_it(app, agent, sf):
    call = Call()
    transcribed = call.history(call.detail(transcript=TRANSCRIPT))
    for payload in (transcribed, transcribed):  # MiiTel resends the last minutes' history
        assert deliver(agent, payload).status_code == 200
    run_call(app, call.call_id)
    task = logged_once(sf, call.call_id)
    assert (task["CallType"], task["CallDurationInSeconds"], task["WhoId"]) == ("Inbound", 150, YAMADA)
    assert task["OwnerId"] == USER_IDS["agent"] and task["CallObject"] == call.call_id
    response = deliver(agent, transcribed)
    assert response.json == {"status": "duplicate", "stored": 0, "duplicates": 2}
    run_call(app, call.call_id)
    logged_once(sf, call.call_id)


def test_an_outbound_call_is_logged_once(app, agent, sf):
    call = Call(outbound=True)
    deliver(agent, call.history(call.detail(talk_s=61)))
    run_call(app, call.call_id)
    task = logged_once(sf, call.call_id)
    assert (task["CallType"], task["CallDurationInSeconds"], task["WhoId"]) == ("Outbound", 61, YAMADA)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer forged"}])
def test_a_forged_delivery_stores_nothing(app, agent, sf, headers):
    call = Call()
    assert deliver(agent, call.history(), headers).status_code == 401
    assert call_record(app, call.call_id) is None


def test_a_missed_call_is_skipped_by_default(app, agent, sf):
    call = Call(answered=False)
    deliver(agent, call.history())
    run_call(app, call.call_id)
    assert call_tasks(sf, call.call_id) == []
    assert call_record(app, call.call_id).outcome == "missed"


def test_missed_and_unanswered_calls_are_logged_when_the_setting_enables_them(app, agent, sf):
    configure(app, PANEL_LOG_MISSED_CALLS="true")
    for outbound, subject in ((False, "Missed call - Inbound"), (True, "No answer - Outbound")):
        call = Call(outbound=outbound, answered=False)
        deliver(agent, call.history())
        run_call(app, call.call_id)
        assert logged_once(sf, call.call_id)["Subject"] == subject


def test_a_forwarded_call_is_one_task(app, agent, sf):
    call = Call()
    first, second = f"{call.id}-1", f"{call.id}-2"
    deliver(agent, call.history(call.detail(leg_id=first, answered=False),
                                call.detail(leg_id=second, call_type="AUTOMATIC_TRANSFER", offset_s=25,
                                            previous_id=first)))
    settled(app, call.call_id)
    task = logged_once(sf, call.call_id)
    assert task["WhoId"] == YAMADA
    assert call_tasks(sf, f"miitel:{second}") == []


def test_minutes_arriving_before_the_transcript_and_after_the_task_end_in_its_description(app, agent, sf):
    call = Call()
    deliver(agent, call.history(call.detail(minutes=MINUTES)))  # minutes done first: the end and the summary
    run_call(app, call.call_id)
    assert "金曜までに再送する" in logged_once(sf, call.call_id)["Description"]
    deliver(agent, call.history(call.detail(transcript=TRANSCRIPT)))  # then the transcription: the same end again
    deliver(agent, call.history(call.detail(transcript=TRANSCRIPT, minutes=MINUTES)))
    run_call(app, call.call_id)
    description = logged_once(sf, call.call_id)["Description"]
    assert "見積もりの件でお電話しました" in description
    assert description.count("金曜までに再送する") == 1
