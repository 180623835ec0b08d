"""Every SOQL and SOSL string the panel sends to Salesforce, and nothing else.

Keeping them in one module lets the contract suite (tests/contract) run each of them against the local org and,
when credentials are given, against a real org: a query the local org answers but Salesforce would refuse (or the
other way round) shows up there, not in production.

Rules for adding one:

- every value goes through `simple_salesforce.format_soql` (`{}` placeholders quote and escape strings, lists,
  dates and datetimes); field lists and object names are constants here, never caller input;
- SOSL terms are escaped by whoever builds the FIND clause (`panel.phone.sosl_find_clause`);
- add a representative instance of the new query to its section's `*_CONTRACT_QUERIES` list, and that list to
  `CONTRACT_QUERIES` at the bottom.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone  # noqa: F401 - sections build their contract examples with these
import re
from typing import Iterable

from simple_salesforce import format_soql


def _reference_or_escaped(value: str) -> str:
    """A value quoted for SOQL, or a composite reference left as is (Salesforce resolves it before parsing)."""
    if value.startswith("@{") and value.endswith("}"):
        return value
    return format_soql("{}", value)[1:-1]


# Users --------------------------------------------------------------------------------------------------------------
_USER_FIELDS = "Id, Name, Username, Email, IsActive, TimeZoneSidKey, LanguageLocaleKey"


def user_by_id(user_id: str) -> str:
    """The signed-in user's Salesforce profile (time zone and language for display)."""
    return format_soql(f"SELECT {_USER_FIELDS} FROM User WHERE Id = {{}}", user_id)


def active_users_by_email(emails: Iterable[str]) -> str:
    """Active users with these e-mail addresses (e.g. the configured reviewers), by name."""
    return format_soql(f"SELECT {_USER_FIELDS} FROM User WHERE IsActive = true AND Email IN {{}} ORDER BY Name ASC",
                       sorted(set(emails)))


USERS_CONTRACT_QUERIES = [
    ("users: by id", user_by_id("005000000000001AAA")),
    ("users: active by e-mail", active_users_by_email(["reviewer@example.com", "o'brien@example.com"])),
]


# Every section's examples, run by tests/contract/test_query_contract.py.
CONTRACT_QUERIES: list[tuple[str, str]] = [
    *USERS_CONTRACT_QUERIES,
]


# Screen pop ------------------------------------------------------------------------------------------------------
# Fields a card shows, per object. Opportunities come along as child subqueries: a Contact's through its contact
# roles, an Account's own open ones (the Contact card falls back to its Account's when it has no role). SOSL's
# RETURNING takes parent fields (Account.Name, Owner.Name) but no child subqueries: the search reads the details
# alone, and a card found only by the search gets its stage with its task lists (`card_stage_*` below).
# The phone fields the pop searches and reads in an org as Salesforce ships it, per object. A configured org has
# others (custom phone fields): `PopFields.phones`, learned from describe,
# replaces these then (panel.salesforce.contacts.describe_pop_fields; the doctor checks these).
POP_PHONE_FIELDS = {"Contact": ("Phone", "MobilePhone", "HomePhone", "OtherPhone", "AssistantPhone"),
                    "Account": ("Phone",), "Lead": ("Phone", "MobilePhone")}
POP_OBJECTS = tuple(POP_PHONE_FIELDS)
_POP_DETAILS = {
    "Contact": ("Id", "Name", "Title", "Email", "AccountId", "Account.Name", "Owner.Name", "LastModifiedDate"),
    "Account": ("Id", "Name", "Owner.Name", "LastModifiedDate"),
    "Lead": ("Id", "Name", "Title", "Email", "Company", "toLabel(Status)", "Owner.Name", "LastModifiedDate"),
}
# The card shows picklists as labels in the agent's language (`toLabel()`, SOQL and SOSL Reference: the user's
# language, the org's own values and translations): a Lead's status, the opportunities' stages. Nothing compares
# them; open and closed go by `IsClosed`.
# The manual search box's hits show less than a card (no Lead status), with the phones.
_TEXT_SEARCH_FIELDS = {
    "Contact": ("Id", "Name", "Title", "Email", "AccountId", "Account.Name", "Owner.Name", "LastModifiedDate"),
    "Account": _POP_DETAILS["Account"],
    "Lead": ("Id", "Name", "Title", "Email", "Company", "Owner.Name", "LastModifiedDate"),
}
_CONTACT_ROLES = ("(SELECT OpportunityId, IsPrimary, Opportunity.Name, toLabel(Opportunity.StageName), "
                  "Opportunity.CloseDate, Opportunity.IsClosed FROM OpportunityContactRoles)")
