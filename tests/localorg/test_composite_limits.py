"""A composite request holds at most 25 subrequests, of which at most 5 query (Query, QueryAll, Query More) or
sObject Collections operations, as the REST API Developer Guide's Composite page says."""

from __future__ import annotations

from panel.localorg.seed import IDS

YAMADA = IDS["contact.yamada_taro"]


def query(ref: str, resource: str = "query") -> dict:
    return {"method": "GET", "referenceId": ref,
            "url": f"/services/data/v62.0/{resource}?q=SELECT+Id+FROM+Contact+WHERE+Id+%3D+%27{YAMADA}%27"}


def test_five_query_subrequests_are_served(api):
    subrequests = [query(f"q{n}", "queryAll" if n % 2 else "query") for n in range(5)]
    answer = api.post(f"{api.base}/composite", json={"compositeRequest": subrequests})
    assert answer.status_code == 200
    assert [r["httpStatusCode"] for r in answer.json()["compositeResponse"]] == [200] * 5


def test_a_sixth_query_subrequest_refuses_the_whole_request_and_runs_nothing(api, sf):
    create = {"method": "POST", "referenceId": "newTask", "url": "/services/data/v62.0/sobjects/Task",
              "body": {"Subject": "上限の確認", "WhoId": YAMADA}}
    subrequests = [create] + [query(f"q{n}", "queryAll" if n % 2 else "query") for n in range(6)]
    answer = api.post(f"{api.base}/composite", json={"compositeRequest": subrequests})
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "LIMIT_EXCEEDED"
    assert sf.query("SELECT Id FROM Task WHERE Subject = '上限の確認'")["totalSize"] == 0


def test_sobject_collections_count_toward_the_same_five(api):
    collection = {"method": "POST", "referenceId": "many", "url": "/services/data/v62.0/composite/sobjects",
                  "body": {"records": [{"attributes": {"type": "Task"}, "Subject": "まとめて"}]}}
    answer = api.post(f"{api.base}/composite",
                      json={"compositeRequest": [collection] + [query(f"q{n}") for n in range(5)]})
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "LIMIT_EXCEEDED"
