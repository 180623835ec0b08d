"""A new Lead or Contact for an unknown caller: the one definition both the pop's quick-create and the review
queue's "create a Lead" check against."""

from __future__ import annotations

import pytest

from panel.callers import new_record


def typed(**fields) -> dict:
    return new_record.read({"LastName": "新規", "Company": "株式会社テスト", "Phone": "0312345678", **fields})


def test_a_lead_is_created_with_its_phone_written_the_way_people_in_the_region_write_it():
    errors, values = new_record.check(typed(), "Lead", "JP")
    assert errors == {}
    assert values == {"LastName": "新規", "Company": "株式会社テスト", "Phone": "03-1234-5678"}


@pytest.mark.parametrize("record_type, fields, field", [
    ("Lead", {"Company": ""}, "Company"),
    ("Contact", {}, "Company"),  # a Contact's company is its Account, which the form does not pick
    ("Lead", {"Phone": "非通知"}, "Phone"),
    ("Lead", {"Email": "not-an-address"}, "Email"),
    ("Lead", {"LastName": "x" * 81}, "LastName"),
    ("Opportunity", {}, "record_type"),
])
def test_what_cannot_be_created_is_named_by_its_field(record_type, fields, field):
    errors, _values = new_record.check(typed(**fields), record_type, "JP")
    assert field in errors


def test_the_review_queues_lead_may_have_no_phone_but_the_quick_creates_must():
    lead_fields = new_record.select("LastName", "FirstName", "Company", "Phone", optional=("Phone",))
    assert [field.name for field in lead_fields] == ["LastName", "FirstName", "Company", "Phone"]
    errors, values = new_record.check(typed(Phone=""), "Lead", "JP", lead_fields)
    assert errors == {} and "Phone" not in values
    errors, _values = new_record.check(typed(Phone=""), "Lead", "JP")
    assert set(errors) == {"Phone"}

