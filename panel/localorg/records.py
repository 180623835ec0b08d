"""Record writes with Salesforce's validation, system fields and calculated fields.

Validation follows what the REST API answers, checked in its order: unknown field (`INVALID_FIELD`), read-only
field (`INVALID_FIELD_FOR_INSERT_UPDATE`), values that cannot be read as the field's type (`JSON_PARSER_ERROR`, as
Salesforce's JSON deserializer reports dates and numbers), references (`MALFORMED_ID` for text that is no id,
`FIELD_INTEGRITY_EXCEPTION` for an id of the wrong object, `INVALID_CROSS_REFERENCE_KEY` for one that does not
exist), then `REQUIRED_FIELD_MISSING`, `INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`, `STRING_TOO_LONG` and
`INVALID_EMAIL_ADDRESS`; last, the org's duplicate rules (`duplicates.py`, `DUPLICATES_DETECTED`). Empty strings
are stored as null, as Salesforce does.

Calculated fields are recomputed on every write: Name from FirstName and LastName (a person account's too, whose
person contact follows every write of the account: person_accounts.py); Opportunity IsClosed/IsWon from
StageName; Task IsClosed, IsHighPriority, CompletedDateTime and AccountId (the What account, the What
opportunity's account, else the Who contact's account).
"""

from __future__ import annotations

import re
from typing import Callable, Optional

from . import duplicates, formats, ids, person_accounts, schema, shared_activities, task_statuses
from .errors import ApiError
from .store import Store

Lookup = Callable[[str], Optional[dict]]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PROBABILITY_BY_STAGE = {
    "Prospecting": 10.0, "Qualification": 10.0, "Needs Analysis": 20.0, "Value Proposition": 50.0,
    "Id. Decision Makers": 60.0, "Perception Analysis": 70.0, "Proposal/Price Quote": 75.0, "Negotiation/Review": 90.0,
    "Closed Won": 100.0, "Closed Lost": 0.0,
}


def resolve_sobject(name: str) -> schema.SObjectType:
    obj = schema.get_sobject(name or "")
    if obj is None or obj.view_of or not obj.readable:
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    return obj


# -- validation ------------------------------------------------------------------------------------------------

def validate(obj: schema.SObjectType, body: object, *, creating: bool, lookup: Lookup) -> dict:
    """The caller's values, checked and converted to stored form, keyed by canonical field name."""
    if not isinstance(body, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of {obj.name} from a non-object "
                                                 "value or request may be missing a required field")
    fields: dict[schema.Field, object] = {}
    for key, value in body.items():
        if key == "attributes":
            continue
        field = obj.field(key) if isinstance(key, str) else None
        if field is None:
            raise ApiError(400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}")
        fields[field] = value
    read_only = [f.name for f in fields if not (f.createable if creating else f.updateable)]
    if read_only:
        raise ApiError(400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                       f"Unable to create/update fields: {', '.join(read_only)}. Please check the security settings "
                       "of this field and verify that it is read/write for your profile or permission set.",
                       read_only)
    values = {f.name: _convert(obj, f, v, lookup) for f, v in fields.items()}
    missing = [f.name for f in obj.all_fields()
               if not f.nillable and f.createable and f.type != "boolean"
               and ((creating and f.required_on_create and values.get(f.name) is None)
                    or (f.name in values and values[f.name] is None and not (creating and f.defaulted_on_create)))]
    if missing:
        raise ApiError(400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                       missing)
    for f in fields:
        value = values[f.name]
        if value is None:
            continue
        if f.restricted_picklist and value not in f.picklist_values:
            raise ApiError(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                           f"{f.label}: bad value for restricted picklist field: {value}", [f.name])
        if isinstance(value, str) and f.length and len(value) > f.length:
            raise ApiError(400, "STRING_TOO_LONG",
                           f"{f.label}: data value too large: {value[:40]} (max length={f.length})", [f.name])
        if f.type == "email" and not _EMAIL.match(value):
            raise ApiError(400, "INVALID_EMAIL_ADDRESS", f"{f.label}: invalid email address: {value}", [f.name])
    return values


def _not_of_type(field: schema.Field, value: object) -> ApiError:
    kind = {"int": "int", "double": "double", "currency": "double", "percent": "double", "boolean": "boolean",
            "date": "date", "datetime": "datetime"}.get(field.type, "string")
    shown = value if isinstance(value, (str, int, float, bool)) else type(value).__name__
    return ApiError(400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of {kind} from value {shown} for field "
                                              f"{field.name} or request may be missing a required field",
                    [field.name])


