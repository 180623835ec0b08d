"""Archived activities: with `archive_after_days`, old closed Tasks leave `query` (and its subqueries) and stay in
`queryAll`, as Salesforce's "Archived Activities" guidelines say."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from panel.localorg.seed import IDS

YAMADA = IDS["contact.yamada_taro"]


def days_ago(days: int) -> str:
    return (datetime.now(ZoneInfo("Asia/Tokyo")).date() - timedelta(days=days)).isoformat()


@pytest.fixture
def old_call(sf):
    """A call with 山田 太郎 closed 400 days ago, and one closed 30 days ago."""
    old = sf.Task.create({"Subject": "昔の電話", "Status": "Completed", "WhoId": YAMADA, "ActivityDate": days_ago(400),
                          "TaskSubtype": "Call"})["id"]
    recent = sf.Task.create({"Subject": "先月の電話", "Status": "Completed", "WhoId": YAMADA,
                             "ActivityDate": days_ago(30)})["id"]
    return old, recent


def ids(answer: dict) -> set:
    return {r["Id"] for r in answer["records"]}


def test_without_the_setting_nothing_is_archived(localorg, sf, old_call):
    old, recent = old_call
    found = sf.query(f"SELECT Id, IsArchived FROM Task WHERE WhoId = '{YAMADA}' AND IsClosed = true")["records"]
    assert {old, recent} <= {r["Id"] for r in found} and not any(r["IsArchived"] for r in found)


def test_query_leaves_an_archived_task_out_and_query_all_returns_it(localorg, sf, old_call):
    old, recent = old_call
    localorg.admin("org", archive_after_days=365)
    statement = f"SELECT Id, IsArchived FROM Task WHERE WhoId = '{YAMADA}' AND IsClosed = true"
    assert recent in ids(sf.query(statement)) and old not in ids(sf.query(statement))
    every = {r["Id"]: r["IsArchived"] for r in sf.query(statement, include_deleted=True)["records"]}
    assert every[old] is True and every[recent] is False


def test_subqueries_and_semi_joins_leave_archived_tasks_out(localorg, sf, old_call):
    old, recent = old_call
    localorg.admin("org", archive_after_days=365)
    contact = sf.query(f"SELECT Id, (SELECT Id FROM Tasks), (SELECT Id FROM ActivityHistories LIMIT 100) "
                       f"FROM Contact WHERE Id = '{YAMADA}'")["records"][0]
    assert old not in ids(contact["Tasks"]) and recent in ids(contact["Tasks"])
    assert old not in ids(contact["ActivityHistories"]) and recent in ids(contact["ActivityHistories"])
    semi = f"SELECT Id FROM Contact WHERE Id IN (SELECT WhoId FROM Task WHERE Subject = '昔の電話')"
    assert sf.query(semi)["totalSize"] == 0 and sf.query(semi, include_deleted=True)["totalSize"] == 1


def test_an_archived_task_can_still_be_read_and_updated_but_is_archived_cannot_be_written(localorg, sf, old_call):
    old, _ = old_call
    localorg.admin("org", archive_after_days=365)
    sf.Task.update(old, {"Description": "追記"})
    assert sf.Task.get(old)["Description"] == "追記"
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Task.update(old, {"IsArchived": False})
    assert refused.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_open_tasks_and_recently_closed_ones_are_never_archived(localorg, sf):
    localorg.admin("org", archive_after_days=365)
    overdue = sf.Task.create({"Subject": "忘れていた", "WhoId": YAMADA, "ActivityDate": days_ago(800)})["id"]
    assert overdue in ids(sf.query(f"SELECT Id FROM Task WHERE WhoId = '{YAMADA}'"))


def test_a_closed_task_without_due_date_is_archived_by_its_age(localorg, sf):
    undated = sf.Task.create({"Subject": "日付なし", "Status": "Completed", "WhoId": YAMADA})["id"]
    localorg.admin("org", archive_after_days=30)
    localorg.admin("clock", advance_s=31 * 86400)
    later = localorg.salesforce()
    assert undated not in ids(later.query(f"SELECT Id FROM Task WHERE WhoId = '{YAMADA}'"))
    assert undated in ids(later.query(f"SELECT Id FROM Task WHERE WhoId = '{YAMADA}'", include_deleted=True))
