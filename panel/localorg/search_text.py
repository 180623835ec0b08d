"""How the local org's SOSL index sees text: tokens of stored field values and of search terms (model in sosl.py).

Text is NFKC-normalised (full-width digits and letters become ASCII, half-width katakana full-width) and
case-folded, then cut into runs of one character class: digits, letters, or CJK (kanji, hiragana, katakana).
Everything else separates tokens. A stored value keeps its runs in order (phrases match consecutive runs) plus a
few whole-word forms: a letters-and-digits word such as `blue1` as one token, and for phone fields the digits-only
form of the number before any extension.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

WILDCARDS = "*?"
_EXTENSION = re.compile(r"内線|ext\.?|extension|x(?=\s*\d)|#", re.IGNORECASE)


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def char_class(char: str) -> str:
    """"d" digit, "c" CJK, "l" letter, "" separator."""
    if char.isdigit():
        return "d"
    code = ord(char)
    if (0x3040 <= code <= 0x30FF or 0x31F0 <= code <= 0x31FF or 0x3400 <= code <= 0x4DBF
            or 0x4E00 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or code in (0x3005, 0x3006)):
        return "c"
    if char.isalpha():
        return "l"
    return ""


def runs(text: str) -> list[tuple[str, str]]:
    """(token, class) for each maximal run of one character class in folded text."""
    found: list[tuple[str, str]] = []
    current, current_class = [], ""
    for char in text:
        klass = char_class(char)
        if klass != current_class and current:
            found.append(("".join(current), current_class))
            current = []
        current_class = klass
        if klass:
            current.append(char)
    if current:
        found.append(("".join(current), current_class))
    return found


@dataclass(frozen=True)
class IndexedValue:
    """One stored field value as the index holds it."""

    tokens: tuple[str, ...]
    classes: tuple[str, ...]
    whole_words: frozenset[str]


def index_value(value: str, *, phone: bool = False) -> IndexedValue:
    text = fold(value)
    token_runs = runs(text)
    whole = {word for word in re.findall(r"[^\W_]+", text) if len(runs(word)) > 1 and
             all(klass in "dl" for _, klass in runs(word))}
    if phone:
        main = _EXTENSION.split(text, maxsplit=1)[0]
        digits = "".join(char for char in main if char.isdigit())
        if digits:
            whole.add(digits)
    return IndexedValue(tuple(t for t, _ in token_runs), tuple(k for _, k in token_runs), frozenset(whole))


@dataclass(frozen=True)
class QueryToken:
    text: str
    klass: str
    pattern: "re.Pattern[str] | None"

    def matches(self, token: str, klass: str) -> bool:
        if self.pattern is not None:
            return bool(self.pattern.fullmatch(token))
        if self.klass == "c" and klass == "c":
            return self.text in token
        return self.text == token


def query_tokens(chars: list[tuple[str, bool]]) -> list[QueryToken]:
    """Tokens of one search term or phrase; `chars` are (character, is_wildcard) after unescaping.

    A wildcard belongs to the token it follows, as Salesforce's "wildcards take on the type of the preceding
    character". Raises ValueError for a wildcard with nothing before it.
    """
    tokens: list[QueryToken] = []
    current: list[tuple[str, bool]] = []
    current_class = ""

    def close() -> None:
        if current:
            text = "".join(c for c, _ in current)
            pattern = None
            if any(wild for _, wild in current):
                pattern = re.compile("".join((".*" if c == "*" else ".") if wild else re.escape(c)
                                             for c, wild in current))
            tokens.append(QueryToken(text, current_class, pattern))
            current.clear()

    for raw, wild in chars:
        if wild:
            if not current:
                raise ValueError("a wildcard needs characters before it")
            current.append((raw, True))
            continue
        for char in fold(raw):
            klass = char_class(char)
            if klass != current_class and current:
                close()
            current_class = klass
            if klass:
                current.append((char, False))
            else:
                close()
    close()
    return tokens


def sequence_matches(query: list[QueryToken], value: IndexedValue) -> bool:
    """Whether the value holds the query's tokens consecutively (a single token may also match a whole word)."""
    if not query:
        return False
    if len(query) == 1:
        only = query[0]
        if any(only.matches(word, "") for word in value.whole_words):
            return True
    width = len(query)
    for start in range(len(value.tokens) - width + 1):
        if all(q.matches(value.tokens[start + k], value.classes[start + k]) for k, q in enumerate(query)):
            return True
    return False
