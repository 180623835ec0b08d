"""Reading and creating the people a call may belong to: Contacts, Accounts and Leads.

The screen pop costs two API requests, sent at the same time, so it waits for one round trip. Salesforce's
composite resource accepts sObject, query and queryAll subrequests but not search, so the SOSL phone search cannot
share a request with the queries:

1. `search_cards`: one SOSL `FIND {…} IN PHONE FIELDS` over every phone field the pop reads, returning every card
   field SOSL can: parent fields such as Account.Name and Owner.Name, but no child subqueries, so the opportunity
   stage of a Contact or Account found this way is not known yet (`ContactCard.opportunities_known`).
2. `fetch_cards`: one composite request (three queries) that reads every Contact, Account and Lead changed since
   `since`, and records asked for by Id (the remembered pick), with their opportunities. Salesforce's search index
   lags behind writes by minutes, so a Lead created a moment ago is invisible to SOSL; this half finds it anyway.

A card whose opportunities were not read gets its stage with its task lists: `stage_subrequests` ride in the
lists' composite (`panel.salesforce.tasks.load_lists`), so the stage costs no request of its own.

Everything returned is a plain dataclass; every text value in it came from Salesforce and is untrusted.
Nothing here imports Flask.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Iterable, Mapping, Sequence
from urllib.parse import quote, urlencode

from panel.salesforce import queries
from panel.salesforce.errors import SalesforceRequestError
from panel.salesforce.queries import STANDARD, PopFields

__all__ = [
    "CONTACT_PHONE_FIELDS",
    "CREATABLE_TYPES",
    "PHONE_FIELDS",
    "ContactCard",
    "CreateRejected",
    "Duplicate",
    "DuplicatesDetected",
    "FieldProblem",
    "Match",
    "Opportunity",
    "PopFields",
    "create_record",
    "describe_pop_fields",
    "fetch_cards",
    "search_cards",
    "search_phone",
    "stage_from_answers",
    "stage_subrequests",
    "search_text",
]

PHONE_FIELDS: dict[str, tuple[str, ...]] = queries.POP_PHONE_FIELDS
CONTACT_PHONE_FIELDS = PHONE_FIELDS["Contact"]
CREATABLE_TYPES = ("Lead", "Contact")
_NEW_RECORD_REF = "newRecord"


@dataclass(frozen=True)
class Opportunity:
    """An open opportunity shown on a card; `via_account` when it came from the Contact's Account, not a role."""

    record_id: str
    name: str | None
    stage: str | None
    close_date: str | None = None
    is_primary_role: bool = False
    via_account: bool = False


@dataclass(frozen=True)
class Match:
    """One search hit: enough to verify it by phone and to list it for a pick, not yet a full card."""

    record_id: str
    record_type: str  # "Contact" | "Account" | "Lead"
    name: str | None = None
    company: str | None = None
    title: str | None = None
    owner_name: str | None = None
    email: str | None = None
    account_id: str | None = None
    phones: dict[str, str | None] = field(default_factory=dict)
    last_modified: str | None = None
    is_person: bool = False  # a person account (Account) or a person contact (Contact): `ContactCard.is_person`
    person_contact_id: str | None = None

    @property
    def is_person_account(self) -> bool:
        return self.is_person and self.record_type == "Account"


@dataclass(frozen=True)
class ContactCard:
    """Everything the card shows for one record.

    `opportunities` are open ones, most relevant first: for a Contact those it has a contact role on (else its
    Account's, marked `via_account`), for an Account its own. `opportunities_known` is False when they were not
    read (the card came from the search alone): the card then loads its stage with its task lists. `lead_status`
    is set for Leads only. `url` is the Lightning record page, which must open in a new tab (Salesforce refuses to
    be framed).

    In an org with Person Accounts, `is_person` marks a person account (an Account: the card shows the person,
    `person_contact_id` is its person contact, the Task's WhoId) or a person contact (a Contact: the same person,
    whom the pop shows once, as the account).
    """

    record_id: str
    record_type: str
    name: str | None
    url: str
    title: str | None = None
    company: str | None = None
    account_id: str | None = None
    owner_name: str | None = None
    email: str | None = None
    phones: dict[str, str | None] = field(default_factory=dict)
    opportunities: tuple[Opportunity, ...] = ()
    lead_status: str | None = None
    last_modified: str | None = None
    opportunities_known: bool = True
    is_person: bool = False
    person_contact_id: str | None = None

    @property
    def is_person_account(self) -> bool:
        return self.is_person and self.record_type == "Account"

    @property
    def stage(self) -> str | None:
        """The one stage the card headlines: the most relevant open opportunity's, or a Lead's status."""
        if self.record_type == "Lead":
            return self.lead_status
        return self.opportunities[0].stage if self.opportunities else None


