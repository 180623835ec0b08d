"""The review page as a reviewer uses it (issue 16, item 4): a decision updates the waiting count, the filters'
counts and the "Resolved" list without a reload (htmx out-of-band swaps), the page names who is signed in and signs
out, the text inside the pick buttons is readable (WCAG AA contrast, computed from panel.css), and the "nothing
waits" entry sits inside the list's margin."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from calls_support import Dialer, call_record, run_queued
from tests.conftest import sign_in  # not `conftest`: that name is whichever folder's conftest pytest loaded last
from panel.localorg.seed import IDS

HX = {"HX-Request": "true"}
SHARED = "06-6123-4567"  # contact.yoshida_sho and contact.yoshida_aya: "several"
NOBODYS = "03-9999-0000"  # no record: "none"
SHO = IDS["contact.yoshida_sho"]
CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "panel.css"


@pytest.fixture
def reviewer(app, localorg):
    browser = app.test_client()
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    sign_in(browser, localorg, "reviewer@example.com")
    return browser


def waiting_call(app, client, call_id: str, number: str) -> None:
    call = Dialer(client, call_id, number=number)
    call.send(call.ringing(), call.answered(), call.ended(duration=70))
    run_queued(app)
    assert call_record(app, call_id).status == "needs_review"


def item_id(page: str, call_id: str) -> str:
    return re.search(rf'<li id="review-item-(\d+)"[^>]*\s+data-call-id="{re.escape(call_id)}"', page).group(1)


def token(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def fragment(html: str, root: str) -> str:
    """The element with id `root` (its opening tag up to the end of the response or the next out-of-band root)."""
    start = html.index(f'id="{root}"')
    start = html.rindex("<", 0, start)
    ends = [html.find(marker, start + 1) for marker in ('<span id="review-count"', '<nav id="review-filters"',
                                                        '<ul id="review-history"')]
    ends = [end for end in ends if end > start]
    return html[start:min(ends)] if ends else html[start:]


def filter_counts(html: str) -> dict[str, int]:
    return {name: int(count) for name, count in re.findall(r'data-filter="(\w+)" data-count="(\d+)"', html)}


# -- a decision updates the page ---------------------------------------------------------------------------------------

def test_a_pick_answers_with_the_count_the_filters_and_the_resolved_list_out_of_band(app, client, reviewer):
    waiting_call(app, client, "call-oob-first", SHARED)
    waiting_call(app, client, "call-oob-second", SHARED)
    waiting_call(app, client, "call-oob-nobody", NOBODYS)
    page = reviewer.get("/review?reason=several").text
    assert filter_counts(page) == {"all": 3, "several": 2, "none": 1, "error": 0, "agent": 0}
    assert "Nothing resolved yet." in fragment(page, "review-history")

    response = reviewer.post(f"/review/items/{item_id(page, 'call-oob-first')}/pick", data={
        "csrf_token": token(page), "record_id": SHO}, headers={**HX, "HX-Current-URL":
                                                               "http://localhost/review?reason=several"})
    assert response.status_code == 200
    html = response.text
    assert html.lstrip().startswith('<li id="review-item-')  # the item itself, swapped in place

    count = fragment(html, "review-count")
    assert 'hx-swap-oob="true"' in count and 'data-count="2"' in count and "2 calls waiting" in count

    filters = fragment(html, "review-filters")
    assert 'hx-swap-oob="true"' in filters
    assert filter_counts(filters) == {"all": 2, "several": 1, "none": 1, "error": 0, "agent": 0}
    assert re.search(r'data-filter="several"[^>]*aria-current="page"', filters)  # the filter the page shows

    history = fragment(html, "review-history")
    assert 'hx-swap-oob="true"' in history and "Nothing resolved yet." not in history
    assert 'data-call-id="call-oob-first"' in history and "Logged against a record" in history
    assert "by reviewer@example.com" in history


def test_a_dismissal_on_the_unfiltered_page_updates_all_and_its_reason(app, client, reviewer):
    waiting_call(app, client, "call-oob-dismissed", NOBODYS)
    page = reviewer.get("/review").text
    response = reviewer.post(f"/review/items/{item_id(page, 'call-oob-dismissed')}/dismiss",
                             data={"csrf_token": token(page)}, headers={**HX, "HX-Current-URL": "http://localhost/review"})
    assert response.status_code == 200
    filters = fragment(response.text, "review-filters")
    assert filter_counts(filters) == {"all": 0, "several": 0, "none": 0, "error": 0, "agent": 0}
    assert re.search(r'data-filter="all"[^>]*aria-current="page"', filters)
    assert 'data-call-id="call-oob-dismissed"' in fragment(response.text, "review-history")


def test_a_current_url_that_is_not_a_url_still_updates_the_page(app, client, reviewer):
    """HX-Current-URL is the browser's to send: one that does not parse is no filter, not a 500 after the
    decision was saved."""
    waiting_call(app, client, "call-oob-odd-url", NOBODYS)
    page = reviewer.get("/review").text
    response = reviewer.post(f"/review/items/{item_id(page, 'call-oob-odd-url')}/dismiss",
                             data={"csrf_token": token(page)}, headers={**HX, "HX-Current-URL": "http://["})
    assert response.status_code == 200
    assert re.search(r'data-filter="all"[^>]*aria-current="page"', fragment(response.text, "review-filters"))


def test_a_decision_without_htmx_goes_back_to_the_page(app, client, reviewer):
    waiting_call(app, client, "call-no-htmx", NOBODYS)
    page = reviewer.get("/review").text
    response = reviewer.post(f"/review/items/{item_id(page, 'call-no-htmx')}/dismiss",
                             data={"csrf_token": token(page)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/review")


# -- who is signed in ----------------------------------------------------------------------------------------------------

def test_the_page_names_the_signed_in_reviewer_and_signs_out_with_a_post_and_its_csrf_token(reviewer):
    page = reviewer.get("/review").text
    header = page.split('<header class="panel-header', 1)[1].split("</header>", 1)[0]
    assert re.search(r'class="signed-in-as" title="reviewer@example.com"', header)
    form = re.search(r'<form method="post" action="(/auth/logout)" class="sign-out">(.*?)</form>', header, re.S)
    assert form and 'name="csrf_token"' in form.group(2) and "Sign out" in form.group(2)

    refused = reviewer.post("/auth/logout")  # no token: refused, still signed in
    assert refused.status_code == 400 and reviewer.get("/review").status_code == 200
    signed_out = reviewer.post("/auth/logout", data={"csrf_token": token(page)})
    assert signed_out.status_code == 302 and signed_out.headers["Location"].endswith("/auth/signed-out")
    assert reviewer.get("/review").status_code != 200


# -- the look: contrast and margins, from panel.css -----------------------------------------------------------------------

def _rules(css: str) -> list[tuple[str, dict[str, str]]]:
    """(selector, declarations) for every rule outside at-rules' own blocks, in order (media queries flattened)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    css = re.sub(r"@media[^{]*\{((?:[^{}]*\{[^{}]*\})*)\s*\}", r"\1", css)
    rules = []
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        declarations = dict((name.strip(), value.strip()) for name, _, value in
                            (part.partition(":") for part in body.split(";") if ":" in part))
        for selector in selectors.split(","):
            rules.append((" ".join(selector.split()), declarations))
    return rules


