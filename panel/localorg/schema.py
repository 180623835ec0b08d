"""The local org's data model: the standard objects the panel uses, described the way Salesforce describes them.

Everything else in the local org (validation on create/update, `describe`, the SOQL and SOSL engines, the seed) reads
this module, so a field exists, is required or is read-only in exactly one place. Names are stored with
Salesforce's canonical casing; lookups are case-insensitive like the API's.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping, Optional

from flask import g, has_request_context

# describe "type" values used here: id, string, textarea, phone, email, url, picklist, combobox, reference,
# boolean, date, datetime, int, double, currency, percent.
TEXT_TYPES = frozenset({"id", "string", "textarea", "phone", "email", "url", "picklist", "combobox", "reference"})
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent"})


def hidden_fields() -> frozenset[tuple[str, str]]:
    """(object, field) pairs, lower-case, that field-level security hides from the user of the API request being
    served (`POST /_admin/field_security`); none outside a request."""
    return g.get("hidden_fields", frozenset()) if has_request_context() else frozenset()


@dataclass(frozen=True)
class OrgFields:
    """What the org's configuration (`org_shape`, applied by `org_records.org_fields`) changes in this module's
    pristine schema for the request being served: fields it adds or replaces (custom phone fields, person account
    fields, encrypted fields), standard fields that exist only with a feature on (removed otherwise), and objects
    the requesting user may not read or may only read. Keys are lower-case."""

    added: Mapping[str, Mapping[str, "Field"]] = field(default_factory=dict)
    removed: frozenset[tuple[str, str]] = frozenset()
    unreadable: frozenset[str] = frozenset()
    read_only: frozenset[str] = frozenset()


PRISTINE = OrgFields()


def org_fields() -> OrgFields:
    """The request's `OrgFields` (set by the API gate); the pristine schema outside a request."""
    return g.get("org_fields", PRISTINE) if has_request_context() else PRISTINE


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    label: str = ""
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted_on_create: bool = False
    default_value: object = None
    reference_to: tuple[str, ...] = ()
    relationship_name: Optional[str] = None
    picklist_values: tuple[str, ...] = ()
    external_id: bool = False
    unique: bool = False
    calculated: bool = False
    name_field: bool = False
    searchable_phone: bool = False
    restricted_picklist: bool = False
    # Shield Platform Encryption's probabilistic scheme: readable, searchable by SOSL, but neither filterable nor
    # sortable in SOQL (describe says `filterable: false`, `sortable: false`).
    encrypted: bool = False

    @property
    def filterable(self) -> bool:
        """Whether SOQL may name it in WHERE or ORDER BY: not long text areas, not encrypted fields."""
        return not self.encrypted and not (self.type == "textarea" and self.length > 255)

    @property
    def required_on_create(self) -> bool:
        """Salesforce's rule: not nillable, createable and not defaulted means the caller must send it."""
        return self.createable and not self.nillable and not self.defaulted_on_create and self.type != "boolean"

    @property
    def polymorphic(self) -> bool:
        return len(self.reference_to) > 1


@dataclass(frozen=True)
class ChildRelationship:
    """A child relationship usable as a SOQL subquery, e.g. Contact.Tasks.

    `fields` are the child's reference fields pointing at the parent; a child row belongs to the parent when any
    of them equals the parent's Id (Account activities match on WhatId or AccountId). `kind` is "plain" for an
    ordinary relationship, "open_activities" / "activity_histories" for Salesforce's read-only activity views that
    are served from Task rows with their own ordering and limit rules.
    """

    name: str
    child_sobject: str
    fields: tuple[str, ...]
    kind: str = "plain"


