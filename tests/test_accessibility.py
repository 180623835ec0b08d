"""Accessibility an agent relies on: every control labelled and reachable by keyboard, the pop result announced to
screen readers, and colours with enough contrast (WCAG 2.1 AA) in static/css/panel.css.

Pages are rendered by the app against the seeded local org and parsed; nothing here looks at pixels."""

from __future__ import annotations

import re
from pathlib import Path

import lxml.html
import pytest

from tests.conftest import sign_in
from tests.test_languages import PANEL_STATES, review_items  # noqa: F401 - review_items is a fixture

CSS = Path(__file__).resolve().parent.parent / "static" / "css" / "panel.css"
_NOT_LABELLED_INPUTS = {"hidden", "submit", "button", "image", "reset"}
_FOCUSABLE = {"a", "button", "input", "select", "textarea", "form", "summary"}


# -- what a page offers ---------------------------------------------------------------------------------------------

def _text(element) -> str:
    return " ".join("".join(element.itertext()).split())


def _label_of(tree, control) -> str:
    """The accessible name a screen reader announces for a form control, by the HTML-AAM order (simplified)."""
    if control.get("aria-labelledby"):
        named = [tree.get_element_by_id(ref, None) for ref in control.get("aria-labelledby").split()]
        return " ".join(_text(element) for element in named if element is not None)
    if (control.get("aria-label") or "").strip():
        return control.get("aria-label").strip()
    if control.get("id"):
        labels = tree.xpath("//label[@for=$id]", id=control.get("id"))
        if labels:
            return " ".join(_text(label) for label in labels)
    wrapping = control.xpath("ancestor::label")
    if wrapping:
        return _text(wrapping[-1])
    return (control.get("title") or "").strip()


def accessibility_problems(html: str) -> list[str]:
    """What a keyboard or screen-reader user would trip over on this page or fragment, one line each."""
    tree = lxml.html.fromstring(html)
    problems = []
    for control in tree.xpath("//input | //select | //textarea"):
        if control.tag == "input" and (control.get("type") or "text").lower() in _NOT_LABELLED_INPUTS:
            continue
        if not _label_of(tree, control):
            problems.append(f"unlabelled {control.tag} name={control.get('name')!r}")
    for button in tree.xpath("//button"):
        if not (_text(button) or (button.get("aria-label") or "").strip() or (button.get("title") or "").strip()):
            problems.append(f"button without a name: {lxml.html.tostring(button)[:80]!r}")
    for link in tree.xpath("//a[@href]"):
        if not (_text(link) or (link.get("aria-label") or "").strip()):
            problems.append(f"link without text: {link.get('href')!r}")
    for image in tree.xpath("//img[not(@alt)]"):
        problems.append(f"image without alt: {image.get('src')!r}")
    for frame in tree.xpath("//iframe[not(normalize-space(@title))]"):
        problems.append(f"iframe without a title: {frame.get('src')!r}")
    for element in tree.xpath("//*[@tabindex]"):
        if element.get("tabindex").strip().lstrip("-").isdigit() and int(element.get("tabindex")) > 0:
            problems.append(f"positive tabindex breaks the keyboard order: <{element.tag} id={element.get('id')!r}>")
    for element in tree.xpath("//*[@hx-get or @hx-post]"):
        trigger = (element.get("hx-trigger") or "").strip()
        clicked = not trigger or "click" in trigger
        if clicked and element.tag not in _FOCUSABLE:
            problems.append(f"<{element.tag}> acts on click but cannot be reached by keyboard")
    ids = tree.xpath("//@id")
    problems.extend(f"duplicate id {value!r}" for value in sorted({v for v in ids if ids.count(v) > 1}))
    for element in tree.xpath("//*[@aria-describedby or @aria-labelledby]"):
        for ref in (element.get("aria-describedby") or "").split() + (element.get("aria-labelledby") or "").split():
            if tree.get_element_by_id(ref, None) is None:
                problems.append(f"aria reference to a missing id {ref!r}")
    if tree.tag == "html":
        if not (tree.get("lang") or "").strip():
            problems.append("<html> has no lang")
        if not tree.xpath("normalize-space(//title)"):
            problems.append("the page has no title")
    return problems


# -- the pages --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("state", PANEL_STATES)
def test_each_state_of_the_panel_is_labelled_and_keyboard_reachable(signed_in_client, localorg, state, lang):
    response = PANEL_STATES[state](signed_in_client, lang)
    assert accessibility_problems(response.text) == []


def test_forms_refused_by_validation_stay_labelled_and_point_at_their_errors(signed_in_client, localorg):
    token = re.search(r'name="csrf_token" value="([^"]+)"', signed_in_client.get("/panel?phone=0").text).group(1)
    from panel.localorg.seed import IDS

    task = signed_in_client.post(f"/panel/records/{IDS['contact.yamada_taro']}/tasks", data={
        "csrf_token": token, "record_type": "Contact", "subject": "", "due_date": "soon", "call_id": ""},
        headers={"HX-Request": "true"})
    assert task.status_code == 422 and accessibility_problems(task.text) == []
    tree = lxml.html.fromstring(task.text)
    subject = tree.get_element_by_id("task-subject")
    assert subject.get("aria-invalid") == "true"
    assert _text(tree.get_element_by_id(subject.get("aria-describedby")))  # the message is read with the field
    created = signed_in_client.post("/panel/records", headers={"HX-Request": "true"}, data={
        "csrf_token": token, "record_type": "Lead", "LastName": "", "Phone": "03-9999-0001", "Email": "nope"})
    assert created.status_code == 422 and accessibility_problems(created.text) == []


