"""Japanese and English: every page an agent or reviewer sees is wholly in the chosen language.

The message ids are English; the Japanese catalog must translate every one of them, and a page rendered in
Japanese must show none of the English texts (and the English page none of the Japanese ones). Salesforce data
(names, stages, companies) is shown as it is stored and is not part of the check.
"""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timezone
from urllib.parse import quote
from zoneinfo import ZoneInfo

import lxml.html
import pytest
from babel.messages.pofile import read_po, write_po

from panel import i18n
from panel.localorg.seed import IDS

HX = {"HX-Request": "true"}
YAMADA = IDS["contact.yamada_taro"]
_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")
_WORD = re.compile(r"[A-Za-z]{2,}")
# Words that stay as they are in Japanese: the product's name and Salesforce's own term for a task.
_SAME_IN_BOTH = {"Salesforce", "ToDo"}


# -- what a page shows ----------------------------------------------------------------------------------------------

def visible_text(html: str) -> str:
    """The text a person sees or hears: text nodes and the attributes read out or shown (no markup, no ids)."""
    tree = lxml.html.fromstring(html)
    for hidden in tree.xpath("//script | //style | //input[@type='hidden'] | //meta"):
        hidden.drop_tree()
    parts = [text.strip() for text in tree.xpath("//text()") if text.strip()]
    for attribute in ("title", "aria-label", "placeholder", "alt"):
        parts.extend(value.strip() for value in tree.xpath(f"//@{attribute}") if value.strip())
    parts.extend(value for value in tree.xpath("//input[@type='submit' or @type='button']/@value"))
    # Texts scripts show later (call status, sign-in progress) ride in data-* attributes; machine values (ids,
    # record types, states) have neither spaces nor non-ASCII characters.
    for element in tree.iter():
        for name, value in element.attrib.items():
            if name.startswith("data-") and (re.search(r"\s", value.strip()) or not value.isascii()):
                parts.append(value.strip())
    return "\n".join(parts)


def _fragments(text: str) -> list[str]:
    return [piece.strip(" .:;,()（）") for piece in _PLACEHOLDER.split(text) if piece.strip(" .:;,()（）")]


def english_fragments() -> set[str]:
    """The literal pieces of every English text that contain an English word (placeholders cut out)."""
    found = set()
    for message in i18n.load_po("en"):
        strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        for string in strings:
            for piece in _fragments(string or ""):
                if set(_WORD.findall(piece)) - _SAME_IN_BOTH:
                    found.add(piece)
    return found


def japanese_fragments() -> set[str]:
    found = set()
    for message in i18n.load_po("ja"):
        strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        for string in strings:
            found.update(piece for piece in _fragments(string or "")
                         if re.search(r"[\u3040-\u30ff\u4e00-\u9fff]{2,}", piece) and len(piece) >= 3)
    return found


ENGLISH = english_fragments()
JAPANESE = japanese_fragments()


def english_left_in(text: str) -> list[str]:
    """English texts of the catalog found as whole words in `text` ("Call" in "Call back", not in "CallObject")."""
    return sorted(piece for piece in ENGLISH
                  if re.search(r"(?<![A-Za-z])" + re.escape(piece) + r"(?![A-Za-z])", text))


def japanese_left_in(text: str) -> list[str]:
    return sorted(piece for piece in JAPANESE if piece in text)


def assert_in_language(response, lang: str, html: str | None = None) -> str:
    assert response.headers["Content-Type"].startswith("text/html"), response.headers["Content-Type"]
    html = response.text if html is None else html
    text = visible_text(html)
    if lang == "ja":
        assert english_left_in(text) == [], text
    else:
        assert japanese_left_in(text) == [], text
    if "<html" in html:
        assert re.search(rf'<html lang="{lang}"', html)
    return text


# -- the catalogs -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_every_text_in_the_code_is_translated_and_compiled(locale):
    assert i18n.catalog_problems(locale) == []


def test_a_text_left_untranslated_or_not_compiled_is_reported(tmp_path):
    shutil.copytree(i18n.TRANSLATIONS, tmp_path / "translations")
    root = str(tmp_path / "translations")
    with open(i18n.po_path("ja", root), "rb") as handle:
        catalog = read_po(handle, locale="ja")
    catalog["Next steps"].string = ""
    catalog.delete("Past activities")
    with open(i18n.po_path("ja", root), "wb") as handle:
        write_po(handle, catalog)
    problems = i18n.catalog_problems("ja", root)
    assert "ja: not translated: 'Next steps'" in problems
    assert "ja: missing from the catalog (run `make translations`): 'Past activities'" in problems
    assert any("messages.mo is out of date" in problem and "Next steps" in problem for problem in problems)


def test_the_japanese_texts_read_as_a_japanese_contact_centre_expects():
    catalog = i18n.load_po("ja")
    expected = {"Inbound call": "着信", "Outbound call": "発信", "Next steps": "次のステップ",
                "Past activities": "過去の活動", "Waiting for a call": "着信待ち", "Contact": "取引先責任者",
                "Account": "取引先", "Lead": "リード", "Due date": "期日", "Subject": "件名"}
    assert {msgid: catalog[msgid].string for msgid in expected} == expected


