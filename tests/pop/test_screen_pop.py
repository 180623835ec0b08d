"""The screen pop as an agent and a dialer see it: GET /panel?phone=… against the seeded local org."""

from __future__ import annotations

import re
from urllib.parse import quote

import lxml.html
import pytest

from panel.localorg.seed import IDS

HX = {"HX-Request": "true"}


def pop(client, phone, **params):
    query = "&".join(f"{k}={quote(str(v))}" for k, v in {"phone": phone, **params}.items())
    return client.get(f"/panel?{query}", headers=HX)


def shown_record(response) -> tuple[str, str] | None:
    found = re.search(r'id="card"[^>]*data-record-id="([^"]+)" data-record-type="([^"]+)"', response.text)
    return (found.group(1), found.group(2)) if found else None


def listed_records(response) -> list[str]:
    block = response.text.split('id="matches"', 1)[1]
    return re.findall(r'<li class="match[^"]*"\s+data-record-id="([^"]+)"', block)


def configure(app, **settings) -> None:
    """Change the pop's settings as an admin would (then restart): the app reads them once, on first use."""
    from panel import web

    app.config.update(settings)
    web.forget_settings(app)


def call_on_now(client, call_id: str, phone: str) -> None:
    """The dialer reports the call, ringing for the signed-in agent: a pick is tied to a call only once the call's
    events name its agent (tests/calls/test_call_ownership.py)."""
    from calls_support import Dialer

    dialer = Dialer(client, call_id, number=phone)
    dialer.send(dialer.ringing())


def csrf_token(client) -> str:
    page = client.get("/panel?phone=03-9999-0000", headers=HX).text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    return found.group(1) if found else ""


# -- formats ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("arriving, record", [
    ("03-1234-5678", "contact.yamada_taro"),
    ("+81312345678", "contact.yamada_taro"),
    ("0312345678", "contact.yamada_taro"),
    ("81312345678", "contact.yamada_taro"),
    ("tel:+81-3-1234-5678", "contact.yamada_taro"),
    ("+81 (0)3-1234-5678", "contact.yamada_taro"),
    ("０３－１２３４－５６７８", "contact.yamada_taro"),
    ("03-1234-5678 内線 22", "contact.yamada_taro"),
    ("03.1234.5678 ext. 9", "contact.yamada_taro"),
    ("090-1234-5678", "contact.yamada_taro"),
    ("+81323456789", "contact.suzuki_ichiro"),  # stored "+81 3 2345 6789"
    ("03-3456-7890", "contact.takahashi_misaki"),  # stored "+81 (0)3-3456-7890"
    ("0345678901", "contact.tanaka_kenta"),  # stored "(03)4567-8901"
    ("+81 3 5678 9012", "contact.ito_sakura"),  # stored "03.5678.9012"
    ("03-5555-1234", "contact.watanabe_naoki"),  # stored full-width
    ("03-6789-0123", "contact.nakamura_yuko"),  # stored "81367890123"
    ("+81312349999", "contact.kobayashi_makoto"),  # stored "03-1234-9999 内線 123"
    ("03-8765-4321", "contact.kato_megumi"),  # stored "+81 3 8765 4321 ext. 45"
    ("+1 415-555-0100", "contact.john_smith"),  # stored "+1 (415) 555-0100"
    ("080-9876-5432", "lead.kimura_takuya"),  # Lead MobilePhone only
    ("011-222-3333", "account.hokkaido_foods"),  # Account main line only
    ("092-345-6789", "contact.yamamoto_kenichi"),  # its converted Lead is left out
])
def test_a_caller_is_found_whatever_the_format_on_either_side(signed_in_client, localorg, arriving, record):
    response = pop(signed_in_client, arriving)
    assert response.status_code == 200
    assert shown_record(response) == (IDS[record], record.split(".")[0].capitalize())


@pytest.mark.parametrize("caller_id", ["anonymous", "Private", "RESTRICTED", "unknown", "非通知", "公衆電話", "通知不可能",
                                       "", "not a number", "0"])
def test_withheld_numbers_show_the_unknown_caller_without_asking_salesforce(signed_in_client, localorg, caller_id):
    before = localorg.api_requests()
    response = pop(signed_in_client, caller_id)
    assert response.status_code == 200
    assert 'id="unknown-caller"' in response.text
    assert localorg.api_requests() == before


