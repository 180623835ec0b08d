"""How the org's admin configured it: the shape `POST /_admin/org` sets and every other module reads.

A pristine org (the default, and what `POST /_admin/reset` restores) has none of these on. Each key of the admin
body changes only its own aspect; the merged shape is kept in the store's `meta` table under `org_shape`, so every
process serving the same database sees it and a reset clears it.

Reading it: `current()` inside any request of the org (or `from_store(store)` outside one) returns an `OrgShape`,
a frozen dataclass with every key and its default. Modules that make a key behave read it there and nowhere else.

Adding a key: a field on `OrgShape` with its default, and a `_check_<key>` function in `_CHECKS` that turns the
admin's JSON into the field's value or raises `ShapeError` naming the key. The stored form is the admin JSON
after checking (`to_json`), so a later request rebuilds the same shape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Callable, Mapping

from flask import has_app_context

from . import schema
from .context import current_org

META_KEY = "org_shape"


class ShapeError(ValueError):
    """An admin body the org refuses; the message names the key."""


@dataclass(frozen=True)
class DuplicateRule:
    object: str  # canonical object name, e.g. "Lead"
    match: tuple[str, ...]  # canonical field names
    action: str  # "block" | "alert"


@dataclass(frozen=True)
class TaskStatusValue:
    label: str
    closed: bool = False
    default: bool = False


@dataclass(frozen=True)
class OrgShape:
    person_accounts: bool = False
    custom_phone_fields: tuple[str, ...] = ()  # "Contact.Phone2__c", canonical object name
    encrypted_fields: tuple[str, ...] = ()  # "Contact.MobilePhone"
    object_access: Mapping[str, Mapping[str, str]] = None  # username (lower case) → {object: "none" | "read"}
    duplicate_rules: tuple[DuplicateRule, ...] = ()
    task_statuses: tuple[TaskStatusValue, ...] = ()  # empty: Salesforce's default Task statuses
    refresh_token_rotation: bool = False
    archive_after_days: int | None = None  # None: nothing archived
    shared_activities: bool = False
    api_enabled: bool = True

    def __post_init__(self) -> None:
        if self.object_access is None:
            object.__setattr__(self, "object_access", {})


DEFAULT = OrgShape()


# -- checks: admin JSON → field value ------------------------------------------------------------------------------

def _bool(key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ShapeError(f"{key} must be true or false")
    return value


def _object_name(key: str, name: object) -> str:
    obj = schema.get_sobject(name) if isinstance(name, str) else None
    if obj is None or obj.view_of is not None:
        raise ShapeError(f"{key}: {name!r} is not an object of the org")
    return obj.name


def _field_names(key: str, value: object) -> list[tuple[str, str]]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.count(".") == 1 for v in value):
        raise ShapeError(f'{key} must be a list of "Object.Field" names')
    return [(_object_name(key, v.partition(".")[0]), v.partition(".")[2]) for v in value]


def _check_custom_phone_fields(value: object) -> tuple[str, ...]:
    found = []
    for obj, name in _field_names("custom_phone_fields", value):
        if not name.endswith("__c") or len(name) < 4 or not name[:-3].replace("_", "a").isalnum() \
                or not name[0].isalpha():
            raise ShapeError(f"custom_phone_fields: {obj}.{name} is not a custom field name (Name__c)")
        if schema.get_sobject(obj).fields.get(name.lower()) is not None:
            raise ShapeError(f"custom_phone_fields: {obj}.{name} already exists")
        found.append(f"{obj}.{name}")
    return tuple(dict.fromkeys(found))


def _check_encrypted_fields(value: object) -> tuple[str, ...]:
    found = []
    for obj, name in _field_names("encrypted_fields", value):
        known = schema.get_sobject(obj).fields.get(name.lower())
        if known is None and not name.endswith("__c"):
            raise ShapeError(f"encrypted_fields: {obj}.{name} is not a field of the org")
        found.append(f"{obj}.{known.name if known else name}")
    return tuple(dict.fromkeys(found))


ACCESS_LEVELS = ("none", "read")


def _check_object_access(value: object) -> dict[str, dict[str, str]]:
    if not isinstance(value, dict):
        raise ShapeError('object_access must be an object: {"username": {"Object": "none" | "read"}}')
    access: dict[str, dict[str, str]] = {}
    for username, objects in value.items():
        if not isinstance(objects, dict):
            raise ShapeError(f"object_access: {username} must map object names to access levels")
        levels = {}
        for name, level in objects.items():
            if level not in ACCESS_LEVELS:
                raise ShapeError(f"object_access: {username}'s {name} must be one of {', '.join(ACCESS_LEVELS)}")
            levels[_object_name("object_access", name)] = level
        access[username.strip().lower()] = levels
    return access


DUPLICATE_RULE_OBJECTS = ("Lead", "Contact", "Account")


def _check_duplicate_rules(value: object) -> tuple[DuplicateRule, ...]:
    if not isinstance(value, list):
        raise ShapeError('duplicate_rules must be a list of {"object", "match", "action"}')
    rules = []
    for rule in value:
        if not isinstance(rule, dict) or set(rule) - {"object", "match", "action"}:
            raise ShapeError('duplicate_rules: each rule is {"object", "match": [...], "action": "block"|"alert"}')
        obj = _object_name("duplicate_rules", rule.get("object"))
        if obj not in DUPLICATE_RULE_OBJECTS:
            raise ShapeError(f"duplicate_rules: object must be one of {', '.join(DUPLICATE_RULE_OBJECTS)}")
        match = rule.get("match")
        if not isinstance(match, list) or not match or not all(isinstance(m, str) for m in match):
            raise ShapeError("duplicate_rules: match must be a non-empty list of field names")
        canonical = []
        for name in match:
            found = schema.get_sobject(obj).fields.get(name.lower())
            if found is None:
                raise ShapeError(f"duplicate_rules: {obj}.{name} is not a field of the org")
            canonical.append(found.name)
        if rule.get("action") not in ("block", "alert"):
            raise ShapeError('duplicate_rules: action must be "block" or "alert"')
        rules.append(DuplicateRule(obj, tuple(canonical), rule["action"]))
    return tuple(rules)


def _check_task_statuses(value: object) -> tuple[TaskStatusValue, ...]:
    """Salesforce's Task Status picklist: at least one value, exactly one default, at least one closed value and
    one open one (a Task must be creatable open and closable). `[]` brings back Salesforce's default statuses."""
    if not isinstance(value, list):
        raise ShapeError('task_statuses must be a list of {"label", "closed", "default"}')
    if not value:
        return ()
    statuses = []
    for item in value:
        if not isinstance(item, dict) or set(item) - {"label", "closed", "default"}:
            raise ShapeError('task_statuses: each status is {"label": "...", "closed": bool, "default": bool}')
        label = item.get("label")
        if not isinstance(label, str) or not label.strip() or len(label) > 255:
            raise ShapeError("task_statuses: label must be a non-empty text of at most 255 characters")
        statuses.append(TaskStatusValue(label.strip(), _bool("task_statuses: closed", item.get("closed", False)),
                                        _bool("task_statuses: default", item.get("default", False))))
    if len({s.label.lower() for s in statuses}) != len(statuses):
        raise ShapeError("task_statuses: labels must be unique")
    if sum(s.default for s in statuses) != 1:
        raise ShapeError("task_statuses: exactly one status must be the default")
    if all(s.closed for s in statuses) or not any(s.closed for s in statuses):
        raise ShapeError("task_statuses: at least one status must be closed and one open")
    return tuple(statuses)