@dataclass
class SObjectType:
    name: str
    key_prefix: Optional[str]
    label: str
    label_plural: str
    fields: dict[str, Field] = field(default_factory=dict)
    child_relationships: dict[str, ChildRelationship] = field(default_factory=dict)
    queryable: bool = True
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    searchable: bool = True
    # Virtual objects (OpenActivity, ActivityHistory) have no rows of their own: they are views over this object.
    view_of: Optional[str] = None

    def org_field(self, name: str) -> Optional[Field]:
        """The field by API name as the org is configured (`OrgFields`), whoever asks."""
        wanted = name.lower()
        shape = org_fields()
        added = shape.added.get(self.name.lower(), {}).get(wanted)
        if added is not None:
            return added
        return None if (self.name.lower(), wanted) in shape.removed else self.fields.get(wanted)

    def all_fields(self) -> list[Field]:
        """Every field of the object as the org is configured, in describe order (validation, stored records)."""
        shape = org_fields()
        own = self.name.lower()
        added = shape.added.get(own, {})
        kept = [added.get(key, f) for key, f in self.fields.items() if (own, key) not in shape.removed]
        return kept + [f for key, f in added.items() if key not in self.fields]

    def field(self, name: str) -> Optional[Field]:
        """The field by API name, as the requesting user sees it: None when field-level security hides it."""
        found = self.org_field(name)
        return None if found is not None and self.is_hidden(found) else found

    def is_hidden(self, f: Field) -> bool:
        return (self.name.lower(), f.name.lower()) in hidden_fields()

    def visible_fields(self) -> list[Field]:
        """Every field the requesting user may see (describe, SOSL scopes, a record read without a field list)."""
        hidden = hidden_fields()
        return [f for f in self.all_fields() if (self.name.lower(), f.name.lower()) not in hidden]

    @property
    def readable(self) -> bool:
        """Whether the requesting user may read this object at all (`object_access`: "none" makes it unreadable)."""
        return self.name.lower() not in org_fields().unreadable

    @property
    def writable(self) -> bool:
        """Whether the requesting user may create, update and delete this object's records."""
        return self.readable and self.name.lower() not in org_fields().read_only

    def child_relationship(self, name: str) -> Optional[ChildRelationship]:
        return self.child_relationships.get(name.lower())

    def parent_field(self, relationship_name: str) -> Optional[Field]:
        """The reference field behind a parent relationship name (`Account` → AccountId, `Who` → WhoId)."""
        wanted = relationship_name.lower()
        for f in self.all_fields():
            if f.relationship_name and f.relationship_name.lower() == wanted:
                return f
        return None

    @property
    def name_field(self) -> Optional[Field]:
        return next((f for f in self.fields.values() if f.name_field), None)

    @property
    def phone_fields(self) -> list[Field]:
        return [f for f in self.visible_fields() if f.type == "phone"]


def _f(name: str, type_: str, **kw) -> Field:
    label = kw.pop("label", None) or (name.removesuffix("Id") if type_ == "reference" else name)
    length = kw.pop("length", 0)
    if not length and type_ in ("string", "phone", "email", "url", "picklist", "combobox"):
        length = {"phone": 40, "email": 80, "picklist": 255, "combobox": 255}.get(type_, 255)
    if type_ == "id":
        length = 18
    if type_ == "reference":
        length = 18
    return Field(name=name, type=type_, label=label, length=length, **kw)


def _system_fields(owner: bool = True) -> list[Field]:
    ro = dict(createable=False, updateable=False, defaulted_on_create=True)
    fields = [
        _f("Id", "id", nillable=False, **ro),
        _f("IsDeleted", "boolean", nillable=False, default_value=False, **ro),
        _f("CreatedDate", "datetime", nillable=False, **ro),
        _f("CreatedById", "reference", nillable=False, reference_to=("User",), relationship_name="CreatedBy", **ro),
        _f("LastModifiedDate", "datetime", nillable=False, **ro),
        _f("LastModifiedById", "reference", nillable=False, reference_to=("User",),
           relationship_name="LastModifiedBy", **ro),
        _f("SystemModstamp", "datetime", nillable=False, **ro),
    ]
    if owner:
        # Defaulted to the caller on create, like Salesforce; updateable to reassign.
        fields.append(_f("OwnerId", "reference", nillable=False, defaulted_on_create=True, reference_to=("User",),
                         relationship_name="Owner"))
    return fields


def _make(name: str, prefix: Optional[str], label: str, plural: str, fields: list[Field], *,
          owner: bool = True, **kw) -> SObjectType:
    obj = SObjectType(name=name, key_prefix=prefix, label=label, label_plural=plural, **kw)
    for f in _system_fields(owner) + fields:
        obj.fields[f.name.lower()] = f
    return obj


_NAME_RO = dict(createable=False, updateable=False, calculated=True, name_field=True, defaulted_on_create=True)

LEAD_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted")
OPPORTUNITY_STAGES = (
    "Prospecting", "Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers",
    "Perception Analysis", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost",
)
CLOSED_STAGES = {"Closed Won": True, "Closed Lost": False}  # stage → IsWon
TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")
CLOSED_TASK_STATUSES = frozenset({"Completed"})

