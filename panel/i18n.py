"""Languages: how a moment is shown to the agent, and the translation catalogs (where they live, how they are
checked, the developer's `make translations` step). Which language a request gets: `panel.extensions.select_locale`.

`local_time` is the one way the panel writes a moment: in PANEL_TIMEZONE, in the locale's date format.

The panel's message ids are English sentences and the catalogs in `translations/<locale>/LC_MESSAGES/` give the
Japanese (the default) and English texts. The compiled `.mo` files are committed next to the `.po` files so that a
fresh clone runs without a compile step; `catalog_problems` is what the tests use to keep the two in step and to
find strings that were added to the code but never translated.

Run as a module (`python -m panel.i18n fill-english`) it copies every English message id into the English
catalog's empty translations: English is the source language, so "translated" there means "reviewed as is", and a
complete English catalog lets wording be polished later without touching the code.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from io import BytesIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po, write_po
from flask import current_app
from flask_babel import format_date

from panel.extensions import LOCALES  # noqa: F401 - the catalogs kept, one per locale the panel offers

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRANSLATIONS = os.path.join(PROJECT_ROOT, "translations")
# The gettext names the code uses besides babel's defaults (`_`, `gettext`, `ngettext`, ...); the Makefile passes
# the same names to `pybabel extract`.
EXTRA_KEYWORDS = {"_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}


def panel_zone() -> ZoneInfo:
    try:
        return ZoneInfo(current_app.config.get("PANEL_TIMEZONE") or "Asia/Tokyo")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(moment: datetime | str | None, *, with_date: bool = False) -> str:
    """A moment as the agent reads it, in PANEL_TIMEZONE: "10:42" today (unless `with_date`), otherwise the date
    in the locale's medium form and the time ("2024/05/01 10:42", "May 1, 2024 10:42"); "" when unknown. The time
    is always 24-hour: a contact centre compares it with call logs and dialer screens that use 24-hour time."""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return ""
    if not isinstance(moment, datetime):
        return ""
    zone = panel_zone()
    local = (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(zone)
    clock = f"{local:%H:%M}"
    if not with_date and local.date() == datetime.now(zone).date():
        return clock
    return f"{format_date(local.date(), 'medium')} {clock}"


def po_path(locale: str, root: str = TRANSLATIONS) -> str:
    return os.path.join(root, locale, "LC_MESSAGES", "messages.po")


def mo_path(locale: str, root: str = TRANSLATIONS) -> str:
    return os.path.join(root, locale, "LC_MESSAGES", "messages.mo")


def load_po(locale: str, root: str = TRANSLATIONS) -> Catalog:
    with open(po_path(locale, root), "rb") as handle:
        return read_po(handle, locale=locale)


def load_mo(locale: str, root: str = TRANSLATIONS) -> Catalog:
    with open(mo_path(locale, root), "rb") as handle:
        return read_mo(handle)


def extracted_ids() -> set[str | tuple[str, ...]]:
    """Every message id the code and templates ask for, extracted the way `make translations` extracts them."""
    from babel.messages.extract import DEFAULT_KEYWORDS
    from babel.messages.frontend import parse_mapping_cfg

    with open(os.path.join(PROJECT_ROOT, "babel.cfg"), encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {**DEFAULT_KEYWORDS, **EXTRA_KEYWORDS}
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            PROJECT_ROOT, method_map, options_map, keywords=keywords):
        found.add(message)
    return found


def catalog_problems(locale: str, root: str = TRANSLATIONS) -> list[str]:
    """What is wrong with one locale's catalog, one line per problem; empty when it is complete and compiled."""
    problems = []
    catalog = load_po(locale, root)
    for message in catalog:
        if not message.id:
            continue
        name = message.id if isinstance(message.id, str) else message.id[0]
        if message.fuzzy:
            problems.append(f"{locale}: fuzzy (needs review): {name!r}")
        strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        if not all(strings):
            problems.append(f"{locale}: not translated: {name!r}")
    for error in catalog.check():
        message, errors = error
        problems.extend(f"{locale}: {problem} in {message.id!r}" for problem in errors)
    known = {_key(message.id) for message in catalog if message.id}
    for wanted in extracted_ids():
        if _key(wanted) not in known:
            problems.append(f"{locale}: missing from the catalog (run `make translations`): {wanted!r}")
    compiled = {_key(message.id): _key(message.string) for message in load_mo(locale, root) if message.id}
    for message in catalog:
        if message.id and not message.fuzzy and compiled.get(_key(message.id)) != _key(message.string):
            problems.append(f"{locale}: messages.mo is out of date (run `make translations`): {message.id!r}")
    return problems


def _key(value):
    """Plural ids and texts come back as lists from one reader and tuples from the other."""
    return tuple(value) if isinstance(value, (list, tuple)) else value


def fill_english(path: str | None = None) -> int:
    """Give every English message its own id as text where it has none (or only a fuzzy guess); returns how many
    were filled."""
    path = path or po_path("en")
    with open(path, "rb") as handle:
        catalog = read_po(handle, locale="en")
    filled = 0
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        if message.fuzzy or not all(strings):
            message.string = tuple(message.id) if isinstance(message.id, (tuple, list)) else message.id
            message.flags.discard("fuzzy")
            filled += 1
    buffer = BytesIO()
    write_po(buffer, catalog, width=120)
    with open(path, "wb") as handle:
        handle.write(buffer.getvalue())
    return filled


if __name__ == "__main__":
    if sys.argv[1:] != ["fill-english"]:
        sys.exit("usage: python -m panel.i18n fill-english")
    print(f"English catalog: {fill_english()} message(s) filled from their ids")
