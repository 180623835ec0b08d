"""Shared Activities, checked against the documented answers (Object Reference, TaskRelation and TaskWhoRelation;
Task's TaskWhoIds): a Task with several contacts, its relation rows, and the panel's statements that name
TaskRelation. The local org is shaped with `POST /_admin/org {"shared_activities": true}`; a real org is used as it
is, and skipped unless it has Shared Activities. Without it, TaskRelation is not there (what the panel's probe
reads as "off")."""

from __future__ import annotations

import pytest

from panel.salesforce import queries
from tests.contract.conftest import MARKER


def _has_shared_activities(org) -> bool:
    return org.request("GET", "query", params={"q": queries.shared_activities_probe()}).status_code == 200


@pytest.fixture
def shared_org(contract_org, request):
    """The org with Shared Activities, or a skip."""
    if contract_org.is_local:
        request.getfixturevalue("localorg").admin("org", shared_activities=True)
    if not _has_shared_activities(contract_org):
        pytest.skip("this org has no Shared Activities")
    return contract_org


def test_without_shared_activities_task_relation_is_an_invalid_type(contract_org, needs_soql):
    if not contract_org.is_local and _has_shared_activities(contract_org):
        pytest.skip("this org has Shared Activities")
    answer = contract_org.request("GET", "query", params={"q": queries.shared_activities_probe()})
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "INVALID_TYPE"


def test_a_task_with_several_contacts_has_a_relation_for_each(shared_org):
    people = [shared_org.create("Contact", {"LastName": f"{MARKER} 共有 {n}"}) for n in (1, 2)]
    task_id = shared_org.create("Task", {"Subject": f"{MARKER} shared", "TaskWhoIds": people})
    assert shared_org.request("GET", f"sobjects/Task/{task_id}").json()["WhoId"][:15] == people[0][:15]
    rows = shared_org.request("GET", "query", params={
        "q": f"SELECT RelationId, IsWhat FROM TaskRelation WHERE TaskId = '{task_id}'"}).json()["records"]
    assert {r["RelationId"][:15] for r in rows} == {p[:15] for p in people} and not any(r["IsWhat"] for r in rows)
    listed = shared_org.request("GET", "query", params={
        "q": queries.task_list("next_steps", "Contact", people[1], shared_activities=True)}).json()["records"]
    assert task_id[:15] in {r["Id"][:15] for r in listed}


@pytest.mark.parametrize("name, text", queries.SHARED_ACTIVITIES_CONTRACT_QUERIES)
def test_the_panels_shared_activities_statements_are_accepted(shared_org, name, text):
    answer = shared_org.request("GET", "query", params={"q": text})
    assert answer.status_code == 200, f"{name}: {answer.text}"