# -- choosing the language --------------------------------------------------------------------------------------------

def test_japanese_is_the_default_and_the_browser_or_lang_parameter_can_choose_english(app, signed_in_client):
    bare = app.test_client()
    assert '<html lang="ja"' in bare.get("/auth/signed-out").text
    assert '<html lang="en"' in bare.get("/auth/signed-out", headers={"Accept-Language": "en-US,en;q=0.8"}).text
    assert '<html lang="ja"' in bare.get("/auth/signed-out", headers={"Accept-Language": "ja,en;q=0.5"}).text
    assert '<html lang="ja"' in bare.get("/auth/signed-out", headers={"Accept-Language": "fr"}).text
    assert '<html lang="en"' in bare.get("/auth/signed-out?lang=en", headers={"Accept-Language": "ja"}).text
    assert '<html lang="ja"' in app.test_client().get("/auth/signed-out?lang=xx",
                                                      headers={"Accept-Language": "fr"}).text


def test_the_lang_parameter_of_the_page_holds_for_the_fragments_it_loads_later(signed_in_client):
    signed_in_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = signed_in_client.get("/panel?lang=ja&phone=03-1234-5678")
    assert "次のステップを読み込んでいます" in page.text
    fragment = signed_in_client.get(f"/panel/records/{YAMADA}/tasks?record_type=Contact", headers=HX)
    assert "次のステップ" in fragment.text and "Next steps" not in fragment.text
    signed_in_client.get("/panel?lang=en")
    again = signed_in_client.get(f"/panel/records/{YAMADA}/tasks?record_type=Contact", headers=HX)
    assert "Next steps" in again.text


# -- every main state, in both languages ----------------------------------------------------------------------------

def _pop(client, phone, lang, **params):
    query = "&".join(f"{k}={quote(str(v))}" for k, v in {"phone": phone, "lang": lang, **params}.items())
    return client.get(f"/panel?{query}")


PANEL_STATES = {
    "waiting": lambda client, lang: client.get(f"/panel?lang={lang}"),
    "card": lambda client, lang: _pop(client, "03-1234-5678", lang),
    "lead card": lambda client, lang: _pop(client, "080-9876-5432", lang),
    "pick list": lambda client, lang: _pop(client, "06-6123-4567", lang, call_id="c-1", direction="inbound"),
    "no match": lambda client, lang: _pop(client, "+81 3 9999 0001", lang),
    "unknown caller": lambda client, lang: _pop(client, "anonymous", lang),
    "task lists": lambda client, lang: client.get(
        f"/panel/records/{YAMADA}/tasks?record_type=Contact&lang={lang}", headers=HX),
    "task form": lambda client, lang: client.get(
        f"/panel/records/{YAMADA}/tasks/new?record_type=Contact&call_id=c-9&lang={lang}", headers=HX),
    "search results": lambda client, lang: client.get(
        f"/panel/search?q={quote('山田')}&lang={lang}", headers=HX),
    "not found": lambda client, lang: client.get(f"/no-such-page?lang={lang}"),
}


@pytest.mark.parametrize("lang", i18n.LOCALES)
@pytest.mark.parametrize("state", PANEL_STATES)
def test_each_state_of_the_panel_is_wholly_in_the_chosen_language(signed_in_client, localorg, state, lang):
    response = PANEL_STATES[state](signed_in_client, lang)
    assert response.status_code in (200, 404), response.text
    assert_in_language(response, lang)


@pytest.mark.parametrize("lang", i18n.LOCALES)
def test_validation_messages_are_in_the_chosen_language(signed_in_client, localorg, lang):
    token = re.search(r'name="csrf_token" value="([^"]+)"', signed_in_client.get("/panel?phone=0").text).group(1)
    task = signed_in_client.post(f"/panel/records/{YAMADA}/tasks?lang={lang}", headers=HX, data={
        "csrf_token": token, "record_type": "Contact", "subject": "", "due_date": "soon", "call_id": ""})
    assert task.status_code == 422
    text = assert_in_language(task, lang)
    assert ("件名を入力してください。" if lang == "ja" else "Enter a subject.") in text
    record = signed_in_client.post(f"/panel/records?lang={lang}", headers=HX, data={
        "csrf_token": token, "record_type": "Lead", "LastName": "", "Phone": "03-9999-0001", "Email": "nope"})
    assert record.status_code == 422
    text = assert_in_language(record, lang)
    assert ("メールアドレスの形式が正しくありません。" if lang == "ja" else "This is not an e-mail address.") in text


@pytest.mark.parametrize("lang", i18n.LOCALES)
def test_errors_are_in_the_chosen_language(signed_in_client, localorg, lang):
    localorg.admin("faults", error_rate=1, error_status=503)
    down = _pop(signed_in_client, "03-7777-0000", lang)
    text = assert_in_language(down, lang)
    assert ("現在 Salesforce に接続できません" if lang == "ja" else "Salesforce is unreachable right now") in text
    lists = signed_in_client.get(f"/panel/records/{YAMADA}/tasks?record_type=Contact&lang={lang}", headers=HX)
    assert_in_language(lists, lang)
    localorg.admin("faults")
    refused = signed_in_client.post(f"/panel/pick?lang={lang}", headers=HX, data={"record_id": YAMADA})
    assert refused.status_code == 400
    assert_in_language(refused, lang)


