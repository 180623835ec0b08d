"""Shared Activities: a Task relates to several contacts and `WhoId` holds only the first; every one of them sees it
in its lists, still in one request — and an org without Shared Activities pays nothing for it."""

from __future__ import annotations

import pytest

from panel.localorg.seed import IDS
from panel.salesforce import tasks
from tests.tasks.test_task_lists import HX, YAMADA, lists, section, task_ids
from tests.tasks.test_tasks import token_in

SUZUKI = IDS["contact.suzuki_ichiro"]


@pytest.fixture(autouse=True)
def forget_what_orgs_have():
    """What the panel learnt about the org lives for the process; each test starts from not knowing."""
    yield
    with tasks._shared_lock:
        tasks._shared.clear()


def shared_call(sf) -> str:
    return sf.Task.create({"Subject": "山田さんと鈴木さんに電話", "Status": "Completed", "TaskSubtype": "Call",
                           "TaskWhoIds": [YAMADA, SUZUKI]})["id"]


def test_a_secondary_contacts_task_is_in_its_past_activities(signed_in_client, localorg, sf):
    localorg.admin("org", shared_activities=True)
    shared = shared_call(sf)
    assert sf.Task.get(shared)["WhoId"] == YAMADA
    html = section(lists(signed_in_client, "contact.suzuki_ichiro").text, "past-activities")
    assert shared in task_ids(html) and "山田さんと鈴木さんに電話" in html
    primary = section(lists(signed_in_client, "contact.yamada_taro").text, "past-activities")
    assert shared in task_ids(primary)  # the primary contact still has it


def test_with_shared_activities_the_lists_cost_one_request_once_the_org_is_known(signed_in_client, localorg, sf):
    localorg.admin("org", shared_activities=True)
    shared_call(sf)
    before = localorg.api_requests()
    lists(signed_in_client, "contact.suzuki_ichiro")
    assert localorg.api_requests() - before == 2  # the first read learns the org has it, and reads again
    before = localorg.api_requests()
    html = lists(signed_in_client, "contact.suzuki_ichiro").text
    assert localorg.api_requests() - before == 1
    page = signed_in_client.get(f"/panel/records/{SUZUKI}/past-activities?record_type=Contact", headers=HX).text
    assert localorg.api_requests() - before == 2 and task_ids(section(html, "past-activities"))[0] in task_ids(page)


def test_without_shared_activities_the_lists_cost_one_request_from_the_first(signed_in_client, localorg):
    before = localorg.api_requests()
    assert lists(signed_in_client, "contact.suzuki_ichiro").status_code == 200
    lists(signed_in_client, "contact.suzuki_ichiro")
    assert localorg.api_requests() - before == 2


def test_a_secondary_contacts_open_task_can_be_marked_done_from_its_lists(signed_in_client, localorg, sf):
    localorg.admin("org", shared_activities=True)
    open_task = sf.Task.create({"Subject": "二人に折り返し", "TaskWhoIds": [YAMADA, SUZUKI]})["id"]
    html = lists(signed_in_client, "contact.suzuki_ichiro").text
    assert open_task in task_ids(section(html, "next-steps"))
    response = signed_in_client.post(f"/panel/tasks/{open_task}/done", headers=HX, data={
        "csrf_token": token_in(html), "record_id": SUZUKI, "record_type": "Contact"})
    assert response.status_code == 200 and sf.Task.get(open_task)["IsClosed"] is True
    assert open_task in task_ids(section(response.text, "past-activities"))
