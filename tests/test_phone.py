"""Phone numbers as dialers send them and people store them: parsing, equality, withheld IDs, SOSL terms."""

from __future__ import annotations

import re
import unicodedata

import pytest

from panel.phone import (PhoneNumber, display, is_withheld, parse_caller, recent_change_patterns, same_caller,
                         search_terms, sosl_find_clause)

TOKYO = "+81312345678"
MOBILE = "+819012345678"
TOLL_FREE = "+81120123456"
NEW_YORK = "+12125550123"

# (written form, E.164 it must mean with default region JP, extension)
FORMATS = [
    # Tokyo landline
    ("03-1234-5678", TOKYO, None),
    ("0312345678", TOKYO, None),
    ("03 1234 5678", TOKYO, None),
    ("03.1234.5678", TOKYO, None),
    ("(03)1234-5678", TOKYO, None),
    ("03(1234)5678", TOKYO, None),
    ("[03] 1234-5678", TOKYO, None),
    ("3-1234-5678", TOKYO, None),
    ("+81312345678", TOKYO, None),
    ("+81 3-1234-5678", TOKYO, None),
    ("+81-3-1234-5678", TOKYO, None),
    ("+81 (0)3-1234-5678", TOKYO, None),
    ("+81(0)312345678", TOKYO, None),
    ("+810312345678", TOKYO, None),
    ("81312345678", TOKYO, None),
    ("81-3-1234-5678", TOKYO, None),
    (" 81312345678", TOKYO, None),  # a "+" that URL decoding turned into a space
    ("0081312345678", TOKYO, None),
    ("0081-3-1234-5678", TOKYO, None),
    ("010-81-3-1234-5678", TOKYO, None),
    # full width and Japanese dashes
    ("０３－１２３４－５６７８", TOKYO, None),
    ("０３ー１２３４ー５６７８", TOKYO, None),
    ("03ー1234ー5678", TOKYO, None),
    ("03‐1234‐5678", TOKYO, None),
    ("03―1234―5678", TOKYO, None),
    ("03−1234−5678", TOKYO, None),
    ("03–1234–5678", TOKYO, None),
    ("＋８１　３　１２３４　５６７８", TOKYO, None),
    ("（０３）１２３４－５６７８", TOKYO, None),
    # URIs
    ("tel:+81-3-1234-5678", TOKYO, None),
    ("tel:+81312345678;ext=12", TOKYO, "12"),
    ("tel:03-1234-5678;phone-context=+81", TOKYO, None),
    ("TEL:+81-3-1234-5678", TOKYO, None),
    ("sip:+81312345678@192.0.2.10;user=phone", TOKYO, None),
    ('"Yamada Taro" <sip:0312345678@pbx.example.com>', TOKYO, None),
    # extensions
    ("03-1234-5678 ext. 123", TOKYO, "123"),
    ("03-1234-5678 ext.123", TOKYO, "123"),
    ("03-1234-5678 ext 123", TOKYO, "123"),
    ("03-1234-5678 EXT:123", TOKYO, "123"),
    ("03-1234-5678 x123", TOKYO, "123"),
    ("03-1234-5678x123", TOKYO, "123"),
    ("03-1234-5678#123", TOKYO, "123"),
    ("03-1234-5678 内線123", TOKYO, "123"),
    ("03-1234-5678 内線 123", TOKYO, "123"),
    ("03-1234-5678(内線123)", TOKYO, "123"),
    ("03-1234-5678（内線１２３）", TOKYO, "123"),
    ("+81 3-1234-5678 ext. 9", TOKYO, "9"),
    ("03-1234-5678 extn 123", TOKYO, "123"),
    ("+81 3-1234-5678;ext=123", TOKYO, "123"),
    ("03-1234-5678 X123", TOKYO, "123"),
    ("+81 3 1234 5678 #123", TOKYO, "123"),
    ("03-1234-5678 内線：123", TOKYO, "123"),
    ("03-1234-5678\u3000内線１２３", TOKYO, "123"),
    # labels, remarks and second numbers around the number
    ("TEL: 03-1234-5678", TOKYO, None),
    ("TEL 03-1234-5678 (代表)", TOKYO, None),
    ("電話：03-1234-5678", TOKYO, None),
    ("03-1234-5678 / 090-1234-5678", TOKYO, None),
    ("03-1234-5678/090-1234-5678", TOKYO, None),
    ("03/1234/5678", TOKYO, None),
    ("Ｔｅｌ：０３－１２３４－５６７８", TOKYO, None),
    ("(+81) 3-1234-5678", TOKYO, None),
    ("+81 (0) 3 1234 5678", TOKYO, None),
    ("0081 (0)3 1234 5678", TOKYO, None),
    ("81 3 1234 5678", TOKYO, None),
    ("tel:0312345678", TOKYO, None),
    ("Mobile 2: 090-1234-5678", MOBILE, None),
    # mobile and toll free
    ("090-1234-5678", MOBILE, None),
    ("09012345678", MOBILE, None),
    ("+81 90-1234-5678", MOBILE, None),
    ("+81-(0)90-1234-5678", MOBILE, None),
    ("819012345678", MOBILE, None),
    ("０９０－１２３４－５６７８", MOBILE, None),
    ("0120-123-456", TOLL_FREE, None),
    ("0120-12-3456", TOLL_FREE, None),
    ("0120123456", TOLL_FREE, None),
    ("+81 120 123 456", TOLL_FREE, None),
    # United States
    ("+1 212-555-0123", NEW_YORK, None),
    ("+1 (212) 555-0123", NEW_YORK, None),
    ("+1.212.555.0123", NEW_YORK, None),
    ("12125550123", NEW_YORK, None),
    ("1-212-555-0123", NEW_YORK, None),
    ("010-1-212-555-0123", NEW_YORK, None),
    ("001-212-555-0123", NEW_YORK, None),
    ("+1 212 555 0123 x45", NEW_YORK, "45"),
    ("tel:+1-212-555-0123", NEW_YORK, None),
    # elsewhere
    ("+44 20 7946 0958", "+442079460958", None),
    ("0044 20 7946 0958", "+442079460958", None),
]