def _convert(obj: schema.SObjectType, field: schema.Field, value: object, lookup: Lookup) -> object:
    if value is None or value == "":
        return False if field.type == "boolean" else None
    kind = field.type
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _not_of_type(field, value)
    if kind in schema.NUMBER_TYPES:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise _not_of_type(field, value)
        try:
            number = float(value)
        except ValueError:
            raise _not_of_type(field, value) from None
        if number != number or number in (float("inf"), float("-inf")):
            raise _not_of_type(field, value)
        if kind == "int":
            if not number.is_integer():
                raise _not_of_type(field, value)
            return int(number)
        return number
    if kind == "date":
        try:
            return formats.parse_date(value).isoformat()
        except (ValueError, OverflowError):
            raise _not_of_type(field, value) from None
    if kind == "datetime":
        try:
            return formats.format_datetime(formats.parse_datetime(value))
        except (ValueError, OverflowError):
            raise _not_of_type(field, value) from None
    if kind == "junctionidlist":  # Task.TaskWhoIds, with Shared Activities
        return shared_activities.convert_who_ids(value, lambda text: _reference(field, text, lookup))
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _not_of_type(field, value)
    text = str(value)
    if kind == "reference":
        return _reference(field, text, lookup)
    return text


def _reference(field: schema.Field, text: str, lookup: Lookup) -> str:
    try:
        full = ids.to_18(text)
    except ValueError:
        raise ApiError(400, "MALFORMED_ID", f"{field.label}: id value of incorrect type: {text}",
                       [field.name]) from None
    target = schema.sobject_for_id(full)
    if target is None or target.name not in field.reference_to:
        raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION",
                       f"field integrity exception: unknown ({field.label}: id value of incorrect type: {text})",
                       [field.name])
    found = lookup(full)
    if found is None or found.get("IsDeleted"):
        raise ApiError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [field.name])
    return full


# -- completing a record -----------------------------------------------------------------------------------------

def complete(obj: schema.SObjectType, record: dict, *, user_id: str, now: float, lookup: Lookup,
             previous: Optional[dict] = None) -> dict:
    """A full stored record: defaults and system fields on create, audit fields on update, calculated fields."""
    stamp = formats.format_epoch(now)
    full = dict(previous) if previous else {f.name: None for f in obj.all_fields()}
    full.update(record)
    if previous is None:
        for f in obj.all_fields():
            if full.get(f.name) is None and f.default_value is not None:
                full[f.name] = f.default_value
        full.update(IsDeleted=False, CreatedDate=full.get("CreatedDate") or stamp, CreatedById=user_id)
        if "OwnerId" in full and not full["OwnerId"]:
            full["OwnerId"] = user_id
    full.update(LastModifiedDate=stamp, LastModifiedById=user_id, SystemModstamp=stamp)
    _calculate(obj, full, record, previous, now, lookup)
    return {k: v for k, v in full.items() if not k.startswith("_")}


def _calculate(obj: schema.SObjectType, full: dict, sent: dict, previous: Optional[dict], now: float, lookup: Lookup) -> None:
    if obj.name in ("Account", "Contact"):
        person_accounts.calculate(obj.name, full, lookup)
    if obj.name in ("Contact", "Lead", "User"):
        # The org's default locale is ja_JP, whose name format puts the family name first ("山田 太郎"), for every
        # record alike: Salesforce formats compound names by locale, not by the script the name is written in.
        full["Name"] = " ".join(part for part in (full.get("LastName"), full.get("FirstName")) if part)
    if obj.name == "Opportunity":
        stage = full.get("StageName")
        full["IsClosed"] = stage in schema.CLOSED_STAGES
        full["IsWon"] = schema.CLOSED_STAGES.get(stage, False)
        if "Probability" not in sent and (previous is None or previous.get("StageName") != stage):
            full["Probability"] = _PROBABILITY_BY_STAGE.get(stage)
    if obj.name == "Task":
        was_closed = bool(previous and previous.get("IsClosed"))
        full["IsClosed"] = task_statuses.is_closed(full.get("Status"), was_closed)
        full["IsHighPriority"] = full.get("Priority") == "High"
        if full["IsClosed"] and not was_closed:
            full["CompletedDateTime"] = full.get("CompletedDateTime") or formats.format_epoch(now)
        elif not full["IsClosed"]:
            full["CompletedDateTime"] = None
        shared_activities.calculate(full, sent)
        if previous is None and not full.get("TaskSubtype"):
            full["TaskSubtype"] = "Task"
        full["AccountId"] = _task_account(full, lookup)


def _task_account(task: dict, lookup: Lookup) -> Optional[str]:
    what = lookup(task["WhatId"]) if task.get("WhatId") else None
    if what is not None:
        if task["WhatId"].startswith("001"):
            return task["WhatId"]
        if what.get("AccountId"):
            return what["AccountId"]
    who = lookup(task["WhoId"]) if task.get("WhoId") else None
    if who is not None and task["WhoId"].startswith("003"):
        return who.get("AccountId")
    return None


# -- operations the REST layer calls -----------------------------------------------------------------------------