@pytest.mark.parametrize("lang", i18n.LOCALES)
def test_sign_in_pages_are_in_the_chosen_language(client, localorg, lang):
    assert_in_language(client.get(f"/auth/signed-out?lang={lang}"), lang)
    failed = client.get(f"/auth/callback?lang={lang}&code=x&state=forged")
    assert failed.status_code == 400
    assert_in_language(failed, lang)


@pytest.mark.parametrize("lang", i18n.LOCALES)
@pytest.mark.parametrize("path", ["/embed/prompt", "/demo"])
def test_the_sign_in_prompt_and_the_demo_dialer_are_in_the_chosen_language(client, localorg, path, lang):
    response = client.get(f"{path}?lang={lang}", follow_redirects=True)
    assert response.status_code == 200
    # The demo dialer's dispositions are the values it writes to Task.CallDisposition: a dialer's data, like the
    # Salesforce records, not the panel's text.
    tree = lxml.html.fromstring(response.text)
    # So are its seeded callers: record names and the caller ids it sends (such as 非通知).
    for data in tree.xpath("//select[@id='demo-disposition']/option[@value!=''] | //ul[@id='demo-callers']"):
        data.drop_tree()
    assert_in_language(response, lang, lxml.html.tostring(tree, encoding="unicode"))


@pytest.fixture
def review_items(app):
    """Two ended calls waiting for a reviewer (one matched two records, one was refused) and one resolved."""
    from panel.calls.ledger import CallRecord, ReviewItem
    from panel.extensions import db

    now = datetime.now(timezone.utc)
    with app.app_context():
        for number, (reason, error, candidates, resolved) in enumerate((
                ("several", None, [{"record_id": IDS["contact.yoshida_sho"], "record_type": "Contact",
                                    "name": "吉田 翔", "company": "株式会社さくら工業"}], False),
                ("error", "FIELD_INTEGRITY_EXCEPTION", None, False),
                ("none", None, None, True))):
            call_id = f"review-call-{number}"
            db.session.add(CallRecord(call_id=call_id, direction="inbound", external_number="+81312340000",
                                      agent_email="agent@example.com", status="needs_review", started_at=now,
                                      created_at=now, updated_at=now))
            db.session.add(ReviewItem(call_id=call_id, reason=reason, error=error, created_at=now,
                                      candidates=None if candidates is None else __import__("json").dumps(candidates),
                                      resolved_at=now if resolved else None,
                                      resolved_by="reviewer@example.com" if resolved else None,
                                      resolution="dismissed" if resolved else None))
        db.session.commit()


@pytest.mark.parametrize("lang", i18n.LOCALES)
def test_the_review_queue_is_in_the_chosen_language(client, localorg, review_items, lang):
    from tests.conftest import sign_in

    sign_in(client, localorg, "reviewer@example.com")
    page = client.get(f"/review?lang={lang}")
    assert page.status_code == 200
    text = assert_in_language(page, lang)
    assert ("確認待ちの通話" if lang == "ja" else "Calls to review") in text
    assert ("着信" if lang == "ja" else "Inbound") in text


# -- dates and times ------------------------------------------------------------------------------------------------

def test_dates_and_times_are_in_the_panel_time_zone_and_the_locale_format(app):
    from panel.i18n import local_time

    moment = datetime(2024, 5, 1, 1, 42, tzinfo=timezone.utc)  # 10:42 in Tokyo
    with app.test_request_context("/?lang=ja"):
        assert local_time(moment) == "2024/05/01 10:42"
        today_in_tokyo = datetime.now(ZoneInfo("Asia/Tokyo")).replace(hour=10, minute=42)
        assert local_time(today_in_tokyo.astimezone(timezone.utc)) == "10:42"
        assert local_time(moment, with_date=True) == "2024/05/01 10:42"
    with app.test_request_context("/?lang=en"):
        assert local_time(moment) == "May 1, 2024 10:42"
    app.config["PANEL_TIMEZONE"] = "America/New_York"
    with app.test_request_context("/?lang=en"):
        assert local_time(moment) == "Apr 30, 2024 21:42"


@pytest.mark.parametrize("lang, due", [("ja", "期日 "), ("en", "Due ")])
def test_task_due_dates_read_in_the_locale(signed_in_client, localorg, lang, due):
    html = signed_in_client.get(f"/panel/records/{YAMADA}/tasks?record_type=Contact&lang={lang}", headers=HX).text
    dues = re.findall(r'<time class="task-due" datetime="[^"]+">([^<]+)</time>', html)
    assert dues and all(label.startswith(due) for label in dues)
    if lang == "ja":
        assert all(re.fullmatch(r"期日 \d{4}/\d\d/\d\d", label) for label in dues), dues
    else:
        assert all(re.fullmatch(r"Due [A-Z][a-z]{2} \d{1,2}, \d{4}", label) for label in dues), dues
