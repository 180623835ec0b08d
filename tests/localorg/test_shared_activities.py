"""Shared Activities: with `shared_activities`, a Task relates to several contacts through `TaskWhoIds`, and its
relations are `TaskRelation` / `TaskWhoRelation` rows, as the Object Reference describes them; without it those
objects and the field are not there."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from panel.localorg.seed import IDS

YAMADA = IDS["contact.yamada_taro"]
SUZUKI = IDS["contact.suzuki_ichiro"]
KOBAYASHI = IDS["contact.kobayashi_makoto"]
KIMURA = IDS["lead.kimura_takuya"]


def ids(answer: dict) -> set:
    return {r["Id"] for r in answer["records"]}


def error_code(caught: pytest.ExceptionInfo) -> str:
    return caught.value.content[0]["errorCode"]


def test_without_shared_activities_task_who_ids_and_the_relation_objects_are_not_there(localorg, sf):
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Task.create({"Subject": "二人に電話", "TaskWhoIds": [YAMADA, SUZUKI]})
    assert error_code(refused) == "INVALID_FIELD" and "TaskWhoIds" in refused.value.content[0]["message"]
    for sobject in ("TaskRelation", "TaskWhoRelation"):
        with pytest.raises(SalesforceMalformedRequest) as refused:
            sf.query(f"SELECT Id FROM {sobject}")
        assert error_code(refused) == "INVALID_TYPE"
    listed = {entry["name"] for entry in sf.describe()["sobjects"]}
    assert "TaskRelation" not in listed and "TaskWhoIds" not in {f["name"] for f in sf.Task.describe()["fields"]}


def test_a_task_with_several_contacts_has_the_first_as_who_and_every_one_as_a_relation(localorg, sf):
    localorg.admin("org", shared_activities=True)
    task_id = sf.Task.create({"Subject": "二人に電話", "TaskWhoIds": [SUZUKI, YAMADA]})["id"]
    task = sf.Task.get(task_id)
    assert task["WhoId"] == SUZUKI and task["AccountId"] == IDS["account.yamada_shoji"]
    relations = sf.query(f"SELECT RelationId, IsWhat, AccountId FROM TaskRelation WHERE TaskId = '{task_id}'")
    assert {r["RelationId"] for r in relations["records"]} == {SUZUKI, YAMADA}
    assert not any(r["IsWhat"] for r in relations["records"])
    who = sf.query(f"SELECT Id, Subject, (SELECT RelationId, Type FROM TaskWhoRelations) FROM Task "
                   f"WHERE Id = '{task_id}'")["records"][0]
    assert {(r["RelationId"], r["Type"]) for r in who["TaskWhoRelations"]["records"]} == {
        (SUZUKI, "Contact"), (YAMADA, "Contact")}
    assert "TaskRelation" in {entry["name"] for entry in sf.describe()["sobjects"]}
    described = {f["name"]: f for f in sf.Task.describe()["fields"]}
    assert described["TaskWhoIds"]["type"] == "junctionidlist" and described["TaskWhoIds"]["createable"]


def test_a_given_who_id_stays_primary_and_a_what_is_a_relation_too(localorg, sf):
    localorg.admin("org", shared_activities=True)
    opportunity = sf.query("SELECT Id FROM Opportunity LIMIT 1")["records"][0]["Id"]
    task_id = sf.Task.create({"Subject": "会議", "WhoId": YAMADA, "TaskWhoIds": [KOBAYASHI],
                              "WhatId": opportunity})["id"]
    assert sf.Task.get(task_id)["WhoId"] == YAMADA
    rows = sf.query(f"SELECT RelationId, IsWhat FROM TaskRelation WHERE TaskId = '{task_id}'")["records"]
    assert {(r["RelationId"], r["IsWhat"]) for r in rows} == {(YAMADA, False), (KOBAYASHI, False),
                                                               (opportunity, True)}


def test_a_secondary_contact_finds_the_task_through_a_semi_join_and_older_tasks_have_relations_too(localorg, sf):
    localorg.admin("org", shared_activities=True)
    shared = sf.Task.create({"Subject": "二人に電話", "TaskWhoIds": [YAMADA, SUZUKI]})["id"]
    own = sf.query(f"SELECT Id FROM Task WHERE WhoId = '{SUZUKI}'")
    statement = f"SELECT Id FROM Task WHERE Id IN (SELECT TaskId FROM TaskRelation WHERE RelationId = '{SUZUKI}')"
    found = ids(sf.query(statement))
    assert shared in found and ids(own) <= found and shared not in ids(own)


def test_a_semi_join_under_or_is_refused_as_salesforce_refuses_it(localorg, sf):
    localorg.admin("org", shared_activities=True)
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.query(f"SELECT Id FROM Task WHERE WhoId = '{SUZUKI}' OR "
                 f"Id IN (SELECT TaskId FROM TaskRelation WHERE RelationId = '{SUZUKI}')")
    assert error_code(refused) == "MALFORMED_QUERY"
    assert "not allowed with the 'OR' operator" in refused.value.content[0]["message"]


@pytest.mark.parametrize("who_ids, code", [
    ([KIMURA, YAMADA], "FIELD_INTEGRITY_EXCEPTION"),  # one lead, or contacts
    (["not-an-id"], "MALFORMED_ID"),
    (YAMADA, "JSON_PARSER_ERROR"),  # a list, not one Id
])
def test_task_who_ids_are_checked_as_salesforce_checks_them(localorg, sf, who_ids, code):
    localorg.admin("org", shared_activities=True)
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Task.create({"Subject": "確認", "TaskWhoIds": who_ids})
    assert error_code(refused) == code
