"""A call of several legs (a transfer, a forward) is one interaction and one Salesforce Task, against the local org.

The dialer names each leg (`leg_id`) and every leg's events carry the interaction's `call_id`. The Task is owned by
the agent who handled the call last, holds every agent's notes and the time the customer spent connected; a leg
reported after the Task was written updates that same Task. With PANEL_TASK_PER_LEG each leg is its own Task.
Events go through the panel's signed webhook; the logging job runs as a worker runs it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from calls_support import Dialer, call_record, call_tasks, configure, note, run_call, run_queued
from tests.conftest import sign_in  # not `conftest`: that name is whichever folder's conftest pytest loaded last
from panel.localorg.seed import IDS, USER_IDS

YAMADA = IDS["contact.yamada_taro"]
FIRST, SECOND = "agent@example.com", "agent2@example.com"
RECORDING = "https://dialer.example.com/recordings/leg-b"


@pytest.fixture(autouse=True)
def english_tasks(app):
    configure(app, PANEL_TASK_LANGUAGE="en")


def browser_of(app, localorg, username: str):
    browser = app.test_client()
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    sign_in(browser, localorg, username)
    return browser


def later(seconds: float = 30) -> datetime:
    """A moment past the transfer's settle time (5 s by default)."""
    return datetime.now(timezone.utc) + timedelta(seconds=seconds)


def leg_a(dialer: Dialer) -> list[dict]:
    """The first agent answers at 5 s and transfers at 65 s (60 s connected)."""
    return [dialer.event("call.ringing", at_s=0, leg_id="leg-a", agent_email=FIRST),
            dialer.event("call.answered", at_s=5, leg_id="leg-a", agent_email=FIRST),
            dialer.event("call.ended", at_s=65, leg_id="leg-a", agent_email=FIRST, answered=True,
                         duration_seconds=60)]


def leg_b(dialer: Dialer) -> list[dict]:
    """The second agent's phone rings at 66 s, they answer at 70 s and hang up at 170 s (100 s connected)."""
    return [dialer.event("call.ringing", at_s=66, leg_id="leg-b", agent_email=SECOND),
            dialer.event("call.answered", at_s=70, leg_id="leg-b", agent_email=SECOND),
            dialer.event("call.ended", at_s=170, leg_id="leg-b", agent_email=SECOND, answered=True,
                         duration_seconds=100, recording_url=RECORDING)]


def logged_once(sf, call_id: str) -> dict:
    tasks = call_tasks(sf, call_id)
    assert len(tasks) == 1, tasks
    return tasks[0]



def test_a_transferred_call_is_one_task_owned_by_the_last_agent_with_both_agents_notes(app, localorg, sf):
    first, second = browser_of(app, localorg, FIRST), browser_of(app, localorg, SECOND)
    dialer = Dialer(first, "call-transfer")
    a, b = leg_a(dialer), leg_b(dialer)
    dialer.send(*a[:2])
    run_queued(app)
    note(first, "call-transfer", "Transfer to billing", "Asked about the invoice")
    dialer.send(a[2], *b[:2])
    run_queued(app)
    note(second, "call-transfer", "Billing", "Explained the invoice")  # the agent of the second leg may add notes
    dialer.send(b[2])
    run_call(app, "call-transfer", now=later())

    task = logged_once(sf, "call-transfer")
    assert task["IsClosed"] and task["OwnerId"] == USER_IDS["agent2"]
    assert task["CallDurationInSeconds"] == 160  # connected time; the 5 s between the legs are not
    assert task["WhoId"] == YAMADA
    assert "Asked about the invoice" in task["Description"] and "Explained the invoice" in task["Description"]
    assert task["Description"].count(RECORDING) == 1
    assert call_record(app, "call-transfer").status == "logged"


@pytest.mark.parametrize("order", ["as_sent", "reversed", "b_first"])
def test_a_transfer_delivered_in_any_order_and_twice_is_logged_once(app, client, sf, order):
    dialer = Dialer(client, f"call-transfer-{order}")
    events = leg_a(dialer) + leg_b(dialer)
    if order == "reversed":
        events = events[::-1]
    elif order == "b_first":
        events = events[3:] + events[:3]
    for event in events:
        dialer.send(event)
        run_call(app, dialer.call_id)
    dialer.send(*events)  # every event delivered again: duplicates
    run_call(app, dialer.call_id, now=later())
    run_call(app, dialer.call_id, now=later(60))
    task = logged_once(sf, dialer.call_id)
    assert task["OwnerId"] == USER_IDS["agent2"] and task["CallDurationInSeconds"] == 160
    assert task["Subject"] == "Call - Inbound / (3) min"