USER = _make("User", "005", "User", "Users", [
    _f("Username", "string", length=80, nillable=False, unique=True),
    _f("Email", "email", nillable=False),
    _f("FirstName", "string", length=40),
    _f("LastName", "string", length=80, nillable=False),
    _f("Name", "string", length=121, **_NAME_RO),
    _f("Alias", "string", length=8, nillable=False),
    _f("Title", "string", length=80),
    _f("Phone", "phone"),
    _f("IsActive", "boolean", nillable=False, default_value=True, defaulted_on_create=True),
    _f("TimeZoneSidKey", "picklist", nillable=False, defaulted_on_create=True, default_value="Asia/Tokyo",
       picklist_values=("Asia/Tokyo", "America/Los_Angeles", "America/New_York", "Europe/London", "GMT")),
    _f("LanguageLocaleKey", "picklist", nillable=False, defaulted_on_create=True, default_value="ja",
       picklist_values=("ja", "en_US")),
], owner=False, createable=False, deletable=False)

ACCOUNT = _make("Account", "001", "Account", "Accounts", [
    _f("Name", "string", nillable=False, name_field=True),
    _f("AccountNumber", "string", length=40),
    _f("Phone", "phone", searchable_phone=True),
    _f("Fax", "phone"),
    _f("Website", "url"),
    _f("Industry", "picklist", picklist_values=(
        "Manufacturing", "Technology", "Finance", "Retail", "Healthcare", "Education", "Government", "Other")),
    _f("Type", "picklist", picklist_values=("Prospect", "Customer - Direct", "Customer - Channel", "Partner",
                                            "Other")),
    _f("NumberOfEmployees", "int"),
    _f("BillingStreet", "textarea"),
    _f("BillingCity", "string", length=40),
    _f("BillingState", "string", length=80),
    _f("BillingPostalCode", "string", length=20),
    _f("BillingCountry", "string", length=80),
    _f("ParentId", "reference", reference_to=("Account",), relationship_name="Parent"),
    _f("Description", "textarea", length=32000),
    _f("LastActivityDate", "date", createable=False, updateable=False),
])

CONTACT = _make("Contact", "003", "Contact", "Contacts", [
    _f("Salutation", "picklist", picklist_values=("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")),
    _f("FirstName", "string", length=40),
    _f("LastName", "string", length=80, nillable=False),
    _f("Name", "string", length=121, **_NAME_RO),
    _f("AccountId", "reference", reference_to=("Account",), relationship_name="Account"),
    _f("Title", "string", length=128),
    _f("Department", "string", length=80),
    _f("Email", "email"),
    _f("Phone", "phone", searchable_phone=True),
    _f("MobilePhone", "phone", searchable_phone=True),
    _f("HomePhone", "phone", searchable_phone=True),
    _f("OtherPhone", "phone", searchable_phone=True),
    _f("AssistantName", "string", length=40),
    _f("AssistantPhone", "phone", searchable_phone=True),
    _f("ReportsToId", "reference", reference_to=("Contact",), relationship_name="ReportsTo"),
    _f("MailingStreet", "textarea"),
    _f("MailingCity", "string", length=40),
    _f("MailingState", "string", length=80),
    _f("MailingPostalCode", "string", length=20),
    _f("MailingCountry", "string", length=80),
    _f("LeadSource", "picklist", picklist_values=("Web", "Phone Inquiry", "Partner Referral", "Trade Show",
                                                  "Other")),
    _f("Description", "textarea", length=32000),
    _f("LastActivityDate", "date", createable=False, updateable=False),
])

