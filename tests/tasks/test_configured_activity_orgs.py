"""Past activities in orgs as their admins configured them: archived Tasks (`archive_after_days`) still listed, at
the same cost."""

from __future__ import annotations

from datetime import timedelta

from tests.tasks.test_task_lists import HX, YAMADA, lists, section, task_ids, today_in_tokyo
from tests.tasks.test_tasks import token_in


def long_ago_call(sf) -> str:
    """A call with 山田 太郎, closed and due 400 days ago: archived in an org that archives after 365 days."""
    due = (today_in_tokyo() - timedelta(days=400)).isoformat()
    return sf.Task.create({"Subject": "初回のお問い合わせ", "Status": "Completed", "WhoId": YAMADA, "ActivityDate": due,
                           "TaskSubtype": "Call", "CallType": "Inbound"})["id"]


def test_a_task_older_than_the_archive_age_is_in_past_activities_at_one_request(signed_in_client, localorg, sf):
    old = long_ago_call(sf)
    localorg.admin("org", archive_after_days=365)
    assert sf.query(f"SELECT Id FROM Task WHERE Id = '{old}'")["totalSize"] == 0  # archived: query misses it
    before = localorg.api_requests()
    html = section(lists(signed_in_client, "contact.yamada_taro").text, "past-activities")
    assert localorg.api_requests() - before == 1
    assert old in task_ids(html) and "初回のお問い合わせ" in html


def test_an_archived_past_activity_is_listed_on_its_own_and_can_be_corrected(signed_in_client, localorg, sf):
    old = long_ago_call(sf)
    localorg.admin("org", archive_after_days=365)
    before = localorg.api_requests()
    page = signed_in_client.get(f"/panel/records/{YAMADA}/past-activities?record_type=Contact", headers=HX).text
    assert old in task_ids(page) and localorg.api_requests() - before == 1  # the list on its own, one page
    response = signed_in_client.post(f"/panel/tasks/{old}", headers=HX, data={
        "csrf_token": token_in(page), "record_id": YAMADA, "record_type": "Contact", "closed": "1",
        "subject": "初回のお問い合わせ", "notes": "資料請求（追記）", "due_date": ""})
    assert response.status_code == 200 and sf.Task.get(old)["Description"] == "資料請求（追記）"


def test_a_deleted_task_is_not_listed_though_query_all_reads_the_recycle_bin(signed_in_client, localorg, sf):
    old = long_ago_call(sf)
    localorg.admin("org", archive_after_days=365)
    sf.Task.delete(old)
    assert old not in task_ids(section(lists(signed_in_client, "contact.yamada_taro").text, "past-activities"))
