"""Text messages as Salesforce keeps them: one Task per conversation (agent, number, local day), each message once.

A dialer reports each text message as a `message.received` or `message.sent` event; the intake files it under its
conversation (`panel.calls.filing.conversation_id`: `sms:<agent>:<E.164>:<YYYY-MM-DD in PANEL_TIMEZONE>`), and the
conversation's job (panel.calls.conversations) folds the conversation's stored events with `fold` and writes what
this module says:

- `fold`: every message once (by event id, however often it was delivered), in time order (ties by event id),
  whatever order the deliveries came in. The agent and the number are those of the latest message.
- `task_subject`: `SMS - 03-1234-5678 / 2026-12-05`: the other party's number as the panel shows numbers
  (`panel.phone.display`: national format for the panel's region, international otherwise) and the conversation's
  local day, the same in Japanese (the word is "SMS" there too); a withheld number is written "Withheld number" /
  "非通知".
- `description`: one line per message, `[10:03] ← text` received, `[10:05] → text` sent, the time on the org's
  clock (PANEL_TIMEZONE); further lines of a multi-line message are indented under the text (blank ones left out,
  so every line belongs to a message). Salesforce keeps 32,000 characters in `Description`: when a day's messages
  are longer, the newest are kept and the first line says how many earlier messages are left out (the latest
  messages are the ones an agent reads the Task for).
- `plan_description`: what the Task's description becomes once new messages arrived. While the Task still holds
  exactly what the panel wrote, it is written anew in time order (a late, earlier message takes its place);
  when someone edited it in Salesforce, the new messages are appended under the edit. A write whose answer was
  lost is recognised (`pending`), so no message is written twice.
- `task_fields`: a completed Task (Status: the org's done status, `panel.salesforce.task_statuses`) with
  `TaskSubtype` Task (the picklist's values are Task, Email, ListEmail, Cadence, Call and LinkedIn: none is a text
  message, and Call would show a text conversation as a phone call), no `Type` (the org's own picklist: its values
  vary from org to org, none is a standard "SMS"), no call fields but `CallObject` = the conversation id, so a
  write whose answer was lost is found again as a call's Task is. `ActivityDate` is the conversation's local day.
  Salesforce Object Reference, Task: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/
  object_reference/sforce_api_objects_task.htm (Description: textarea of 32,000; CallObject: string of 255;
  TaskSubtype: picklist, set on create only). The TaskSubtype values were read from orgs' describe results (and
  the local org mirrors them); the reference page lists the field but its value list could not be read here.

The Task's texts are record data in the org's language (`logging_rules.task_language`), kept here in English and
Japanese as panel.calls.logging_rules keeps the call's, not in the UI catalogues.

Nothing in this module talks to Salesforce, Flask or the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from panel.calls.events import CallEvent
from panel.calls.logging_rules import fit, utf16_len
from panel.phone import display, is_withheld, parse_caller
from panel.salesforce import task_statuses

__all__ = [
    "DESCRIPTION_MAX",
    "Conversation",
    "DescriptionPlan",
    "Message",
    "conversation_day",
    "description",
    "fold",
    "message_line",
    "plan_description",
    "task_fields",
    "task_subject",
]

DESCRIPTION_MAX = 32_000  # Task.Description, counted in UTF-16 code units as Salesforce counts
SUBJECT_MAX = 255
ARROWS = {"inbound": "←", "outbound": "→"}  # received, sent
_CONTINUATION = " " * len("[00:00] ")

_TEXTS = {
    "en": {
        "subject_template": "SMS - {number} / {day}",
        "withheld": "Withheld number",
        "omitted": "({count} earlier messages are not shown: the description holds 32,000 characters)",
    },
    "ja": {
        "subject_template": "SMS - {number} / {day}",
        "withheld": "非通知",
        "omitted": "（説明の上限32,000文字を超えるため、それ以前のメッセージ{count}件は省略しています）",
    },
}


@dataclass(frozen=True)
class Message:
    """One text message: received (`inbound`) or sent (`outbound`), at `sent_at` (UTC)."""

    event_id: str
    sent_at: datetime
    direction: str
    text: str


@dataclass(frozen=True)
class Conversation:
    """A conversation's messages, each once, oldest first, and who it is between."""

    conversation_id: str
    agent_email: str
    agent_ref: str | None
    external_number: str
    messages: tuple[Message, ...]

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(message.event_id for message in self.messages)

    @property
    def started_at(self) -> datetime:
        return self.messages[0].sent_at

    @property
    def ended_at(self) -> datetime:
        return self.messages[-1].sent_at


