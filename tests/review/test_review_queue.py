"""/review: the calls a person must decide on, resolved exactly once, with who decided what and when."""

from __future__ import annotations

import json
import re
import threading
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest

from calls_support import Dialer, call_record, call_tasks, configure, run_queued
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


def test_each_candidate_shows_type_name_title_company_and_owner(app, client, reviewer):
    waiting_call(app, client, "call-who-is-it")
    entry = queue_of(reviewer.get("/review").text)
    aya = entry.split(f'data-record-id="{AYA}"', 1)[1].split("</li>", 1)[0]
    assert "Log against Contact 吉田 彩" in aya
    assert '<span class="candidate-title">生産管理部</span>' in aya
    assert '<span class="candidate-company">株式会社さくら工業</span>' in aya
    assert re.search(r'<span class="candidate-owner">Owner: 高木 ?翼</span>', aya)


# -- a long queue: pages, count, filters ------------------------------------------------------------------------------

def waiting_items(app, reasons: list[str], start: datetime | None = None) -> list[str]:
    """Calls already waiting for a reviewer (as the logging job leaves them), one a minute from `start`; their
    call IDs, oldest first. Written directly: the tests above show how calls get here, these are about volume."""
    from panel.calls.ledger import CallRecord, ReviewItem
    from panel.extensions import db

    start = start or datetime(2026, 11, 20, 0, 0, tzinfo=timezone.utc)
    call_ids = []
    with app.app_context():
        for number, reason in enumerate(reasons):
            moment = start + timedelta(minutes=number)
            call_id = f"queued-{number:03d}"
            db.session.add(CallRecord(call_id=call_id, direction="inbound", external_number="+81312340000",
                                      agent_email="agent@example.com", started_at=moment, created_at=moment,
                                      updated_at=moment, status="failed" if reason == "error" else "needs_review"))
            db.session.add(ReviewItem(call_id=call_id, reason=reason, created_at=moment,
                                      error="FIELD_INTEGRITY_EXCEPTION" if reason == "error" else None,
                                      candidates=json.dumps([]) if reason != "several" else json.dumps(
                                          [{"record_id": SHO, "record_type": "Contact", "name": "吉田 翔"}])))
            call_ids.append(call_id)
        db.session.commit()
    return call_ids


def listed(html: str) -> list[str]:
    return re.findall(r'<li id="review-item-\d+"[^>]*\s+data-call-id="([^"]+)"', html)