_OPEN_OPPORTUNITIES = ("(SELECT Id, Name, toLabel(StageName), CloseDate, IsClosed FROM Opportunities "
                       "WHERE IsClosed = false ORDER BY CloseDate ASC LIMIT 5)")
_POP_CHILDREN = {"Contact": _CONTACT_ROLES, "Account": _OPEN_OPPORTUNITIES, "Lead": None}
# The pop's non-phone fields that field-level security can hide from a user (required fields it cannot); hidden
# phone fields are simply not among `PopFields.phones`.
HIDEABLE_POP_FIELDS = {"Contact": ("Title", "Email", "AccountId"), "Account": (), "Lead": ("Title", "Email")}
# What the pop reads besides, in an org with Person Accounts (SOAP API Developer Guide, "Person Account Record
# Types": a person account is an Account with IsPersonAccount, whose person contact's Id is PersonContactId; its
# person phones come with `PopFields.phones`, from describe). The fields exist in no other org (INVALID_FIELD).
PERSON_ACCOUNT_FIELDS = {"Account": ("IsPersonAccount", "PersonContactId", "PersonTitle", "PersonEmail"),
                         "Contact": ("IsPersonAccount",), "Lead": ()}
# A number can be every Contact's company main line; more hits than this are not a screen pop any more.
POP_MAX_PER_OBJECT = 50
POP_CARD_ROWS = 2000  # one page of query results


@dataclass(frozen=True)
class PopFields:
    """What the screen pop's statements may name for one user of one org, as describe says.

    Salesforce refuses a whole statement that names what its user cannot use, so every screen-pop statement below
    takes one of these. `STANDARD` is an org as Salesforce ships it; `panel.salesforce.contacts.describe_pop_fields`
    reads a configured one (panel.callers.lookup learns it once an org proves different, and keeps it an hour):

    - `hidden`: "Object.Field" names of `HIDEABLE_POP_FIELDS` that field-level security hides (INVALID_FIELD);
    - `phones`: every phone field (describe's `type == "phone"`) the user can see, per object, custom ones
      included: what `IN PHONE FIELDS` searches, so what a hit is verified against;
    - `unfilterable`: phone fields describe calls not `filterable` (Shield Platform Encryption): SOSL still finds
      them, but the recently-changed query cannot use them in WHERE, so it reads those objects' recent changes
      without the phone filter and the panel verifies in Python;
    - `unreadable`: objects the user cannot query or search (INVALID_TYPE), left out of every statement;
    - `person_accounts`: the org has Person Accounts (describe's Account has `IsPersonAccount`): the statements
      also read `PERSON_ACCOUNT_FIELDS`, so a person account and its person contact are known as one person.
    """

    hidden: frozenset[str] = frozenset()
    phones: tuple[tuple[str, tuple[str, ...]], ...] = tuple(POP_PHONE_FIELDS.items())
    unfilterable: frozenset[str] = frozenset()
    unreadable: frozenset[str] = frozenset()
    person_accounts: bool = False
    described: bool = False  # learned from describe (rather than assumed)

    def phones_of(self, sobject: str) -> tuple[str, ...]:
        return dict(self.phones).get(sobject, ())

    def readable(self, sobject: str) -> bool:
        return sobject not in self.unreadable

    @property
    def objects(self) -> tuple[str, ...]:
        """The pop's objects this user may query and search."""
        return tuple(name for name in POP_OBJECTS if self.readable(name))

    def narrowed(self, names: Iterable[str]) -> "PopFields":
        """Only the phone fields `names` lists ("Object.Field", PANEL_PHONE_FIELDS), for the objects it names."""
        wanted: dict[str, set[str]] = {}
        for name in names:
            sobject, _, field_name = name.partition(".")
            wanted.setdefault(sobject, set()).add(field_name.lower())
        return replace(self, phones=tuple(
            (sobject, tuple(n for n in own if sobject not in wanted or n.lower() in wanted[sobject]))
            for sobject, own in self.phones))

    def same_as(self, other: "PopFields") -> bool:
        """Whether both let the statements name the same things (described or assumed alike)."""
        return replace(self, described=False) == replace(other, described=False)