def test_a_call_whose_dialer_names_legs_waits_the_settle_time_before_it_is_logged(app, client, sf):
    dialer = Dialer(client, "call-settle")
    dialer.send(*leg_a(dialer))
    delay = run_call(app, "call-settle")
    assert delay is not None and 0 < delay <= 5  # a transfer's next leg may be on its way
    assert call_tasks(sf, "call-settle") == []
    assert run_call(app, "call-settle", now=later()) is None
    assert logged_once(sf, "call-settle")["CallDurationInSeconds"] == 60


def test_the_settle_time_is_a_setting(app, client, sf):
    configure(app, PANEL_CALL_SETTLE_S=0)
    dialer = Dialer(client, "call-no-settle")
    dialer.send(*leg_a(dialer))
    assert run_call(app, "call-no-settle") is None
    logged_once(sf, "call-no-settle")


def test_a_leg_reported_after_the_task_was_written_updates_that_same_task(app, client, sf):
    dialer = Dialer(client, "call-late-leg")
    dialer.send(*leg_a(dialer))
    run_call(app, "call-late-leg", now=later())
    before = logged_once(sf, "call-late-leg")
    assert before["OwnerId"] == USER_IDS["agent"] and before["Subject"] == "Call - Inbound / (1) min"

    dialer.send(*leg_b(dialer))
    run_call(app, "call-late-leg", now=later())
    after = logged_once(sf, "call-late-leg")
    assert after["Id"] == before["Id"]
    assert after["OwnerId"] == USER_IDS["agent2"]  # the agent who handled it last
    assert after["CallDurationInSeconds"] == 160 and after["Subject"] == "Call - Inbound / (3) min"
    assert RECORDING in after["Description"]
    assert call_record(app, "call-late-leg").status == "logged"
    run_call(app, "call-late-leg", now=later(60))  # nothing changed since: nothing written again
    assert logged_once(sf, "call-late-leg") == after


def test_a_subject_someone_gave_the_task_is_kept_when_a_late_leg_corrects_the_call(app, client, sf):
    dialer = Dialer(client, "call-renamed")
    dialer.send(*leg_a(dialer))
    run_call(app, "call-renamed", now=later())
    task = logged_once(sf, "call-renamed")
    sf.Task.update(task["Id"], {"Subject": "Invoice question"})
    dialer.send(*leg_b(dialer))
    run_call(app, "call-renamed", now=later())
    after = logged_once(sf, "call-renamed")
    assert after["Subject"] == "Invoice question" and after["CallDurationInSeconds"] == 160


def test_a_transfer_nobody_answered_follows_the_missed_call_policy(app, client, sf):
    dialer = Dialer(client, "call-transfer-missed")
    dialer.send(dialer.event("call.ringing", at_s=0, leg_id="leg-a"),
                dialer.event("call.ended", at_s=20, leg_id="leg-a", answered=False, duration_seconds=0),
                dialer.event("call.ringing", at_s=21, leg_id="leg-b", agent_email=SECOND),
                dialer.event("call.ended", at_s=40, leg_id="leg-b", agent_email=SECOND, answered=False,
                             duration_seconds=0))
    run_call(app, "call-transfer-missed", now=later())
    assert call_tasks(sf, "call-transfer-missed") == []
    assert call_record(app, "call-transfer-missed").outcome == "missed"


def test_with_a_task_per_leg_each_leg_is_its_own_task(app, client, sf):
    configure(app, PANEL_TASK_PER_LEG=True)
    dialer = Dialer(client, "call-per-leg")
    dialer.send(*leg_a(dialer), *leg_b(dialer))
    assert call_tasks(sf, "call-per-leg") == []
    run_call(app, "leg-a", now=later())
    run_call(app, "leg-b", now=later())
    first, second = logged_once(sf, "leg-a"), logged_once(sf, "leg-b")
    assert (first["OwnerId"], first["CallDurationInSeconds"]) == (USER_IDS["agent"], 60)
    assert (second["OwnerId"], second["CallDurationInSeconds"]) == (USER_IDS["agent2"], 100)