@dataclass(frozen=True)
class FieldProblem:
    field: str | None  # the API field name Salesforce blamed, None for the record as a whole
    message: str
    code: str


class CreateRejected(Exception):
    """Salesforce refused to create the record (validation rule, duplicate rule, required field...)."""

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        super().__init__("; ".join(p.message for p in problems) or "the record was not created")
        self.problems = tuple(problems)


@dataclass(frozen=True)
class Duplicate:
    """An existing record the org's duplicate rules matched to the one being created: what the agent needs to
    recognise it (the rules' answer carries the record's own fields, not its owner's or account's names)."""

    record_id: str
    record_type: str
    name: str | None
    company: str | None = None
    title: str | None = None
    email: str | None = None
    phone: str | None = None


class DuplicatesDetected(CreateRejected):
    """The org's duplicate rules refused the new record (`DUPLICATES_DETECTED`). `duplicates` are the existing
    records they matched; `allow_save` when every rule that fired only alerts, so the same values may be saved by
    asking again with `allow_duplicates=True` (a blocking rule never lets them through)."""

    def __init__(self, problems: Sequence[FieldProblem], duplicates: Sequence[Duplicate], allow_save: bool) -> None:
        super().__init__(problems)
        self.duplicates = tuple(duplicates)
        self.allow_save = allow_save


def lightning_url(instance_url: str, record_type: str, record_id: str) -> str:
    return f"{instance_url.rstrip('/')}/lightning/r/{record_type}/{quote(record_id, safe='')}/view"


# -- the SOSL half ------------------------------------------------------------------------------------------------

def _search(client, sosl: str | None) -> list[dict]:
    """A search's records; none, without a request, when the user may search none of the pop's objects."""
    return list(client.search(sosl)) if sosl else []


def search_phone(client, find_clause: str, *, fields: PopFields = STANDARD) -> list[Match]:
    """SOSL over every phone field (one API request). `find_clause` is the escaped `{…}` part; `fields` what the
    user's org lets the statement name (`PopFields`)."""
    return [_match(record, fields) for record in _search(client, queries.screen_pop_phone_search(find_clause, fields))]


def search_cards(client, find_clause: str, *, fields: PopFields = STANDARD) -> list[ContactCard]:
    """The screen pop's search (one API request): cards for every hit, without opportunities (SOSL cannot read
    them). Hits are not verified yet: SOSL matches tokens, not numbers."""
    return [_card(client.instance_url, _sobject_type(record), record, (), fields,
                  opportunities_known=_sobject_type(record) == "Lead")
            for record in _search(client, queries.screen_pop_phone_search(find_clause, fields))
            if _sobject_type(record) in PHONE_FIELDS]


def search_text(client, find_clause: str, *, fields: PopFields = STANDARD) -> list[Match]:
    """The manual search box: names, companies, e-mails (one API request, SOSL IN ALL FIELDS)."""
    return [_match(record, fields) for record in _search(client, queries.screen_pop_text_search(find_clause, fields))]


def _sobject_type(record: Mapping) -> str:
    return (record.get("attributes") or {}).get("type") or ""


def _match(record: Mapping, fields: PopFields) -> Match:
    record_type = _sobject_type(record)
    person = record.get("IsPersonAccount") is True
    person_account = person and record_type == "Account"  # the person's title and e-mail, and no company
    return Match(
        record_id=record["Id"],
        record_type=record_type,
        name=record.get("Name"),
        company=None if person_account else _company(record_type, record),
        title=record.get("PersonTitle" if person_account else "Title"),
        owner_name=_parent_value(record, "Owner", "Name"),
        email=record.get("PersonEmail" if person_account else "Email"),
        account_id=record.get("AccountId"),
        phones={name: record.get(name) for name in fields.phones_of(record_type) if name in record},
        last_modified=record.get("LastModifiedDate"),
        is_person=person,
        person_contact_id=record.get("PersonContactId") if person_account else None,
    )


