"""/review: the calls a person must decide on, resolved exactly once, with who decided what and when."""

from __future__ import annotations

import re
import threading

import pytest

from calls_support import Dialer, call_record, call_tasks, run_queued
from tests.conftest import sign_in  # not `conftest`: that name is whichever folder's conftest pytest loaded last
from panel.localorg.seed import IDS

HX = {"HX-Request": "true"}
SHARED = "06-6123-4567"  # contact.yoshida_sho and contact.yoshida_aya
SHO, AYA = IDS["contact.yoshida_sho"], IDS["contact.yoshida_aya"]


@pytest.fixture
def reviewer(app, localorg):
    browser = app.test_client()
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    sign_in(browser, localorg, "reviewer@example.com")
    return browser


def waiting_call(app, client, call_id: str, number: str = SHARED, **dialer) -> Dialer:
    """An ended call the logging job could not place: it is in the review queue."""
    call = Dialer(client, call_id, number=number, **dialer)
    call.send(call.ringing(), call.answered(), call.ended(duration=70))
    run_queued(app)
    assert call_record(app, call_id).status in ("needs_review", "failed")
    return call


def item_id(page: str, call_id: str) -> str:
    found = re.search(rf'<li id="review-item-(\d+)"[^>]*\s+data-call-id="{re.escape(call_id)}"', page)
    assert found, f"{call_id} is not in the queue"
    return found.group(1)


def token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def queue_of(page: str) -> str:
    return page.split('id="review-queue"', 1)[1].split('id="review-history"', 1)[0]


# -- what the queue shows ---------------------------------------------------------------------------------------------

def test_an_ambiguous_call_is_listed_with_its_facts_and_candidates(app, client, reviewer, sf):
    waiting_call(app, client, "call-ambiguous")
    response = reviewer.get("/review")
    assert response.status_code == 200
    page = response.text
    assert 'id="review-queue"' in page
    entry = queue_of(page)
    assert 'data-call-id="call-ambiguous"' in entry and 'data-reason="several"' in entry
    assert "Several records match" in entry and SHARED in entry and "agent@example.com" in entry
    assert f'data-record-id="{SHO}"' in entry and f'data-record-id="{AYA}"' in entry
    assert call_tasks(sf, "call-ambiguous") == []


def test_the_review_page_has_no_inline_script_or_style(reviewer):
    page = reviewer.get("/review").text
    assert "<style" not in page and not re.search(r"<script(?![^>]*\bsrc=)", page)


# -- resolving --------------------------------------------------------------------------------------------------------

def test_picking_a_candidate_logs_the_call_once_against_it_and_keeps_who_decided(app, client, reviewer, sf):
    waiting_call(app, client, "call-pick-me")
    page = reviewer.get("/review").text
    number = item_id(page, "call-pick-me")
    response = reviewer.post(f"/review/items/{number}/pick", headers=HX,
                             data={"csrf_token": token(page), "record_id": AYA})
    assert response.status_code == 200 and "reviewer@example.com" in response.text
    run_queued(app)
    tasks = call_tasks(sf, "call-pick-me")
    assert len(tasks) == 1 and tasks[0]["WhoId"] == AYA and tasks[0]["Status"] == "Completed"
    assert tasks[0]["Subject"] == "通話 - 着信 / (2)分"  # the agent's Salesforce language
    assert call_record(app, "call-pick-me").record_source == "reviewer"

    after = reviewer.get("/review").text
    assert 'data-call-id="call-pick-me"' not in queue_of(after)
    history = after.split('id="review-history"', 1)[1]
    assert 'data-call-id="call-pick-me"' in history and "reviewer@example.com" in history
    assert f'data-record-id="{AYA}"' in history

    again = reviewer.post(f"/review/items/{number}/pick", headers=HX,
                          data={"csrf_token": token(page), "record_id": SHO})
    assert again.status_code == 409
    run_queued(app)
    assert [t["WhoId"] for t in call_tasks(sf, "call-pick-me")] == [AYA]


