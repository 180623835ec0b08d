"""A call whose agent nobody resolves waits in the review queue as "agent unknown", and the doctor names who.

A dialer adapter stores such a call's events with an empty `agent_email` and the vendor's name for the agent in
`agent_ref` (`zoom:…`); a call whose agent e-mail no Salesforce user has is the same case. Against the local org.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from calls_support import Dialer, call_record, call_tasks, configure, run_call
from tests.conftest import sign_in  # not `conftest`: that name is whichever folder's conftest pytest loaded last
from panel.calls.events import CallEvent
from panel.localorg.seed import IDS, USER_IDS

HX = {"HX-Request": "true"}
YAMADA = IDS["contact.yamada_taro"]
VENDOR_AGENT = "zoom:KDcuGIm1QgePTO8WbOqwIQ"


@pytest.fixture(autouse=True)
def english_tasks(app):
    configure(app, PANEL_TASK_LANGUAGE="en")


@pytest.fixture
def reviewer(app, localorg):
    browser = app.test_client()
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    sign_in(browser, localorg, "reviewer@example.com")
    return browser


def unresolved_call(app, call_id: str, agent_ref: str = VENDOR_AGENT) -> None:
    """A full answered call as an adapter stores it when no PANEL_DIALER_USERS row names the agent."""
    from panel.calls import ledger

    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=3)
    common = dict(call_id=call_id, direction="inbound", agent_email="", agent_ref=agent_ref,
                  external_number="03-1234-5678")
    with app.app_context():
        for event in (CallEvent(event_id=f"{call_id}:1", type="call.ringing", occurred_at=start, **common),
                      CallEvent(event_id=f"{call_id}:2", type="call.answered", occurred_at=start + timedelta(seconds=5),
                                **common),
                      CallEvent(event_id=f"{call_id}:3", type="call.ended", occurred_at=start + timedelta(seconds=75),
                                answered=True, duration_seconds=70, **common)):
            assert ledger.store_event(event)


def item_of(page: str, call_id: str) -> str:
    found = re.search(rf'<li id="review-item-(\d+)"[^>]*\s+data-call-id="{re.escape(call_id)}"[^>]*'
                      rf'data-reason="(\w+)"', page)
    assert found, f"{call_id} is not in the queue"
    return found.group(1), found.group(2)


def token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_a_call_whose_agent_nobody_resolves_waits_as_agent_unknown_showing_the_vendors_name(app, reviewer, sf):
    unresolved_call(app, "zoom:call-unknown")
    assert run_call(app, "zoom:call-unknown") is None
    assert call_tasks(sf, "zoom:call-unknown") == []
    assert call_record(app, "zoom:call-unknown").status == "needs_review"
    page = reviewer.get("/review?reason=agent").text
    _item, reason = item_of(page, "zoom:call-unknown")
    assert reason == "agent" and "Agent unknown" in page
    assert f'data-agent-ref="{VENDOR_AGENT}"' in page


def test_a_record_the_reviewer_picks_logs_the_call_owned_by_the_integration_user(app, reviewer, sf):
    unresolved_call(app, "zoom:call-picked")
    run_call(app, "zoom:call-picked")
    page = reviewer.get("/review").text
    item, _reason = item_of(page, "zoom:call-picked")
    response = reviewer.post(f"/review/items/{item}/pick", headers=HX, data={"csrf_token": token(page),
                                                                              "record_id": YAMADA})
    assert response.status_code == 200, response.text
    run_call(app, "zoom:call-picked")
    tasks = call_tasks(sf, "zoom:call-picked")
    assert len(tasks) == 1
    assert tasks[0]["WhoId"] == YAMADA and tasks[0]["OwnerId"] == USER_IDS["integration"]
    assert tasks[0]["CallDurationInSeconds"] == 70
    assert call_record(app, "zoom:call-picked").status == "logged"


def test_retrying_an_agent_unknown_call_tries_the_agent_again(app, reviewer, sf):
    dialer = Dialer(app.test_client(), "call-stranger-retry", agent="stranger@example.com")
    dialer.send(dialer.ringing(), dialer.answered(), dialer.ended(duration=40))
    run_call(app, "call-stranger-retry")
    page = reviewer.get("/review").text
    item, reason = item_of(page, "call-stranger-retry")
    assert reason == "agent" and "stranger@example.com" in page
    assert reviewer.post(f"/review/items/{item}/retry", headers=HX,
                         data={"csrf_token": token(page)}).status_code == 200
    run_call(app, "call-stranger-retry")  # still nobody in Salesforce: back in the queue, not logged
    assert call_tasks(sf, "call-stranger-retry") == []
    assert call_record(app, "call-stranger-retry").status == "needs_review"


def store_missed_call(app, call_id: str) -> None:
    from panel.calls import ledger

    moment = datetime.now(timezone.utc) - timedelta(minutes=1)
    with app.app_context():
        ledger.store_event(CallEvent(event_id=f"{call_id}:1", type="call.ended", call_id=call_id,
                                     direction="inbound", agent_email="", agent_ref="zoom:(none)",
                                     occurred_at=moment, external_number="03-1234-5678", answered=False,
                                     duration_seconds=0))


def test_a_missed_call_of_an_unknown_agent_is_skipped_not_reviewed(app, sf):
    store_missed_call(app, "zoom:missed")
    run_call(app, "zoom:missed")
    assert call_record(app, "zoom:missed").status == "skipped"


def test_a_missed_call_nobody_took_waits_for_a_reviewer_when_missed_calls_are_logged(app, sf):
    configure(app, PANEL_LOG_MISSED_CALLS=True)
    store_missed_call(app, "zoom:missed-logged")
    run_call(app, "zoom:missed-logged")
    assert call_tasks(sf, "zoom:missed-logged") == []
    assert call_record(app, "zoom:missed-logged").status == "needs_review"


def test_the_doctor_lists_the_identities_that_resolve_to_nobody(app, localorg):
    unresolved_call(app, "zoom:call-doctor")
    stranger = Dialer(app.test_client(), "call-doctor-2", agent="stranger@example.com")  # no Salesforce user
    stranger.send(stranger.ringing(), stranger.answered(), stranger.ended(duration=30))
    run_call(app, "call-doctor-2")
    result = app.test_cli_runner().invoke(args=["panel", "doctor", "--lang", "en"])
    assert result.exit_code == 1
    assert re.search(r"FAIL Agents the dialers name: 2 agents named by a dialer resolve to nobody", result.output)
    assert VENDOR_AGENT in result.output and "stranger@example.com" in result.output
    assert "PANEL_DIALER_USERS" in result.output


def test_the_doctor_forgets_identities_after_a_day(app):
    from panel.ops.doctor import unknown_agents

    unresolved_call(app, "zoom:call-old")
    with app.app_context():
        assert unknown_agents() == [VENDOR_AGENT]
        assert unknown_agents(now=datetime.now(timezone.utc) + timedelta(hours=25)) == []