@pytest.mark.parametrize(("written", "e164", "extension"), FORMATS)
def test_written_number_parses_to_its_e164_and_extension(written, e164, extension):
    number = parse_caller(written, "JP")
    assert number is not None, written
    assert (number.e164, number.extension) == (e164, extension)


@pytest.mark.parametrize(("stored", "e164", "_extension"), FORMATS)
def test_every_stored_format_matches_the_caller_id_a_dialer_sends(stored, e164, _extension):
    assert same_caller(e164, stored, "JP")


def test_full_width_number_matches_hyphenated_stored_number():
    assert same_caller("０３－１２３４－５６７８", "03-1234-5678", "JP")


def test_bracketed_trunk_zero_is_dropped_after_the_country_code():
    number = parse_caller("+81 (0)3-1234-5678")
    assert number.national == "03-1234-5678"
    assert number.e164 == TOKYO


def test_parsed_number_offers_every_form_the_panel_shows():
    assert parse_caller("03-1234-5678 内線12", "JP") == PhoneNumber(
        e164=TOKYO, national="03-1234-5678", international="+81 3-1234-5678", national_digits="0312345678",
        region="JP", extension="12", is_valid=True)


def test_us_number_keeps_its_own_national_form_under_a_japanese_default():
    number = parse_caller("+1 212-555-0123", "JP")
    assert (number.national, number.national_digits, number.region) == ("(212) 555-0123", "2125550123", "US")


def test_default_region_decides_what_a_national_number_means():
    assert parse_caller("212-555-0123", "US").e164 == NEW_YORK
    assert parse_caller("03-1234-5678", "JP").e164 == TOKYO
    assert not same_caller("(212) 555-0123", NEW_YORK, "JP")


def test_possible_but_unlisted_number_is_accepted_and_marked_not_valid():
    number = parse_caller("091-234-5678", "JP")  # right length, but no such range in the metadata
    assert number is not None
    assert number.e164 == "+81912345678"
    assert number.is_valid is False


@pytest.mark.parametrize("garbage", [
    "12", "1234", "03-1234", "110", "12345678901234567890123", "0012", "+0312345678", "000-1234-5678",
    "call me maybe 42", "x123", "2024/05/01",
])
def test_garbage_is_not_a_caller(garbage):
    assert parse_caller(garbage, "JP") is None


