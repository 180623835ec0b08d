"""Tokens of SOQL (and of the clauses SOSL borrows from it): what the local org's query parsers read.

Keywords are not told apart from names here: SOQL lets most keywords double as field names, so the parser decides
by position. String literals are decoded with the escapes Salesforce defines (`\\' \\" \\\\ \\n \\r \\t \\b \\f`
and LIKE's `\\% \\_`); the positions of escaped `%` and `_` are kept so that LIKE can treat them as literal text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import ApiError

_ESCAPES = {"'": "'", '"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2}))?(?![\w:.])")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?![\w.])")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = ("!=", "<>", "<=", ">=", "=", "<", ">")
_PUNCTUATION = {"(": "LPAREN", ")": "RPAREN", ",": "COMMA", ".": "DOT", ":": "COLON"}


@dataclass
class Token:
    kind: str  # NAME, STRING, NUMBER, DATE, DATETIME, OP, LPAREN, RPAREN, COMMA, DOT, COLON, EOF
    text: str
    pos: int
    value: object = None
    literal_wildcards: frozenset[int] = field(default_factory=frozenset)

    def is_word(self, *words: str) -> bool:
        return self.kind == "NAME" and self.text.upper() in words


def located(source: str, pos: int, message: str) -> str:
    """Salesforce's way of pointing at a query error: the line, a caret, row and column, then the message."""
    before = source[:pos]
    row = before.count("\n") + 1
    line_start = before.rfind("\n") + 1
    line_end = source.find("\n", pos)
    line = source[line_start:line_end if line_end >= 0 else len(source)]
    column = pos - line_start + 1
    return f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{message}"


def tokenize(source: str, *, error_code: str = "MALFORMED_QUERY") -> list[Token]:
    tokens: list[Token] = []
    pos, length = 0, len(source)

    def fail(at: int, message: str) -> ApiError:
        return ApiError(400, error_code, located(source, at, message))

    while pos < length:
        char = source[pos]
        if char.isspace():
            pos += 1
            continue
        if char == "'":
            token, pos = _string(source, pos, fail)
            tokens.append(token)
            continue
        if char.isdigit() or (char in "+-." and pos + 1 < length and (source[pos + 1].isdigit()
                                                                     or source[pos + 1] == ".")):
            stamp = _DATETIME.match(source, pos)
            if stamp:
                text = stamp.group(0)
                tokens.append(Token("DATETIME" if "T" in text else "DATE", text, pos))
                pos = stamp.end()
                continue
            number = _NUMBER.match(source, pos)
            if not number:
                raise fail(pos, f"unexpected token: '{_word_at(source, pos)}'")
            tokens.append(Token("NUMBER", number.group(0), pos, float(number.group(0))))
            pos = number.end()
            continue
        name = _NAME.match(source, pos)
        if name:
            tokens.append(Token("NAME", name.group(0), pos))
            pos = name.end()
            continue
        operator = next((op for op in _OPERATORS if source.startswith(op, pos)), None)
        if operator:
            tokens.append(Token("OP", operator, pos))
            pos += len(operator)
            continue
        if char in _PUNCTUATION:
            tokens.append(Token(_PUNCTUATION[char], char, pos))
            pos += 1
            continue
        if char == '"':
            raise fail(pos, "unexpected token: '\"' (string literals take single quotes)")
        raise fail(pos, f"unexpected token: '{char}'")
    tokens.append(Token("EOF", "", length))
    return tokens


def _word_at(source: str, pos: int) -> str:
    found = re.match(r"\S+", source[pos:])
    return found.group(0) if found else source[pos:pos + 1]


def _string(source: str, start: int, fail) -> tuple[Token, int]:
    chars: list[str] = []
    literal_wildcards: set[int] = set()
    pos = start + 1
    while pos < len(source):
        char = source[pos]
        if char == "'":
            return Token("STRING", source[start:pos + 1], start, "".join(chars), frozenset(literal_wildcards)), pos + 1
        if char == "\\":
            if pos + 1 >= len(source):
                break
            escaped = source[pos + 1]
            if escaped in ("%", "_"):
                literal_wildcards.add(len(chars))
                chars.append(escaped)
            elif escaped in _ESCAPES:
                chars.append(_ESCAPES[escaped])
            else:
                raise fail(pos, f"Invalid string literal '{source[start:pos + 2]}'. Illegal character sequence "
                                f"'\\{escaped}' in string literal.")
            pos += 2
            continue
        chars.append(char)
        pos += 1
    raise fail(start, "line 1:{}: mismatched character '<EOF>' expecting '''".format(start))