def test_a_call_nobody_matches_can_be_logged_against_a_new_lead(app, client, reviewer, sf):
    waiting_call(app, client, "call-stranger-number", number="03-9999-0000")
    page = reviewer.get("/review").text
    number = item_id(page, "call-stranger-number")
    assert 'data-reason="none"' in queue_of(page)
    response = reviewer.post(f"/review/items/{number}/lead", headers=HX, data={
        "csrf_token": token(page), "LastName": "新規", "Company": "未登録株式会社", "Phone": "03-9999-0000"})
    assert response.status_code == 200, response.text
    run_queued(app)
    tasks = call_tasks(sf, "call-stranger-number")
    assert len(tasks) == 1
    lead = sf.Lead.get(tasks[0]["WhoId"])
    assert (lead["LastName"], lead["Company"]) == ("新規", "未登録株式会社")
    assert tasks[0]["WhatId"] is None


def test_a_lead_without_its_required_fields_is_refused_next_to_them(app, client, reviewer, sf):
    waiting_call(app, client, "call-lead-missing", number="03-9999-0000")
    page = reviewer.get("/review").text
    number = item_id(page, "call-lead-missing")
    response = reviewer.post(f"/review/items/{number}/lead", headers=HX,
                             data={"csrf_token": token(page), "LastName": "", "Company": "", "FirstName": "太郎"})
    assert response.status_code == 422
    assert 'data-error-for="LastName"' in response.text and 'data-error-for="Company"' in response.text
    assert 'value="太郎"' in response.text
    assert call_record(app, "call-lead-missing").status == "needs_review"


def test_searching_finds_another_record_to_log_against(app, client, reviewer, sf):
    waiting_call(app, client, "call-search", number="03-9999-0000")
    page = reviewer.get("/review").text
    number = item_id(page, "call-search")
    found = reviewer.get(f"/review/items/{number}/search?q=山田", headers=HX)
    assert found.status_code == 200 and f'data-record-id="{IDS["contact.yamada_taro"]}"' in found.text
    reviewer.post(f"/review/items/{number}/pick", headers=HX,
                  data={"csrf_token": token(page), "record_id": IDS["account.yamada_shoji"]})
    run_queued(app)
    tasks = call_tasks(sf, "call-search")
    assert len(tasks) == 1 and tasks[0]["WhatId"] == IDS["account.yamada_shoji"] and tasks[0]["WhoId"] is None


@pytest.mark.parametrize("record_id", ["not-an-id", IDS["user.agent"], ""])
def test_a_pick_that_is_not_a_loggable_record_is_a_400_naming_the_field(app, client, reviewer, record_id):
    waiting_call(app, client, "call-bad-pick")
    page = reviewer.get("/review").text
    response = reviewer.post(f"/review/items/{item_id(page, 'call-bad-pick')}/pick", headers=HX,
                             data={"csrf_token": token(page), "record_id": record_id})
    assert response.status_code == 400 and 'data-error-for="record_id"' in response.text
    assert call_record(app, "call-bad-pick").status == "needs_review"


def test_dismissing_a_call_logs_nothing(app, client, reviewer, sf):
    waiting_call(app, client, "call-dismiss")
    page = reviewer.get("/review").text
    response = reviewer.post(f"/review/items/{item_id(page, 'call-dismiss')}/dismiss", headers=HX,
                             data={"csrf_token": token(page)})
    assert response.status_code == 200 and "Dismissed" in response.text
    run_queued(app)
    assert call_tasks(sf, "call-dismiss") == []
    assert (call_record(app, "call-dismiss").status, call_record(app, "call-dismiss").outcome) == \
        ("skipped", "dismissed")


def test_a_permanent_error_is_shown_and_a_retry_after_the_fix_logs_the_call_once(app, client, reviewer, sf):
    app.config["PANEL_CALL_EXTERNAL_ID_FIELD"] = "Missing_Key__c"  # an admin's typo: Salesforce refuses the Task
    waiting_call(app, client, "call-refused", number="03-1234-5678")
    assert call_record(app, "call-refused").status == "failed"
    page = reviewer.get("/review").text
    entry = queue_of(page)
    assert 'data-reason="error"' in entry and 'class="review-error"' in entry and "Missing_Key__c" in entry
    app.config["PANEL_CALL_EXTERNAL_ID_FIELD"] = "Panel_Call_Key__c"
    response = reviewer.post(f"/review/items/{item_id(page, 'call-refused')}/retry", headers=HX,
                             data={"csrf_token": token(page)})
    assert response.status_code == 200
    run_queued(app)
    tasks = call_tasks(sf, "call-refused")
    assert len(tasks) == 1 and tasks[0]["WhoId"] == IDS["contact.yamada_taro"]