def create(store: Store, sobject: str, body: object, user_id: str) -> str:
    obj = resolve_sobject(sobject)
    if not obj.createable or not obj.writable:
        raise ApiError(400, "INVALID_TYPE", f"Cannot create {obj.name} records through the API")
    lookup = person_accounts.lookup(store)
    with store.savepoint():
        values = validate(obj, body, creating=True, lookup=lookup)
        if obj.name == "Account":
            values = person_accounts.check_account(store, values, None)
        values["Id"] = store.new_id(obj.name)
        _check_unique(store, obj, values, None)
        now = store.now()
        stored = complete(obj, values, user_id=user_id, now=now, lookup=lookup)
        duplicates.check(store, obj, stored, None)
        store.put(obj.name, stored, now)
        if obj.name == "Account":
            person_accounts.sync_person_contact(store, stored, user_id=user_id, now=now, complete=complete)
    return values["Id"]


def existing(store: Store, obj: schema.SObjectType, record_id: str, *, for_write: bool) -> dict:
    """The live record behind an id in a URL, or the 404 Salesforce answers."""
    found = store.row(record_id) if ids.is_valid_id(record_id or "") else None
    if found is None or found["_sobject"] != obj.name:
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    if found.get("IsDeleted"):
        if for_write:
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    return found


def update(store: Store, sobject: str, record_id: str, body: object, user_id: str) -> None:
    obj = resolve_sobject(sobject)
    with store.savepoint():
        previous = existing(store, obj, record_id, for_write=True)
        if not obj.updateable or not obj.writable:
            raise ApiError(400, "INVALID_TYPE", f"Cannot update {obj.name} records through the API")
        lookup = person_accounts.lookup(store)
        values = validate(obj, body, creating=False, lookup=lookup)
        if obj.name == "Account":
            values = person_accounts.check_account(store, values, previous)
        _check_unique(store, obj, values, previous["Id"])
        now = store.now()
        stored = complete(obj, values, user_id=user_id, now=now, lookup=lookup, previous=previous)
        duplicates.check(store, obj, stored, previous["Id"])
        store.put(obj.name, stored, now)
        if obj.name == "Account":
            person_accounts.sync_person_contact(store, stored, user_id=user_id, now=now, complete=complete)


def delete(store: Store, sobject: str, record_id: str, user_id: str) -> None:
    """Soft delete: the row stays, IsDeleted true, visible to queryAll as in the Recycle Bin."""
    obj = resolve_sobject(sobject)
    with store.savepoint():
        previous = existing(store, obj, record_id, for_write=True)
        if not obj.deletable or not obj.writable:
            raise ApiError(400, "INVALID_TYPE", f"Cannot delete {obj.name} records through the API")
        now = store.now()
        stamp = formats.format_epoch(now)
        stamps = {"LastModifiedDate": stamp, "LastModifiedById": user_id, "SystemModstamp": stamp}
        store.put(obj.name, {**previous, "IsDeleted": True, **stamps}, now)
        if obj.name == "Account":
            person_accounts.delete_person_contact(store, previous, stamps, now)


def upsert(store: Store, sobject: str, field_name: str, value: str, body: object, user_id: str
           ) -> tuple[str, bool]:
    """Create or update by an external-id field (or Id); returns (id, created)."""
    obj = resolve_sobject(sobject)
    field = obj.field(field_name or "")
    if field is None or not (field.external_id or field.name == "Id"):
        raise ApiError(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: "
                                         f"{field_name}")
    if isinstance(body, dict):
        sent = next((v for k, v in body.items() if isinstance(k, str) and k.lower() == field.name.lower()), None)
        if sent is not None and str(sent) != value:
            raise ApiError(400, "INVALID_FIELD", f"The value of the external ID field {field.name} in the body "
                                                 f"does not match the value in the URL", [field.name])
        body = {k: v for k, v in body.items() if not (isinstance(k, str) and k.lower() == field.name.lower())}
    with store.savepoint():
        if field.name == "Id":
            matches = [existing(store, obj, value, for_write=True)["Id"]] if value else []
        else:
            matches = store.find_ids(obj.name, field.name, value)
        if len(matches) > 1:
            raise ApiError(300, "MULTIPLE_CHOICES", f"Multiple records share {field.name} = {value}", [field.name])
        if matches:
            update(store, obj.name, matches[0], body, user_id)
            return matches[0], False
        new_body = dict(body) if isinstance(body, dict) else body
        if isinstance(new_body, dict) and field.name != "Id":
            new_body[field.name] = value
        return create(store, obj.name, new_body, user_id), True


def _check_unique(store: Store, obj: schema.SObjectType, values: dict, own_id: Optional[str]) -> None:
    for f in obj.all_fields():
        if f.unique and f.name != "Id" and values.get(f.name) is not None:
            others = [i for i in store.find_ids(obj.name, f.name, values[f.name]) if i != own_id]
            if others:
                raise ApiError(400, "DUPLICATE_VALUE", f"duplicate value found: {f.name} duplicates value on "
                                                       f"record with id: {others[0]}", [f.name])
