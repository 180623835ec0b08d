"""Person Accounts (`org_shape.person_accounts`): an Account that is a person, and the Contact that goes with it.

What Salesforce documents (SOAP API Developer Guide, "Person Account Record Types",
https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_guidelines_personaccounts.htm):
person accounts are Accounts of a "person account" record type (`RecordType.IsPersonType`; Salesforce provides
one, `PersonAccount`, beside the org's business account record types); creating one also creates a Contact, the
"person contact", "the only contact record that can be associated directly with the person account", whose Id
the account keeps in `PersonContactId`. The account then carries the person's fields: `IsPersonAccount`,
`FirstName`/`LastName`, and the Contact's own fields under Person* names (`PersonMobilePhone`, `PersonHomePhone`,
`PersonOtherPhone`, `PersonAssistantPhone`, `PersonEmail`, `PersonTitle`); its `Name` is the person's name, composed
as the org formats names (Salesforce Help, Account fields: "the account name is the concatenation of the first
name, middle name, last name, and suffix of the associated person contact" — family name first in the ja_JP
locale, as Contacts' names here). `RecordType` is in every org (Field Reference, RecordType: `SobjectType`,
`DeveloperName`, `IsActive`, `IsPersonType`, ...); an org without record types for Account has no rows for it.

The model: without the setting none of these Account fields (nor `Contact.IsPersonAccount`, nor
`Account.RecordTypeId`) exists (`INVALID_FIELD`) and RecordType has no rows. With it, RecordType has a business
and a person account record type for Account (served from the shape, like TaskStatus); an Account created with
the person type and a `LastName` is a person account and gets its person contact, whose fields mirror the
account's (Phone, MobilePhone ← PersonMobilePhone, ..., Email ← PersonEmail, Title ← PersonTitle, AccountId ←
the account) on every write of the account. Where the documentation says nothing the model refuses
(`INVALID_FIELD_FOR_INSERT_UPDATE`): `Name` on a person account, person fields on a business account, and turning
one kind of account into the other.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Optional

from . import formats, ids, org_shape, schema
from .errors import ApiError
from .org_shape import OrgShape

RECORD_TYPE_PREFIX = "012"
# The Contact fields of the person contact, from the account's fields that hold them.
_MIRRORED = {"FirstName": "FirstName", "LastName": "LastName", "Phone": "Phone", "MobilePhone": "PersonMobilePhone",
             "HomePhone": "PersonHomePhone", "OtherPhone": "PersonOtherPhone",
             "AssistantPhone": "PersonAssistantPhone", "Email": "PersonEmail", "Title": "PersonTitle"}
PERSON_ONLY = ("FirstName", "LastName", "PersonMobilePhone", "PersonHomePhone", "PersonOtherPhone",
               "PersonAssistantPhone", "PersonEmail", "PersonTitle")


def _field(name: str, type_: str, **kw) -> schema.Field:
    length = {"phone": 40, "email": 80, "string": 80}.get(type_, 0)
    return schema.Field(name=name, type=type_, label=kw.pop("label", name), length=kw.pop("length", length), **kw)


_READ_ONLY_FLAG = dict(nillable=False, createable=False, updateable=False, defaulted_on_create=True,
                       default_value=False)
_ACCOUNT_FIELDS = (
    _field("RecordTypeId", "reference", label="Record Type ID", reference_to=("RecordType",),
           relationship_name="RecordType", defaulted_on_create=True),
    _field("FirstName", "string", label="First Name", length=40),
    _field("LastName", "string", label="Last Name"),
    _field("IsPersonAccount", "boolean", label="Is Person Account", **_READ_ONLY_FLAG),
    _field("PersonContactId", "reference", label="Person Contact ID", reference_to=("Contact",),
           relationship_name="PersonContact", createable=False, updateable=False),
    _field("PersonMobilePhone", "phone", label="Mobile", searchable_phone=True),
    _field("PersonHomePhone", "phone", label="Home Phone", searchable_phone=True),
    _field("PersonOtherPhone", "phone", label="Other Phone", searchable_phone=True),
    _field("PersonAssistantPhone", "phone", label="Asst. Phone", searchable_phone=True),
    _field("PersonEmail", "email", label="Email"),
    _field("PersonTitle", "string", label="Title", length=80),
)
_CONTACT_FIELDS = (_field("IsPersonAccount", "boolean", label="Is Person Account", **_READ_ONLY_FLAG),)


def added_fields(shape: OrgShape) -> dict[str, dict[str, schema.Field]]:
    """The fields person accounts add, for `schema.OrgFields.added`; none without the setting. A person account
    needs no `Name` (it is composed), so the org's Account `Name` is defaulted on create."""
    if not shape.person_accounts:
        return {}
    name = schema.get_sobject("Account").fields["name"]
    account = {f.name.lower(): f for f in _ACCOUNT_FIELDS}
    account["name"] = replace(name, defaulted_on_create=True)
    return {"account": account, "contact": {f.name.lower(): f for f in _CONTACT_FIELDS}}


# -- record types ------------------------------------------------------------------------------------------------

