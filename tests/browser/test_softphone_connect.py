"""The Amazon Connect softphone page in Chromium (static/js/softphone/connect.js) against Streams' documented API.

The real CCP speaks Streams' own, undocumented protocol to the Streams library, so no stand-in CCP page can drive
the vendored Streams. Instead this module's server answers the vendored script's path
(/static/vendor/amazon-connect-streams-2.28.2/connect-streams-min.js) with tests/browser/standins/connect-streams.js:
a `connect` global written from Streams' Documentation.md
(https://github.com/amazon-connect/amazon-connect-streams/blob/master/Documentation.md — initCCP, connect.agent,
connect.contact, the Contact, Connection and Agent APIs, Endpoint.byPhoneNumber), which the test drives through
`window.connectStandin` (ring / answer / end / miss / dialOut) and which records what initCCP and `agent.connect`
were called with. The app and its templates are unchanged; the CCP that `initCCP` frames is the plain stand-in page
(tests/browser/standins/connect.html) on another origin. test_softphone.py keeps the test that the real vendored
Streams frames the configured CCP URL.

Ring → the panel pops the number with one Salesforce lookup, bound to `connect:<initialContactId>` (the id the
server-side adapter, panel/dialers/connect.py, files the call under; `connect:<contactId>` when the contact is no
transfer); answer → the task form bound to that id; end → the wrap-up; a number tapped in the panel →
`agent.connect(Endpoint.byPhoneNumber(number), {success, failure})`, and the outbound contact it creates pops as
outbound; a non-voice contact pops nothing; a message from another origin changes nothing (Streams' page-side API
has no postMessage: connect.js handles none). `PANEL_SCREENSHOTS_DIR` set also writes
docs/screenshots/softphone_connect.png.
"""

from __future__ import annotations

import json
import threading

import pytest
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from panel_browser import By, LivePanel, axe_violations, element, wait_for
from test_softphone import (CALLER, CALLER_NAME, STANDINS, _standin_app, card_shows, open_softphone, phone_frame,
                            save, searches, tap_number_in_panel)

STREAMS_PATH = "/static/vendor/amazon-connect-streams-2.28.2/connect-streams-min.js"
STREAMS_STANDIN = STANDINS / "connect-streams.js"


@pytest.fixture(scope="module")
def connect_standins():
    """The stand-in CCP page's origin (http://localhost:<port>), as test_softphone's `standins`."""
    server = make_server("127.0.0.1", 0, _standin_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://localhost:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def live(tmp_path_factory, connect_standins):
    """The panel and the local org on one free port (as test_softphone.live) with only Amazon Connect configured;
    the vendored Streams script's path answers with the Streams stand-in (this server only)."""
    from panel import create_app
    from panel.extensions import db
    from panel.localorg import create_localorg

    folder = tmp_path_factory.mktemp("softphone-connect-live")
    served, answered = {}, []

    def recording(environ, start_response):
        def start(status, headers, *args):
            answered.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), int(status.split()[0])))
            return start_response(status, headers, *args)
        if environ.get("PATH_INFO") == STREAMS_PATH:
            standin = Response(STREAMS_STANDIN.read_bytes(), mimetype="text/javascript",
                               headers={"Cache-Control": "no-store"})
            return standin(environ, start)
        return served["app"](environ, start)

    server = make_server("127.0.0.1", 0, recording, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    org = create_localorg({"DATABASE": str(folder / "org.sqlite3"), "SEARCH_LAG_S": 60, "LATENCY_MS": 0})
    app = create_app({
        "SECRET_KEY": "browser-test-secret", "LOCALORG_URL": f"{base}/localorg",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'panel.sqlite3'}", "PANEL_JOBS_MEMORY": True,
        "CACHE_TYPE": "SimpleCache", "PANEL_SOFTPHONE_CONNECT_INSTANCE_URL": f"{connect_standins}/connect"})
    served["app"] = DispatcherMiddleware(app, {"/localorg": org})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield LivePanel(port=server.server_port, app=app, org=org, answered=answered)
    finally:
        server.shutdown()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# -- helpers ------------------------------------------------------------------------------------------------------

