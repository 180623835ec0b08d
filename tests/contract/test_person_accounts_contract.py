"""Person Accounts, checked against the documented answers (SOAP API Developer Guide, "Person Account Record Types";
Field Reference, RecordType): the person record type, a person account and its person contact, and the pop's
statements naming the person fields. The local org is shaped with `POST /_admin/org {"person_accounts": true}`; a
real org is used as it is, and skipped unless it has Person Accounts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from panel.salesforce import queries

PERSON_PHONES = ("Phone", "PersonMobilePhone", "PersonHomePhone", "PersonOtherPhone", "PersonAssistantPhone")


@pytest.fixture
def person_org(contract_org, request):
    """The org with Person Accounts, or a skip."""
    if contract_org.is_local:
        request.getfixturevalue("localorg").admin("org", person_accounts=True)
    fields = {f["name"] for f in contract_org.request("GET", "sobjects/Account/describe").json()["fields"]}
    if "IsPersonAccount" not in fields:
        pytest.skip("this org has no Person Accounts")
    return contract_org


def test_a_person_account_has_a_person_contact_and_the_persons_fields(person_org):
    types = person_org.request("GET", "query", params={
        "q": "SELECT Id FROM RecordType WHERE SobjectType = 'Account' AND IsPersonType = true"}).json()
    assert types["totalSize"] >= 1
    created = person_org.request("POST", "sobjects/Account", json={
        "RecordTypeId": types["records"][0]["Id"], "LastName": "PanelContract", "FirstName": "Person",
        "PersonMobilePhone": "090-0000-1111"})
    assert created.status_code == 201
    account_id = created.json()["id"]
    try:
        account = person_org.request("GET", "query", params={
            "q": "SELECT IsPersonAccount, PersonContactId, PersonMobilePhone FROM Account "
                 f"WHERE Id = '{account_id}'"}).json()["records"][0]
        assert account["IsPersonAccount"] is True and account["PersonContactId"].startswith("003")
        contact = person_org.request("GET", "query", params={
            "q": f"SELECT AccountId, IsPersonAccount, MobilePhone FROM Contact "
                 f"WHERE Id = '{account['PersonContactId']}'"}).json()["records"][0]
        assert (contact["AccountId"][:15], contact["IsPersonAccount"], contact["MobilePhone"]) == (
            account_id[:15], True, "090-0000-1111")
    finally:
        person_org.request("DELETE", f"sobjects/Account/{account_id}")


def test_the_pops_statements_naming_the_person_fields_are_accepted(person_org):
    fields = queries.PopFields(phones=(("Contact", queries.POP_PHONE_FIELDS["Contact"]), ("Account", PERSON_PHONES),
                                       ("Lead", queries.POP_PHONE_FIELDS["Lead"])),
                               person_accounts=True, described=True)
    for sosl in (queries.screen_pop_phone_search('{"09000001111"}', fields),
                 queries.screen_pop_text_search('{"PanelContract"}', fields)):
        assert person_org.request("GET", "search", params={"q": sosl}).status_code == 200
    since = datetime.now(timezone.utc) - timedelta(minutes=15)
    for soql in (queries.screen_pop_account_cards([], since, ["%111%"], fields),
                 queries.screen_pop_contact_cards([], since, ["%111%"], fields)):
        assert person_org.request("GET", "query", params={"q": soql}).status_code == 200


def test_without_person_accounts_the_person_fields_are_refused(contract_org):
    fields = {f["name"] for f in contract_org.request("GET", "sobjects/Account/describe").json()["fields"]}
    if "IsPersonAccount" in fields:
        pytest.skip("this org has Person Accounts")
    refused = contract_org.request("GET", "query", params={"q": "SELECT PersonMobilePhone FROM Account"})
    assert refused.status_code == 400 and refused.json()[0]["errorCode"] == "INVALID_FIELD"
