"""Writing Tasks from the panel: before a call, during one, marking done and editing, against the local org."""

from __future__ import annotations

import re
from html import unescape

import pytest

from panel.localorg.seed import IDS, USER_IDS

HX = {"HX-Request": "true"}
YAMADA = IDS["contact.yamada_taro"]
LEAD = IDS["lead.kimura_takuya"]


def open_form(client, record_key: str, **params):
    record_type = record_key.split(".")[0].capitalize()
    query = "&".join(f"{k}={v}" for k, v in {"record_type": record_type, **params}.items())
    return client.get(f"/panel/records/{IDS[record_key]}/tasks/new?{query}", headers=HX)


def token_in(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the fragment carries no CSRF token"
    return found.group(1)


def submit(client, record_key: str, *, csrf: str | None = "from-form", **fields):
    """Open the task form for the record, then post it the way the browser would (hidden fields included)."""
    form = open_form(client, record_key, **({"call_id": fields["active_call_id"]} if fields.get("active_call_id")
                                            else {}))
    data = {"record_type": record_key.split(".")[0].capitalize(), "active_call_id": "", **fields}
    if csrf == "from-form":
        data["csrf_token"] = token_in(form.text)
    return client.post(f"/panel/records/{IDS[record_key]}/tasks", data=data, headers=HX)


def tasks_of(sf, who_id: str) -> list[dict]:
    return sf.query(f"SELECT Id, Subject, Description, Status, TaskSubtype, OwnerId, WhoId, WhatId, ActivityDate, "
                    f"IsClosed, CallObject FROM Task WHERE WhoId = '{who_id}' ORDER BY CreatedDate")["records"]


def new_task(sf, who_id: str, before: list[dict]) -> dict:
    known = {t["Id"] for t in before}
    created = [t for t in tasks_of(sf, who_id) if t["Id"] not in known]
    assert len(created) == 1, created
    return created[0]


def section(html: str, root_id: str) -> str:
    start = html.index(f'id="{root_id}"')
    rest = html[start + 1:]
    ends = [rest.find(f'id="{other}"') for other in ("next-steps", "past-activities") if other != root_id]
    ends = [e for e in ends if e >= 0]
    return html[start:start + 1 + min(ends)] if ends else html[start:]


# -- before a call ------------------------------------------------------------------------------------------------

def test_a_task_written_before_a_call_is_open_owned_by_the_agent_and_shown_in_next_steps(signed_in_client, localorg,
                                                                                          sf):
    before = tasks_of(sf, YAMADA)
    response = submit(signed_in_client, "contact.yamada_taro", subject="見積の再送", notes="PDF で再送する\n二行目",
                      due_date="2031-01-15", call_id="")
    assert response.status_code == 200
    created = new_task(sf, YAMADA, before)
    assert created["Subject"] == "見積の再送" and created["Description"] == "PDF で再送する\n二行目"
    assert created["Status"] == "Not Started" and created["TaskSubtype"] == "Task" and not created["IsClosed"]
    assert created["OwnerId"] == USER_IDS["agent"] and created["ActivityDate"] == "2031-01-15"
    assert created["WhatId"] is None and created["CallObject"] is None
    next_steps = section(response.text, "next-steps")
    assert f'data-task-id="{created["Id"]}"' in next_steps and "見積の再送" in next_steps
    assert response.headers.get("HX-Retarget") == "#next-steps"


def test_the_form_offers_the_contacts_account_and_open_opportunities_and_no_call_without_one(signed_in_client,
                                                                                             localorg):
    html = open_form(signed_in_client, "contact.yamada_taro").text
    assert 'id="task-form"' in html
    assert f'value="{IDS["account.yamada_shoji"]}"' in html
    assert f'value="{IDS["opportunity.yamada_callcenter"]}"' in html
    call_select = html[html.index('name="call_id"'):]
    assert re.search(r'<option value=""[^>]*selected', call_select[:call_select.index("</select>")])


def test_related_to_sets_the_what_id_for_a_contact(signed_in_client, localorg, sf):
    before = tasks_of(sf, YAMADA)
    response = submit(signed_in_client, "contact.yamada_taro", subject="導入打合せ",
                      what_id=IDS["opportunity.yamada_callcenter"])
    assert response.status_code == 200
    assert new_task(sf, YAMADA, before)["WhatId"] == IDS["opportunity.yamada_callcenter"]


def test_related_to_is_refused_for_a_lead_and_nothing_is_written(signed_in_client, localorg, sf):
    form = open_form(signed_in_client, "lead.kimura_takuya").text
    assert 'name="what_id"' not in form
    before = tasks_of(sf, LEAD)
    response = submit(signed_in_client, "lead.kimura_takuya", subject="初回連絡の準備",
                      what_id=IDS["account.yamada_shoji"])
    assert response.status_code == 400
    assert 'data-error-for="what_id"' in response.text and 'value="初回連絡の準備"' in response.text
    assert tasks_of(sf, LEAD) == before


# -- input that cannot be saved ------------------------------------------------------------------------------------

@pytest.mark.parametrize("changes, field", [
    ({"subject": ""}, "subject"),
    ({"subject": "   "}, "subject"),
    ({"subject": "件" * 256}, "subject"),
    ({"due_date": "2025-02-30"}, "due_date"),
    ({"due_date": "tomorrow"}, "due_date"),
    ({"notes": "メ" * 32_001}, "notes"),
])
def test_invalid_input_is_refused_next_to_the_field_keeping_everything_typed(signed_in_client, localorg, sf,
                                                                             changes, field):
    typed = {"subject": "資料送付", "notes": "カタログ <b>と</b> 価格表", "due_date": "2031-02-01",
             "what_id": IDS["account.yamada_shoji"], **changes}
    before = tasks_of(sf, YAMADA)
    response = submit(signed_in_client, "contact.yamada_taro", **typed)
    assert response.status_code == 422
    html = response.text
    assert f'data-error-for="{field}"' in html
    assert re.findall(r'data-error-for="(\w+)"', html) == [field]
    assert unescape(re.search(r'name="subject" value="([^"]*)"', html).group(1)) == typed["subject"].strip()
    assert unescape(re.search(r'<textarea id="task-notes" name="notes"[^>]*>(.*?)</textarea>', html,
                              re.S).group(1)) == typed["notes"]
    assert re.search(r'name="due_date" value="([^"]*)"', html).group(1) == typed["due_date"]
    assert re.search(rf'<option value="{IDS["account.yamada_shoji"]}"[^>]*selected', html)
    assert tasks_of(sf, YAMADA) == before


def test_a_salesforce_failure_keeps_everything_typed_and_the_retry_saves_it(signed_in_client, localorg, sf):
    open_form(signed_in_client, "contact.yamada_taro")  # the related-to options are read while Salesforce is up
    before = tasks_of(sf, YAMADA)
    localorg.admin("faults", error_rate=1, error_status=503)
    typed = {"subject": "契約書の確認", "notes": "第3条の修正", "due_date": "2031-03-01",
             "what_id": IDS["opportunity.yamada_callcenter"]}
    form = open_form(signed_in_client, "contact.yamada_taro").text
    response = signed_in_client.post(f"/panel/records/{YAMADA}/tasks", headers=HX, data={
        "csrf_token": token_in(form), "record_type": "Contact", "active_call_id": "", "call_id": "", **typed})
    assert response.status_code == 503
    html = response.text
    assert 'id="task-form"' in html and 'class="form-failure"' in html and "Retry" in html
    assert 'value="契約書の確認"' in html and "第3条の修正" in html and 'value="2031-03-01"' in html
    assert re.search(rf'<option value="{IDS["opportunity.yamada_callcenter"]}"[^>]*selected', html)
    localorg.admin("faults", error_rate=0)
    assert tasks_of(sf, YAMADA) == before
    retried = signed_in_client.post(f"/panel/records/{YAMADA}/tasks", headers=HX, data={
        "csrf_token": token_in(html), "record_type": "Contact", "active_call_id": "", "call_id": "", **typed})
    assert retried.status_code == 200
    assert new_task(sf, YAMADA, before)["Subject"] == "契約書の確認"


def test_a_post_without_the_csrf_token_is_refused(signed_in_client, localorg, sf):
    before = tasks_of(sf, YAMADA)
    response = submit(signed_in_client, "contact.yamada_taro", csrf=None, subject="CSRF なし")
    assert response.status_code == 400
    done = signed_in_client.post(f"/panel/tasks/{IDS['task.yamada_undated']}/done", headers=HX,
                                 data={"record_id": YAMADA, "record_type": "Contact"})
    assert done.status_code == 400
    assert tasks_of(sf, YAMADA) == before


# -- mark done and edit ---------------------------------------------------------------------------------------------

def item_form_token(client, record_key: str) -> str:
    return token_in(client.get(f"/panel/records/{IDS[record_key]}/next-steps?record_type=Contact", headers=HX).text)


def test_mark_done_moves_a_task_to_past_activities_in_one_request(signed_in_client, localorg, sf):
    task_id = IDS["task.yamada_send_quote"]
    token = item_form_token(signed_in_client, "contact.yamada_taro")
    before = localorg.api_requests()
    response = signed_in_client.post(f"/panel/tasks/{task_id}/done", headers=HX, data={
        "csrf_token": token, "record_id": YAMADA, "record_type": "Contact"})
    assert response.status_code == 200 and localorg.api_requests() - before == 1
    assert f'data-task-id="{task_id}"' not in section(response.text, "next-steps")
    past = section(response.text, "past-activities")
    assert 'hx-swap-oob="true"' in past and re.findall(r'data-task-id="([^"]+)"', past)[0] == task_id
    assert sf.Task.get(task_id)["Status"] == "Completed"


def test_editing_changes_subject_notes_and_due_date(signed_in_client, localorg, sf):
    task_id = IDS["task.yamada_undated"]
    token = item_form_token(signed_in_client, "contact.yamada_taro")
    response = signed_in_client.post(f"/panel/tasks/{task_id}", headers=HX, data={
        "csrf_token": token, "record_id": YAMADA, "record_type": "Contact",
        "subject": "導入事例を送付", "notes": "製造業の事例を2件", "due_date": "2031-05-01"})
    assert response.status_code == 200
    stored = sf.Task.get(task_id)
    assert (stored["Subject"], stored["Description"], stored["ActivityDate"]) == \
        ("導入事例を送付", "製造業の事例を2件", "2031-05-01")
    assert "導入事例を送付" in section(response.text, "next-steps")


def test_an_invalid_edit_comes_back_on_its_item_with_the_typed_values(signed_in_client, localorg, sf):
    task_id = IDS["task.yamada_undated"]
    token = item_form_token(signed_in_client, "contact.yamada_taro")
    response = signed_in_client.post(f"/panel/tasks/{task_id}", headers=HX, data={
        "csrf_token": token, "record_id": YAMADA, "record_type": "Contact",
        "subject": "", "notes": "消さないで", "due_date": "2031-13-01"})
    assert response.status_code == 422
    assert response.text.lstrip().startswith(f"<li") and f'data-task-id="{task_id}"' in response.text
    assert 'data-error-for="subject"' in response.text and 'data-error-for="due_date"' in response.text
    assert "消さないで" in response.text and 'value="2031-13-01"' in response.text
    assert sf.Task.get(task_id)["Subject"] == "導入事例の資料を確認"


def test_a_write_drops_the_cached_card_so_the_next_pop_asks_salesforce(signed_in_client, localorg):
    signed_in_client.get("/panel?phone=03-1234-5678", headers=HX)
    cached = localorg.api_requests()
    signed_in_client.get("/panel?phone=03-1234-5678", headers=HX)
    assert localorg.api_requests() == cached  # the pop is cached
    submit(signed_in_client, "contact.yamada_taro", subject="キャッシュ確認")
    after_write = localorg.api_requests()
    signed_in_client.get("/panel?phone=03-1234-5678", headers=HX)
    assert localorg.api_requests() > after_write


def test_mark_done_while_salesforce_is_down_says_so_next_to_that_task_and_keeps_the_list(signed_in_client,
                                                                                        localorg, sf):
    task_id = IDS["task.yamada_send_quote"]
    next_steps = signed_in_client.get(f"/panel/records/{YAMADA}/next-steps?record_type=Contact", headers=HX).text
    assert f'id="task-error-{task_id}"' in next_steps  # the slot the answer lands in
    localorg.admin("faults", error_rate=1, error_status=503)
    response = signed_in_client.post(f"/panel/tasks/{task_id}/done", headers=HX, data={
        "csrf_token": token_in(next_steps), "record_id": YAMADA, "record_type": "Contact"})
    assert response.status_code == 503
    assert response.headers["HX-Retarget"] == f"#task-error-{task_id}"
    assert f'id="task-error-{task_id}"' in response.text and 'role="alert"' in response.text
    assert 'id="next-steps"' not in response.text  # the list on screen stays as it is
    localorg.admin("faults")
    assert sf.Task.get(task_id)["Status"] != "Completed"


def test_a_call_note_salesforce_refuses_keeps_everything_typed(signed_in_client, localorg, sf):
    from calls_support import Dialer

    dialer = Dialer(signed_in_client, "c-refused", number="03-5678-9012")
    dialer.send(dialer.ringing())
    record = IDS["contact.ito_sakura"]
    form = open_form(signed_in_client, "contact.ito_sakura", call_id="c-refused").text
    sf.Contact.delete(record)  # gone in Salesforce while the agent was typing: the write is refused
    response = signed_in_client.post(f"/panel/records/{record}/tasks", headers=HX, data={
        "csrf_token": token_in(form), "record_type": "Contact", "active_call_id": "c-refused",
        "call_id": "c-refused", "subject": "折り返し希望", "notes": "明日 10 時以降"})
    assert response.status_code in (422, 502)
    html = response.text
    assert 'id="task-form"' in html and ('class="form-failure"' in html or 'data-error-for="_form"' in html)
    assert 'value="折り返し希望"' in html and "明日 10 時以降" in html


def test_a_past_activity_can_be_corrected_but_not_marked_done_again(signed_in_client, localorg, sf):
    task_id = IDS["task.call_inbound_yamada"]
    past = signed_in_client.get(f"/panel/records/{YAMADA}/past-activities?record_type=Contact", headers=HX).text
    item = past[past.index(f'data-task-id="{task_id}"'):]
    item = item[:item.index("</li>")]
    assert "task-mark-done" not in item and 'name="closed" value="1"' in item
    response = signed_in_client.post(f"/panel/tasks/{task_id}", headers=HX, data={
        "csrf_token": token_in(past), "record_id": YAMADA, "record_type": "Contact", "closed": "1",
        "subject": "通話 - 着信 / 5分", "notes": "来月の導入スケジュール（修正: 再来月）", "due_date": ""})
    assert response.status_code == 200
    stored = sf.Task.get(task_id)
    assert stored["Description"] == "来月の導入スケジュール（修正: 再来月）" and stored["IsClosed"]
    assert "再来月" in section(response.text, "past-activities")


def test_an_edit_while_salesforce_is_down_keeps_the_typed_values_on_its_item(signed_in_client, localorg, sf):
    task_id = IDS["task.yamada_undated"]
    token = item_form_token(signed_in_client, "contact.yamada_taro")
    localorg.admin("faults", error_rate=1, error_status=503)
    response = signed_in_client.post(f"/panel/tasks/{task_id}", headers=HX, data={
        "csrf_token": token, "record_id": YAMADA, "record_type": "Contact",
        "subject": "資料を再送", "notes": "担当者変更のため", "due_date": "2031-06-01"})
    localorg.admin("faults")
    assert response.status_code == 503
    assert response.text.lstrip().startswith("<li") and 'class="form-failure"' in response.text
    assert 'value="資料を再送"' in response.text and "担当者変更のため" in response.text
    assert 'value="2031-06-01"' in response.text and "Retry" in response.text
    assert sf.Task.get(task_id)["Subject"] == "導入事例の資料を確認"
