"""The REST API's plumbing: versions, errors, limits header, request counting, composite, faults, admin."""

from __future__ import annotations

import time

import pytest
import requests

from panel.localorg import create_localorg, seed

YAMADA = seed.IDS["contact.yamada_taro"]


def test_versions_are_listed_without_a_session(localorg):
    versions = requests.get(f"{localorg.url}/services/data/", timeout=10).json()
    assert {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"} in versions
    assert versions[0]["version"] == "50.0"


@pytest.mark.parametrize("path", ["/services/data/v49.0/limits", "/services/data/v99.0/limits",
                                  "/services/data/latest/limits", "/services/data/v62.0/nothing/here",
                                  "/services/nothing"])
def test_unknown_version_or_resource_is_not_found(api, localorg, path):
    answer = api.get(f"{localorg.url}{path}", timeout=10)
    assert answer.status_code == 404
    assert answer.json()[0]["errorCode"] == "NOT_FOUND"


def test_every_api_response_carries_the_limit_header_and_counts(api, localorg):
    first = api.get(f"{api.base}/limits", timeout=10)
    assert first.headers["Sforce-Limit-Info"] == "api-usage=1/15000"
    failed = api.post(f"{api.base}/sobjects/Contact", json={"Foo": 1}, timeout=10)
    assert failed.status_code == 400 and failed.headers["Sforce-Limit-Info"] == "api-usage=2/15000"
    limits = api.get(f"{api.base}/limits", timeout=10).json()
    assert limits["DailyApiRequests"] == {"Max": 15000, "Remaining": 15000 - 3}
    assert localorg.stats()["endpoints"] == {"limits": 2, "sobjects": 1}


def test_method_not_allowed_is_salesforce_shaped(api):
    answer = api.put(f"{api.base}/sobjects/Contact/{YAMADA}", json={}, timeout=10)
    assert answer.status_code == 405 and answer.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize("body", [b"{", b"not json", b"[1,", b"\xff\xfe", b""])
def test_malformed_json_is_a_parser_error(api, body):
    answer = api.post(f"{api.base}/sobjects/Contact", data=body, headers={"Content-Type": "application/json"},
                      timeout=10)
    assert answer.status_code == 400
    assert answer.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


@pytest.mark.parametrize("path, body", [
    ("sobjects/Contact", b'{"LastName": "\\ud800"}'),  # found by tests/test_fuzz.py: a 500 storing it
    ("sobjects/Contact", b'{"LastName": "x", "Title": "\\udfff\\ud800"}'),
    ("sobjects/Contact", b'{"LastName": "x", "\\ud800": 1}'),
    ("composite/sobjects", b'{"records": [{"attributes": {"type": "Contact"}, "LastName": "\\ud800"}]}'),
])
def test_a_lone_surrogate_in_a_body_is_a_parser_error_not_a_500(api, path, body):
    answer = api.post(f"{api.base}/{path}", data=body, headers={"Content-Type": "application/json"}, timeout=10)
    assert answer.status_code == 400, answer.text
    assert answer.json()[0]["errorCode"] == "JSON_PARSER_ERROR" and "surrogate" in answer.json()[0]["message"]


def test_an_escaped_surrogate_pair_is_one_ordinary_character(api):
    created = api.post(f"{api.base}/sobjects/Contact", data=b'{"LastName": "\\ud83d\\udcde"}',
                       headers={"Content-Type": "application/json"}, timeout=10)
    assert created.status_code == 201, created.text
    assert api.get(f"{api.base}/sobjects/Contact/{created.json()['id']}", timeout=10).json()["LastName"] == "\U0001F4DE"


@pytest.mark.parametrize("body", [[], "text", 5, None, [{"LastName": "x"}]])
def test_json_that_is_no_record_is_refused_cleanly(api, body):
    answer = api.post(f"{api.base}/sobjects/Contact", json=body, timeout=10)
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_oversized_body_is_refused_with_413(localorg_server, tmp_path):
    small = create_localorg({"DATABASE": str(tmp_path / "small.sqlite3"), "MAX_BODY_BYTES": 1000})
    client = small.test_client()
    token = client.post("/services/oauth2/token", data={
        "grant_type": "client_credentials", "client_id": "panel-local", "client_secret": "panel-local-secret"}).json
    answer = client.post("/services/data/v62.0/sobjects/Contact", json={"LastName": "x" * 2000},
                         headers={"Authorization": f"Bearer {token['access_token']}"})
    assert answer.status_code == 413
    assert answer.json[0]["errorCode"] == "REQUEST_ENTITY_TOO_LARGE"


def test_composite_resolves_references_and_counts_as_one_request(api, localorg):
    answer = api.post(f"{api.base}/composite", json={"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "referenceId": "newAccount",
         "body": {"Name": "株式会社テスト"}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "newContact",
         "body": {"LastName": "試験", "AccountId": "@{newAccount.id}"}},
        {"method": "GET", "url": "/services/data/v62.0/sobjects/Contact/@{newContact.id}?fields=AccountId",
         "referenceId": "readBack"},
    ]}, timeout=10)
    assert answer.status_code == 200
    parts = answer.json()["compositeResponse"]
    assert [p["httpStatusCode"] for p in parts] == [201, 201, 200]
    assert parts[2]["body"]["AccountId"] == parts[0]["body"]["id"]
    assert parts[0]["httpHeaders"]["Location"].startswith("/services/data/v62.0/sobjects/Account/")
    assert localorg.api_requests() == 1
    assert localorg.stats()["endpoints"] == {"composite": 1}