STANDARD = PopFields()


def _hidden_of(sobject: str, fields: PopFields) -> set[str]:
    """The lower-case names of `sobject`'s hidden fields, with the parent fields read through a hidden lookup."""
    gone = {name.partition(".")[2].lower() for name in fields.hidden if name.partition(".")[0] == sobject}
    if "accountid" in gone:
        gone.add("account.name")
    return gone


def _visible(names: tuple[str, ...], sobject: str, fields: PopFields) -> str:
    """`names` as a field list, without those hidden from the user."""
    gone = _hidden_of(sobject, fields)
    return ", ".join(name for name in names if name.lower() not in gone)


def _person(sobject: str, fields: PopFields) -> tuple[str, ...]:
    return PERSON_ACCOUNT_FIELDS[sobject] if fields.person_accounts else ()


def _details(sobject: str, fields: PopFields) -> str:
    """The card's plain fields for `sobject` and every phone field, without those hidden from the user."""
    return _visible((*_POP_DETAILS[sobject], *_person(sobject, fields), *fields.phones_of(sobject)), sobject, fields)


def _card_fields(sobject: str, fields: PopFields) -> str:
    """Every field of a card: the plain ones, then the opportunities' child subquery (Contacts, Accounts)."""
    children = _POP_CHILDREN[sobject]
    return f"{_details(sobject, fields)}, {children}" if children else _details(sobject, fields)


_SEARCH_EXTRA = {"Lead": "WHERE IsConverted = false "}


def screen_pop_phone_search(find_clause: str, fields: PopFields = STANDARD) -> str | None:
    """SOSL for a caller's number, with every card field but the opportunities (SOSL takes no child subqueries),
    over the pop's objects the user may search (None when there is none). `find_clause` is
    `panel.phone.sosl_find_clause(...)`: every term escaped."""
    returning = [f"{sobject}({_details(sobject, fields)} {_SEARCH_EXTRA.get(sobject, '')}LIMIT {POP_MAX_PER_OBJECT})"
                 for sobject in fields.objects]
    return f"FIND {find_clause} IN PHONE FIELDS RETURNING {', '.join(returning)}" if returning else None


def screen_pop_text_search(find_clause: str, fields: PopFields = STANDARD) -> str | None:
    """SOSL for the manual search box (names, companies, e-mails); `find_clause` escaped like the phone search."""
    def named(sobject: str) -> str:
        return _visible((*_TEXT_SEARCH_FIELDS[sobject], *_person(sobject, fields), *fields.phones_of(sobject)),
                        sobject, fields)

    returning = [f"{sobject}({named(sobject)} "
                 f"{_SEARCH_EXTRA.get(sobject, '')}ORDER BY LastModifiedDate DESC LIMIT 20)"
                 for sobject in fields.objects]
    return f"FIND {find_clause} IN ALL FIELDS RETURNING {', '.join(returning)}" if returning else None