def test_a_number_nobody_has_offers_quick_create_with_the_number_prefilled_and_a_search(signed_in_client, localorg):
    response = pop(signed_in_client, "+81 3 9999 0001")
    assert 'id="no-match"' in response.text and 'id="card"' not in response.text
    assert 'id="quick-create"' in response.text and 'id="manual-search"' in response.text
    assert 'value="03-9999-0001"' in response.text


# -- several matches, priority, picks -----------------------------------------------------------------------------

def test_inbound_call_with_two_contacts_waits_for_a_pick(signed_in_client, localorg):
    response = pop(signed_in_client, "06-6123-4567", call_id="c-1", direction="inbound")
    assert 'id="matches"' in response.text and 'id="card"' not in response.text
    assert "2 records match this number" in response.text
    assert set(listed_records(response)) == {IDS["contact.yoshida_sho"], IDS["contact.yoshida_aya"]}


def test_the_pick_list_names_type_name_company_owner_and_last_change_of_each(signed_in_client, localorg, sf):
    lead = sf.Lead.create({"LastName": "吉田", "FirstName": "健", "Company": "吉田工務店", "Phone": "06-6123-4567"})
    response = pop(signed_in_client, "06-6123-4567")
    assert "3 records match this number" in response.text
    entries = re.findall(r'<li class="match[^"]*"\s+data-record-id="([^"]+)".*?</li>', response.text, re.S)
    assert entries[-1] == lead["id"]  # Contacts first, the Lead last
    block = response.text.split(f'data-record-id="{lead["id"]}"', 1)[1].split("</li>", 1)[0]
    for part in ("Lead", "吉田", "吉田工務店", "Owner:", "Last modified"):
        assert part in block, part


def test_the_pick_list_reopened_from_a_card_marks_the_current_pick_and_who_made_it(signed_in_client, localorg):
    token = csrf_token(signed_in_client)
    pop(signed_in_client, "06-6123-4567")
    signed_in_client.post("/panel/pick", headers=HX, data={
        "csrf_token": token, "record_id": IDS["contact.yoshida_aya"], "phone": "06-6123-4567"})
    chooser = pop(signed_in_client, "06-6123-4567", choose=1)
    block = chooser.text.split(f'data-record-id="{IDS["contact.yoshida_aya"]}"', 1)[1].split("</li>", 1)[0]
    assert 'class="match-picked"' in block and "Current pick, by" in block


def test_an_account_card_does_not_repeat_its_name_as_company(signed_in_client, localorg):
    response = pop(signed_in_client, "011-222-3333")
    assert shown_record(response) == (IDS["account.hokkaido_foods"], "Account")
    assert 'class="card-company"' not in response.text


def test_contacts_come_before_leads_with_the_same_number(signed_in_client, localorg):
    response = pop(signed_in_client, "052-123-4567")
    assert listed_records(response) == [IDS["contact.inoue_yoko"], IDS["lead.matsumoto_daisuke"]]


def test_the_type_priority_is_the_admins_to_choose(signed_in_client, localorg, app):
    configure(app, PANEL_MATCH_PRIORITY=("Lead", "Contact", "Account"))  # panel.config's reading of the variable
    response = pop(signed_in_client, "052-123-4567")
    assert listed_records(response) == [IDS["lead.matsumoto_daisuke"], IDS["contact.inoue_yoko"]]


def test_a_number_that_merely_contains_the_callers_digits_is_not_a_match(signed_in_client, localorg, sf):
    for stored in ("03-1234-56789", "9903-1234-5678", "+1 303-123-45678", "03-1234-5678-9"):
        sf.Contact.create({"LastName": "似て非なる", "OtherPhone": stored})
    response = pop(signed_in_client, "03-1234-5678")
    assert shown_record(response) == (IDS["contact.yamada_taro"], "Contact")
    assert "似て非なる" not in response.text


@pytest.mark.parametrize("edited, first", [("contact.yoshida_aya", "contact.yoshida_aya"),
                                           ("contact.yoshida_sho", "contact.yoshida_sho")])
