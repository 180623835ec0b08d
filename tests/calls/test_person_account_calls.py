"""A call from a person account (an org with Person Accounts) is logged against the person: WhatId the account,
WhoId its person contact, whether the pop found it alone or the agent picked it during the call."""

from __future__ import annotations

import re

from calls_support import Dialer, call_tasks, run_call

MOBILE = "090-7777-0002"
SHARED = "06-6123-4567"
HX = {"HX-Request": "true"}


def person_account(sf) -> tuple[str, str]:
    record_type = sf.query("SELECT Id FROM RecordType WHERE SobjectType = 'Account' AND IsPersonType = true")
    account_id = sf.Account.create({"RecordTypeId": record_type["records"][0]["Id"], "LastName": "森",
                                    "FirstName": "陽菜", "PersonMobilePhone": MOBILE})["id"]
    return account_id, sf.Account.get(account_id)["PersonContactId"]


def full_call(dialer: Dialer) -> list[dict]:
    return [dialer.ringing(), dialer.answered(), dialer.ended(duration=95)]


def test_a_call_from_a_person_account_is_logged_with_the_account_and_its_person_contact(
        app, signed_in_client, localorg, sf):
    localorg.admin("org", person_accounts=True)
    account_id, contact_id = person_account(sf)
    localorg.admin("clock", advance_s=3600)  # past the search index's lag
    dialer = Dialer(signed_in_client, "call-person-account", number=MOBILE)
    dialer.send(*full_call(dialer))
    run_call(app, dialer.call_id)
    tasks = call_tasks(sf, dialer.call_id)
    assert [(t["WhatId"], t["WhoId"]) for t in tasks] == [(account_id, contact_id)]


def test_a_person_account_picked_during_the_call_is_logged_with_its_person_contact(
        app, signed_in_client, localorg, sf):
    localorg.admin("org", person_accounts=True)
    account_id, contact_id = person_account(sf)
    sf.Account.update(account_id, {"PersonHomePhone": SHARED})  # the number two seeded Contacts share too
    localorg.admin("clock", advance_s=3600)
    dialer = Dialer(signed_in_client, "call-person-picked", number=SHARED)
    dialer.send(dialer.ringing())
    page = signed_in_client.get(f"/panel?phone={SHARED}&call_id={dialer.call_id}", headers=HX).text
    assert 'id="matches"' in page and account_id in page
    picked = signed_in_client.post("/panel/pick", headers=HX, data={
        "record_id": account_id, "phone": SHARED, "call_id": dialer.call_id,
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)})
    assert picked.status_code == 200
    dialer.send(dialer.answered(), dialer.ended(duration=95))
    run_call(app, dialer.call_id)
    tasks = call_tasks(sf, dialer.call_id)
    assert [(t["WhatId"], t["WhoId"]) for t in tasks] == [(account_id, contact_id)]


def test_a_note_written_on_a_person_accounts_card_logs_the_call_with_its_person_contact(
        app, signed_in_client, localorg, sf):
    localorg.admin("org", person_accounts=True)
    account_id, contact_id = person_account(sf)
    localorg.admin("clock", advance_s=3600)
    dialer = Dialer(signed_in_client, "call-person-note", number=MOBILE)
    dialer.send(dialer.ringing(), dialer.answered())
    run_call(app, dialer.call_id)  # the ringing call's pre-fetch keeps the matches: the person account
    form = signed_in_client.get(f"/panel/records/{account_id}/tasks/new?record_type=Account"
                                f"&call_id={dialer.call_id}", headers=HX).text
    noted = signed_in_client.post(f"/panel/records/{account_id}/tasks", headers=HX, data={
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', form).group(1), "record_type": "Account",
        "active_call_id": dialer.call_id, "call_id": dialer.call_id, "subject": "折り返し", "notes": "見積の件"})
    assert noted.status_code == 200, noted.text
    dialer.send(dialer.ended(duration=95))
    run_call(app, dialer.call_id)
    tasks = call_tasks(sf, dialer.call_id)
    assert [(t["WhatId"], t["WhoId"]) for t in tasks] == [(account_id, contact_id)]
    assert "見積の件" in tasks[0]["Description"]
