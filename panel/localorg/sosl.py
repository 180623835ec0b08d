"""The local org's SOSL engine: `search?q=FIND ...` and `parameterizedSearch`, over a modelled search index.

Supported: `FIND {terms}` (or `FIND 'terms'`), `IN ALL|NAME|EMAIL|PHONE FIELDS`, `RETURNING Obj(fields [WHERE ...]
[ORDER BY ...] [LIMIT n]), Obj2, ...` with parent paths and `toLabel(field)` in the field lists and SOQL's WHERE /
ORDER BY (see soql.py), and an overall `LIMIT n` (default 2000). Terms: words, "quoted phrases", AND, OR, AND NOT, parentheses
(AND binds tighter than OR; adjacent terms are ANDed), `*` and `?` wildcards after at least one character, and
backslash escapes of the reserved characters `& | ! ( ) { } [ ] ^ " ~ * ? : \\ ' + -`. Anything else (WITH ...,
SIDEBAR FIELDS, OFFSET, USING LISTVIEW, UPDATE TRACKING, toLabel() in WHERE) answers MALFORMED_SEARCH naming it.

The index model and where it comes from:
- Salesforce's SOSL reference (FIND {SearchQuery}): "The search engine splits record information separated by
  spaces or punctuation into separate tokens"; words are also delimited by changes from letters to digits; text
  searches are case-insensitive; a quoted phrase matches the words in order. So a stored `03-1234-5678` holds the
  tokens 03, 1234, 5678, and the term `03-1234-5678` (split the same way) matches them as a phrase.
- A Salesforce Stack Exchange answer on tokenization (questions/385493) observes that an alphanumeric word such as
  `blue1` is indexed whole as well as split; modelled as an extra whole-word token.
- Phone fields: Salesforce's own API sample searches phone fields with a digits-only number
  (`FIND {4155551212} IN PHONE FIELDS`), i.e. digits typed without punctuation find a formatted number. Modelled as
  one more token per phone value: all digits before an extension marker (内線, ext, x123, #), after NFKC
  normalisation (full-width digits count). Nothing beyond that is assumed: no trailing-digit or suffix matching,
  no knowledge of country codes or trunk prefixes. So stored `03-1234-5678` is found by `0312345678`,
  `03-1234-5678`, `1234-5678`, `5678`; stored `+81 3 1234 5678` by `81312345678`, `+81312345678`, `3 1234 5678`;
  and neither by the other's national/international form. `312345678` (national significant number) finds
  neither. The app must send the variants and verify candidates itself — which is what it has to do against a real
  org too.
- CJK: Salesforce uses morphological tokenization for East Asian text (earlier releases: bigrams). Modelled as
  substring matching inside CJK runs: `山田` finds `株式会社山田商事`. Slightly more generous than morphology.
- IN NAME FIELDS searches name fields (Name, FirstName, LastName) plus the extras Salesforce lists for the
  standard objects here (Account Website, Contact AssistantName, Lead Company, Task Subject); EMAIL FIELDS the
  email fields; PHONE FIELDS the phone fields; ALL FIELDS every text, email, phone and URL field (not picklists).
- Index lag: a record is searchable only once `_changed_at + search_lag_s <= now`; edits re-hide it until then.
- Results come grouped in RETURNING order; inside one object, in ORDER BY order if given, else in store order
  (Salesforce ranks by relevance, which the local org does not model).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional

from . import schema, search_text
from .errors import ApiError, malformed_search
from .soql import Engine, FieldRef, OrderItem, Parser, Path, resolve_path
from .soql_lexer import located, tokenize

DEFAULT_OVERALL_LIMIT = 2000
_SCOPES = ("ALL", "NAME", "EMAIL", "PHONE")
_ALL_TYPES = frozenset({"string", "textarea", "phone", "email", "url", "combobox"})
_NAME_EXTRAS = {"Account": ("Website",), "Contact": ("AssistantName",), "Lead": ("Company",), "Task": ("Subject",)}
_UNSUPPORTED_PARAMETERS = ("dataCategory", "dataCategories", "division", "metadata", "netWorkIds", "pricebookId",
                           "snippet", "highlight", "updateTracking", "updateViewStat", "offset")


# -- search expressions ------------------------------------------------------------------------------------------

@dataclass
class Term:
    tokens: list[search_text.QueryToken]


@dataclass
class Operation:
    op: str  # AND, OR, ANDNOT
    left: object
    right: object


def parse_terms(text: str) -> object:
    """The boolean tree of a FIND expression (the text inside the braces)."""
    items = _lex_terms(text)
    if not items:
        raise malformed_search("No search term found. The search term must be enclosed in braces.")
    letters = sum(len(token.text) for item in items if isinstance(item, Term) for token in item.tokens)
    if letters < 2:
        raise malformed_search("search term must be longer than one character")
    position = [0]

    def peek():
        return items[position[0]] if position[0] < len(items) else None

    def take():
        position[0] += 1
        return items[position[0] - 1]

    def expression():
        node = conjunction()
        while peek() == "OR":
            take()
            node = Operation("OR", node, conjunction())
        return node

    def conjunction():
        node = operand()
        while peek() not in (None, "OR", ")"):
            op = "AND"
            if peek() == "AND":
                take()
                if peek() == "NOT":
                    take()
                    op = "ANDNOT"
            node = Operation(op, node, operand())
        return node

    def operand():
        item = take() if peek() is not None else None
        if item == "(":
            inner = expression()
            if peek() != ")":
                raise malformed_search("unbalanced parentheses in the search expression")
            take()
            return inner
        if isinstance(item, Term):
            return item
        shown = item if item is not None else "end of the search term"
        raise malformed_search(f"unexpected '{shown}' in the search expression")

    tree = expression()
    if peek() is not None:
        raise malformed_search(f"unexpected '{peek()}' in the search expression")
    return tree


def _lex_terms(text: str) -> list:
    items: list = []
    chars: list[tuple[str, bool]] = []
    plain: list[str] = []

    def close() -> None:
        if not chars:
            return
        word = "".join(plain)
        if word.upper() in ("AND", "OR", "NOT") and len(plain) == len(chars) and not escaped_any[0]:
            items.append(word.upper())
        else:
            items.append(_term(chars))
        chars.clear()
        plain.clear()
        escaped_any[0] = False

    escaped_any = [False]
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            chars.append((text[index + 1], False))
            plain.append(text[index + 1])
            escaped_any[0] = True
            index += 2
            continue
        if char.isspace():
            close()
        elif char in "()":
            close()
            items.append(char)
        elif char == '"':
            close()
            end = index + 1
            phrase: list[tuple[str, bool]] = []
            while end < len(text) and text[end] != '"':
                if text[end] == "\\" and end + 1 < len(text):
                    phrase.append((text[end + 1], False))
                    end += 2
                    continue
                phrase.append((text[end], text[end] in search_text.WILDCARDS))
                end += 1
            if end >= len(text):
                raise malformed_search("unbalanced quotes in the search expression")
            items.append(_term(phrase))
            index = end + 1
            continue
        else:
            chars.append((char, char in search_text.WILDCARDS))
            plain.append(char)
        index += 1
    close()
    return [item for item in items if not (isinstance(item, Term) and not item.tokens)]


def _term(chars: list[tuple[str, bool]]) -> Term:
    try:
        return Term(search_text.query_tokens(chars))
    except ValueError:
        shown = "".join(c for c, _ in chars)
        raise malformed_search(f"wildcards cannot start a search term: '{shown}'") from None


def _holds(tree: object, values: list[search_text.IndexedValue]) -> bool:
    if isinstance(tree, Term):
        return any(search_text.sequence_matches(tree.tokens, value) for value in values)
    if tree.op == "OR":
        return _holds(tree.left, values) or _holds(tree.right, values)
    if tree.op == "AND":
        return _holds(tree.left, values) and _holds(tree.right, values)
    return _holds(tree.left, values) and not _holds(tree.right, values)


# -- what is returned --------------------------------------------------------------------------------------------

@dataclass
class Returning:
    obj: schema.SObjectType
    items: list[FieldRef] = field(default_factory=list)
    where: object = None
    order: list[OrderItem] = field(default_factory=list)
    limit: Optional[int] = None
    source: str = ""


@dataclass
class Search:
    terms: object
    scope: str = "ALL"
    returning: list[Returning] = field(default_factory=list)
    limit: int = DEFAULT_OVERALL_LIMIT


def _searchable(name: str, source: str, pos: int) -> schema.SObjectType:
    obj = schema.get_sobject(name)
    if obj is None or not obj.readable:  # an object the user may not read is, to the user, not there
        raise ApiError(400, "INVALID_TYPE", located(source, pos, f"sObject type '{name}' is not supported."))
    if not obj.searchable:
        raise ApiError(400, "INVALID_TYPE_FOR_OPERATION", located(
            source, pos, f"entity type {obj.name} does not support search"))
    return obj


class _SoslParser(Parser):
    """The clauses after FIND {...}: IN ... FIELDS, RETURNING ..., LIMIT."""

    def clauses(self, search: Search) -> None:
        if self.peek().is_word("IN"):
            self.advance()
            scope = self.expect("NAME")
            if scope.text.upper() == "SIDEBAR":
                raise self.unsupported(scope, "IN SIDEBAR FIELDS")
            if scope.text.upper() not in _SCOPES:
                raise self.unexpected(scope, "expecting ALL, NAME, EMAIL or PHONE")
            self.expect_word("FIELDS")
            search.scope = scope.text.upper()
        if self.peek().is_word("RETURNING"):
            self.advance()
            search.returning.append(self.returning())
            while self.peek().kind == "COMMA":
                self.advance()
                search.returning.append(self.returning())
        self.refuse()
        if self.peek().is_word("LIMIT"):
            self.advance()
            search.limit = self.integer()
        self.refuse()
        if self.peek().kind != "EOF":
            raise self.unexpected(self.peek())

    def refuse(self) -> None:
        token = self.peek()
        for word, what in (("WITH", "WITH clauses (WITH SNIPPET, HIGHLIGHT, SPELL_CORRECTION, METADATA ...)"),
                           ("UPDATE", "UPDATE TRACKING / UPDATE VIEWSTAT"), ("OFFSET", "OFFSET"),
                           ("ORDER", "ORDER BY outside RETURNING"), ("USING", "USING LISTVIEW")):
            if token.is_word(word):
                raise self.unsupported(token, what)

    def returning(self) -> Returning:
        name = self.expect("NAME")
        spec = Returning(_searchable(name.text, self.source, name.pos), source=self.source)
        if self.peek().kind != "LPAREN":
            return spec
        self.advance()
        spec.items.append(self.search_field())
        while self.peek().kind == "COMMA":
            self.advance()
            spec.items.append(self.search_field())
        if self.peek().is_word("WHERE"):
            self.advance()
            spec.where = self.condition()
        if self.peek().is_word("ORDER"):
            self.advance()
            self.expect_word("BY")
            spec.order = self.order_items()
        if self.peek().is_word("LIMIT"):
            self.advance()
            spec.limit = self.integer()
        self.refuse()
        self.expect("RPAREN")
        return spec

    def search_field(self) -> FieldRef:
        token = self.peek()
        if token.is_word("TOLABEL") and self.peek(1).kind == "LPAREN":
            return self.to_label()  # SOQL and SOSL Reference, "toLabel(fields)" in RETURNING
        if token.kind == "NAME" and self.peek(1).kind == "LPAREN":
            raise self.unsupported(token, f"the function {token.text}()")
        if token.kind == "LPAREN":
            raise self.unsupported(token, "a subquery in RETURNING")
        return self.field_path()


def parse(text: str) -> Search:
    stripped = text.lstrip()
    if stripped[:4].upper() != "FIND" or (len(stripped) > 4 and not (stripped[4].isspace() or stripped[4] in "{'")):
        raise malformed_search("unexpected token: a search starts with FIND")
    offset = len(text) - len(stripped) + 4
    while offset < len(text) and text[offset].isspace():
        offset += 1
    if offset >= len(text) or text[offset] not in "{'":
        raise malformed_search("No search term found. The search term must be enclosed in braces.")
    terms_text, rest_start = _search_text(text, offset)
    search = Search(terms=parse_terms(terms_text))
    tokens = tokenize(text[rest_start:], error_code="MALFORMED_SEARCH")
    for token in tokens:
        token.pos += rest_start
    parser = _SoslParser(text, tokens, error_code="MALFORMED_SEARCH")
    parser.clauses(search)
    return search


def _search_text(text: str, start: int) -> tuple[str, int]:
    """The expression inside {...} (escapes kept for parse_terms) or '...' (escapes decoded), and where it ends."""
    closing = "}" if text[start] == "{" else "'"
    chars: list[str] = []
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            following = text[index + 1]
            if closing == "'" and following in ("'", "\\"):
                chars.append(following if following == "'" else "\\\\")
            else:
                chars.append(char + following)
            index += 2
            continue
        if char == closing:
            return "".join(chars), index + 1
        chars.append(char)
        index += 1
    raise malformed_search("No search term found. The search term must be enclosed in braces."
                           if closing == "}" else "unbalanced quotes around the search term")


# -- running a search --------------------------------------------------------------------------------------------

def _epoch(now) -> float:
    return now.timestamp() if isinstance(now, datetime) else float(now)


def _fields_in_scope(obj: schema.SObjectType, scope: str) -> list[schema.Field]:
    if scope == "PHONE":
        return obj.phone_fields
    if scope == "EMAIL":
        return [f for f in obj.visible_fields() if f.type == "email"]
    if scope == "NAME":
        extras = {name.lower() for name in _NAME_EXTRAS.get(obj.name, ())}
        return [f for f in obj.visible_fields()
                if f.name_field or f.name in ("Name", "FirstName", "LastName") or f.name.lower() in extras]
    return [f for f in obj.visible_fields() if f.type in _ALL_TYPES]


def execute(search: Search, store, *, api_version: str, now, search_lag_s: float, tz) -> list[dict]:
    visible_until = _epoch(now) - float(search_lag_s)
    specs = search.returning or [Returning(obj) for obj in schema.SOBJECTS.values()
                                 if obj.searchable and obj.queryable and obj.readable]
    found: list[dict] = []
    for spec in specs:
        engine = Engine(spec.source, store, api_version=api_version, now=now, tz=tz,
                        error_code="MALFORMED_SEARCH")
        paths: list[Path] = engine.field_paths(spec.obj, spec.items) if spec.items else \
            [resolve_path(spec.obj, FieldRef(["Id"], 0), spec.source)]
        test = engine.compile(spec.obj, spec.where) if spec.where is not None else None
        searched = _fields_in_scope(spec.obj, search.scope)
        rows = []
        for row in engine.rows(spec.obj):
            if row.get("_changed_at", 0) > visible_until:
                continue
            values = [search_text.index_value(str(row[f.name]), phone=f.type == "phone")
                      for f in searched if row.get(f.name) not in (None, "")]
            if values and _holds(search.terms, values) and (test is None or test(row)):
                rows.append(row)
        rows = engine.sort(spec.obj, rows, spec.order)
        if spec.limit is not None:
            rows = rows[:spec.limit]
        shape = engine.shaper(spec.obj, paths)
        found.extend(shape(row) for row in rows)
    return found[:search.limit]


def run_search(sosl: str, store, *, api_version: str = "62.0", now, search_lag_s: float, tz) -> list[dict]:
    """The `searchRecords` of one SOSL search. Raises ApiError (MALFORMED_SEARCH, INVALID_FIELD, INVALID_TYPE)."""
    return execute(parse(sosl), store, api_version=api_version, now=now, search_lag_s=search_lag_s, tz=tz)


# -- parameterizedSearch -----------------------------------------------------------------------------------------

def _text_list(value: object, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return [part.strip() for part in value if part.strip()]
    raise malformed_search(f"{what} must be a comma-separated string or a list of strings")


def _count(value: object, what: str) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool):
        raise malformed_search(f"{what} must be a non-negative integer")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise malformed_search(f"{what} must be a non-negative integer") from None
    if number < 0:
        raise malformed_search(f"{what} must be a non-negative integer")
    return number


def _spec_parts(names: list[str], where: object, obj: schema.SObjectType) -> tuple[list[FieldRef], object, str]:
    """Fields and where parsed from one source text, so error positions point into what the caller sent."""
    if where is not None and (not isinstance(where, str) or not where.strip()):
        raise malformed_search(f"where for {obj.name} must be a non-empty string")
    source = ", ".join(names) + (f" WHERE {where}" if where is not None else "")
    parser = _SoslParser(source, tokenize(source, error_code="MALFORMED_SEARCH"), error_code="MALFORMED_SEARCH")
    refs: list[FieldRef] = []
    while names and parser.peek().kind not in ("EOF",) and not parser.peek().is_word("WHERE"):
        refs.append(parser.search_field())
        if parser.peek().kind == "COMMA":
            parser.advance()
        elif parser.peek().kind != "EOF" and not parser.peek().is_word("WHERE"):
            raise parser.unexpected(parser.peek(), f"in the fields of {obj.name}")
    condition = None
    if where is not None:
        parser.expect_word("WHERE")
        condition = parser.condition()
        if parser.peek().kind != "EOF":
            raise parser.unexpected(parser.peek())
    return refs, condition, source


def build_parameterized(params: dict) -> Search:
    if not isinstance(params, dict):
        raise malformed_search("The parameterized search body must be a JSON object")
    for name in _UNSUPPORTED_PARAMETERS:
        if name in params:
            raise malformed_search(f"the parameter '{name}' is not supported by the local org")
    q = params.get("q")
    if not isinstance(q, str) or not q.strip():
        raise malformed_search("The q parameter (the search string) is required")
    search = Search(terms=parse_terms(q))
    scope = params.get("in", "ALL")
    if not isinstance(scope, str) or scope.upper() not in _SCOPES:
        raise malformed_search("in must be one of ALL, NAME, EMAIL, PHONE")
    search.scope = scope.upper()
    overall = _count(params.get("overallLimit"), "overallLimit")
    search.limit = DEFAULT_OVERALL_LIMIT if overall is None else overall
    default_limit = _count(params.get("defaultLimit"), "defaultLimit")
    default_fields = _text_list(params.get("fields"), "fields")

    wanted = params.get("sobjects")
    if wanted is None and "sobject" in params:  # the GET form: sobject=Contact&Contact.fields=...&Contact.limit=...
        wanted = [{"name": name, "fields": params.get(f"{name}.fields"), "limit": params.get(f"{name}.limit"),
                   **({"where": params[f"{name}.where"]} if f"{name}.where" in params else {})}
                  for name in _text_list(params["sobject"], "sobject")]
    if wanted is None:
        wanted = [{"name": obj.name} for obj in schema.SOBJECTS.values()
                  if obj.searchable and obj.queryable and obj.readable]
    if not isinstance(wanted, list) or not all(isinstance(entry, dict) for entry in wanted):
        raise malformed_search("sobjects must be a list of objects with a name")
    for entry in wanted:
        name = entry.get("name")
        if not isinstance(name, str):
            raise malformed_search("each entry of sobjects needs a name")
        spec = Returning(_searchable(name, name, 0))
        names = _text_list(entry.get("fields"), f"{name}.fields") or default_fields
        spec.items, spec.where, spec.source = _spec_parts(names, entry.get("where"), spec.obj)
        limit = _count(entry.get("limit"), f"{name}.limit")
        spec.limit = limit if limit is not None else default_limit
        search.returning.append(spec)
    return search


def run_parameterized_search(params: dict, store, *, api_version: str = "62.0", now, search_lag_s: float,
                             tz) -> list[dict]:
    """The `searchRecords` of a parameterizedSearch request (POST body or GET query parameters as a dict)."""
    return execute(build_parameterized(params), store, api_version=api_version, now=now,
                   search_lag_s=search_lag_s, tz=tz)

