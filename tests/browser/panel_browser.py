"""Helpers and fixtures for the browser tests (registered by conftest.py): Debian's Chromium, driven by Selenium through Debian's chromedriver, against the real app.

The app and the local org run in one threaded werkzeug server on a free port (as `make run` serves them), with the
jobs worker running so call events become Tasks. The demo dialer is opened at http://localhost:<port>/demo and
frames the panel from http://127.0.0.1:<port>: two different sites. Chromium blocks third-party cookies (the
cookie-controls setting and the 3PC phase-out switch); `third_party_cookies_blocked` proves it inside the frame.

Every test fails on noise: a console error or an uncaught exception in any page, popup or frame (WebDriver BiDi's
log events: Chromium's classic browser log, `goog:loggingPrefs`, misses the cross-site frame's), or a
request the server answered with 4xx/5xx (recorded by the live server itself, so the frame's, the popup's and the
browser's own requests such as /favicon.ico all count). A test that provokes one on purpose says so through the
`noise` fixture. `axe_violations` runs the vendored axe-core (static/vendor/axe-core-*) in the current page.

Without /usr/bin/chromium or /usr/bin/chromedriver every test that needs a browser is skipped, saying so (.ci/run
installs both).
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import make_server

AXE = pathlib.Path(__file__).resolve().parents[2] / "static" / "vendor" / "axe-core-4.14.1" / "axe.min.js"
# WCAG 2.1 A and AA: what the README's accessibility claim rests on.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_S = 30  # only a failing test waits this long; a loaded CI machine has needed more than 15 s

NO_CHROMIUM = ("browser tests need Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; "
               ".ci/run installs them)")


@dataclass
class LivePanel:
    port: int
    app: object
    org: object
    answered: list = field(default_factory=list)  # (method, path, status) of every browser request answered

    def failed_requests(self, since: int = 0) -> list[str]:
        return [f"{status} {method} {path}" for method, path, status in self.answered[since:] if status >= 400]

    @property
    def panel_origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def demo_url(self) -> str:
        return f"http://localhost:{self.port}/demo"

    def salesforce(self):
        """simple-salesforce on this server's local org, as the integration user (like the `sf` fixture)."""
        from tests.conftest import LocalOrgServer

        return LocalOrgServer(base_url=self.panel_origin, url=f"{self.panel_origin}/localorg", app=self.org).salesforce()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The panel and the local org on one free port, and the jobs worker beside them (SQLite, queue in memory)."""
    folder = tmp_path_factory.mktemp("live")
    with serving(folder, {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'panel.sqlite3'}",
                          "PANEL_JOBS_MEMORY": True, "CACHE_TYPE": "SimpleCache"}) as panel:
        yield panel


@pytest.fixture(scope="module")
def live_scaleout(tmp_path_factory, scaleout_servers):
    """The scale-out configuration (PostgreSQL, Redis for the queue and the cache): the web node serving the
    browser, and the jobs worker in an app of its own (its own engine, cache client and queue consumer), as on
    another machine. Skipped, saying why, without PostgreSQL or Redis (tests/conftest.py)."""
    postgres_url, redis_url = scaleout_servers
    with serving(tmp_path_factory.mktemp("live-scaleout"), {"DATABASE_URL": postgres_url, "REDIS_URL": redis_url},
                 separate_worker=True) as panel:
        yield panel


@contextmanager
def serving(folder, config: dict, *, separate_worker: bool = False):
    from panel import create_app
    from panel.calls import jobs
    from panel.extensions import db
    from panel.localorg import create_localorg

    served = {}
    answered = []

    def recording(environ, start_response):
        """Notes what the server answered the browser (not the panel's own API requests to the local org)."""
        path, browser = environ.get("PATH_INFO", ""), "Mozilla/" in environ.get("HTTP_USER_AGENT", "")

        def start(status, headers, *args):
            if browser:
                answered.append((environ["REQUEST_METHOD"], path, int(status.split()[0])))
            return start_response(status, headers, *args)
        return served["app"](environ, start)

    server = make_server("127.0.0.1", 0, recording, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    org = create_localorg({"DATABASE": str(folder / "org.sqlite3"), "SEARCH_LAG_S": 60, "LATENCY_MS": 0})
    config = {"SECRET_KEY": "browser-test-secret", "LOCALORG_URL": f"{base}/localorg", **config}
    app = create_app(config)
    worker_app = create_app(config) if separate_worker else app
    served["app"] = DispatcherMiddleware(app, {"/localorg": org})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    worker = jobs.start_background_worker(worker_app, poll_s=0.1)
    try:
        yield LivePanel(port=server.server_port, app=app, org=org, answered=answered)
    finally:
        worker.stop(graceful=True)
        server.shutdown()
        for each in {id(app): app, id(worker_app): worker_app}.values():
            with each.app_context():
                db.session.remove()
                db.engine.dispose()


def chromium_options(user_data_dir: str, *, no_cookies_in_frame: bool = False,
                     language: str = "en") -> webdriver.ChromeOptions:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--test-third-party-cookie-phaseout", "--window-size=1280,900",
                 f"--lang={language}", f"--user-data-dir={user_data_dir}"):
        options.add_argument(flag)
    # Block third-party cookies in the profile itself (1 = "block third-party cookies").
    prefs = {"profile.cookie_controls_mode": 1, "profile.block_third_party_cookies": True,
             "intl.accept_languages": language}
    if no_cookies_in_frame:
        # Like a browser without partitioned cookies: nothing at all for 127.0.0.1 inside a localhost page
        # (the popup, first-party, keeps its cookies).
        prefs["profile.content_settings.exceptions.cookies"] = {"127.0.0.1,localhost": {"setting": 2}}
    options.add_experimental_option("prefs", prefs)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the top page's network errors
    options.enable_bidi = True  # console errors and exceptions of every page and frame (new_browser listens)
    return options


@pytest.fixture
def noise():
    """Patterns (regular expressions) of console errors and failed requests a test provokes on purpose, e.g.
    `noise.append(r"401 GET /panel")`; anything else fails the test."""
    return []


@pytest.fixture
def new_browser(tmp_path_factory, request, noise):
    """Start a fresh Chromium (own profile, no cookies); all are quit at the end of the test, which fails if any
    page logged a console error or the server answered any request with 4xx/5xx (beyond the `noise` allowed)."""
    started = []

    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip(NO_CHROMIUM)
    live_panel = next((request.getfixturevalue(name) for name in ("live", "live_scaleout")
                       if name in request.fixturenames), None)
    first_request = len(live_panel.answered) if live_panel else 0

    def start(*, no_cookies_in_frame: bool = False, language: str = "en"):
        profile = tmp_path_factory.mktemp("chromium-profile")
        options = chromium_options(str(profile), no_cookies_in_frame=no_cookies_in_frame, language=language)
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.set_page_load_timeout(WAIT_S)
        driver.script.add_console_message_handler(
            lambda entry: entry.level == "error" and heard.append(f"console error: {entry.text}"))
        driver.script.add_javascript_error_handler(lambda entry: heard.append(f"exception: {entry.text}"))
        started.append((driver, profile))
        return driver

    heard = []
    yield start
    for driver, profile in started:
        try:
            heard += [f"browser log: {entry['message']}" for entry in driver.get_log("browser")
                      if entry["level"] == "SEVERE" and "console-api" not in entry["message"]]
        finally:
            driver.quit()
            shutil.rmtree(profile, ignore_errors=True)
    if live_panel:
        heard += [f"request {failed}" for failed in live_panel.failed_requests(first_request)]
    unexpected = [line for line in heard if not any(re.search(pattern, line) for pattern in noise)]
    assert not unexpected, "console errors or failed requests:\n" + "\n".join(unexpected)


def console_errors(driver) -> list[str]:
    """The console errors logged since the last look (the browser log is read once)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]


def axe_violations(driver, *, context: str = "document") -> list[str]:
    """axe-core's WCAG 2.1 A/AA violations in the current page or frame, one line per rule and element."""
    if not driver.execute_script("return !!window.axe"):
        driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "window.axe.run(%s, {runOnly: {type: 'tag', values: %s}, resultTypes: ['violations'],"
        " iframes: false}).then(function (r) { done(JSON.stringify(r.violations)); },"
        " function (e) { done(JSON.stringify([{id: 'axe-error', help: String(e), nodes: []}])); });"
        % (context, json.dumps(AXE_TAGS)))
    lines = []
    for violation in json.loads(result):
        targets = [" ".join(map(str, node.get("target", []))) for node in violation.get("nodes", [])] or ["-"]
        for target in targets:
            lines.append(f"{violation['id']} ({violation.get('impact')}): {violation['help']} at {target}")
    return lines


