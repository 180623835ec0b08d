"""The local org with Person Accounts on (`POST /_admin/org {"person_accounts": true}`): a person account is an Account
of the person record type, with a person contact, as Salesforce's "Person Account Record Types" describes."""

from __future__ import annotations

import requests

from panel.localorg import seed

HOKKAIDO = seed.IDS["account.hokkaido_foods"]
PERSON_FIELDS = ("PersonMobilePhone", "PersonHomePhone", "PersonOtherPhone", "PersonAssistantPhone")


def query(api, soql: str) -> requests.Response:
    return api.get(f"{api.base}/query", params={"q": soql}, timeout=10)


def person_record_type(api) -> str:
    rows = query(api, "SELECT Id FROM RecordType WHERE SobjectType = 'Account' AND IsPersonType = true").json()
    assert rows["totalSize"] == 1
    return rows["records"][0]["Id"]


def create_person(api, **values) -> requests.Response:
    return api.post(f"{api.base}/sobjects/Account",
                    json={"RecordTypeId": person_record_type(api), "LastName": "中村", "FirstName": "美咲",
                          "PersonMobilePhone": "090-5555-0001", "PersonEmail": "misaki@example.jp",
                          "PersonTitle": "会社員", **values}, timeout=10)


def test_creating_an_account_of_the_person_record_type_makes_a_person_account_and_its_person_contact(api, localorg):
    localorg.admin("org", person_accounts=True)
    created = create_person(api)
    assert created.status_code == 201
    account_id = created.json()["id"]
    account = query(api, "SELECT Name, FirstName, LastName, IsPersonAccount, PersonContactId, PersonMobilePhone, "
                         f"PersonEmail, PersonTitle FROM Account WHERE Id = '{account_id}'").json()["records"][0]
    assert account["Name"] == "中村 美咲"  # the org's ja_JP name format: family name first
    assert account["IsPersonAccount"] is True and account["PersonMobilePhone"] == "090-5555-0001"
    contact = query(api, "SELECT Name, AccountId, IsPersonAccount, MobilePhone, Email, Title FROM Contact "
                         f"WHERE Id = '{account['PersonContactId']}'").json()["records"][0]
    assert contact == {**contact, "Name": "中村 美咲", "AccountId": account_id, "IsPersonAccount": True,
                       "MobilePhone": "090-5555-0001", "Email": "misaki@example.jp", "Title": "会社員"}


def test_the_person_contact_follows_the_account_and_goes_with_it(api, localorg):
    localorg.admin("org", person_accounts=True)
    account_id = create_person(api).json()["id"]
    assert api.patch(f"{api.base}/sobjects/Account/{account_id}", json={"PersonMobilePhone": "080-1111-2222"},
                     timeout=10).status_code == 204
    contact = query(api, f"SELECT Id, MobilePhone FROM Contact WHERE AccountId = '{account_id}'").json()["records"]
    assert [c["MobilePhone"] for c in contact] == ["080-1111-2222"]
    assert api.delete(f"{api.base}/sobjects/Account/{account_id}", timeout=10).status_code == 204
    assert query(api, f"SELECT Id FROM Contact WHERE AccountId = '{account_id}'").json()["totalSize"] == 0


def test_person_phone_fields_are_phone_fields_in_describe_and_in_a_phone_search(api, localorg):
    localorg.admin("org", person_accounts=True)
    fields = {f["name"]: f for f in api.get(f"{api.base}/sobjects/Account/describe", timeout=10).json()["fields"]}
    assert all(fields[name]["type"] == "phone" for name in PERSON_FIELDS)
    assert fields["IsPersonAccount"]["type"] == "boolean" and fields["PersonContactId"]["referenceTo"] == ["Contact"]
    account_id = create_person(api).json()["id"]
    localorg.admin("clock", advance_s=3600)  # past the search index's lag
    found = api.get(f"{api.base}/search", timeout=10, params={
        "q": "FIND {09055550001} IN PHONE FIELDS RETURNING Account(Id, IsPersonAccount), Contact(Id, AccountId)"})
    hits = {(r["attributes"]["type"], r["Id"]) for r in found.json()["searchRecords"]}
    assert ("Account", account_id) in hits and len(hits) == 2  # the account and its person contact


def test_business_accounts_keep_their_name_and_are_not_people(api, localorg):
    localorg.admin("org", person_accounts=True)
    business = query(api, f"SELECT Name, IsPersonAccount, LastName FROM Account WHERE Id = '{HOKKAIDO}'").json()
    assert business["records"][0]["IsPersonAccount"] is False and business["records"][0]["LastName"] is None
    nameless = api.post(f"{api.base}/sobjects/Account", json={"Phone": "03-0000-0000"}, timeout=10)
    assert nameless.status_code == 400 and nameless.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    person_field = api.post(f"{api.base}/sobjects/Account", json={"Name": "株式会社テスト", "LastName": "山田"},
                            timeout=10)
    assert person_field.status_code == 400
    assert person_field.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    no_last_name = create_person(api, LastName=None)
    assert no_last_name.status_code == 400 and no_last_name.json()[0]["fields"] == ["LastName"]


def test_without_the_setting_person_fields_do_not_exist_and_no_record_type_is_a_person_type(api, localorg):
    for soql in ("SELECT PersonMobilePhone FROM Account", "SELECT IsPersonAccount FROM Contact",
                 "SELECT RecordTypeId FROM Account"):
        refused = query(api, soql)
        assert refused.status_code == 400 and refused.json()[0]["errorCode"] == "INVALID_FIELD"
    none = query(api, "SELECT Id FROM RecordType WHERE SobjectType = 'Account' AND IsPersonType = true").json()
    assert none["totalSize"] == 0
