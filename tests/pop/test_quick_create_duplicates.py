"""Quick-create in an org with duplicate rules (`POST /localorg/_admin/org {"duplicate_rules": [...]}`): the records a
rule matches are offered as the caller ("this may be 松本 大輔 — use it", a pick like any other), a blocking rule
never leaves the agent with a bare error, and where the rule only alerts the agent may create the record anyway."""

from __future__ import annotations

import lxml.html
from test_screen_pop import HX, call_on_now, csrf_token, pop, shown_record

from panel.localorg.seed import IDS

MATSUMOTO = IDS["lead.matsumoto_daisuke"]
YAMADA = IDS["contact.yamada_taro"]
LEAD_RULE = {"object": "Lead", "match": ["LastName", "Company"], "action": "block"}
EMAIL_RULE = {"object": "Contact", "match": ["Email"], "action": "alert"}


def form_data(html: str, form_path: str, button: str | None = None) -> tuple[str, dict]:
    """What the browser posts for the form at `form_path` (XPath): its action and its inputs, plus `button`'s
    name and value when that button is the one pressed."""
    form = lxml.html.fromstring(html).xpath(form_path)[0]
    data = {i.get("name"): i.get("value") or "" for i in form.iter("input")
            if i.get("name") and (i.get("type") != "radio" or i.get("checked") is not None)}
    if button:
        pressed = form.xpath(f".//button[contains(@class, '{button}')]")[0]
        data[pressed.get("name")] = pressed.get("value")
    return form.get("action"), data


def count(sf, soql: str) -> int:
    return sf.query(soql)["totalSize"]


def test_a_lead_a_blocking_rule_matches_offers_the_existing_lead_and_keeps_what_was_typed(
        signed_in_client, localorg, sf):
    localorg.admin("org", duplicate_rules=[LEAD_RULE])
    token = csrf_token(signed_in_client)
    before = count(sf, "SELECT COUNT() FROM Lead")
    refused = signed_in_client.post("/panel/records", headers=HX, data={
        "csrf_token": token, "record_type": "Lead", "LastName": "松本", "FirstName": "だいすけ",
        "Company": "名古屋精機株式会社", "Title": "課長", "Phone": "052-999-0001"})
    assert refused.status_code == 409
    page = lxml.html.fromstring(refused.text)
    [choice] = page.xpath('//section[@id="duplicates"]//li[@data-record-id]')
    assert (choice.get("data-record-id"), choice.get("data-record-type")) == (MATSUMOTO, "Lead")
    assert "This may be 松本 大輔 — use it" in choice.text_content()
    assert page.xpath('//section[@id="duplicates"]/@data-allow-save') == ["false"]
    assert not page.xpath('//button[contains(@class, "create-anyway")]')  # a blocking rule is never overridden
    typed = {i.get("name"): i.get("value") for i in page.get_element_by_id("quick-create").iter("input")}
    assert (typed["FirstName"], typed["Title"], typed["Phone"]) == ("だいすけ", "課長", "052-999-0001")
    assert count(sf, "SELECT COUNT() FROM Lead") == before


def test_using_the_offered_record_shows_its_card_and_takes_the_call(signed_in_client, localorg, sf, app):
    localorg.admin("org", duplicate_rules=[LEAD_RULE])
    token = csrf_token(signed_in_client)
    call_on_now(signed_in_client, "c-dup", "052-999-0002")
    pop(signed_in_client, "052-999-0002", call_id="c-dup")
    refused = signed_in_client.post("/panel/records", headers=HX, data={
        "csrf_token": token, "record_type": "Lead", "LastName": "松本", "Company": "名古屋精機株式会社",
        "Phone": "052-999-0002", "call_id": "c-dup"})
    action, data = form_data(refused.text, '//section[@id="duplicates"]//form')
    assert action == "/panel/pick"
    used = signed_in_client.post(action, headers=HX, data=data)
    assert used.status_code == 200 and shown_record(used) == (MATSUMOTO, "Lead")
    with app.app_context():
        from panel.callers import picks
        assert picks.call_pick("c-dup").record_id == MATSUMOTO
    assert count(sf, "SELECT COUNT() FROM Lead WHERE Phone = '052-999-0002'") == 0  # nothing created


def test_an_alert_rule_offers_the_existing_contact_and_can_create_anyway(signed_in_client, localorg, sf):
    localorg.admin("org", duplicate_rules=[EMAIL_RULE])
    token = csrf_token(signed_in_client)
    refused = signed_in_client.post("/panel/records", headers=HX, data={
        "csrf_token": token, "record_type": "Contact", "LastName": "山田", "FirstName": "太郎",
        "Email": "taro.yamada@yamada-shoji.example.jp", "Phone": "090-5555-0101"})
    assert refused.status_code == 409
    page = lxml.html.fromstring(refused.text)
    assert page.xpath('//section[@id="duplicates"]//li/@data-record-id') == [YAMADA]
    assert page.xpath('//section[@id="duplicates"]/@data-allow-save') == ["true"]
    action, data = form_data(refused.text, '//form[@id="quick-create"]', button="create-anyway")
    assert data["allow_duplicates"] == "1" and data["Email"] == "taro.yamada@yamada-shoji.example.jp"
    created = signed_in_client.post(action, headers=HX, data=data)
    assert created.status_code == 201
    new_id, new_type = shown_record(created)
    assert new_type == "Contact" and new_id != YAMADA
    assert count(sf, "SELECT COUNT() FROM Contact WHERE Email = 'taro.yamada@yamada-shoji.example.jp'") == 2


def test_a_record_no_rule_matches_is_created_in_one_request(signed_in_client, localorg):
    localorg.admin("org", duplicate_rules=[LEAD_RULE, EMAIL_RULE])
    token = csrf_token(signed_in_client)
    pop(signed_in_client, "090-5555-0102")
    before = localorg.api_requests()
    created = signed_in_client.post("/panel/records", headers=HX, data={
        "csrf_token": token, "record_type": "Lead", "LastName": "新井", "Company": "新井商店", "Phone": "090-5555-0102"})
    assert created.status_code == 201 and localorg.api_requests() == before + 1
