"""A new Lead or Contact for a caller nobody has on record: its fields and their checks, in one definition.

Two forms create one: the pop's quick-create (Lead or Contact, `POST /panel/records`) and the review queue's
"create a Lead" (`POST /review/items/<id>/lead`), which offers the Lead's fields but not the phone as required (a
call with a withheld number still gets its Lead). `check` is the source of truth; the forms' markers and
`required` attributes follow the same `required_for`. The lengths are Salesforce's own for these fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Mapping

from flask_babel import lazy_gettext as _l

from panel.phone import display, is_withheld, parse_caller

__all__ = ["FIELDS", "RECORD_TYPES", "Field", "check", "read", "select"]

RECORD_TYPES = ("Lead", "Contact")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+$")


@dataclass(frozen=True)
class Field:
    """One input of the form: the Salesforce field it fills (also the form field's name), as the agent reads it."""

    name: str
    label: str
    kind: str  # the <input> type
    max_length: int
    required_for: tuple[str, ...] = ()

    def required(self, record_type: str) -> bool:
        return record_type in self.required_for


FIELDS = (
    Field("LastName", _l("Last name"), "text", 80, ("Lead", "Contact")),
    Field("FirstName", _l("First name"), "text", 40),
    Field("Company", _l("Company"), "text", 255, ("Lead",)),
    Field("Title", _l("Title"), "text", 128),
    Field("Email", _l("E-mail"), "email", 80),
    Field("Phone", _l("Phone"), "tel", 40, ("Lead", "Contact")),
)


def select(*names: str, optional: tuple[str, ...] = ()) -> tuple[Field, ...]:
    """The named fields in that order; those in `optional` required for no record type."""
    by_name = {field.name: field for field in FIELDS}
    return tuple(replace(by_name[name], required_for=()) if name in optional else by_name[name] for name in names)


def read(form: Mapping[str, str | None], fields: tuple[Field, ...] = FIELDS) -> dict[str, str]:
    """What was typed in each field, trimmed (shown again as typed when the form is refused)."""
    return {field.name: (form.get(field.name) or "").strip() for field in fields}


def check(typed: Mapping[str, str], record_type: str, region: str,
          fields: tuple[Field, ...] = FIELDS) -> tuple[dict[str, str], dict[str, str]]:
    """(errors by field, the Salesforce field values to create). The phone is stored the way people in its region
    write it."""
    errors: dict = {}
    if record_type not in RECORD_TYPES:
        errors["record_type"] = _l("Choose Lead or Contact.")
    for field in fields:
        value = typed.get(field.name, "")
        if not value and field.required(record_type):
            errors[field.name] = _l("%(field)s is required.", field=field.label)
        elif len(value) > field.max_length:
            errors[field.name] = _l("%(field)s is longer than %(max)d characters.", field=field.label,
                                    max=field.max_length)
    email = typed.get("Email")
    if email and "Email" not in errors and not _EMAIL.match(email):
        errors["Email"] = _l("This is not an e-mail address.")
    if record_type == "Contact" and typed.get("Company") and "Company" not in errors:
        # A Contact's company is its Account, which this form does not pick: say so rather than drop the text.
        errors["Company"] = _l("A contact's company is its account: create a Lead, or leave the company empty.")
    values = {field.name: typed[field.name] for field in fields if typed.get(field.name)}
    if record_type != "Lead":
        values.pop("Company", None)
    phone = typed.get("Phone")
    if phone and "Phone" not in errors:
        number = None if is_withheld(phone) else parse_caller(phone, region)
        if number is None:
            errors["Phone"] = _l("This is not a phone number.")
        else:
            values["Phone"] = display(number, region)
    return errors, values
