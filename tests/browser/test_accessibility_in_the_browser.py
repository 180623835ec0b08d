"""axe-core (static/vendor/axe-core-*, WCAG 2.1 A and AA rules) over every page and state an agent meets, in Chromium,
in Japanese and English, at desktop width and on a 360 px phone: the README's accessibility claim rests on this.

One walk per language and width through the demo dialer, as a newcomer takes it: the demo and the panel signed out
(the sign-in prompt), the local org's sign-in page (Salesforce's, in production), the panel waiting, a ringing card
with its tasks, the pick list, no match, an unknown caller, the task form during a call, after hang-up the call
logged and the call waiting for a reviewer, and the page after signing out; then the review queue as a reviewer.
Each page is checked where it is shown (the panel inside the demo's frame). tests/test_accessibility.py checks the
rendered HTML and the stylesheet's colours without a browser.
"""

from __future__ import annotations

import pytest

from panel_browser import (By, axe_violations, element, press_sign_in_and_use_the_popup, sign_in_on_the_demo_page,
                           wait_for)

PHONE = {"width": 360, "height": 740, "deviceScaleFactor": 2, "mobile": True}
YAMADA_LANDLINE = "03-1234-5678"
SHARED = "06-6123-4567"
NOBODYS = "03-9999-0000"


class Walk:
    """Checks each page or state once; `found` maps a state's name to its violations."""

    def __init__(self, driver, live) -> None:
        self.driver, self.live, self.found = driver, live, {}

    def in_panel(self) -> None:
        self.driver.switch_to.default_content()
        self.driver.switch_to.frame(element(self.driver, "#panel-frame"))

    def in_demo(self) -> None:
        self.driver.switch_to.default_content()

    def check(self, name: str, context: str = "document") -> None:
        self.driver.execute_script("return new Promise(function (done) { setTimeout(done, 150); })")  # settled
        self.found[name] = axe_violations(self.driver, context=context)

    def ring(self, phone: str) -> None:
        self.in_demo()
        number = self.driver.find_element(By.ID, "demo-number")
        number.clear()
        number.send_keys(phone)
        element(self.driver, "#demo-ring").click()

    def press(self, button: str) -> None:
        self.in_demo()
        element(self.driver, f"#demo-{button}").click()

    def hang_up(self) -> None:
        self.in_demo()
        if element(self.driver, "#demo-answer").is_enabled():
            self.press("answer")
        self.press("hangup")
        wait_for(self.driver, lambda d: d.find_element(By.ID, "demo-ring").is_enabled())


@pytest.mark.parametrize("width", ["desktop", "360"])
@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_state_of_the_panel_and_the_demo_has_no_axe_violations(live, new_browser, language, width):
    driver = new_browser(language=language)
    if width == "360":
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    walk = Walk(driver, live)

    driver.get(live.demo_url)
    element(driver, "#demo-sign-in")
    walk.check("demo, signed out")
    walk.in_panel()
    element(driver, "#sign-in-prompt")
    walk.check("panel, sign-in prompt")

    walk.in_demo()
    element(driver, "#demo-sign-in").click()
    element(driver, 'button.user[value="agent@example.com"]')
    walk.check("the local org's sign-in page")
    driver.back()
    sign_in_on_the_demo_page(driver)
    walk.check("demo, signed in")
    press_sign_in_and_use_the_popup(driver)
    walk.in_panel()
    element(driver, "#waiting")
    walk.check("panel, waiting for a call")

    walk.ring(YAMADA_LANDLINE)
    walk.in_panel()
    element(driver, "#card #past-activities .tasks")
    walk.check("ringing: the card with its tasks")
    walk.press("answer")
    walk.in_panel()
    element(driver, "form#task-form")
    wait_for(driver, lambda d: d.execute_script("return document.activeElement.id") == "task-notes")
    walk.check("answered: the task form")
    walk.press("hangup")
    walk.in_panel()
    element(driver, '#call-outcome[data-outcome="logged"]', timeout=15)
    element(driver, "#past-activities[data-record-id]")
    walk.check("after the end: logged")

    walk.ring(SHARED)
    walk.in_panel()
    element(driver, "#matches")
    walk.check("several matches: the pick list")
    walk.hang_up()
    walk.in_panel()
    element(driver, '#call-outcome[data-outcome="review"]', timeout=15)
    walk.check("after the end: waiting for a reviewer")

    walk.ring(NOBODYS)
    walk.in_panel()
    element(driver, "#no-match")
    walk.check("no match: quick-create and search")
    walk.hang_up()
    walk.ring("非通知")
    walk.in_panel()
    element(driver, "#unknown-caller")
    walk.check("unknown caller")
    walk.hang_up()

    walk.in_panel()
    element(driver, ".sign-out button").click()
    element(driver, "#signed-out")
    walk.check("panel, signed out")

    found = {name: lines for name, lines in walk.found.items() if lines}
    assert not found, "\n".join(f"{name}:\n  " + "\n  ".join(lines) for name, lines in found.items())


@pytest.mark.parametrize("width", ["desktop", "360"])
@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_review_queue_has_no_axe_violations(live, new_browser, language, width):
    from calls_support import Dialer, run_call

    with live.app.test_client() as client:  # a call nobody's number matched, waiting for a decision
        call_id = f"axe-review-{language}-{width}"
        dialer = Dialer(client, call_id, number=NOBODYS)
        dialer.send(dialer.ringing(), dialer.answered(), dialer.ended(duration=60))
    run_call(live.app, call_id)
    driver = new_browser(language=language)
    if width == "360":
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    driver.get(f"{live.panel_origin}/auth/login?next=/review")
    element(driver, 'button.user[value="reviewer@example.com"]').click()
    element(driver, f'#review-queue [data-call-id="{call_id}"]')
    violations = axe_violations(driver)
    assert not violations, "\n".join(violations)