def streams(driver, script: str, *args):
    """Runs `script` in the softphone page (where the Streams stand-in lives) with `standin` bound to it."""
    driver.switch_to.default_content()
    return driver.execute_script("var standin = window.connectStandin;" + script, *args)


def open_connect(driver, live: LivePanel) -> None:
    open_softphone(driver, live, "connect")
    wait_for(driver, lambda d: streams(d, "return standin.subscribed.contact > 0;"),
             message="connect.js did not subscribe to contacts")
    streams(driver, "standin.login();")


def ring(driver, contact_id: str, *, initial: str | None = None, phone: str = CALLER, kind: str = "voice",
         inbound: bool = True) -> None:
    streams(driver, "standin.ring({contactId: arguments[0], initialContactId: arguments[1], phoneNumber: arguments[2],"
                    " type: arguments[3], inbound: arguments[4]});", contact_id, initial, phone, kind, inbound)


def pop_attribute(driver, name: str):
    driver.switch_to.default_content()
    driver.switch_to.frame(driver.find_element(By.ID, "panel-frame"))
    try:
        return driver.find_element(By.ID, "pop").get_attribute(name)
    finally:
        driver.switch_to.default_content()


def task_form_call_id(driver) -> str:
    driver.switch_to.frame(driver.find_element(By.ID, "panel-frame"))
    try:
        return element(driver, "form#task-form").find_element(By.NAME, "active_call_id").get_attribute("value")
    finally:
        driver.switch_to.default_content()


def dialed(driver) -> list[dict]:
    return json.loads(streams(driver, "return JSON.stringify(standin.dialed);"))


def pause(driver, seconds: float = 1.5) -> None:
    driver.execute_script("var ms = arguments[0]; return new Promise(function (done) { setTimeout(done, ms); });",
                          seconds * 1000)


# -- tests --------------------------------------------------------------------------------------------------------

def test_initccp_frames_the_configured_ccp_in_the_container(live, new_browser, connect_standins):
    driver = new_browser(language="en")
    open_connect(driver, live)
    initialized = json.loads(streams(driver, "return JSON.stringify(standin.initialized);"))
    assert len(initialized) == 1
    assert initialized[0]["ccpUrl"] == f"{connect_standins}/connect/ccp-v2/"
    assert initialized[0]["loginPopup"] is True
    assert initialized[0]["softphone"] == {"allowFramedSoftphone": True}
    frame = phone_frame(driver)
    assert frame.get_attribute("src") == f"{connect_standins}/connect/ccp-v2/"
    assert streams(driver, "return standin.subscribed.agent;") == 1


def test_a_transferred_call_rings_answers_and_ends_under_its_initial_contact_id(live, new_browser):
    driver = new_browser(language="en")
    open_connect(driver, live)

    # Ring: the contact is detected, then connecting; the panel pops the number with one lookup.
    before = searches(live)
    ring(driver, "c-leg-2", initial="c-first-1")
    assert wait_for(driver, lambda d: card_shows(d, CALLER_NAME, "connect:c-first-1"),
                    message="the panel did not pop the ringing number under connect:<initialContactId>")
    assert pop_attribute(driver, "data-direction") == "inbound"
    assert pop_attribute(driver, "data-call-state") == "ringing"
    assert searches(live) - before == 1
    save(driver, "softphone_connect")
    assert axe_violations(driver) == []

    # Answer: the task form, bound to the same call id.
    streams(driver, "standin.answer('c-leg-2');")
    assert task_form_call_id(driver) == "connect:c-first-1"

    # End: the initial connection is no longer active, yet the panel follows the same call to its wrap-up.
    streams(driver, "standin.end('c-leg-2');")
    wait_for(driver, lambda d: pop_attribute(d, "data-call-state") == "ended",
             message="the end did not reach the panel")
    assert pop_attribute(driver, "data-call-id") == "connect:c-first-1"
    assert searches(live) - before == 1


def test_a_contact_that_is_no_transfer_is_filed_under_its_contact_id(live, new_browser):
    driver = new_browser(language="en")
    open_connect(driver, live)
    ring(driver, "c-plain-3")  # getInitialContactId(): none, as documented for a contact that is no transfer
    assert wait_for(driver, lambda d: card_shows(d, CALLER_NAME, "connect:c-plain-3"))
    streams(driver, "standin.answer('c-plain-3');")
    assert task_form_call_id(driver) == "connect:c-plain-3"


