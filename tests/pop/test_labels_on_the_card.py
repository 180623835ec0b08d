"""The card and the task lists show picklists as labels in the agent's language (toLabel()), not API values."""

from __future__ import annotations

import re

from panel.localorg.seed import IDS
from tests.pop.test_screen_pop import pop, stage_shown
from tests.tasks.test_task_lists import lists, section


def test_a_japanese_agent_sees_the_stage_and_the_lead_status_in_japanese(signed_in_client, localorg):
    assert stage_shown(signed_in_client, localorg, pop(signed_in_client, "03-1234-5678")) == "交渉/レビュー"
    lead = pop(signed_in_client, "080-9876-5432")
    assert re.search(r'id="card-stage"[^>]*>未対応<', lead.text)
    assert "Open - Not Contacted" not in lead.text and "Negotiation/Review" not in lead.text


def test_an_agent_working_in_english_sees_salesforces_english_labels(client, localorg, sf):
    from tests.conftest import sign_in
    sf.User.update(IDS["user.agent"], {"LanguageLocaleKey": "en_US"})
    sign_in(client, localorg)
    assert stage_shown(client, localorg, pop(client, "03-1234-5678")) == "Negotiation/Review"


def test_the_next_steps_show_each_open_tasks_status_as_the_org_labels_it(signed_in_client, localorg):
    html = section(lists(signed_in_client, "contact.yamada_taro").text, "next-steps")
    shown = re.findall(r'class="task-status" data-status="([^"]*)">([^<]*)<', html)
    assert ("Not Started", "未着手") in shown and ("In Progress", "進行中") in shown
    assert len(shown) == 3 and all(value != label for value, label in shown)


def test_an_orgs_own_statuses_are_shown_as_the_admin_named_them(signed_in_client, localorg, sf):
    localorg.admin("org", task_statuses=[{"label": "対応中", "closed": False, "default": True},
                                         {"label": "完了済み", "closed": True}])
    sf.Task.update(IDS["task.yamada_send_quote"], {"Status": "対応中"})
    html = section(lists(signed_in_client, "contact.yamada_taro").text, "next-steps")
    shown = dict(re.findall(r'data-task-id="([^"]+)".*?class="task-status" data-status="[^"]*">([^<]*)<', html,
                            re.S))
    assert shown[IDS["task.yamada_send_quote"]] == "対応中"
    assert shown[IDS["task.yamada_undated"]] == "Not Started"  # written before: the value the org no longer has
