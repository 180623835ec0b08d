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
# The phone fields the pop searches and reads, per object: the one list (panel.salesforce.contacts and the doctor
# take theirs from here).
POP_PHONE_FIELDS = {"Contact": ("Phone", "MobilePhone", "HomePhone", "OtherPhone", "AssistantPhone"),
                    "Account": ("Phone",), "Lead": ("Phone", "MobilePhone")}
_POP_DETAILS = {
    "Contact": ("Id", "Name", "Title", "Email", "AccountId", "Account.Name", "Owner.Name", "LastModifiedDate",
                *POP_PHONE_FIELDS["Contact"]),
    "Account": ("Id", "Name", *POP_PHONE_FIELDS["Account"], "Owner.Name", "LastModifiedDate"),
    "Lead": ("Id", "Name", "Title", "Email", "Company", "Status", "Owner.Name", "LastModifiedDate",
             *POP_PHONE_FIELDS["Lead"]),
}
# The manual search box's hits show less than a card (no Lead status; a Contact's first two phones).
_TEXT_SEARCH_FIELDS = {
    "Contact": ("Id", "Name", "Title", "Email", "AccountId", "Account.Name", "Owner.Name", "Phone", "MobilePhone",
                "LastModifiedDate"),
    "Account": _POP_DETAILS["Account"],
    "Lead": ("Id", "Name", "Title", "Email", "Company", "Owner.Name", "Phone", "MobilePhone", "LastModifiedDate"),
}
_CONTACT_ROLES = ("(SELECT OpportunityId, IsPrimary, Opportunity.Name, Opportunity.StageName, "
                  "Opportunity.CloseDate, Opportunity.IsClosed FROM OpportunityContactRoles)")
_OPEN_OPPORTUNITIES = ("(SELECT Id, Name, StageName, CloseDate, IsClosed FROM Opportunities WHERE IsClosed = false "
                       "ORDER BY CloseDate ASC LIMIT 5)")
_POP_CHILDREN = {"Contact": _CONTACT_ROLES, "Account": _OPEN_OPPORTUNITIES, "Lead": None}
# The pop's fields that field-level security can hide from a user (required fields it cannot). Salesforce refuses
# a whole query or search that names a field its user cannot see, so every screen-pop statement below takes
# `hidden`, "Object.Field" names to leave out (panel.callers.lookup learns them from describe when a pop is refused).
HIDEABLE_POP_FIELDS = {"Contact": ("Title", "Email", "AccountId", *POP_PHONE_FIELDS["Contact"]),
                       "Account": POP_PHONE_FIELDS["Account"],
                       "Lead": ("Title", "Email", *POP_PHONE_FIELDS["Lead"])}
NOTHING_HIDDEN: frozenset[str] = frozenset()
# A number can be every Contact's company main line; more hits than this are not a screen pop any more.
POP_MAX_PER_OBJECT = 50
POP_CARD_ROWS = 2000  # one page of query results


def _hidden_of(sobject: str, hidden: frozenset[str]) -> set[str]:
    """The lower-case names of `sobject`'s hidden fields, with the parent fields read through a hidden lookup."""
    gone = {name.partition(".")[2].lower() for name in hidden if name.partition(".")[0] == sobject}
    if "accountid" in gone:
        gone.add("account.name")
    return gone


def _visible(names: tuple[str, ...], sobject: str, hidden: frozenset[str]) -> str:
    """`names` as a field list, without those hidden from the user."""
    gone = _hidden_of(sobject, hidden) if hidden else set()
    return ", ".join(name for name in names if name.lower() not in gone)


def _details(sobject: str, hidden: frozenset[str]) -> str:
    """The card's plain fields for `sobject`, without those hidden from the user."""
    return _visible(_POP_DETAILS[sobject], sobject, hidden)


def _card_fields(sobject: str, hidden: frozenset[str]) -> str:
    """Every field of a card: the plain ones, then the opportunities' child subquery (Contacts, Accounts)."""
    children = _POP_CHILDREN[sobject]
    return f"{_details(sobject, hidden)}, {children}" if children else _details(sobject, hidden)


def visible_phone_fields(sobject: str, hidden: frozenset[str] = NOTHING_HIDDEN) -> tuple[str, ...]:
    gone = _hidden_of(sobject, hidden)
    return tuple(name for name in POP_PHONE_FIELDS[sobject] if name.lower() not in gone)


