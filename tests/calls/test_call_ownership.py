"""A call belongs to its agent: only the agent the call's events name ties a pick, a note or a new record to it.

Another signed-in agent (or a reviewer outside the review queue) who sends the victim's call id in the panel's
forms is refused with 403 and changes nothing: the victim's call is still logged against the record the victim
chose, owned by the victim, with only the victim's text. A call id no event has named yet cannot be claimed at all
(409): the browser's idea of the call is a hint, the ledger is the truth. Each call here runs through to its Task.
"""

from __future__ import annotations

import re

import pytest

from calls_support import Dialer, call_record, call_tasks, run_queued
from tests.conftest import sign_in  # not `conftest`: that name is whichever folder's conftest pytest loaded last
from panel.localorg.seed import IDS, ORG_ID, USER_IDS

HX = {"HX-Request": "true"}
SHARED = "06-6123-4567"  # contact.yoshida_sho and contact.yoshida_aya
SHARED_E164 = "+81661234567"
SHO, AYA = IDS["contact.yoshida_sho"], IDS["contact.yoshida_aya"]
YAMADA = IDS["contact.yamada_taro"]  # the one record with 03-1234-5678
ITO = IDS["contact.ito_sakura"]
NOBODYS = "03-9999-0000"
VICTIM_ID = USER_IDS["agent"]


@pytest.fixture
def victim(signed_in_client):
    """agent@example.com, on whose calls the dialer reports."""
    return signed_in_client


def browser_of(app, localorg, username: str):
    browser = app.test_client()
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    sign_in(browser, localorg, username)
    return browser


@pytest.fixture(params=["agent2@example.com", "reviewer@example.com"])
def intruder(app, localorg, request):
    """Another agent, or a reviewer trying the agent's forms instead of the review queue."""
    return browser_of(app, localorg, request.param)


# -- what a browser sends -------------------------------------------------------------------------------------------

def token_of(client) -> str:
    page = client.get(f"/panel?phone={NOBODYS}", headers=HX).text  # no match: the quick-create form has a token
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def pick(client, call_id: str, record_id: str, phone: str = SHARED, **extra):
    client.get(f"/panel?phone={phone}&call_id={call_id}", headers=HX)
    return client.post("/panel/pick", headers=HX, data={"csrf_token": token_of(client), "record_id": record_id,
                                                        "phone": phone, "call_id": call_id, **extra})


def note(client, call_id: str, record_id: str, subject: str, notes: str = ""):
    form = client.get(f"/panel/records/{record_id}/tasks/new?record_type=Contact&call_id={call_id}",
                      headers=HX).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    return client.post(f"/panel/records/{record_id}/tasks", headers=HX, data={
        "csrf_token": token, "record_type": "Contact", "active_call_id": call_id, "call_id": call_id,
        "subject": subject, "notes": notes})


def quick_create(client, call_id: str, last_name: str, phone: str = NOBODYS):
    return client.post("/panel/records", headers=HX, data={
        "csrf_token": token_of(client), "call_id": call_id, "record_type": "Contact", "LastName": last_name,
        "Phone": phone})


def contacts_named(sf, last_name: str) -> list[dict]:
    return sf.query(f"SELECT Id FROM Contact WHERE LastName = '{last_name}'")["records"]


def logged_once(sf, call_id: str) -> dict:
    tasks = call_tasks(sf, call_id)
    assert len(tasks) == 1, tasks
    return tasks[0]


def remembered(app, call_id: str, e164: str = SHARED_E164):
    """(the pick kept for the call, the pick kept for the number): record ids, or None."""
    from panel.callers import picks

    with app.app_context():
        for_call, for_number = picks.call_pick(call_id), picks.remembered_pick(ORG_ID, e164)
        return (for_call.record_id if for_call else None), (for_number.record_id if for_number else None)


def refused_because(response, status: int, reason: str) -> None:
    assert response.status_code == status, response.text
    assert f'data-refused="{reason}"' in response.text, response.text


# -- another agent's call -------------------------------------------------------------------------------------------

def test_a_pick_on_another_agents_call_is_refused_and_the_call_is_logged_as_its_agent_chose(app, victim, intruder,
                                                                                            sf):
    dialer = Dialer(victim, "call-victim-pick", number=SHARED, agent="Agent@Example.com")  # any case names them
    dialer.send(dialer.ringing(), dialer.answered())
    assert pick(victim, dialer.call_id, SHO).status_code == 200

    refused = pick(intruder, dialer.call_id, AYA)
    refused_because(refused, 403, "not_yours")
    assert 'id="pop"' in refused.text and "another agent" in refused.text
    # the manual search's pick (a record without the number) is the same binding, refused the same way
    refused_because(pick(intruder, dialer.call_id, ITO, record_type="Contact"), 403, "not_yours")
    assert remembered(app, dialer.call_id) == (SHO, SHO)  # neither the call's pick nor the number's moved

    dialer.send(dialer.ended())
    run_queued(app)
    task = logged_once(sf, dialer.call_id)
    assert (task["WhoId"], task["OwnerId"]) == (SHO, VICTIM_ID)
    assert call_record(app, dialer.call_id).record_source == "call_pick"