def test_composite_all_or_none_rolls_back_and_halts_the_rest(api, sf, localorg):
    answer = api.post(f"{api.base}/composite", json={"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "referenceId": "acct",
         "body": {"Name": "ロールバック株式会社"}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "bad",
         "body": {"FirstName": "名無し", "AccountId": "@{acct.id}"}},
        {"method": "PATCH", "url": f"/services/data/v62.0/sobjects/Contact/{YAMADA}", "referenceId": "later",
         "body": {"Title": "変更されない"}},
    ]}, timeout=10).json()["compositeResponse"]
    assert [p["body"][0]["errorCode"] for p in answer] == ["PROCESSING_HALTED", "REQUIRED_FIELD_MISSING",
                                                            "PROCESSING_HALTED"]
    assert sf.Contact.get(YAMADA)["Title"] == "営業部長"
    accounts = localorg.app.extensions["localorg"].store.rows("Account", include_deleted=True)
    assert "ロールバック株式会社" not in [a["Name"] for a in accounts]


def test_composite_without_all_or_none_keeps_what_succeeded(api, sf):
    answer = api.post(f"{api.base}/composite", json={"compositeRequest": [
        {"method": "PATCH", "url": f"/services/data/v62.0/sobjects/Contact/{YAMADA}", "referenceId": "ok",
         "body": {"Title": "部長"}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "bad", "body": {}},
        {"method": "GET", "url": "/services/data/v62.0/sobjects/Contact/@{bad.id}", "referenceId": "dependent"},
    ]}, timeout=10).json()["compositeResponse"]
    assert [p["httpStatusCode"] for p in answer] == [204, 400, 400]
    assert answer[2]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert sf.Contact.get(YAMADA)["Title"] == "部長"


@pytest.mark.parametrize("body", [
    {}, {"compositeRequest": []}, {"compositeRequest": "x"},
    {"compositeRequest": [{"method": "GET", "url": "/services/data/v62.0/limits"}]},
    {"compositeRequest": [{"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": "a"}] * 2},
    {"compositeRequest": [{"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": f"r{i}"}
                          for i in range(26)]},
    {"allOrNone": "yes", "compositeRequest": [{"method": "GET", "url": "/x", "referenceId": "a"}]},
])
def test_malformed_composite_request_is_refused(api, body):
    answer = api.post(f"{api.base}/composite", json=body, timeout=10)
    assert answer.status_code == 400 and answer.json()[0]["errorCode"]


def test_composite_refuses_subrequests_it_does_not_serve(api):
    answer = api.post(f"{api.base}/composite", json={"compositeRequest": [
        {"method": "POST", "url": "/services/data/v62.0/composite", "referenceId": "nested", "body": {}},
        {"method": "GET", "url": "https://elsewhere.example.com/", "referenceId": "outside"},
    ]}, timeout=10).json()["compositeResponse"]
    assert [p["httpStatusCode"] for p in answer] == [400, 400]


