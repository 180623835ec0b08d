"""`/panel/tasks/<id>` and `/panel/tasks/<id>/done` change only a Task of the record the request names.

The edit and mark-done forms sit under one record's lists and post that record; a Task id of any other record
(guessed, or copied from another card) is refused with 403 and the Task stays as it was in the org. A Task is the
record's when the record's lists show it: a Contact's or Lead's by WhoId, an Account's by WhatId or AccountId.
The check rides in the write's own composite request, so an edit still costs one API request.
"""

from __future__ import annotations

import re

import pytest

from panel.localorg.seed import IDS

HX = {"HX-Request": "true"}
YAMADA = IDS["contact.yamada_taro"]
MIRAI = IDS["account.mirai_kyoiku"]


def token_of(client, record_id: str, record_type: str) -> str:
    lists = client.get(f"/panel/records/{record_id}/next-steps?record_type={record_type}", headers=HX).text
    return re.search(r'name="csrf_token" value="([^"]+)"', lists).group(1)


def edit(client, task_id: str, record_id: str, record_type: str = "Contact", **typed):
    return client.post(f"/panel/tasks/{task_id}", headers=HX, data={
        "csrf_token": token_of(client, record_id, record_type), "record_id": record_id, "record_type": record_type,
        "subject": "書き換え", "notes": "侵入者のメモ", "due_date": "2031-01-01", **typed})


def mark_done(client, task_id: str, record_id: str, record_type: str = "Contact"):
    return client.post(f"/panel/tasks/{task_id}/done", headers=HX, data={
        "csrf_token": token_of(client, record_id, record_type), "record_id": record_id, "record_type": record_type})


def stored(sf, task_id: str) -> tuple:
    task = sf.Task.get(task_id)
    return task["Subject"], task["Description"], task["ActivityDate"], task["Status"]


@pytest.mark.parametrize("task_key", ["task.sakura_demo", "task.kimura_lead_followup", "task.mirai_account_task"])
def test_a_task_of_another_record_is_neither_edited_nor_marked_done_through_this_one(signed_in_client, localorg, sf,
                                                                                     task_key):
    task_id = IDS[task_key]
    before = stored(sf, task_id)
    requests_before = localorg.api_requests()

    edited = edit(signed_in_client, task_id, YAMADA)
    assert edited.status_code == 403 and 'data-refused="not_on_record"' in edited.text
    assert f'data-task-id="{task_id}"' in edited.text and "not one of this record" in edited.text

    done = mark_done(signed_in_client, task_id, YAMADA)
    assert done.status_code == 403 and done.headers["HX-Retarget"] == f"#task-error-{task_id}"
    assert "not one of this record" in done.text

    # each refusal cost what the write costs (one composite request), besides the two list reads for the tokens
    assert localorg.api_requests() - requests_before == 4
    assert stored(sf, task_id) == before


def test_a_task_the_accounts_lists_show_is_edited_through_the_account(signed_in_client, localorg, sf):
    task_id = IDS["task.mirai_account_task"]  # related to the Account's Opportunity: shown under the Account
    edited = edit(signed_in_client, task_id, MIRAI, "Account", subject="提案書の準備（改訂）", notes="", due_date="")
    assert edited.status_code == 200, edited.text
    assert sf.Task.get(task_id)["Subject"] == "提案書の準備（改訂）"


def test_a_leads_task_is_marked_done_through_the_lead(signed_in_client, localorg, sf):
    lead, task_id = IDS["lead.kimura_takuya"], IDS["task.kimura_lead_followup"]
    before = localorg.api_requests()
    token = token_of(signed_in_client, lead, "Lead")
    between = localorg.api_requests()
    done = signed_in_client.post(f"/panel/tasks/{task_id}/done", headers=HX, data={
        "csrf_token": token, "record_id": lead, "record_type": "Lead"})
    assert done.status_code == 200 and localorg.api_requests() - between == 1 and between - before == 1
    assert sf.Task.get(task_id)["Status"] == "Completed"
