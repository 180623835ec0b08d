"""Creating, reading, updating, deleting and upserting records: Salesforce's responses and validation errors."""

from __future__ import annotations

import pytest
import requests
from simple_salesforce.exceptions import SalesforceError, SalesforceMalformedRequest, SalesforceResourceNotFound

from panel.localorg import seed

YAMADA = seed.IDS["contact.yamada_taro"]
YAMADA_SHOJI = seed.IDS["account.yamada_shoji"]


def _errors(error: SalesforceError) -> list[dict]:
    return error.content


def test_created_contact_has_system_and_calculated_fields(sf):
    created = sf.Contact.create({"LastName": "佐々木", "FirstName": "愛", "AccountId": YAMADA_SHOJI,
                                 "Phone": "03-9999-0000"})
    assert created["success"] is True and created["errors"] == [] and created["id"].startswith("003")
    assert len(created["id"]) == 18
    record = sf.Contact.get(created["id"])
    assert record["Name"] == "佐々木 愛"  # the ja_JP name format: family name first
    assert record["OwnerId"] == record["CreatedById"] == seed.USER_IDS["integration"]
    assert record["CreatedDate"].endswith("+0000") and record["IsDeleted"] is False
    assert record["attributes"] == {"type": "Contact", "url": f"/services/data/v62.0/sobjects/Contact/{created['id']}"}


def test_get_by_15_character_id_and_field_list(sf):
    record = sf.Contact.get(YAMADA[:15], params={"fields": "Name,Phone"})
    assert record == {"attributes": {"type": "Contact", "url": f"/services/data/v62.0/sobjects/Contact/{YAMADA}"},
                      "Name": "山田 太郎", "Phone": "03-1234-5678"}


def test_update_recomputes_name_and_answers_no_content(sf):
    assert sf.Contact.update(YAMADA, {"FirstName": "次郎"}) == 204
    assert sf.Contact.get(YAMADA)["Name"] == "山田 次郎"


def test_completing_a_task_sets_is_closed_and_completed_time(sf):
    task_id = sf.Task.create({"Subject": "折り返し", "WhoId": YAMADA})["id"]
    task = sf.Task.get(task_id)
    assert task["IsClosed"] is False and task["CompletedDateTime"] is None
    assert task["AccountId"] == YAMADA_SHOJI and task["Status"] == "Not Started" and task["Priority"] == "Normal"
    sf.Task.update(task_id, {"Status": "Completed"})
    task = sf.Task.get(task_id)
    assert task["IsClosed"] is True and task["CompletedDateTime"]


def test_task_account_follows_the_what_opportunity(sf):
    opportunity = seed.IDS["opportunity.sakura_mes"]
    task = sf.Task.get(sf.Task.create({"Subject": "x", "WhatId": opportunity})["id"])
    assert task["AccountId"] == seed.IDS["account.sakura_kogyo"]


def test_opportunity_closed_and_won_follow_the_stage(sf):
    opp_id = sf.Opportunity.create({"Name": "新規", "StageName": "Prospecting", "CloseDate": "2026-12-31"})["id"]
    assert (sf.Opportunity.get(opp_id)["IsClosed"], sf.Opportunity.get(opp_id)["IsWon"]) == (False, False)
    sf.Opportunity.update(opp_id, {"StageName": "Closed Won"})
    assert (sf.Opportunity.get(opp_id)["IsClosed"], sf.Opportunity.get(opp_id)["IsWon"]) == (True, True)


