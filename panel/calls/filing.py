"""Which call in the ledger an accepted event is filed under (its `call_id` there).

- A call of several legs (a transfer, a forward) is one interaction: its events carry the interaction's `call_id`
  and their own `leg_id`, and are filed under the interaction, so the call is logged as one Task. With
  PANEL_TASK_PER_LEG each leg is filed (and logged) on its own.
- A text message belongs to its conversation: the agent, the other party's number and the local day (in
  PANEL_TIMEZONE) the message was sent on; `conversation_id` names it `sms:<agent>:<number>:<YYYY-MM-DD>`, so one
  day of messages with one number is one Task (panel.calls.messages).

Nothing in this module talks to Salesforce, Flask or the database.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from panel.calls.events import MAX_ID_LENGTH, CallEvent
from panel.phone import is_withheld, parse_caller

__all__ = ["CONVERSATION_PREFIX", "FilingSettings", "conversation_id", "filed", "is_conversation"]

CONVERSATION_PREFIX = "sms:"


@dataclass(frozen=True)
class FilingSettings:
    """PANEL_TASK_PER_LEG, the number's region (PANEL_DEFAULT_REGION) and the local day's zone (PANEL_TIMEZONE)."""

    per_leg: bool = False
    region: str = "JP"
    timezone: str = "Asia/Tokyo"

    @classmethod
    def from_config(cls, config) -> "FilingSettings":
        return cls(per_leg=bool(config.get("PANEL_TASK_PER_LEG")),
                   region=str(config.get("PANEL_DEFAULT_REGION") or "JP").upper(),
                   timezone=str(config.get("PANEL_TIMEZONE") or "UTC"))


def filed(event: CallEvent, settings: FilingSettings) -> CallEvent:
    """The event with the `call_id` it is filed under."""
    if event.is_message:
        return replace(event, call_id=conversation_id(event, settings))
    if settings.per_leg and event.leg_id and event.leg_id != event.call_id:
        return replace(event, call_id=event.leg_id, leg_id=None)
    return event


def conversation_id(event: CallEvent, settings: FilingSettings) -> str:
    """`sms:<agent>:<number>:<local day>`: the agent's e-mail (or the vendor's name for an unresolved agent), the
    number in E.164 when it parses (else as sent), the day the message was sent in PANEL_TIMEZONE."""
    agent = (event.agent_email or event.agent_ref or "").strip().lower()
    number = None if is_withheld(event.external_number) else parse_caller(event.external_number, settings.region)
    party = number.e164 if number is not None else "".join(event.external_number.split())
    day = event.occurred_at.astimezone(ZoneInfo(settings.timezone)).date().isoformat()
    key = f"{CONVERSATION_PREFIX}{agent}:{party}:{day}"
    if len(key) > MAX_ID_LENGTH:  # an absurdly long agent reference or number: still one stable key
        digest = hashlib.sha256(f"{agent}:{party}".encode()).hexdigest()
        key = f"{CONVERSATION_PREFIX}{digest}:{day}"
    return key


def is_conversation(call_id: str) -> bool:
    return call_id.startswith(CONVERSATION_PREFIX)
