"""The screen pop in an org with Person Accounts: a person account and its person contact are one caller, shown as
the person (not a company), found by any of the person's phones; an org without them pays nothing for it."""

from __future__ import annotations

from test_screen_pop import pop, shown_record

MOBILE = "090-7777-0001"


def person_account(sf, **values) -> tuple[str, str]:
    """(account Id, person contact Id) of a new person account, created as Salesforce's API creates one."""
    record_type = sf.query("SELECT Id FROM RecordType WHERE SobjectType = 'Account' AND IsPersonType = true")
    account_id = sf.Account.create({"RecordTypeId": record_type["records"][0]["Id"], "LastName": "森",
                                    "FirstName": "陽菜", "PersonMobilePhone": MOBILE, "PersonTitle": "デザイナー",
                                    **values})["id"]
    return account_id, sf.Account.get(account_id)["PersonContactId"]


def index_catches_up(localorg) -> None:
    localorg.admin("clock", advance_s=3600)  # past the search index's lag


def test_a_person_account_found_by_its_mobile_shows_one_card_with_the_persons_name(signed_in_client, localorg, sf):
    localorg.admin("org", person_accounts=True)
    account_id, _ = person_account(sf)
    index_catches_up(localorg)
    before = localorg.api_requests()
    found = pop(signed_in_client, "+81 90 7777 0001")
    assert shown_record(found) == (account_id, "Account")  # one caller, not "2 records match"
    assert "森 陽菜" in found.text and "デザイナー" in found.text
    assert '<span class="record-type">Person account</span>' in found.text
    assert 'class="card-company"' not in found.text
    assert 'data-dial="+819077770001"' in found.text
    # the search finds the account by a phone the pop did not read: one describe, then the two again
    assert localorg.api_requests() - before == 5
    middle = localorg.api_requests()
    assert shown_record(pop(signed_in_client, "03-2345-6789")) is not None
    assert localorg.api_requests() - middle == 2  # described once: later cold pops cost what they always do


def test_a_person_account_saved_a_moment_ago_is_found_by_its_home_phone(signed_in_client, localorg, sf):
    localorg.admin("org", person_accounts=True)
    pop(signed_in_client, "03-2345-6789")  # not yet described: nothing here says the org has person accounts
    account_id, _ = person_account(sf, PersonMobilePhone=None, PersonHomePhone="045-333-4444")
    found = pop(signed_in_client, "045-333-4444")
    assert shown_record(found) == (account_id, "Account")


def test_the_person_account_card_speaks_the_agents_language(signed_in_client, localorg, sf):
    localorg.admin("org", person_accounts=True)
    person_account(sf)
    index_catches_up(localorg)
    found = pop(signed_in_client, MOBILE, lang="ja")
    assert '<span class="record-type">個人取引先</span>' in found.text


def test_an_org_without_person_accounts_is_not_described(signed_in_client, localorg):
    pop(signed_in_client, "090-1234-5678")
    pop(signed_in_client, "011-222-3333")  # an Account's main line
    assert "describe" not in localorg.stats()["endpoints"]