def _screen_pop_where(sobject: str, ids, changed_since, phone_patterns=(), fields: PopFields = STANDARD
                      ) -> str | None:
    """`Id IN (…) OR (LastModifiedDate > … AND (Phone LIKE … OR …))`: the verified SOSL hits plus whatever the
    search index cannot see yet, narrowed to phone values that may hold the number (panel.phone.
    recent_change_patterns) so a busy org's other changes are not read on every pop. With no phone field the user
    can see, the recent changes are left out (no visible number could be the caller's); when one of them cannot be
    filtered (an encrypted field), they are read unnarrowed and verified by the panel.

    The card queries sort oldest change first: the SOSL hits (older than the window) always fit in the first page.
    """
    if not fields.readable(sobject):
        return None
    conditions = []
    if ids:
        conditions.append(format_soql("Id IN {}", list(ids)))
    phones = fields.phones_of(sobject)
    if changed_since is not None and phones:
        recent = format_soql("LastModifiedDate > {}", changed_since)
        narrowable = not any(f"{sobject}.{name}" in fields.unfilterable for name in phones)
        likes = [format_soql(f"{name} LIKE {{}}", pattern) for name in phones for pattern in phone_patterns]
        conditions.append(f"({recent} AND ({' OR '.join(likes)}))" if likes and narrowable else recent)
    return " OR ".join(conditions) if conditions else None


def screen_pop_contact_cards(ids, changed_since, phone_patterns=(), fields: PopFields = STANDARD) -> str | None:
    where = _screen_pop_where("Contact", ids, changed_since, phone_patterns, fields)
    return where and (f"SELECT {_card_fields('Contact', fields)} FROM Contact WHERE {where} "
                      f"ORDER BY LastModifiedDate ASC LIMIT {POP_CARD_ROWS}")


def screen_pop_account_cards(ids, changed_since, phone_patterns=(), fields: PopFields = STANDARD) -> str | None:
    where = _screen_pop_where("Account", ids, changed_since, phone_patterns, fields)
    return where and (f"SELECT {_card_fields('Account', fields)} FROM Account WHERE {where} "
                      f"ORDER BY LastModifiedDate ASC LIMIT {POP_CARD_ROWS}")


def screen_pop_lead_cards(ids, changed_since, phone_patterns=(), fields: PopFields = STANDARD) -> str | None:
    where = _screen_pop_where("Lead", ids, changed_since, phone_patterns, fields)
    return where and (f"SELECT {_card_fields('Lead', fields)} FROM Lead WHERE IsConverted = false AND ({where}) "
                      f"ORDER BY LastModifiedDate ASC LIMIT {POP_CARD_ROWS}")


def screen_pop_card_by_id(record_type: str, record_id: str, fields: PopFields = STANDARD) -> str:
    """One card's query; `record_id` may be a composite reference such as `@{newRecord.id}`."""
    return format_soql(f"SELECT {_card_fields(record_type, fields)} FROM {record_type} WHERE Id = {{}}", record_id)


def card_stage_contact(contact_id: str) -> str:
    """A Contact's open opportunities through its contact roles, and its Account for the fallback."""
    return format_soql(f"SELECT Id, AccountId, {_CONTACT_ROLES} FROM Contact WHERE Id = {{}}", contact_id)


def card_stage_account(account_id: str) -> str:
    """An Account's open opportunities. `account_id` may be a composite reference (`@{ref.records[0].AccountId}`),
    which Salesforce resolves before parsing, so it is quoted like a value."""
    return f"SELECT Id, {_OPEN_OPPORTUNITIES} FROM Account WHERE Id = '{_reference_or_escaped(account_id)}'"


