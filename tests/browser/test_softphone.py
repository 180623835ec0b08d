"""The softphone page in Chromium (panel/softphone, static/js/softphone/*): each dialer's web phone is played by a
stand-in page (tests/browser/standins/, written from the vendors' documentation, sending and expecting exactly their
documented messages) served by a tiny server on another origin (http://localhost:<port>), beside the panel framed
from the page's own origin (http://127.0.0.1:<port>).

Ring → the panel pops the number, with one Salesforce lookup even though the phone asks for a contact match at the
same time; answer → the task form bound to `<dialer>:<vendor call id>`; end → where the call went; a number tapped
in the panel → the phone receives its documented dial message; a message from another origin is ignored; the
contact-match answer names the verified record; at 360 px nothing scrolls sideways. `PANEL_SCREENSHOTS_DIR` set
(as `make screenshots` does) also writes docs/screenshots/softphone_<dialer>*.png.
"""

from __future__ import annotations

import base64
import json
import os
import pathlib
import threading

import pytest
import requests
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from panel_browser import By, LivePanel, axe_violations, element, eventually, wait_for

STANDINS = pathlib.Path(__file__).resolve().parent / "standins"
SCREENSHOTS = os.environ.get("PANEL_SCREENSHOTS_DIR")
CALLER = "+81312345678"          # 山田 太郎's landline in the seed (03-1234-5678)
CALLER_NAME = "山田 太郎"
PHONE = {"width": 360, "height": 740, "deviceScaleFactor": 2, "mobile": True}


def _standin_app(environ, start_response):
    """/<dialer>.html, /standin.js, and the paths the softphone settings build: /dialpad/<client id>,
    /connect/ccp-v2/."""
    path = Request(environ).path
    if path.startswith("/dialpad/"):
        path = "/dialpad.html"
    elif path.startswith("/connect/"):
        path = "/connect.html"
    file = STANDINS / path.lstrip("/")
    if not path.lstrip("/") or not file.is_file() or file.parent != STANDINS:
        return Response("not here", status=404)(environ, start_response)
    kind = "text/javascript" if file.suffix == ".js" else "text/html"
    return Response(file.read_bytes(), mimetype=kind)(environ, start_response)


@pytest.fixture(scope="module")
def standins():
    server = make_server("127.0.0.1", 0, _standin_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://localhost:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def live(tmp_path_factory, standins):
    """The panel and the local org on one free port (as panel_browser.live), every softphone pointed at its
    stand-in."""
    from panel import create_app
    from panel.extensions import db
    from panel.localorg import create_localorg

    folder = tmp_path_factory.mktemp("softphone-live")
    served, answered = {}, []

    def recording(environ, start_response):
        def start(status, headers, *args):
            answered.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), int(status.split()[0])))
            return start_response(status, headers, *args)
        return served["app"](environ, start)

    server = make_server("127.0.0.1", 0, recording, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    org = create_localorg({"DATABASE": str(folder / "org.sqlite3"), "SEARCH_LAG_S": 60, "LATENCY_MS": 0})
    app = create_app({
        "SECRET_KEY": "browser-test-secret", "LOCALORG_URL": f"{base}/localorg",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'panel.sqlite3'}", "PANEL_JOBS_MEMORY": True,
        "CACHE_TYPE": "SimpleCache",
        "PANEL_SOFTPHONE_RINGCENTRAL_CLIENT_ID": "standin",
        "PANEL_SOFTPHONE_RINGCENTRAL_APP_URL": f"{standins}/ringcentral.html",
        "PANEL_SOFTPHONE_ZOOM_URL": f"{standins}/zoom.html",
        "PANEL_SOFTPHONE_DIALPAD_CLIENT_ID": "standin", "PANEL_SOFTPHONE_DIALPAD_APPS_URL": f"{standins}/dialpad",
        "PANEL_SOFTPHONE_AIRCALL": True, "PANEL_SOFTPHONE_AIRCALL_WORKSPACE_URL": f"{standins}/aircall.html",
        "PANEL_SOFTPHONE_CONNECT_INSTANCE_URL": f"{standins}/connect"})
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

