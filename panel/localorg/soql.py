"""The local org's SOQL engine: a tokenizer and recursive-descent parser for the subset the panel uses, evaluated in
Python over the store's rows, answering in the REST API's record shape.

Supported: field lists with parent paths (`Account.Owner.Name`; polymorphic `Who`/`What` only with the fields in
`schema.POLYMORPHIC_PARENT_FIELDS`, their attributes typed "Name" as Salesforce does), child subqueries through the
schema's child relationships with their own WHERE / ORDER BY / LIMIT, `COUNT()`, WHERE with `= != <> < <= > >= LIKE
IN NOT IN AND OR NOT` and parentheses, semi-joins and anti-joins on id fields (`Id IN (SELECT WhoId FROM Task ...)`,
never under OR: "Semi join sub-selects are not allowed with the 'OR' operator", as Salesforce answers),
null, booleans, numbers, strings with every escape `simple_salesforce.format_soql` produces, dates, datetimes with
`Z` or `+hh:mm` offsets, relative date literals (see `soql_dates`), ORDER BY on several fields and parent paths
with ASC/DESC and NULLS FIRST/LAST, LIMIT, OFFSET. Everything else answers `MALFORMED_QUERY` naming it.

Salesforce rules modelled, with their sources in Salesforce's SOQL and object references:
- Names are case-insensitive; text comparisons (=, LIKE, IN, ordering) are case-insensitive; an id matches in its
  15- or 18-character form. `!=` and `NOT IN` also match null values, as SOQL does.
- Mixing AND and OR without parentheses is refused; a date literal cannot filter a datetime field and vice versa
  ("value of filter criterion for field ... must be of type ..."); long text areas cannot be filtered or sorted;
  ORDER BY defaults to NULLS FIRST ascending and NULLS LAST descending; picklists sort in their defined order;
  OFFSET is at most 2000 (`NUMBER_OUTSIDE_VALID_RANGE`); an id literal that is no id answers
  `INVALID_QUERY_FILTER_OPERATOR` "invalid ID field".
- OpenActivity / ActivityHistory are views over Tasks (open = IsClosed false, history = IsClosed true), not
  queryable at top level ("entity type OpenActivity does not support query"). As subqueries they follow the rules the
  OpenActivity / ActivityHistory object reference gives for users without "View All Data" (the panel's agents): the
  outer query names one record (`WHERE Id = '...'`), the subquery has no WHERE, a LIMIT of 499 or fewer is required,
  and ORDER BY, if given, is ActivityDate ASC (OpenActivities) or DESC (ActivityHistories) then LastModifiedDate
  DESC, which is also the order used when ORDER BY is left out. So a query that works here works for every user of
  a real org.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone, tzinfo
from typing import Callable, Optional, Union
from zoneinfo import ZoneInfo

from . import (activity_archive, formats, ids, labels, org_shape, person_accounts, schema, shared_activities,
               soql_dates, task_statuses)
from .errors import ApiError
from .soql_lexer import Token, located, tokenize

MAX_OFFSET = 2000
ACTIVITY_VIEW_MAX_LIMIT = 499
_AGGREGATES = ("COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX", "GROUPING")
_CLAUSE_WORDS = ("WHERE", "WITH", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "FOR", "UPDATE", "ALL", "USING")
_TEXT = schema.TEXT_TYPES - {"id", "reference"}
_POLYMORPHIC_TYPES = {"Id": "id", "Email": "email", "Phone": "phone", "IsActive": "boolean"}
_TYPE_NAMES = {"boolean": "boolean", "int": "integer", "double": "double", "currency": "double",
               "percent": "double", "date": "date", "datetime": "dateTime"}


# -- syntax tree -------------------------------------------------------------------------------------------------

@dataclass
class FieldRef:
    path: list[str]
    pos: int
    translate: bool = False  # toLabel(path): the label in the user's language (labels.py)
    alias: Optional[str] = None


@dataclass
class Literal:
    kind: str  # string, number, date, datetime, boolean, null, range
    value: object
    pos: int
    literal_wildcards: frozenset[int] = frozenset()
    n: Optional[int] = None


@dataclass
class Compare:
    ref: FieldRef
    op: str  # = != < <= > >= LIKE
    value: Literal


@dataclass
class InList:
    ref: FieldRef
    negated: bool
    values: list[Literal]
    subquery: Optional["Query"] = None


@dataclass
class BoolOp:
    op: str  # AND, OR
    items: list


@dataclass
class Not:
    item: object


Condition = Union[Compare, InList, BoolOp, Not]


@dataclass
class OrderItem:
    ref: FieldRef
    descending: bool = False
    nulls_first: Optional[bool] = None


@dataclass
class Subquery:
    query: "Query"
    pos: int


@dataclass
class Query:
    items: list  # FieldRef | Subquery | "COUNT"
    sobject: str
    sobject_pos: int
    where: Optional[Condition] = None
    order: list[OrderItem] = field(default_factory=list)
    limit: Optional[int] = None
    limit_pos: int = 0
    offset: Optional[int] = None
    offset_pos: int = 0
    select_pos: int = 0


@dataclass
class QueryResult:
    sobject: str
    total_size: int
    records: list[dict]


# -- parser ------------------------------------------------------------------------------------------------------

class Parser:
    """Recursive descent over the tokens; `error_code` is MALFORMED_QUERY for SOQL, MALFORMED_SEARCH for SOSL."""

    def __init__(self, source: str, tokens: list[Token], error_code: str = "MALFORMED_QUERY") -> None:
        self.source = source
        self.tokens = tokens
        self.index = 0
        self.error_code = error_code

    # token helpers
    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.peek()
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def error(self, token: Token, message: str) -> ApiError:
        return ApiError(400, self.error_code, located(self.source, token.pos, message))

    def unexpected(self, token: Token, why: str = "") -> ApiError:
        shown = token.text if token.kind != "EOF" else "<EOF>"
        return self.error(token, f"unexpected token: '{shown}'" + (f" ({why})" if why else ""))

    def unsupported(self, token: Token, what: str) -> ApiError:
        return self.error(token, f"{what} is not supported by the local org")

    def expect_word(self, *words: str) -> Token:
        token = self.peek()
        if not token.is_word(*words):
            raise self.unexpected(token, f"expecting {' or '.join(words)}")
        return self.advance()

    def expect(self, kind: str) -> Token:
        token = self.peek()
        if token.kind != kind:
            raise self.unexpected(token)
        return self.advance()

    # query
    def query(self, *, nested: Optional[str] = None) -> Query:
        """SELECT ... FROM ...; `nested` is None at top level, "child" or "semijoin" inside parentheses."""
        select = self.expect_word("SELECT")
        items = [self.select_item(nested)]
        while self.peek().kind == "COMMA":
            self.advance()
            items.append(self.select_item(nested))
        self.expect_word("FROM")
        name_token = self.expect("NAME")
        query = Query(items=items, sobject=name_token.text, sobject_pos=name_token.pos, select_pos=select.pos)
        following = self.peek()
        if following.kind == "COMMA":
            raise self.unsupported(following, "querying several objects in FROM")
        if following.kind == "NAME" and not following.is_word(*_CLAUSE_WORDS):
            raise self.unsupported(following, "an object alias in FROM")
        if following.is_word("USING"):
            raise self.unsupported(following, "USING SCOPE")
        if self.peek().is_word("WHERE"):
            self.advance()
            query.where = self.condition()
        self.refuse_clauses()
        if self.peek().is_word("ORDER"):
            self.advance()
            self.expect_word("BY")
            query.order = self.order_items()
        self.refuse_clauses()
        if self.peek().is_word("LIMIT"):
            query.limit_pos = self.advance().pos
            query.limit = self.integer()
        if self.peek().is_word("OFFSET"):
            query.offset_pos = self.advance().pos
            query.offset = self.integer()
        self.refuse_clauses()
        end = self.peek()
        if nested and end.kind != "RPAREN":
            raise self.unexpected(end)
        if not nested and end.kind != "EOF":
            raise self.unexpected(end)
        return query

    def refuse_clauses(self) -> None:
        token = self.peek()
        named = {"WITH": "WITH clauses (WITH SECURITY_ENFORCED, USER_MODE, DATA CATEGORY ...)",
                 "GROUP": "GROUP BY", "HAVING": "HAVING", "FOR": "FOR VIEW / FOR REFERENCE / FOR UPDATE",
                 "UPDATE": "UPDATE TRACKING / UPDATE VIEWSTAT", "ALL": "ALL ROWS", "USING": "USING SCOPE"}
        for word, what in named.items():
            if token.is_word(word):
                raise self.unsupported(token, what)

    def integer(self) -> int:
        token = self.peek()
        if token.kind == "COLON":
            raise self.unsupported(token, "a bind variable (Apex only)")
        if token.kind != "NUMBER" or not token.text.isdigit():
            raise self.unexpected(token, "expecting a non-negative integer")
        self.advance()
        return int(token.text)

    def select_item(self, nested: Optional[str]):
        token = self.peek()
        if token.kind == "LPAREN":
            if nested:
                raise self.unsupported(token, "a subquery inside a subquery")
            self.advance()
            inner = self.query(nested="child")
            self.expect("RPAREN")
            return Subquery(inner, token.pos)
        if token.kind != "NAME":
            raise self.unexpected(token)
        if token.is_word("TYPEOF"):
            raise self.unsupported(token, "TYPEOF")
        if self.peek(1).kind == "LPAREN":
            return self.function_item(token)
        ref = self.field_path()
        after = self.peek()
        if after.kind == "NAME" and not after.is_word("FROM"):
            raise self.unsupported(after, "a field alias")
        return ref

    def to_label(self) -> FieldRef:
        """`toLabel(field) [alias]`, the alias "required when the query includes the same field multiple times"
        (SOQL and SOSL Reference, toLabel()); parsed where a field may stand in a SELECT or RETURNING list."""
        self.advance(), self.advance()
        ref = self.field_path()
        self.expect("RPAREN")
        ref.translate = True
        after = self.peek()
        if after.kind == "NAME" and not after.is_word("FROM", *_CLAUSE_WORDS):
            ref.alias = self.advance().text
        return ref

    def function_item(self, token: Token):
        name = token.text.upper()
        if name == "TOLABEL":
            return self.to_label()
        if name == "COUNT" and self.peek(2).kind == "RPAREN":
            self.advance(), self.advance(), self.advance()
            return "COUNT"
        if name == "FIELDS":
            raise self.unsupported(token, "FIELDS()")
        if name in _AGGREGATES:
            raise self.unsupported(token, f"the aggregate function {token.text}() (only COUNT() is)")
        raise self.unsupported(token, f"the function {token.text}()")

    def field_path(self) -> FieldRef:
        first = self.expect("NAME")
        path = [first.text]
        while self.peek().kind == "DOT":
            self.advance()
            path.append(self.expect("NAME").text)
        return FieldRef(path, first.pos)

    def order_items(self) -> list[OrderItem]:
        items = []
        while True:
            token = self.peek()
            if token.is_word("TOLABEL") and self.peek(1).kind == "LPAREN":
                raise self.error(token, "toLabel() cannot be used in ORDER BY: the picklist's defined order always "
                                        "applies")
            if token.kind == "NAME" and self.peek(1).kind == "LPAREN":
                raise self.unsupported(token, f"ORDER BY {token.text}()")
            item = OrderItem(self.field_path())
            if self.peek().is_word("ASC", "DESC"):
                item.descending = self.advance().text.upper() == "DESC"
            if self.peek().is_word("NULLS"):
                self.advance()
                item.nulls_first = self.expect_word("FIRST", "LAST").text.upper() == "FIRST"
            items.append(item)
            if self.peek().kind != "COMMA":
                return items
            self.advance()

    # conditions
    def condition(self) -> Condition:
        items = [self.unary()]
        joiner = None
        while self.peek().is_word("AND", "OR"):
            token = self.advance()
            word = token.text.upper()
            if joiner and word != joiner:
                raise self.unexpected(token, "mixing AND and OR needs parentheses")
            joiner = word
            items.append(self.unary())
        return BoolOp(joiner, items) if joiner else items[0]

    def unary(self) -> Condition:
        token = self.peek()
        if token.is_word("NOT"):
            self.advance()
            return Not(self.unary())
        if token.kind == "LPAREN":
            self.advance()
            inner = self.condition()
            self.expect("RPAREN")
            return inner
        return self.comparison()

    def comparison(self) -> Condition:
        token = self.peek()
        if token.kind == "NAME" and self.peek(1).kind == "LPAREN":
            raise self.unsupported(token, f"the function {token.text}() in WHERE")
        if token.kind != "NAME":
            raise self.unexpected(token)
        ref = self.field_path()
        operator = self.peek()
        if operator.kind == "OP":
            self.advance()
            op = "!=" if operator.text == "<>" else operator.text
            return Compare(ref, op, self.literal())
        if operator.is_word("LIKE"):
            self.advance()
            value = self.literal()
            if value.kind != "string":
                raise self.error(self.tokens[self.index - 1], "LIKE needs a string literal")
            return Compare(ref, "LIKE", value)
        if operator.is_word("IN"):
            self.advance()
            return self.in_list(ref, negated=False)
        if operator.is_word("NOT"):
            self.advance()
            self.expect_word("IN")
            return self.in_list(ref, negated=True)
        if operator.is_word("INCLUDES", "EXCLUDES"):
            raise self.unsupported(operator, operator.text.upper())
        raise self.unexpected(operator)

    def in_list(self, ref: FieldRef, *, negated: bool) -> InList:
        if self.peek().kind == "COLON":
            raise self.unsupported(self.peek(), "a bind variable (Apex only)")
        self.expect("LPAREN")
        if self.peek().is_word("SELECT"):
            inner = self.query(nested="semijoin")
            self.expect("RPAREN")
            return InList(ref, negated, [], inner)
        values = [self.literal()]
        while self.peek().kind == "COMMA":
            self.advance()
            values.append(self.literal())
        self.expect("RPAREN")
        return InList(ref, negated, values)

    def literal(self) -> Literal:
        token = self.advance()
        if token.kind == "STRING":
            return Literal("string", token.value, token.pos, token.literal_wildcards)
        if token.kind == "NUMBER":
            return Literal("number", token.value, token.pos)
        if token.kind == "DATE":
            return Literal("date", formats.parse_date(token.text), token.pos)
        if token.kind == "DATETIME":
            return Literal("datetime", formats.parse_datetime(token.text), token.pos)
        if token.kind == "COLON":
            raise self.unsupported(token, "a bind variable (Apex only)")
        if token.kind == "NAME":
            word = token.text.upper()
            if word == "NULL":
                return Literal("null", None, token.pos)
            if word in ("TRUE", "FALSE"):
                return Literal("boolean", word == "TRUE", token.pos)
            literal_kind = soql_dates.kind(word)
            if literal_kind == "fiscal":
                raise self.unsupported(token, f"the fiscal date literal {word}")
            if literal_kind == "fixed":
                return Literal("range", word, token.pos)
            if literal_kind == "with_n":
                if self.peek().kind != "COLON":
                    raise self.unexpected(self.peek(), f"{word} needs ':n'")
                self.advance()
                return Literal("range", word, token.pos, n=self.integer())
        raise self.unexpected(token, "expecting a literal value")


def _semijoin_in(cond: Condition) -> Optional[InList]:
    """The first semi- or anti-join inside `cond`, at any depth (SOQL refuses one under OR)."""
    if isinstance(cond, InList):
        return cond if cond.subquery is not None else None
    items = cond.items if isinstance(cond, BoolOp) else [cond.item] if isinstance(cond, Not) else []
    return next((found for found in map(_semijoin_in, items) if found is not None), None)


def parse(source: str) -> Query:
    parser = Parser(source, tokenize(source))
    if not parser.peek().is_word("SELECT"):
        raise parser.unexpected(parser.peek(), "a query starts with SELECT")
    return parser.query()


# -- binding names to the schema ---------------------------------------------------------------------------------

@dataclass
class Path:
    """A resolved field reference: the reference fields walked, the final field, and the output names."""

    hops: list[schema.Field]
    field: schema.Field
    names: list[str]
    polymorphic: bool = False
    label_of: Optional[str] = None  # toLabel(): the object whose labels apply
    alias: Optional[str] = None

    @property
    def key(self) -> str:
        return (self.alias or ".".join(self.names)).lower()


def _no_such_column(source: str, pos: int, name: str, entity: str, error_code: str = "INVALID_FIELD") -> ApiError:
    return ApiError(400, error_code, located(
        source, pos, f"No such column '{name}' on entity '{entity}'. If you are attempting to use a custom field, be "
                     "sure to append the '__c' after the custom field name. Please reference your WSDL or the "
                     "describe call for the appropriate names."))


def _bad_relationship(source: str, pos: int, name: str) -> ApiError:
    return ApiError(400, "INVALID_FIELD", located(
        source, pos, f"Didn't understand relationship '{name}' in field path. If you are attempting to use a custom "
                     "relationship, be sure to append the '__r' after the custom relationship name. Please reference "
                     "your WSDL or the describe call for the appropriate names."))


def resolve_path(obj: schema.SObjectType, ref: FieldRef, source: str) -> Path:
    parts = list(ref.path)
    if len(parts) > 1 and parts[0].lower() == obj.name.lower() and obj.parent_field(parts[0]) is None:
        parts = parts[1:]
    hops, names, current = [], [], obj
    for index, part in enumerate(parts[:-1]):
        hop = current.parent_field(part)
        if hop is None:
            raise _bad_relationship(source, ref.pos, part)
        hops.append(hop)
        names.append(hop.relationship_name)
        if hop.polymorphic:
            rest = parts[index + 1:]
            if len(rest) > 1:
                raise _bad_relationship(source, ref.pos, rest[0])
            wanted = next((n for n in schema.POLYMORPHIC_PARENT_FIELDS if n.lower() == rest[0].lower()), None)
            if wanted is None:
                raise _no_such_column(source, ref.pos, rest[0], "Name")
            synthesized = schema.Field(name=wanted, type=_POLYMORPHIC_TYPES.get(wanted, "string"))
            return Path(hops, synthesized, names + [wanted], polymorphic=True)
        current = schema.get_sobject(hop.reference_to[0])
    final = current.field(parts[-1])
    if final is None:
        raise _no_such_column(source, ref.pos, parts[-1], current.name)
    return Path(hops, final, names + [final.name])


# -- evaluation --------------------------------------------------------------------------------------------------

def _as_datetime(now: Union[datetime, float, int]) -> datetime:
    if isinstance(now, datetime):
        return now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(float(now), tz=timezone.utc)


def _as_tz(tz: Union[tzinfo, str, None]) -> tzinfo:
    if tz is None:
        return timezone.utc
    return ZoneInfo(tz) if isinstance(tz, str) else tz


class Engine:
    """Evaluates resolved queries over one store for one request: caches parent lookups and knows the clock."""

    def __init__(self, source: str, store, *, api_version: str, now, tz, include_deleted: bool = False,
                 error_code: str = "MALFORMED_QUERY") -> None:
        self.source = source
        self.store = store
        self.api_version = api_version
        self.now = _as_datetime(now)
        self.tz = _as_tz(tz)
        self.today = self.now.astimezone(self.tz).date()
        self.include_deleted = include_deleted
        self.error_code = error_code
        self._by_id: dict[str, dict[str, dict]] = {}

    # errors
    def malformed(self, pos: int, message: str) -> ApiError:
        return ApiError(400, self.error_code, located(self.source, pos, message))

    def invalid_field(self, pos: int, message: str) -> ApiError:
        return ApiError(400, "INVALID_FIELD", located(self.source, pos, message))

    def bad_operator(self, pos: int, message: str) -> ApiError:
        return ApiError(400, "INVALID_QUERY_FILTER_OPERATOR", located(self.source, pos, message))

    # rows
    def rows(self, obj: schema.SObjectType) -> list[dict]:
        if obj.name == "TaskStatus":
            users = self.store.rows("User")
            return task_statuses.rows(org_shape.from_store(self.store), self.store.now(),
                                      users[0]["Id"] if users else None)
        if obj.name == "RecordType":  # served from the shape (person_accounts.py)
            return person_accounts.record_types(self.store)
        if obj.view_of:
            open_view = obj.name == "OpenActivity"
            return [{**row, "IsTask": True, "ActivitySubtype": row.get("TaskSubtype")}
                    for row in self.task_rows() if bool(row.get("IsClosed")) != open_view]
        if obj.name == "Task":
            return self.task_rows()
        if obj.name in ("TaskRelation", "TaskWhoRelation"):  # served from the Tasks (shared_activities.py)
            return shared_activities.relation_rows(self.task_rows(), who_only=obj.name == "TaskWhoRelation")
        return self.store.rows(obj.name, include_deleted=self.include_deleted)

    def task_rows(self) -> list[dict]:
        """Task rows with `IsArchived` as the org's archiving sets it; `query` leaves archived ones out, at top
        level, in subqueries and in semi-joins alike, and `queryAll` keeps them (activity_archive.py)."""
        shape = org_shape.from_store(self.store)
        rows = self.store.rows("Task", include_deleted=self.include_deleted)
        marked = [{**row, "IsArchived": activity_archive.is_archived(row, shape, self.now, self.today)}
                  for row in rows]
        return marked if self.include_deleted else [row for row in marked if not row["IsArchived"]]

    def record(self, record_id: Optional[str]) -> Optional[dict]:
        if not record_id:
            return None
        obj = schema.sobject_for_id(record_id)
        if obj is None:
            return None
        index = self._by_id.get(obj.name)
        if index is None:
            index = {row["Id"]: row for row in self.store.rows(obj.name, include_deleted=True)}
            self._by_id[obj.name] = index
        return index.get(record_id)

    def url(self, sobject: str, record_id: str) -> str:
        return f"/services/data/v{self.api_version}/sobjects/{sobject}/{record_id}"

    # values
    def getter(self, path: Path) -> Callable[[dict], object]:
        hops, name = path.hops, path.field.name
        is_type = path.polymorphic and name == "Type"

        def get(row: dict) -> object:
            current, ref = row, None
            for hop in hops:
                ref = current.get(hop.name)
                current = self.record(ref)
                if current is None:
                    return None
            if is_type:
                found = schema.sobject_for_id(ref)
                return found.name if found else None
            return current.get(name)

        return get

    @staticmethod
    def normalize(f: schema.Field, raw: object) -> object:
        """A stored value as a comparable Python value for its field type (None stays None)."""
        if raw is None:
            return None
        if f.type in ("id", "reference"):
            return str(raw).lower()
        if f.type in _TEXT:
            return str(raw).casefold()
        if f.type == "boolean":
            return bool(raw)
        if f.type in schema.NUMBER_TYPES:
            return float(raw)
        try:
            if f.type == "date":
                return formats.parse_date(raw)
            if f.type == "datetime":
                return formats.parse_datetime(raw)
        except ValueError:
            return None
        return raw

    def sort_key(self, f: schema.Field) -> Callable[[object], object]:
        if f.type == "picklist" and f.picklist_values:
            order = {value.casefold(): index for index, value in enumerate(f.picklist_values)}
            return lambda value: (order.get(value, len(order)), value)
        return lambda value: value

    # WHERE
    def compile(self, obj: schema.SObjectType, cond: Condition) -> Callable[[dict], bool]:
        if isinstance(cond, BoolOp):
            joined = _semijoin_in(cond) if cond.op == "OR" else None
            if joined is not None:  # Salesforce's own answer to `X = ... OR Id IN (SELECT ...)`
                raise self.malformed(joined.ref.pos, "Semi join sub-selects are not allowed with the 'OR' operator")
            parts = [self.compile(obj, item) for item in cond.items]
            if cond.op == "AND":
                return lambda row: all(part(row) for part in parts)
            return lambda row: any(part(row) for part in parts)
        if isinstance(cond, Not):
            inner = self.compile(obj, cond.item)
            return lambda row: not inner(row)
        path = resolve_path(obj, cond.ref, self.source)
        f = path.field
        if not f.filterable:  # long text areas and (Shield) encrypted fields
            raise self.invalid_field(cond.ref.pos, f"field '{f.name}' can not be filtered in a query call")
        raw_get = self.getter(path)
        normalize = self.normalize

        def get(row: dict) -> object:
            return normalize(f, raw_get(row))

        if isinstance(cond, InList):
            return self.compile_in(cond, path, get)
        if cond.op == "LIKE":
            if f.type not in _TEXT:
                raise self.bad_operator(cond.ref.pos, f"invalid operator on {_TYPE_NAMES.get(f.type, f.type)} field")
            pattern = _like_regex(cond.value)
            return lambda row: (lambda value: value is not None and bool(pattern.fullmatch(value)))(get(row))
        value = self.coerce(f, cond.value)
        if cond.op not in ("=", "!=") and f.type == "boolean":
            raise self.bad_operator(cond.value.pos, "invalid operator on boolean field")
        if isinstance(value, tuple):
            return _range_test(cond.op, value, get)
        return _compare_test(cond.op, value, get)

    def compile_in(self, cond: InList, path: Path, get) -> Callable[[dict], bool]:
        f = path.field
        if cond.subquery is not None:
            if f.type not in ("id", "reference"):
                raise self.malformed(cond.ref.pos, "semi-join subselects need an id or reference field on the left")
            wanted = self.semijoin_values(cond.subquery)
        else:
            wanted, ranges = set(), []
            for literal in cond.values:
                value = self.coerce(f, literal)
                if isinstance(value, tuple):
                    ranges.append(_range_test("=", value, get))
                else:
                    wanted.add(value)
            if ranges:
                def found(row: dict) -> bool:
                    return get(row) in wanted or any(test(row) for test in ranges)

                return (lambda row: not found(row)) if cond.negated else found
        if cond.negated:
            return lambda row: get(row) not in wanted
        return lambda row: get(row) in wanted

    def semijoin_values(self, inner: Query) -> set:
        obj = self.queryable(inner.sobject, inner.sobject_pos)
        if len(inner.items) != 1 or not isinstance(inner.items[0], FieldRef):
            raise self.malformed(inner.select_pos, "a semi-join subselect selects exactly one id field")
        if inner.order or inner.limit is not None or inner.offset is not None:
            raise self.malformed(inner.select_pos, "ORDER BY, LIMIT and OFFSET are not allowed in a semi-join")
        path = resolve_path(obj, inner.items[0], self.source)
        if path.hops or path.field.type not in ("id", "reference"):
            raise self.malformed(inner.items[0].pos, "a semi-join subselect selects an id or reference field")
        rows = self.rows(obj)
        if inner.where is not None:
            test = self.compile(obj, inner.where)
            rows = [row for row in rows if test(row)]
        get = self.getter(path)
        return {str(value).lower() for value in map(get, rows) if value}

    def coerce(self, f: schema.Field, literal: Literal) -> object:
        """The literal as a normalized value of the field's type, or (start, end) for a date literal range."""
        if literal.kind == "null":
            return None
        type_name = _TYPE_NAMES.get(f.type, "id" if f.type in ("id", "reference") else "string")

        def mismatch() -> ApiError:
            quoted = "should be enclosed in quotes" if type_name in ("string", "id") \
                else "should not be enclosed in quotes"
            return self.invalid_field(literal.pos, f"value of filter criterion for field '{f.name}' must be of type "
                                                   f"{type_name} and {quoted}")

        if f.type in ("id", "reference"):
            if literal.kind != "string":
                raise mismatch()
            try:
                return ids.to_18(literal.value).lower()
            except ValueError:
                raise self.bad_operator(literal.pos, f"invalid ID field: {literal.value}") from None
        if f.type in _TEXT:
            if literal.kind != "string":
                raise mismatch()
            return literal.value.casefold()
        if f.type == "boolean":
            if literal.kind != "boolean":
                raise mismatch()
            return literal.value
        if f.type in schema.NUMBER_TYPES:
            if literal.kind != "number":
                raise mismatch()
            return float(literal.value)
        if f.type in ("date", "datetime"):
            if literal.kind == "range":
                first, end = soql_dates.day_range(literal.value, literal.n, self.today)
                if f.type == "date":
                    return first, end
                return self._midnight(first), self._midnight(end)
            if literal.kind != ("date" if f.type == "date" else "datetime"):
                raise mismatch()
            return literal.value
        raise mismatch()

    def _midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=self.tz)

    # ORDER BY
    def sort(self, obj: schema.SObjectType, rows: list[dict], order: list[OrderItem]) -> list[dict]:
        for item in reversed(order):
            path = resolve_path(obj, item.ref, self.source)
            if not path.field.filterable:
                raise self.invalid_field(item.ref.pos, f"field '{path.field.name}' can not be sorted in a query call")
            get, key = self.getter(path), self.sort_key(path.field)
            valued, nulls = [], []
            for row in rows:
                value = self.normalize(path.field, get(row))
                (nulls if value is None else valued).append((key(value), row))
            valued.sort(key=lambda pair: pair[0], reverse=item.descending)
            nulls_first = (not item.descending) if item.nulls_first is None else item.nulls_first
            ordered = [row for _, row in valued]
            null_rows = [row for _, row in nulls]
            rows = null_rows + ordered if nulls_first else ordered + null_rows
        return rows

    # shaping
    def queryable(self, name: str, pos: int) -> schema.SObjectType:
        obj = schema.get_sobject(name)
        if obj is None or not obj.readable:  # an object the user may not read is, to the user, not there
            raise ApiError(400, "INVALID_TYPE", located(
                self.source, pos, f"sObject type '{name}' is not supported. If you are attempting to use a custom "
                                  "object, be sure to append the '__c' after the entity name. Please reference your "
                                  "WSDL or the describe call for the appropriate names."))
        if not obj.queryable:
            raise ApiError(400, "INVALID_TYPE_FOR_OPERATION", located(
                self.source, pos, f"entity type {obj.name} does not support query"))
        return obj

    def field_paths(self, obj: schema.SObjectType, refs: list[FieldRef]) -> list[Path]:
        paths, seen = [], set()
        for ref in refs:
            path = resolve_path(obj, ref, self.source)
            if ref.translate:
                path = self.labelled(obj, ref, path)
            if path.key in seen:
                raise self.malformed(ref.pos, f"duplicate field selected: {'.'.join(path.names)}")
            seen.add(path.key)
            paths.append(path)
        return paths

    def labelled(self, obj: schema.SObjectType, ref: FieldRef, path: Path) -> Path:
        """The path of `toLabel(ref)`: a picklist field; an alias only on the queried object's own fields (where an
        aliased parent field's value would go is not documented, so the local org refuses it)."""
        if path.polymorphic or not labels.translatable(path.field):
            raise self.malformed(ref.pos, f"toLabel() needs a picklist field, not {'.'.join(path.names)}")
        if ref.alias and path.hops:
            raise self.malformed(ref.pos, "an alias on toLabel() of a parent's field is not supported by the local org")
        owner = schema.get_sobject(path.hops[-1].reference_to[0]).name if path.hops else obj.name
        return dataclasses.replace(path, label_of=owner, alias=ref.alias)

    def shaper(self, obj: schema.SObjectType, paths: list[Path]) -> Callable[[dict], dict]:
        def shape(row: dict) -> dict:
            out = {"attributes": {"type": obj.name, "url": self.url(obj.name, row["Id"])}}
            for path in paths:
                self.place(out, row, path, 0)
            return out

        return shape

    def place(self, target: dict, row: dict, path: Path, depth: int) -> None:
        if depth == len(path.hops):
            if path.polymorphic and path.field.name == "Type":
                found = schema.sobject_for_id(row["Id"])
                target["Type"] = found.name if found else None
            elif path.label_of:
                target[path.alias or path.field.name] = labels.label(path.label_of, path.field,
                                                                     row.get(path.field.name))
            else:
                target[path.field.name] = row.get(path.field.name)
            return
        relationship = path.names[depth]
        if relationship in target and target[relationship] is None:
            return
        parent = self.record(row.get(path.hops[depth].name))
        if parent is None:
            target[relationship] = None
            return
        if relationship not in target:
            parent_obj = schema.sobject_for_id(parent["Id"])
            kind = "Name" if path.hops[depth].polymorphic else parent_obj.name
            target[relationship] = {"attributes": {"type": kind, "url": self.url(parent_obj.name, parent["Id"])}}
        self.place(target[relationship], parent, path, depth + 1)


