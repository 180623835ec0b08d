"""Response shapes and error codes the app relies on, checked against every configured org (see conftest.py)."""

from __future__ import annotations

import re

import pytest

from tests.contract.conftest import MARKER


def _error(answer) -> dict:
    body = answer.json()
    assert isinstance(body, list) and set(body[0]) >= {"message", "errorCode"}
    return body[0]


def test_versions_list_includes_the_api_version(contract_org):
    versions = contract_org.request("GET", "/services/data/").json()
    assert all(set(v) == {"label", "url", "version"} for v in versions)
    listed = next(v for v in versions if v["version"] == contract_org.version)
    assert listed["url"] == f"/services/data/v{contract_org.version}"


def test_garbage_session_is_invalid_session_id(contract_org):
    answer = contract_org.request("GET", "limits", token="00Dgarbage!token")
    assert answer.status_code == 401
    assert _error(answer) == {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID",
                              **({"fields": []} if contract_org.is_local else {})}


def test_api_responses_carry_the_limit_header(contract_org):
    answer = contract_org.request("GET", "limits")
    assert re.fullmatch(r"api-usage=\d+/\d+", answer.headers["Sforce-Limit-Info"])
    assert set(answer.json()["DailyApiRequests"]) >= {"Max", "Remaining"}


def test_record_lifecycle_shapes(contract_org):
    created = contract_org.request("POST", "sobjects/Contact", json={"LastName": f"{MARKER} 山田"})
    assert created.status_code == 201
    assert created.json() == {"id": created.json()["id"], "success": True, "errors": []}
    record_id = created.json()["id"]
    contract_org.created.append(("Contact", record_id))
    read = contract_org.request("GET", f"sobjects/Contact/{record_id}", params={"fields": "Name,LastName"})
    assert list(read.json()) == ["attributes", "Name", "LastName"]
    assert read.json()["attributes"] == {"type": "Contact",
                                         "url": f"/services/data/v{contract_org.version}/sobjects/Contact/{record_id}"}
    assert contract_org.request("PATCH", f"sobjects/Contact/{record_id}", json={"Title": "部長"}).status_code == 204
    assert contract_org.request("DELETE", f"sobjects/Contact/{record_id}").status_code == 204
    gone = contract_org.request("GET", f"sobjects/Contact/{record_id}")
    assert gone.status_code == 404 and _error(gone)["errorCode"] == "NOT_FOUND"


@pytest.mark.parametrize("body, code, fields", [
    ({"LastName": "x", "NoSuchField": 1}, "INVALID_FIELD", None),
    ({"FirstName": "x"}, "REQUIRED_FIELD_MISSING", ["LastName"]),
    ({"LastName": "x", "AccountId": "NotReal"}, "MALFORMED_ID", ["AccountId"]),
])
def test_create_errors(contract_org, body, code, fields):
    answer = contract_org.request("POST", "sobjects/Contact", json=body)
    assert answer.status_code == 400
    error = _error(answer)
    assert error["errorCode"] == code
    if fields is not None:
        assert error["fields"] == fields


def test_malformed_json_is_a_parser_error(contract_org):
    answer = contract_org.request("POST", "sobjects/Contact", data="{", headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and _error(answer)["errorCode"] == "JSON_PARSER_ERROR"


def test_unknown_object_is_not_found(contract_org):
    answer = contract_org.request("GET", "sobjects/NoSuchObject__c/describe")
    assert answer.status_code == 404 and _error(answer)["errorCode"] == "NOT_FOUND"


def test_composite_references_and_all_or_none(contract_org):
    prefix = f"/services/data/v{contract_org.version}"
    answer = contract_org.request("POST", "composite", json={"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": f"{prefix}/sobjects/Account", "referenceId": "acct",
         "body": {"Name": f"{MARKER} 株式会社"}},
        {"method": "POST", "url": f"{prefix}/sobjects/Contact", "referenceId": "person",
         "body": {"LastName": f"{MARKER} 試験", "AccountId": "@{acct.id}"}},
        {"method": "GET", "url": f"{prefix}/sobjects/Contact/@{{person.id}}?fields=AccountId", "referenceId": "back"},
    ]}).json()["compositeResponse"]
    contract_org.created += [("Account", answer[0]["body"]["id"]), ("Contact", answer[1]["body"]["id"])]
    assert [p["httpStatusCode"] for p in answer] == [201, 201, 200]
    assert answer[2]["body"]["AccountId"] == answer[0]["body"]["id"]
    failed = contract_org.request("POST", "composite", json={"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": f"{prefix}/sobjects/Account", "referenceId": "acct",
         "body": {"Name": f"{MARKER} 残らない"}},
        {"method": "POST", "url": f"{prefix}/sobjects/Contact", "referenceId": "bad", "body": {"FirstName": "x"}},
    ]}).json()["compositeResponse"]
    assert [p["body"][0]["errorCode"] for p in failed] == ["PROCESSING_HALTED", "REQUIRED_FIELD_MISSING"]


def test_upsert_by_external_id_creates_then_updates(contract_org):
    fields = {f["name"] for f in contract_org.request("GET", "sobjects/Task/describe").json()["fields"]}
    if "Panel_Call_Key__c" not in fields:
        pytest.skip("this org has no Task.Panel_Call_Key__c external id field")
    path = f"sobjects/Task/Panel_Call_Key__c/{MARKER}-call-1"
    first = contract_org.request("PATCH", path, json={"Subject": f"{MARKER} 通話"})
    contract_org.created.append(("Task", first.json()["id"]))
    second = contract_org.request("PATCH", path, json={"Subject": f"{MARKER} 通話 2"})
    assert (first.status_code, first.json()["created"]) == (201, True)
    assert (second.status_code, second.json()) == (200, {"id": first.json()["id"], "success": True, "errors": [],
                                                         "created": False})