def open_softphone(driver, live: LivePanel, dialer: str) -> None:
    """Sign in at the top level (the page and the panel it frames share this origin) and open the page."""
    driver.get(f"{live.panel_origin}/auth/login?next=/softphone?dialer={dialer}%26lang=en")
    element(driver, 'button.user[value="agent@example.com"]').click()
    wait_for(driver, lambda d: d.find_elements(By.ID, "panel-frame"), message="the softphone page did not open")
    in_panel(driver)
    wait_for(driver, lambda d: d.find_element(By.ID, "pop"), message="the panel did not load")
    driver.switch_to.default_content()


def phone_frame(driver):
    return element(driver, "#softphone-frame, #softphone-container iframe")


def in_phone(driver) -> None:
    driver.switch_to.default_content()
    driver.switch_to.frame(phone_frame(driver))


def in_panel(driver) -> None:
    """Into the panel's frame, shown or not (at 360 px only one side shows)."""
    driver.switch_to.default_content()
    driver.switch_to.frame(wait_for(driver, lambda d: d.find_element(By.ID, "panel-frame")))


def in_phone_run(driver, script: str):
    in_phone(driver)
    try:
        return driver.execute_script(script)
    finally:
        driver.switch_to.default_content()


def received(driver) -> list[dict]:
    """What the stand-in was sent, as it saw it (origin and data)."""
    return json.loads(in_phone_run(driver, "return JSON.stringify(window.received);"))


def wait_received(driver, check, message: str):
    return wait_for(driver, lambda d: [item for item in received(d) if check(item["data"])] or None, message=message)


def searches(live: LivePanel) -> int:
    """SOSL searches the local org has served: one per lookup of a number."""
    return requests.get(f"{live.panel_origin}/localorg/_admin/stats", timeout=10).json()["endpoints"].get("search", 0)


def card_shows(driver, name: str, call_id: str | None = None):
    in_panel(driver)
    try:
        pop = driver.find_element(By.ID, "pop")
        if call_id is not None and pop.get_attribute("data-call-id") != call_id:
            return None
        return name in driver.find_element(By.ID, "card").text
    finally:
        driver.switch_to.default_content()


def tap_number_in_panel(driver) -> None:
    in_panel(driver)
    element(driver, f'#card [data-dial="{CALLER}"]').click()
    driver.switch_to.default_content()


def no_sideways_scroll(driver) -> bool:
    return driver.execute_script(
        "return document.documentElement.scrollWidth <= document.documentElement.clientWidth;")


def save(driver, name: str) -> None:
    if not SCREENSHOTS:
        return
    folder = pathlib.Path(SCREENSHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    driver.switch_to.default_content()
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    (folder / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))


# -- RingCentral: the full call, the contact match and the dial ---------------------------------------------------