def screen_pop_phone_search(find_clause: str, hidden: frozenset[str] = NOTHING_HIDDEN) -> str:
    """SOSL for a caller's number, with every card field but the opportunities (SOSL takes no child subqueries).
    `find_clause` is `panel.phone.sosl_find_clause(...)`: every term escaped."""
    return (f"FIND {find_clause} IN PHONE FIELDS RETURNING "
            f"Contact({_details('Contact', hidden)} LIMIT {POP_MAX_PER_OBJECT}), "
            f"Account({_details('Account', hidden)} LIMIT {POP_MAX_PER_OBJECT}), "
            f"Lead({_details('Lead', hidden)} WHERE IsConverted = false LIMIT {POP_MAX_PER_OBJECT})")


def screen_pop_text_search(find_clause: str, hidden: frozenset[str] = NOTHING_HIDDEN) -> str:
    """SOSL for the manual search box (names, companies, e-mails); `find_clause` escaped like the phone search."""
    return (f"FIND {find_clause} IN ALL FIELDS RETURNING "
            f"Contact({_visible(_TEXT_SEARCH_FIELDS['Contact'], 'Contact', hidden)} "
            f"ORDER BY LastModifiedDate DESC LIMIT 20), "
            f"Account({_visible(_TEXT_SEARCH_FIELDS['Account'], 'Account', hidden)} "
            f"ORDER BY LastModifiedDate DESC LIMIT 20), "
            f"Lead({_visible(_TEXT_SEARCH_FIELDS['Lead'], 'Lead', hidden)} "
            f"WHERE IsConverted = false ORDER BY LastModifiedDate DESC LIMIT 20)")


def _screen_pop_where(sobject: str, ids, changed_since, phone_patterns=(),
                      hidden: frozenset[str] = NOTHING_HIDDEN) -> str | None:
    """`Id IN (…) OR (LastModifiedDate > … AND (Phone LIKE … OR …))`: the verified SOSL hits plus whatever the
    search index cannot see yet, narrowed to phone values that may hold the number (panel.phone.
    recent_change_patterns) so a busy org's other changes are not read on every pop. Phone fields hidden from the
    user are left out; with none left, so are the recent changes (no visible number could be the caller's).

    The card queries sort oldest change first: the SOSL hits (older than the window) always fit in the first page.
    """
    conditions = []
    if ids:
        conditions.append(format_soql("Id IN {}", list(ids)))
    phones = visible_phone_fields(sobject, hidden)
    if changed_since is not None and phones:
        recent = format_soql("LastModifiedDate > {}", changed_since)
        likes = [format_soql(f"{name} LIKE {{}}", pattern) for name in phones for pattern in phone_patterns]
        conditions.append(f"({recent} AND ({' OR '.join(likes)}))" if likes else recent)
    return " OR ".join(conditions) if conditions else None


def screen_pop_contact_cards(ids, changed_since, phone_patterns=(), hidden: frozenset[str] = NOTHING_HIDDEN
                             ) -> str | None:
    where = _screen_pop_where("Contact", ids, changed_since, phone_patterns, hidden)
    return where and (f"SELECT {_card_fields('Contact', hidden)} FROM Contact WHERE {where} "
                      f"ORDER BY LastModifiedDate ASC LIMIT {POP_CARD_ROWS}")


def screen_pop_account_cards(ids, changed_since, phone_patterns=(), hidden: frozenset[str] = NOTHING_HIDDEN
                             ) -> str | None:
    where = _screen_pop_where("Account", ids, changed_since, phone_patterns, hidden)
    return where and (f"SELECT {_card_fields('Account', hidden)} FROM Account WHERE {where} "
                      f"ORDER BY LastModifiedDate ASC LIMIT {POP_CARD_ROWS}")


def screen_pop_lead_cards(ids, changed_since, phone_patterns=(), hidden: frozenset[str] = NOTHING_HIDDEN
                          ) -> str | None:
    where = _screen_pop_where("Lead", ids, changed_since, phone_patterns, hidden)
    return where and (f"SELECT {_card_fields('Lead', hidden)} FROM Lead WHERE IsConverted = false AND ({where}) "
                      f"ORDER BY LastModifiedDate ASC LIMIT {POP_CARD_ROWS}")


