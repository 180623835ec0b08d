"""Which calls become Salesforce Tasks, what those Tasks say, and the settings that decide both.

The job that logs an ended call asks `should_log`, then sends `task_fields` (a new Task) or `close_task_fields`
(the open Task the agent's notes created during the call, found by `CallObject`). Everything Salesforce insists on
is decided here, so the job (panel.calls.pipeline) and the notes (panel.calls.notes) only move dicts:

- `WhoId` is a person (Contact `003`, Lead `00Q`); `WhatId` anything else (Account `001`, Opportunity `006`, ...)
  and must stay empty when `WhoId` is a Lead. A match on an Account is logged with `WhatId` only, except a person
  account (Person Accounts), whose person contact is the `WhoId` beside it.
- `TaskSubtype` can be set on create but not updated, so the close fields leave it out.
- `CallType` is Inbound or Outbound, and Salesforce's own `Internal` for an internal call logged by setting.
- `Description` is a 32,000-character text area; the recording and voicemail links survive truncation, the notes
  are shortened instead. Facts reported after the call (recordings, transcripts, summaries: `state.Fact`) follow
  the call's own lines, labelled in the Task's language; a long transcript or summary is shortened, never a link.
- `ActivityDate` is the date the call started on the org's clock (`PANEL_TIMEZONE`), not in UTC: a call at 00:30
  in Tokyo belongs to that day, not to the previous one.

Subjects (defaults, overridable with a template; see `task_subject`):
    answered             Call - Inbound / (2) min          通話 - 着信 / (2)分
    missed, inbound      Missed call - Inbound             不在着信 - 着信
    unanswered, outbound No answer - Outbound              応答なし - 発信
    voicemail left       Voicemail - Inbound               留守番電話 - 着信
    notes, call not over Call                              通話      (`notes_subject`; the call's end replaces it)

The subject the agent typed on the panel's task form for the call (`agent_subject`) is the Task's subject instead,
as typed: during the call, at its end and after any later correction. The call's facts stay in the call fields
(CallType, CallDurationInSeconds) and the description. An admin who wants both puts `{subject}` in the template
(`{subject} ({outcome} {minutes}分)`); it is empty when the agent typed nothing, and the separators left at the
subject's edges are dropped (`(通話 2分)`), or the default subject used when nothing is left.

The texts sent to Salesforce are kept here (English and Japanese) rather than in the UI catalogues: they are record
data in the org's language (`task_language`), produced by a background job without a request. So are the note's
timestamp (`stamped_note`) and the line a call closed on its timeout carries (`with_timeout_note`).

`LoggingSettings` holds the admin's call-logging choices, read once from the app's configuration
(`LoggingSettings.from_config`, at start-up) and handed to everything that logs calls.

Nothing in this module talks to Salesforce or Flask.
"""

from __future__ import annotations

import math
import re
import string
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from panel.calls.state import CallState, Fact
from panel.salesforce.task_statuses import StatusPreference

__all__ = [
    "DESCRIPTION_MAX",
    "SUBJECT_MAX",
    "SUBJECT_PLACEHOLDERS",
    "LoggingSettings",
    "TemplateError",
    "activity_date",
    "call_minutes",
    "call_subject",
    "close_task_fields",
    "describe",
    "fit",
    "notes_subject",
    "should_log",
    "stamped_note",
    "task_fields",
    "task_language",
    "task_subject",
    "utf16_len",
    "validate_subject_template",
    "who_and_what",
    "with_timeout_note",
]

