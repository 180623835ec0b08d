"""Phone numbers as callers and agents write them, reduced to one comparable form.

A dialer sends whatever its carrier hands it (`+81312345678`, `0312345678`, `tel:` and `sip:` URIs, `anonymous`),
and people type into Salesforce whatever they like (`03-1234-5678`, `０３－１２３４－５６７８`,
`+81 (0)3-1234-5678`, `03-1234-5678 内線123`). Two numbers are the same caller when their E.164 forms are equal;
everything here exists to get from those strings to E.164 with `phonenumbers`, and back to the few spellings that
Salesforce's search index will match.

Nothing in this module talks to Salesforce or Flask.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from babel import Locale, UnknownLocaleError
from babel.core import get_global
from phonenumbers import NumberParseException, PhoneNumberFormat

__all__ = [
    "PhoneNumber",
    "display",
    "is_withheld",
    "parse_caller",
    "recent_change_patterns",
    "same_caller",
    "search_terms",
    "sosl_find_clause",
]

# Caller-ID texts that carriers, PBXs and Japanese dialers send in place of a number. Compared after NFKC and
# casefolding, so `ANONYMOUS`, `Ａｎｏｎｙｍｏｕｓ` and `anonymous` are one value.
WITHHELD_WORDS = frozenset({
    "anonymous", "private", "restricted", "unknown", "unavailable", "withheld", "blocked", "unidentified",
    "非通知", "非通知設定", "公衆電話", "通知不可能", "表示圏外",
})
# The keypad spelling of ANONYMOUS that some carriers put in the From of a withheld call; it looks like a number
# (+266 is Lesotho) but is too short to be one.
WITHHELD_PLACEHOLDER_NUMBERS = frozenset({"+266696687"})

# NFKC already maps full-width hyphen-minus and small hyphen to "-"; these dashes survive it and people (and IMEs)
# type them between digit groups: katakana prolonged sound mark, hyphen, non-breaking hyphen, figure dash, en and em
# dash, horizontal bar, minus sign, hyphen bullet, and the wave dash/tilde some write for ranges of digits.
_DASHES = str.maketrans({ch: "-" for ch in "ー‐‑‒–—―−⁃〜～"})

# A real RFC 3966 URI (`tel:+81-3-1234-5678;ext=12`), as opposed to a "TEL: 03-…" label typed by a person.
_TEL_URI = re.compile(r"^tel:\+?[\d\-.()]+(?:;[^\s]*)?$", re.IGNORECASE)
_URI_USER = re.compile(r"^(?:sips?|tel):(?P<user>[^@]*)(?:@.*)?$", re.IGNORECASE)
_DISPLAY_NAME = re.compile(r'^\s*"?(?P<name>[^"<]*?)"?\s*<(?P<uri>[^>]*)>\s*$')
# An extension written after the number: `ext. 12`, `extn 12`, `ext12`, `x12`, `#12`, `内線12`, `(内線12)`,
# `extension: 12`, `;ext=12` (the RFC 3966 spelling, pasted outside a tel: URI).
_EXTENSION = re.compile(
    r"[\s,;]*[(\[]?\s*(?:extension|extn\.?|ext\.?|x|#|内線)\s*[:.=]?\s*(?P<ext>\d{1,7})\s*[)\]]?\s*$",
    re.IGNORECASE)
# Digit groups joined by slashes, as some people write them (`03/1234/5678`); only read that way when nothing
# else in the text is a number, because ` / ` more often separates two numbers.
_SLASH_BETWEEN_DIGITS = re.compile(r"(?<=\d)/(?=\d)")
# A stretch of text that can be (part of) one written number: digits with the separators people put between them.
_NUMBER_RUN = re.compile(r"\+?[\s(\[]*\d[\d\s\-.()\[\]]*")
_MIN_DIGITS_IN_RUN = 5


@dataclass(frozen=True)
class PhoneNumber:
    """One parsed number in every form the panel needs; `e164` is its identity."""

    e164: str  # "+81312345678"
    national: str  # "03-1234-5678": how people in the number's own country write it
    international: str  # "+81 3-1234-5678"
    national_digits: str  # "0312345678": the national form without punctuation, trunk prefix included
    region: str  # "JP"
    extension: str | None
    is_valid: bool  # phonenumbers' strict check; False means "possible length, unknown range"

    @property
    def country_code(self) -> int:
        return _parsed(self.e164).country_code

    @property
    def significant_digits(self) -> str:
        """The national significant number, "312345678": no country code, no trunk prefix."""
        return phonenumbers.national_significant_number(_parsed(self.e164))


@lru_cache(maxsize=4096)
def _parsed(e164: str) -> phonenumbers.PhoneNumber:
    return phonenumbers.parse(e164, None)


def _normalize(raw: str) -> str:
    """Full-width digits and punctuation to ASCII, every dash variant to "-", whitespace runs to one space."""
    text = unicodedata.normalize("NFKC", raw).translate(_DASHES)
    text = "".join(" " if unicodedata.category(ch).startswith(("C", "Z")) else ch for ch in text)
    return " ".join(text.split())


def _caller_part(text: str) -> tuple[str, str]:
    """Split a normalized caller ID into (display name, the part that holds the number).

    `"Anonymous" <sip:anonymous@192.0.2.1>` gives ("Anonymous", "anonymous"); `sip:+8131234@pbx` gives
    ("", "+8131234"). `tel:` URIs are kept whole because phonenumbers reads their `;ext=` and `;phone-context=`.
    """
    name = ""
    found = _DISPLAY_NAME.match(text)
    if found:
        name, text = found.group("name").strip(), found.group("uri").strip()
    if _TEL_URI.match(text):
        return name, text
    uri = _URI_USER.match(text)
    if uri:
        text = uri.group("user").split(";", 1)[0]
    return name, text


def is_withheld(raw: str | None) -> bool:
    """True when the caller ID carries no number to look up (withheld, payphone, out of area, blank, junk).

    The panel shows the unknown-caller state for these without asking Salesforce anything. A string is withheld
    when it (or a SIP URI's user part or display name) is one of the known words, when it has no digits at all, or
    when its digits are all zeros (`0`, `+`, `000-0000-0000`).
    """
    if raw is None:
        return True
    text = _normalize(raw)
    name, number = _caller_part(text)
    if name.casefold() in WITHHELD_WORDS or number.casefold().strip() in WITHHELD_WORDS:
        return True
    if text.casefold() in WITHHELD_WORDS:
        return True
    digits = re.sub(r"\D", "", number)
    if not digits.strip("0"):
        return True
    return "+" + digits in WITHHELD_PLACEHOLDER_NUMBERS and number.lstrip().startswith("+")


def _split_extension(text: str) -> tuple[str, str | None]:
    found = _EXTENSION.search(text)
    if not found or not re.search(r"\d", text[:found.start()]):
        return text, None
    return text[:found.start()], found.group("ext")


def _number_text(text: str) -> str | None:
    """The written number inside `text`, without labels or trailing remarks ("TEL: 03-1234-5678 (代表)").

    When a field holds two numbers ("03-1234-5678 / 090-1234-5678") the first one wins, as a person reading the
    field would dial it.
    """
    for run in _NUMBER_RUN.findall(text):
        if len(re.sub(r"\D", "", run)) >= _MIN_DIGITS_IN_RUN:
            return run.strip().rstrip(" -.([")
    return None


def _interpretations(number_text: str) -> list[str]:
    """The ways the same digits may have been meant, most likely first.

    `81312345678` may be a Japanese number written without `+`; `0081…` is an international call written with the
    `00` prefix most of the world uses (Japan's own, `010`, phonenumbers already knows); a `+` lost to URL decoding
    turns into a space.
    """
    stripped = number_text.strip()
    readings = [stripped]
    if not stripped.startswith("+"):
        digits = re.sub(r"\D", "", stripped)
        if digits.startswith("00"):
            readings.append("+" + digits[2:])
        readings.append("+" + digits)
    return readings


def _accept(candidate: phonenumbers.PhoneNumber) -> bool:
    if phonenumbers.is_valid_number(candidate):
        return True
    # A leading zero kept inside the national number means the digits did not fit any pattern of the region.
    return phonenumbers.is_possible_number(candidate) and not candidate.italian_leading_zero


def parse_caller(raw: str | None, default_region: str = "JP") -> PhoneNumber | None:
    """Parse a caller ID or a stored Salesforce phone value; None when withheld or not a phone number.

    A number is accepted when phonenumbers finds it valid, or at least possible (right length for its country):
    agents store test and new-range numbers that the metadata does not list yet, and a false "no match" costs more
    than a lookup that finds nothing. Among the readings of ambiguous digits a valid one beats a merely possible one.
    """
    return _parse_caller(raw, default_region)


@lru_cache(maxsize=4096)
def _parse_caller(raw: str | None, default_region: str) -> PhoneNumber | None:
    """Cached because verifying a pop parses every stored phone field of every candidate."""
    if is_withheld(raw):
        return None
    _, text = _caller_part(_normalize(raw))
    extension = None
    if not _TEL_URI.match(text):
        text, extension = _split_extension(text)
        found = _number_text(text)
        if found is None and _SLASH_BETWEEN_DIGITS.search(text):
            reread = _parse_caller(_SLASH_BETWEEN_DIGITS.sub("-", text), default_region)
            # Slashes also write dates: only a number phonenumbers knows to exist is read through them.
            if reread is None or not reread.is_valid:
                return None
            return dataclasses.replace(reread, extension=extension or reread.extension)
        if found is None:
            return None
        text = found

    possible = None
    for reading in _interpretations(text):
        try:
            candidate = phonenumbers.parse(reading, default_region)
        except NumberParseException:
            continue
        if phonenumbers.is_valid_number(candidate):
            return _build(candidate, extension)
        if possible is None and _accept(candidate):
            possible = candidate
    return _build(possible, extension) if possible is not None else None


def _build(number: phonenumbers.PhoneNumber, extension: str | None) -> PhoneNumber:
    extension = extension or number.extension or None
    bare = phonenumbers.PhoneNumber(country_code=number.country_code, national_number=number.national_number,
                                    italian_leading_zero=number.italian_leading_zero,
                                    number_of_leading_zeros=number.number_of_leading_zeros)
    national = phonenumbers.format_number(bare, PhoneNumberFormat.NATIONAL)
    region = (phonenumbers.region_code_for_number(bare)
              or phonenumbers.region_code_for_country_code(bare.country_code))
    return PhoneNumber(
        e164=phonenumbers.format_number(bare, PhoneNumberFormat.E164),
        national=national,
        international=phonenumbers.format_number(bare, PhoneNumberFormat.INTERNATIONAL),
        national_digits=re.sub(r"\D", "", national),
        region=region,
        extension=extension,
        is_valid=phonenumbers.is_valid_number(bare),
    )


def same_caller(a: str | PhoneNumber | None, b: str | PhoneNumber | None, default_region: str = "JP") -> bool:
    """Whether two written numbers reach the same line: equal E.164, extensions ignored, withheld never equal."""
    first = a if isinstance(a, PhoneNumber) else parse_caller(a, default_region)
    second = b if isinstance(b, PhoneNumber) else parse_caller(b, default_region)
    return first is not None and second is not None and first.e164 == second.e164


def search_terms(number: PhoneNumber) -> list[str]:
    """The spellings to OR together in `FIND {…} IN PHONE FIELDS` so a record stored in any usual format is found.

    Salesforce's search index splits text at punctuation and spaces and also keeps a phone field's digits run
    together, so one digits-only term finds every punctuation variant of the same digit sequence. What differs
    between stored formats is which digits are written, hence one term per digit sequence people write:

    - national digits with the trunk prefix, `0312345678`: `03-1234-5678`, `(03) 1234-5678`, `0312345678`;
    - E.164 digits, `81312345678`: `+81 3-1234-5678`, `+81312345678`, `81312345678`;
    - the national significant number, `312345678`: numbers stored without trunk prefix or country code
      (`3-1234-5678`; for US numbers the same as the national digits, so it drops out);
    - country code plus trunk prefix, `810312345678`: `+81 (0)3-1234-5678`, only where a trunk prefix exists;
    - `00` plus E.164 digits, `0081312345678`: the international form written with the most common exit code;
    - the national and the international format as phrases, `"03-1234-5678"` and `"+81 3-1234-5678"`: they match
      the adjacent digit groups where the index holds the groups only.

    SOSL's token matching can still return a record whose digits merely contain one of these, so every hit is
    verified by E.164 afterwards (panel.callers.matching.verify).
    """
    digits_e164 = number.e164.lstrip("+")
    significant = number.significant_digits
    terms = [number.national_digits, digits_e164, significant]
    if number.national_digits != significant:
        terms.append(f"{number.country_code}{number.national_digits}")
    terms += [f"00{digits_e164}", number.national, number.international]
    unique: list[str] = []
    for term in terms:
        if term and term not in unique:
            unique.append(term)
    return unique


_FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
TAIL_DIGITS = 3


def recent_change_patterns(number: PhoneNumber) -> list[str]:
    """SOQL LIKE patterns that every usual spelling of `number` matches, for the records SOSL cannot see yet.

    The lookup reads records changed within the search index's lag by query, not search. Reading all of them
    would cost a busy org thousands of rows per pop, so the query keeps only phone values that contain the
    number's last three digits, written together (`…5678`, `…-678`) or with one separator inside them (`…67 89`,
    as groups of two are written), in ASCII or full-width digits. That is a coarse filter; the E.164 check after
    it decides.
    """
    a, b, c = number.significant_digits[-TAIL_DIGITS:]
    patterns = [f"%{a}{b}{c}%", f"%{a}_{b}{c}%", f"%{a}{b}_{c}%"]
    return patterns + [pattern.translate(_FULL_WIDTH_DIGITS) for pattern in patterns]


_SOSL_RESERVED = re.compile(r"""([&|!(){}\[\]^"~*?:\\'+\-])""")


def sosl_find_clause(terms: list[str]) -> str:
    """The `{"a" OR "b"}` part of a SOSL FIND for these terms, safe for any text.

    Each term becomes a quoted phrase with every SOSL reserved character backslash-escaped, so a term cannot
    close the phrase or the braces, add operators or wildcards. Control characters become spaces. Raises ValueError
    when no term has anything to search for, because `FIND {}` is a Salesforce error, not an empty result.
    """
    phrases = []
    for term in terms:
        cleaned = " ".join("".join(" " if unicodedata.category(ch).startswith("C") else ch
                                   for ch in str(term)).split())
        if cleaned:
            phrases.append('"' + _SOSL_RESERVED.sub(r"\\\1", cleaned) + '"')
    if not phrases:
        raise ValueError("search terms: at least one non-blank term is required")
    return "{" + " OR ".join(phrases) + "}"


def _region_of(locale: str) -> str | None:
    """`JP` → JP, `ja_JP`/`en-US` → the territory, a bare language such as `ja` → its most likely territory."""
    text = locale.strip().replace("-", "_")
    if text in phonenumbers.SUPPORTED_REGIONS:
        return text
    try:
        parsed = Locale.parse(text)
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    if parsed.territory:
        return parsed.territory
    likely = get_global("likely_subtags").get(parsed.language, "")
    territory = likely.split("_")[-1]
    return territory if territory.isalpha() and territory.isupper() else None


def display(number: PhoneNumber, locale: str) -> str:
    """How the panel shows a number: national format for numbers from `locale`'s region, international otherwise.

    `locale` is the panel's default region (`JP`) or a locale with or without territory (`ja_JP`, `en-US`, `ja`).
    An extension is appended the way phonenumbers writes it (` ext. 12`) so an agent can dial through.
    """
    shown = number.national if number.region == _region_of(locale) else number.international
    return f"{shown} ext. {number.extension}" if number.extension else shown