@pytest.mark.parametrize("sobject, body, code, fields", [
    ("Contact", {"LastName": "x", "Foo": 1}, "INVALID_FIELD", []),
    ("Contact", {"LastName": "x", "Name": "y"}, "INVALID_FIELD_FOR_INSERT_UPDATE", ["Name"]),
    ("Contact", {"FirstName": "x"}, "REQUIRED_FIELD_MISSING", ["LastName"]),
    ("Opportunity", {"Name": "x", "StageName": "Prospecting"}, "REQUIRED_FIELD_MISSING", ["CloseDate"]),
    ("Task", {"Status": "Done"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["Status"]),
    ("Contact", {"LastName": "x" * 81}, "STRING_TOO_LONG", ["LastName"]),
    ("Contact", {"LastName": "x", "AccountId": "NotReal"}, "MALFORMED_ID", ["AccountId"]),
    ("Contact", {"LastName": "x", "AccountId": YAMADA}, "FIELD_INTEGRITY_EXCEPTION", ["AccountId"]),
    ("Contact", {"LastName": "x", "AccountId": "001000000000000AAA"}, "INVALID_CROSS_REFERENCE_KEY", ["AccountId"]),
    ("Opportunity", {"Name": "x", "StageName": "Prospecting", "CloseDate": "31/12/2026"}, "JSON_PARSER_ERROR",
     ["CloseDate"]),
    ("Opportunity", {"Name": "x", "StageName": "Prospecting", "CloseDate": "2026-12-31", "Amount": "lots"},
     "JSON_PARSER_ERROR", ["Amount"]),
    ("Task", {"CallDurationInSeconds": 1.5}, "JSON_PARSER_ERROR", ["CallDurationInSeconds"]),
    ("Contact", {"LastName": "x", "Email": "not-an-email"}, "INVALID_EMAIL_ADDRESS", ["Email"]),
    ("Contact", {"LastName": {"nested": True}}, "JSON_PARSER_ERROR", ["LastName"]),
    ("User", {"LastName": "x"}, "INVALID_TYPE", []),
])
def test_invalid_create_gets_salesforce_error(sf, sobject, body, code, fields):
    with pytest.raises(SalesforceMalformedRequest) as raised:
        getattr(sf, sobject).create(body)
    error = _errors(raised.value)[0]
    assert error["errorCode"] == code
    assert error["fields"] == fields
    assert error["message"]


def test_unknown_field_message_names_the_field_and_object(sf):
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.Contact.create({"LastName": "x", "Foo": 1})
    assert _errors(raised.value)[0]["message"] == "No such column 'Foo' on sobject of type Contact"


def test_clearing_a_required_field_on_update_is_refused(sf):
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.Contact.update(YAMADA, {"LastName": None})
    assert _errors(raised.value)[0]["errorCode"] == "REQUIRED_FIELD_MISSING"


def test_read_only_field_on_update_is_refused(sf):
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.Task.update(seed.IDS["task.yamada_undated"], {"IsClosed": True})
    assert _errors(raised.value)[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_deleted_record_is_gone_and_cannot_be_deleted_twice(sf):
    task_id = seed.IDS["task.yamada_undated"]
    assert sf.Task.delete(task_id) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Task.get(task_id)
    with pytest.raises(SalesforceResourceNotFound) as raised:
        sf.Task.delete(task_id)
    assert _errors(raised.value)[0]["errorCode"] == "ENTITY_IS_DELETED"


@pytest.mark.parametrize("record_id", ["garbage", "003000000000000", YAMADA_SHOJI])
def test_get_of_a_missing_or_mistyped_id_is_not_found(sf, record_id):
    with pytest.raises(SalesforceResourceNotFound):
        sf.Contact.get(record_id)


def test_upsert_creates_then_updates_by_external_id(sf):
    created = sf.Task.upsert("Panel_Call_Key__c/call-123", {"Subject": "通話", "WhoId": YAMADA})
    assert created == 201
    again = sf.Task.upsert("Panel_Call_Key__c/call-123", {"Subject": "通話 - 着信 / 3分"})
    assert again == 200
    task = sf.Task.get_by_custom_id("Panel_Call_Key__c", "call-123")
    assert task["Subject"] == "通話 - 着信 / 3分" and task["WhoId"] == YAMADA


def test_upsert_response_bodies_say_whether_the_record_was_created(localorg, sf):
    url = f"{localorg.url}/services/data/v62.0/sobjects/Task/Panel_Call_Key__c/call-9"
    headers = {"Authorization": f"Bearer {sf.session_id}"}
    first = requests.patch(url, json={"Subject": "a"}, headers=headers, timeout=10)
    second = requests.patch(url, json={"Subject": "b"}, headers=headers, timeout=10)
    assert (first.status_code, first.json()["created"]) == (201, True)
    assert (second.status_code, second.json()) == (200, {"id": first.json()["id"], "success": True, "errors": [],
                                                         "created": False})


def test_upsert_by_a_field_that_is_no_external_id_is_not_found(sf):
    with pytest.raises(SalesforceResourceNotFound):
        sf.Task.upsert("Subject/x", {"Status": "Completed"})


def test_duplicate_external_id_on_create_is_refused(sf):
    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.Task.create({"Subject": "x", "Panel_Call_Key__c": "seed-call-0001"})
    assert _errors(raised.value)[0]["errorCode"] == "DUPLICATE_VALUE"


def test_describe_lists_fields_with_types_and_picklists(sf):
    described = sf.Task.describe()
    fields = {f["name"]: f for f in described["fields"]}
    assert described["keyPrefix"] == "00T"
    assert fields["Status"]["restrictedPicklist"] is True
    assert "Completed" in [p["value"] for p in fields["Status"]["picklistValues"]]
    assert fields["WhoId"]["referenceTo"] == ["Contact", "Lead"] and fields["WhoId"]["relationshipName"] == "Who"
    assert fields["Panel_Call_Key__c"]["externalId"] is True


def test_global_describe_lists_the_objects(sf):
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert {"Account", "Contact", "Lead", "Opportunity", "OpportunityContactRole", "Task", "User"} <= names


def test_unknown_object_is_not_found(sf):
    with pytest.raises(SalesforceResourceNotFound):
        sf.Foo__c.describe()