def fold(events: Iterable[CallEvent]) -> Conversation | None:
    """The conversation the message events make up (None when there is none). Order and repetition of the events
    do not matter; events that are not messages are left out."""
    by_id: dict[str, CallEvent] = {}
    for event in events:
        if event.is_message:
            by_id.setdefault(event.event_id, event)
    if not by_id:
        return None
    ordered = sorted(by_id.values(), key=lambda e: (e.occurred_at.astimezone(timezone.utc), e.event_id))
    latest = ordered[-1]
    return Conversation(
        conversation_id=latest.call_id, agent_email=latest.agent_email, agent_ref=latest.agent_ref,
        external_number=latest.external_number,
        messages=tuple(Message(event_id=e.event_id, sent_at=e.occurred_at.astimezone(timezone.utc),
                               direction=e.direction, text=e.text or "") for e in ordered))


# -- the Task's texts ------------------------------------------------------------------------------------------------

def conversation_day(conversation: Conversation, tz_name: str) -> date:
    """The local day the conversation is filed under: the last part of its id, else its first message's day."""
    try:
        return date.fromisoformat(conversation.conversation_id.rsplit(":", 1)[-1])
    except ValueError:
        return conversation.started_at.astimezone(ZoneInfo(tz_name)).date()


def task_subject(conversation: Conversation, *, locale: str | None, region: str, tz_name: str) -> str:
    """`SMS - 03-1234-5678 / 2026-12-05`, at most 255 characters."""
    texts = _texts(locale)
    subject = texts["subject_template"].format(number=_shown_number(conversation.external_number, region, texts),
                                               day=conversation_day(conversation, tz_name).isoformat())
    return fit(subject, SUBJECT_MAX)


