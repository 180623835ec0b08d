"""What the agent types during a call is what Salesforce shows: the subject typed on the task form is the call
Task's subject, the notes are its description, end to end through the task form, the native webhook and the logging
job, against the local org (issue 16, item 3; docs/tasks.md, docs/call-events.md "The Task's subject").

The seeded agents use Salesforce in Japanese, so unless a test says otherwise the Task's texts are Japanese
(`logging_rules.task_language`), whatever language the panel's page is in.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from calls_support import Dialer, call_record, call_tasks, configure, post_note, run_call, run_queued
from tests.conftest import sign_in  # not `conftest`: that name is whichever folder's conftest pytest loaded last
from panel.localorg.seed import IDS

YAMADA = IDS["contact.yamada_taro"]
HX = {"HX-Request": "true"}
FIRST, SECOND = "agent@example.com", "agent2@example.com"


def form_during(client, call_id: str) -> str:
    response = client.get(f"/panel/records/{YAMADA}/tasks/new?record_type=Contact&call_id={call_id}", headers=HX)
    assert response.status_code == 200, response.text
    return response.text



def saved(response) -> None:
    assert response.status_code == 200, response.text


def the_task(sf, call_id: str) -> dict:
    tasks = call_tasks(sf, call_id)
    assert len(tasks) == 1, tasks
    return tasks[0]


def answered_call(app, client, call_id: str) -> Dialer:
    dialer = Dialer(client, call_id)
    dialer.send(dialer.ringing(), dialer.answered())
    run_queued(app)
    return dialer


def later(seconds: float = 30) -> datetime:
    return datetime.now(timezone.utc) + timedelta(seconds=seconds)


# -- the subject typed during the call ------------------------------------------------------------------------------

def test_the_subject_typed_during_a_call_is_the_tasks_subject_and_the_notes_its_description(
        app, signed_in_client, sf):
    dialer = answered_call(app, signed_in_client, "call-typed")
    saved(post_note(signed_in_client, "call-typed", "見積の再送依頼", "来週までに送付"))
    during = the_task(sf, "call-typed")
    assert (during["Subject"], during["IsClosed"]) == ("見積の再送依頼", False)
    assert "来週までに送付" in during["Description"] and "見積の再送依頼" not in during["Description"]

    dialer.send(dialer.ended(duration=95))
    run_queued(app)
    logged = the_task(sf, "call-typed")
    assert logged["Id"] == during["Id"] and logged["IsClosed"]
    assert logged["Subject"] == "見積の再送依頼"  # not 通話 - 着信 / (2)分: the call's facts are in the call fields
    assert (logged["CallType"], logged["CallDurationInSeconds"], logged["TaskSubtype"]) == ("Inbound", 95, "Call")
    assert "来週までに送付" in logged["Description"] and "見積の再送依頼" not in logged["Description"]


def test_the_subject_is_optional_during_a_call_and_the_task_then_has_the_calls_subject(app, client, localorg, sf):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ja"  # the agent's panel in Japanese, as in the issue
    sign_in(client, localorg)
    dialer = answered_call(app, client, "call-untitled")
    form = form_during(client, "call-untitled")
    subject_input = re.search(r'<input id="task-subject"[^>]*>', form).group(0)
    assert " required" not in subject_input and 'aria-describedby="task-subject-hint"' in subject_input
    assert 'id="task-subject-hint"' in form

    saved(post_note(client, "call-untitled", "", "住所変更の連絡あり"))
    during = the_task(sf, "call-untitled")
    assert during["Subject"] == "通話"  # the notes Task in the Task's language: never "Call" in a Japanese org
    assert "住所変更の連絡あり" in during["Description"]

    dialer.send(dialer.ended(duration=95))
    run_queued(app)
    assert the_task(sf, "call-untitled")["Subject"] == "通話 - 着信 / (2)分"


def test_the_notes_task_follows_the_configured_task_language(app, signed_in_client, sf):
    configure(app, PANEL_TASK_LANGUAGE="en")
    answered_call(app, signed_in_client, "call-untitled-en")
    saved(post_note(signed_in_client, "call-untitled-en", "", "Moved office"))
    assert the_task(sf, "call-untitled-en")["Subject"] == "Call"


def test_a_note_with_neither_subject_nor_notes_is_refused_next_to_the_subject_and_nothing_is_written(
        app, signed_in_client, sf):
    answered_call(app, signed_in_client, "call-empty-note")
    refused = post_note(signed_in_client, "call-empty-note", "", "   ")
    assert refused.status_code == 422
    assert 'data-error-for="subject"' in refused.text and "Enter a subject or notes for the call." in refused.text
    assert call_tasks(sf, "call-empty-note") == []


def test_a_later_subject_renames_the_task_and_a_note_without_one_keeps_it(app, signed_in_client, sf):
    dialer = answered_call(app, signed_in_client, "call-renamed-twice")
    saved(post_note(signed_in_client, "call-renamed-twice", "見積の依頼"))
    saved(post_note(signed_in_client, "call-renamed-twice", "見積と納期の依頼", "納期は来月"))
    saved(post_note(signed_in_client, "call-renamed-twice", "", "担当者は鈴木さん"))
    dialer.send(dialer.ended(duration=30))
    run_queued(app)
    task = the_task(sf, "call-renamed-twice")
    assert task["Subject"] == "見積と納期の依頼"
    assert "納期は来月" in task["Description"] and "担当者は鈴木さん" in task["Description"]


def test_a_subject_typed_after_the_call_was_logged_becomes_the_logged_tasks_subject(app, signed_in_client, sf):
    dialer = answered_call(app, signed_in_client, "call-titled-later")
    dialer.send(dialer.ended(duration=95))
    run_queued(app)
    assert the_task(sf, "call-titled-later")["Subject"] == "通話 - 着信 / (2)分"
    saved(post_note(signed_in_client, "call-titled-later", "折り返しの約束", "明日10時"))
    task = the_task(sf, "call-titled-later")
    assert (task["Subject"], task["IsClosed"]) == ("折り返しの約束", True)
    assert "明日10時" in task["Description"]


# -- PANEL_TASK_SUBJECT_TEMPLATE's {subject} ------------------------------------------------------------------------

def test_the_template_puts_what_the_agent_typed_in_its_subject_placeholder(app, signed_in_client, sf):
    configure(app, PANEL_TASK_SUBJECT_TEMPLATE="{subject} ({outcome} {minutes}分)")
    dialer = answered_call(app, signed_in_client, "call-template-typed")
    saved(post_note(signed_in_client, "call-template-typed", "見積の再送依頼"))
    assert the_task(sf, "call-template-typed")["Subject"] == "見積の再送依頼"  # the minutes are not known yet
    dialer.send(dialer.ended(duration=95))
    run_queued(app)
    assert the_task(sf, "call-template-typed")["Subject"] == "見積の再送依頼 (通話 2分)"

    untyped = Dialer(signed_in_client, "call-template-untyped")
    untyped.send(untyped.ringing(), untyped.answered(), untyped.ended(duration=95))
    run_queued(app)
    assert the_task(sf, "call-template-untyped")["Subject"] == "(通話 2分)"


# -- nothing later overwrites it ------------------------------------------------------------------------------------

@pytest.mark.parametrize("template, first, corrected", [
    (None, "Invoice question", "Invoice question"),
    ("{subject} ({minutes} min)", "Invoice question (1 min)", "Invoice question (3 min)"),
])
def test_a_leg_reported_after_the_task_was_written_keeps_the_typed_subject(app, localorg, sf, template, first,
                                                                           corrected):
    configure(app, PANEL_TASK_LANGUAGE="en", PANEL_TASK_SUBJECT_TEMPLATE=template)
    agent = app.test_client()
    agent.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    sign_in(agent, localorg, FIRST)
    dialer = Dialer(agent, "call-typed-transfer")
    dialer.send(dialer.event("call.ringing", at_s=0, leg_id="leg-a", agent_email=FIRST),
                dialer.event("call.answered", at_s=5, leg_id="leg-a", agent_email=FIRST))
    run_call(app, dialer.call_id)
    saved(post_note(agent, dialer.call_id, "Invoice question", "Wants a copy"))
    dialer.send(dialer.event("call.ended", at_s=65, leg_id="leg-a", agent_email=FIRST, answered=True,
                             duration_seconds=60))
    run_call(app, dialer.call_id, now=later())
    assert the_task(sf, dialer.call_id)["Subject"] == first

    dialer.send(dialer.event("call.ringing", at_s=66, leg_id="leg-b", agent_email=SECOND),
                dialer.event("call.answered", at_s=70, leg_id="leg-b", agent_email=SECOND),
                dialer.event("call.ended", at_s=170, leg_id="leg-b", agent_email=SECOND, answered=True,
                             duration_seconds=100))
    run_call(app, dialer.call_id, now=later())
    task = the_task(sf, dialer.call_id)
    assert (task["Subject"], task["CallDurationInSeconds"]) == (corrected, 160)
    assert call_record(app, dialer.call_id).task_subject == corrected


def test_a_reviewers_retry_keeps_the_typed_subject(app, signed_in_client, localorg, sf):
    configure(app, PANEL_REVIEWERS="reviewer@example.com", PANEL_CALL_RETRY_FOR_S=0)
    dialer = answered_call(app, signed_in_client, "call-typed-review")
    saved(post_note(signed_in_client, "call-typed-review", "請求書の再発行"))
    dialer.send(dialer.ended(duration=95))
    localorg.admin("faults", error_rate=1, error_status=503)
    try:
        run_call(app, dialer.call_id)
        run_call(app, dialer.call_id, now=later(60))  # retried past PANEL_CALL_RETRY_FOR_S: a reviewer's turn
    finally:
        localorg.admin("faults")
    assert call_record(app, dialer.call_id).status == "failed"

    reviewer = app.test_client()
    reviewer.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    sign_in(reviewer, localorg, "reviewer@example.com")
    page = reviewer.get("/review").text
    item = re.search(r'<li id="review-item-(\d+)"[^>]*\s+data-call-id="call-typed-review"', page).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert reviewer.post(f"/review/items/{item}/retry", headers=HX, data={"csrf_token": token}).status_code == 200
    run_queued(app)
    task = the_task(sf, dialer.call_id)
    assert (task["Subject"], task["IsClosed"], task["CallDurationInSeconds"]) == ("請求書の再発行", True, 95)


def test_a_subject_typed_with_a_note_salesforce_did_not_take_is_not_kept(app, signed_in_client, localorg, sf):
    """The form said the note failed: the call's end does not write its subject either."""
    dialer = answered_call(app, signed_in_client, "call-typed-failed")
    saved(post_note(signed_in_client, "call-typed-failed", "", "最初のメモ"))
    localorg.admin("faults", error_rate=1, error_status=503)
    try:
        failed = post_note(signed_in_client, "call-typed-failed", "取り消したい件名", "届かないメモ")
    finally:
        localorg.admin("faults", error_rate=0)
    assert failed.status_code >= 400
    dialer.send(dialer.ended(duration=95))
    run_queued(app)
    logged = the_task(sf, "call-typed-failed")
    assert logged["IsClosed"] and logged["Subject"] != "取り消したい件名"
    assert call_record(app, "call-typed-failed").agent_subject is None


def test_a_long_subject_typed_during_a_call_is_cut_to_what_salesforce_holds(app, signed_in_client, sf):
    answered_call(app, signed_in_client, "call-typed-long")
    typed = "📞" * 200  # 400 UTF-16 code units, as Salesforce counts a Subject's 255
    response = post_note(signed_in_client, "call-typed-long", typed, "メモ")
    saved(response)
    subject = the_task(sf, "call-typed-long")["Subject"]
    assert subject.startswith("📞") and len(subject.encode("utf-16-le")) // 2 <= 255