def test_ringcentral_ring_answer_end_match_and_dial(live, new_browser):
    driver = new_browser(language="en")
    open_softphone(driver, live, "ringcentral")
    in_phone_run(driver, "login();")
    wait_received(driver, lambda data: data.get("type") == "rc-adapter-register-third-party-service"
                  and data["service"].get("contactMatchPath") == "/contacts/match",
                  "the phone was not asked to match contacts through the panel")

    # Ring: the web phone rings and asks who is calling; the panel pops the number. One lookup for both.
    before = searches(live)
    in_phone_run(driver, f"call('rc-call-ring-notify', 'S-100', '{CALLER}', '+81300000000'); "
                         f"askMatch('m-1', ['{CALLER}']);")
    assert wait_for(driver, lambda d: card_shows(d, CALLER_NAME, "ringcentral:S-100"),
                    message="the panel did not pop the ringing number")
    answer = wait_received(driver, lambda data: data.get("type") == "rc-post-message-response", "no match answer")[0]
    assert answer["origin"] == live.panel_origin
    assert answer["data"]["responseId"] == "m-1"
    matched = answer["data"]["response"]["data"][CALLER]
    assert [(contact["name"], contact["type"]) for contact in matched] == [(CALLER_NAME, "Salesforce")]
    assert matched[0]["phoneNumbers"] == [{"phoneNumber": CALLER, "phoneType": "direct"}]
    assert eventually(lambda: searches(live) - before == 1, timeout=5), "the pop and the match were not one lookup"
    save(driver, "softphone_ringcentral")

    # Answer: the task form, bound to the namespaced call id.
    in_phone_run(driver, f"call('rc-call-start-notify', 'S-100', '{CALLER}', '+81300000000');")
    in_panel(driver)
    form = element(driver, "form#task-form")
    assert form.find_element(By.NAME, "active_call_id").get_attribute("value") == "ringcentral:S-100"
    driver.switch_to.default_content()

    # End: the panel follows where the call went.
    in_phone_run(driver, f"call('rc-call-end-notify', 'S-100', '{CALLER}', '+81300000000');")
    in_panel(driver)
    wait_for(driver, lambda d: d.find_element(By.ID, "pop").get_attribute("data-call-state") == "ended")
    driver.switch_to.default_content()
    assert searches(live) - before == 1

    # Dial from the panel: the phone receives its documented new-call message, sent to its origin.
    tap_number_in_panel(driver)
    dial = wait_received(driver, lambda data: data.get("type") == "rc-adapter-new-call", "the phone was not asked "
                         "to dial")[0]
    assert dial["data"] == {"type": "rc-adapter-new-call", "phoneNumber": CALLER, "toCall": True}


def test_a_message_from_another_origin_is_ignored(live, new_browser, standins):
    driver = new_browser(language="en")
    open_softphone(driver, live, "ringcentral")
    # The page itself (not the phone, not its origin) posts a ring: nothing pops.
    driver.execute_script(
        "window.postMessage({type: 'rc-call-ring-notify', call: {direction: 'Inbound', from: arguments[0],"
        " to: '+81300000000', partyData: {sessionId: 'forged'}}}, '*');", CALLER)
    # A window of another origin (a second stand-in frame, not the configured phone's window) does the same.
    driver.execute_script(
        "var f = document.createElement('iframe'); f.id = 'intruder'; f.src = arguments[0];"
        " document.body.appendChild(f);", f"{standins}/ringcentral.html")
    driver.switch_to.frame(element(driver, "#intruder"))
    driver.execute_script(f"call('rc-call-ring-notify', 'forged-2', '{CALLER}', '+81300000000');")
    driver.switch_to.default_content()
    driver.execute_script("return new Promise(function (done) { setTimeout(done, 1500); })")
    in_panel(driver)
    assert driver.find_element(By.ID, "pop").get_attribute("data-call-id") is None
    assert not driver.find_elements(By.ID, "card")
    driver.switch_to.default_content()
    # The genuine phone still works.
    in_phone_run(driver, f"call('rc-call-ring-notify', 'S-200', '{CALLER}', '+81300000000');")
    assert wait_for(driver, lambda d: card_shows(d, CALLER_NAME, "ringcentral:S-200"))


# -- Zoom, Dialpad, Aircall -----------------------------------------------------------------------------------------

def test_zoom_ring_match_answer_and_dial(live, new_browser):
    driver = new_browser(language="en")
    open_softphone(driver, live, "zoom")
    in_phone_run(driver, f"askMatch('z-1', ['{CALLER}']); "
                         f"zoomEvent('zp-call-ringing-event', 'Z-1', '{CALLER}', '+81300000000');")
    assert wait_for(driver, lambda d: card_shows(d, CALLER_NAME, "zoom:Z-1"))
    answer = wait_received(driver, lambda data: data.get("type") == "zp-contact-match-response", "no match answer")
    assert answer[0]["data"]["data"] == {"responseId": "z-1",
                                         "contacts": [{"number": CALLER, "displayName": CALLER_NAME}]}
    save(driver, "softphone_zoom")
    assert axe_violations(driver) == []  # the page around the two frames (WCAG 2.1 A/AA)
    in_phone_run(driver, f"zoomEvent('zp-call-connected-event', 'Z-1', '{CALLER}', '+81300000000');")
    in_panel(driver)
    assert element(driver, "form#task-form").find_element(By.NAME, "active_call_id").get_attribute("value") == "zoom:Z-1"
    driver.switch_to.default_content()
    tap_number_in_panel(driver)
    dial = wait_received(driver, lambda data: data.get("type") == "zp-make-call", "no zp-make-call")[0]
    assert dial["data"] == {"type": "zp-make-call", "data": {"number": CALLER, "autoDial": True}}