def message_line(message: Message, tz_name: str) -> str:
    """`[10:03] ← text` (received) or `[10:05] → text` (sent), the time on `tz_name`'s clock."""
    moment = message.sent_at.astimezone(ZoneInfo(tz_name))
    lines = [line.rstrip() for line in message.text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    text = f"\n{_CONTINUATION}".join(line for line in lines if line.strip())
    return f"[{moment:%H:%M}] {ARROWS.get(message.direction, '·')} {text}".rstrip()


def description(messages: Iterable[Message], *, tz_name: str, locale: str | None) -> str:
    """The messages' lines in time order, within 32,000 characters: the newest are kept when they are longer."""
    ordered = sorted(messages, key=lambda m: (m.sent_at, m.event_id))
    return _newest_within(_texts(locale), [message_line(m, tz_name) for m in ordered])


@dataclass(frozen=True)
class DescriptionPlan:
    """What to do with the Task's description: write `text` (None: nothing), after which the Task holds the
    messages `written`. `confirmed` are the messages it holds already (a lost write's included)."""

    text: str | None
    written: frozenset[str]
    confirmed: frozenset[str]

    @property
    def adding(self) -> frozenset[str]:
        return self.written - self.confirmed


def plan_description(existing: str | None, conversation: Conversation, *, written: Iterable[str],
                     pending: Iterable[str] = (), tz_name: str, locale: str | None) -> DescriptionPlan:
    """The Task's new description, from what it holds (`existing`), the messages the panel wrote to it
    (`written`) and those of a write whose answer never came (`pending`: found in `existing`, they count as
    written). See the module docstring."""
    current = (existing or "").replace("\r\n", "\n").rstrip()
    done = frozenset(written) & conversation.ids
    tried = frozenset(pending) & conversation.ids - done
    if tried and (current == _describe_ids(conversation, done | tried, tz_name, locale)
                  or _block(conversation, tried, tz_name) in current):
        done |= tried
    everything = description(conversation.messages, tz_name=tz_name, locale=locale)
    if current == everything or done == conversation.ids:
        return DescriptionPlan(text=None, written=conversation.ids if current == everything else done,
                               confirmed=done)
    if not current or current == _describe_ids(conversation, done, tz_name, locale):
        return DescriptionPlan(text=everything, written=conversation.ids, confirmed=done)
    added = _block(conversation, conversation.ids - done, tz_name)
    lines = f"{current}\n\n{added}".split("\n")
    return DescriptionPlan(text=_newest_within(_texts(locale), lines), written=conversation.ids, confirmed=done)


def task_fields(conversation: Conversation, *, who_id: str | None, what_id: str | None, owner_id: str | None,
                locale: str | None, tz_name: str, region: str,
                external_id_field: str | None = None) -> dict[str, Any]:
    """The completed Task of a new conversation (every message in it). Empty values are left out."""
    fields = {
        "Subject": task_subject(conversation, locale=locale, region=region, tz_name=tz_name),
        "Status": task_statuses.DEFAULT.done,
        "TaskSubtype": "Task",
        "CallObject": conversation.conversation_id,
        "ActivityDate": conversation_day(conversation, tz_name).isoformat(),
        "WhoId": who_id,
        "WhatId": what_id,
        "OwnerId": owner_id,
        "Description": description(conversation.messages, tz_name=tz_name, locale=locale) or None,
    }
    if external_id_field:
        fields[external_id_field] = conversation.conversation_id
    return {name: value for name, value in fields.items() if value is not None}


# -- helpers ---------------------------------------------------------------------------------------------------------

def _shown_number(raw: str, region: str, texts: dict[str, str]) -> str:
    if is_withheld(raw):
        return texts["withheld"]
    number = parse_caller(raw, region)
    return display(number, region) if number is not None else " ".join(raw.split())


def _describe_ids(conversation: Conversation, ids: frozenset[str], tz_name: str, locale: str | None) -> str:
    return description([m for m in conversation.messages if m.event_id in ids], tz_name=tz_name, locale=locale)


def _block(conversation: Conversation, ids: frozenset[str], tz_name: str) -> str:
    return "\n".join(message_line(m, tz_name) for m in conversation.messages if m.event_id in ids)


def _newest_within(texts: dict[str, str], lines: list[str]) -> str:
    """`lines` joined, or, when longer than the description holds, the newest of them under a line saying how many
    were left out (a message's continuation lines count with it, so no message is cut in half)."""
    text = "\n".join(lines)
    if utf16_len(text) <= DESCRIPTION_MAX:
        return text
    groups: list[list[str]] = []
    for line in lines:
        if line.startswith(_CONTINUATION) and groups:
            groups[-1].append(line)
        else:
            groups.append([line])
    kept: list[str] = []
    room = DESCRIPTION_MAX - utf16_len(texts["omitted"].format(count=len(groups))) - 1
    used = 0
    for group in reversed(groups):
        size = utf16_len("\n".join(group)) + 1
        if used + size > room:
            break
        kept[:0] = group
        used += size
    left_out = len(groups) - sum(1 for line in kept if not line.startswith(_CONTINUATION))
    if not kept:  # a last line longer than the description holds (not a message: they are shorter)
        return _fit_end(text, DESCRIPTION_MAX)
    return texts["omitted"].format(count=left_out) + "\n" + "\n".join(kept)


def _texts(locale: str | None) -> dict[str, str]:
    language = (locale or "en").replace("-", "_").split("_")[0].lower()
    return _TEXTS.get(language, _TEXTS["en"])


def _fit_end(text: str, limit: int) -> str:
    """`text`'s end within `limit` UTF-16 code units, starting with "…" when cut."""
    return fit(text[::-1], limit)[::-1]