def test_records_of_one_type_are_listed_most_recently_modified_first(signed_in_client, localorg, sf, edited, first):
    sf.Contact.update(IDS[edited], {"Department": "営業"})
    assert listed_records(pop(signed_in_client, "06-6123-4567"))[0] == IDS[first]


def test_a_pick_shows_the_card_and_the_next_pop_opens_it_directly(signed_in_client, localorg):
    token = csrf_token(signed_in_client)
    call_on_now(signed_in_client, "c-2", "06-6123-4567")
    pop(signed_in_client, "06-6123-4567")
    picked = signed_in_client.post("/panel/pick", headers=HX, data={
        "csrf_token": token, "record_id": IDS["contact.yoshida_aya"], "phone": "06-6123-4567", "call_id": "c-2"})
    assert picked.status_code == 200
    assert shown_record(picked) == (IDS["contact.yoshida_aya"], "Contact")

    again = pop(signed_in_client, "+81661234567")
    assert shown_record(again) == (IDS["contact.yoshida_aya"], "Contact")
    assert "Picked for this number by" in again.text and "Change" in again.text


def test_changing_a_remembered_pick(signed_in_client, localorg):
    token = csrf_token(signed_in_client)
    for record in ("contact.yoshida_aya", "contact.yoshida_sho"):
        pop(signed_in_client, "06-6123-4567", choose=1)
        signed_in_client.post("/panel/pick", headers=HX, data={
            "csrf_token": token, "record_id": IDS[record], "phone": "06-6123-4567"})
    chooser = pop(signed_in_client, "06-6123-4567", choose=1)
    assert 'id="matches"' in chooser.text
    assert shown_record(pop(signed_in_client, "06-6123-4567")) == (IDS["contact.yoshida_sho"], "Contact")


def test_a_searched_record_without_the_number_takes_the_call_but_not_the_numbers_pick(signed_in_client, localorg,
                                                                                     app):
    token = csrf_token(signed_in_client)
    pop(signed_in_client, "06-6123-4567")
    signed_in_client.post("/panel/pick", headers=HX, data={
        "csrf_token": token, "record_id": IDS["contact.yoshida_aya"], "phone": "06-6123-4567"})
    call_on_now(signed_in_client, "c-searched", "06-6123-4567")
    opened = signed_in_client.post("/panel/pick", headers=HX, data={
        "csrf_token": token, "record_id": IDS["contact.yamada_taro"], "record_type": "Contact",
        "phone": "06-6123-4567", "call_id": "c-searched"})
    assert shown_record(opened) == (IDS["contact.yamada_taro"], "Contact")
    assert shown_record(pop(signed_in_client, "06-6123-4567")) == (IDS["contact.yoshida_aya"], "Contact")
    with app.app_context():
        from panel.callers import picks
        assert picks.call_pick("c-searched").record_id == IDS["contact.yamada_taro"]


def test_a_withheld_caller_found_by_search_takes_the_call(signed_in_client, localorg, app):
    token = csrf_token(signed_in_client)
    call_on_now(signed_in_client, "c-withheld", "非通知")
    assert 'id="unknown-caller"' in pop(signed_in_client, "非通知", call_id="c-withheld").text
    opened = signed_in_client.post("/panel/pick", headers=HX, data={
        "csrf_token": token, "record_id": IDS["contact.ito_sakura"], "record_type": "Contact", "phone": "非通知",
        "call_id": "c-withheld"})
    assert shown_record(opened) == (IDS["contact.ito_sakura"], "Contact")
    with app.app_context():
        from panel.callers import picks
        assert picks.call_pick("c-withheld").record_id == IDS["contact.ito_sakura"]


def test_a_record_that_is_not_a_match_cannot_be_picked_for_the_number(signed_in_client, localorg):
    token = csrf_token(signed_in_client)
    pop(signed_in_client, "06-6123-4567")
    response = signed_in_client.post("/panel/pick", headers=HX, data={
        "csrf_token": token, "record_id": IDS["contact.yamada_taro"], "phone": "06-6123-4567"})
    assert response.status_code == 400 and "record_id" in response.text


def test_a_pick_without_the_csrf_token_is_refused(signed_in_client, localorg):
    pop(signed_in_client, "06-6123-4567")
    response = signed_in_client.post("/panel/pick", headers=HX, data={
        "record_id": IDS["contact.yoshida_aya"], "phone": "06-6123-4567"})
    assert response.status_code in (400, 403)
    assert 'id="matches"' in pop(signed_in_client, "06-6123-4567").text


