"""The review queue's "create a Lead" in an org with duplicate rules: the Leads a rule matches are offered ("this may
be 松本 大輔 — use it", the queue's own pick), nothing is created by using one, the call still waits until a
decision is made, and where the rule only alerts the reviewer may create the Lead anyway."""

from __future__ import annotations

import lxml.html
from calls_support import call_record, call_tasks, run_queued
from test_review_queue import HX, STRANGER, item_id, reviewer, token, waiting_call  # noqa: F401 - `reviewer`: fixture

from panel.localorg.seed import IDS

MATSUMOTO = IDS["lead.matsumoto_daisuke"]
DUPLICATE = {"LastName": "松本", "FirstName": "大輔", "Company": "名古屋精機株式会社", "Phone": STRANGER}


def lead_count(sf) -> int:
    return sf.query("SELECT COUNT() FROM Lead")["totalSize"]


def refused_lead(app, client, reviewer, localorg, call_id: str, action: str):
    localorg.admin("org", duplicate_rules=[{"object": "Lead", "match": ["LastName", "Company"], "action": action}])
    waiting_call(app, client, call_id, number=STRANGER)
    page = reviewer.get("/review").text
    number = item_id(page, call_id)
    refused = reviewer.post(f"/review/items/{number}/lead", headers=HX, data={"csrf_token": token(page), **DUPLICATE})
    return number, refused


def test_a_lead_a_blocking_rule_matches_offers_the_existing_lead_and_the_call_keeps_waiting(
        app, client, reviewer, localorg, sf):
    before = lead_count(sf)
    number, refused = refused_lead(app, client, reviewer, localorg, "call-dup-block", "block")
    assert refused.status_code == 409
    item = lxml.html.fromstring(refused.text).get_element_by_id(f"review-item-{number}")
    [choice] = item.xpath(f'.//div[@id="review-duplicates-{number}"]//li[@data-record-id]')
    assert choice.get("data-record-id") == MATSUMOTO
    assert "This may be 松本 大輔 — use it" in choice.text_content()
    assert not item.xpath('.//button[contains(@class, "create-anyway")]')
    typed = {i.get("name"): i.get("value") for i in item.xpath('.//details[@class="review-lead"]//input')}
    assert (typed["FirstName"], typed["Company"]) == ("大輔", "名古屋精機株式会社")  # everything typed kept
    assert lead_count(sf) == before
    assert call_record(app, "call-dup-block").status == "needs_review"  # the claim was given back


def test_using_the_offered_lead_logs_the_call_against_it_and_creates_nothing(app, client, reviewer, localorg, sf):
    before = lead_count(sf)
    number, refused = refused_lead(app, client, reviewer, localorg, "call-dup-use", "block")
    form = lxml.html.fromstring(refused.text).xpath(f'//div[@id="review-duplicates-{number}"]//form')[0]
    data = {i.get("name"): i.get("value") for i in form.iter("input")}
    used = reviewer.post(form.get("action"), headers=HX, data=data)
    assert used.status_code == 200
    run_queued(app)
    tasks = call_tasks(sf, "call-dup-use")
    assert [task["WhoId"] for task in tasks] == [MATSUMOTO]
    assert lead_count(sf) == before


def test_an_alert_rule_lets_the_reviewer_create_the_lead_anyway(app, client, reviewer, localorg, sf):
    before = lead_count(sf)
    number, refused = refused_lead(app, client, reviewer, localorg, "call-dup-alert", "alert")
    assert refused.status_code == 409
    form = lxml.html.fromstring(refused.text).xpath(f'//details[@class="review-lead"]/form')[0]
    data = {i.get("name"): i.get("value") for i in form.iter("input")}
    anyway = form.xpath('.//button[contains(@class, "create-anyway")]')[0]
    created = reviewer.post(form.get("action"), headers=HX, data={**data, anyway.get("name"): anyway.get("value")})
    assert created.status_code == 200
    assert lead_count(sf) == before + 1
    run_queued(app)
    [task] = call_tasks(sf, "call-dup-alert")
    assert task["WhoId"] != MATSUMOTO and sf.Lead.get(task["WhoId"])["LastName"] == "松本"