def _parent_value(record: Mapping, relationship: str, name: str):
    parent = record.get(relationship)
    return parent.get(name) if isinstance(parent, Mapping) else None


def _company(record_type: str, record: Mapping) -> str | None:
    if record_type == "Lead":
        return record.get("Company")
    if record_type == "Account":
        return record.get("Name")
    return _parent_value(record, "Account", "Name")


# -- the composite half -------------------------------------------------------------------------------------------

def fetch_cards(client, *, ids: Mapping[str, Iterable[str]] | None = None, changed_since: datetime | None = None,
                account_ids: Iterable[str] = (), phone_patterns: Sequence[str] = (),
                fields: PopFields = STANDARD) -> list[ContactCard]:
    """Cards for these records and for every record changed since `changed_since`, in one composite request.

    `ids` maps record type to Ids; `account_ids` are Accounts whose open opportunities a Contact card falls back
    to (the Contacts' AccountIds) — they are read but only returned when listed in `ids` or recently changed.
    `phone_patterns` (SOQL LIKE patterns, panel.phone.recent_change_patterns) narrow the recently changed records
    to those with a phone value that may be the caller's. `fields` says what the user's org lets them name.
    """
    ids = {record_type: sorted(set(ids.get(record_type, ()))) for record_type in PHONE_FIELDS} if ids else {}
    wanted_accounts = sorted(set(ids.get("Account", [])) | set(account_ids))
    soql = {
        "Contact": queries.screen_pop_contact_cards(ids.get("Contact", []), changed_since, phone_patterns, fields),
        "Account": queries.screen_pop_account_cards(wanted_accounts, changed_since, phone_patterns, fields),
        "Lead": queries.screen_pop_lead_cards(ids.get("Lead", []), changed_since, phone_patterns, fields),
    }
    requests = [_query_subrequest(client, soql[record_type], record_type) for record_type in soql
                if soql[record_type]]
    if not requests:
        return []
    answers = client.composite(requests)
    rows = {record_type: _records_of(answer) for record_type, answer in zip(
        [r["referenceId"] for r in requests], answers)}
    return _cards_from_rows(client.instance_url, rows, fields, requested_accounts=set(ids.get("Account", [])),
                            changed_since=changed_since)


def describe_pop_fields(client) -> PopFields:
    """What the client's user may name in the pop's statements, from the describe of Contact, Account and Lead (one
    composite request; REST API Developer Guide, "sObject Describe"; the fields' properties are the Object
    Reference's `DescribeFieldResult`):

    - an object whose describe fails (404 for a user without Read on it) or says it is not `queryable` or not
      `searchable` is left out;
    - a field the user cannot see is absent from describe (field-level security): among `HIDEABLE_POP_FIELDS`,
      hidden;
    - the phone fields are every field whose `type` is "phone" (what SOSL's IN PHONE FIELDS searches, custom ones
      included, a person account's PersonMobilePhone and the like too); those describe calls not `filterable`
      (Shield Platform Encryption) are `unfilterable`;
    - an Account with `IsPersonAccount` means the org has Person Accounts (`PopFields.person_accounts`).
    """
    objects = list(queries.POP_OBJECTS)
    answers = client.composite([{"method": "GET", "referenceId": sobject,
                                 "url": f"/services/data/v{client.api_version}/sobjects/{sobject}/describe"}
                                for sobject in objects])
    hidden, unfilterable, unreadable, phones, person_accounts = set(), set(), set(), [], False
    for sobject, answer in zip(objects, answers):
        body = answer.get("body") if answer.get("httpStatusCode") == 200 else None
        if not isinstance(body, dict) or not isinstance(body.get("fields"), list) \
                or body.get("queryable") is False or body.get("searchable") is False:
            unreadable.add(sobject)
            continue
        described = {entry.get("name"): entry for entry in body["fields"]
                     if isinstance(entry, dict) and isinstance(entry.get("name"), str)}
        hidden.update(f"{sobject}.{name}" for name in queries.HIDEABLE_POP_FIELDS[sobject] if name not in described)
        own = tuple(name for name, entry in described.items() if entry.get("type") == "phone")
        phones.append((sobject, own))
        unfilterable.update(f"{sobject}.{name}" for name in own if described[name].get("filterable") is False)
        person_accounts = person_accounts or (sobject == "Account" and "IsPersonAccount" in described)
    return PopFields(hidden=frozenset(hidden), phones=tuple(phones), unfilterable=frozenset(unfilterable),
                     unreadable=frozenset(unreadable), person_accounts=person_accounts, described=True)