# -- search lag and quick create ----------------------------------------------------------------------------------

def _create(client, token, **fields):
    return client.post("/panel/records", headers=HX, data={"csrf_token": token, **fields})


def test_a_lead_created_from_the_panel_is_found_by_the_next_pop_although_search_cannot_see_it(
        signed_in_client, localorg, sf):
    token = csrf_token(signed_in_client)
    assert 'id="no-match"' in pop(signed_in_client, "03-9999-0002").text
    created = _create(signed_in_client, token, record_type="Lead", LastName="新規", FirstName="太郎",
                      Company="新規商事", Phone="03-9999-0002")
    assert created.status_code == 201
    new_id, new_type = shown_record(created)
    assert new_type == "Lead"
    assert sf.search('FIND {0399990002} IN PHONE FIELDS RETURNING Lead(Id)')["searchRecords"] == []

    again = pop(signed_in_client, "+81399990002")
    assert shown_record(again) == (new_id, "Lead")
    assert "新規商事" in again.text


def test_a_record_created_in_salesforce_a_moment_ago_is_found(signed_in_client, localorg, sf):
    created = sf.Contact.create({"LastName": "速水", "Phone": "045-111-2222"})
    assert shown_record(pop(signed_in_client, "0451112222")) == (created["id"], "Contact")


@pytest.mark.parametrize("stored", [
    "03-7000-1234", "+81 (0)3-7000-1234", "０３－７０００－１２３４", "(03)7000-1234", "81370001234", "03 70 00 12 34",
    "03/7000/1234", "03-7000-1234 内線 5", "tel:+81-3-7000-1234", "TEL：０３（７０００）１２３４",
])
def test_a_record_saved_a_moment_ago_in_any_format_is_found_before_search_sees_it(signed_in_client, localorg, sf,
                                                                                 stored):
    created = sf.Contact.create({"LastName": "直後", "MobilePhone": stored})
    decoy = sf.Contact.create({"LastName": "別人", "MobilePhone": "03-7000-1235"})  # as new, other number
    assert sf.search('FIND {0370001234} IN PHONE FIELDS RETURNING Contact(Id)')["searchRecords"] == []
    response = pop(signed_in_client, "+81370001234")
    assert shown_record(response) == (created["id"], "Contact")
    assert decoy["id"] not in response.text


def test_look_again_asks_salesforce_past_the_short_cache(signed_in_client, localorg, sf):
    first = pop(signed_in_client, "03-9999-0007")
    assert 'id="no-match"' in first.text
    url = re.search(r'class="secondary look-again" hx-get="([^"]+)"', first.text).group(1).replace("&amp;", "&")
    created = sf.Contact.create({"LastName": "追加", "Phone": "03-9999-0007"})  # added in Salesforce meanwhile
    assert 'id="no-match"' in pop(signed_in_client, "03-9999-0007").text  # the cached answer
    again = signed_in_client.get(url, headers=HX)
    assert shown_record(again) == (created["id"], "Contact")


def test_quick_create_refuses_a_lead_without_company_and_keeps_what_was_typed(signed_in_client, localorg):
    token = csrf_token(signed_in_client)
    before = localorg.api_requests()
    response = _create(signed_in_client, token, record_type="Lead", LastName="<b>入力</b>", Email="x@example.jp",
                       Phone="03-9999-0003")
    assert response.status_code == 422
    assert 'data-field="Company"' in response.text
    assert 'value="&lt;b&gt;入力&lt;/b&gt;"' in response.text and 'value="x@example.jp"' in response.text
    assert localorg.api_requests() == before


def required_fields(html: str) -> dict[str, tuple[bool, bool]]:
    """Quick-create's fields as a person sees them: name → (the input is `required`, its * marker is shown)."""
    form = lxml.html.fromstring(html).get_element_by_id("quick-create")
    fields = {}
    for label in form.xpath(".//label[@class='field']"):
        field = label.xpath(".//input")[0]
        marker = label.xpath(".//abbr[@class='required-mark']")
        fields[field.get("name")] = (field.get("required") is not None,
                                     bool(marker) and marker[0].get("hidden") is None)
    return fields