@pytest.mark.parametrize("withheld", [
    None, "", " ", "\t\n", "　", "+", "0", "00000000000", "+000", "-", "()",
    "anonymous", "Anonymous", "ANONYMOUS", "Ａｎｏｎｙｍｏｕｓ", "private", "Private", "restricted", "RESTRICTED",
    "unknown", "Unknown", "unavailable", "withheld",
    "非通知", "公衆電話", "通知不可能", "表示圏外", " 非通知 ",
    "sip:anonymous@anonymous.invalid", "sip:Anonymous@192.0.2.1", '"Anonymous" <sip:anonymous@192.0.2.1>',
    "Anonymous <sip:anonymous@203.0.113.5;transport=udp>", "+266696687",
    "not a number", "N/A", "なし",
])
def test_withheld_or_missing_caller_id_is_recognised(withheld):
    assert is_withheld(withheld)
    assert parse_caller(withheld, "JP") is None


@pytest.mark.parametrize("number", [
    "03-1234-5678", "+81312345678", "sip:+81312345678@192.0.2.1", "tel:+81312345678", "12", "0120-123-456",
])
def test_real_caller_id_is_not_withheld(number):
    assert not is_withheld(number)


@pytest.mark.parametrize(("a", "b"), [
    ("03-1234-5678", "03-1234-5679"),  # one digit apart
    ("03-1234-5678", "06-1234-5678"),  # same subscriber digits, other area code
    ("03-1234-5678", "0120-345-678"),  # shares the last six digits
    ("03-1234-5678", "1234-5678"),  # the suffix alone
    ("090-1234-5678", "080-1234-5678"),
    ("+1 312-345-6780", "03-1234-5678"),
    ("+1 212-555-0123", "+81 212-555-0123"),  # US vs JP, same digits
    ("+1 212-555-0123", "212-555-0123"),  # under JP default the second is not a US number
    ("+44 20 7946 0958", "020 7946 0958"),
    ("03-1234-5678", "03-1234-5678-1"),
])
def test_different_numbers_are_not_the_same_caller(a, b):
    assert not same_caller(a, b, "JP")
    assert not same_caller(b, a, "JP")


def test_extensions_do_not_split_one_caller():
    assert same_caller("03-1234-5678 内線100", "03-1234-5678 ext. 200", "JP")


@pytest.mark.parametrize(("a", "b"), [("anonymous", "anonymous"), ("", ""), (None, None), ("非通知", "非通知")])
def test_two_withheld_callers_are_never_the_same_caller(a, b):
    assert not same_caller(a, b, "JP")


def test_same_caller_takes_parsed_numbers_too():
    assert same_caller(parse_caller("03-1234-5678"), "+81 3 1234 5678", "JP")


# -- SOSL ----------------------------------------------------------------------------------------------------------

def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def test_search_terms_for_a_tokyo_number_cover_each_written_digit_sequence():
    terms = search_terms(parse_caller("03-1234-5678"))
    assert terms == ["0312345678", "81312345678", "312345678", "810312345678", "0081312345678", "03-1234-5678",
                     "+81 3-1234-5678"]


@pytest.mark.parametrize(("stored", "reaching_term"), [
    ("03-1234-5678", "0312345678"),
    ("0312345678", "0312345678"),
    ("(03) 1234-5678", "0312345678"),
    ("０３－１２３４－５６７８", "0312345678"),
    ("+81 3-1234-5678", "81312345678"),
    ("+81312345678", "81312345678"),
    ("81312345678", "81312345678"),
    ("3-1234-5678", "312345678"),
    ("+81 (0)3-1234-5678", "810312345678"),
    ("0081-3-1234-5678", "0081312345678"),
])
def test_some_search_term_has_the_digits_of_each_stored_format(stored, reaching_term):
    """A phone index that keeps a field's digits run together finds the record through one of the terms."""
    terms = search_terms(parse_caller("03-1234-5678"))
    assert reaching_term in terms
    assert _digits(unicodedata.normalize("NFKC", stored)) == reaching_term