def test_an_agent_note_naming_the_record_resolves_the_waiting_call(app, signed_in_client, reviewer, sf):
    waiting_call(app, signed_in_client, "call-agent-decides")
    form = signed_in_client.get(f"/panel/records/{SHO}/tasks/new?record_type=Contact&call_id=call-agent-decides",
                                headers=HX).text
    response = signed_in_client.post(f"/panel/records/{SHO}/tasks", headers=HX, data={
        "csrf_token": token(form), "record_type": "Contact", "active_call_id": "call-agent-decides",
        "call_id": "call-agent-decides", "subject": "お問い合わせ"})
    assert response.status_code == 200, response.text
    run_queued(app)
    tasks = call_tasks(sf, "call-agent-decides")
    assert len(tasks) == 1 and tasks[0]["WhoId"] == SHO and tasks[0]["IsClosed"]
    page = reviewer.get("/review").text
    assert 'data-call-id="call-agent-decides"' not in queue_of(page)


# -- who may decide, and only once ------------------------------------------------------------------------------------

def test_only_reviewers_see_the_queue_or_decide(app, signed_in_client, reviewer):
    waiting_call(app, signed_in_client, "call-not-yours")
    page = reviewer.get("/review").text
    number = item_id(page, "call-not-yours")
    assert signed_in_client.get("/review").status_code == 403
    form = signed_in_client.get("/panel?phone=03-9999-0000", headers=HX).text
    for action in ("pick", "dismiss", "retry", "lead"):
        response = signed_in_client.post(f"/review/items/{number}/{action}", headers=HX,
                                         data={"csrf_token": token(form), "record_id": SHO})
        assert response.status_code == 403
    assert call_record(app, "call-not-yours").status == "needs_review"


def test_signed_out_visitors_are_sent_to_sign_in(app, client):
    response = client.get("/review")
    assert response.status_code in (302, 401) and "/auth/login" in response.headers.get("Location", "/auth/login")


def test_a_decision_without_the_csrf_token_is_refused(app, client, reviewer):
    waiting_call(app, client, "call-csrf")
    page = reviewer.get("/review").text
    number = item_id(page, "call-csrf")
    for action, data in (("pick", {"record_id": SHO}), ("dismiss", {}), ("lead", {"LastName": "x", "Company": "y"})):
        assert reviewer.post(f"/review/items/{number}/{action}", headers=HX, data=data).status_code == 400
    assert call_record(app, "call-csrf").status == "needs_review"


def test_two_reviewers_deciding_at_once_log_the_call_once(app, client, reviewer, localorg, sf):
    app.config["PANEL_REVIEWERS"] = ("reviewer@example.com", "agent2@example.com")
    second = app.test_client()
    sign_in(second, localorg, "agent2@example.com")
    waiting_call(app, client, "call-race")
    pages = [browser.get("/review").text for browser in (reviewer, second)]
    number = item_id(pages[0], "call-race")
    start = threading.Barrier(2)
    answers: dict[str, int] = {}

    def decide(browser, page, record_id):
        start.wait()
        answers[record_id] = browser.post(f"/review/items/{number}/pick", headers=HX,
                                          data={"csrf_token": token(page), "record_id": record_id}).status_code

    threads = [threading.Thread(target=decide, args=(reviewer, pages[0], SHO)),
               threading.Thread(target=decide, args=(second, pages[1], AYA))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers.values()) == [200, 409]
    winner = next(record for record, status in answers.items() if status == 200)
    run_queued(app)
    tasks = call_tasks(sf, "call-race")
    assert [t["WhoId"] for t in tasks] == [winner]
