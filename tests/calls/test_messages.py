"""What a day of text messages with one number looks like as a Salesforce Task (panel.calls.messages)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from panel.calls.events import CallEvent
from panel.calls.messages import (DESCRIPTION_MAX, conversation_day, description, fold, message_line,
                                  plan_description, task_fields, task_subject)

DAY = "2026-12-05"
CONVERSATION = f"sms:agent@example.com:+81312345678:{DAY}"
TEN_JST = datetime(2026, 12, 5, 1, 0, tzinfo=timezone.utc)  # 10:00 in Tokyo
TOKYO = "Asia/Tokyo"


def text(event_id: str, minutes: float, words: str, *, sent: bool = False, number: str = "03-1234-5678",
         conversation: str = CONVERSATION) -> CallEvent:
    return CallEvent(event_id=event_id, type="message.sent" if sent else "message.received",
                     call_id=conversation, direction="outbound" if sent else "inbound", internal=False,
                     agent_email="agent@example.com", external_number=number,
                     occurred_at=TEN_JST + timedelta(minutes=minutes), text=words)


DAY_OF_TEXTS = [text("m1", 3, "明日は10時でよろしいですか？"), text("m2", 5, "はい、お願いします。", sent=True),
                text("m3", 6, "承知しました")]


# -- folding ---------------------------------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_order_and_any_repetition_of_the_deliveries_give_the_same_conversation(data):
    deliveries = data.draw(st.lists(st.sampled_from(DAY_OF_TEXTS), min_size=1, max_size=9))
    deliveries += DAY_OF_TEXTS  # every message at least once
    shuffled = data.draw(st.permutations(deliveries))
    assert fold(shuffled) == fold(DAY_OF_TEXTS)
    assert [m.event_id for m in fold(shuffled).messages] == ["m1", "m2", "m3"]


def test_messages_at_the_same_moment_keep_one_order():
    same = [text("b", 1, "second"), text("a", 1, "first")]
    assert [m.text for m in fold(same).messages] == ["first", "second"]
    assert fold(reversed(same)) == fold(same)


def test_no_message_is_no_conversation():
    assert fold([]) is None


def test_the_conversation_is_between_the_agent_and_the_number_of_its_latest_message():
    conversation = fold([text("m1", 1, "a", number="0312345678"), text("m2", 2, "b", number="03-1234-5678")])
    assert (conversation.agent_email, conversation.external_number) == ("agent@example.com", "03-1234-5678")
    assert (conversation.started_at, conversation.ended_at) == (TEN_JST + timedelta(minutes=1),
                                                                TEN_JST + timedelta(minutes=2))


# -- the subject ---------------------------------------------------------------------------------------------------

def test_the_subject_names_the_number_as_people_write_it_and_the_local_day():
    conversation = fold(DAY_OF_TEXTS)
    assert task_subject(conversation, locale="en", region="JP", tz_name=TOKYO) == f"SMS - 03-1234-5678 / {DAY}"
    assert task_subject(conversation, locale="ja", region="JP", tz_name=TOKYO) == f"SMS - 03-1234-5678 / {DAY}"


def test_a_foreign_number_is_shown_internationally_and_a_withheld_one_in_words():
    foreign = fold([text("m1", 0, "hi", number="+14155550100")])
    assert task_subject(foreign, locale="en", region="JP", tz_name=TOKYO) == f"SMS - +1 415-555-0100 / {DAY}"
    withheld = fold([text("m1", 0, "hi", number="anonymous")])
    assert task_subject(withheld, locale="ja", region="JP", tz_name=TOKYO) == f"SMS - 非通知 / {DAY}"
    assert task_subject(withheld, locale="en", region="JP", tz_name=TOKYO) == f"SMS - Withheld number / {DAY}"


def test_the_day_is_the_one_the_conversation_is_filed_under():
    """23:59 in Tokyo is 14:59 UTC: the day is Tokyo's, as the conversation id says."""
    late = CallEvent(event_id="m1", type="message.received", call_id="sms:agent@example.com:+81312345678:2026-12-05",
                     direction="inbound", internal=False, agent_email="agent@example.com",
                     external_number="03-1234-5678", occurred_at=datetime(2026, 12, 5, 14, 59, tzinfo=timezone.utc),
                     text="おやすみなさい")
    assert conversation_day(fold([late]), TOKYO).isoformat() == "2026-12-05"
    assert message_line(fold([late]).messages[0], TOKYO) == "[23:59] ← おやすみなさい"


# -- the description -----------------------------------------------------------------------------------------------

def test_each_message_is_a_line_with_its_local_time_and_direction():
    assert description(fold(DAY_OF_TEXTS).messages, tz_name=TOKYO, locale="en") == (
        "[10:03] ← 明日は10時でよろしいですか？\n[10:05] → はい、お願いします。\n[10:06] ← 承知しました")


def test_a_message_of_several_lines_is_indented_under_its_time():
    line = message_line(fold([text("m1", 0, "一行目\r\n二行目\n\n三行目  ", sent=True)]).messages[0], TOKYO)
    assert line == "[10:00] → 一行目\n        二行目\n        三行目"