@pytest.mark.parametrize(("stored", "phrase"), [("03-1234-5678", "03-1234-5678"), ("+81 3-1234-5678", "+81 3-1234-5678")])
def test_search_terms_include_the_formatted_groups_for_token_indexes(stored, phrase):
    assert phrase in search_terms(parse_caller(stored))


def test_search_terms_for_a_us_number_skip_the_missing_trunk_prefix():
    assert search_terms(parse_caller("+1 212-555-0123")) == [
        "2125550123", "12125550123", "0012125550123", "(212) 555-0123", "+1 212-555-0123"]


def test_search_terms_never_include_the_extension():
    terms = search_terms(parse_caller("03-1234-5678 内線987"))
    assert not any("987" in term for term in terms)


def test_find_clause_quotes_each_term_and_escapes_hyphens():
    clause = sosl_find_clause(search_terms(parse_caller("03-1234-5678")))
    assert clause == ('{"0312345678" OR "81312345678" OR "312345678" OR "810312345678" OR "0081312345678" OR '
                      '"03\\-1234\\-5678" OR "\\+81 3\\-1234\\-5678"}')


def _unescaped(clause: str, char: str) -> int:
    """How many times `char` occurs in `clause` without a preceding escaping backslash."""
    count, escaped = 0, False
    for ch in clause:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == char:
            count += 1
    return count


@pytest.mark.parametrize("malicious", [
    '0312345678"} OR {"a',
    '} OR {*',
    '"} IN ALL FIELDS RETURNING User(Id, Username) //',
    "0312345678' OR '1'='1",
    "\\\"} OR {x",
    "a\\",
    "(03)*?~^[1]:&|!+-",
    "03\n1234\r5678\x00",
])
def test_a_hostile_term_cannot_break_out_of_its_phrase(malicious):
    clause = sosl_find_clause([malicious, "0312345678"])
    body = clause[1:-1]
    assert clause.startswith("{") and clause.endswith("}")
    assert _unescaped(body, "{") == 0 and _unescaped(body, "}") == 0
    assert _unescaped(body, '"') == 4  # exactly two phrases, each opened and closed
    assert " OR " in body and body.endswith('"0312345678"')
    for reserved in "&|!()[]^~*?:'+-":
        assert _unescaped(body, reserved) == 0, reserved
    assert not re.search(r"[\x00-\x1f]", clause)


def test_find_clause_with_nothing_to_search_is_an_error():
    with pytest.raises(ValueError, match="search terms"):
        sosl_find_clause(["", "  ", "\n"])


# -- display -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("written", "locale", "shown"), [
    ("03-1234-5678", "JP", "03-1234-5678"),
    ("03-1234-5678", "ja_JP", "03-1234-5678"),
    ("03-1234-5678", "ja", "03-1234-5678"),
    ("03-1234-5678", "en-US", "+81 3-1234-5678"),
    ("+1 212-555-0123", "JP", "+1 212-555-0123"),
    ("+1 212-555-0123", "US", "(212) 555-0123"),
    ("+1 212-555-0123", "en_US", "(212) 555-0123"),
    ("03-1234-5678 内線12", "JP", "03-1234-5678 ext. 12"),
    ("03-1234-5678", "not a locale", "+81 3-1234-5678"),
])
def test_display_is_national_at_home_and_international_abroad(written, locale, shown):
    assert display(parse_caller(written, "JP"), locale) == shown


# -- the recently-changed query's filter ------------------------------------------------------------------------------

def _like(pattern: str, value: str) -> bool:
    """SOQL LIKE as Salesforce applies it: % any run, _ one character, case-insensitive."""
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL) is not None


@pytest.mark.parametrize(("stored", "e164", "_extension"), FORMATS + [
    ("01 23 45 67 89", "+33123456789", None), ("01632 960 001", "+441632960001", None)])
def test_every_stored_format_passes_the_recent_changes_filter(stored, e164, _extension):
    patterns = recent_change_patterns(parse_caller(e164))
    assert any(_like(pattern, stored) for pattern in patterns), (stored, patterns)


@pytest.mark.parametrize("other", ["03-1234-5600", "090-8765-4321", "+1 212-555-0123"])
def test_the_recent_changes_filter_leaves_out_numbers_without_the_last_digits(other):
    assert not any(_like(pattern, other) for pattern in recent_change_patterns(parse_caller(TOKYO)))