def test_quick_create_marks_the_company_required_for_a_lead_only(signed_in_client, localorg):
    as_lead = required_fields(pop(signed_in_client, "03-9999-0008").text)  # Lead is chosen first
    assert as_lead["Company"] == (True, True)
    assert as_lead["LastName"] == as_lead["Phone"] == (True, True)
    assert as_lead["FirstName"] == as_lead["Email"] == (False, False)

    # The form comes back with Contact chosen (a last name was missing): the company is optional there.
    refused = _create(signed_in_client, csrf_token(signed_in_client), record_type="Contact", Phone="03-9999-0008")
    assert refused.status_code == 422
    as_contact = required_fields(refused.text)
    assert as_contact["Company"] == (False, False)
    assert as_contact["LastName"] == as_contact["Phone"] == (True, True)
    # panel.js switches the company's marker and attribute with the radio; both name the types that need it.
    assert re.search(r'<abbr class="required-mark"[^>]*data-required-for="Lead"[^>]*hidden', refused.text)
    assert re.search(r'<input type="text" name="Company"[^>]*data-required-for="Lead"', refused.text)


def test_the_server_decides_what_is_required_whatever_the_form_said(signed_in_client, localorg, sf):
    token = csrf_token(signed_in_client)
    contact = _create(signed_in_client, token, record_type="Contact", LastName="会社なし", Phone="03-9999-0009")
    assert contact.status_code == 201 and shown_record(contact)[1] == "Contact"
    lead = _create(signed_in_client, token, record_type="Lead", LastName="会社なし", Phone="03-9999-0010")
    assert lead.status_code == 422 and 'data-field="Company"' in lead.text


@pytest.mark.parametrize("fields, field", [
    ({"record_type": "Contact", "Phone": "03-9999-0004"}, "LastName"),
    ({"record_type": "Contact", "LastName": "某", "Phone": "anonymous"}, "Phone"),
    ({"record_type": "Contact", "LastName": "某", "Phone": "03-9999-0004", "Email": "not-mail"}, "Email"),
    ({"record_type": "Account", "LastName": "某", "Phone": "03-9999-0004"}, "record_type"),
    ({"record_type": "Contact", "LastName": "某", "Phone": "03-9999-0004", "Company": "某社"}, "Company"),
])
def test_quick_create_names_the_field_that_is_wrong(signed_in_client, localorg, fields, field):
    response = _create(signed_in_client, csrf_token(signed_in_client), **fields)
    assert response.status_code == 422
    assert f'data-field="{field}"' in response.text or (field == "record_type" and "Choose Lead or Contact" in
                                                         response.text)


def test_quick_create_while_salesforce_is_down_keeps_what_was_typed_and_creates_nothing(signed_in_client,
                                                                                       localorg, sf):
    token = csrf_token(signed_in_client)
    localorg.admin("faults", error_rate=1, error_status=503)
    response = _create(signed_in_client, token, record_type="Lead", LastName="保留", Company="保留商会",
                       Phone="03-9999-0006")
    localorg.admin("faults")
    assert response.status_code == 503
    assert 'id="quick-create"' in response.text and 'role="alert"' in response.text
    assert 'value="保留"' in response.text and 'value="保留商会"' in response.text
    assert sf.query("SELECT Id FROM Lead WHERE LastName = '保留'")["totalSize"] == 0


def test_a_contact_created_from_the_panel_shows_at_once_and_on_the_next_call(signed_in_client, localorg):
    token = csrf_token(signed_in_client)
    pop(signed_in_client, "090-5555-0005")
    before = localorg.api_requests()
    created = _create(signed_in_client, token, record_type="Contact", LastName="早川", Phone="090-5555-0005")
    assert localorg.api_requests() == before + 1
    new_id, _ = shown_record(created)
    assert shown_record(pop(signed_in_client, "09055550005")) == (new_id, "Contact")


# -- the card -----------------------------------------------------------------------------------------------------

def lists_url(response) -> str:
    return re.search(r'id="task-lists"[^>]*hx-get="([^"]+)"', response.text).group(1).replace("&amp;", "&")