def test_a_day_longer_than_the_description_holds_keeps_the_newest_messages():
    long = [text(f"m{i:03}", i, f"{i:03} " + "あ" * 9_000) for i in range(5)]
    kept = description(fold(long).messages, tz_name=TOKYO, locale="en")
    assert len(kept.encode("utf-16-le")) // 2 <= DESCRIPTION_MAX
    assert kept.startswith("(2 earlier messages are not shown: the description holds 32,000 characters)\n")
    assert "] ← 002 " in kept and "] ← 004 " in kept and "] ← 001 " not in kept
    ja = description(fold(long).messages, tz_name=TOKYO, locale="ja")
    assert ja.startswith("（説明の上限32,000文字を超えるため、それ以前のメッセージ2件は省略しています）\n")


def test_emoji_count_twice_as_salesforce_counts_them():
    long = [text(f"m{i}", i, "😀" * 5_000) for i in range(4)]
    kept = description(fold(long).messages, tz_name=TOKYO, locale="en")
    assert len(kept.encode("utf-16-le")) // 2 <= DESCRIPTION_MAX and kept.count("😀") == 15_000


# -- adding messages to the Task -------------------------------------------------------------------------------------

def test_nothing_is_written_when_the_task_holds_every_message():
    conversation = fold(DAY_OF_TEXTS)
    existing = description(conversation.messages, tz_name=TOKYO, locale="en")
    plan = plan_description(existing, conversation, written={"m1", "m2", "m3"}, tz_name=TOKYO, locale="en")
    assert plan.text is None and plan.written == {"m1", "m2", "m3"}


def test_a_task_as_the_panel_wrote_it_is_rewritten_in_time_order():
    conversation = fold(DAY_OF_TEXTS)
    written_first = description([m for m in conversation.messages if m.event_id != "m2"], tz_name=TOKYO,
                                locale="en")
    plan = plan_description(written_first, conversation, written={"m1", "m3"}, tz_name=TOKYO, locale="en")
    assert plan.text == description(conversation.messages, tz_name=TOKYO, locale="en")
    assert (plan.confirmed, plan.adding) == ({"m1", "m3"}, {"m2"})


def test_a_task_someone_edited_gets_the_new_messages_under_the_edit():
    conversation = fold(DAY_OF_TEXTS)
    edited = "[10:03] ← 明日は10時でよろしいですか？\n\n電話で確認済み"
    plan = plan_description(edited, conversation, written={"m1"}, tz_name=TOKYO, locale="en")
    assert plan.text == edited + "\n\n[10:05] → はい、お願いします。\n[10:06] ← 承知しました"
    assert plan.written == {"m1", "m2", "m3"}


def test_a_write_whose_answer_was_lost_is_recognised_and_not_repeated():
    conversation = fold(DAY_OF_TEXTS + [text("m4", 9, "では明日", sent=True)])
    landed = description(conversation.messages[:3], tz_name=TOKYO, locale="en")  # m3 was being added
    plan = plan_description(landed, conversation, written={"m1", "m2"}, pending={"m3"}, tz_name=TOKYO,
                            locale="en")
    assert plan.confirmed == {"m1", "m2", "m3"} and plan.text.count("承知しました") == 1
    assert plan.text.endswith("[10:09] → では明日")

    edited = "電話メモ\n\n[10:05] → はい、お願いします。\n[10:06] ← 承知しました"  # appended under an edit
    plan = plan_description(edited, conversation, written={"m1"}, pending={"m2", "m3"}, tz_name=TOKYO,
                            locale="en")
    assert plan.text == edited + "\n\n[10:09] → では明日"


def test_a_write_that_never_landed_is_made_again():
    conversation = fold(DAY_OF_TEXTS)
    before = description(conversation.messages[:2], tz_name=TOKYO, locale="en")
    plan = plan_description(before, conversation, written={"m1", "m2"}, pending={"m3"}, tz_name=TOKYO, locale="en")
    assert plan.confirmed == {"m1", "m2"} and plan.text.endswith("[10:06] ← 承知しました")


# -- the Task --------------------------------------------------------------------------------------------------------

def test_the_task_is_a_completed_task_found_again_by_its_conversation_id():
    fields = task_fields(fold(DAY_OF_TEXTS), who_id="003000000000001AAA", what_id=None,
                         owner_id="005000000000001AAA", locale="en", tz_name=TOKYO, region="JP",
                         external_id_field="Panel_Call_Key__c")
    assert fields == {
        "Subject": f"SMS - 03-1234-5678 / {DAY}", "Status": "Completed", "TaskSubtype": "Task",
        "CallObject": CONVERSATION, "ActivityDate": DAY, "WhoId": "003000000000001AAA",
        "OwnerId": "005000000000001AAA", "Panel_Call_Key__c": CONVERSATION,
        "Description": "[10:03] ← 明日は10時でよろしいですか？\n[10:05] → はい、お願いします。\n[10:06] ← 承知しました",
    }
