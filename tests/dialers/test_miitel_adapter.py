"""The MiiTel adapter (panel.dialers.miitel) as a pure function: the call-history outgoing webhook into the panel's
call events.

The payloads are written here after MiiTel's published schemas and samples for the call-history webhook
(https://github.com/revcomm/miitel-developers-public/tree/main/schema/outgoing_webhook: `call_analysis_completed`,
`call_summarization_completed`) and the challenge described at
https://developers.miitel.com/docs/outgoing-webhook-callhistory .
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from dialers_support import adapter_config, delivery, secret
from panel.calls.events import MAX_FACT_TEXT, EventError
from panel.dialers import miitel
from panel.dialers.base import Refused, Reply
from panel.dialers.identities import parse_identities

CALL_ID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"


def participant(side: str, *, login_id: str | None = None, name: str | None = None) -> dict:
    return {"id": f"0190a1b2-0000-7000-8000-{side.lower():0>12}", "from_to": side, "name": name,
            "company_name": None, "login_id": login_id, "analysis": None}


def detail(call_type: str = "INCOMING_CALL", *, detail_id: str = CALL_ID, answered: bool = True,
           number: str | None = "03-1234-5678", transcript: str = "", minutes: str | None = None,
           agent: str | None = "agent@example.com", previous_id: str | None = None) -> dict:
    outbound = call_type in ("OUTGOING_CALL", "PREDICTIVE_DIAL", "OUTGOING_TRANSFER")
    agent_side, customer_side = ("FROM", "TO") if outbound else ("TO", "FROM")
    entry = {
        "id": detail_id, "dial_starts_at": "2026-11-20T01:00:00+00:00",
        "dial_answered_at": "2026-11-20T01:00:08+00:00" if answered else None,
        "dial_ends_at": "2026-11-20T01:02:38+00:00", "queueing_starts_at": None, "queueing_answered_at": None,
        "queueing_ends_at": None, "call_type": call_type, "circuit_number": "050-1111-2222",
        "circuit_name": "代表番号", "from_number": None if outbound else number,
        "to_number": number if outbound else "050-1111-2222", "previous_id": previous_id, "dtmf": None,
        "analysis": None,
        "participants": [participant(agent_side, login_id=agent, name="佐藤 花子"), participant(customer_side)],
        "tags": [], "comments": [], "keywords": [], "phrases": [],
        "speech_recognition": {"raw": transcript, "summary": ""},
    }
    if minutes is not None:
        entry["minutes"] = minutes
    return entry


def history(*details: dict, call_id: str = CALL_ID) -> dict:
    return {"call": {"id": call_id, "tenant_code": "panel-test", "details": list(details or [detail()])},
            "params_key": "panel"}


def receive(payload: dict | bytes, headers: dict | None = None, *, settings: dict | None = None, identities=None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    default = {"Authorization": f"Bearer {secret('miitel')}"}
    return miitel.receive(delivery(body, default if headers is None else headers),
                          adapter_config("miitel", settings=settings, identities=identities))


def test_the_challenge_is_answered_with_the_token_alone_as_text():
    reply = receive({"challenge": "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "params_key": "panel"}, headers={})
    assert isinstance(reply, Reply)
    assert (reply.status, reply.body) == (200, "0f1e2d3c4b5a69788796a5b4c3d2e1f0")


@pytest.mark.parametrize("token", ["", "not hex!", 123, "ab" * 200])
def test_a_challenge_that_is_no_hex_token_is_refused(token):
    with pytest.raises(EventError) as error:
        receive({"challenge": token})
    assert error.value.field == "challenge"


def test_a_genuine_answered_inbound_call_is_its_end():
    [ended] = receive(history())
    assert ended.type == "call.ended"
    assert ended.event_id == f"miitel:{CALL_ID}:ended"
    assert ended.call_id == ended.leg_id == f"miitel:{CALL_ID}"
    assert (ended.direction, ended.internal, ended.external_number) == ("inbound", False, "03-1234-5678")
    assert (ended.agent_email, ended.agent_ref) == ("agent@example.com", None)
    assert ended.answered is True and ended.duration_seconds == 150
    assert ended.occurred_at == datetime(2026, 11, 20, 1, 2, 38, tzinfo=timezone.utc)


def test_an_outbound_call_names_the_callee():
    [ended] = receive(history(detail("OUTGOING_CALL", number="090-1234-5678")))
    assert (ended.direction, ended.external_number, ended.agent_email) == ("outbound", "090-1234-5678",
                                                                          "agent@example.com")


def test_a_missed_incoming_and_an_unanswered_outgoing_call_are_unanswered():
    [missed] = receive(history(detail("INCOMING_CALL", answered=False)))
    [unanswered] = receive(history(detail("OUTGOING_CALL", answered=False)))
    for ended in (missed, unanswered):
        assert (ended.answered, ended.duration_seconds) == (False, 0)


@pytest.mark.parametrize("header, value", [("Authorization", f"Bearer {secret('miitel')}"),
                                           ("Authorization", secret("miitel")),
                                           ("X-Panel-Token", secret("miitel"))])
def test_the_token_is_accepted_as_a_bearer_or_bare_in_the_configured_header(header, value):
    settings = {"PANEL_MIITEL_WEBHOOK_HEADER": header}
    assert len(receive(history(), {header: value}, settings=settings)) == 1


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"},
                                     {"X-Other": f"Bearer {secret('miitel')}"}])
def test_a_delivery_without_the_token_is_refused(headers):
    with pytest.raises(Refused) as refused:
        receive(history(), headers)
    assert secret("miitel") not in refused.value.message


def test_a_transcript_and_minutes_are_facts_of_the_leg():
    events = receive(history(detail(transcript="0:00 (取引先) お世話になります。\n0:03 (ユーザー) はい。",
                                    minutes="【議題】\n見積もりの確認")))
    assert [event.type for event in events] == ["call.ended", "call.transcript", "call.summary"]
    _, transcript, summary = events
    assert transcript.event_id == f"miitel:{CALL_ID}:transcript" and transcript.transcript.startswith("0:00")
    assert summary.event_id == f"miitel:{CALL_ID}:summary" and summary.summary == "【議題】\n見積もりの確認"
    assert transcript.call_id == summary.call_id == f"miitel:{CALL_ID}"


def test_a_long_transcript_is_cut_to_what_a_task_holds():
    [_, transcript] = receive(history(detail(transcript="あ" * (MAX_FACT_TEXT + 500))))
    assert len(transcript.transcript) == MAX_FACT_TEXT


def test_a_redelivery_gives_the_same_ids():
    first = [event.event_id for event in receive(history(detail(transcript="x")))]
    again = [event.event_id for event in receive(history(detail(transcript="x", minutes="y")))]
    assert again[:2] == first and again[2] == f"miitel:{CALL_ID}:summary"


def test_forwarded_legs_share_the_call():
    events = receive(history(detail("INCOMING_CALL", detail_id="leg-a", answered=False),
                             detail("AUTOMATIC_TRANSFER", detail_id="leg-b", previous_id="leg-a")))
    assert [event.leg_id for event in events] == ["miitel:leg-a", "miitel:leg-b"]
    assert {event.call_id for event in events} == {f"miitel:{CALL_ID}"}


def test_an_extension_call_is_internal():
    [ended] = receive(history(detail("EXTENSION", number="201")))
    assert ended.internal is True


@pytest.mark.parametrize("call_type", ["READ_DTMF", "AUTOMATIC_RECORD", "SOMETHING_NEW"])
def test_legs_that_are_no_conversation_store_nothing(call_type):
    assert receive(history(detail(call_type))) == []


def test_meeting_history_stores_nothing():
    assert receive({"video": {"id": "v1", "tenant_code": "panel-test"}}) == []


def test_a_withheld_caller_has_no_number():
    [ended] = receive(history(detail(number=None)))
    assert ended.external_number == ""


def test_an_agent_without_a_login_id_is_matched_by_a_row_for_the_name_or_goes_to_review():
    [ended] = receive(history(detail(agent=None)))
    assert ended.agent_email == "" and ended.agent_ref == "miitel:佐藤 花子"
    rows = parse_identities("dialer,dialer_user,agent_email\nmiitel,佐藤 花子,agent@example.com\n")
    [ended] = receive(history(detail(agent=None)), identities=rows)
    assert ended.agent_email == "agent@example.com"


def test_a_login_id_that_is_not_the_salesforce_e_mail_is_mapped_by_a_row():
    rows = parse_identities("dialer,dialer_user,agent_email\nmiitel,hanako@miitel.example,agent@example.com\n")
    [ended] = receive(history(detail(agent="hanako@miitel.example")), identities=rows)
    assert ended.agent_email == "agent@example.com"


@pytest.mark.parametrize("change, field", [
    (lambda body: body["call"].pop("id"), "call.id"),
    (lambda body: body["call"].pop("details"), "call.details"),
    (lambda body: body["call"]["details"][0].pop("id"), "call.details[0].id"),
    (lambda body: body["call"]["details"][0].pop("dial_ends_at"), "call.details[0].dial_ends_at"),
    (lambda body: body["call"]["details"][0].pop("call_type"), "call.details[0].call_type"),
    (lambda body: body["call"]["details"][0].update(dial_answered_at="soon"), "call.details[0].dial_answered_at"),
    (lambda body: body["call"]["details"][0].update(from_number=["03"]), "call.details[0].from_number"),
])
def test_a_missing_or_broken_field_is_named(change, field):
    body = history()
    change(body)
    with pytest.raises(EventError) as error:
        receive(body)
    assert error.value.field == field


@pytest.mark.parametrize("body", [b"not json", b"[1]", b"\xff\xfe", b'{"call": "x"}'])
def test_a_body_that_is_no_call_history_is_refused(body):
    with pytest.raises(EventError):
        receive(body)


def test_the_demo_sends_only_the_end_in_miitels_format():
    from panel.dialers.base import DemoCall

    call = DemoCall(call_id="demo-7", direction="outbound", number="03-1234-5678", agent_email="agent@example.com",
                    started_at=datetime(2026, 11, 20, 1, tzinfo=timezone.utc), answered=True, duration_seconds=90)
    now = datetime(2026, 11, 20, 1, 5, tzinfo=timezone.utc)
    assert miitel.demo_delivery("ringing", call, secret=secret("miitel"), url="", now=now) is None
    assert miitel.demo_delivery("answered", call, secret=secret("miitel"), url="", now=now) is None
    body, headers, content_type = miitel.demo_delivery("ended", call, secret=secret("miitel"), url="", now=now)
    [ended] = miitel.receive(delivery(body, headers, content_type=content_type), adapter_config("miitel"))
    assert (ended.call_id, ended.direction, ended.external_number) == ("miitel:demo-7", "outbound", "03-1234-5678")
    assert (ended.answered, ended.duration_seconds, ended.agent_email) == (True, 90, "agent@example.com")
