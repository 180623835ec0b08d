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

__all__ = [
    "CONTACT_PHONE_FIELDS",
    "CREATABLE_TYPES",
    "PHONE_FIELDS",
    "ContactCard",
    "CreateRejected",
    "FieldProblem",
    "Match",
    "Opportunity",
    "create_record",
    "fetch_cards",
    "hidden_pop_fields",
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


@dataclass(frozen=True)
class ContactCard:
    """Everything the card shows for one record.

    `opportunities` are open ones, most relevant first: for a Contact those it has a contact role on (else its
    Account's, marked `via_account`), for an Account its own. `opportunities_known` is False when they were not
    read (the card came from the search alone): the card then loads its stage with its task lists. `lead_status`
    is set for Leads only. `url` is the Lightning record page, which must open in a new tab (Salesforce refuses to
    be framed).
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


def lightning_url(instance_url: str, record_type: str, record_id: str) -> str:
    return f"{instance_url.rstrip('/')}/lightning/r/{record_type}/{quote(record_id, safe='')}/view"


# -- the SOSL half ------------------------------------------------------------------------------------------------

def search_phone(client, find_clause: str, *, hidden: frozenset[str] = queries.NOTHING_HIDDEN) -> list[Match]:
    """SOSL over every phone field the pop reads (one API request). `find_clause` is the escaped `{…}` part;
    `hidden` the fields to leave out ("Object.Field", hidden from the user by field-level security)."""
    return [_match(record) for record in client.search(queries.screen_pop_phone_search(find_clause, hidden))]


def search_cards(client, find_clause: str, *, hidden: frozenset[str] = queries.NOTHING_HIDDEN
                 ) -> list[ContactCard]:
    """The screen pop's search (one API request): cards for every hit, without opportunities (SOSL cannot read
    them). Hits are not verified yet: SOSL matches tokens, not numbers."""
    return [_card(client.instance_url, _sobject_type(record), record, (),
                  opportunities_known=_sobject_type(record) == "Lead")
            for record in client.search(queries.screen_pop_phone_search(find_clause, hidden))
            if _sobject_type(record) in PHONE_FIELDS]


def search_text(client, find_clause: str, *, hidden: frozenset[str] = queries.NOTHING_HIDDEN) -> list[Match]:
    """The manual search box: names, companies, e-mails (one API request, SOSL IN ALL FIELDS)."""
    return [_match(record) for record in client.search(queries.screen_pop_text_search(find_clause, hidden))]


def _sobject_type(record: Mapping) -> str:
    return (record.get("attributes") or {}).get("type") or ""


def _match(record: Mapping) -> Match:
    record_type = _sobject_type(record)
    return Match(
        record_id=record["Id"],
        record_type=record_type,
        name=record.get("Name"),
        company=_company(record_type, record),
        title=record.get("Title"),
        owner_name=_parent_value(record, "Owner", "Name"),
        email=record.get("Email"),
        account_id=record.get("AccountId"),
        phones={name: record.get(name) for name in PHONE_FIELDS.get(record_type, ()) if name in record},
        last_modified=record.get("LastModifiedDate"),
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
                hidden: frozenset[str] = queries.NOTHING_HIDDEN) -> list[ContactCard]:
    """Cards for these records and for every record changed since `changed_since`, in one composite request.

    `ids` maps record type to Ids; `account_ids` are Accounts whose open opportunities a Contact card falls back
    to (the Contacts' AccountIds) — they are read but only returned when listed in `ids` or recently changed.
    `phone_patterns` (SOQL LIKE patterns, panel.phone.recent_change_patterns) narrow the recently changed records
    to those with a phone value that may be the caller's. `hidden` fields are left out of every query.
    """
    ids = {record_type: sorted(set(ids.get(record_type, ()))) for record_type in PHONE_FIELDS} if ids else {}
    wanted_accounts = sorted(set(ids.get("Account", [])) | set(account_ids))
    soql = {
        "Contact": queries.screen_pop_contact_cards(ids.get("Contact", []), changed_since, phone_patterns, hidden),
        "Account": queries.screen_pop_account_cards(wanted_accounts, changed_since, phone_patterns, hidden),
        "Lead": queries.screen_pop_lead_cards(ids.get("Lead", []), changed_since, phone_patterns, hidden),
    }
    requests = [_query_subrequest(client, soql[record_type], record_type) for record_type in soql
                if soql[record_type]]
    if not requests:
        return []
    answers = client.composite(requests)
    rows = {record_type: _records_of(answer) for record_type, answer in zip(
        [r["referenceId"] for r in requests], answers)}
    return _cards_from_rows(client.instance_url, rows, requested_accounts=set(ids.get("Account", [])),
                            changed_since=changed_since)


def hidden_pop_fields(client) -> frozenset[str]:
    """Which of the pop's fields field-level security hides from the client's user ("Object.Field"), from the
    describe of Contact, Account and Lead: one composite request. A field the user cannot see is absent there."""
    objects = list(queries.HIDEABLE_POP_FIELDS)
    answers = client.composite([{"method": "GET", "referenceId": sobject,
                                 "url": f"/services/data/v{client.api_version}/sobjects/{sobject}/describe"}
                                for sobject in objects])
    hidden = set()
    for sobject, answer in zip(objects, answers):
        body = answer.get("body") if answer.get("httpStatusCode") == 200 else None
        if not isinstance(body, dict) or not isinstance(body.get("fields"), list):
            continue  # the object itself is not readable: its own queries fail, as they would anyway
        visible = {entry.get("name") for entry in body["fields"] if isinstance(entry, dict)}
        hidden.update(f"{sobject}.{name}" for name in queries.HIDEABLE_POP_FIELDS[sobject] if name not in visible)
    return frozenset(hidden)


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


def _cards_from_rows(instance_url: str, rows: Mapping[str, list[dict]], *, requested_accounts: set[str],
                     changed_since: datetime | None) -> list[ContactCard]:
    account_opportunities = {}
    cards: list[ContactCard] = []
    for record in rows.get("Account", []):
        opportunities = tuple(_account_opportunities(record))
        account_opportunities[record["Id"]] = opportunities
        if record["Id"] in requested_accounts or _changed_after(record, changed_since):
            cards.append(_card(instance_url, "Account", record, opportunities))
    for record in rows.get("Contact", []):
        own = tuple(_role_opportunities(record))
        known = True
        if not own and record.get("AccountId"):
            # The Account's opportunities stand in; when it was not read, the card loads them with its lists.
            known = record["AccountId"] in account_opportunities
            own = _via_account(account_opportunities.get(record["AccountId"], ()))
        cards.append(_card(instance_url, "Contact", record, own, opportunities_known=known))
    for record in rows.get("Lead", []):
        cards.append(_card(instance_url, "Lead", record, ()))
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
          opportunities_known: bool = True):
    match = _match({**record, "attributes": {"type": record_type}})
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
                  hidden: frozenset[str] = queries.NOTHING_HIDDEN) -> ContactCard:
    """Create a Lead or Contact and read its card back (without the `hidden` fields), in one composite request
    (allOrNone).

    Raises CreateRejected with Salesforce's per-field messages when the record is refused, and the read-back's
    INVALID_FIELD as a SalesforceRequestError when it names a field the user cannot see (nothing was created).
    """
    if record_type not in CREATABLE_TYPES:
        raise ValueError(f"quick create makes Leads and Contacts, not {record_type}")
    version = client.api_version
    read_back = queries.screen_pop_card_by_id(record_type, f"@{{{_NEW_RECORD_REF}.id}}", hidden)
    encoded = urlencode({"q": read_back}).replace(quote(f"@{{{_NEW_RECORD_REF}.id}}", safe=""),
                                                   f"@{{{_NEW_RECORD_REF}.id}}")
    answers = client.composite([
        {"method": "POST", "referenceId": _NEW_RECORD_REF, "url": f"/services/data/v{version}/sobjects/{record_type}",
         "body": dict(values)},
        {"method": "GET", "referenceId": "card", "url": f"/services/data/v{version}/query?{encoded}"},
    ], all_or_none=True)
    refused = answers[1].get("body") if answers[1].get("httpStatusCode", 500) >= 400 else None
    if isinstance(refused, list) and refused and isinstance(refused[0], Mapping) \
            and refused[0].get("errorCode") == "INVALID_FIELD":
        _records_of(answers[1])  # raises it: allOrNone rolled the create back, so asking again creates one record
    created = answers[0]
    if created.get("httpStatusCode", 500) >= 400:
        raise CreateRejected(_problems(created.get("body")))
    records = _records_of(answers[1])
    if not records:
        raise SalesforceRequestError("the new record could not be read back", error_code=None, status=404)
    return _cards_from_rows(client.instance_url, {record_type: records}, requested_accounts=set(),
                            changed_since=None)[0]


def _problems(body) -> list[FieldProblem]:
    problems = []
    for error in body if isinstance(body, list) else []:
        if not isinstance(error, Mapping):
            continue
        fields = error.get("fields") or [None]
        for name in fields:
            problems.append(FieldProblem(name, str(error.get("message") or ""), str(error.get("errorCode") or "")))
    return problems or [FieldProblem(None, "Salesforce refused the record", "UNKNOWN")]