def record_type_rows(shape: OrgShape, seeded_at: float, admin: Optional[str]) -> list[dict]:
    """RecordType rows: Account's business and person account record types with the setting, none without."""
    if not shape.person_accounts:
        return []
    generator = ids.IdGenerator()
    stamp = formats.format_epoch(seeded_at)
    types = (("Business Account", "Business_Account", False), ("Person Account", "PersonAccount", True))
    return [{"Id": generator.make(RECORD_TYPE_PREFIX, index), "IsDeleted": False, "CreatedDate": stamp,
             "CreatedById": admin, "LastModifiedDate": stamp, "LastModifiedById": admin, "SystemModstamp": stamp,
             "Name": label, "DeveloperName": developer_name, "SobjectType": "Account", "IsActive": True,
             "IsPersonType": person, "Description": None, "NamespacePrefix": None, "_changed_at": seeded_at}
            for index, (label, developer_name, person) in enumerate(types, start=1)]


def record_types(store) -> list[dict]:
    """The org's RecordType rows (SOQL's `FROM RecordType`); the org's first user set them up."""
    users = store.rows("User")
    return record_type_rows(org_shape.from_store(store), store.now(), users[0]["Id"] if users else None)


def _record_types(store) -> dict[str, dict]:
    return {row["Id"]: row for row in record_types(store)}


def lookup(store) -> Callable[[str], Optional[dict]]:
    """`store.row` that also knows the record types (they are served from the shape, not stored), so a
    `RecordTypeId` is checked like any other reference."""
    def row(record_id: str) -> Optional[dict]:
        if not (record_id or "").startswith(RECORD_TYPE_PREFIX):
            return store.row(record_id)
        try:
            found = _record_types(store).get(ids.to_18(record_id))
        except ValueError:
            return None
        return {**found, "_sobject": "RecordType"} if found else None
    return row


# -- writes ------------------------------------------------------------------------------------------------------

def _refuse(names: list[str], why: str) -> ApiError:
    return ApiError(400, "INVALID_FIELD_FOR_INSERT_UPDATE", f"Unable to create/update fields: {', '.join(names)}. "
                                                            f"{why}", names)


def check_account(store, values: dict, previous: Optional[dict]) -> dict:
    """The checked values of an Account write in an org with person accounts, with its record type settled (the
    business one by default); the business or person account's own rules (see the module docstring). `values`
    come from `records.validate`."""
    if not org_shape.from_store(store).person_accounts:
        return values
    record_type = values.get("RecordTypeId") or (previous or {}).get("RecordTypeId")
    if record_type is None:
        record_type = next(row["Id"] for row in _record_types(store).values() if not row["IsPersonType"])
        values = {**values, "RecordTypeId": record_type}
    found = lookup(store)(record_type) or {}
    person = bool(found.get("IsPersonType"))
    if not found or found.get("SobjectType") != "Account":
        raise ApiError(400, "INVALID_CROSS_REFERENCE_KEY", "Record Type ID: this ID value isn't valid for the user: "
                                                           f"{record_type}", ["RecordTypeId"])
    if previous is not None and bool(previous.get("IsPersonAccount")) != person:
        raise _refuse(["RecordTypeId"], "The local org does not turn business accounts into person accounts or "
                                        "back.")
    merged = {**(previous or {}), **values}
    if person:
        if "Name" in values:
            raise _refuse(["Name"], "A person account's name is its person's: set FirstName and LastName.")
        if not merged.get("LastName"):
            raise ApiError(400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", ["LastName"])
    else:
        given = [name for name in PERSON_ONLY if values.get(name) is not None]
        if given:
            raise _refuse(given, "These fields are a person account's; this is a business account.")
        if not merged.get("Name"):
            raise ApiError(400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", ["Name"])
    return values


def calculate(obj_name: str, full: dict, look_up: Callable[[str], Optional[dict]]) -> None:
    """Account and Contact calculated fields: `IsPersonAccount` (false for every business account and ordinary
    Contact, stored even while the field does not exist so that it reads false once it does) and a person
    account's `Name`, family name first (ja_JP)."""
    if obj_name == "Account":
        found = look_up(full["RecordTypeId"]) if full.get("RecordTypeId") else None
        full["IsPersonAccount"] = bool(found and found.get("IsPersonType"))
        if full["IsPersonAccount"]:
            full["Name"] = " ".join(part for part in (full.get("LastName"), full.get("FirstName")) if part)
    elif obj_name == "Contact":
        full["IsPersonAccount"] = bool(full.get("IsPersonAccount"))


def sync_person_contact(store, account: dict, *, user_id: str, now: float, complete) -> dict:
    """Create or update the person contact of a person account and return the account with its
    `PersonContactId`; a business account is returned as is. `complete` is `records.complete`."""
    if not account.get("IsPersonAccount"):
        return account
    contact_type = schema.get_sobject("Contact")
    values = {own: account.get(source) for own, source in _MIRRORED.items()}
    values.update(AccountId=account["Id"], OwnerId=account.get("OwnerId"), IsPersonAccount=True)
    previous = store.row(account["PersonContactId"]) if account.get("PersonContactId") else None
    if previous is None:
        values["Id"] = store.new_id("Contact")
    contact = complete(contact_type, values, user_id=user_id, now=now, lookup=store.row, previous=previous)
    store.put("Contact", contact, now)
    if account.get("PersonContactId") == contact["Id"]:
        return account
    linked = {**account, "PersonContactId": contact["Id"]}
    store.put("Account", linked, now)
    return linked


def delete_person_contact(store, account: dict, stamp_fields: dict, now: float) -> None:
    """A person account's contact goes to the Recycle Bin with it."""
    contact = store.row(account["PersonContactId"]) if account.get("PersonContactId") else None
    if contact is not None and not contact.get("IsDeleted"):
        store.put("Contact", {**contact, "IsDeleted": True, **stamp_fields}, now)