def _like_regex(literal: Literal) -> "re.Pattern[str]":
    parts = []
    for index, char in enumerate(literal.value):
        if index in literal.literal_wildcards:
            parts.append(re.escape(char))
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char.casefold()))
    return re.compile("".join(parts), re.DOTALL)


def _compare_test(op: str, value: object, get) -> Callable[[dict], bool]:
    if op == "=":
        return lambda row: get(row) == value
    if op == "!=":
        return lambda row: get(row) != value
    if value is None:
        return lambda row: False
    compare = {"<": lambda a: a < value, "<=": lambda a: a <= value, ">": lambda a: a > value,
               ">=": lambda a: a >= value}[op]
    return lambda row: (lambda current: current is not None and compare(current))(get(row))


def _range_test(op: str, bounds: tuple, get) -> Callable[[dict], bool]:
    start, end = bounds
    inside = {"=": lambda v: start <= v < end, "!=": lambda v: not start <= v < end, "<": lambda v: v < start,
              "<=": lambda v: v < end, ">": lambda v: v >= end, ">=": lambda v: v >= start}[op]
    if op == "!=":
        return lambda row: (lambda current: current is None or inside(current))(get(row))
    return lambda row: (lambda current: current is not None and inside(current))(get(row))


# -- running a query ---------------------------------------------------------------------------------------------