def wait_for(driver, condition, timeout: float = WAIT_S, message: str = ""):
    # htmx swaps whole fragments: an element found a moment ago may be replaced before it is read, so a stale
    # reference means "look again", not a failure (NoSuchElement likewise: the swap may be under way). A renderer
    # too busy to answer one look (chromedriver's "Timed out receiving message from renderer", seen on a loaded CI
    # machine while a popup loaded) is also "look again": only this wait's own timeout fails the test.
    return WebDriverWait(driver, timeout, poll_frequency=0.05,
                         ignored_exceptions=(NoSuchElementException, StaleElementReferenceException, TimeoutException)
                         ).until(condition, message)


def element(driver, css: str, timeout: float = WAIT_S):
    return wait_for(driver, lambda d: _first_displayed(d, css), timeout, f"no visible {css}")


def _first_displayed(driver, css):
    for found in driver.find_elements(By.CSS_SELECTOR, css):
        if found.is_displayed():
            return found
    return None


def third_party_cookies_blocked(driver) -> bool:
    """Inside the current (cross-site) frame: does an ordinary SameSite=None cookie stick? It must not."""
    return driver.execute_script(
        "document.cookie = 'probe3p=1; SameSite=None; Secure; Path=/';"
        "var kept = document.cookie.indexOf('probe3p=1') !== -1;"
        "document.cookie = 'probe3p=; Max-Age=0; SameSite=None; Secure; Path=/';"
        "return !kept;")


