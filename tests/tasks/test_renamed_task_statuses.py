"""An org whose admin renamed the Task statuses: new, done and call Tasks are written with the org's own values."""

from __future__ import annotations

import pytest

from calls_support import Dialer, call_tasks, run_queued
from panel.localorg.seed import IDS
from panel import web
from tests.tasks.test_tasks import HX, YAMADA, item_form_token, new_task, submit, tasks_of

QUOTE = IDS["task.yamada_send_quote"]
RENAMED = [{"label": "未着手", "closed": False},
           {"label": "対応中", "closed": False, "default": True},
           {"label": "完了済み", "closed": True},
           {"label": "取り下げ", "closed": True}]


@pytest.fixture
def renamed(localorg):
    localorg.admin("org", task_statuses=RENAMED)


@pytest.fixture
def preferences(app):
    """Sets PANEL_TASK_OPEN_STATUS / PANEL_TASK_DONE_STATUS, as the environment does before the app starts."""
    def choose(**chosen):
        app.config.update(PANEL_TASK_OPEN_STATUS=chosen.get("open"), PANEL_TASK_DONE_STATUS=chosen.get("done"))
        web.forget_settings(app)
    return choose


def test_a_new_task_takes_the_orgs_default_open_status_at_no_extra_request(renamed, signed_in_client, localorg, sf):
    before_tasks, before = tasks_of(sf, YAMADA), localorg.api_requests()
    response = submit(signed_in_client, "contact.yamada_taro", subject="見積の再送", call_id="")
    assert response.status_code == 200 and localorg.api_requests() - before == 2  # the form's related-to, the write
    created = new_task(sf, YAMADA, before_tasks)
    assert (created["Status"], created["IsClosed"]) == ("対応中", False)


def mark_quote_done(client):
    """Presses Mark done on 山田 太郎's "send the quote" Task."""
    token = item_form_token(client, "contact.yamada_taro")
    return client.post(f"/panel/tasks/{QUOTE}/done", headers=HX,
                       data={"csrf_token": token, "record_id": YAMADA, "record_type": "Contact"})


def test_marking_done_closes_the_task_with_the_orgs_first_closed_status(renamed, signed_in_client, localorg, sf):
    token_read = localorg.api_requests()
    response = mark_quote_done(signed_in_client)
    assert response.status_code == 200 and localorg.api_requests() - token_read == 2  # the lists, then the write
    done = sf.Task.get(QUOTE)
    assert (done["Status"], done["IsClosed"]) == ("完了済み", True)


def test_a_setting_chooses_another_closed_status(renamed, preferences, signed_in_client, sf):
    preferences(done="取り下げ")
    mark_quote_done(signed_in_client)
    assert sf.Task.get(QUOTE)["Status"] == "取り下げ"


def test_a_call_is_logged_with_the_orgs_closed_status(renamed, app, signed_in_client, sf):
    dialer = Dialer(signed_in_client, "call-renamed")
    dialer.send(dialer.ringing(), dialer.answered(), dialer.ended(duration=95))
    run_queued(app)
    [task] = call_tasks(sf, "call-renamed")
    assert (task["Status"], task["IsClosed"], task["WhoId"]) == ("完了済み", True, YAMADA)


def test_the_setting_chooses_the_closed_status_of_a_logged_call_too(renamed, preferences, app, signed_in_client, sf):
    preferences(done="取り下げ")
    dialer = Dialer(signed_in_client, "call-renamed-chosen")
    dialer.send(dialer.ringing(), dialer.answered(), dialer.ended(duration=95))
    run_queued(app)
    [task] = call_tasks(sf, "call-renamed-chosen")
    assert (task["Status"], task["IsClosed"]) == ("取り下げ", True)


def test_a_note_during_a_call_opens_its_task_in_the_orgs_open_status(renamed, app, signed_in_client, sf):
    dialer = Dialer(signed_in_client, "call-renamed-notes")
    dialer.send(dialer.ringing(), dialer.answered())
    run_queued(app)
    submit(signed_in_client, "contact.yamada_taro", subject="見積の依頼", call_id="call-renamed-notes",
           active_call_id="call-renamed-notes")
    [task] = call_tasks(sf, "call-renamed-notes")
    assert (task["Status"], task["IsClosed"]) == ("対応中", False)
    dialer.send(dialer.ended(duration=30))
    run_queued(app)
    [closed] = call_tasks(sf, "call-renamed-notes")
    assert (closed["Id"], closed["Status"], closed["IsClosed"]) == (task["Id"], "完了済み", True)


def test_the_org_is_read_again_after_its_admin_changes_the_statuses(app, signed_in_client, localorg, sf):
    first = Dialer(signed_in_client, "call-before-rename")
    first.send(first.ringing(), first.answered(), first.ended(duration=20))
    run_queued(app)
    assert call_tasks(sf, "call-before-rename")[0]["Status"] == "Completed"
    localorg.admin("org", task_statuses=RENAMED)  # the panel still holds the old values
    second = Dialer(signed_in_client, "call-after-rename")
    second.send(second.ringing(), second.answered(), second.ended(duration=20))
    run_queued(app)
    run_queued(app)
    tasks = call_tasks(sf, "call-after-rename")
    assert [t["Status"] for t in tasks] == ["完了済み"]