LEAD = _make("Lead", "00Q", "Lead", "Leads", [
    _f("Salutation", "picklist", picklist_values=("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")),
    _f("FirstName", "string", length=40),
    _f("LastName", "string", length=80, nillable=False),
    _f("Name", "string", length=121, **_NAME_RO),
    _f("Company", "string", nillable=False),
    _f("Title", "string", length=128),
    _f("Email", "email"),
    _f("Phone", "phone", searchable_phone=True),
    _f("MobilePhone", "phone", searchable_phone=True),
    _f("Status", "picklist", nillable=False, defaulted_on_create=True, default_value="Open - Not Contacted",
       picklist_values=LEAD_STATUSES),
    _f("LeadSource", "picklist", picklist_values=("Web", "Phone Inquiry", "Partner Referral", "Trade Show",
                                                  "Other")),
    _f("Industry", "picklist", picklist_values=ACCOUNT.field("Industry").picklist_values),
    _f("Rating", "picklist", picklist_values=("Hot", "Warm", "Cold")),
    _f("IsConverted", "boolean", nillable=False, default_value=False, defaulted_on_create=True,
       createable=False, updateable=False),
    _f("ConvertedDate", "date", createable=False, updateable=False),
    _f("ConvertedAccountId", "reference", reference_to=("Account",), relationship_name="ConvertedAccount",
       createable=False, updateable=False),
    _f("ConvertedContactId", "reference", reference_to=("Contact",), relationship_name="ConvertedContact",
       createable=False, updateable=False),
    _f("ConvertedOpportunityId", "reference", reference_to=("Opportunity",),
       relationship_name="ConvertedOpportunity", createable=False, updateable=False),
    _f("Description", "textarea", length=32000),
    _f("LastActivityDate", "date", createable=False, updateable=False),
])

OPPORTUNITY = _make("Opportunity", "006", "Opportunity", "Opportunities", [
    _f("Name", "string", length=120, nillable=False, name_field=True),
    _f("AccountId", "reference", reference_to=("Account",), relationship_name="Account"),
    _f("StageName", "picklist", nillable=False, picklist_values=OPPORTUNITY_STAGES),
    _f("CloseDate", "date", nillable=False),
    _f("Amount", "currency"),
    _f("Probability", "percent"),
    _f("Type", "picklist", picklist_values=("New Customer", "Existing Customer - Upgrade",
                                            "Existing Customer - Replacement")),
    _f("LeadSource", "picklist", picklist_values=CONTACT.field("LeadSource").picklist_values),
    _f("NextStep", "string"),
    _f("IsClosed", "boolean", nillable=False, createable=False, updateable=False, calculated=True,
       defaulted_on_create=True, default_value=False),
    _f("IsWon", "boolean", nillable=False, createable=False, updateable=False, calculated=True,
       defaulted_on_create=True, default_value=False),
    _f("Description", "textarea", length=32000),
])

OPPORTUNITY_CONTACT_ROLE = _make("OpportunityContactRole", "00K", "Contact Role", "Contact Roles", [
    _f("OpportunityId", "reference", nillable=False, reference_to=("Opportunity",),
       relationship_name="Opportunity", updateable=False),
    _f("ContactId", "reference", nillable=False, reference_to=("Contact",), relationship_name="Contact"),
    _f("Role", "picklist", picklist_values=("Business User", "Decision Maker", "Economic Buyer",
                                            "Economic Decision Maker", "Evaluator", "Executive Sponsor",
                                            "Influencer", "Technical Buyer", "Other")),
    _f("IsPrimary", "boolean", nillable=False, default_value=False, defaulted_on_create=True),
], owner=False)

_TASK_FIELDS = [
    _f("Subject", "combobox", length=255, picklist_values=("Call", "Send Letter", "Send Quote", "Other")),
    _f("Description", "textarea", length=32000),
    _f("Status", "picklist", nillable=False, defaulted_on_create=True, default_value="Not Started",
       picklist_values=TASK_STATUSES),
    _f("Priority", "picklist", nillable=False, defaulted_on_create=True, default_value="Normal",
       picklist_values=("High", "Normal", "Low")),
    _f("ActivityDate", "date", label="Due Date Only"),
    _f("WhoId", "reference", reference_to=("Contact", "Lead"), relationship_name="Who", label="Name ID"),
    _f("WhatId", "reference", reference_to=("Account", "Opportunity"), relationship_name="What",
       label="Related To ID"),
    _f("AccountId", "reference", reference_to=("Account",), relationship_name="Account", createable=False,
       updateable=False, calculated=True),
    _f("IsClosed", "boolean", nillable=False, createable=False, updateable=False, calculated=True,
       defaulted_on_create=True, default_value=False),
    _f("IsHighPriority", "boolean", nillable=False, createable=False, updateable=False, calculated=True,
       defaulted_on_create=True, default_value=False),
    _f("TaskSubtype", "picklist", updateable=False, picklist_values=("Task", "Email", "ListEmail", "Cadence",
                                                                      "Call", "LinkedIn")),
    _f("Type", "picklist", picklist_values=("Call", "Email", "Meeting", "Other")),
    _f("CallType", "picklist", picklist_values=("Internal", "Inbound", "Outbound")),
    _f("CallDurationInSeconds", "int"),
    _f("CallObject", "string", length=255, label="Call Object Identifier"),
    _f("CallDisposition", "string", length=255, label="Call Result"),
    _f("CompletedDateTime", "datetime", createable=False, updateable=False, calculated=True),
    # A custom external-id field an admin may add so retries can upsert instead of query-then-create.
    _f("Panel_Call_Key__c", "string", length=255, external_id=True, unique=True, label="Panel Call Key"),
]
# IsArchived: set by Salesforce's archiving of old closed activities (activity_archive.py), never written.
TASK = _make("Task", "00T", "Task", "Tasks", _TASK_FIELDS + [
    _f("IsArchived", "boolean", nillable=False, createable=False, updateable=False, calculated=True,
       defaulted_on_create=True, default_value=False),
])
# The Task Status picklist's values as records (read-only; served from the org's shape by task_statuses.py).
TASK_STATUS = _make("TaskStatus", "01J", "Task Status Value", "Task Status Values", [
    _f("ApiName", "string", nillable=False, createable=False, updateable=False),
    _f("MasterLabel", "string", createable=False, updateable=False),
    _f("IsClosed", "boolean", nillable=False, createable=False, updateable=False, default_value=False),
    _f("IsDefault", "boolean", nillable=False, createable=False, updateable=False, default_value=False),
    _f("SortOrder", "int", createable=False, updateable=False),
], owner=False, createable=False, updateable=False, deletable=False, searchable=False)

