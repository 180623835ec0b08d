"""Answers of configured orgs (issue 14) the panel relies on, checked against the local org and a real org alike.

Against a real org they check what holds in any org, whatever its admin chose; against the local org the same
checks run in the shapes `POST /_admin/org` gives it as well.
"""

from __future__ import annotations

import pytest

from tests.contract.conftest import MARKER

RENAMED = [{"label": "未着手", "default": True}, {"label": "完了済み", "closed": True}]


@pytest.fixture(params=["default statuses", "renamed statuses"])
def statuses_shape(request, contract_org):
    if request.param == "renamed statuses":
        if not contract_org.is_local:
            pytest.skip("a real org has the statuses its admin gave it")
        request.getfixturevalue("localorg").admin("org", task_statuses=RENAMED)
    return request.param


def test_task_status_lists_the_values_with_one_default_and_a_closed_one(contract_org, statuses_shape):
    answer = contract_org.request("GET", "query", params={
        "q": "SELECT ApiName, MasterLabel, IsClosed, IsDefault, SortOrder FROM TaskStatus ORDER BY SortOrder ASC"})
    assert answer.status_code == 200, answer.text
    rows = answer.json()["records"]
    assert rows and all(row["attributes"]["type"] == "TaskStatus" for row in rows)
    assert all(isinstance(row["ApiName"], str) and isinstance(row["IsClosed"], bool) for row in rows)
    assert sum(row["IsDefault"] for row in rows) == 1
    assert any(row["IsClosed"] for row in rows) and not all(row["IsClosed"] for row in rows)


def test_a_task_status_the_org_lacks_is_a_restricted_picklist_error(contract_org, statuses_shape):
    answer = contract_org.request("POST", "sobjects/Task", json={"Subject": f"{MARKER} status",
                                                                  "Status": f"{MARKER} no such status"})
    if answer.status_code == 201:
        contract_org.created.append(("Task", answer.json()["id"]))
    assert answer.status_code == 400
    error = answer.json()[0]
    assert error["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" and error["fields"] == ["Status"]


def test_a_task_written_with_the_orgs_closed_status_is_closed(contract_org, statuses_shape):
    status = contract_org.request("GET", "query", params={
        "q": "SELECT ApiName FROM TaskStatus WHERE IsClosed = true ORDER BY SortOrder ASC LIMIT 1"}).json()
    task_id = contract_org.create("Task", {"Subject": f"{MARKER} closed",
                                           "Status": status["records"][0]["ApiName"]})
    read = contract_org.request("GET", f"sobjects/Task/{task_id}", params={"fields": "Status,IsClosed"}).json()
    assert read["IsClosed"] is True and read["Status"] == status["records"][0]["ApiName"]