def run_query(soql: str, store, *, include_deleted: bool = False, api_version: str = "62.0", now, tz) -> QueryResult:
    """Runs one SOQL query; returns every row (the REST layer pages). Raises ApiError for anything refused."""
    query = parse(soql)
    engine = Engine(soql, store, api_version=api_version, now=now, tz=tz, include_deleted=include_deleted)
    obj = engine.queryable(query.sobject, query.sobject_pos)
    counting = "COUNT" in query.items
    if counting and len(query.items) > 1:
        raise engine.malformed(query.select_pos, "COUNT() must be the only item selected")
    if counting and query.order:
        raise engine.malformed(query.order[0].ref.pos, "ORDER BY cannot be used with COUNT()")
    if query.offset is not None and query.offset > MAX_OFFSET:
        raise ApiError(400, "NUMBER_OUTSIDE_VALID_RANGE", located(
            soql, query.offset_pos, f"Maximum SOQL offset allowed is {MAX_OFFSET}"))
    paths = engine.field_paths(obj, [item for item in query.items if isinstance(item, FieldRef)])
    children = [_ChildPlan(engine, obj, item, query) for item in query.items if isinstance(item, Subquery)]

    rows = engine.rows(obj)
    if query.where is not None:
        test = engine.compile(obj, query.where)
        rows = [row for row in rows if test(row)]
    rows = engine.sort(obj, rows, query.order)
    start = query.offset or 0
    rows = rows[start:start + query.limit] if query.limit is not None else rows[start:]
    if counting:
        return QueryResult(obj.name, len(rows), [])

    path_iter = iter(paths)
    child_iter = iter(children)
    entries = [next(child_iter) if isinstance(item, Subquery) else next(path_iter) for item in query.items]

    def shape(row: dict) -> dict:
        record = {"attributes": {"type": obj.name, "url": engine.url(obj.name, row["Id"])}}
        for entry in entries:
            if isinstance(entry, _ChildPlan):
                record[entry.relationship.name] = entry.records_for(row["Id"])
            else:
                engine.place(record, row, entry, 0)
        return record

    records = [shape(row) for row in rows]
    return QueryResult(obj.name, len(records), records)