# Record types (Field Reference, RecordType). Read-only here; Account's are served from the shape
# (person_accounts.py): an org without person accounts has none.
RECORD_TYPE = _make("RecordType", "012", "Record Type", "Record Types", [
    _f("Name", "string", length=80, nillable=False, createable=False, updateable=False, name_field=True),
    _f("DeveloperName", "string", length=80, nillable=False, createable=False, updateable=False),
    _f("NamespacePrefix", "string", length=15, createable=False, updateable=False),
    _f("Description", "string", createable=False, updateable=False),
    _f("SobjectType", "picklist", length=40, nillable=False, createable=False, updateable=False,
       picklist_values=("Account",)),
    _f("IsActive", "boolean", nillable=False, createable=False, updateable=False, default_value=False),
    _f("IsPersonType", "boolean", nillable=False, createable=False, updateable=False, default_value=False),
], owner=False, createable=False, updateable=False, deletable=False, searchable=False)

# Shared Activities' relation objects (Object Reference, TaskRelation and TaskWhoRelation). They exist only in an
# org with Shared Activities (`shared_activities`: unreadable, i.e. not there, otherwise) and their rows are served
# from the Tasks (shared_activities.py); the local org does not model writing them directly.
TASK_RELATION = _make("TaskRelation", "0RT", "Task Relation", "Task Relations", [
    _f("TaskId", "reference", nillable=False, createable=False, updateable=False, reference_to=("Task",),
       relationship_name="Task"),
    _f("RelationId", "reference", nillable=False, createable=False, updateable=False,
       reference_to=("Contact", "Lead", "Account", "Opportunity"), relationship_name="Relation"),
    _f("IsWhat", "boolean", nillable=False, createable=False, updateable=False, defaulted_on_create=True,
       default_value=False),
    _f("AccountId", "reference", createable=False, updateable=False, reference_to=("Account",),
       relationship_name="Account"),
], owner=False, createable=False, updateable=False, deletable=False, searchable=False)
TASK_WHO_RELATION = _make("TaskWhoRelation", None, "Task Relation", "Task Relations", [
    _f("TaskId", "reference", createable=False, updateable=False, reference_to=("Task",), relationship_name="Task"),
    _f("RelationId", "reference", createable=False, updateable=False, reference_to=("Contact", "Lead"),
       relationship_name="Relation"),
    _f("Type", "string", length=50, createable=False, updateable=False),
    _f("AccountId", "reference", createable=False, updateable=False, reference_to=("Account",),
       relationship_name="Account"),
], owner=False, createable=False, updateable=False, deletable=False, searchable=False)