def test_dialing_from_the_panel_calls_agent_connect_and_the_outbound_contact_pops(live, new_browser):
    driver = new_browser(language="en")
    open_connect(driver, live)
    ring(driver, "c-in-4")
    assert wait_for(driver, lambda d: card_shows(d, CALLER_NAME, "connect:c-in-4"))
    streams(driver, "standin.end('c-in-4');")
    wait_for(driver, lambda d: pop_attribute(d, "data-call-state") == "ended")

    tap_number_in_panel(driver)
    calls = wait_for(driver, lambda d: dialed(d) or None, message="agent.connect was not called")
    assert calls == [{"type": "phone_number", "phoneNumber": CALLER, "name": None, "queueARN": None,
                      "success": True, "failure": True}]

    # The outbound contact agent.connect creates: the panel shows it as an outbound call.
    streams(driver, "standin.dialOut('c-out-5');")
    wait_for(driver, lambda d: pop_attribute(d, "data-call-id") == "connect:c-out-5",
             message="the outbound contact did not reach the panel")
    assert pop_attribute(driver, "data-direction") == "outbound"
    streams(driver, "standin.answer('c-out-5');")
    assert task_form_call_id(driver) == "connect:c-out-5"


def test_a_chat_contact_pops_nothing(live, new_browser):
    driver = new_browser(language="en")
    open_connect(driver, live)
    ring(driver, "c-chat-7", kind="chat")
    pause(driver)
    assert pop_attribute(driver, "data-call-id") is None
    ring(driver, "c-voice-8")
    assert wait_for(driver, lambda d: card_shows(d, CALLER_NAME, "connect:c-voice-8"))


def test_a_queued_callback_pops_as_an_outbound_call_once_accepted(live, new_browser):
    """Streams' ContactType.QUEUE_CALLBACK ("special outbound voice calls which are routed to agents before being
    placed"): the server-side adapter logs it as an outbound call (initiationMethod CALLBACK), so the page pops it."""
    driver = new_browser(language="en")
    open_connect(driver, live)
    ring(driver, "c-callback-10", kind="queue_callback", inbound=False)
    streams(driver, "standin.accept('c-callback-10');")
    assert wait_for(driver, lambda d: card_shows(d, CALLER_NAME, "connect:c-callback-10"),
                    message="the accepted callback did not pop")
    assert pop_attribute(driver, "data-direction") == "outbound"
    streams(driver, "standin.answer('c-callback-10');")
    assert task_form_call_id(driver) == "connect:c-callback-10"


def test_a_message_from_another_origin_is_ignored(live, new_browser, connect_standins):
    """connect.js takes no postMessage at all (Streams' page-side API is callbacks); a forged message in any
    dialer's or the panel's format, from the stand-in CCP's origin or from the page itself, pops nothing."""
    driver = new_browser(language="en")
    open_connect(driver, live)
    forged = {"type": "panel:call", "callId": "connect:forged", "phone": CALLER, "direction": "inbound",
              "state": "ringing"}
    driver.execute_script("window.postMessage(arguments[0], '*');", forged)
    driver.switch_to.frame(phone_frame(driver))   # the CCP frame's own origin posts to the page
    driver.execute_script("window.parent.postMessage(arguments[0], '*');", forged)
    driver.switch_to.default_content()
    driver.execute_script(
        "var f = document.createElement('iframe'); f.id = 'intruder'; f.src = arguments[0];"
        " document.body.appendChild(f);", f"{connect_standins}/connect.html")
    driver.switch_to.frame(element(driver, "#intruder"))
    driver.execute_script("window.parent.postMessage(arguments[0], '*');", forged)
    driver.switch_to.default_content()
    pause(driver)
    assert pop_attribute(driver, "data-call-id") is None
    ring(driver, "c-real-9")
    assert wait_for(driver, lambda d: card_shows(d, CALLER_NAME, "connect:c-real-9"))