SCREEN_POP_CONTRACT_QUERIES = [
    ("screen pop: phone search", screen_pop_phone_search('{"0312345678" OR "81312345678" OR "03-1234-5678"}')),
    ("screen pop: text search", screen_pop_text_search('{"山田"}')),
    ("screen pop: contact cards", screen_pop_contact_cards(["003000000000001AAA"],
                                                           datetime(2024, 1, 1, tzinfo=timezone.utc))),
    ("screen pop: contact cards, recent changes by phone tail", screen_pop_contact_cards(
        ["003000000000001AAA"], datetime(2024, 1, 1, tzinfo=timezone.utc), ["%678%", "%6_78%", "%６７８%"])),
    ("screen pop: account cards", screen_pop_account_cards(["001000000000001AAA"],
                                                           datetime(2024, 1, 1, tzinfo=timezone.utc))),
    ("screen pop: lead cards", screen_pop_lead_cards([], datetime(2024, 1, 1, tzinfo=timezone.utc))),
    ("screen pop: lead card by id", screen_pop_card_by_id("Lead", "00Q000000000001EAA")),
    ("screen pop: recent changes and the remembered pick", screen_pop_contact_cards(
        ["003000000000002AAA"], datetime(2024, 1, 1, tzinfo=timezone.utc), ["%678%"])),
    ("screen pop: a contact's stage", card_stage_contact("003000000000001AAA")),
    ("screen pop: search without fields hidden from the user", screen_pop_phone_search(
        '{"0312345678"}', PopFields(hidden=frozenset({"Contact.AccountId", "Lead.Email"}),
                                    phones=(("Contact", ("Phone", "MobilePhone")), ("Account", ()),
                                            ("Lead", ("Phone", "MobilePhone"))), described=True))),
    ("screen pop: cards without fields hidden from the user", screen_pop_contact_cards(
        ["003000000000001AAA"], datetime(2024, 1, 1, tzinfo=timezone.utc), ["%678%"],
        PopFields(hidden=frozenset({"Contact.Title"}), described=True))),
    ("screen pop: an account's stage", card_stage_account("001000000000001AAA")),
]

CONTRACT_QUERIES.extend(SCREEN_POP_CONTRACT_QUERIES)


# Tasks under the card --------------------------------------------------------------------------------------------
# Top-level Task queries rather than OpenActivities/ActivityHistories subqueries: those impose their own order
# (undated open Tasks first) and cannot be paged with OFFSET. A Contact's or Lead's Tasks hang off WhoId; an
# Account's off WhatId or AccountId (its Contacts' and Opportunities' Tasks too, as Salesforce's timeline shows).
# Past activities, and the check before an edit, are sent to the QueryAll resource (`TASK_QUERY_ALL`): Salesforce
# archives closed Tasks due a year ago or more and `query` no longer returns them, `queryAll` does (SOAP API
# Developer Guide, "Archived Activities": developer.salesforce.com/docs/atlas.en-us.api.meta/api/
# sforce_api_guidelines_archive.htm). queryAll also returns deleted records, hence `IsDeleted = false`.
TASK_PAGE_SIZE = 10
TASK_MAX_OFFSET = 2000  # SOQL's largest OFFSET; past it "View all in Salesforce" takes over
# `Status` is the API value, `StatusLabel` what the agent reads (toLabel(): the alias is required beside the field).
_TASK_FIELDS = ("Id, Subject, Description, Status, toLabel(Status) StatusLabel, Priority, ActivityDate, IsClosed, "
                "TaskSubtype, CallType, CallDurationInSeconds, CallDisposition, CallObject, WhoId, Who.Name, WhatId, "
                "What.Name, Owner.Name, CompletedDateTime, LastModifiedDate")
_TASK_ORDER = {
    "next_steps": "ActivityDate ASC NULLS LAST, CreatedDate ASC, Id ASC",
    "past_activities": "CompletedDateTime DESC NULLS LAST, LastModifiedDate DESC, Id DESC",
}


def _task_owner_condition(record_type: str, record_id: str, shared_activities: bool = False) -> str:
    """Which Tasks are the record's. With Shared Activities a Task relates to several contacts and `WhoId` holds
    only the primary one; every one of them, the primary included, is a `TaskRelation` row (Object Reference,
    TaskRelation: developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/
    sforce_api_objects_taskrelation.htm), so a semi-join on it replaces `WhoId = X` — it cannot be OR-ed to it:
    SOQL answers "Semi join sub-selects are not allowed with the 'OR' operator"."""
    if record_type == "Account":
        return format_soql("(WhatId = {} OR AccountId = {})", record_id, record_id)
    if record_type in ("Contact", "Lead"):
        if shared_activities:
            return format_soql("Id IN (SELECT TaskId FROM TaskRelation WHERE RelationId = {})", record_id)
        return format_soql("WhoId = {}", record_id)
    raise ValueError(f"Tasks are listed for Contacts, Leads and Accounts, not {record_type!r}")


