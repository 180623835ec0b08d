"""From call events to exactly one completed Salesforce Task per call ID, against the local org.

Events go through the signed webhook; the logging job (`panel.calls.pipeline.log_call`) runs as a worker would run
it, or in a real background worker. Salesforce is always the local org over HTTP; faults are injected there, or (for
a lost answer) at the network edge.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import requests

from calls_support import (Dialer, background_worker, call_record, call_tasks, configure, note, run_call, run_queued,
                           served, signed, sweep, wait_until)
from tests.conftest import sign_in  # not `conftest`: that name is whichever folder's conftest pytest loaded last
from panel.localorg.seed import IDS, USER_IDS

YAMADA = IDS["contact.yamada_taro"]
HX = {"HX-Request": "true"}
RECORDING = "https://dialer.example.com/recordings/7f3a"
VOICEMAIL = "https://dialer.example.com/voicemail/9b1c"


@pytest.fixture(autouse=True)
def english_tasks(app):
    """Tasks in English unless a test says otherwise (the seeded users' Salesforce language is Japanese)."""
    configure(app, PANEL_TASK_LANGUAGE="en")


@pytest.fixture
def agent(signed_in_client):
    """The agent is signed in to the panel, so calls are logged with their own Salesforce connection."""
    return signed_in_client


def logged_once(sf, call_id: str) -> dict:
    tasks = call_tasks(sf, call_id)
    assert len(tasks) == 1, tasks
    return tasks[0]


def full_call(dialer: Dialer, **end) -> list[dict]:
    return [dialer.ringing(), dialer.answered(), dialer.ended(**end)]


# -- the Task's fields ----------------------------------------------------------------------------------------------

def test_an_answered_call_becomes_one_completed_call_task_with_every_field(app, agent, sf):
    dialer = Dialer(agent, "call-fields")
    dialer.send(*full_call(dialer, duration=95, recording_url=RECORDING, disposition="資料送付"))
    assert run_queued(app) >= 1
    task = logged_once(sf, "call-fields")
    assert task["Subject"] == "Call - Inbound / (2) min"
    assert (task["Status"], task["IsClosed"], task["TaskSubtype"]) == ("Completed", True, "Call")
    assert (task["CallType"], task["CallDurationInSeconds"], task["CallObject"]) == ("Inbound", 95, "call-fields")
    assert task["CallDisposition"] == "資料送付"
    assert task["WhoId"] == YAMADA and task["WhatId"] is None
    assert task["OwnerId"] == USER_IDS["agent"]
    assert task["ActivityDate"] == dialer.start.astimezone(ZoneInfo("Asia/Tokyo")).date().isoformat()
    assert RECORDING in task["Description"]
    assert call_record(app, "call-fields").status == "logged"


def test_a_call_stored_with_control_characters_by_an_older_version_is_still_logged(app, agent, sf):
    """Before 2026-12-03 the webhook accepted a NUL or a newline in the number and the disposition (refused at the
    door since). Such events already stored are read without them, so the call is logged, on PostgreSQL too."""
    from dataclasses import replace

    from panel.calls import ledger
    from panel.calls.events import event_from_dict

    dialer = Dialer(agent, "call-stored-long-ago")
    with app.app_context():
        for payload in full_call(dialer, disposition="資料送付"):
            event = event_from_dict(payload)
            ledger.store_event(replace(event, external_number="03-1234-5678\x00",
                                         disposition=event.disposition and "資料\n送付\x00"))
    run_call(app, "call-stored-long-ago")
    task = logged_once(sf, "call-stored-long-ago")
    assert (task["WhoId"], task["CallDisposition"]) == (YAMADA, "資料送付")
    assert call_record(app, "call-stored-long-ago").status == "logged"


@pytest.mark.parametrize("seconds, minutes", [(0, 1), (1, 1), (60, 1), (61, 2), (95, 2), (3600, 60), (3601, 61)])
def test_minutes_in_the_subject_are_rounded_up_and_at_least_one(app, agent, sf, seconds, minutes):
    dialer = Dialer(agent, f"call-minutes-{seconds}")
    dialer.send(*full_call(dialer, duration=seconds))
    run_call(app, dialer.call_id)
    task = logged_once(sf, dialer.call_id)
    assert task["Subject"] == f"Call - Inbound / ({minutes}) min"
    assert task["CallDurationInSeconds"] == seconds


def test_tasks_are_written_in_the_agents_salesforce_language_by_default(app, agent, client, sf):
    configure(app, PANEL_TASK_LANGUAGE=None)  # the seeded agents use Salesforce in Japanese
    dialer = Dialer(agent, "call-ja", direction="outbound")
    dialer.send(*full_call(dialer, duration=95))
    run_call(app, "call-ja")
    task = logged_once(sf, "call-ja")
    assert task["Subject"] == "通話 - 発信 / (2)分" and task["CallType"] == "Outbound"

    inbound = Dialer(agent, "call-ja-in", agent="agent2@example.com")  # not signed in: the integration writes
    inbound.send(*full_call(inbound, duration=61))
    run_call(app, "call-ja-in")
    assert logged_once(sf, "call-ja-in")["Subject"] == "通話 - 着信 / (2)分"


def test_the_subject_template_is_configurable(app, agent, sf):
    configure(app, PANEL_TASK_SUBJECT_TEMPLATE="{direction} {outcome}: {minutes} min ({seconds} s)")
    dialer = Dialer(agent, "call-template")
    dialer.send(*full_call(dialer, duration=125))
    run_call(app, "call-template")
    assert logged_once(sf, "call-template")["Subject"] == "Inbound Call: 3 min (125 s)"


@pytest.mark.parametrize("started_utc, zone, local_day", [
    ("2026-11-24T15:30:00+00:00", "Asia/Tokyo", "2026-11-25"),  # 00:30 in Tokyo: the next day
    ("2026-11-24T14:59:00+00:00", "Asia/Tokyo", "2026-11-24"),
    ("2026-11-25T03:00:00+00:00", "America/Los_Angeles", "2026-11-24"),  # 19:00 the evening before
])
def test_the_activity_date_is_the_calls_local_date_in_the_panel_timezone(app, agent, sf, started_utc, zone,
                                                                           local_day):
    configure(app, PANEL_TIMEZONE=zone)
    dialer = Dialer(agent, f"call-date-{zone}-{started_utc}", start=datetime.fromisoformat(started_utc))
    dialer.send(dialer.ended(duration=30))
    run_call(app, dialer.call_id)
    assert logged_once(sf, dialer.call_id)["ActivityDate"] == local_day


def test_recording_and_voicemail_links_are_in_the_description(app, agent, sf):
    dialer = Dialer(agent, "call-links")
    dialer.send(*full_call(dialer, recording_url=RECORDING, voicemail_url=VOICEMAIL))
    run_call(app, "call-links")
    description = logged_once(sf, "call-links")["Description"]
    assert f"Recording: {RECORDING}" in description and f"Voicemail: {VOICEMAIL}" in description


@pytest.mark.parametrize("number, who, what", [
    ("011-222-3333", None, "account.hokkaido_foods"),  # an Account's main line: WhatId only
    ("080-9876-5432", "lead.kimura_takuya", None),  # a Lead: WhoId, and WhatId must stay empty
])
def test_who_and_what_follow_salesforces_rules(app, agent, sf, number, who, what):
    dialer = Dialer(agent, f"call-rel-{number}", number=number)
    dialer.send(*full_call(dialer))
    run_call(app, dialer.call_id)
    task = logged_once(sf, dialer.call_id)
    assert task["WhoId"] == (IDS[who] if who else None) and task["WhatId"] == (IDS[what] if what else None)


def test_without_the_agents_own_connection_the_integration_user_logs_it_owned_by_the_agent(app, client, sf):
    dialer = Dialer(client, "call-integration", agent="AGENT2@example.com")  # nobody signed in to the panel
    dialer.send(*full_call(dialer))
    run_call(app, "call-integration")
    task = logged_once(sf, "call-integration")
    assert task["OwnerId"] == USER_IDS["agent2"] and task["WhoId"] == YAMADA


def test_an_agent_salesforce_does_not_know_goes_to_review_with_the_reason(app, client, sf):
    dialer = Dialer(client, "call-stranger", agent="stranger@example.com")
    dialer.send(*full_call(dialer))
    assert run_call(app, "call-stranger") is None
    assert call_tasks(sf, "call-stranger") == []
    record = call_record(app, "call-stranger")
    assert record.status == "needs_review" and "stranger@example.com" in record.last_error
    from panel.review import queue

    with app.app_context():
        assert [item.reason for item, _call in queue.open_reviews()] == ["agent"]  # "agent unknown", not an error


# -- order, repetition, concurrency ----------------------------------------------------------------------------------

def test_ended_before_answered_and_ringing_still_logs_one_answered_task(app, agent, sf):
    dialer = Dialer(agent, "call-reordered")
    ringing, answered, ended = full_call(dialer, duration=40)
    dialer.send(ended)
    run_call(app, "call-reordered")
    dialer.send(answered, ringing)
    run_queued(app)
    run_call(app, "call-reordered")
    task = logged_once(sf, "call-reordered")
    assert task["Subject"] == "Call - Inbound / (1) min" and task["Status"] == "Completed"


def test_an_end_saying_unanswered_still_logs_a_call_that_was_answered(app, agent, sf):
    dialer = Dialer(agent, "call-answered-then-not")
    dialer.send(dialer.answered(), dialer.ended(answered=False, duration=20))
    run_call(app, dialer.call_id)
    assert logged_once(sf, dialer.call_id)["Subject"] == "Call - Inbound / (1) min"


@pytest.mark.parametrize("order", list(itertools.permutations(range(3)))[1:])
def test_every_order_and_repetition_of_the_events_gives_the_same_one_task(app, agent, sf, order):
    dialer = Dialer(agent, f"call-order-{''.join(map(str, order))}")
    events = full_call(dialer, duration=61, recording_url=RECORDING)
    for index in order:
        dialer.send(events[index], events[index])
        run_call(app, dialer.call_id)
    dialer.send(*events)
    run_queued(app)
    task = logged_once(sf, dialer.call_id)
    assert (task["Subject"], task["CallDurationInSeconds"]) == ("Call - Inbound / (2) min", 61)
    assert task["Description"].count(RECORDING) == 1


def test_many_threads_delivering_every_event_several_times_log_each_call_once(app, agent, sf):
    calls = [Dialer(None, f"call-storm-{n}", number="03-1234-5678") for n in range(4)]
    deliveries = [json.dumps(event).encode() for dialer in calls for event in full_call(dialer) for _ in range(3)]
    random.Random(5).shuffle(deliveries)
    statuses: list[int] = []
    with served(app) as base, background_worker(app, workers=2):
        def deliver(bodies):
            with requests.Session() as http:
                for body in bodies:
                    statuses.append(http.post(f"{base}/webhooks/calls", data=body, headers=signed(body),
                                              timeout=30).status_code)

        threads = [threading.Thread(target=deliver, args=(deliveries[i::6],)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wait_until(lambda: all(call_record(app, d.call_id) is not None
                               and call_record(app, d.call_id).status == "logged" for d in calls))
    assert statuses.count(202) == 12 and statuses.count(200) == 24
    for dialer in calls:
        assert logged_once(sf, dialer.call_id)["Status"] == "Completed"


# -- the pop at answer --------------------------------------------------------------------------------------------

def test_the_ringing_prefetch_makes_the_pop_at_answer_free(app, agent, localorg):
    dialer = Dialer(agent, "call-prefetch")
    dialer.send(dialer.ringing())
    run_queued(app)
    assert call_record(app, "call-prefetch").warmed
    before = localorg.api_requests()
    pop = agent.get("/panel?phone=03-1234-5678&call_id=call-prefetch&direction=inbound", headers=HX)
    assert pop.status_code == 200 and f'data-record-id="{YAMADA}"' in pop.text
    assert localorg.api_requests() == before


# -- which record -----------------------------------------------------------------------------------------------------

def _pick(client, phone: str, record_key: str, call_id: str | None = None):
    client.get(f"/panel?phone={phone}", headers=HX)
    page = client.get("/panel?phone=03-9999-0000", headers=HX).text  # no match: the quick-create form has a token
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/panel/pick", headers=HX, data={"csrf_token": token, "record_id": IDS[record_key],
                                                            "phone": phone, "call_id": call_id or ""})
    assert response.status_code == 200, response.text


SHARED = "06-6123-4567"  # contact.yoshida_sho and contact.yoshida_aya


def test_a_pick_made_during_the_call_wins_over_the_remembered_pick(app, agent, sf):
    _pick(agent, SHARED, "contact.yoshida_aya")  # remembered from an earlier call
    dialer = Dialer(agent, "call-picked", number=SHARED)
    dialer.send(dialer.ringing(), dialer.answered())
    _pick(agent, SHARED, "contact.yoshida_sho", call_id="call-picked")
    _pick(agent, SHARED, "contact.yoshida_aya")  # a later pick for another purpose does not move this call
    dialer.send(dialer.ended())
    run_queued(app)
    assert logged_once(sf, "call-picked")["WhoId"] == IDS["contact.yoshida_sho"]
    assert call_record(app, "call-picked").record_source == "call_pick"


def test_the_remembered_pick_for_the_number_decides_when_nobody_picked_during_the_call(app, agent, sf):
    _pick(agent, SHARED, "contact.yoshida_aya")
    dialer = Dialer(agent, "call-remembered", number=SHARED)
    dialer.send(*full_call(dialer))
    run_queued(app)
    assert logged_once(sf, "call-remembered")["WhoId"] == IDS["contact.yoshida_aya"]
    assert call_record(app, "call-remembered").record_source == "remembered"


@pytest.mark.parametrize("number, reason", [(SHARED, "several"), ("03-9999-0000", "none")])
def test_several_matches_or_none_wait_in_the_review_queue_without_a_task(app, agent, sf, localorg, number,
                                                                          reason):
    dialer = Dialer(agent, f"call-{reason}", number=number)
    dialer.send(*full_call(dialer))
    run_queued(app)
    assert call_tasks(sf, dialer.call_id) == []
    assert call_record(app, dialer.call_id).status == "needs_review"
    reviewer = app.test_client()
    sign_in(reviewer, localorg, "reviewer@example.com")
    page = reviewer.get("/review").text
    assert f'data-call-id="{dialer.call_id}"' in page and f'data-reason="{reason}"' in page


# -- notes during the call ------------------------------------------------------------------------------------------


def test_notes_during_the_call_make_one_open_task_that_the_end_closes(app, agent, sf):
    dialer = Dialer(agent, "call-notes")
    dialer.send(dialer.ringing(), dialer.answered())
    run_queued(app)
    note(agent, "call-notes", "", "見積の依頼")
    first = logged_once(sf, "call-notes")
    assert (first["Status"], first["IsClosed"], first["TaskSubtype"]) == ("In Progress", False, "Call")
    note(agent, "call-notes", "", "納期の確認")
    during = logged_once(sf, "call-notes")
    assert during["Id"] == first["Id"]
    assert "見積の依頼" in during["Description"] and "納期の確認" in during["Description"]

    dialer.send(dialer.ended(duration=95, recording_url=RECORDING))
    run_queued(app)
    closed = logged_once(sf, "call-notes")
    assert closed["Id"] == first["Id"]
    assert (closed["Status"], closed["IsClosed"], closed["Subject"]) == ("Completed", True, "Call - Inbound / (2) min")
    assert closed["CallDurationInSeconds"] == 95 and closed["WhoId"] == YAMADA
    assert "見積の依頼" in closed["Description"] and "納期の確認" in closed["Description"]
    assert RECORDING in closed["Description"]


def test_notes_racing_the_end_being_logged_still_give_one_task_per_call(app, agent, sf):
    calls = [Dialer(agent, f"call-note-race-{n}") for n in range(3)]
    with background_worker(app):
        for dialer in calls:
            dialer.send(dialer.ringing(), dialer.answered())
        for dialer in calls:
            dialer.send(dialer.ended(duration=30))  # the worker starts logging it now...
            note(agent, dialer.call_id, "", "同時に書いたメモ")  # ...while the agent saves a note
        wait_until(lambda: all(call_record(app, d.call_id).status == "logged" for d in calls))
    for dialer in calls:
        task = logged_once(sf, dialer.call_id)
        assert task["IsClosed"] and "同時に書いたメモ" in task["Description"]
        assert task["Subject"] == "Call - Inbound / (1) min"


def test_a_note_after_the_call_was_logged_lands_on_the_logged_task(app, agent, sf):
    dialer = Dialer(agent, "call-late-note")
    dialer.send(*full_call(dialer))
    run_queued(app)
    note(agent, "call-late-note", "", "折り返し予定")
    task = logged_once(sf, "call-late-note")
    assert task["IsClosed"] and "折り返し予定" in task["Description"]


def test_a_note_on_a_call_whose_end_came_first_is_still_one_task(app, agent, sf):
    dialer = Dialer(agent, "call-end-then-note")
    ringing, answered, ended = full_call(dialer)
    dialer.send(ringing, ended)  # the job has not run yet when the agent writes
    note(agent, "call-end-then-note", "要約")
    run_queued(app)
    task = logged_once(sf, "call-end-then-note")
    assert task["IsClosed"] and task["Subject"] == "要約"  # the subject the agent typed


# -- internal and missed calls -------------------------------------------------------------------------------------

def test_internal_calls_are_not_logged(app, agent, sf):
    dialer = Dialer(agent, "call-internal", internal=True)
    dialer.send(*full_call(dialer))
    run_queued(app)
    assert call_tasks(sf, "call-internal") == []
    assert (call_record(app, "call-internal").status, call_record(app, "call-internal").outcome) == \
        ("skipped", "internal")


def test_internal_calls_are_logged_when_the_setting_enables_them(app, agent, sf):
    configure(app, PANEL_LOG_INTERNAL_CALLS=True)
    dialer = Dialer(agent, "call-internal-on", internal=True)
    dialer.send(*full_call(dialer))
    run_queued(app)
    assert logged_once(sf, "call-internal-on")["CallType"] == "Internal"


def test_a_missed_call_is_not_logged(app, agent, sf):
    dialer = Dialer(agent, "call-missed")
    dialer.send(dialer.ringing(), dialer.ended(answered=False, duration=0))
    run_queued(app)
    assert call_tasks(sf, "call-missed") == []
    assert call_record(app, "call-missed").outcome == "missed"


def test_a_missed_call_that_left_a_voicemail_is_logged_with_the_link(app, agent, sf):
    dialer = Dialer(agent, "call-voicemail")
    dialer.send(dialer.ringing(), dialer.ended(answered=False, duration=0, voicemail_url=VOICEMAIL))
    run_queued(app)
    task = logged_once(sf, "call-voicemail")
    assert task["Subject"] == "Voicemail - Inbound" and VOICEMAIL in task["Description"]


def test_missed_calls_are_logged_when_the_setting_enables_them(app, agent, sf):
    configure(app, PANEL_LOG_MISSED_CALLS="true")
    for direction, subject in (("inbound", "Missed call - Inbound"), ("outbound", "No answer - Outbound")):
        dialer = Dialer(agent, f"call-missed-{direction}", direction=direction)
        dialer.send(dialer.ringing(), dialer.ended(answered=False, duration=0))
        run_queued(app)
        task = logged_once(sf, dialer.call_id)
        assert task["Subject"] == subject and task["Status"] == "Completed"


# -- Salesforce failing -----------------------------------------------------------------------------------------------

def test_while_salesforce_fails_the_job_retries_later_and_logs_once_after_recovery(app, agent, sf, localorg):
    configure(app, PANEL_CALL_RETRY_BASE_S=0.2, PANEL_CALL_RETRY_CAP_S=0.5)
    dialer = Dialer(agent, "call-outage")
    localorg.admin("faults", error_rate=1, error_status=503)
    with background_worker(app):
        dialer.send(*full_call(dialer))
        wait_until(lambda: (getattr(call_record(app, "call-outage"), "attempts", 0) or 0) >= 3)
        assert call_record(app, "call-outage").status == "open"
        localorg.admin("faults", error_rate=0)
        wait_until(lambda: call_record(app, "call-outage").status == "logged")
        assert run_call(app, "call-outage") is None  # a late duplicate job finds nothing left to do
    task = logged_once(sf, "call-outage")
    assert task["Status"] == "Completed" and task["WhoId"] == YAMADA


@pytest.mark.parametrize("status", [401, 403, 500, 502, 503, 504])
@pytest.mark.parametrize("signed_in", [True, False], ids=["own-connection", "integration"])
def test_every_kind_of_salesforce_failure_is_retried_and_ends_in_one_task(app, client, localorg, status, signed_in):
    if signed_in:
        sign_in(client, localorg)
    call_id = f"call-fault-{status}-{signed_in}"
    dialer = Dialer(client, call_id)
    dialer.send(*full_call(dialer))
    localorg.admin("faults", error_rate=1, error_status=status)
    later = datetime.now(timezone.utc)
    for _attempt in range(3):
        later += timedelta(hours=2)
        assert run_call(app, call_id, now=later) is not None
    localorg.admin("faults", error_rate=0)
    sf = localorg.salesforce()
    assert call_tasks(sf, call_id) == []
    assert run_call(app, call_id, now=later + timedelta(hours=2)) is None
    task = logged_once(sf, call_id)
    assert task["Status"] == "Completed" and task["WhoId"] == YAMADA
    assert call_record(app, call_id).attempts == 0


@pytest.mark.parametrize("signed_in", [True, False], ids=["own-connection", "integration"])
def test_retrying_gives_up_into_the_review_queue_after_the_configured_time(app, client, localorg, signed_in):
    if signed_in:
        sign_in(client, localorg)
    configure(app, PANEL_CALL_RETRY_FOR_S=3600)
    dialer = Dialer(client, "call-gives-up")
    dialer.send(*full_call(dialer))
    localorg.admin("faults", error_rate=1, error_status=503)
    now = datetime.now(timezone.utc)
    assert run_call(app, "call-gives-up", now=now) is not None
    assert run_call(app, "call-gives-up", now=now + timedelta(hours=2)) is None
    record = call_record(app, "call-gives-up")
    assert record.status == "failed" and "gave up retrying" in record.last_error


def test_a_retry_comes_back_after_its_delay_not_at_once(app, agent, localorg):
    dialer = Dialer(agent, "call-backoff")
    dialer.send(*full_call(dialer))
    localorg.admin("faults", error_rate=1, error_status=503)
    delay = run_call(app, "call-backoff")
    assert delay is not None and delay >= 0
    record = call_record(app, "call-backoff")
    assert record.attempts == 1 and record.next_attempt_at is not None and record.last_error


@pytest.mark.parametrize("signed_in", [True, False], ids=["own-connection", "integration"])
def test_expired_tokens_are_refreshed_and_the_call_is_logged(app, client, localorg, signed_in):
    if signed_in:
        sign_in(client, localorg)
    earlier = Dialer(client, "call-before-expiry")
    earlier.send(*full_call(earlier))
    assert run_call(app, "call-before-expiry") is None  # the connection's token is now in use (and cached)
    dialer = Dialer(client, "call-expired")
    dialer.send(*full_call(dialer))
    localorg.admin("faults", expire_tokens=True)
    tokens_before = localorg.stats()["oauth"].get("token", 0)
    assert run_call(app, "call-expired") is None
    assert logged_once(localorg.salesforce(), "call-expired")["OwnerId"] == USER_IDS["agent"]
    assert localorg.stats()["oauth"].get("token", 0) > tokens_before
    assert call_record(app, "call-expired").attempts == 0


def test_a_task_whose_creation_answer_was_lost_is_found_not_created_again(app, agent, sf, lost_answers):
    armed, dropped = lost_answers
    armed.append(("POST", "/sobjects/Task"))
    dialer = Dialer(agent, "call-lost-answer")
    dialer.send(*full_call(dialer, recording_url=RECORDING))
    assert run_call(app, "call-lost-answer") is not None  # unknown outcome: try again later
    assert dropped and len(call_tasks(sf, "call-lost-answer")) == 1
    created = call_tasks(sf, "call-lost-answer")[0]["Id"]
    assert run_call(app, "call-lost-answer", now=datetime.now(timezone.utc) + timedelta(minutes=5)) is None
    task = logged_once(sf, "call-lost-answer")
    assert task["Id"] == created and task["Status"] == "Completed"
    assert task["Description"].count(RECORDING) == 1
    assert call_record(app, "call-lost-answer").task_id == created



def test_with_an_external_id_field_a_lost_answer_is_upserted_not_duplicated(app, agent, sf, lost_answers):
    armed, dropped = lost_answers
    configure(app, PANEL_CALL_EXTERNAL_ID_FIELD="Panel_Call_Key__c")
    armed.append(("PATCH", "/Panel_Call_Key__c/call-upsert"))
    dialer = Dialer(agent, "call-upsert")
    dialer.send(*full_call(dialer))
    assert run_call(app, "call-upsert") is not None and dropped
    assert run_call(app, "call-upsert", now=datetime.now(timezone.utc) + timedelta(minutes=5)) is None
    task = logged_once(sf, "call-upsert")
    assert task["Status"] == "Completed"
    assert sf.query(f"SELECT Panel_Call_Key__c FROM Task WHERE Id = '{task['Id']}'")["records"][0][
        "Panel_Call_Key__c"] == "call-upsert"


def test_a_note_whose_answer_was_lost_is_not_a_second_task(app, agent, sf, lost_answers):
    armed, dropped = lost_answers
    dialer = Dialer(agent, "call-note-lost")
    dialer.send(dialer.ringing(), dialer.answered())
    run_queued(app)
    armed.append(("POST", "/sobjects/Task"))
    form = agent.get(f"/panel/records/{YAMADA}/tasks/new?record_type=Contact&call_id=call-note-lost",
                     headers=HX).text
    lost = agent.post(f"/panel/records/{YAMADA}/tasks", headers=HX, data={
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', form).group(1), "record_type": "Contact",
        "active_call_id": "call-note-lost", "call_id": "call-note-lost", "notes": "最初のメモ"})
    assert lost.status_code == 503 and dropped  # the agent is told to try again; the Task exists all the same
    note(agent, "call-note-lost", "", "二つ目のメモ")
    dialer.send(dialer.ended())
    run_queued(app)
    task = logged_once(sf, "call-note-lost")
    assert task["IsClosed"] and "最初のメモ" in task["Description"] and "二つ目のメモ" in task["Description"]


def test_a_lost_job_is_found_by_the_sweep_and_the_call_still_logged_once(app, agent, sf):
    from panel.calls import jobs

    dialer = Dialer(agent, "call-lost-job")
    dialer.send(*full_call(dialer))
    jobs.huey.flush()  # the queue lost every job (a Redis restart without persistence, say)
    assert call_tasks(sf, "call-lost-job") == []
    assert sweep(app) == []  # within the grace period a job may still be on its way
    assert sweep(app, now=datetime.now(timezone.utc) + timedelta(minutes=3)) == ["call-lost-job"]
    run_queued(app)
    assert logged_once(sf, "call-lost-job")["Status"] == "Completed"


def test_a_calls_events_arriving_while_its_job_waits_are_logged_by_that_one_job(app, agent, sf):
    dialer = Dialer(agent, "call-one-job")
    dialer.send(*full_call(dialer))  # ringing, answered and ended before any worker got to the call
    assert run_queued(app) == 1
    assert logged_once(sf, "call-one-job")["CallDurationInSeconds"] == 95
    dialer.send(dialer.ended(duration=120, event_id="call-one-job:ended:again"))  # a later event queues a new job
    assert run_queued(app) == 1


def test_a_waiting_job_lost_with_its_worker_does_not_keep_the_calls_later_events_from_being_logged(app, agent, sf):
    from panel.calls import jobs

    dialer = Dialer(agent, "call-lost-waiting-job")
    dialer.send(dialer.ringing())
    jobs.huey.storage.flush_queue()  # the worker took the job and died before starting it
    dialer.send(dialer.answered(), dialer.ended())
    assert run_queued(app) == 0  # the call still counts as having a job on its way
    assert sweep(app, now=datetime.now(timezone.utc) + timedelta(minutes=3)) == ["call-lost-waiting-job"]
    assert run_queued(app) == 1
    assert logged_once(sf, "call-lost-waiting-job")["Status"] == "Completed"


# -- a call whose end never comes -----------------------------------------------------------------------------------

def test_a_call_without_an_end_is_closed_after_the_timeout_and_marked(app, agent, sf):
    configure(app, PANEL_CALL_TIMEOUT_S=3600)
    dialer = Dialer(agent, "call-no-end")
    dialer.send(dialer.ringing(), dialer.answered())
    run_queued(app)
    assert call_tasks(sf, "call-no-end") == []
    later = datetime.now(timezone.utc) + timedelta(hours=2)
    assert "call-no-end" in sweep(app, now=later)
    run_call(app, "call-no-end", now=later)
    task = logged_once(sf, "call-no-end")
    assert task["Status"] == "Completed" and "1 h" in task["Description"]
    assert call_record(app, "call-no-end").timed_out

    dialer.send(dialer.ended(duration=300))  # the real end turns up after all: the same Task is corrected
    run_call(app, "call-no-end", now=later)
    corrected = logged_once(sf, "call-no-end")
    assert corrected["Id"] == task["Id"] and corrected["CallDurationInSeconds"] == 300
    assert not call_record(app, "call-no-end").timed_out


# -- no connection yet ------------------------------------------------------------------------------------------------

def test_without_any_usable_connection_the_call_waits_until_one_exists(app, client, sf, localorg):
    import dataclasses

    working = app.extensions["panel.oauth_settings"]
    app.extensions["panel.oauth_settings"] = dataclasses.replace(working, client_secret="revoked-by-an-admin")
    dialer = Dialer(client, "call-waits")
    dialer.send(*full_call(dialer))
    delay = run_call(app, "call-waits")
    assert delay is not None and delay >= 60
    assert call_tasks(sf, "call-waits") == [] and call_record(app, "call-waits").status == "open"
    assert "waiting for a Salesforce connection" in call_record(app, "call-waits").last_error

    app.extensions["panel.oauth_settings"] = working
    sign_in(client, localorg)  # the agent signs in to the panel: their own connection exists now
    assert run_call(app, "call-waits", now=datetime.now(timezone.utc) + timedelta(seconds=delay + 1)) is None
    assert logged_once(sf, "call-waits")["OwnerId"] == USER_IDS["agent"]


# -- the production worker --------------------------------------------------------------------------------------------

def test_the_worker_command_logs_calls_the_web_process_queued(localorg, tmp_path, sf):
    from panel import create_app

    database = tmp_path / "panel.sqlite3"
    queue = tmp_path / "jobs.sqlite3"
    settings = {"SECRET_KEY": "worker-test-key", "LOCALORG_URL": localorg.url, "DATABASE_URL": f"sqlite:///{database}",
                "PANEL_JOBS_SQLITE": str(queue)}
    web = create_app({"TESTING": True, **settings, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
                      "CACHE_TYPE": "SimpleCache"})
    client = web.test_client()
    dialer = Dialer(client, "call-worker", agent="agent2@example.com")
    dialer.send(*full_call(dialer))
    environment = {**os.environ, **settings, "PANEL_WORKER_THREADS": "1"}
    environment.pop("PANEL_JOBS_MEMORY", None)
    worker = subprocess.Popen([sys.executable, "-m", "panel.worker"], env=environment, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: len(call_tasks(sf, "call-worker")) == 1, timeout_s=30, interval_s=0.2)
    except AssertionError:
        worker.kill()
        raise AssertionError(worker.communicate(timeout=20)[0]) from None
    worker.terminate()
    output, _ = worker.communicate(timeout=20)
    assert logged_once(sf, "call-worker")["OwnerId"] == USER_IDS["agent2"]
    assert worker.returncode == 0, output
    assert "03-1234-5678" not in output  # no phone numbers in the logs
    from panel.extensions import db

    with web.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("threads", ["0", "many", "65"])
def test_the_worker_refuses_a_bad_thread_count_with_a_clear_message(capsys, threads):
    from panel import worker

    assert worker.main(["--threads", threads]) == 2
    assert "PANEL_WORKER_THREADS" in capsys.readouterr().err


def test_the_worker_refuses_the_in_memory_queue_no_web_process_could_reach(monkeypatch, capsys, localorg, tmp_path):
    from panel import create_app, worker

    monkeypatch.setattr("panel.create_app", lambda overrides=None: create_app({
        "PANEL_JOBS_MEMORY": True, "LOCALORG_URL": localorg.url, "SECRET_KEY": "k",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'panel.sqlite3'}"}))
    assert worker.main([]) == 2
    assert "PANEL_JOBS_MEMORY" in capsys.readouterr().err
