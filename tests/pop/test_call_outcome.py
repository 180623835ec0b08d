"""After hang-up the panel says where the call went: `GET /panel/calls/<call_id>/status` (partials/call_outcome.html).

Each call here goes through the real webhook and the real logging job against the local org; the fragment is read as
the panel reads it (htmx). It polls itself (`hx-trigger="load delay:…"`) until the call is final, and only the agent
the call's events name learns anything about it.
"""

from __future__ import annotations

import re

import lxml.html
import pytest

from calls_support import Dialer, call_tasks, run_call
from panel.localorg.seed import IDS
from panel.pop import outcome
from tests.conftest import sign_in

HX = {"HX-Request": "true"}
YAMADA = "03-1234-5678"     # one record: contact.yamada_taro
SHARED = "06-6123-4567"     # two records: the Yoshidas
NOBODYS = "03-9999-0000"    # no record


def status(client, call_id: str, **params):
    query = "&".join(f"{name}={value}" for name, value in params.items())
    response = client.get(f"/panel/calls/{call_id}/status" + (f"?{query}" if query else ""), headers=HX)
    fragment = lxml.html.fromstring(response.text)
    assert fragment.get("id") == "call-outcome", response.text
    return response, fragment


def polls_again(fragment) -> bool:
    return bool(fragment.get("hx-get")) and (fragment.get("hx-trigger") or "").startswith("load delay:")


def text(fragment) -> str:
    return " ".join(fragment.text_content().split())


def test_a_logged_call_shows_its_task_subject_and_link_and_stops_asking(app, signed_in_client, localorg, sf):
    dialer = Dialer(signed_in_client, "outcome-logged", number=YAMADA)
    dialer.send(dialer.ringing(), dialer.answered(), dialer.ended(duration=95))
    run_call(app, "outcome-logged")
    task = call_tasks(sf, "outcome-logged")[0]

    response, fragment = status(signed_in_client, "outcome-logged")

    assert response.status_code == 200
    assert (fragment.get("data-outcome"), fragment.get("data-task-id")) == ("logged", task["Id"])
    link = fragment.find_class("outcome-task")[0]
    assert link.text_content().strip() == task["Subject"]
    assert link.get("href") == f"{localorg.url}/lightning/r/Task/{task['Id']}/view"
    assert "Logged to Salesforce" in text(fragment)
    assert not polls_again(fragment)
    assert response.headers["Cache-Control"] == "no-store"


def test_a_web_node_shows_what_a_worker_on_another_machine_logged(app, signed_in_client, sf):
    """The scale-out shape: the fragment is served by this app, the job runs in another (its own engine and cache,
    the same database): the row they share is all the panel reads. Under PANEL_TEST_CONFIG=scaleout both are on
    PostgreSQL and Redis."""
    from panel import create_app

    worker = create_app(dict(app.extensions["tests.config"]))
    dialer = Dialer(signed_in_client, "outcome-elsewhere", number=YAMADA)
    dialer.send(dialer.ringing(), dialer.answered(), dialer.ended(duration=40))
    assert status(signed_in_client, "outcome-elsewhere")[1].get("data-outcome") == "pending"

    run_call(worker, "outcome-elsewhere")

    _, fragment = status(signed_in_client, "outcome-elsewhere", n=1)
    assert fragment.get("data-outcome") == "logged"
    assert fragment.get("data-task-id") == call_tasks(sf, "outcome-elsewhere")[0]["Id"]
    from panel.extensions import db
    with worker.app_context():
        db.session.remove()
        db.engine.dispose()


def test_before_the_job_has_run_the_call_is_being_logged_and_asked_again(signed_in_client):
    dialer = Dialer(signed_in_client, "outcome-pending", number=YAMADA)
    dialer.send(dialer.ringing(), dialer.ended(duration=30))

    response, fragment = status(signed_in_client, "outcome-pending")

    assert (response.status_code, fragment.get("data-outcome")) == (200, "pending")
    assert "Logging the call to Salesforce" in text(fragment)
    assert polls_again(fragment)
    assert fragment.get("hx-trigger") == f"load delay:{outcome.FIRST_POLL_S}s"  # soon: the job is usually quick
    assert fragment.get("hx-get") == "/panel/calls/outcome-pending/status?n=1"
    _, again = status(signed_in_client, "outcome-pending", n=7)
    assert again.get("hx-get").endswith("?n=8")
    assert again.get("hx-trigger") == f"load delay:{outcome.POLL_S}s"  # then every two seconds


@pytest.mark.parametrize(("number", "reason", "why"), [
    (SHARED, "several", "several records have this number"),
    (NOBODYS, "none", "no record has this number"),
])
def test_a_call_sent_to_review_says_so_and_why(app, signed_in_client, number, reason, why):
    call_id = f"outcome-review-{reason}"
    dialer = Dialer(signed_in_client, call_id, number=number)
    dialer.send(dialer.ringing(), dialer.answered(), dialer.ended(duration=60))
    run_call(app, call_id)

    response, fragment = status(signed_in_client, call_id)

    assert (fragment.get("data-outcome"), fragment.get("data-reason")) == ("review", reason)
    assert "Waiting for a reviewer" in text(fragment) and why in text(fragment)
    assert "Logged" not in text(fragment)
    # a reviewer may decide while the panel still shows the call: asked again, rarely
    assert fragment.get("hx-trigger") == f"load delay:{outcome.REVIEW_POLL_S}s"