def _query_subrequest(client, soql: str, reference: str) -> dict:
    return {"method": "GET", "referenceId": reference,
            "url": f"/services/data/v{client.api_version}/query?{urlencode({'q': soql})}"}


def _records_of(answer: Mapping) -> list[dict]:
    status = answer.get("httpStatusCode", 500)
    body = answer.get("body")
    if status >= 400:
        errors = body if isinstance(body, list) else [{}]
        first = errors[0] if errors and isinstance(errors[0], Mapping) else {}
        raise SalesforceRequestError(first.get("message") or f"composite subrequest failed ({status})",
                                     **_error_details(first, status))
    return list((body or {}).get("records") or [])


def _error_details(error: Mapping, status: int) -> dict:
    return {"error_code": error.get("errorCode"), "status": status}


def _cards_from_rows(instance_url: str, rows: Mapping[str, list[dict]], fields: PopFields, *,
                     requested_accounts: set[str], changed_since: datetime | None) -> list[ContactCard]:
    account_opportunities = {}
    cards: list[ContactCard] = []
    for record in rows.get("Account", []):
        opportunities = tuple(_account_opportunities(record))
        account_opportunities[record["Id"]] = opportunities
        if record["Id"] in requested_accounts or _changed_after(record, changed_since):
            cards.append(_card(instance_url, "Account", record, opportunities, fields))
    for record in rows.get("Contact", []):
        own = tuple(_role_opportunities(record))
        known = True
        if not own and record.get("AccountId"):
            # The Account's opportunities stand in; when it was not read, the card loads them with its lists.
            known = record["AccountId"] in account_opportunities
            own = _via_account(account_opportunities.get(record["AccountId"], ()))
        cards.append(_card(instance_url, "Contact", record, own, fields, opportunities_known=known))
    for record in rows.get("Lead", []):
        cards.append(_card(instance_url, "Lead", record, (), fields))
    return cards


def _changed_after(record: Mapping, moment: datetime | None) -> bool:
    if moment is None:
        return False
    stamp = _datetime(record.get("LastModifiedDate"))
    return stamp is not None and stamp > moment


def _datetime(text) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _via_account(opportunities) -> tuple[Opportunity, ...]:
    return tuple(Opportunity(o.record_id, o.name, o.stage, o.close_date, via_account=True) for o in opportunities)


def _card(instance_url: str, record_type: str, record: Mapping, opportunities: tuple[Opportunity, ...],
          fields: PopFields, opportunities_known: bool = True):
    match = _match({**record, "attributes": {"type": record_type}}, fields)
    return ContactCard(
        record_id=match.record_id,
        record_type=record_type,
        name=match.name,
        url=lightning_url(instance_url, record_type, match.record_id),
        title=match.title,
        company=match.company,
        account_id=match.account_id,
        owner_name=match.owner_name,
        email=match.email,
        phones=match.phones,
        opportunities=opportunities,
        lead_status=record.get("Status") if record_type == "Lead" else None,
        last_modified=match.last_modified,
        opportunities_known=opportunities_known,
        is_person=match.is_person,
        person_contact_id=match.person_contact_id,
    )


def _children(record: Mapping, relationship: str) -> list[dict]:
    child = record.get(relationship)
    return list(child.get("records") or []) if isinstance(child, Mapping) else []


def _close_key(close_date) -> str:
    return close_date if isinstance(close_date, str) and close_date else date.max.isoformat()