def test_collection_create_and_delete(api, sf):
    created = api.post(f"{api.base}/composite/sobjects", json={"allOrNone": False, "records": [
        {"attributes": {"type": "Task"}, "Subject": "一括1", "WhoId": YAMADA},
        {"attributes": {"type": "Task"}, "Subject": "一括2", "Status": "Nope"},
    ]}, timeout=10).json()
    assert created[0]["success"] is True
    assert created[1] == {"success": False, "errors": [{"statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                                        "message": "Status: bad value for restricted picklist "
                                                                   "field: Nope", "fields": ["Status"]}]}
    deleted = api.delete(f"{api.base}/composite/sobjects", params={"ids": f"{created[0]['id']},garbage"},
                         timeout=10).json()
    assert deleted[0] == {"id": created[0]["id"], "success": True, "errors": []}
    assert deleted[1]["success"] is False and deleted[1]["errors"][0]["statusCode"] == "MALFORMED_ID"


def test_collection_all_or_none_rolls_back_valid_records(api):
    answer = api.post(f"{api.base}/composite/sobjects", json={"allOrNone": True, "records": [
        {"attributes": {"type": "Account"}, "Name": "残らない株式会社"},
        {"attributes": {"type": "Account"}},
    ]}, timeout=10).json()
    assert answer[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert answer[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"


def test_collection_update_needs_ids(api):
    answer = api.patch(f"{api.base}/composite/sobjects", json={"records": [
        {"attributes": {"type": "Contact"}, "id": YAMADA, "Title": "課長"},
        {"attributes": {"type": "Contact"}, "Title": "課長"},
    ]}, timeout=10).json()
    assert answer[0]["success"] is True
    assert answer[1]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"


@pytest.mark.parametrize("status, code", [(503, "SERVER_UNAVAILABLE"), (403, "REQUEST_LIMIT_EXCEEDED"),
                                          (401, "INVALID_SESSION_ID")])
def test_injected_errors_answer_salesforce_shaped(api, localorg, status, code):
    localorg.admin("faults", error_rate=1, error_status=status)
    answer = api.get(f"{api.base}/limits", timeout=10)
    assert answer.status_code == status and answer.json()[0]["errorCode"] == code
    localorg.admin("faults")
    assert api.get(f"{api.base}/limits", timeout=10).status_code == 200


def test_injected_latency_slows_api_requests(api, localorg):
    localorg.admin("faults", latency_ms=300)
    started = time.monotonic()
    api.get(f"{api.base}/limits", timeout=10)
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize("payload", [{"error_rate": 2}, {"error_rate": "x"}, {"latency_ms": -1},
                                     {"latency_ms": 1.5}, {"error_status": 418}, {"expire_tokens": "yes"},
                                     {"bogus": 1}, [1]])
def test_invalid_faults_are_refused(localorg, payload):
    answer = requests.post(f"{localorg.url}/_admin/faults", json=payload, timeout=10)
    assert answer.status_code == 400 and answer.json()["error"]


def test_reset_restores_the_seed_and_clears_faults_and_clock(api, localorg, sf):
    sf.Contact.update(YAMADA, {"Title": "変更"})
    localorg.admin("faults", latency_ms=5)
    localorg.admin("clock", advance_s=3600)
    started = time.monotonic()
    localorg.admin("reset")
    assert time.monotonic() - started < 0.5
    assert localorg.stats()["clock_offset_s"] == 0 and localorg.api_requests() == 0
    assert localorg.salesforce().Contact.get(YAMADA)["Title"] == "営業部長"


def test_admin_refuses_callers_that_are_not_local(localorg_server):
    client = localorg_server.app.test_client()
    answer = client.get("/_admin/stats", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert answer.status_code == 403


def test_admin_clock_validates_its_input(localorg):
    assert requests.post(f"{localorg.url}/_admin/clock", json={"advance_s": -5}, timeout=10).status_code == 400
    assert requests.post(f"{localorg.url}/_admin/clock", data="{", headers={"Content-Type": "application/json"},
                         timeout=10).status_code == 400


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/sobjects/Contact/%00", None),
    ("PATCH", "/sobjects/Contact/" + YAMADA, {"": 1}),
    ("PATCH", "/sobjects/Contact/" + YAMADA, {"LastName": ["a"]}),
    ("POST", "/sobjects/Task", {"ActivityDate": "2026-02-30"}),
    ("POST", "/sobjects/Task", b'{"CallDurationInSeconds": 1e400}'),
    ("POST", "/sobjects/Task", b'{"Subject": NaN}'),
    ("POST", "/sobjects/Task", b'{"Subject": "a", "Subject": "b", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
    ("POST", "/sobjects/Task", {"CallDurationInSeconds": "NaN"}),
    ("POST", "/sobjects/Task", {"WhoId": 12345}),
    ("GET", "/sobjects/Contact/" + YAMADA + "?fields=Nope", None),
    ("PATCH", "/sobjects/Task/Panel_Call_Key__c/", {"Subject": "x"}),
    ("PATCH", "/sobjects/Task/Panel_Call_Key__c/k1", {"Panel_Call_Key__c": "other"}),
    ("GET", "/query/01gnotalocator-2000", None),
    ("GET", "/query/../../limits", None),
    ("DELETE", "/composite/sobjects?ids=" + ",".join(["x"] * 201), None),
    ("POST", "/composite/sobjects", {"records": [1, None, {"attributes": {"type": "Nope"}}]}),
    ("POST", "/parameterizedSearch", [1]),
])
def test_bad_input_never_gets_a_server_error(api, method, path, body):
    raw = {"data": body, "headers": {"Content-Type": "application/json"}} if isinstance(body, bytes) else {"json": body}
    answer = api.request(method, api.base + path, timeout=10, **raw)
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        assert answer.json()


# -- field-level security -------------------------------------------------------------------------------------------

def test_a_field_hidden_from_a_user_does_not_exist_for_them_in_queries_searches_describe_and_reads(api, localorg):
    localorg.admin("field_security", username=seed.INTEGRATION_USERNAME, hidden=["Contact.HomePhone"])
    query = api.get(f"{api.base}/query", params={"q": "SELECT Id, HomePhone FROM Contact"}, timeout=10)
    assert query.status_code == 400 and query.json()[0]["errorCode"] == "INVALID_FIELD"
    assert "HomePhone" in query.json()[0]["message"]
    where = api.get(f"{api.base}/query", params={"q": "SELECT Id FROM Contact WHERE HomePhone != null"}, timeout=10)
    assert where.status_code == 400 and where.json()[0]["errorCode"] == "INVALID_FIELD"
    search = api.get(f"{api.base}/search", params={
        "q": "FIND {0312345678} IN PHONE FIELDS RETURNING Contact(Id, HomePhone)"}, timeout=10)
    assert search.status_code == 400 and search.json()[0]["errorCode"] == "INVALID_FIELD"
    fields = {f["name"] for f in api.get(f"{api.base}/sobjects/Contact/describe", timeout=10).json()["fields"]}
    assert "HomePhone" not in fields and "MobilePhone" in fields
    record = api.get(f"{api.base}/sobjects/Contact/{YAMADA}", timeout=10).json()
    assert "HomePhone" not in record and "Phone" in record
    # what they may see still works, and the other fields of the object are untouched
    visible = api.get(f"{api.base}/query", params={"q": "SELECT Id, Phone FROM Contact"}, timeout=10)
    assert visible.status_code == 200 and visible.json()["totalSize"] > 0

    localorg.admin("field_security", username=seed.INTEGRATION_USERNAME, hidden=[])
    again = api.get(f"{api.base}/query", params={"q": "SELECT Id, HomePhone FROM Contact"}, timeout=10)
    assert again.status_code == 200


def test_hiding_a_field_from_one_user_leaves_the_others_alone(api, localorg):
    localorg.admin("field_security", username="agent@example.com", hidden=["Contact.HomePhone"])
    assert api.get(f"{api.base}/query", params={"q": "SELECT HomePhone FROM Contact"}, timeout=10).status_code == 200


@pytest.mark.parametrize("payload", [{"username": "nobody@example.com", "hidden": []},
                                     {"username": "agent@example.com", "hidden": ["Contact.Nope"]},
                                     {"username": "agent@example.com", "hidden": ["Contact.LastName"]},
                                     {"username": "agent@example.com", "hidden": "Contact.HomePhone"},
                                     {"username": "agent@example.com", "hidden": [], "extra": 1}])
def test_invalid_field_security_is_refused(localorg, payload):
    answer = requests.post(f"{localorg.url}/_admin/field_security", json=payload, timeout=10)
    assert answer.status_code == 400 and answer.json()["error"]
