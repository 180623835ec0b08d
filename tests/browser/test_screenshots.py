"""Screenshots for docs/embedding.md: each state of the panel, in the demo dialer's sidebar (desktop) and on a
360 px phone, in Japanese and English, plus, at desktop width, where the call went after hang-up (logged, waiting for a
reviewer) and the review queue.

`make screenshots` runs this with PANEL_SCREENSHOTS_DIR=docs/screenshots; otherwise it is skipped (the other
browser tests cover the same pages' behaviour; CI machines may lack Japanese fonts and would write tofu).
"""

from __future__ import annotations

import base64
import os
import pathlib

import pytest

from panel_browser import By, element, eventually, sign_in_through_the_popup, wait_for

TARGET = os.environ.get("PANEL_SCREENSHOTS_DIR")
pytestmark = pytest.mark.skipif(not TARGET, reason="screenshots are made by `make screenshots` "
                                                    "(PANEL_SCREENSHOTS_DIR names the folder)")

# state → (number the caller rings from, what shows the state is on screen)
STATES = {
    "card": ("03-1234-5678", "#card #past-activities:not(.lazy-list)"),
    "pick-list": ("06-6123-4567", "#matches"),
    "no-match": ("03-9999-0000", '#pop[data-state="no_match"]'),
    "unknown-caller": ("非通知", '#pop[data-state="unknown_caller"]'),
}
PHONE = {"width": 360, "height": 740, "deviceScaleFactor": 2, "mobile": True}


def save(driver, name: str, *, full_page: bool = False) -> None:
    folder = pathlib.Path(TARGET)
    folder.mkdir(parents=True, exist_ok=True)
    options = {"format": "png"}
    if full_page:
        size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        options.update(captureBeyondViewport=True,
                       clip={"x": 0, "y": 0, "width": PHONE["width"], "height": min(size["height"], 1600), "scale": 1})
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", options)
    (folder / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))


def settle(driver) -> None:
    driver.execute_script("return new Promise(function (done) { setTimeout(done, 400); })")


def ring(driver, phone: str) -> None:
    driver.switch_to.default_content()
    number = driver.find_element(By.ID, "demo-number")
    number.clear()
    number.send_keys(phone)
    element(driver, "#demo-ring").click()


def answer_and_hang_up(driver) -> None:
    """An answered call (a missed one is not logged), so unclear callers end up in the review queue."""
    driver.switch_to.default_content()
    if driver.find_element(By.ID, "demo-answer").is_enabled():
        element(driver, "#demo-answer").click()
    element(driver, "#demo-hangup").click()
    wait_for(driver, lambda d: d.find_element(By.ID, "demo-ring").is_enabled())


def in_panel(driver) -> None:
    driver.switch_to.default_content()
    driver.switch_to.frame(element(driver, "#panel-frame"))


@pytest.mark.parametrize("language", ["ja", "en"])
def test_screenshots_of_every_state(live, new_browser, language):
    driver = new_browser(language=language)
    sign_in_through_the_popup(driver, live)

    # Desktop: the demo dialer with the panel in its sidebar.
    for state, (phone, shown) in STATES.items():
        ring(driver, phone)
        in_panel(driver)
        element(driver, shown)
        settle(driver)
        driver.switch_to.default_content()
        save(driver, f"{language}-desktop-{state}")
        answer_and_hang_up(driver)
    ring(driver, STATES["card"][0])
    element(driver, "#demo-answer").click()
    in_panel(driver)
    element(driver, "form#task-form")
    settle(driver)
    driver.switch_to.default_content()
    save(driver, f"{language}-desktop-task-form")
    # After hang-up the panel follows the call: logged (the Task's subject and link), or waiting for a reviewer.
    answer_and_hang_up(driver)
    in_panel(driver)
    element(driver, '#call-outcome[data-outcome="logged"]')
    element(driver, "#past-activities .tasks")
    driver.execute_script("window.scrollTo(0, 0)")  # the outcome above the card (the header also says it)
    settle(driver)
    driver.switch_to.default_content()
    save(driver, f"{language}-desktop-call-logged")
    ring(driver, STATES["pick-list"][0])
    answer_and_hang_up(driver)
    in_panel(driver)
    element(driver, '#call-outcome[data-outcome="review"]')
    settle(driver)
    driver.switch_to.default_content()
    save(driver, f"{language}-desktop-call-in-review")

    # A 360 px phone: the panel on its own, as a mobile webview shows it.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    for state, (phone, shown) in STATES.items():
        driver.get(f"{live.panel_origin}/panel?phone={phone}")
        element(driver, shown)
        settle(driver)
        save(driver, f"{language}-360-{state}", full_page=True)
    driver.get(f"{live.panel_origin}/panel?phone={STATES['card'][0]}")
    element(driver, "#task-form button").click()
    element(driver, "form#task-form")
    settle(driver)
    save(driver, f"{language}-360-task-form")

    # The review queue, for a reviewer (the pick-list and no-match calls above are waiting there).
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    driver.get(f"{live.panel_origin}/auth/login?next=/review")
    element(driver, 'button.user[value="reviewer@example.com"]').click()
    assert eventually(lambda: driver.get(f"{live.panel_origin}/review") or
                      driver.find_elements(By.CSS_SELECTOR, "#review-queue [data-call-id]"), timeout=30)
    settle(driver)
    save(driver, f"{language}-desktop-review-queue")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    driver.get(f"{live.panel_origin}/review")
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#review-queue [data-call-id]"))
    settle(driver)
    save(driver, f"{language}-360-review-queue", full_page=True)
