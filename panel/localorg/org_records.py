"""What an admin's configuration (`org_shape`) changes in the records, fields and objects a user meets.

The schema (`schema.py`) is the pristine org; `org_fields` turns the current shape and the requesting user into the
`schema.OrgFields` the API gate puts on the request, so describe, SOQL, SOSL and record writes all see the same
configured org:

- `custom_phone_fields` ("Contact.Phone2__c"): a custom field of type phone on that object. `IN PHONE FIELDS`
  searches every field of type phone, custom ones included (SOSL reference, FIND: "PHONE FIELDS — Searches all
  phone number fields"; developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/
  sforce_api_calls_sosl_in.htm); describe lists it with `custom: true`.
- `encrypted_fields` ("Contact.MobilePhone"): Shield Platform Encryption's probabilistic scheme. The field reads and
  SOSL finds it, but it is not filterable or sortable: describe says `filterable: false`, `sortable: false`, and a
  WHERE or ORDER BY naming it is refused (`INVALID_FIELD`, "field 'MobilePhone' can not be filtered in a query
  call", as for every unfilterable field; help.salesforce.com, "Shield Platform Encryption considerations":
  probabilistically encrypted fields cannot be used in WHERE or ORDER BY).
- `object_access` ({"agent2@example.com": {"Lead": "none"}}): a profile without Read on the object. To that user
  the object is not there: SOQL and SOSL naming it answer `INVALID_TYPE` ("sObject type 'Lead' is not
  supported."), its describe and record resources 404 `NOT_FOUND`, and the global describe leaves it out. "read"
  leaves it readable but not writable (describe's `createable`/`updateable`/`deletable` false).
- `person_accounts`: the Account fields of person accounts and `Contact.IsPersonAccount` (`person_accounts.py`).
"""

from __future__ import annotations

from dataclasses import replace

from . import person_accounts, schema, shared_activities, task_statuses
from .org_shape import OrgShape


def org_fields(shape: OrgShape, username: str) -> schema.OrgFields:
    """The schema changes `shape` makes for the user signed in as `username`."""
    added: dict[str, dict[str, schema.Field]] = {}
    for name in shape.custom_phone_fields:
        sobject, _, field_name = name.partition(".")
        label = field_name.removesuffix("__c").replace("_", " ")
        added.setdefault(sobject.lower(), {})[field_name.lower()] = schema.Field(
            name=field_name, type="phone", label=label, length=40, searchable_phone=True)
    for name in shape.encrypted_fields:
        sobject, _, field_name = name.partition(".")
        own = added.get(sobject.lower(), {})
        base = own.get(field_name.lower()) or schema.get_sobject(sobject).fields.get(field_name.lower())
        if base is not None:  # an encrypted custom field nobody added does not exist
            added.setdefault(sobject.lower(), {})[field_name.lower()] = replace(base, encrypted=True)
    for sobject, fields in task_statuses.added_fields(shape).items():  # the org's own Task statuses
        added.setdefault(sobject, {}).update(fields)
    for sobject, fields in person_accounts.added_fields(shape).items():  # Person Accounts' fields
        added.setdefault(sobject, {}).update(fields)
    for sobject, fields in shared_activities.added_fields(shape).items():  # Task.TaskWhoIds
        added.setdefault(sobject, {}).update(fields)
    access = shape.object_access.get((username or "").lower(), {})
    return schema.OrgFields(
        added=added,
        unreadable=frozenset(name.lower() for name, level in access.items() if level == "none")
        | shared_activities.absent_objects(shape),
        read_only=frozenset(name.lower() for name, level in access.items() if level == "read"),
    )