def test_a_call_waiting_for_salesforce_says_since_when(app, signed_in_client, localorg):
    dialer = Dialer(signed_in_client, "outcome-retrying", number=YAMADA)
    dialer.send(dialer.ringing(), dialer.answered(), dialer.ended(duration=60))
    localorg.admin("faults", error_rate=1, error_status=503)
    try:
        run_call(app, "outcome-retrying")
    finally:
        localorg.admin("faults", error_rate=0)

    _, fragment = status(signed_in_client, "outcome-retrying")

    assert fragment.get("data-outcome") == "retrying"
    assert re.search(r"Waiting for Salesforce: retrying since \d\d:\d\d", text(fragment)), text(fragment)
    assert polls_again(fragment)  # just after the job's next attempt: nothing changes before it
    seconds = int(re.fullmatch(r"load delay:(\d+)s", fragment.get("hx-trigger")).group(1))
    assert outcome.POLL_S <= seconds <= outcome.RETRY_POLL_MAX_S


@pytest.mark.parametrize("count", ["²", "-1", "99999999999", "x", "1.5"])
def test_an_odd_count_of_asks_reads_as_the_first(signed_in_client, count):
    response, fragment = status(signed_in_client, "outcome-odd-count", n=count)
    assert response.status_code == 200 and fragment.get("hx-get").endswith("?n=1")


def test_a_panel_left_open_stops_asking_after_a_while(app, signed_in_client):
    dialer = Dialer(signed_in_client, "outcome-left-open", number=NOBODYS)
    dialer.send(dialer.ringing(), dialer.answered(), dialer.ended(duration=60))
    run_call(app, "outcome-left-open")
    _, fragment = status(signed_in_client, "outcome-left-open", n=outcome.MAX_POLLS)
    assert fragment.get("data-outcome") == "review" and not polls_again(fragment)


def test_a_missed_call_is_not_logged_and_says_why(app, signed_in_client):
    dialer = Dialer(signed_in_client, "outcome-missed", number=YAMADA)
    dialer.send(dialer.ringing(), dialer.ended(answered=False, duration=0))
    run_call(app, "outcome-missed")

    _, fragment = status(signed_in_client, "outcome-missed")

    assert (fragment.get("data-outcome"), fragment.get("data-reason")) == ("not_logged", "missed")
    assert "Not logged: a missed call" in text(fragment)
    assert not polls_again(fragment)


def test_a_call_the_dialer_never_reported_stops_being_asked_after_a_while(signed_in_client):
    _, fragment = status(signed_in_client, "outcome-never-reported")
    assert fragment.get("data-outcome") == "pending" and polls_again(fragment)

    _, fragment = status(signed_in_client, "outcome-never-reported", n=outcome.UNREPORTED_POLLS)
    assert fragment.get("data-outcome") == "unreported" and not polls_again(fragment)


def test_a_call_whose_end_the_dialer_never_reported_says_so_and_keeps_asking_slowly(app, signed_in_client):
    dialer = Dialer(signed_in_client, "outcome-no-end", number=YAMADA)
    dialer.send(dialer.ringing(), dialer.answered())
    run_call(app, "outcome-no-end")

    _, fragment = status(signed_in_client, "outcome-no-end", n=outcome.UNREPORTED_POLLS)
    assert fragment.get("data-outcome") == "awaiting_end" and polls_again(fragment)
    assert "has not reported the end of this call" in text(fragment)


@pytest.mark.parametrize("username", ["agent2@example.com", "reviewer@example.com"])
def test_another_agent_or_a_reviewer_learns_nothing_about_the_call(app, client, localorg, sf, username):
    dialer = Dialer(client, "outcome-not-theirs", number=YAMADA)
    dialer.send(dialer.ringing(), dialer.answered(), dialer.ended(duration=95))
    run_call(app, "outcome-not-theirs")
    subject = call_tasks(sf, "outcome-not-theirs")[0]["Subject"]
    sign_in(client, localorg, username)

    response, fragment = status(client, "outcome-not-theirs")

    assert response.status_code == 403
    assert fragment.get("data-outcome") == "refused" and not polls_again(fragment)
    assert subject not in response.text and IDS["contact.yamada_taro"] not in response.text
    assert "data-task-id" not in response.text


def test_signed_out_the_status_asks_to_sign_in(client):
    response = client.get("/panel/calls/anything/status", headers=HX)
    assert response.status_code == 401


def test_a_call_id_with_control_characters_is_refused_in_the_fragments_own_root(signed_in_client):
    response, fragment = status(signed_in_client, "bad%01id")
    assert response.status_code == 400
    assert (fragment.get("data-outcome"), fragment.get("data-refused")) == ("refused", "bad_call_id")


def test_the_banner_at_the_end_no_longer_promises_a_logged_call(signed_in_client):
    page = signed_in_client.get("/panel").text
    banner = lxml.html.fromstring(page).get_element_by_id("call-status")
    assert banner.get("data-ended") == "Call ended"
    assert "logged" not in banner.get("data-ended").lower()


def test_favicon_ico_is_served_and_the_panel_links_its_icon(signed_in_client):
    icon = signed_in_client.get("/favicon.ico")
    assert (icon.status_code, icon.headers["Content-Type"]) == (200, "image/vnd.microsoft.icon")
    assert icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    page = lxml.html.fromstring(signed_in_client.get("/panel").text)
    assert page.xpath("//link[@rel='icon']")[0].get("href") == "/static/favicon.ico"
