"""The task form's rules, without a request: what is refused, with which status, and what is kept as typed."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from panel.localorg.seed import IDS
from panel.salesforce.contacts import FieldProblem
from panel.tasks import forms
from panel.web import BadInput, field_errors

YAMADA = IDS["contact.yamada_taro"]
ACCOUNT = IDS["account.yamada_shoji"]


def test_a_valid_task_keeps_what_was_typed_with_line_endings_normalised():
    values, errors, status = forms.validate_task(
        {"subject": "  Call back ", "notes": "line 1\r\nline 2\rline 3", "due_date": "2026-12-24"},
        record_type="Contact", call_ids=set())
    assert (errors, status) == ({}, 200)
    assert values["subject"] == "Call back" and values["notes"] == "line 1\nline 2\nline 3"
    assert forms.due_date_of(values) == date(2026, 12, 24)


@pytest.mark.parametrize("form, field", [
    ({"subject": ""}, "subject"),
    ({"subject": "x" * (forms.SUBJECT_MAX + 1)}, "subject"),
    ({"subject": "s", "notes": "n" * (forms.NOTES_MAX + 1)}, "notes"),
    ({"subject": "s", "due_date": "tomorrow"}, "due_date"),
    ({"subject": "s", "due_date": "0001-01-01"}, "due_date"),  # outside the years Salesforce stores
])
def test_what_a_person_types_wrong_is_a_422_next_to_the_field(form, field):
    _values, errors, status = forms.validate_task(form, record_type="Contact", call_ids=set())
    assert status == 422 and set(errors) == {field}


def test_a_note_on_a_call_has_no_due_date():
    _values, errors, status = forms.validate_task({"subject": "s", "due_date": "2026-12-24", "call_id": "call-1"},
                                                  record_type="Contact", call_ids={"call-1"})
    assert status == 422 and set(errors) == {"due_date"}


@pytest.mark.parametrize("form, record_type, field", [
    ({"subject": "s", "what_id": ACCOUNT}, "Lead", "what_id"),  # a Lead's task is related to nothing else
    ({"subject": "s", "what_id": "not-an-id"}, "Contact", "what_id"),
    ({"subject": "s", "call_id": "call-never-offered"}, "Contact", "call_id"),
])
def test_a_relation_or_call_the_form_never_offers_is_a_400(form, record_type, field):
    _values, errors, status = forms.validate_task(form, record_type=record_type, call_ids={"call-1"})
    assert status == 400 and field in errors


@pytest.mark.parametrize("call, field", [
    (lambda: forms.record_param(YAMADA, {"record_type": "Opportunity"}), "record_type"),
    (lambda: forms.record_param(YAMADA, {"record_type": "Lead"}), "record_id"),  # a Contact's Id
    (lambda: forms.task_id_param(YAMADA), "task_id"),
    (lambda: forms.offset_param({"offset": "-1"}), "offset"),
])
def test_parameters_the_pages_never_send_wrong_name_the_field(call, field):
    with pytest.raises(BadInput) as refused:
        call()
    assert refused.value.field == field


def test_the_call_choices_offer_the_call_on_now_then_the_records_recent_calls_then_no_call():
    recent = [{"call_id": "call-now", "direction": "inbound"},
              {"call_id": "call-before", "direction": "outbound",
               "started_at": datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)}]
    choices = forms.call_choices("call-now", recent, lambda moment: moment.strftime("%d %H:%M"))
    assert [value for value, _label in choices] == ["call-now", "call-before", forms.NO_CALL]
    assert choices[1][1] == "Outbound call · 01 09:30"


def test_salesforce_refusing_fields_puts_each_message_next_to_its_input():
    problems = [FieldProblem("Subject", "too rude", "FIELD_CUSTOM_VALIDATION_EXCEPTION"),
                FieldProblem("Subject", "and too long", "STRING_TOO_LONG"),
                FieldProblem(None, "locked", "ENTITY_IS_LOCKED")]
    assert field_errors(problems, forms.SALESFORCE_FIELDS) == {"subject": "too rude and too long", "_form": "locked"}


def test_a_note_on_a_call_needs_no_subject_but_a_subject_or_notes():
    values, errors, status = forms.validate_task({"notes": "住所変更", "call_id": "call-1"},
                                                 record_type="Contact", call_ids={"call-1"})
    assert (errors, status, values["subject"]) == ({}, 200, "")
    _values, errors, status = forms.validate_task({"subject": " ", "notes": " \n", "call_id": "call-1"},
                                                  record_type="Contact", call_ids={"call-1"})
    assert status == 422 and str(errors["subject"]) == "Enter a subject or notes for the call."
    _values, errors, status = forms.validate_task({"notes": "住所変更"}, record_type="Contact", call_ids=set())
    assert status == 422 and str(errors["subject"]) == "Enter a subject."  # a task without a call needs one