def screen_pop_card_by_id(record_type: str, record_id: str, hidden: frozenset[str] = NOTHING_HIDDEN) -> str:
    """One card's query; `record_id` may be a composite reference such as `@{newRecord.id}`."""
    return format_soql(f"SELECT {_card_fields(record_type, hidden)} FROM {record_type} WHERE Id = {{}}", record_id)


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
        '{"0312345678"}', frozenset({"Contact.HomePhone", "Contact.AccountId", "Lead.Email", "Account.Phone"}))),
    ("screen pop: cards without fields hidden from the user", screen_pop_contact_cards(
        ["003000000000001AAA"], datetime(2024, 1, 1, tzinfo=timezone.utc), ["%678%"],
        frozenset({"Contact.HomePhone", "Contact.Title"}))),
    ("screen pop: an account's stage", card_stage_account("001000000000001AAA")),
]

CONTRACT_QUERIES.extend(SCREEN_POP_CONTRACT_QUERIES)


# Tasks under the card --------------------------------------------------------------------------------------------
# Top-level Task queries rather than OpenActivities/ActivityHistories subqueries: those impose their own order
# (undated open Tasks first) and cannot be paged with OFFSET. A Contact's or Lead's Tasks hang off WhoId; an
# Account's off WhatId or AccountId (its Contacts' and Opportunities' Tasks too, as Salesforce's timeline shows).
TASK_PAGE_SIZE = 10
TASK_MAX_OFFSET = 2000  # SOQL's largest OFFSET; past it "View all in Salesforce" takes over
_TASK_FIELDS = ("Id, Subject, Description, Status, Priority, ActivityDate, IsClosed, TaskSubtype, CallType, "
                "CallDurationInSeconds, CallDisposition, CallObject, WhoId, Who.Name, WhatId, What.Name, "
                "Owner.Name, CompletedDateTime, LastModifiedDate")
_TASK_ORDER = {
    "next_steps": "ActivityDate ASC NULLS LAST, CreatedDate ASC, Id ASC",
    "past_activities": "CompletedDateTime DESC NULLS LAST, LastModifiedDate DESC, Id DESC",
}


def _task_owner_condition(record_type: str, record_id: str) -> str:
    if record_type == "Account":
        return format_soql("(WhatId = {} OR AccountId = {})", record_id, record_id)
    if record_type in ("Contact", "Lead"):
        return format_soql("WhoId = {}", record_id)
    raise ValueError(f"Tasks are listed for Contacts, Leads and Accounts, not {record_type!r}")


def task_list(kind: str, record_type: str, record_id: str, *, offset: int = 0) -> str:
    """One page of a record's open (next steps) or closed (past activities) Tasks, plus one row that says whether
    there is more."""
    closed = {"next_steps": "false", "past_activities": "true"}[kind]
    offset = max(0, min(int(offset), TASK_MAX_OFFSET))
    return (f"SELECT {_TASK_FIELDS} FROM Task WHERE {_task_owner_condition(record_type, record_id)} "
            f"AND IsClosed = {closed} ORDER BY {_TASK_ORDER[kind]} LIMIT {TASK_PAGE_SIZE + 1} OFFSET {offset}")


def task_by_id(task_id: str) -> str:
    return format_soql(f"SELECT {_TASK_FIELDS} FROM Task WHERE Id = {{}}", task_id)


def task_contact_account(contact_id: str) -> str:
    """The Contact's Account, which a Task about the Contact may be related to."""
    return format_soql("SELECT Id, AccountId FROM Contact WHERE Id = {}", contact_id)


def task_account_with_opportunities(account_id: str) -> str:
    """An Account and its open Opportunities. `account_id` may be a composite reference (`@{ref.field}`), which
    Salesforce resolves before parsing, so it is quoted like a value."""
    return (f"SELECT Id, Name, (SELECT Id, Name, StageName FROM Opportunities WHERE IsClosed = false "
            f"ORDER BY CloseDate ASC LIMIT 20) FROM Account WHERE Id = '{_reference_or_escaped(account_id)}'")


TASKS_CONTRACT_QUERIES = [
    ("tasks: a contact's next steps", task_list("next_steps", "Contact", "003000000000001AAA")),
    ("tasks: an account's past activities, page 2", task_list("past_activities", "Account", "001000000000001AAA",
                                                              offset=10)),
    ("tasks: one by id", task_by_id("00T000000000001EAA")),
    ("tasks: a contact's account", task_contact_account("003000000000001AAA")),
    ("tasks: an account's open opportunities", task_account_with_opportunities("001000000000001AAA")),
]
CONTRACT_QUERIES.extend(TASKS_CONTRACT_QUERIES)


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
