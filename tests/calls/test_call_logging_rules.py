"""Which ended calls become Tasks, and the fields those Tasks carry in Salesforce."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from panel.calls.events import CallEvent
from panel.calls.logging_rules import (
    DESCRIPTION_MAX,
    LoggingSettings,
    TemplateError,
    activity_date,
    call_minutes,
    close_task_fields,
    describe,
    notes_subject,
    should_log,
    stamped_note,
    task_fields,
    task_language,
    task_subject,
    validate_subject_template,
    who_and_what,
    with_timeout_note,
)
from panel.calls.state import fold

CONTACT_ID = "003000000000001AAA"
LEAD_ID = "00Q000000000001AAA"
ACCOUNT_ID = "001000000000001AAA"
OPPORTUNITY_ID = "006000000000001AAA"
USER_ID = "005000000000001AAA"
REC = "https://rec.example.com/r/1"
VM = "https://vm.example.com/v/1"
TOKYO = LoggingSettings(timezone="Asia/Tokyo")


def ended_call(*, answered=True, duration=95, internal=False, direction="inbound", recording=None, voicemail=None,
               disposition=None, at=datetime(2026, 11, 22, 15, 30, tzinfo=timezone.utc), with_ringing=True):
    common = dict(call_id="call-9", direction=direction, internal=internal, agent_email="agent@example.com",
                  external_number="03-1234-5678")
    events = [CallEvent(event_id="e-end", type="call.ended", occurred_at=at + timedelta(seconds=duration + 5),
                        answered=answered, duration_seconds=duration, recording_url=recording,
                        voicemail_url=voicemail, disposition=disposition, **common)]
    if with_ringing:
        events.append(CallEvent(event_id="e-ring", type="call.ringing", occurred_at=at, **common))
    return fold(events)


@pytest.mark.parametrize("seconds, answered, minutes", [
    (0, True, 1), (1, True, 1), (59, True, 1), (60, True, 1), (61, True, 2), (95, True, 2), (120, True, 2),
    (3600, True, 60), (3601, True, 61), (0, False, 0), (95, False, 0),
])
def test_minutes_round_up_and_an_answered_call_lasts_at_least_one(seconds, answered, minutes):
    assert call_minutes(seconds, answered) == minutes


@pytest.mark.parametrize("direction, seconds, answered, locale, voicemail, subject", [
    ("inbound", 95, True, "en", False, "Call - Inbound / (2) min"),
    ("outbound", 95, True, "en", False, "Call - Outbound / (2) min"),
    ("inbound", 0, True, "en", False, "Call - Inbound / (1) min"),
    ("inbound", 59, True, "en", False, "Call - Inbound / (1) min"),
    ("inbound", 60, True, "en_US", False, "Call - Inbound / (1) min"),
    ("inbound", 61, True, "en", False, "Call - Inbound / (2) min"),
    ("inbound", 3600, True, "en", False, "Call - Inbound / (60) min"),
    ("inbound", 95, True, "ja", False, "通話 - 着信 / (2)分"),
    ("outbound", 95, True, "ja_JP", False, "通話 - 発信 / (2)分"),
    ("outbound", 1, True, "ja-JP", False, "通話 - 発信 / (1)分"),
    ("inbound", 3600, True, "ja", False, "通話 - 着信 / (60)分"),
    ("inbound", 0, False, "en", False, "Missed call - Inbound"),
    ("outbound", 0, False, "en", False, "No answer - Outbound"),
    ("inbound", 30, False, "en", True, "Voicemail - Inbound"),
    ("inbound", 0, False, "ja", False, "不在着信 - 着信"),
    ("outbound", 0, False, "ja", False, "応答なし - 発信"),
    ("inbound", 30, False, "ja", True, "留守番電話 - 着信"),
    ("inbound", 95, True, None, False, "Call - Inbound / (2) min"),
    ("inbound", 95, True, "fr", False, "Call - Inbound / (2) min"),
])
def test_default_subjects(direction, seconds, answered, locale, voicemail, subject):
    assert task_subject(direction, seconds, answered, locale, voicemail=voicemail) == subject


@pytest.mark.parametrize("template, answered, subject", [
    ("Dialpad 通話 - {direction} / ({minutes})分", True, "Dialpad 通話 - 着信 / (2)分"),
    ("{outcome} ({seconds}s)", True, "通話 (95s)"),
    ("{outcome} ({seconds}s)", False, "不在着信 (95s)"),
    ("[{minutes:>3}] {{call}}", True, "[  2] {call}"),
])
def test_custom_template_fills_placeholders(template, answered, subject):
    assert task_subject("inbound", 95, answered, "ja", template) == subject


@pytest.mark.parametrize("template, problem", [
    ("Call {duration}", "unknown placeholder {duration}"),
    ("Call {}", "unknown placeholder {}"),
    ("Call {0}", "unknown placeholder {0}"),
    ("Call {direction.__class__}", "unknown placeholder {direction.__class__}"),
    ("Call {direction[0]}", "unknown placeholder"),
    ("Call {direction", "malformed"),
    ("Call }", "malformed"),
    ("Call {minutes:{seconds}}", "nested"),
    ("Call {minutes:zz}", "cannot be filled"),
])
def test_bad_template_is_refused_with_the_allowed_placeholders(template, problem):
    with pytest.raises(TemplateError, match=problem):
        validate_subject_template(template)
    with pytest.raises(TemplateError, match="allowed: {subject}, {outcome}, {direction}, {minutes}, {seconds}"):
        task_subject("inbound", 95, True, "en", template)


def test_subject_never_exceeds_salesforce_limit():
    assert len(task_subject("inbound", 95, True, "en", "x" * 300 + " {minutes}")) == 255


@pytest.mark.parametrize("moment, tz_name, day", [
    (datetime(2026, 11, 22, 15, 30, tzinfo=timezone.utc), "Asia/Tokyo", date(2026, 11, 23)),
    (datetime(2026, 11, 22, 14, 59, 59, tzinfo=timezone.utc), "Asia/Tokyo", date(2026, 11, 22)),
    (datetime(2026, 11, 22, 15, 0, tzinfo=timezone.utc), "Asia/Tokyo", date(2026, 11, 23)),
    (datetime(2026, 11, 22, 15, 30, tzinfo=timezone.utc), "UTC", date(2026, 11, 22)),
    (datetime(2026, 11, 23, 0, 30, tzinfo=timezone(timedelta(hours=9))), "UTC", date(2026, 11, 22)),
    (datetime(2026, 11, 23, 5, 0, tzinfo=timezone.utc), "America/Los_Angeles", date(2026, 11, 22)),
])
def test_activity_date_is_the_local_date_in_the_panel_time_zone(moment, tz_name, day):
    assert activity_date(moment, tz_name) == day


@pytest.mark.parametrize("moment, tz_name, problem", [
    (datetime(2026, 11, 22, 15, 30), "Asia/Tokyo", "timezone-aware"),
    (datetime(2026, 11, 22, 15, 30, tzinfo=timezone.utc), "Asia/Tokio", "unknown time zone"),
    (datetime(2026, 11, 22, 15, 30, tzinfo=timezone.utc), "../etc/passwd", "unknown time zone"),
])
def test_activity_date_refuses_what_has_no_local_date(moment, tz_name, problem):
    with pytest.raises(ValueError, match=problem):
        activity_date(moment, tz_name)


@pytest.mark.parametrize("call, settings, verdict", [
    (dict(), LoggingSettings(), (True, "answered")),
    (dict(internal=True), LoggingSettings(), (False, "internal")),
    (dict(internal=True), LoggingSettings(log_internal=True), (True, "answered")),
    (dict(answered=False, duration=0), LoggingSettings(), (False, "missed")),
    (dict(answered=False, duration=0), LoggingSettings(log_missed=True), (True, "missed_enabled")),
    (dict(answered=False, duration=20, voicemail=VM), LoggingSettings(), (True, "voicemail")),
    (dict(answered=False, internal=True, voicemail=VM), LoggingSettings(), (False, "internal")),
    (dict(answered=False, internal=True), LoggingSettings(log_internal=True), (False, "missed")),
])
def test_which_calls_are_logged(call, settings, verdict):
    assert should_log(ended_call(**call), settings) == verdict


def test_a_call_that_has_not_ended_is_not_logged_yet():
    ringing = fold([CallEvent(event_id="e", type="call.ringing", call_id="c", direction="inbound",
                              agent_email="a@example.com", occurred_at=datetime(2026, 1, 1, tzinfo=timezone.utc))])
    assert should_log(ringing, LoggingSettings(log_missed=True, log_internal=True)) == (False, "not_ended")
    with pytest.raises(ValueError, match="has not ended"):
        task_fields(ringing, who_id=None, what_id=None, owner_id=None, notes=None, locale="en",
                    settings=LoggingSettings())


def test_task_for_an_answered_call_in_tokyo_just_after_midnight():
    call = ended_call(recording=REC, disposition="  商談化 ")
    fields = task_fields(call, who_id=CONTACT_ID, what_id=OPPORTUNITY_ID, owner_id=USER_ID, notes="折り返し希望",
                         locale="ja", settings=TOKYO)
    assert fields == {
        "Subject": "通話 - 着信 / (2)分", "Status": "Completed", "TaskSubtype": "Call", "Type": "Call",
        "CallType": "Inbound", "CallDurationInSeconds": 95, "CallObject": "call-9", "CallDisposition": "商談化",
        "ActivityDate": "2026-11-23", "WhoId": CONTACT_ID, "WhatId": OPPORTUNITY_ID, "OwnerId": USER_ID,
        "Description": f"折り返し希望\n\n録音: {REC}",
    }


def test_task_for_an_outbound_call_in_utc_without_match_or_notes_leaves_empty_fields_out():
    fields = task_fields(ended_call(direction="outbound"), who_id=None, what_id=None, owner_id=None, notes="  ",
                         locale="en", settings=LoggingSettings())
    assert fields["ActivityDate"] == "2026-11-22"
    assert fields["CallType"] == "Outbound"
    assert fields["Subject"] == "Call - Outbound / (2) min"
    assert not {"WhoId", "WhatId", "OwnerId", "Description", "CallDisposition"} & fields.keys()


def test_activity_date_comes_from_the_start_when_the_end_falls_on_the_next_day():
    call = ended_call(duration=600, at=datetime(2026, 11, 22, 14, 55, tzinfo=timezone.utc))
    fields = task_fields(call, who_id=None, what_id=None, owner_id=None, notes=None, locale="en", settings=TOKYO)
    assert fields["ActivityDate"] == "2026-11-22"


def test_logged_internal_call_has_the_internal_call_type():
    fields = task_fields(ended_call(internal=True), who_id=None, what_id=None, owner_id=None, notes=None,
                         locale="en", settings=LoggingSettings(log_internal=True))
    assert fields["CallType"] == "Internal"


def test_voicemail_call_gets_the_voicemail_subject_and_link():
    fields = task_fields(ended_call(answered=False, duration=25, voicemail=VM), who_id=LEAD_ID, what_id=None,
                         owner_id=None, notes=None, locale="en", settings=LoggingSettings())
    assert fields["Subject"] == "Voicemail - Inbound"
    assert fields["Description"] == f"Voicemail: {VM}"
    assert fields["CallDurationInSeconds"] == 25


def test_configured_template_and_external_id_field_reach_the_task():
    settings = LoggingSettings(subject_template="Dialpad {outcome} {minutes}", external_id_field="Panel_Call_Key__c")
    fields = task_fields(ended_call(), who_id=None, what_id=None, owner_id=None, notes=None, locale="en",
                         settings=settings)
    assert fields["Subject"] == "Dialpad Call 2"
    assert fields["Panel_Call_Key__c"] == "call-9"


@pytest.mark.parametrize("record_id, related_id, who_what", [
    (CONTACT_ID, None, (CONTACT_ID, None)),
    (CONTACT_ID, OPPORTUNITY_ID, (CONTACT_ID, OPPORTUNITY_ID)),
    (CONTACT_ID, ACCOUNT_ID, (CONTACT_ID, ACCOUNT_ID)),
    (LEAD_ID, None, (LEAD_ID, None)),
    (LEAD_ID, OPPORTUNITY_ID, (LEAD_ID, None)),
    (ACCOUNT_ID, None, (None, ACCOUNT_ID)),
    (ACCOUNT_ID, ACCOUNT_ID, (None, ACCOUNT_ID)),
    (OPPORTUNITY_ID, None, (None, OPPORTUNITY_ID)),
    (None, None, (None, None)),
    (CONTACT_ID[:15], None, (CONTACT_ID[:15], None)),
])
def test_matched_record_becomes_whoid_or_whatid_by_salesforce_rules(record_id, related_id, who_what):
    assert who_and_what(record_id, related_id) == who_what


@pytest.mark.parametrize("record_id, related_id, problem", [
    (ACCOUNT_ID, OPPORTUNITY_ID, "only one non-person"),
    (CONTACT_ID, LEAD_ID, "must not be a Contact, Lead or User"),
    (USER_ID, None, "User"),
    ("003'; DROP", None, "not a Salesforce Id"),
])
def test_impossible_relations_are_refused(record_id, related_id, problem):
    with pytest.raises(ValueError, match=problem):
        who_and_what(record_id, related_id)


@pytest.mark.parametrize("who_id, what_id, problem", [
    (ACCOUNT_ID, None, "WhoId must be a Contact"),
    (OPPORTUNITY_ID, None, "WhoId must be a Contact"),
    (None, CONTACT_ID, "WhatId must not be"),
    (CONTACT_ID, LEAD_ID, "WhatId must not be"),
    (LEAD_ID, ACCOUNT_ID, "WhatId must be empty when WhoId is a Lead"),
    (LEAD_ID, OPPORTUNITY_ID, "WhatId must be empty when WhoId is a Lead"),
])
def test_task_fields_refuse_relations_salesforce_would_reject(who_id, what_id, problem):
    with pytest.raises(ValueError, match=problem):
        task_fields(ended_call(), who_id=who_id, what_id=what_id, owner_id=None, notes=None, locale="en",
                    settings=LoggingSettings())


@pytest.mark.parametrize("notes, recording, voicemail, locale, description", [
    ("Wants a quote", REC, None, "en", f"Wants a quote\n\nRecording: {REC}"),
    ("Wants a quote\n", REC, VM, "en", f"Wants a quote\n\nRecording: {REC}\nVoicemail: {VM}"),
    (None, REC, VM, "ja", f"録音: {REC}\n留守番電話: {VM}"),
    ("見積希望", None, None, "ja", "見積希望"),
    (None, None, None, "en", ""),
])
def test_description_holds_notes_then_labelled_links(notes, recording, voicemail, locale, description):
    assert describe(notes, recording_url=recording, voicemail_url=voicemail, locale=locale) == description


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@pytest.mark.parametrize("notes", ["n" * 40_000, "😀" * 20_000, "a" + "😀" * 16_000])
def test_long_notes_are_shortened_but_the_links_are_kept(notes):
    text = describe(notes, recording_url=REC, voicemail_url=VM, locale="en")
    assert _utf16_len(text) <= DESCRIPTION_MAX
    assert _utf16_len(text) >= DESCRIPTION_MAX - 1  # at most the half of a cut emoji is left unused
    assert text.endswith(f"…\n\nRecording: {REC}\nVoicemail: {VM}")
    assert text.startswith(notes[:100])
    text.encode("utf-8")  # no lone surrogate


def test_notes_exactly_at_the_limit_are_kept_whole():
    notes = "n" * DESCRIPTION_MAX
    assert describe(notes, recording_url=None, voicemail_url=None, locale="en") == notes


def test_closing_the_notes_task_keeps_the_agents_notes_and_subject_and_appends_links():
    call = ended_call(recording=REC, voicemail=VM)
    fields = close_task_fields(call, existing_description="Customer asked for a callback",
                               existing_subject="Callback Tuesday", locale="en", settings=TOKYO, owner_id=USER_ID)
    assert fields == {
        "Status": "Completed", "Type": "Call", "CallType": "Inbound", "CallDurationInSeconds": 95,
        "CallObject": "call-9", "ActivityDate": "2026-11-23", "OwnerId": USER_ID,
        "Description": f"Customer asked for a callback\n\nRecording: {REC}\nVoicemail: {VM}",
    }
    assert "TaskSubtype" not in fields


def test_a_link_that_only_starts_like_the_new_one_does_not_count_as_present():
    existing = f"notes\n\nRecording: {REC}0"
    assert describe(None, recording_url=REC, voicemail_url=None, locale="en", existing=existing) == (
        f"{existing}\n\nRecording: {REC}")


def test_closing_twice_does_not_repeat_the_links():
    call = ended_call(recording=REC)
    first = close_task_fields(call, existing_description="notes", existing_subject=None, locale="ja",
                              settings=TOKYO)
    second = close_task_fields(call, existing_description=first["Description"], existing_subject=first["Subject"],
                               locale="ja", settings=TOKYO)
    assert first["Description"] == f"notes\n\n録音: {REC}"
    assert "Description" not in second
    assert "Subject" not in second


@pytest.mark.parametrize("existing_subject", [None, "", notes_subject("en"), f" {notes_subject('ja')} "])
def test_closing_a_task_with_a_placeholder_subject_sets_the_call_subject(existing_subject):
    fields = close_task_fields(ended_call(), existing_description=None, existing_subject=existing_subject,
                               locale="en", settings=TOKYO)
    assert fields["Subject"] == "Call - Inbound / (2) min"


def test_closing_can_repoint_the_task_only_within_salesforce_rules():
    fields = close_task_fields(ended_call(), existing_description=None, existing_subject="x", locale="en",
                               settings=TOKYO, who_id=LEAD_ID, what_id=None)
    assert fields["WhoId"] == LEAD_ID and fields["WhatId"] is None
    with pytest.raises(ValueError, match="Lead"):
        close_task_fields(ended_call(), existing_description=None, existing_subject="x", locale="en",
                          settings=TOKYO, who_id=LEAD_ID, what_id=ACCOUNT_ID)


# -- the notes Task, the timeout line, the language ------------------------------------------------------------------

@pytest.mark.parametrize("locale, subject", [("en", "Call"), ("ja", "通話"), (None, "Call"), ("fr", "Call")])
def test_a_notes_task_carries_the_bare_call_subject_until_the_call_ends(locale, subject):
    assert notes_subject(locale) == subject


def test_an_agents_own_subject_on_the_notes_task_is_kept_when_the_call_closes():
    fields = close_task_fields(ended_call(), existing_description=None, existing_subject="Quote sent",
                               locale="en", settings=TOKYO)
    assert "Subject" not in fields


def test_a_note_is_stamped_with_its_time_on_the_org_clock():
    moment = datetime(2026, 11, 22, 15, 30, tzinfo=timezone.utc)
    assert stamped_note("  資料送付\n", moment, "Asia/Tokyo") == "[2026-11-23 00:30] 資料送付"


@pytest.mark.parametrize("locale, words", [("en", "after 4 h."), ("ja", "4時間後")])
def test_a_call_closed_on_its_timeout_says_so_once(locale, words):
    once = with_timeout_note("notes", locale, 4 * 3600)
    assert once.startswith("notes\n\n") and words in once
    assert with_timeout_note(once, locale, 4 * 3600) == once
    assert words in with_timeout_note(None, locale, 4 * 3600)


@pytest.mark.parametrize("configured, user_language, language", [
    (None, None, "en"), (None, "ja", "ja"), (None, "en_US", "en"), ("en", "ja", "en"), ("ja", "en_US", "ja"),
])
def test_tasks_are_written_in_the_configured_language_else_the_agents(configured, user_language, language):
    assert task_language(LoggingSettings(task_language=configured), user_language) == language


# -- the settings, read once from the configuration ------------------------------------------------------------------

APP_DEFAULTS = {"PANEL_TIMEZONE": "Asia/Tokyo"}  # panel.config always sets it


def test_unset_settings_read_as_the_documented_defaults():
    settings = LoggingSettings.from_config(APP_DEFAULTS)
    assert settings == LoggingSettings(timezone="Asia/Tokyo")
    assert (settings.call_timeout_s, settings.retry_for_s, settings.lease_ttl_s) == (14400, 86400, 120)
    assert (settings.retry_base_s, settings.retry_cap_s) == (2, 3600)
    assert not (settings.log_internal or settings.log_missed or settings.task_language or settings.subject_template)


def test_settings_are_read_from_the_configuration():
    settings = LoggingSettings.from_config({
        **APP_DEFAULTS, "PANEL_LOG_INTERNAL_CALLS": True, "PANEL_LOG_MISSED_CALLS": "on",
        "PANEL_TASK_LANGUAGE": "ja", "PANEL_CALL_EXTERNAL_ID_FIELD": "Panel_Call_Key__c",
        "PANEL_TASK_SUBJECT_TEMPLATE": "{outcome}", "PANEL_CALL_TIMEOUT_S": 60, "PANEL_CALL_RETRY_FOR_S": 600.5,
        "PANEL_CALL_RETRY_BASE_S": 0.2, "PANEL_CALL_RETRY_CAP_S": 5, "PANEL_CALL_LEASE_TTL_S": 7})
    assert settings == LoggingSettings(
        log_internal=True, log_missed=True, timezone="Asia/Tokyo", subject_template="{outcome}",
        external_id_field="Panel_Call_Key__c", task_language="ja", call_timeout_s=60,
        retry_for_s=600.5, retry_base_s=0.2, retry_cap_s=5, lease_ttl_s=7)


def test_a_zero_backoff_or_lease_falls_back_to_the_default_instead_of_retrying_at_once():
    settings = LoggingSettings.from_config({**APP_DEFAULTS, "PANEL_CALL_RETRY_BASE_S": 0, "PANEL_CALL_RETRY_CAP_S": 0,
                                            "PANEL_CALL_LEASE_TTL_S": 0, "PANEL_CALL_TIMEOUT_S": 0})
    assert (settings.retry_base_s, settings.retry_cap_s, settings.lease_ttl_s) == (2, 3600, 120)
    assert settings.call_timeout_s == 0


def test_a_subject_template_that_cannot_be_filled_stops_the_start():
    with pytest.raises(TemplateError, match="{number}"):
        LoggingSettings.from_config({**APP_DEFAULTS, "PANEL_TASK_SUBJECT_TEMPLATE": "{number}"})


def test_a_person_account_is_the_tasks_what_and_its_person_contact_its_who():
    assert who_and_what("001000000000001AAA", person_contact_id="003000000000009AAA") == (
        "003000000000009AAA", "001000000000001AAA")
    for record_id, person_contact_id in (("003000000000001AAA", "003000000000009AAA"),
                                         ("001000000000001AAA", "00Q000000000001AAA")):
        with pytest.raises(ValueError):
            who_and_what(record_id, person_contact_id=person_contact_id)


# -- the subject the agent typed (issue 16) --------------------------------------------------------------------------

@pytest.mark.parametrize("template, typed, subject", [
    (None, "見積の再送依頼", "見積の再送依頼"),  # what the agent typed is the subject
    (None, "  見積の\n再送依頼 ", "見積の 再送依頼"),  # on one line
    (None, None, "通話 - 着信 / (2)分"),  # nothing typed: the default
    ("Dialpad {outcome}", "見積の再送依頼", "見積の再送依頼"),  # a template without {subject} gives way to it
    ("{subject} ({outcome} {minutes}分)", "見積の再送依頼", "見積の再送依頼 (通話 2分)"),
    ("{subject} ({outcome} {minutes}分)", None, "(通話 2分)"),
    ("{subject} - {outcome} / {direction}", "", "通話 / 着信"),  # the separator an empty {subject} leaves goes
    ("{outcome}: {subject}", None, "通話"),
    ("{subject}", None, "通話 - 着信 / (2)分"),  # nothing left: the default
])
def test_the_subject_the_agent_typed_is_the_subject_or_fills_the_templates_placeholder(template, typed, subject):
    assert task_subject("inbound", 95, True, "ja", template, agent_subject=typed) == subject


def test_a_typed_subject_is_cut_to_salesforces_limit():
    assert len(task_subject("inbound", 95, True, "en", agent_subject="x" * 300)) == 255
    assert len(task_subject("inbound", 95, True, "en", "{subject} {minutes}", agent_subject="x" * 300)) == 255


def test_the_created_task_carries_the_typed_subject_and_the_call_facts_in_the_call_fields():
    fields = task_fields(ended_call(), who_id=CONTACT_ID, what_id=None, owner_id=None, notes="来週までに送付",
                         locale="ja", settings=TOKYO, agent_subject="見積の再送依頼")
    assert fields["Subject"] == "見積の再送依頼"
    assert (fields["CallType"], fields["CallDurationInSeconds"], fields["Description"]) == (
        "Inbound", 95, "来週までに送付")


@pytest.mark.parametrize("existing, written, typed, template, expected", [
    ("見積", "見積", "見積", None, None),  # the typed subject is there: nothing to write
    ("通話", None, "見積", None, "見積"),  # the notes Task's placeholder gives way to it
    ("見積", "見積", "見積", "{subject} ({minutes}分)", "見積 (2分)"),  # the call's end fills the template in
    ("見積 (1分)", "見積 (1分)", "見積", "{subject} ({minutes}分)", "見積 (2分)"),  # a late leg corrects it
    ("通話 - 着信 / (1)分", "通話 - 着信 / (1)分", "見積", None, "見積"),  # typed after the call was logged
    ("請求の件", "見積", "見積", None, None),  # renamed in Salesforce since: kept
])
def test_closing_writes_the_typed_subject_and_never_a_name_given_in_salesforce(existing, written, typed, template,
                                                                              expected):
    settings = LoggingSettings(timezone="Asia/Tokyo", subject_template=template)
    fields = close_task_fields(ended_call(), existing_description=None, existing_subject=existing, locale="ja",
                               settings=settings, written_subject=written, agent_subject=typed)
    assert fields.get("Subject") == expected


def test_the_subject_placeholder_is_allowed_in_a_template():
    validate_subject_template("{subject} ({outcome} {minutes}分)")
    assert LoggingSettings.from_config({"PANEL_TIMEZONE": "UTC", "PANEL_TASK_SUBJECT_TEMPLATE": "{subject}"}
                                       ).subject_template == "{subject}"