DESCRIPTION_MAX = 32_000
SUBJECT_MAX = 255
DISPOSITION_MAX = 255
SUBJECT_PLACEHOLDERS = ("subject", "outcome", "direction", "minutes", "seconds")
PERSON_PREFIXES = {"003": "Contact", "00Q": "Lead"}
_NEVER_WHAT = {"003", "00Q", "005"}  # people and users cannot be what a Task is related to
_SALESFORCE_ID = re.compile(r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?")
_ELLIPSIS = "…"

_TEXTS = {
    "en": {
        "inbound": "Inbound", "outbound": "Outbound",
        "answered": "Call", "missed": "Missed call", "no_answer": "No answer", "voicemail": "Voicemail",
        "answered_template": "{outcome} - {direction} / ({minutes}) min",
        "unanswered_template": "{outcome} - {direction}",
        "notes_subject": "Call",
        "recording_label": "Recording", "voicemail_label": "Voicemail", "transcript_url_label": "Transcript",
        "transcript_label": "Transcript", "summary_label": "Summary",
        "timeout_note": "The dialer never reported the end of this call; it was logged with what was known after "
                        "{hours:g} h.",
    },
    "ja": {
        "inbound": "着信", "outbound": "発信",
        "answered": "通話", "missed": "不在着信", "no_answer": "応答なし", "voicemail": "留守番電話",
        "answered_template": "{outcome} - {direction} / ({minutes})分",
        "unanswered_template": "{outcome} - {direction}",
        "notes_subject": "通話",
        "recording_label": "録音", "voicemail_label": "留守番電話", "transcript_url_label": "文字起こし",
        "transcript_label": "文字起こし", "summary_label": "要約",
        "timeout_note": "ダイヤラーから通話終了の通知がなかったため、{hours:g}時間後に把握済みの内容で記録しました。",
    },
}
# Any language's notes subject: a Task still carrying one was never given a subject by its agent.
_NOTES_SUBJECTS = frozenset(texts["notes_subject"] for texts in _TEXTS.values())
_FLAG_WORDS = ("1", "true", "yes", "on")
# What an empty `{subject}` leaves at the edges of a filled template ("{subject} - {outcome}" → "- 通話").
_EDGE_SEPARATORS = " \t\u3000-–—:：|/／・·,，、"


class TemplateError(ValueError):
    """A subject template the panel cannot fill; the message names the problem and the allowed placeholders."""


@dataclass(frozen=True)
class LoggingSettings:
    """The admin's choices for call logging (README, "Configuration"; docs/call-events.md).

    `subject_template` replaces the default subject for every logged call (answered or not); `external_id_field`
    is a custom Task field (e.g. `Panel_Call_Key__c`) that receives the call id so retries can upsert on it;
    `task_language` ("ja"/"en") writes every Task text in one language instead of each agent's Salesforce language.
    The rest are times in seconds: a call without an end event is closed after `call_timeout_s`; transient failures
    are retried for `retry_for_s`, waiting up to `retry_base_s` doubled per attempt and at most `retry_cap_s`; a
    call's lease outlives a dead holder by `lease_ttl_s`; a call whose dialer names its legs is logged
    `transfer_settle_s` after its last event once every leg has ended (a blind transfer ends one leg just before the
    next one rings, and deliveries reorder); `task_statuses` are the statuses the settings choose for
    the call's Task (PANEL_TASK_OPEN_STATUS / PANEL_TASK_DONE_STATUS). (The number's region is the pop's:
    `PopSettings.region`.)
    """

    log_internal: bool = False
    log_missed: bool = False
    timezone: str = "UTC"
    subject_template: str | None = None
    external_id_field: str | None = None
    task_language: str | None = None
    call_timeout_s: float = 4 * 3600.0
    retry_for_s: float = 24 * 3600.0
    retry_base_s: float = 2.0
    retry_cap_s: float = 3600.0
    lease_ttl_s: float = 120.0
    transfer_settle_s: float = 5.0
    task_statuses: StatusPreference = StatusPreference()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "LoggingSettings":
        """The settings an app's configuration gives (panel.config has read and checked the environment).

        Raises `TemplateError` for a subject template that cannot be filled, so a bad one stops the start."""
        defaults = cls()

        def text(name: str) -> str | None:
            value = config.get(name)
            return None if value is None or value == "" else str(value)

        def flag(name: str) -> bool:
            value = config.get(name)
            return value if isinstance(value, bool) else str(value or "").strip().lower() in _FLAG_WORDS

        def seconds(name: str, default: float) -> float:
            try:
                return max(0.0, float(config.get(name) if config.get(name) not in (None, "") else default))
            except (TypeError, ValueError):
                return default

        template = text("PANEL_TASK_SUBJECT_TEMPLATE")
        if template is not None:
            validate_subject_template(template)
        return cls(
            log_internal=flag("PANEL_LOG_INTERNAL_CALLS"),
            log_missed=flag("PANEL_LOG_MISSED_CALLS"),
            timezone=config["PANEL_TIMEZONE"],
            subject_template=template,
            external_id_field=text("PANEL_CALL_EXTERNAL_ID_FIELD"),
            task_language=text("PANEL_TASK_LANGUAGE"),
            call_timeout_s=seconds("PANEL_CALL_TIMEOUT_S", defaults.call_timeout_s),
            retry_for_s=seconds("PANEL_CALL_RETRY_FOR_S", defaults.retry_for_s),
            # a zero base or cap would retry at once, for ever: they fall back to the default instead
            retry_base_s=seconds("PANEL_CALL_RETRY_BASE_S", defaults.retry_base_s) or defaults.retry_base_s,
            retry_cap_s=seconds("PANEL_CALL_RETRY_CAP_S", defaults.retry_cap_s) or defaults.retry_cap_s,
            lease_ttl_s=seconds("PANEL_CALL_LEASE_TTL_S", defaults.lease_ttl_s) or defaults.lease_ttl_s,
            transfer_settle_s=seconds("PANEL_CALL_SETTLE_S", defaults.transfer_settle_s),
            task_statuses=StatusPreference.from_config(config),
        )


def task_language(settings: LoggingSettings, user_language: str | None = None) -> str:
    """The language Task texts are written in ("ja" or "en"): the configured one, else the agent's Salesforce
    language (`LanguageLocaleKey`, e.g. "ja" or "en_US"), else English."""
    chosen = settings.task_language or user_language or "en"
    return "ja" if str(chosen).lower().startswith("ja") else "en"


def should_log(state: CallState, settings: LoggingSettings) -> tuple[bool, str]:
    """Whether the call becomes a Task, with a short reason code for the call's record and the logs.

    Reasons: "not_ended", "internal", "missed" (not logged); "answered", "voicemail", "missed_enabled" (logged).
    """
    if state.end is None:
        return False, "not_ended"
    if state.internal and not settings.log_internal:
        return False, "internal"
    if state.answered:
        return True, "answered"
    if state.voicemail_url:
        return True, "voicemail"
    if settings.log_missed:
        return True, "missed_enabled"
    return False, "missed"


def call_minutes(duration_seconds: int, answered: bool) -> int:
    """Minutes as the subject shows them: rounded up, at least 1 for an answered call, 0 for an unanswered one."""
    if not answered:
        return 0
    return max(1, math.ceil(max(0, duration_seconds) / 60))


def validate_subject_template(template: str) -> None:
    """Raise `TemplateError` unless `template` uses only the named placeholders in `SUBJECT_PLACEHOLDERS`.

    Attribute and index lookups (`{direction.upper}`) and positional fields (`{}`) are refused: a template is
    admin input and must not reach into Python objects.
    """
    allowed = ", ".join("{" + name + "}" for name in SUBJECT_PLACEHOLDERS)
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise TemplateError(f"subject template is malformed ({error}); write {{{{ or }}}} for a brace; "
                            f"allowed: {allowed}") from None
    for _literal, name, spec, _conversion in parsed:
        if name is None:
            continue
        if name not in SUBJECT_PLACEHOLDERS:
            shown = "{" + name + "}" if name else "{}"
            raise TemplateError(f"unknown placeholder {shown} in subject template; allowed: {allowed}")
        if spec and "{" in spec:
            raise TemplateError(f"nested placeholders are not allowed in subject template; allowed: {allowed}")
    try:
        _fill(template, {"subject": "", "outcome": "", "direction": "", "minutes": 0, "seconds": 0})
    except (ValueError, TypeError) as error:
        raise TemplateError(f"subject template cannot be filled ({error}); allowed: {allowed}") from None


def task_subject(direction: str, duration_seconds: int, answered: bool, locale: str | None,
                 template: str | None = None, *, voicemail: bool = False, agent_subject: str | None = None) -> str:
    """The Task subject for a call, in `locale` ("ja…" is Japanese, anything else English), at most 255 characters.

    `agent_subject`, what the agent typed, is the subject, unless the `template` has a `{subject}` to put it in.
    With a `template`, its `{subject}` (what the agent typed, empty when nothing), `{outcome}` (Call / Missed call /
    No answer / Voicemail), `{direction}`, `{minutes}` and `{seconds}` are filled in; otherwise the locale's default
    is used (see the module docstring).
    """
    if template is not None:
        validate_subject_template(template)
    if direction not in ("inbound", "outbound"):
        raise ValueError(f"direction must be inbound or outbound, not {direction!r}")
    typed = " ".join((agent_subject or "").split())  # one line, however it was typed
    if typed and (template is None or "subject" not in _placeholders(template)):
        return fit(typed, SUBJECT_MAX)
    texts = _texts(locale)
    if answered:
        outcome = texts["answered"]
    elif voicemail:
        outcome = texts["voicemail"]
    else:
        outcome = texts["missed"] if direction == "inbound" else texts["no_answer"]
    if template is None:
        template = texts["answered_template"] if answered else texts["unanswered_template"]
    values = {"subject": typed, "outcome": outcome, "direction": texts[direction],
              "minutes": call_minutes(duration_seconds, answered), "seconds": max(0, duration_seconds)}
    filled = _fill(template, values).strip()
    if not typed and "subject" in _placeholders(template):
        filled = filled.strip(_EDGE_SEPARATORS) or _fill(
            texts["answered_template"] if answered else texts["unanswered_template"], values)
    return fit(filled, SUBJECT_MAX)


def _placeholders(template: str) -> set[str]:
    return {name for _literal, name, _spec, _conversion in string.Formatter().parse(template) if name}


def notes_subject(locale: str | None) -> str:
    """The subject of the open Task an agent's note starts during a call when the agent typed none, in the Task's
    language (`task_language`); the call's end replaces it with the call's subject (`close_task_fields`)."""
    return _texts(locale)["notes_subject"]


def stamped_note(text: str, moment: datetime, tz_name: str) -> str:
    """A note as it is added to the call's Task: its time on the org's clock first, `[2026-11-22 10:42] text`."""
    return f"[{moment.astimezone(_zone(tz_name)):%Y-%m-%d %H:%M}] {text.strip()}"


def with_timeout_note(description: str | None, locale: str | None, timeout_s: float) -> str:
    """`description` with the line saying the call was closed on its timeout (`timeout_s`) added once."""
    note = _texts(locale)["timeout_note"].format(hours=round(timeout_s / 3600, 2))
    text = (description or "").rstrip()
    return text if note in text else (f"{text}\n\n{note}" if text else note)


def activity_date(occurred_at: datetime, tz_name: str) -> date:
    """The calendar date of `occurred_at` on the clock of `tz_name` (an IANA zone such as Asia/Tokyo)."""
    if occurred_at.tzinfo is None or occurred_at.utcoffset() is None:
        raise ValueError("occurred_at must be timezone-aware to have a local date")
    return occurred_at.astimezone(_zone(tz_name)).date()


def who_and_what(record_id: str | None, related_id: str | None = None, *,
                 person_contact_id: str | None = None) -> tuple[str | None, str | None]:
    """(WhoId, WhatId) for a call matched to `record_id`, optionally also related to `related_id`.

    A Contact or Lead becomes WhoId; anything else (Account, Opportunity, ...) becomes WhatId. A Lead cannot have
    a WhatId beside it, so `related_id` is dropped for a Lead. Two non-person records cannot both be related.
    A person account (`record_id` an Account with its `person_contact_id`) is both: the person contact is the
    WhoId and the account the WhatId, as Salesforce relates a person account's activities (the person contact is
    "the only contact record that can be associated directly with the person account"; SOAP API Developer Guide,
    "Person Account Record Types").
    """
    _check_id(record_id, "record_id")
    _check_id(related_id, "related_id")
    _check_id(person_contact_id, "person_contact_id")
    if person_contact_id:
        if (record_id or "")[:3] != "001" or person_contact_id[:3] != "003":
            raise ValueError("a person contact (003) goes only with its person account (001)")
        if related_id and related_id != record_id:
            raise ValueError("a Task can be related to only one non-person record (WhatId)")
        return person_contact_id, record_id
    if related_id and related_id[:3] in _NEVER_WHAT:
        raise ValueError("related_id must not be a Contact, Lead or User")
    if not record_id:
        return None, related_id or None
    if record_id[:3] == "00Q":
        return record_id, None
    if record_id[:3] == "003":
        return record_id, related_id or None
    if record_id[:3] == "005":
        raise ValueError("a call cannot be logged against a User")
    if related_id and related_id != record_id:
        raise ValueError("a Task can be related to only one non-person record (WhatId)")
    return None, record_id


def describe(notes: str | None, *, recording_url: str | None, voicemail_url: str | None, locale: str | None,
             existing: str | None = None, facts: tuple[Fact, ...] | list[Fact] = ()) -> str:
    """The Task description: the notes, then one labelled line per link, then the transcripts and summaries
    (`facts`, each under its label), within 32,000 characters.

    With `existing` (the description already on the Task) the links and facts are appended to it unless they are
    already there, so closing the same Task twice, or a fact delivered again, does not repeat them. When too long,
    the transcripts and summaries are shortened first, then the notes (ending in "…"); the links are kept whole.
    Length is counted in UTF-16 code units as Salesforce counts it, so emoji in notes cannot push the text over the
    limit, and no character is ever cut in half.
    """
    texts = _texts(locale)
    body = (existing if existing is not None else notes or "").rstrip()
    present = set(body.splitlines())
    lines: list[str] = []
    labelled = [(texts["recording_label"], recording_url), (texts["voicemail_label"], voicemail_url)]
    labelled += [(texts[f"{fact.kind}_label"], fact.value) for fact in facts if not fact.is_text]
    for label, url in labelled:
        line = f"{label}: {url}"
        if url and line not in present and line not in lines:
            lines.append(line)
    links = "\n".join(lines)
    blocks = [block for block in (_text_block(texts[f"{fact.kind}_label"], fact.value) for fact in facts
                                  if fact.is_text) if not _holds_block(body, block)]
    body_room = DESCRIPTION_MAX - (utf16_len(links) + 2 if links else 0)
    pieces = [piece for piece in (fit(body, body_room), links) if piece]
    for block in blocks:
        used = sum(utf16_len(piece) for piece in pieces) + 2 * len(pieces)  # with the separator before the block
        room = DESCRIPTION_MAX - used
        if room > utf16_len(block.split("\n", 1)[0]) + 2:  # its label and a little of its text fit
            pieces.append(fit(block, room))
    return "\n\n".join(pieces)


def _text_block(label: str, text: str) -> str:
    return f"{label}:\n{text.strip()}"


_BLOCK_MARK = 80  # characters of a transcript or summary that say it is already in a description


def _holds_block(description: str, block: str) -> bool:
    """Whether `description` already holds the transcript or summary `block` (its label and first characters:
    a long one was shortened when it was written)."""
    return block[:_BLOCK_MARK] in description


def task_fields(state: CallState, *, who_id: str | None, what_id: str | None, owner_id: str | None,
                notes: str | None, locale: str | None, settings: LoggingSettings,
                agent_subject: str | None = None) -> dict[str, Any]:
    """The fields of the completed call Task to create. Keys whose value would be empty are left out.
    `agent_subject` is the subject the agent typed for the call (`call_subject`).

    `who_id` / `what_id` must follow Salesforce's rules (see `who_and_what`): a non-person WhoId, a person WhatId,
    or a WhatId beside a Lead raise ValueError rather than fail later at Salesforce.
    """
    _check_relation(who_id, what_id)
    fields = _call_fields(state, locale, settings)
    fields.update(
        Subject=_subject(state, locale, settings, agent_subject),
        TaskSubtype="Call",
        WhoId=who_id,
        WhatId=what_id,
        OwnerId=owner_id,
        Description=describe(notes, recording_url=state.recording_url, voicemail_url=state.voicemail_url,
                             locale=locale, facts=state.ordered_facts) or None,
    )
    if settings.external_id_field:
        fields[settings.external_id_field] = state.call_id
    return {name: value for name, value in fields.items() if value is not None}


def close_task_fields(state: CallState, *, existing_description: str | None, existing_subject: str | None,
                      locale: str | None, settings: LoggingSettings, owner_id: str | None = None,
                      who_id: str | None = None, what_id: str | None = None,
                      written_subject: str | None = None, agent_subject: str | None = None) -> dict[str, Any]:
    """The fields to PATCH onto the open Task the agent's notes created during the call, completing it.

    The agent's description is kept and the links appended (once, however often this is sent). The Task's
    subject becomes the call's (`call_subject`: what the agent typed on the panel, `agent_subject`, else the
    template's) while it is empty, the bare `notes_subject` ("Call"/"通話") a notes Task has until the call ends,
    what the agent typed, or `written_subject`, the subject the panel itself last wrote (a call corrected by a later
    leg or its real end); a subject someone gave the Task in Salesforce is kept.
    The call's facts (`state.facts`) missing from the description are appended.
    TaskSubtype is never sent (Salesforce refuses to update it), nor empty values; WhoId, WhatId and OwnerId only
    when given, so the record the agent chose stays. Passing `who_id` or `what_id` re-points the Task and sends
    both, the other one as null (so a Lead's WhatId is cleared).
    """
    fields = {name: value for name, value in _call_fields(state, locale, settings).items() if value is not None}
    if who_id is not None or what_id is not None:
        _check_relation(who_id, what_id)
        fields.update(WhoId=who_id, WhatId=what_id)
    if owner_id:
        fields["OwnerId"] = owner_id
    if (not existing_subject or existing_subject.strip() in _NOTES_SUBJECTS
            or (written_subject is not None and existing_subject == written_subject)
            or (agent_subject and existing_subject.strip() == agent_subject.strip())):
        subject = _subject(state, locale, settings, agent_subject)
        if subject != existing_subject:
            fields["Subject"] = subject
    description = describe(None, recording_url=state.recording_url, voicemail_url=state.voicemail_url,
                           locale=locale, existing=existing_description, facts=state.ordered_facts)
    if description != (existing_description or ""):
        fields["Description"] = description
    return fields


def _call_fields(state: CallState, locale: str | None, settings: LoggingSettings) -> dict[str, Any]:
    """The fields a create and a close share: the facts of the call itself."""
    if state.end is None:
        raise ValueError(f"call {state.call_id!r} has not ended")
    disposition = state.disposition.strip() if state.disposition else None
    return {
        "Status": "Completed",
        "Type": "Call",
        "CallType": "Internal" if state.internal else state.direction.capitalize(),
        "CallDurationInSeconds": state.duration_seconds,
        "CallObject": state.call_id,
        "CallDisposition": fit(disposition, DISPOSITION_MAX) if disposition else None,
        "ActivityDate": activity_date(state.started_at, settings.timezone).isoformat(),
    }


def call_subject(state: CallState, locale: str | None, settings: LoggingSettings,
                 agent_subject: str | None = None) -> str:
    """The subject the panel writes for the ended call (`task_subject` with the settings' template and what the
    agent typed)."""
    return _subject(state, locale, settings, agent_subject)


def _subject(state: CallState, locale: str | None, settings: LoggingSettings,
             agent_subject: str | None = None) -> str:
    return task_subject(state.direction, state.duration_seconds, state.answered, locale,
                        settings.subject_template, voicemail=bool(state.voicemail_url), agent_subject=agent_subject)


def _check_id(value: str | None, name: str) -> None:
    if value and not _SALESFORCE_ID.fullmatch(value):
        raise ValueError(f"{name} is not a Salesforce Id")


def _check_relation(who_id: str | None, what_id: str | None) -> None:
    _check_id(who_id, "who_id")
    _check_id(what_id, "what_id")
    if who_id and who_id[:3] not in PERSON_PREFIXES:
        raise ValueError("WhoId must be a Contact (003) or Lead (00Q)")
    if what_id and what_id[:3] in _NEVER_WHAT:
        raise ValueError("WhatId must not be a Contact, Lead or User")
    if who_id and what_id and who_id[:3] == "00Q":
        raise ValueError("WhatId must be empty when WhoId is a Lead")


def _texts(locale: str | None) -> dict[str, str]:
    language = (locale or "en").replace("-", "_").split("_")[0].lower()
    return _TEXTS.get(language, _TEXTS["en"])


def _zone(tz_name: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {tz_name!r}; use an IANA name such as Asia/Tokyo") from None


def _fill(template: str, values: dict[str, Any]) -> str:
    return template.format_map(values)


def utf16_len(text: str) -> int:
    """How long Salesforce counts `text` (UTF-16 code units: an emoji counts two)."""
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int) -> str:
    """`text` shortened to at most `limit` UTF-16 code units, ending in "…" when shortened, never mid-character."""
    if utf16_len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    kept: list[str] = []
    used = 1  # the ellipsis
    for char in text:
        width = 2 if ord(char) > 0xFFFF else 1
        if used + width > limit:
            break
        kept.append(char)
        used += width
    return "".join(kept) + _ELLIPSIS