def test_a_note_on_another_agents_call_is_refused_and_nothing_of_it_reaches_the_calls_task(app, victim, intruder,
                                                                                           sf):
    dialer = Dialer(victim, "call-victim-note")
    dialer.send(dialer.ringing(), dialer.answered())  # the job has not run yet: the call has no row

    refused = note(intruder, dialer.call_id, ITO, "侵入者のメモ", "別の記録へ")
    refused_because(refused, 403, "not_yours")
    assert 'id="task-form"' in refused.text and 'data-error-for="call_id"' in refused.text
    assert 'value="侵入者のメモ"' in refused.text  # what was typed stays in the form
    assert call_record(app, dialer.call_id) is None and call_tasks(sf, dialer.call_id) == []

    assert note(victim, dialer.call_id, YAMADA, "本人のメモ").status_code == 200
    dialer.send(dialer.ended())
    run_queued(app)
    refused_because(note(intruder, dialer.call_id, ITO, "あとからのメモ"), 403, "not_yours")  # logged: still theirs

    task = logged_once(sf, dialer.call_id)
    assert (task["WhoId"], task["OwnerId"], task["IsClosed"]) == (YAMADA, VICTIM_ID, True)
    assert task["Subject"] == "本人のメモ"  # the subject the agent typed (panel.calls.notes)
    assert not any(word in (task["Subject"] + (task["Description"] or "")) for word in ("侵入者", "あとから"))


def test_a_record_created_during_the_call_takes_it_and_nobody_elses_creation_does(app, victim, localorg, sf):
    intruder = browser_of(app, localorg, "agent2@example.com")
    dialer = Dialer(victim, "call-victim-create", number=NOBODYS)
    dialer.send(dialer.ringing(), dialer.answered())

    refused = quick_create(intruder, dialer.call_id, "侵入者作成")
    refused_because(refused, 403, "not_yours")
    assert contacts_named(sf, "侵入者作成") == []

    created = quick_create(victim, dialer.call_id, "新規顧客", phone="03-9999-0001")  # the caller's other phone
    assert created.status_code == 201
    [new_contact] = contacts_named(sf, "新規顧客")
    dialer.send(dialer.ended())
    run_queued(app)
    task = logged_once(sf, dialer.call_id)
    assert (task["WhoId"], task["OwnerId"]) == (new_contact["Id"], VICTIM_ID)


# -- a call the dialer has not reported -----------------------------------------------------------------------------

def test_a_call_no_event_has_named_cannot_be_claimed_from_the_browser(app, victim, localorg, sf):
    future = "call-not-yet"
    shown = victim.get(f"/panel?phone={SHARED}&call_id={future}", headers=HX)
    assert shown.status_code == 200 and 'id="matches"' in shown.text  # showing the caller costs nothing

    refused_because(pick(victim, future, AYA), 409, "not_known")
    refused_because(note(victim, future, YAMADA, "先回りのメモ"), 409, "not_known")
    refused_because(quick_create(victim, future, "先回り作成"), 409, "not_known")
    assert "not known" in pick(victim, future, AYA).text
    assert remembered(app, future) == (None, None)
    assert call_record(app, future) is None
    assert contacts_named(sf, "先回り作成") == [] and call_tasks(sf, future) == []

    # when the call then happens, nothing was waiting for it: several matches and no pick, so a person decides
    dialer = Dialer(victim, future, number=SHARED)
    dialer.send(dialer.ringing(), dialer.answered(), dialer.ended())
    run_queued(app)
    assert call_tasks(sf, future) == []
    assert call_record(app, future).status == "needs_review"


def test_a_pick_another_agent_leaves_for_a_future_call_is_not_waiting_when_it_comes(app, victim, localorg, sf):
    intruder = browser_of(app, localorg, "agent2@example.com")
    refused_because(pick(intruder, "call-future", AYA), 409, "not_known")

    dialer = Dialer(victim, "call-future", number=SHARED)
    dialer.send(dialer.ringing(), dialer.answered())
    assert pick(victim, dialer.call_id, SHO).status_code == 200
    dialer.send(dialer.ended())
    run_queued(app)
    assert logged_once(sf, dialer.call_id)["WhoId"] == SHO