def stage_shown(client, localorg, response) -> str:
    """The card's `data-stage`: from the card itself, or, for a card the search alone found, from its task lists,
    which bring it in the same single API request and swap it into the card out of band."""
    found = re.search(r'id="card-stage"[^>]*?data-stage="([^"]*)"', response.text)
    if found:
        return found.group(1)
    assert re.search(r'id="card-stage"[^>]*data-stage-pending', response.text)
    assert "stage=1" in lists_url(response)
    before = localorg.api_requests()
    lists = client.get(lists_url(response), headers=HX)
    assert lists.status_code == 200 and localorg.api_requests() == before + 1
    assert 'id="next-steps"' in lists.text and 'id="past-activities"' in lists.text
    tag = re.search(r'<dd id="card-stage"[^>]*>', lists.text).group(0)
    assert 'hx-swap-oob="true"' in tag
    return re.search(r'data-stage="([^"]*)"', tag).group(1)


def test_the_card_shows_title_company_owner_phones_and_open_opportunity_stage(signed_in_client, localorg):
    response = pop(signed_in_client, "03-1234-5678")
    text = response.text
    contact_id = IDS["contact.yamada_taro"]
    assert f'/lightning/r/Contact/{contact_id}/view" target="_blank" rel="noopener"' in text
    assert all(part in text for part in ("山田", "太郎", "営業部長", "株式会社山田商事"))
    assert re.search(r'class="card-owner">[^<]*(佐藤 花子|花子 佐藤)<', text)
    assert 'href="tel:+81312345678" data-dial="+81312345678"' in text
    assert 'data-dial="+819012345678"' in text
    assert stage_shown(signed_in_client, localorg, response) == "交渉/レビュー"  # the Closed Won one is not open
    assert f'hx-get="/panel/records/{contact_id}/tasks?record_type=Contact' in text
    assert 'id="next-steps"' in text and 'id="past-activities"' in text  # placeholders until the lists arrive


def test_the_cards_task_lists_load_after_it_in_one_api_request_and_know_the_call(signed_in_client, localorg):
    url = lists_url(pop(signed_in_client, "03-1234-5678", call_id="c-lists", direction="inbound"))
    assert "call_id=c-lists" in url
    before = localorg.api_requests()
    lists = signed_in_client.get(url, headers=HX)
    assert lists.status_code == 200 and localorg.api_requests() == before + 1
    assert 'id="next-steps"' in lists.text and 'id="past-activities"' in lists.text
    assert 'value="c-lists"' in lists.text  # the task form under the card defaults to the call on now


@pytest.mark.parametrize("phone, stage", [
    ("03-1234-5678", "交渉/レビュー"),  # its own contact role (primary)
    ("03-1234-9999", "交渉/レビュー"),  # no contact role: its Account's open opportunity
    ("03-3456-7890", ""),  # its only opportunity is closed, its Account has no open one
    ("03-1234-5600", "交渉/レビュー"),  # an Account: its own open opportunity
    ("080-9876-5432", "未対応"),  # a Lead shows its status, as a label in the agent's language
])
def test_the_stage_falls_back_to_the_account_and_a_lead_shows_its_status(signed_in_client, localorg, phone, stage):
    assert stage_shown(signed_in_client, localorg, pop(signed_in_client, phone)) == stage


@pytest.mark.parametrize("phone, record", [
    ("03-1234-5678", "contact.yamada_taro"),
    ("03-1234-9999", "contact.kobayashi_makoto"),
    ("03-1234-5600", "account.yamada_shoji"),
])
def test_a_card_the_search_alone_found_gets_its_stage_with_its_task_lists(signed_in_client, localorg, phone, record):
    response = pop(signed_in_client, phone)
    assert shown_record(response) == (IDS[record], record.split(".")[0].capitalize())
    assert 'data-stage="' not in response.text.split('id="card-stage"', 1)[1].split(">", 1)[0]
    lists = signed_in_client.get(lists_url(response), headers=HX)
    oob = re.search(r'<dd id="card-stage"[^>]*>.*?</dd>', lists.text, re.S).group(0)
    assert 'hx-swap-oob="true"' in oob and 'data-stage="交渉/レビュー"' in oob
    assert "山田商事 コールセンター刷新" in oob


