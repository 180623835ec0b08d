"""The org's own Task statuses: TaskStatus lists them, Task.Status accepts only them, IsClosed follows them."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from panel.localorg.seed import IDS

RENAMED = [{"label": "未着手", "closed": False, "default": True},
           {"label": "対応中", "closed": False},
           {"label": "完了済み", "closed": True},
           {"label": "取り下げ", "closed": True}]
STATUS_QUERY = "SELECT ApiName, MasterLabel, IsClosed, IsDefault FROM TaskStatus ORDER BY SortOrder"


def statuses(sf) -> list[tuple]:
    return [(r["ApiName"], r["MasterLabel"], r["IsClosed"], r["IsDefault"]) for r in sf.query(STATUS_QUERY)["records"]]


def test_a_default_org_has_salesforces_task_statuses(localorg, sf):
    assert statuses(sf) == [("Not Started", "Not Started", False, True), ("In Progress", "In Progress", False, False),
                            ("Completed", "Completed", True, False),
                            ("Waiting on someone else", "Waiting on someone else", False, False),
                            ("Deferred", "Deferred", False, False)]


def test_an_org_with_renamed_statuses_lists_them_and_describes_them(localorg, sf):
    localorg.admin("org", task_statuses=RENAMED)
    assert statuses(sf) == [("未着手", "未着手", False, True), ("対応中", "対応中", False, False),
                            ("完了済み", "完了済み", True, False), ("取り下げ", "取り下げ", True, False)]
    assert sf.query("SELECT ApiName FROM TaskStatus WHERE IsClosed = true ORDER BY SortOrder")["totalSize"] == 2
    status = next(f for f in sf.Task.describe()["fields"] if f["name"] == "Status")
    assert [v["value"] for v in status["picklistValues"]] == ["未着手", "対応中", "完了済み", "取り下げ"]
    assert status["restrictedPicklist"] and status["defaultValue"] == "未着手"


def test_a_status_the_org_does_not_have_is_refused(localorg, sf):
    localorg.admin("org", task_statuses=RENAMED)
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Task.create({"Subject": "折り返し", "Status": "Completed", "WhoId": IDS["contact.yamada_taro"]})
    assert refused.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert refused.value.content[0]["fields"] == ["Status"]


def test_a_task_takes_the_orgs_default_and_closes_with_any_closed_status(localorg, sf):
    localorg.admin("org", task_statuses=RENAMED)
    task_id = sf.Task.create({"Subject": "折り返し", "WhoId": IDS["contact.yamada_taro"]})["id"]
    created = sf.Task.get(task_id)
    assert (created["Status"], created["IsClosed"]) == ("未着手", False)
    sf.Task.update(task_id, {"Status": "取り下げ"})
    closed = sf.Task.get(task_id)
    assert closed["IsClosed"] and closed["CompletedDateTime"]


def test_a_reset_brings_back_the_default_statuses(localorg):
    localorg.admin("org", task_statuses=RENAMED)
    localorg.admin("reset")
    assert statuses(localorg.salesforce())[2] == ("Completed", "Completed", True, False)