def _check_archive_after_days(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 36500:
        raise ShapeError("archive_after_days must be a whole number of days between 1 and 36500, or null")
    return value


_CHECKS: dict[str, Callable[[object], object]] = {
    "person_accounts": lambda v: _bool("person_accounts", v),
    "custom_phone_fields": _check_custom_phone_fields,
    "encrypted_fields": _check_encrypted_fields,
    "object_access": _check_object_access,
    "duplicate_rules": _check_duplicate_rules,
    "task_statuses": _check_task_statuses,
    "refresh_token_rotation": lambda v: _bool("refresh_token_rotation", v),
    "archive_after_days": _check_archive_after_days,
    "shared_activities": lambda v: _bool("shared_activities", v),
    "api_enabled": lambda v: _bool("api_enabled", v),
}
assert set(_CHECKS) == {f.name for f in fields(OrgShape)}


def merged(shape: OrgShape, changes: object) -> OrgShape:
    """The shape with the admin body's keys applied; `ShapeError` naming the first unknown or wrong key."""
    if not isinstance(changes, dict):
        raise ShapeError("the body must be a JSON object")
    unknown = sorted(set(changes) - set(_CHECKS))
    if unknown:
        raise ShapeError(f"unknown org setting: {', '.join(unknown)}")
    values = {key: _CHECKS[key](value) for key, value in changes.items()}
    return OrgShape(**{**{f.name: getattr(shape, f.name) for f in fields(OrgShape)}, **values})


def to_json(shape: OrgShape) -> dict:
    """The shape as the admin endpoint answers it and the store keeps it: every key, admin spelling."""
    return {
        "person_accounts": shape.person_accounts,
        "custom_phone_fields": list(shape.custom_phone_fields),
        "encrypted_fields": list(shape.encrypted_fields),
        "object_access": {user: dict(levels) for user, levels in shape.object_access.items()},
        "duplicate_rules": [{"object": r.object, "match": list(r.match), "action": r.action}
                            for r in shape.duplicate_rules],
        "task_statuses": [{"label": s.label, "closed": s.closed, "default": s.default} for s in shape.task_statuses],
        "refresh_token_rotation": shape.refresh_token_rotation,
        "archive_after_days": shape.archive_after_days,
        "shared_activities": shape.shared_activities,
        "api_enabled": shape.api_enabled,
    }


# -- reading and storing --------------------------------------------------------------------------------------------

_parsed: dict[str, OrgShape] = {}


def from_store(store) -> OrgShape:
    """The org's current shape (DEFAULT until an admin changed it); parsed once per stored text."""
    raw = store.meta(META_KEY)
    if raw is None:
        return DEFAULT
    shape = _parsed.get(raw)
    if shape is None:
        shape = merged(DEFAULT, json.loads(raw))
        if len(_parsed) > 64:
            _parsed.clear()
        _parsed[raw] = shape
    return shape


def current() -> OrgShape:
    """The shape of the org serving the current request (or being seeded); the default org outside one."""
    return from_store(current_org().store) if has_app_context() else DEFAULT


def apply(store, changes: object) -> OrgShape:
    """Checks the admin body and stores the merged shape, atomically against other admin calls."""
    with store.transaction():
        shape = merged(from_store(store), changes)
        store.set_meta(META_KEY, json.dumps(to_json(shape), ensure_ascii=False, sort_keys=True))
    return shape