def test_a_card_read_with_its_opportunities_shows_its_stage_at_once(signed_in_client, localorg, sf):
    sf.Contact.update(IDS["contact.yamada_taro"], {"Title": "常務取締役"})  # changed now: the composite reads it
    response = pop(signed_in_client, "03-1234-5678")
    assert 'data-stage="交渉/レビュー"' in response.text and "常務取締役" in response.text
    assert "stage=1" not in lists_url(response)
    lists = signed_in_client.get(lists_url(response), headers=HX)
    assert 'id="card-stage"' not in lists.text


def test_a_lead_needs_no_stage_from_its_lists(signed_in_client, localorg):
    response = pop(signed_in_client, "080-9876-5432")
    assert "stage=1" not in lists_url(response)
    assert 'id="card-stage"' not in signed_in_client.get(lists_url(response), headers=HX).text


def test_salesforce_text_is_shown_as_text(signed_in_client, localorg, sf):
    sf.Contact.update(IDS["contact.ito_sakura"], {"LastName": "<script>alert(1)</script>", "Title": '"><img src=x>'})
    text = pop(signed_in_client, "03-5678-9012").text
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<img src=x>" not in text


def test_the_full_page_and_the_fragment_share_one_url(signed_in_client, localorg):
    page = signed_in_client.get("/panel?phone=03-1234-5678")
    fragment = pop(signed_in_client, "03-1234-5678")
    for response in (page, fragment):
        assert response.status_code == 200 and "HX-Request" in response.headers.get("Vary", "")
        assert shown_record(response) == (IDS["contact.yamada_taro"], "Contact")
    assert "<html" in page.text.lower() and "<html" not in fragment.text.lower()


@pytest.mark.parametrize("params, field", [
    ({"phone": "03-1234-5678", "direction": "sideways"}, "direction"),
    ({"phone": "0" * 101}, "phone"),
    ({"phone": "03-1234-5678", "call_id": "c" * 256}, "call_id"),
])
def test_bad_parameters_get_a_400_naming_the_field(signed_in_client, localorg, params, field):
    response = signed_in_client.get("/panel", query_string=params, headers=HX)
    assert response.status_code == 400 and field in response.text


# -- fields hidden by field-level security -------------------------------------------------------------------------

def test_fields_hidden_from_the_agent_are_left_out_and_the_pop_still_works(signed_in_client, localorg):
    localorg.admin("field_security", username="agent@example.com", hidden=["Contact.HomePhone", "Contact.Title"])
    before = localorg.api_requests()
    first = pop(signed_in_client, "03-1234-5678")
    assert shown_record(first) == (IDS["contact.yamada_taro"], "Contact")
    assert "営業部長" not in first.text and 'class="card-title"' not in first.text  # the hidden Title is not shown
    # refused search and composite, one describe of the pop's objects, the two again without the hidden fields
    assert localorg.api_requests() - before == 5
    middle = localorg.api_requests()
    assert shown_record(pop(signed_in_client, "+81323456789")) == (IDS["contact.suzuki_ichiro"], "Contact")
    assert localorg.api_requests() - middle == 2  # learned once: the next cold pop costs what it always does


def test_a_caller_known_only_by_a_hidden_number_is_not_found_and_nothing_fails(signed_in_client, localorg, sf):
    sf.Contact.create({"LastName": "自宅のみ", "HomePhone": "03-7777-1111"})
    localorg.admin("field_security", username="agent@example.com", hidden=["Contact.HomePhone"])
    answer = pop(signed_in_client, "03-7777-1111")
    assert answer.status_code == 200 and 'data-state="no_match"' in answer.text


def test_a_record_created_by_an_agent_who_cannot_see_some_fields_is_created_once_and_shown(signed_in_client,
                                                                                             localorg, sf):
    localorg.admin("field_security", username="agent@example.com", hidden=["Lead.Title", "Lead.Email"])
    token = csrf_token(signed_in_client)
    created = _create(signed_in_client, token, record_type="Lead", LastName="見えない項目", Company="テスト商事",
                      Phone="090-5555-0007")
    new_id, record_type = shown_record(created)
    assert record_type == "Lead"
    assert [r["Id"] for r in sf.query("SELECT Id FROM Lead WHERE LastName = '見えない項目'")["records"]] == [new_id]


