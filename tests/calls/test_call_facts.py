"""Facts that arrive after the call (recordings, transcripts, summaries) end in the call's one Task, against the
local org: whatever their order relative to `call.ended`, however often they are delivered, each is written once.

Events go through the panel's signed webhook (`call.recording`, `call.transcript`, `call.summary`); the logging job
runs as a worker runs it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from calls_support import Dialer, call_record, call_tasks, configure, run_call
from tests.conftest import sign_in  # not `conftest`: that name is whichever folder's conftest pytest loaded last
from panel.localorg.seed import IDS

YAMADA = IDS["contact.yamada_taro"]
RECORDING = "https://dialer.example.com/recordings/7f3a"
VOICEMAIL = "https://dialer.example.com/voicemail/9b1c"
SUMMARY = "The customer asked for the March invoice again; sent it by e-mail."
HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def english_tasks(app):
    configure(app, PANEL_TASK_LANGUAGE="en")


def logged_once(sf, call_id: str) -> dict:
    tasks = call_tasks(sf, call_id)
    assert len(tasks) == 1, tasks
    return tasks[0]


def call(dialer: Dialer, **end) -> list[dict]:
    return [dialer.ringing(), dialer.answered(), dialer.ended(duration=95, **end)]


def recording(dialer: Dialer, url: str = RECORDING, **extra) -> dict:
    return dialer.event("call.recording", at_s=200, recording_url=url, **extra)


def summary(dialer: Dialer, text: str = SUMMARY) -> dict:
    return dialer.event("call.summary", at_s=300, summary=text)


def test_a_recording_and_a_summary_before_the_end_are_in_the_task_when_it_is_written(app, client, sf):
    dialer = Dialer(client, "call-facts-first")
    ringing, answered, ended = call(dialer)
    dialer.send(ringing, answered, recording(dialer), summary(dialer))
    run_call(app, "call-facts-first")
    assert call_tasks(sf, "call-facts-first") == []  # not over yet
    dialer.send(ended)
    run_call(app, "call-facts-first")
    description = logged_once(sf, "call-facts-first")["Description"]
    assert f"Recording: {RECORDING}" in description
    assert f"Summary:\n{SUMMARY}" in description


def test_a_summary_after_the_task_was_written_is_appended_to_that_same_task_once(app, client, sf):
    dialer = Dialer(client, "call-facts-after")
    dialer.send(*call(dialer))
    run_call(app, "call-facts-after")
    before = logged_once(sf, "call-facts-after")
    assert SUMMARY not in (before["Description"] or "")

    dialer.send(summary(dialer), recording(dialer))
    run_call(app, "call-facts-after")
    dialer.send(summary(dialer), recording(dialer))  # delivered again, as new events: the same facts
    run_call(app, "call-facts-after")
    after = logged_once(sf, "call-facts-after")
    assert after["Id"] == before["Id"]
    assert after["Description"].count(SUMMARY) == 1 and after["Description"].count(RECORDING) == 1
    assert (after["Subject"], after["CallDurationInSeconds"], after["WhoId"]) == (
        before["Subject"], before["CallDurationInSeconds"], before["WhoId"])
    assert call_record(app, "call-facts-after").status == "logged"


def test_the_recording_the_end_already_named_is_not_written_twice(app, client, sf):
    dialer = Dialer(client, "call-same-recording")
    dialer.send(*call(dialer, recording_url=RECORDING), recording(dialer))
    run_call(app, "call-same-recording")
    assert logged_once(sf, "call-same-recording")["Description"].count(RECORDING) == 1


def test_a_fact_already_in_the_description_is_not_appended_again_after_a_lost_commit(app, client, sf):
    from panel.calls import ledger
    from panel.extensions import db

    dialer = Dialer(client, "call-lost-commit")
    dialer.send(*call(dialer), summary(dialer))
    run_call(app, "call-lost-commit")
    with app.app_context():  # the job died after Salesforce took the update, before the row said so
        record = ledger.find_call("call-lost-commit")
        record.facts_written, record.status = None, "logged"
        db.session.commit()
    run_call(app, "call-lost-commit")
    assert logged_once(sf, "call-lost-commit")["Description"].count(SUMMARY) == 1


def test_a_fact_of_a_call_no_event_has_reported_waits_for_the_call(app, client, sf):
    dialer = Dialer(client, "call-fact-alone")
    dialer.send(summary(dialer))
    assert run_call(app, "call-fact-alone") is None
    assert call_tasks(sf, "call-fact-alone") == [] and call_record(app, "call-fact-alone").status == "open"
    dialer.send(*call(dialer))
    run_call(app, "call-fact-alone")
    assert SUMMARY in logged_once(sf, "call-fact-alone")["Description"]


def test_a_fact_whose_call_never_comes_is_closed_on_the_timeout_and_not_logged(app, client, sf):
    dialer = Dialer(client, "call-fact-orphan")
    dialer.send(summary(dialer))
    run_call(app, "call-fact-orphan", now=datetime.now(timezone.utc) + timedelta(hours=5))
    assert call_tasks(sf, "call-fact-orphan") == []
    record = call_record(app, "call-fact-orphan")
    assert record.status == "skipped" and record.timed_out


def test_a_long_transcript_is_shortened_to_fit_and_the_links_are_kept(app, client, sf):
    dialer = Dialer(client, "call-long-transcript")
    transcript = "Agent: hello. " * 2280  # 31,920 characters: with the other lines, more than fits
    dialer.send(*call(dialer, recording_url=RECORDING),
                dialer.event("call.transcript", at_s=400, transcript=transcript),
                summary(dialer))
    run_call(app, "call-long-transcript")
    description = logged_once(sf, "call-long-transcript")["Description"]
    assert len(description) <= 32_000
    assert f"Recording: {RECORDING}" in description and SUMMARY in description
    assert "Transcript:\nAgent: hello." in description and description.endswith("…")


def test_a_transcript_link_is_a_labelled_line(app, client, sf):
    dialer = Dialer(client, "call-transcript-link")
    dialer.send(*call(dialer), dialer.event("call.transcript", at_s=400,
                                            transcript_url="https://dialer.example.com/t/7f3a"))
    run_call(app, "call-transcript-link")
    assert "Transcript: https://dialer.example.com/t/7f3a" in logged_once(sf, "call-transcript-link")["Description"]


def test_facts_are_labelled_in_the_tasks_language(app, client, sf):
    configure(app, PANEL_TASK_LANGUAGE="ja")
    dialer = Dialer(client, "call-facts-ja")
    dialer.send(*call(dialer), recording(dialer), summary(dialer, "請求書の再送を依頼された。"))
    run_call(app, "call-facts-ja")
    description = logged_once(sf, "call-facts-ja")["Description"]
    assert f"録音: {RECORDING}" in description and "要約:\n請求書の再送を依頼された。" in description


def test_a_voicemail_after_a_missed_call_gets_the_call_logged(app, client, sf):
    dialer = Dialer(client, "call-missed-voicemail")
    dialer.send(dialer.ringing(), dialer.ended(answered=False, duration=0))
    run_call(app, "call-missed-voicemail")
    assert call_tasks(sf, "call-missed-voicemail") == []
    dialer.send(dialer.event("call.recording", at_s=60, voicemail_url=VOICEMAIL))
    run_call(app, "call-missed-voicemail")
    task = logged_once(sf, "call-missed-voicemail")
    assert task["Subject"] == "Voicemail - Inbound" and f"Voicemail: {VOICEMAIL}" in task["Description"]


def test_a_recording_of_a_missed_call_that_is_not_logged_stays_unlogged(app, client, sf):
    dialer = Dialer(client, "call-missed-recording")
    dialer.send(dialer.ringing(), dialer.ended(answered=False, duration=0))
    run_call(app, "call-missed-recording")
    dialer.send(recording(dialer), summary(dialer))
    run_call(app, "call-missed-recording")
    assert call_tasks(sf, "call-missed-recording") == []
    assert call_record(app, "call-missed-recording").status == "skipped"


def test_a_fact_of_a_call_in_review_is_written_when_the_reviewer_decides(app, client, localorg, sf):
    dialer = Dialer(client, "call-review-fact", number="03-9999-0000")  # nobody's number: the review queue
    dialer.send(*call(dialer))
    run_call(app, "call-review-fact")
    dialer.send(summary(dialer))
    run_call(app, "call-review-fact")
    assert call_tasks(sf, "call-review-fact") == []

    reviewer = app.test_client()
    reviewer.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    sign_in(reviewer, localorg, "reviewer@example.com")
    page = reviewer.get("/review").text
    item = re.search(r'<li id="review-item-(\d+)"[^>]*\s+data-call-id="call-review-fact"', page).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert reviewer.post(f"/review/items/{item}/pick", headers=HX,
                         data={"csrf_token": token, "record_id": YAMADA}).status_code == 200
    run_call(app, "call-review-fact")
    assert SUMMARY in logged_once(sf, "call-review-fact")["Description"]