def more_url(html: str) -> str | None:
    found = re.search(r'<li id="review-more"[^>]*>\s*<a href="([^"]+)" hx-get="\1"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def waiting_count(html: str) -> int:
    return int(re.search(r'id="review-count"[^>]*data-count="(\d+)"', html).group(1))


def test_a_long_queue_comes_twenty_at_a_time_oldest_first_until_every_call_was_shown(app, reviewer):
    queued = waiting_items(app, ["several"] * 45)
    page = reviewer.get("/review")
    assert page.status_code == 200 and page.headers["Vary"] and "HX-Request" in page.headers["Vary"]
    assert listed(queue_of(page.text)) == queued[:20]
    assert waiting_count(page.text) == 45 and "45 calls waiting" in page.text

    seen, url = listed(queue_of(page.text)), more_url(page.text)
    while url:
        more = reviewer.get(url, headers=HX)  # what the "more" entry's hx-get asks for
        assert more.status_code == 200 and "<html" not in more.text and 'id="review-queue"' not in more.text
        assert 0 < len(listed(more.text)) <= 20
        seen += listed(more.text)
        url = more_url(more.text)
    assert seen == queued


def test_calls_decided_meanwhile_do_not_hide_others_from_the_next_page(app, reviewer):
    queued = waiting_items(app, ["none"] * 25)
    page = reviewer.get("/review").text
    for call_id in queued[15:20]:  # another reviewer clears the end of the first page
        reviewer.post(f"/review/items/{item_id(page, call_id)}/dismiss", headers=HX, data={"csrf_token": token(page)})
    more = reviewer.get(more_url(page), headers=HX).text
    assert listed(more) == queued[20:]
    assert listed(queue_of(reviewer.get("/review").text)) == queued[:15] + queued[20:]
    for call_id in queued[20:]:  # and everything after the first page: "more" then brings nothing, silently
        reviewer.post(f"/review/items/{item_id(more, call_id)}/dismiss", headers=HX, data={"csrf_token": token(page)})
    emptied = reviewer.get(more_url(page), headers=HX)
    assert emptied.status_code == 200 and listed(emptied.text) == [] and "waiting" not in emptied.text


def test_without_javascript_the_more_link_opens_the_next_page(app, reviewer):
    queued = waiting_items(app, ["none"] * 21)
    page = reviewer.get("/review").text
    following = reviewer.get(more_url(page))
    assert following.status_code == 200 and "<html" in following.text
    assert listed(queue_of(following.text)) == queued[20:] and more_url(following.text) is None
    assert "Back to the calls that have waited longest" in following.text


def test_deciding_a_call_updates_the_count_in_the_heading(app, reviewer):
    queued = waiting_items(app, ["none"] * 3)
    page = reviewer.get("/review").text
    assert waiting_count(page) == 3
    answer = reviewer.post(f"/review/items/{item_id(page, queued[0])}/dismiss", headers=HX,
                           data={"csrf_token": token(page)})
    assert re.search(r'<span id="review-count"[^>]*data-count="2" hx-swap-oob="true">\s*2 calls waiting', answer.text)
    assert waiting_count(reviewer.get("/review").text) == 2


def test_the_queue_can_be_narrowed_to_one_reason_and_the_filters_count_each(app, reviewer):
    queued = waiting_items(app, ["several", "none", "error", "none", "several", "none"])
    page = reviewer.get("/review").text
    filters = dict(re.findall(r'data-filter="(\w+)"[^>]*>[^<(]*\((\d+)\)', page))
    assert filters == {"all": "6", "several": "2", "none": "3", "error": "1", "agent": "0"}

    only_none = reviewer.get("/review?reason=none").text
    assert listed(queue_of(only_none)) == [queued[1], queued[3], queued[5]]
    assert re.search(r'data-filter="none"[^>]*aria-current="page"', only_none)
    assert waiting_count(only_none) == 6  # the heading still counts every waiting call
    both = reviewer.get("/review?reason=several&reason=error").text
    assert listed(queue_of(both)) == [queued[0], queued[2], queued[4]]
    past_the_only_error = reviewer.get(f"/review?reason=error&after={item_id(page, queued[2])}").text
    assert listed(queue_of(past_the_only_error)) == [] and "No calls of this kind are waiting." in past_the_only_error


def test_the_reason_filter_keeps_to_its_reason_across_pages(app, reviewer):
    queued = waiting_items(app, ["error", "none"] * 22)
    page = reviewer.get("/review?reason=error").text
    url = more_url(page)
    assert parse_qs(urlsplit(url).query)["reason"] == ["error"]
    rest = reviewer.get(url, headers=HX).text
    assert listed(queue_of(page)) + listed(rest) == queued[0::2] and more_url(rest) is None


@pytest.mark.parametrize("query, field", [("reason=maybe", "reason"), ("reason=none&reason=", None),
                                          ("after=abc", "after"), ("after=-1", "after")])
def test_a_filter_or_position_that_makes_no_sense_is_a_400_naming_it(app, reviewer, query, field):
    waiting_items(app, ["none"])
    response = reviewer.get(f"/review?{query}")
    if field is None:  # an empty reason is no filter
        assert response.status_code == 200
    else:
        assert response.status_code == 400 and f"“{field}”" in response.text


@pytest.mark.parametrize("number", ["0", "2147483648", "99999999999999999999"])
def test_an_item_number_no_queue_item_can_have_is_not_found(app, client, reviewer, number):
    waiting_call(app, client, "call-numbered")
    page = reviewer.get("/review").text
    assert reviewer.get(f"/review/items/{number}/search", headers=HX).status_code == 404
    assert reviewer.post(f"/review/items/{number}/dismiss", headers=HX,
                         data={"csrf_token": token(page)}).status_code == 404


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
    entry = history.split('data-call-id="call-pick-me"', 1)[1].split("</li>", 1)[0]
    # which call, what was decided (the record by type and name, linked to Salesforce), by whom and when
    assert "Several records match" in entry and SHARED in entry and "agent@example.com" in entry
    assert "Logged against a record" in entry
    assert re.search(rf'<a class="resolved-record" data-record-id="{AYA}" href="[^"]+/lightning/r/Contact/{AYA}/view"'
                     r'\s+target="_blank" rel="noopener">Contact 吉田 彩</a>', entry)
    assert re.search(r"by reviewer@example\.com at \w{3} \d{1,2}, \d{4} \d{2}:\d{2}", entry)

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
    configure(app, PANEL_CALL_EXTERNAL_ID_FIELD="Missing_Key__c")  # an admin's typo: Salesforce refuses the Task
    waiting_call(app, client, "call-refused", number="03-1234-5678")
    assert call_record(app, "call-refused").status == "failed"
    page = reviewer.get("/review").text
    entry = queue_of(page)
    assert 'data-reason="error"' in entry and 'class="review-error"' in entry and "Missing_Key__c" in entry
    configure(app, PANEL_CALL_EXTERNAL_ID_FIELD="Panel_Call_Key__c")
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


# -- claim first, then act: a decision that creates something ---------------------------------------------------------

STRANGER = "03-9999-0000"  # nobody's number: the call waits with reason "none"


def lead_form(page: str, last_name: str) -> dict:
    return {"csrf_token": token(page), "LastName": last_name, "Company": "同時商事", "Phone": STRANGER}


def leads_named(sf, last_name: str) -> list[str]:
    return [row["Id"] for row in sf.query(f"SELECT Id FROM Lead WHERE LastName = '{last_name}'")["records"]]


def test_ten_resolutions_creating_a_lead_at_once_create_one_lead_and_the_others_are_told(app, client, localorg, sf):
    app.config["PANEL_REVIEWERS"] = ("reviewer@example.com", "agent2@example.com")
    waiting_call(app, client, "call-lead-race", number=STRANGER)
    browsers = []
    for number in range(10):  # two reviewers, five browser tabs each
        browser = app.test_client()
        browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        sign_in(browser, localorg, ("reviewer@example.com", "agent2@example.com")[number % 2])
        browsers.append(browser)
    pages = [browser.get("/review").text for browser in browsers]
    number = item_id(pages[0], "call-lead-race")
    start = threading.Barrier(len(browsers))
    answers: list = [None] * len(browsers)

    def decide(index: int) -> None:
        start.wait()
        answers[index] = browsers[index].post(f"/review/items/{number}/lead", headers=HX,
                                              data=lead_form(pages[index], "競合"))

    threads = [threading.Thread(target=decide, args=(index,)) for index in range(len(browsers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answer.status_code for answer in answers) == [200] + [409] * 9
    for loser in (answer for answer in answers if answer.status_code == 409):
        assert "Someone else resolved this call first; nothing was changed." in loser.text
    assert len(leads_named(sf, "競合")) == 1
    run_queued(app)
    tasks = call_tasks(sf, "call-lead-race")
    assert [task["WhoId"] for task in tasks] == leads_named(sf, "競合")


@pytest.mark.parametrize("fault, answer", [("refused", 422), ("unreachable", 503)])
def test_a_lead_salesforce_does_not_create_leaves_the_call_waiting_and_says_so(app, client, reviewer, localorg, sf,
                                                                              fault, answer):
    waiting_call(app, client, "call-lead-refused", number=STRANGER)
    page = reviewer.get("/review").text
    number = item_id(page, "call-lead-refused")
    if fault == "refused":  # the reviewer's profile cannot see Lead.Phone: Salesforce refuses a Lead naming it
        localorg.admin("field_security", username="reviewer@example.com", hidden=["Lead.Phone"])
    else:
        localorg.admin("faults", error_rate=1, error_status=503)
    try:
        refused = reviewer.post(f"/review/items/{number}/lead", headers=HX, data=lead_form(page, "却下"))
    finally:
        localorg.admin("faults")
        localorg.admin("field_security", username="reviewer@example.com", hidden=[])
    assert refused.status_code == answer
    assert "the call is still waiting" in refused.text and 'value="却下"' in refused.text
    assert 'class="review-resolution"' not in refused.text  # the item as it is now: open, its form kept
    assert leads_named(sf, "却下") == []
    assert call_record(app, "call-lead-refused").status == "needs_review"
    again = reviewer.get("/review").text
    assert 'data-call-id="call-lead-refused"' in queue_of(again)
    assert 'data-call-id="call-lead-refused"' not in again.split('id="review-history"', 1)[1]

    created = reviewer.post(f"/review/items/{number}/lead", headers=HX, data=lead_form(page, "却下"))
    assert created.status_code == 200, created.text
    run_queued(app)
    assert [task["WhoId"] for task in call_tasks(sf, "call-lead-refused")] == leads_named(sf, "却下")


def test_a_claim_left_by_a_request_that_died_while_creating_the_lead_is_given_back_by_the_sweep(app, client,
                                                                                               reviewer):
    from panel.calls.ledger import ReviewItem
    from panel.extensions import db
    from calls_support import sweep

    waiting_call(app, client, "call-lead-killed", number=STRANGER)
    number = int(item_id(reviewer.get("/review").text, "call-lead-killed"))
    claimed_at = datetime.now(timezone.utc)
    with app.app_context():  # the item as a reviewer's request killed between its claim and the new Lead left it
        item = db.session.get(ReviewItem, number)
        item.resolved_at, item.resolved_by, item.resolution = claimed_at, "reviewer@example.com", "lead"
        db.session.commit()
    assert 'data-call-id="call-lead-killed"' not in queue_of(reviewer.get("/review").text)
    sweep(app, now=claimed_at + timedelta(minutes=5))
    page = reviewer.get("/review").text
    assert 'data-call-id="call-lead-killed"' in queue_of(page)
    created = reviewer.post(f"/review/items/{number}/lead", headers=HX, data=lead_form(page, "再開"))
    assert created.status_code == 200, created.text
