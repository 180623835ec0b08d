"""The local org shaped as admins configure real orgs (`POST /_admin/org`): custom phone fields, encrypted fields and
objects a user may not read answer as Salesforce documents them."""

from __future__ import annotations

import pytest
import requests

from panel.localorg import seed

YAMADA = seed.IDS["contact.yamada_taro"]


def query(api, soql: str) -> requests.Response:
    return api.get(f"{api.base}/query", params={"q": soql}, timeout=10)


def search(api, sosl: str) -> requests.Response:
    return api.get(f"{api.base}/search", params={"q": sosl}, timeout=10)


def describe(api, sobject: str) -> requests.Response:
    return api.get(f"{api.base}/sobjects/{sobject}/describe", timeout=10)


# -- custom phone fields ----------------------------------------------------------------------------------------------

def test_a_custom_phone_field_is_described_written_read_and_searched_in_phone_fields(api, localorg):
    localorg.admin("org", custom_phone_fields=["Contact.Phone2__c"])
    fields = {f["name"]: f for f in describe(api, "Contact").json()["fields"]}
    assert fields["Phone2__c"]["type"] == "phone" and fields["Phone2__c"]["custom"] is True
    assert api.patch(f"{api.base}/sobjects/Contact/{YAMADA}", json={"Phone2__c": "075-111-2222"},
                     timeout=10).status_code == 204
    read = query(api, f"SELECT Phone2__c FROM Contact WHERE Phone2__c LIKE '%2222' AND Id = '{YAMADA}'")
    assert read.json()["records"][0]["Phone2__c"] == "075-111-2222"
    localorg.admin("clock", advance_s=3600)  # past the search index's lag
    found = search(api, "FIND {0751112222} IN PHONE FIELDS RETURNING Contact(Id, Phone2__c)").json()
    assert [r["Id"] for r in found["searchRecords"]] == [YAMADA]


def test_without_the_setting_the_custom_field_does_not_exist(api, localorg):
    answer = query(api, "SELECT Phone2__c FROM Contact")
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "INVALID_FIELD"


# -- encrypted fields ----------------------------------------------------------------------------------------------

def test_an_encrypted_field_is_read_and_searched_but_neither_filtered_nor_sorted(api, localorg):
    localorg.admin("org", encrypted_fields=["Contact.MobilePhone"])
    mobile = {f["name"]: f for f in describe(api, "Contact").json()["fields"]}["MobilePhone"]
    assert (mobile["filterable"], mobile["sortable"]) == (False, False)
    for soql in ("SELECT Id FROM Contact WHERE MobilePhone LIKE '%5678'",
                 "SELECT Id FROM Contact ORDER BY MobilePhone"):
        refused = query(api, soql)
        assert refused.status_code == 400 and refused.json()[0]["errorCode"] == "INVALID_FIELD"
        assert "MobilePhone" in refused.json()[0]["message"]
    assert query(api, f"SELECT MobilePhone FROM Contact WHERE Id = '{YAMADA}'").json()["records"][0][
        "MobilePhone"] == "090-1234-5678"
    found = search(api, "FIND {09012345678} IN PHONE FIELDS RETURNING Contact(Id, MobilePhone)").json()
    assert [r["Id"] for r in found["searchRecords"]] == [YAMADA]


# -- objects a user may not read ------------------------------------------------------------------------------------

def test_an_object_the_user_may_not_read_is_not_there_for_that_user(api, localorg):
    localorg.admin("org", object_access={seed.INTEGRATION_USERNAME: {"Lead": "none"}})
    for refused in (query(api, "SELECT Id FROM Lead"),
                    search(api, "FIND {0521234567} IN PHONE FIELDS RETURNING Contact(Id), Lead(Id)")):
        assert refused.status_code == 400 and refused.json()[0]["errorCode"] == "INVALID_TYPE"
        assert "Lead" in refused.json()[0]["message"]
    assert describe(api, "Lead").status_code == 404
    listed = {o["name"] for o in api.get(f"{api.base}/sobjects", timeout=10).json()["sobjects"]}
    assert "Lead" not in listed and "Contact" in listed
    assert search(api, "FIND {0521234567} IN PHONE FIELDS RETURNING Contact(Id)").status_code == 200


def test_object_access_is_per_user(localorg, api):
    localorg.admin("org", object_access={"agent2@example.com": {"Lead": "none"}})
    assert query(api, "SELECT Id FROM Lead").status_code == 200


def test_read_access_lets_the_user_read_but_not_create(api, localorg):
    localorg.admin("org", object_access={seed.INTEGRATION_USERNAME: {"Lead": "read"}})
    assert query(api, "SELECT Id FROM Lead").status_code == 200
    assert describe(api, "Lead").json()["createable"] is False
    created = api.post(f"{api.base}/sobjects/Lead", json={"LastName": "試験", "Company": "試験"}, timeout=10)
    assert created.status_code == 400 and created.json()[0]["errorCode"] == "INVALID_TYPE"
