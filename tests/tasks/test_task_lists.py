"""Next steps and past activities under the card, as an agent sees them, against the seeded local org."""

from __future__ import annotations

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from panel.localorg.seed import IDS
from panel.salesforce.tasks import parse_call_links, task_item

HX = {"HX-Request": "true"}
YAMADA = IDS["contact.yamada_taro"]


def lists(client, record_key: str, **params):
    record_type = record_key.split(".")[0].capitalize()
    query = "&".join(f"{k}={v}" for k, v in {"record_type": record_type, **params}.items())
    return client.get(f"/panel/records/{IDS[record_key]}/tasks?{query}", headers=HX)


def section(html: str, root_id: str) -> str:
    """The markup of one list, from its root to the next list's root (or the end)."""
    start = html.index(f'id="{root_id}"')
    following = [html.find(f'id="{other}"', start + 1) for other in ("next-steps", "past-activities")]
    ends = [position for position in following if position > start]
    return html[start:min(ends)] if ends else html[start:]


def task_ids(html: str) -> list[str]:
    return re.findall(r'data-task-id="([^"]+)"', html)


def today_in_tokyo() -> date:
    from datetime import datetime
    return datetime.now(ZoneInfo("Asia/Tokyo")).date()


def test_both_lists_of_a_contact_cost_one_api_request(signed_in_client, localorg):
    before = localorg.api_requests()
    response = lists(signed_in_client, "contact.yamada_taro")
    assert response.status_code == 200
    assert localorg.api_requests() - before == 1
    assert 'id="next-steps"' in response.text and 'id="past-activities"' in response.text


def test_next_steps_are_open_tasks_by_due_date_with_overdue_marked_and_undated_last(signed_in_client, localorg):
    html = section(lists(signed_in_client, "contact.yamada_taro").text, "next-steps")
    assert task_ids(html) == [IDS["task.yamada_overdue_callback"], IDS["task.yamada_send_quote"],
                              IDS["task.yamada_undated"]]
    overdue = re.findall(r'data-task-id="([^"]+)" data-overdue="true"', html)
    assert overdue == [IDS["task.yamada_overdue_callback"]]
    assert html.count("Mark done") == 3 and html.count("Edit") >= 3


def test_past_activities_are_closed_tasks_newest_first(signed_in_client, localorg):
    html = section(lists(signed_in_client, "contact.yamada_taro").text, "past-activities")
    assert task_ids(html) == [IDS["task.call_inbound_yamada"], IDS["task.yamada_hearing_done"]]
    assert "Mark done" not in html


def test_a_call_in_past_activities_shows_direction_duration_result_and_recording(signed_in_client, localorg, sf):
    created = sf.Task.create({
        "Subject": "通話 - 発信 / (3)分", "Status": "Completed", "TaskSubtype": "Call", "CallType": "Outbound",
        "CallDurationInSeconds": 150, "CallDisposition": "折り返し希望", "CallObject": "call-rec-1",
        "WhoId": YAMADA, "ActivityDate": today_in_tokyo().isoformat(),
        "Description": "見積の確認\n\nRecording: https://rec.example.com/r/1?sig=a&b=c",
    })["id"]
    html = section(lists(signed_in_client, "contact.yamada_taro").text, "past-activities")
    assert task_ids(html)[0] == created
    item = html[html.index(f'data-task-id="{created}"'):]
    item = item[:item.index("</li>")]
    assert 'data-call-type="Outbound"' in item and 'data-seconds="150"' in item
    assert "折り返し希望" in item
    assert re.search(r'<a class="call-recording" href="https://rec.example.com/r/1\?sig=a&amp;b=c" '
                     r'target="_blank" rel="noopener noreferrer">', item)


def test_past_activities_link_to_the_full_history_in_a_new_tab(signed_in_client, localorg):
    html = section(lists(signed_in_client, "contact.yamada_taro").text, "past-activities")
    link = re.search(r'<a class="view-all" href="([^"]+)" target="_blank" rel="noopener">', html)
    assert link and link.group(1).endswith(f"/lightning/r/Contact/{YAMADA}/related/ActivityHistories/view")


def test_an_account_shows_its_own_tasks_and_those_of_its_contacts_and_opportunities(signed_in_client, localorg):
    html = lists(signed_in_client, "account.yamada_shoji").text
    assert IDS["task.yamada_overdue_callback"] in task_ids(section(html, "next-steps"))  # via its opportunity
    assert IDS["task.yamada_undated"] in task_ids(section(html, "next-steps"))  # via its contact
    assert IDS["task.yamada_hearing_done"] in task_ids(section(html, "past-activities"))  # its own (WhatId)