# Read-only activity views. Their rows are Tasks; they can only be reached as subqueries of a parent.
_ACTIVITY_VIEW_FIELDS = [f for f in _TASK_FIELDS if f.name != "Panel_Call_Key__c"] + [
    _f("IsTask", "boolean", nillable=False, createable=False, updateable=False, calculated=True,
       defaulted_on_create=True, default_value=True),
    _f("ActivitySubtype", "picklist", createable=False, updateable=False,
       picklist_values=TASK.field("TaskSubtype").picklist_values),
]
OPEN_ACTIVITY = _make("OpenActivity", None, "Open Activity", "Open Activities", _ACTIVITY_VIEW_FIELDS,
                      queryable=False, createable=False, updateable=False, deletable=False, searchable=False,
                      view_of="Task")
ACTIVITY_HISTORY = _make("ActivityHistory", None, "Activity History", "Activity Histories",
                         _ACTIVITY_VIEW_FIELDS, queryable=False, createable=False, updateable=False,
                         deletable=False, searchable=False, view_of="Task")

SOBJECTS: dict[str, SObjectType] = {
    o.name.lower(): o
    for o in (USER, ACCOUNT, CONTACT, LEAD, OPPORTUNITY, OPPORTUNITY_CONTACT_ROLE, TASK, TASK_STATUS, RECORD_TYPE,
              TASK_RELATION, TASK_WHO_RELATION, OPEN_ACTIVITY, ACTIVITY_HISTORY)
}
KEY_PREFIXES: dict[str, str] = {o.key_prefix: o.name for o in SOBJECTS.values() if o.key_prefix}


def _relate(parent: SObjectType, name: str, child: SObjectType, *fields: str, kind: str = "plain") -> None:
    parent.child_relationships[name.lower()] = ChildRelationship(name, child.name, tuple(fields), kind)


for _parent, _who_or_what in ((CONTACT, ("WhoId",)), (LEAD, ("WhoId",)), (OPPORTUNITY, ("WhatId",)),
                              (ACCOUNT, ("WhatId", "AccountId"))):
    _relate(_parent, "Tasks", TASK, *(_who_or_what if _parent is not ACCOUNT else ("WhatId",)))
    _relate(_parent, "OpenActivities", OPEN_ACTIVITY, *_who_or_what, kind="open_activities")
    _relate(_parent, "ActivityHistories", ACTIVITY_HISTORY, *_who_or_what, kind="activity_histories")
_relate(ACCOUNT, "Contacts", CONTACT, "AccountId")
_relate(ACCOUNT, "Opportunities", OPPORTUNITY, "AccountId")
_relate(ACCOUNT, "ChildAccounts", ACCOUNT, "ParentId")
_relate(CONTACT, "OpportunityContactRoles", OPPORTUNITY_CONTACT_ROLE, "ContactId")
_relate(TASK, "TaskRelations", TASK_RELATION, "TaskId")
_relate(TASK, "TaskWhoRelations", TASK_WHO_RELATION, "TaskId")
_relate(OPPORTUNITY, "OpportunityContactRoles", OPPORTUNITY_CONTACT_ROLE, "OpportunityId")

# Picklists whose values the API enforces (INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST); the rest accept any text,
# like Salesforce's unrestricted standard picklists.
RESTRICTED_PICKLISTS = {
    "User": ("TimeZoneSidKey", "LanguageLocaleKey"),
    "Lead": ("Status",),
    "Opportunity": ("StageName",),
    "Task": ("Status", "Priority", "TaskSubtype", "CallType"),
    "OpenActivity": ("Status", "Priority", "TaskSubtype", "CallType"),
    "ActivityHistory": ("Status", "Priority", "TaskSubtype", "CallType"),
}
for _name, _fields in RESTRICTED_PICKLISTS.items():
    _obj = SOBJECTS[_name.lower()]
    for _field_name in _fields:
        _obj.fields[_field_name.lower()] = replace(_obj.fields[_field_name.lower()], restricted_picklist=True)

# Parent fields a polymorphic relationship (Who, What, Owner) exposes in SOQL without TYPEOF: Salesforce's "Name"
# object fields.
POLYMORPHIC_PARENT_FIELDS = ("Id", "Type", "Name", "FirstName", "LastName", "Alias", "Email", "Phone", "Title",
                             "Username", "IsActive")


def get_sobject(name: str) -> Optional[SObjectType]:
    """Case-insensitive lookup, as the API resolves object names."""
    return SOBJECTS.get(name.lower())


def sobject_for_id(record_id: str) -> Optional[SObjectType]:
    """The object an Id belongs to, by its three-character key prefix."""
    name = KEY_PREFIXES.get(record_id[:3])
    return SOBJECTS[name.lower()] if name else None