class _ChildPlan:
    """One child subquery, evaluated once for all parents and grouped by the parent's id."""

    def __init__(self, engine: Engine, parent: schema.SObjectType, item: Subquery, outer: Query) -> None:
        query = item.query
        relationship = parent.child_relationship(query.sobject)
        child_type = schema.get_sobject(relationship.child_sobject) if relationship is not None else None
        if relationship is None or not child_type.readable or not (child_type.view_of is None or schema.get_sobject(
                child_type.view_of).readable):
            raise ApiError(400, "INVALID_TYPE", located(
                engine.source, query.sobject_pos,
                f"Didn't understand relationship '{query.sobject}' in FROM part of query call. If you are attempting "
                "to use a custom relationship, be sure to append the '__r' after the custom relationship name. "
                "Please reference your WSDL or the describe call for the appropriate names."))
        if "COUNT" in query.items:
            raise engine.malformed(query.select_pos, "COUNT() is not allowed in a subquery")
        if query.offset is not None:
            raise engine.malformed(query.offset_pos, "OFFSET in a subquery is not supported by the local org")
        self.engine = engine
        self.relationship = relationship
        child = schema.get_sobject(relationship.child_sobject)
        self.child = child
        order = query.order
        if relationship.kind != "plain":
            order = self._activity_rules(query, outer)
        self.paths = engine.field_paths(child, list(query.items))
        self.limit = query.limit
        rows = engine.rows(child)
        if query.where is not None:
            test = engine.compile(child, query.where)
            rows = [row for row in rows if test(row)]
        rows = engine.sort(child, rows, order)
        self.groups: dict[str, list[dict]] = {}
        for row in rows:
            owners = {str(row.get(name)).lower() for name in relationship.fields if row.get(name)}
            for owner in owners:
                self.groups.setdefault(owner, []).append(row)
        self.shape = engine.shaper(child, self.paths)

    def _activity_rules(self, query: Query, outer: Query) -> list[OrderItem]:
        engine, name = self.engine, self.relationship.name
        why = "for users without the View All Data permission"
        if query.where is not None:
            raise engine.malformed(query.sobject_pos, f"{name} subqueries accept no WHERE clause ({why})")
        if query.limit is None or query.limit > ACTIVITY_VIEW_MAX_LIMIT:
            raise engine.malformed(query.limit_pos or query.sobject_pos,
                                   f"{name} subqueries need a LIMIT of {ACTIVITY_VIEW_MAX_LIMIT} or fewer ({why})")
        if not _names_one_record(outer.where):
            raise engine.malformed(outer.sobject_pos, f"a query with an {name} subquery must select a single record "
                                                      f"with WHERE Id = '...' ({why})")
        activity_descending = self.relationship.kind == "activity_histories"
        prescribed = [OrderItem(FieldRef(["ActivityDate"], query.sobject_pos), activity_descending),
                      OrderItem(FieldRef(["LastModifiedDate"], query.sobject_pos), True)]
        if not query.order:
            return prescribed
        given = [(item.ref.path, item.descending) for item in query.order]
        allowed = [(["activitydate"], activity_descending), (["lastmodifieddate"], True)]
        if len(given) > 2 or [([p.lower() for p in path], desc) for path, desc in given] != allowed[:len(given)]:
            direction = "DESC" if activity_descending else "ASC"
            raise engine.malformed(query.order[0].ref.pos,
                                   f"{name} can only be ordered by ActivityDate {direction}, LastModifiedDate DESC "
                                   f"({why})")
        return query.order

    def records_for(self, parent_id: str) -> Optional[dict]:
        rows = self.groups.get(parent_id.lower(), [])
        if self.limit is not None:
            rows = rows[:self.limit]
        if not rows:
            return None
        return {"totalSize": len(rows), "done": True, "records": [self.shape(row) for row in rows]}


def _names_one_record(where: Optional[Condition]) -> bool:
    conjuncts = where.items if isinstance(where, BoolOp) and where.op == "AND" else [where]
    return any(isinstance(c, Compare) and c.op == "=" and [p.lower() for p in c.ref.path] == ["id"]
               and c.value.kind == "string" for c in conjuncts)