def test_the_manual_search_leaves_hidden_fields_out_too(signed_in_client, localorg):
    localorg.admin("field_security", username="agent@example.com", hidden=["Contact.Email", "Lead.Email"])
    found = signed_in_client.get("/panel/search", query_string={"q": "山田", "phone": "03-9999-0000"}, headers=HX)
    assert found.status_code == 200 and IDS["contact.yamada_taro"] in found.text


# -- cost and failure ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("phone", ["03-1234-5678", "06-6123-4567", "03-9999-0009"])
def test_a_pop_costs_at_most_two_api_requests_and_a_repeat_none(signed_in_client, localorg, phone):
    before = localorg.api_requests()
    pop(signed_in_client, phone)
    assert 1 <= localorg.api_requests() - before <= 2
    middle = localorg.api_requests()
    pop(signed_in_client, phone)
    assert localorg.api_requests() == middle


def test_a_cold_pops_two_api_requests_are_in_flight_at_the_same_time(signed_in_client, localorg):
    localorg.admin("faults", latency_ms=200)  # each request waits long enough for the other to start
    try:
        before = localorg.api_requests()
        response = pop(signed_in_client, "03-1234-5678")
    finally:
        localorg.admin("faults")
    assert shown_record(response) == (IDS["contact.yamada_taro"], "Contact")
    assert localorg.api_requests() - before == 2
    assert localorg.stats()["api_requests_peak_in_flight"] == 2


def test_a_token_both_requests_find_expired_is_renewed_once(app, signed_in_client, localorg):
    localorg.admin("faults", expire_tokens=True, latency_ms=100)  # both are sent before either hears the 401
    try:
        refreshes = localorg.stats()["oauth"].get("token", 0)
        response = pop(signed_in_client, "03-1234-5678")
    finally:
        localorg.admin("faults")
    assert shown_record(response) == (IDS["contact.yamada_taro"], "Contact")
    assert localorg.stats()["oauth"]["token"] == refreshes + 1
    assert localorg.stats()["api_requests_peak_in_flight"] == 2


@pytest.mark.parametrize("status", [503, 500, 403])
def test_salesforce_failing_with_nothing_known_shows_an_error_with_retry(signed_in_client, localorg, status):
    localorg.admin("faults", error_rate=1, error_status=status)
    response = pop(signed_in_client, "03-1234-5678")
    assert response.status_code == 200
    assert 'id="pop-error"' in response.text and 'hx-get="/panel?phone=03-1234-5678"' in response.text
    localorg.admin("faults")
    retried = pop(signed_in_client, "03-1234-5678")
    assert shown_record(retried) == (IDS["contact.yamada_taro"], "Contact")


@pytest.mark.parametrize("status", [503, 500, 403])  # 403: REQUEST_LIMIT_EXCEEDED
def test_salesforce_failing_shows_the_last_known_card_with_its_time(signed_in_client, localorg, app, status):
    assert shown_record(pop(signed_in_client, "03-1234-5678"))
    with app.app_context():
        from panel.callers.lookup import invalidate_pop
        invalidate_pop(_org_id(app), record_id=IDS["contact.yamada_taro"])
    localorg.admin("faults", error_rate=1, error_status=status)
    response = pop(signed_in_client, "03-1234-5678")
    assert shown_record(response) == (IDS["contact.yamada_taro"], "Contact")
    assert re.search(r"Salesforce unreachable — showing data from \d\d:\d\d", response.text)
    assert 'id="stale-banner"' in response.text


def test_salesforce_slower_than_the_pop_timeout_shows_the_last_known_card(signed_in_client, localorg, app):
    assert shown_record(pop(signed_in_client, "03-1234-5678"))
    with app.app_context():
        from panel.callers.lookup import invalidate_pop
        invalidate_pop(_org_id(app), record_id=IDS["contact.yamada_taro"])
    configure(app, PANEL_POP_TIMEOUT_S=0.3)
    localorg.admin("faults", latency_ms=1500)  # well within the client's usual 10 s
    try:
        response = pop(signed_in_client, "03-1234-5678")
    finally:
        localorg.admin("faults")
    assert shown_record(response) == (IDS["contact.yamada_taro"], "Contact")
    assert 'id="stale-banner"' in response.text


def _org_id(app) -> str:
    from panel.localorg.seed import ORG_ID
    return ORG_ID