# Which statements go to the QueryAll resource (archived Tasks included), by list kind.
TASK_QUERY_ALL = {"next_steps": False, "past_activities": True}
_TASK_LIST_FILTER = {"next_steps": "IsClosed = false", "past_activities": "IsClosed = true AND IsDeleted = false"}


def task_list(kind: str, record_type: str, record_id: str, *, offset: int = 0,
              shared_activities: bool = False) -> str:
    """One page of a record's open (next steps) or closed (past activities) Tasks, plus one row that says whether
    there is more. Open Tasks are never archived; closed ones are read with queryAll (`TASK_QUERY_ALL`). With
    `shared_activities` a Contact's or Lead's Tasks include those where it is a secondary relation."""
    offset = max(0, min(int(offset), TASK_MAX_OFFSET))
    owner = _task_owner_condition(record_type, record_id, shared_activities)
    return (f"SELECT {_TASK_FIELDS} FROM Task WHERE {owner} "
            f"AND {_TASK_LIST_FILTER[kind]} ORDER BY {_TASK_ORDER[kind]} LIMIT {TASK_PAGE_SIZE + 1} OFFSET {offset}")


def task_by_id(task_id: str) -> str:
    return format_soql(f"SELECT {_TASK_FIELDS} FROM Task WHERE Id = {{}}", task_id)


def task_of_record(task_id: str, record_type: str, record_id: str, *, shared_activities: bool = False) -> str:
    """The Task's Id when it is one of the record's (a Task the record's lists show), no row otherwise: what an
    edit or mark-done through the record may change. Ids compare in SOQL, 15 or 18 characters alike. Sent to
    queryAll, so an archived past activity can be corrected too (archived records stay updatable)."""
    return (format_soql("SELECT Id FROM Task WHERE Id = {} AND IsDeleted = false AND ", task_id)
            + _task_owner_condition(record_type, record_id, shared_activities))


def shared_activities_probe() -> str:
    """Whether the org has Shared Activities: `TaskRelation` "is only available if you've enabled Shared Activities"
    (Object Reference, TaskRelation), so this answers rows or none with it and `INVALID_TYPE` without it. It rides
    in the lists' own composite request (panel.salesforce.tasks), costing no request of its own."""
    return "SELECT Id FROM TaskRelation LIMIT 1"


def task_contact_account(contact_id: str) -> str:
    """The Contact's Account, which a Task about the Contact may be related to."""
    return format_soql("SELECT Id, AccountId FROM Contact WHERE Id = {}", contact_id)


def task_account_with_opportunities(account_id: str) -> str:
    """An Account and its open Opportunities. `account_id` may be a composite reference (`@{ref.field}`), which
    Salesforce resolves before parsing, so it is quoted like a value."""
    return (f"SELECT Id, Name, (SELECT Id, Name, toLabel(StageName) FROM Opportunities WHERE IsClosed = false "
            f"ORDER BY CloseDate ASC LIMIT 20) FROM Account WHERE Id = '{_reference_or_escaped(account_id)}'")


TASKS_CONTRACT_QUERIES = [
    ("tasks: a contact's next steps", task_list("next_steps", "Contact", "003000000000001AAA")),
    ("tasks: an account's past activities, page 2", task_list("past_activities", "Account", "001000000000001AAA",
                                                              offset=10)),
    ("tasks: one by id", task_by_id("00T000000000001EAA")),
    ("tasks: one of an account's, before changing it", task_of_record("00T000000000001EAA", "Account",
                                                                       "001000000000001AAA")),
    ("tasks: a contact's account", task_contact_account("003000000000001AAA")),
    ("tasks: an account's open opportunities", task_account_with_opportunities("001000000000001AAA")),
]
CONTRACT_QUERIES.extend(TASKS_CONTRACT_QUERIES)
# Accepted only by an org with Shared Activities (INVALID_TYPE elsewhere, which the panel reads as "off"), so not
# in CONTRACT_QUERIES: tests/contract/test_shared_activities_contract.py runs them against such an org.
SHARED_ACTIVITIES_CONTRACT_QUERIES = [
    ("tasks: whether the org has shared activities", shared_activities_probe()),
    ("tasks: a contact's next steps, shared activities", task_list("next_steps", "Contact", "003000000000001AAA",
                                                                   shared_activities=True)),
    ("tasks: a lead's past activities, shared activities", task_list("past_activities", "Lead",
                                                                     "00Q000000000001EAA", shared_activities=True)),
    ("tasks: one of a contact's, before changing it, shared activities",
     task_of_record("00T000000000001EAA", "Contact", "003000000000001AAA", shared_activities=True)),
]


