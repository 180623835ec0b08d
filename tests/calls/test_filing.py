"""Which call an accepted event is filed under (panel.calls.filing): the interaction for a call of several legs
(or each leg, with PANEL_TASK_PER_LEG), the conversation of the agent, number and local day for a text message."""

from __future__ import annotations

from datetime import datetime, timezone

from panel.calls.events import CallEvent
from panel.calls.filing import FilingSettings, conversation_id, filed, is_conversation

TOKYO = FilingSettings(region="JP", timezone="Asia/Tokyo")


def message(at: str, number: str = "03-1234-5678", agent: str = "agent@example.com", **extra) -> CallEvent:
    return CallEvent(event_id="m1", type="message.received", call_id="", direction="inbound", agent_email=agent,
                     occurred_at=datetime.fromisoformat(at), external_number=number, text="hello", **extra)


def test_a_message_is_filed_under_its_agent_number_and_local_day():
    assert filed(message("2026-12-05T10:03:00+09:00"), TOKYO).call_id == "sms:agent@example.com:+81312345678:2026-12-05"


def test_the_local_day_decides_not_utc():
    late = message("2026-12-05T14:59:00Z")  # 23:59 in Tokyo
    next_day = message("2026-12-05T15:01:00Z")  # 00:01 the next day in Tokyo
    assert conversation_id(late, TOKYO).endswith(":2026-12-05")
    assert conversation_id(next_day, TOKYO).endswith(":2026-12-06")


def test_one_number_written_two_ways_is_one_conversation():
    assert (conversation_id(message("2026-12-05T10:00:00+09:00", "+81 3-1234-5678"), TOKYO)
            == conversation_id(message("2026-12-05T11:00:00+09:00", "０３１２３４５６７８"), TOKYO))


def test_an_unresolved_agent_is_named_by_the_vendors_identity():
    event = message("2026-12-05T10:00:00+09:00", agent="", agent_ref="zoom:1001")
    assert conversation_id(event, TOKYO) == "sms:zoom:1001:+81312345678:2026-12-05"
    assert is_conversation(conversation_id(event, TOKYO))


def test_legs_are_filed_under_the_interaction_unless_each_leg_is_wanted():
    leg = CallEvent(event_id="e", type="call.ringing", call_id="dialpad:100", leg_id="dialpad:101",
                    direction="inbound", agent_email="agent@example.com",
                    occurred_at=datetime(2026, 12, 5, tzinfo=timezone.utc))
    assert filed(leg, TOKYO).call_id == "dialpad:100"
    per_leg = filed(leg, FilingSettings(per_leg=True))
    assert (per_leg.call_id, per_leg.leg_id) == ("dialpad:101", None)