def test_a_lead_shows_its_tasks(signed_in_client, localorg):
    html = lists(signed_in_client, "lead.matsumoto_daisuke").text
    assert task_ids(section(html, "past-activities")) == [IDS["task.matsumoto_lead_call"]]
    assert task_ids(section(html, "next-steps")) == []


def test_ten_at_a_time_and_more_on_demand_one_request_per_page(signed_in_client, localorg, sf):
    due = today_in_tokyo() + timedelta(days=30)
    records = [{"attributes": {"type": "Task"}, "Subject": f"後続 {i:02d}", "WhoId": IDS["contact.ito_sakura"],
                "ActivityDate": (due + timedelta(days=i)).isoformat()} for i in range(23)]
    sf.restful("composite/sobjects", method="POST", json={"records": records})
    first = signed_in_client.get(f"/panel/records/{IDS['contact.ito_sakura']}/next-steps?record_type=Contact",
                                 headers=HX)
    assert first.status_code == 200 and 'id="next-steps"' in first.text
    assert len(task_ids(first.text)) == 10
    seen = task_ids(first.text)
    more = re.search(r'hx-get="([^"]+offset=10)"', first.text)
    while more:
        before = localorg.api_requests()
        page = signed_in_client.get(more.group(1).replace("&amp;", "&"), headers=HX)
        assert page.status_code == 200 and localorg.api_requests() - before == 1
        assert 'id="next-steps"' not in page.text  # only items, appended where the "more" link was
        seen += task_ids(page.text)
        more = re.search(r'hx-get="([^"]+offset=\d+)"', page.text)
    subjects = [r["Subject"] for r in sf.query(
        f"SELECT Subject FROM Task WHERE WhoId = '{IDS['contact.ito_sakura']}' AND IsClosed = false")["records"]]
    assert len(seen) == len(set(seen)) == len(subjects) == 23


def test_a_subject_with_markup_is_shown_as_text(signed_in_client, localorg, sf):
    sf.Task.create({"Subject": "<script>alert(1)</script>", "WhoId": YAMADA,
                    "Description": '<img src=x onerror="alert(2)">'})
    html = lists(signed_in_client, "contact.yamada_taro").text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html


def test_salesforce_down_keeps_each_list_in_place_with_a_retry(signed_in_client, localorg):
    localorg.admin("faults", error_rate=1, error_status=503)
    response = signed_in_client.get(f"/panel/records/{YAMADA}/next-steps?record_type=Contact", headers=HX)
    assert response.status_code == 503
    assert 'id="next-steps"' in response.text and "Retry" in response.text


@pytest.mark.parametrize("path, field", [
    (f"/panel/records/{YAMADA}/tasks?record_type=Lead", "record_id"),  # a Contact Id is no Lead
    (f"/panel/records/{YAMADA}/tasks?record_type=Opportunity", "record_type"),
    (f"/panel/records/{YAMADA}/next-steps", "record_type"),
    ("/panel/records/not-an-id/next-steps?record_type=Contact", "record_id"),
    (f"/panel/records/{YAMADA}/past-activities?record_type=Contact&offset=-1", "offset"),
    (f"/panel/records/{YAMADA}/past-activities?record_type=Contact&offset=99999", "offset"),
])
def test_a_malformed_list_request_names_the_parameter(signed_in_client, localorg, path, field):
    before = localorg.api_requests()
    response = signed_in_client.get(path, headers=HX)
    assert response.status_code == 400 and f'data-field="{field}"' in response.text
    assert localorg.api_requests() == before


# -- reading a Task row (no request) -------------------------------------------------------------------------------

def test_overdue_is_counted_from_today_and_only_for_open_tasks():
    today = date(2025, 4, 10)
    row = {"Id": "00T000000000001AAA", "ActivityDate": "2025-04-09", "IsClosed": False}
    assert task_item(row, today).is_overdue
    assert not task_item({**row, "ActivityDate": "2025-04-10"}, today).is_overdue
    assert not task_item({**row, "IsClosed": True}, today).is_overdue
    assert not task_item({**row, "ActivityDate": None}, today).is_overdue


@pytest.mark.parametrize("locale", ["en", "ja"])
def test_recording_and_voicemail_links_written_by_call_logging_are_read_back(locale):
    from panel.calls.logging_rules import describe

    text = describe("メモ\nRecording is mentioned here: not a link", recording_url="https://rec.example.com/1",
                    voicemail_url="https://vm.example.com/2", locale=locale)
    assert parse_call_links(text) == ("https://rec.example.com/1", "https://vm.example.com/2")


def test_links_that_are_not_http_are_not_offered():
    assert parse_call_links("Recording: javascript:alert(1)\nVoicemail: ftp://x") == (None, None)
