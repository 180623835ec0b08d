"""toLabel() answers the panel relies on (SOQL and SOSL Reference, toLabel()): the label under the field's own name,
or under the alias beside the raw value, in queries, child subqueries and composite query subrequests alike."""

from __future__ import annotations

from urllib.parse import quote

from tests.contract.conftest import MARKER


def _task(contract_org) -> str:
    answer = contract_org.request("POST", "sobjects/Task", json={"Subject": f"{MARKER} labels"})
    assert answer.status_code == 201, answer.text
    contract_org.created.append(("Task", answer.json()["id"]))
    return answer.json()["id"]


def test_an_aliased_label_comes_beside_the_api_value(contract_org):
    task_id = _task(contract_org)
    answer = contract_org.request("GET", "query", params={
        "q": f"SELECT Id, Status, toLabel(Status) StatusLabel FROM Task WHERE Id = '{task_id}'"})
    assert answer.status_code == 200, answer.text
    (row,) = answer.json()["records"]
    assert isinstance(row["Status"], str) and isinstance(row["StatusLabel"], str) and row["StatusLabel"]


def test_an_unaliased_label_takes_the_fields_name_in_a_child_subquery_and_in_composite(contract_org):
    task_id = _task(contract_org)
    soql = f"SELECT Id, toLabel(Status) FROM Task WHERE Id = '{task_id}'"
    answer = contract_org.request("POST", "composite", json={"compositeRequest": [
        {"method": "GET", "url": f"/services/data/v{contract_org.version}/query?q={quote(soql)}", "referenceId": "t"}]})
    assert answer.status_code == 200, answer.text
    (sub,) = answer.json()["compositeResponse"]
    assert sub["httpStatusCode"] == 200, sub
    assert set(sub["body"]["records"][0]) == {"attributes", "Id", "Status"}
    opportunities = contract_org.request("GET", "query", params={
        "q": "SELECT Id, (SELECT toLabel(StageName) FROM Opportunities LIMIT 1) FROM Account LIMIT 5"})
    assert opportunities.status_code == 200, opportunities.text


def test_tolabel_in_order_by_is_refused(contract_org):
    answer = contract_org.request("GET", "query", params={"q": "SELECT Id FROM Task ORDER BY toLabel(Status)"})
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "MALFORMED_QUERY"
