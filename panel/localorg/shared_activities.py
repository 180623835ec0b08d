"""Shared Activities (`shared_activities` in the org's shape): a Task related to several contacts.

What Salesforce documents, and the local org models:

- `TaskRelation` "represents the relationship between a task and a lead, contacts, and other objects related to the
  task" and "is only available if you've enabled Shared Activities"; a task relates to one lead or up to 50
  contacts, plus one account, opportunity or other "what" (fields `TaskId`, `RelationId`, `IsWhat` — false for a
  contact or lead — and `AccountId`; calls create, delete, query, queryAll, retrieve). Object Reference, TaskRelation:
  https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_taskrelation.htm
- `TaskWhoRelation` is its contacts-and-lead part (fields `TaskId`, `RelationId`, `Type` — lead or contact —
  `AccountId`; query and retrieve only), also only with Shared Activities; it is the `TaskWhoRelations` child
  relationship of Task. Object Reference, TaskWhoRelation:
  https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_taskwhorelation.htm
- Task's `TaskWhoIds` (a list of contact or lead Ids, on create and update) sets those relations; the first Id is the
  primary one, `WhoId`, unless the request gives a `WhoId` (Object Reference, Task). Its type is a JunctionIdList,
  "a string array of referenced ID values that represent the many-to-many relationship of an underlying junction
  entity" (User Interface API, Child Relationship: `junctionIdListNames`,
  https://developer.salesforce.com/docs/atlas.en-us.uiapi.meta/uiapi/ui_api_responses_child_relationship.htm);
  describe here calls it `junctionidlist`.

So with the setting on, Task has `TaskWhoIds` and every Task's relations are rows of both objects: its `WhoId` (the
primary), the other Ids of its `TaskWhoIds`, and its `WhatId` (`IsWhat` true, TaskRelation only). The rows are served
from the Tasks — as Salesforce migrates existing activities when the feature is turned on — so seeded Tasks have
them too; they follow the Task (archived with it, deleted with it). Without the setting the objects are not there
(`INVALID_TYPE`, like an object the user cannot read) and `TaskWhoIds` is no field of Task (`INVALID_FIELD`).
Not modelled, and refused: writing TaskRelation directly (`INVALID_TYPE` "Cannot create TaskRelation records"),
retrieving a relation by its Id (404).
"""

from __future__ import annotations

import hashlib
from . import ids, schema
from .errors import ApiError
from .org_shape import OrgShape

MAX_CONTACTS = 50
TASK_WHO_IDS = schema.Field(name="TaskWhoIds", type="junctionidlist", label="Name IDs",
                            reference_to=("Contact", "Lead"))
_OBJECTS = frozenset({"taskrelation", "taskwhorelation"})


def added_fields(shape: OrgShape) -> dict[str, dict[str, schema.Field]]:
    """Task's `TaskWhoIds`, with the setting only."""
    return {"task": {"taskwhoids": TASK_WHO_IDS}} if shape.shared_activities else {}


def absent_objects(shape: OrgShape) -> frozenset[str]:
    """TaskRelation and TaskWhoRelation, which an org without Shared Activities does not have."""
    return frozenset() if shape.shared_activities else _OBJECTS


def convert_who_ids(value: object, reference) -> list[str]:
    """`TaskWhoIds` as stored: 18-character Ids, each checked as a reference (`reference(text)` raises Salesforce's
    error for a malformed, wrong-object or missing Id); one lead, or contacts only, at most 50."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ApiError(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of junctionidlist from the value "
                                                 "given: TaskWhoIds takes a list of Contact or Lead Ids")
    found: list[str] = []
    for text in value:
        record_id = reference(text)
        if record_id not in found:
            found.append(record_id)
    leads = [record_id for record_id in found if record_id.startswith("00Q")]
    if leads and len(found) > 1:
        raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION", "A task can be related to one lead or to contacts, not "
                                                         "both", ["TaskWhoIds"])
    if len(found) > MAX_CONTACTS:
        raise ApiError(400, "FIELD_INTEGRITY_EXCEPTION", f"A task can be related to at most {MAX_CONTACTS} "
                                                         "contacts", ["TaskWhoIds"])
    return found


def calculate(full: dict, sent: dict) -> None:
    """Keep `WhoId` and `TaskWhoIds` together: the first Id is the primary one unless a `WhoId` is given, and the
    primary one is always in the list."""
    if "TaskWhoIds" not in sent:
        if "WhoId" in sent and full.get("TaskWhoIds") is not None:  # a new primary joins the list
            others = [item for item in full["TaskWhoIds"] if item != full.get("WhoId")]
            full["TaskWhoIds"] = ([full["WhoId"]] if full.get("WhoId") else []) + others
        return
    who_ids = list(full.get("TaskWhoIds") or [])
    if "WhoId" not in sent or not full.get("WhoId"):
        full["WhoId"] = who_ids[0] if who_ids else None
    elif full["WhoId"] not in who_ids:
        who_ids.insert(0, full["WhoId"])
    full["TaskWhoIds"] = who_ids or None


def relation_rows(tasks: list[dict], *, who_only: bool) -> list[dict]:
    """TaskRelation rows (or, `who_only`, TaskWhoRelation rows) of these Task rows."""
    rows = []
    for task in tasks:
        who_ids = list(task.get("TaskWhoIds") or [])
        if task.get("WhoId") and task["WhoId"] not in who_ids:
            who_ids.insert(0, task["WhoId"])
        relations = [(who_id, False) for who_id in who_ids]
        if task.get("WhatId") and not who_only:
            relations.append((task["WhatId"], True))
        for relation_id, is_what in relations:
            row = {key: task.get(key) for key in ("IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate",
                                                  "LastModifiedById", "SystemModstamp")}
            row.update(Id=_relation_id(task["Id"], relation_id), TaskId=task["Id"], RelationId=relation_id,
                       AccountId=task.get("AccountId"))
            if who_only:
                row["Type"] = "Lead" if relation_id.startswith("00Q") else "Contact"
            else:
                row["IsWhat"] = is_what
            rows.append(row)
    return rows


def _relation_id(task_id: str, relation_id: str) -> str:
    """A stable Id for the relation of this Task to this record (the same in TaskRelation and TaskWhoRelation)."""
    digest = hashlib.sha256(f"{task_id}:{relation_id}".lower().encode()).digest()
    return ids.IdGenerator().make(schema.TASK_RELATION.key_prefix, int.from_bytes(digest[:7], "big"))