def test_dialpad_ring_pops_and_the_panel_dials_through_initiate_call(live, new_browser):
    driver = new_browser(language="en")
    open_softphone(driver, live, "dialpad")
    in_phone_run(driver, "login();")
    enable = wait_received(driver, lambda data: data.get("method") == "enable_current_tab", "no enable_current_tab")
    assert enable[0]["data"] == {"api": "opencti_dialpad", "version": "1.0", "method": "enable_current_tab"}
    in_phone_run(driver, f"ring(4242, '{CALLER}');")
    assert wait_for(driver, lambda d: card_shows(d, CALLER_NAME, "dialpad:4242"))
    save(driver, "softphone_dialpad")
    tap_number_in_panel(driver)
    dial = wait_received(driver, lambda data: data.get("method") == "initiate_call", "no initiate_call")[0]
    assert dial["data"] == {"api": "opencti_dialpad", "version": "1.0", "method": "initiate_call",
                            "payload": {"enable_current_tab": True, "phone_number": CALLER}}


def test_aircall_through_the_vendored_sdk(live, new_browser):
    driver = new_browser(language="en")
    open_softphone(driver, live, "aircall")
    wait_received(driver, lambda data: data.get("name") == "apm_app_isready", "the SDK did not answer the workspace")
    in_phone_run(driver, f"emit('incoming_call', {{from: '{CALLER}', to: '+81300000000', call_id: 777}});")
    assert wait_for(driver, lambda d: card_shows(d, CALLER_NAME, "aircall:777"))
    save(driver, "softphone_aircall")
    in_phone_run(driver, "emit('call_end_ringtone', {answer_status: 'answered', call_id: 777});")
    in_panel(driver)
    assert element(driver, "form#task-form").find_element(By.NAME, "active_call_id").get_attribute("value") == "aircall:777"
    driver.switch_to.default_content()
    tap_number_in_panel(driver)
    dial = wait_received(driver, lambda data: data.get("name") == "apm_app_dial_number", "no dial_number")[0]
    assert dial["data"] == {"name": "apm_app_dial_number", "value": {"phone_number": CALLER}}


def test_connect_frames_the_configured_ccp_with_streams(live, new_browser, noise, standins):
    noise.append(r"console")  # Streams reports the stand-in CCP that never answers its (undocumented) protocol
    driver = new_browser(language="en")
    open_softphone(driver, live, "connect")
    assert phone_frame(driver).get_attribute("src").startswith(f"{standins}/connect/ccp-v2/")


# -- 360 px ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dialer", ["ringcentral"])
def test_at_360_px_one_side_at_a_time_and_nothing_scrolls_sideways(live, new_browser, dialer):
    driver = new_browser(language="en")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    open_softphone(driver, live, dialer)
    assert no_sideways_scroll(driver)
    assert phone_frame(driver).is_displayed() and not driver.find_element(By.ID, "panel-frame").is_displayed()
    in_phone_run(driver, f"call('rc-call-ring-notify', 'S-360', '{CALLER}', '+81300000000');"
                         f"call('rc-call-start-notify', 'S-360', '{CALLER}', '+81300000000');")
    wait_for(driver, lambda d: d.find_element(By.ID, "panel-frame").is_displayed(),
             message="answering did not bring the panel forward")
    assert wait_for(driver, lambda d: card_shows(d, CALLER_NAME, "ringcentral:S-360"))
    assert no_sideways_scroll(driver)
    in_panel(driver)
    assert no_sideways_scroll(driver)
    driver.switch_to.default_content()
    save(driver, "softphone_ringcentral_360")
    element(driver, "#softphone-tab-phone").click()
    assert phone_frame(driver).is_displayed()