def _role_opportunities(contact: Mapping) -> list[Opportunity]:
    """Open opportunities the Contact plays a role in: primary role first, then the nearest close date."""
    found: dict[str, Opportunity] = {}
    for role in _children(contact, "OpportunityContactRoles"):
        opportunity = role.get("Opportunity")
        if not isinstance(opportunity, Mapping) or opportunity.get("IsClosed"):
            continue
        record_id = role.get("OpportunityId") or opportunity.get("Id")
        candidate = Opportunity(record_id, opportunity.get("Name"), opportunity.get("StageName"),
                                opportunity.get("CloseDate"), is_primary_role=bool(role.get("IsPrimary")))
        if record_id not in found or candidate.is_primary_role:
            found[record_id] = candidate
    return sorted(found.values(), key=lambda o: (not o.is_primary_role, _close_key(o.close_date), o.record_id))


def _account_opportunities(account: Mapping) -> list[Opportunity]:
    opportunities = [Opportunity(o["Id"], o.get("Name"), o.get("StageName"), o.get("CloseDate"))
                     for o in _children(account, "Opportunities") if not o.get("IsClosed")]
    return sorted(opportunities, key=lambda o: (_close_key(o.close_date), o.record_id))


# -- a card's stage, read later -----------------------------------------------------------------------------------

_STAGE_REF = "cardStage"
_STAGE_ACCOUNT_REF = "cardStageAccount"


def stage_subrequests(client, record_type: str, record_id: str) -> list[dict]:
    """Composite subrequests that read the opportunities of a card found by the search alone; none for a Lead.

    A Contact's contact roles and, through a composite reference, its Account's open opportunities (the fallback)
    in two subrequests; an Account's own in one. Another feature's composite carries them (the task lists), so
    the stage costs no request of its own. Read the answers with `stage_from_answers`.
    """
    if record_type == "Account":
        return [_query_subrequest(client, queries.card_stage_account(record_id), _STAGE_REF)]
    if record_type != "Contact":
        return []
    reference = f"@{{{_STAGE_REF}.records[0].AccountId}}"
    account = _query_subrequest(client, queries.card_stage_account(reference), _STAGE_ACCOUNT_REF)
    account["url"] = account["url"].replace(quote(reference, safe=""), reference)
    return [_query_subrequest(client, queries.card_stage_contact(record_id), _STAGE_REF), account]


def stage_from_answers(record_type: str, answers: Sequence[Mapping]) -> tuple[Opportunity, ...] | None:
    """The card's open opportunities, most relevant first, from the answers to `stage_subrequests` (in order);
    None when Salesforce did not say (the record is gone or a subrequest failed)."""
    try:
        rows = _records_of(answers[0]) if answers else []
    except SalesforceRequestError:
        return None
    if not rows:
        return None
    if record_type == "Account":
        return tuple(_account_opportunities(rows[0]))
    own = tuple(_role_opportunities(rows[0]))
    if own or not rows[0].get("AccountId"):
        return own
    try:  # the Contact has an Account, so a failure of its subrequest leaves the stage unknown
        accounts = _records_of(answers[1]) if len(answers) > 1 else []
    except SalesforceRequestError:
        return None
    return _via_account(_account_opportunities(accounts[0])) if accounts else ()


# -- quick create -------------------------------------------------------------------------------------------------

def create_record(client, record_type: str, values: Mapping[str, str], *,
                  fields: PopFields = STANDARD, allow_duplicates: bool = False) -> ContactCard:
    """Create a Lead or Contact and read its card back (naming what `fields` allows), in one composite request
    (allOrNone).

    Raises CreateRejected with Salesforce's per-field messages when the record is refused, DuplicatesDetected when
    the org's duplicate rules matched existing records (`allow_duplicates` saves past rules that only alert), and
    the read-back's INVALID_FIELD as a SalesforceRequestError when it names a field the user cannot see (nothing
    was created).
    """
    if record_type not in CREATABLE_TYPES:
        raise ValueError(f"quick create makes Leads and Contacts, not {record_type}")
    version = client.api_version
    read_back = queries.screen_pop_card_by_id(record_type, f"@{{{_NEW_RECORD_REF}.id}}", fields)
    encoded = urlencode({"q": read_back}).replace(quote(f"@{{{_NEW_RECORD_REF}.id}}", safe=""),
                                                   f"@{{{_NEW_RECORD_REF}.id}}")
    answers = client.composite([
        {"method": "POST", "referenceId": _NEW_RECORD_REF, "url": f"/services/data/v{version}/sobjects/{record_type}",
         "body": dict(values), "httpHeaders": {DUPLICATE_RULE_HEADER: _duplicate_rule_options(allow_duplicates)}},
        {"method": "GET", "referenceId": "card", "url": f"/services/data/v{version}/query?{encoded}"},
    ], all_or_none=True)
    refused = answers[1].get("body") if answers[1].get("httpStatusCode", 500) >= 400 else None
    if isinstance(refused, list) and refused and isinstance(refused[0], Mapping) \
            and refused[0].get("errorCode") == "INVALID_FIELD":
        _records_of(answers[1])  # raises it: allOrNone rolled the create back, so asking again creates one record
    created = answers[0]
    if created.get("httpStatusCode", 500) >= 400:
        raise _rejection(created.get("body"))
    records = _records_of(answers[1])
    if not records:
        raise SalesforceRequestError("the new record could not be read back", error_code=None, status=404)
    return _cards_from_rows(client.instance_url, {record_type: records}, fields, requested_accounts=set(),
                            changed_since=None)[0]