def sign_in_through_the_popup(driver, live: LivePanel, username: str = "agent@example.com") -> None:
    """Open the demo, sign in on it, press the panel's sign-in button, sign in in the popup, and wait for the
    panel."""
    driver.get(live.demo_url)
    sign_in_on_the_demo_page(driver, username)
    press_sign_in_and_use_the_popup(driver, username)


def sign_in_on_the_demo_page(driver, username: str = "agent@example.com") -> None:
    """The demo's server sends call events as the agent signed in on the demo page, which is another site than the
    framed panel's: it signs in on its own, at the top level (its Sign in link, the local org's page, and back)."""
    driver.switch_to.default_content()
    element(driver, "#demo-sign-in").click()
    element(driver, f'button.user[value="{username}"]').click()
    wait_for(driver, lambda d: d.find_element(By.ID, "demo").get_attribute("data-signed-in") == "true",
             message="the demo page did not come back signed in")


def press_sign_in_and_use_the_popup(driver, username: str = "agent@example.com") -> None:
    """On the demo page: the panel's sign-in (or reconnect) button, the local org's page in the popup, and back."""
    driver.switch_to.default_content()
    demo_window = driver.current_window_handle
    driver.switch_to.frame(element(driver, "#panel-frame"))
    before = set(driver.window_handles)
    element(driver, "#sign-in-button").click()
    popup = wait_for(driver, lambda d: (set(d.window_handles) - before) or None, message="no popup opened").pop()
    driver.switch_to.window(popup)
    element(driver, f'button.user[value="{username}"]').click()
    wait_for(driver, lambda d: popup not in d.window_handles, message="the popup did not close")
    driver.switch_to.window(demo_window)
    driver.switch_to.frame(element(driver, "#panel-frame"))
    element(driver, "#pop")
    driver.switch_to.default_content()


def eventually(check, timeout: float = 20.0, interval: float = 0.2):
    """The first truthy result of `check()` within `timeout` seconds, else the last result."""
    deadline = time.monotonic() + timeout
    result = check()
    while not result and time.monotonic() < deadline:
        time.sleep(interval)
        result = check()
    return result