# Call logging ----------------------------------------------------------------------------------------------------
# One Task per call ID: before writing, the logger looks for the call's Task by CallObject (or by the admin's
# external-id field), so a retry after a lost answer finds the Task instead of creating a second one.
_CALL_TASK_FIELDS = "Id, Subject, Description, IsClosed, WhoId, WhatId, OwnerId, CallObject, CreatedDate"


def call_task_by_call_object(call_id: str) -> str:
    """The call's Tasks, oldest first (the oldest is the one every later write goes to)."""
    return format_soql(f"SELECT {_CALL_TASK_FIELDS} FROM Task WHERE CallObject = {{}} "
                       f"ORDER BY CreatedDate ASC, Id ASC LIMIT 10", call_id)


def call_task_by_id(task_id: str) -> str:
    return format_soql(f"SELECT {_CALL_TASK_FIELDS} FROM Task WHERE Id = {{}}", task_id)


def call_task_by_external_key(field_name: str, key: str) -> str:
    """`field_name` is the admin's configured external-id field (checked to be an API name: it is not a value)."""
    if not _API_NAME.match(field_name):
        raise ValueError(f"{field_name!r} is not a Salesforce field API name")
    return format_soql(f"SELECT {_CALL_TASK_FIELDS} FROM Task WHERE {field_name} = {{}} LIMIT 1", key)


def call_owner_by_login(login: str) -> str:
    """Active Users whose e-mail or username is the agent's login (the Task's owner when the integration user
    writes it)."""
    return format_soql("SELECT Id, Name, Email, Username, LanguageLocaleKey FROM User "
                       "WHERE IsActive = true AND (Email = {} OR Username = {}) ORDER BY CreatedDate ASC LIMIT 5",
                       login, login)


_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")

CALLS_CONTRACT_QUERIES = [
    ("calls: task by call object", call_task_by_call_object("call-0001")),
    ("calls: task by id", call_task_by_id("00T000000000001EAA")),
    ("calls: task by external key", call_task_by_external_key("Panel_Call_Key__c", "call-0001")),
    ("calls: owner by login", call_owner_by_login("agent@example.com")),
]
CONTRACT_QUERIES.extend(CALLS_CONTRACT_QUERIES)


# Task statuses ---------------------------------------------------------------------------------------------------
# The org's own values of the Task Status picklist (Object Reference, TaskStatus): which is the default, which are
# closed. Read once per org and cached (panel.salesforce.task_statuses).

def task_statuses() -> str:
    return "SELECT ApiName, MasterLabel, IsClosed, IsDefault, SortOrder FROM TaskStatus ORDER BY SortOrder ASC"


def task_status(closed: bool) -> str:
    """The status a write sets: the org's default open one (else its first open one), or its first closed one."""
    if closed:
        return "SELECT ApiName FROM TaskStatus WHERE IsClosed = true ORDER BY SortOrder ASC LIMIT 1"
    return "SELECT ApiName FROM TaskStatus WHERE IsClosed = false ORDER BY IsDefault DESC, SortOrder ASC LIMIT 1"


TASK_STATUSES_CONTRACT_QUERIES = [
    ("task statuses: every value", task_statuses()),
    ("task statuses: the open one to write", task_status(False)),
    ("task statuses: the closed one to write", task_status(True)),
]
CONTRACT_QUERIES.extend(TASK_STATUSES_CONTRACT_QUERIES)