@pytest.mark.parametrize("path", ["/embed/prompt", "/demo", "/auth/signed-out"])
def test_sign_in_and_demo_pages_are_labelled_and_keyboard_reachable(client, localorg, path):
    response = client.get(path, follow_redirects=True)
    assert response.status_code == 200
    assert accessibility_problems(response.text) == []


def test_the_review_queue_and_the_doctor_are_labelled_and_keyboard_reachable(
        client, localorg, review_items):  # noqa: F811 - the fixture imported above
    sign_in(client, localorg, "reviewer@example.com")
    for path in ("/review", "/admin/doctor"):
        response = client.get(path)
        assert response.status_code == 200
        assert accessibility_problems(response.text) == [], path


def test_the_checker_finds_what_it_looks_for():
    page = """<html><head><title>t</title></head><body>
      <input name="phone"><select name="x"></select><button></button><img src="a.png">
      <div hx-get="/x">click me</div><a href="/y"></a><span tabindex="2">x</span>
      <p id="a"></p><p id="a"></p><input name="q" aria-describedby="gone"></body></html>"""
    problems = " | ".join(accessibility_problems(page))
    for expected in ("unlabelled input name='phone'", "unlabelled select name='x'", "unlabelled input name='q'",
                     "button without a name", "link without text: '/y'", "image without alt: 'a.png'",
                     "positive tabindex", "<div> acts on click but cannot be reached by keyboard", "duplicate id 'a'",
                     "aria reference to a missing id 'gone'", "<html> has no lang"):
        assert expected in problems


# -- the pop is announced -------------------------------------------------------------------------------------------

def test_the_pop_region_is_announced_when_a_call_pops(signed_in_client, localorg):
    tree = lxml.html.fromstring(signed_in_client.get("/panel").text)
    pop = tree.get_element_by_id("pop")
    live = pop.xpath("ancestor-or-self::*[@aria-live]")
    assert live and live[-1].get("aria-live") in ("polite", "assertive")
    # htmx swaps #pop itself (outerHTML), so the live region must be outside it to stay the same element
    assert live[-1] is not pop
    fragment = signed_in_client.get("/panel?phone=03-1234-5678", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<section id="pop"')
    assert tree.xpath("//*[@id='pop-indicator'][@role='status']")


@pytest.mark.parametrize("phone, faults", [("03-7777-0000", True), ("not a number", False)])
def test_errors_and_states_are_announced_by_role(signed_in_client, localorg, phone, faults):
    if faults:
        localorg.admin("faults", error_rate=1, error_status=503)
    html = signed_in_client.get(f"/panel?phone={phone}", headers={"HX-Request": "true"}).text
    tree = lxml.html.fromstring(html)
    if faults:
        assert tree.xpath("//*[@id='pop-error'][@role='alert']")
    else:
        assert tree.xpath("//*[@id='unknown-caller']//h2")


# -- colours ----------------------------------------------------------------------------------------------------------

def _rules(css: str) -> list[tuple[str, dict[str, str]]]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    rules = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        declarations = {}
        for declaration in body.split(";"):
            if ":" in declaration:
                name, value = declaration.split(":", 1)
                declarations[name.strip()] = value.strip()
        rules.append((" ".join(selector.split()), declarations))
    return rules


def _resolve(value: str, variables: dict[str, str]) -> str | None:
    value = value.strip()
    for _ in range(5):
        found = re.fullmatch(r"var\((--[\w-]+)\)", value)
        if not found:
            break
        value = variables.get(found.group(1), "")
    color = re.search(r"#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b", value)
    if color:
        return color.group(0)
    return {"white": "#ffffff", "black": "#000000"}.get(value)


def _luminance(hex_color: str) -> float:
    digits = hex_color.lstrip("#")
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    channels = []
    for index in (0, 2, 4):
        value = int(digits[index:index + 2], 16) / 255
        channels.append(value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: str, second: str) -> float:
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def colour_pairs(css: str) -> list[tuple[str, str, str, float]]:
    """(selector, text colour, background, minimum ratio) for every rule that sets a text colour or a background.
    A rule without its own background sits on the page (white); one without a colour inherits the ink. Outlines
    and form borders are interface parts (WCAG 1.4.11): 3:1 against the page."""
    rules = _rules(css)
    variables = {name: value for selector, declarations in rules if selector == ":root"
                 for name, value in declarations.items() if name.startswith("--")}
    page = "#ffffff"
    ink = _resolve(dict(rules)[":root"].get("color", "#000"), variables)
    pairs = []
    for selector, declarations in rules:
        background = declarations.get("background-color") or declarations.get("background")
        color = declarations.get("color")
        if color or background:
            pairs.append((selector, _resolve(color, variables) if color else ink,
                          _resolve(background, variables) if background else page, 4.5))
        for name in ("outline", "outline-color"):
            if name in declarations and _resolve(declarations[name].split()[-1], variables):
                pairs.append((f"{selector} ({name})", _resolve(declarations[name].split()[-1], variables), page, 3.0))
        if selector.startswith("input, select, textarea") and "border" in declarations:
            pairs.append((f"{selector} (border)", _resolve(declarations["border"].split()[-1], variables), page, 3.0))
    return [pair for pair in pairs if pair[1] and pair[2]]


def test_every_colour_in_the_stylesheet_meets_wcag_aa_contrast():
    pairs = colour_pairs(CSS.read_text(encoding="utf-8"))
    assert len(pairs) >= 15  # the check really reads the stylesheet
    failing = [f"{selector}: {fg} on {bg} is {contrast(fg, bg):.2f}:1 (needs {need}:1)"
               for selector, fg, bg, need in pairs if contrast(fg, bg) < need]
    assert failing == []


def test_the_contrast_formula_matches_wcag():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#777777", "#ffffff"), 2) == 4.48  # the classic "just fails AA" grey
    assert contrast("#ffffff", "#ffffff") == 1.0