# Duplicate rules (REST API Developer Guide, "Duplicate Rule Header", headers_duplicaterules.htm; API 52.0 and later,
# every option false unless sent): `allowSave` saves past rules that only alert, `includeRecordDetails` returns the
# duplicates' fields (their names, for the agent to recognise them), `runAsCurrentUser` applies the agent's sharing
# (only records the agent may open are offered). A composite subrequest carries it in its `httpHeaders`.
DUPLICATE_RULE_HEADER = "Sforce-Duplicate-Rule-Header"


def _duplicate_rule_options(allow_save: bool) -> str:
    return f"allowSave={'true' if allow_save else 'false'}; includeRecordDetails=true; runAsCurrentUser=true"


def _rejection(body) -> CreateRejected:
    """Salesforce's refusal of a create: `DuplicatesDetected` when duplicate rules alone refused it, whose errors
    are `{"errorCode": "DUPLICATES_DETECTED", "message", "duplicateResult": {"allowSave", "matchResults":
    [{"matchRecords": [{"record": {...}}]}]}}` (SOAP API Developer Guide, DuplicateError, DuplicateResult,
    MatchResult, MatchRecord)."""
    errors = [error for error in body if isinstance(error, Mapping)] if isinstance(body, list) else []
    results = [error.get("duplicateResult") for error in errors if error.get("errorCode") == "DUPLICATES_DETECTED"]
    if not errors or len(results) != len(errors) or not all(isinstance(r, Mapping) for r in results):
        return CreateRejected(_problems(body))
    found: dict[str, Duplicate] = {}
    for result in results:
        for match in result.get("matchResults") or []:
            for matched in (match.get("matchRecords") or []) if isinstance(match, Mapping) else []:
                record = matched.get("record") if isinstance(matched, Mapping) else None
                duplicate = _duplicate(record) if isinstance(record, Mapping) else None
                if duplicate is not None:
                    found.setdefault(duplicate.record_id, duplicate)
    return DuplicatesDetected(_problems(body), list(found.values()),
                              allow_save=all(result.get("allowSave") is True for result in results))


def _duplicate(record: Mapping) -> Duplicate | None:
    """A matched record as the agent is offered it; None for one the pop cannot open (no Id, another object)."""
    record_id = record.get("Id")
    attributes = record.get("attributes")
    record_type = attributes.get("type") if isinstance(attributes, Mapping) else None
    if not isinstance(record_id, str) or not record_id or record_type not in PHONE_FIELDS:
        return None
    name = record.get("Name") or " ".join(str(part) for part in (record.get("LastName"), record.get("FirstName"))
                                          if part) or None
    return Duplicate(record_id, record_type, name, company=record.get("Company"), title=record.get("Title"),
                     email=record.get("Email"), phone=record.get("Phone"))


def _problems(body) -> list[FieldProblem]:
    problems = []
    for error in body if isinstance(body, list) else []:
        if not isinstance(error, Mapping):
            continue
        fields = error.get("fields") or [None]
        for name in fields:
            problems.append(FieldProblem(name, str(error.get("message") or ""), str(error.get("errorCode") or "")))
    return problems or [FieldProblem(None, "Salesforce refused the record", "UNKNOWN")]