def _matches(part: str, element: tuple[str, set[str]]) -> bool:
    found = re.fullmatch(r"([a-z]+)?((?:\.[\w-]+)*)", part)
    if not found or not part:
        return False  # ids, attributes, pseudo-classes, combinators: not the plain state these tests look at
    tag, classes = found.group(1), set(filter(None, found.group(2).split(".")))
    return (tag is None or tag == element[0]) and classes <= element[1]


def _applies(selector: str, path: list[tuple[str, set[str]]]) -> bool:
    """Whether `selector` (simple parts and descendant combinators only) selects the last element of `path`."""
    parts = selector.split(" ")
    if not _matches(parts[-1], path[-1]):
        return False
    ancestors = path[:-1]
    for part in reversed(parts[:-1]):
        while ancestors and not _matches(part, ancestors[-1]):
            ancestors = ancestors[:-1]
        if not ancestors:
            return False
        ancestors = ancestors[:-1]
    return True


def _specificity(selector: str) -> tuple[int, int]:
    return selector.count("."), len(re.findall(r"(?:^|\s)[a-z]+", selector))


def _computed(rules, variables: dict[str, str], path, prop: str, inherited: bool) -> str | None:
    """The value of `prop` for the last element of `path`: the most specific, then latest rule; inherited from the
    parent where no rule sets it (or it says `inherit`) for inherited properties."""
    applicable = [(index, selector, decl[prop]) for index, (selector, decl) in enumerate(rules)
                  if prop in decl and _applies(selector, path)]
    value = max(applicable, key=lambda found: (_specificity(found[1]), found[0]))[2] if applicable else None
    if value in (None, "inherit") and inherited and len(path) > 1:
        return _computed(rules, variables, path[:-1], prop, inherited)
    if value and value.startswith("var("):
        value = variables[value[4:-1].strip()]
    return value


def _luminance(colour: str) -> float:
    hex_digits = colour.lstrip("#")
    if len(hex_digits) == 3:
        hex_digits = "".join(digit * 2 for digit in hex_digits)
    channels = [int(hex_digits[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_the_contrast_helper_agrees_with_the_wcag_examples():
    assert round(contrast("#000", "#fff"), 1) == 21.0 and round(contrast("#777", "#fff"), 2) == 4.48


@pytest.mark.parametrize("detail", ["candidate-action", "candidate-title", "candidate-company", "candidate-email",
                                    "candidate-phone", "candidate-owner"])
def test_every_text_inside_a_pick_button_meets_wcag_aa_contrast_on_the_buttons_background(detail):
    rules = _rules(CSS.read_text(encoding="utf-8"))
    root = next(decl for selector, decl in rules if selector == ":root")
    variables = {name: value for name, value in root.items() if name.startswith("--")}
    button = [("html", set()), ("body", set()), ("ul", {"candidate-list"}), ("li", {"candidate"}),
              ("form", set()), ("button", {"candidate-pick"})]
    text = button + ([("span", {"candidate-action"})] if detail == "candidate-action"
                     else [("span", {"candidate-details"}), ("span", {detail})])
    background = _computed(rules, variables, button, "background", inherited=False)
    colour = _computed(rules, variables, text, "color", inherited=True)
    assert re.fullmatch(r"#[0-9a-fA-F]{3,6}", background or "") and re.fullmatch(r"#[0-9a-fA-F]{3,6}", colour or "")
    assert contrast(colour, background) >= 4.5, (detail, colour, background)


def test_the_nothing_waits_entry_sits_inside_the_lists_margin(reviewer):
    page = reviewer.get("/review").text
    assert re.search(r'<ul id="review-queue" class="review-queue">\s*<li class="empty" id="review-queue-empty">', page)
    assert re.search(r'<ul id="review-history" class="review-history">\s*<li class="empty">', page)
    rules = _rules(CSS.read_text(encoding="utf-8"))
    for root in ("review-queue", "review-history"):
        path = [("body", set()), ("ul", {root}), ("li", {"empty"})]
        assert _computed(rules, {}, path[:2], "list-style", inherited=False) == "none"  # no bullet left of it
        assert _computed(rules, {}, path[:2], "padding", inherited=False) == "0"
