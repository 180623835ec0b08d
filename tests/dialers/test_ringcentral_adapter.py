"""The RingCentral adapter on its own: RingCentral's notifications in, the panel's call events out.

The payloads are written here after RingCentral's documented examples, not copied: the telephony session
notification of https://developers.ringcentral.com/guide/notifications/event-filters/account-telephony-sessions and
https://developers.ringcentral.com/guide/voice/telephony-session-notifications (its linked event streams,
github.com/dibyenduroy/csn-data, for the parties of an inbound and an outbound call), the instant SMS notification of
https://developers.ringcentral.com/guide/notifications/event-filters/instant-message, and the headers of
https://developers.ringcentral.com/guide/notifications/webhooks/creating-webhooks and …/webhooks/receiving.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from dialers_support import adapter_config, delivery, secret
from panel.calls.events import EventError
from panel.dialers import ringcentral
from panel.dialers.base import Refused, Reply
from panel.dialers.identities import parse_identities

NOW = datetime(2026, 12, 5, 1, 30, tzinfo=timezone.utc)
ACCOUNT = "400144452008"
AGENT_EXTENSION = "400144455008"
SESSION = "s-a6abd24ca6774373a8120a3390d3cbe8"
CALLER = "+81312345678"
IDENTITIES = parse_identities(f"dialer,dialer_user,agent_email\nringcentral,{AGENT_EXTENSION},agent@example.com\n")


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def party(code: str, *, direction: str = "Inbound", extension: str | None = AGENT_EXTENSION,
          party_id: str = "p-a6abd24ca6774373a8120a3390d3cbe8-2", other: str = CALLER, **extra) -> dict:
    """One party as RingCentral describes it: the extension's side of an inbound (or outbound) call."""
    own = {"phoneNumber": "+81355550000", "name": "Agent One", **({"extensionId": extension} if extension else {})}
    outside = {"phoneNumber": other}
    data = {"accountId": ACCOUNT, "id": party_id, "direction": direction,
            "from": own if direction == "Outbound" else outside, "to": outside if direction == "Outbound" else own,
            "status": {"code": code, "rcc": False}, "park": {}, "missedCall": False, "standAlone": False,
            "muted": False, **extra}
    if extension:
        data["extensionId"] = extension
    return data


def session(sequence: int, *parties: dict, at: datetime = NOW - timedelta(minutes=2), session_id: str = SESSION,
            uuid: str | None = None) -> dict:
    return {"uuid": uuid or f"18234852883139{sequence:05d}",
            "event": f"/restapi/v1.0/account/{ACCOUNT}/telephony/sessions",
            "timestamp": stamp(at + timedelta(milliseconds=50)),
            "subscriptionId": "53300e7c-5e69-42bf-ab4d-179aabc6e869",
            "ownerId": ACCOUNT,
            "body": {"sequence": sequence, "sessionId": "425008160016", "telephonySessionId": session_id,
                     "serverId": "10.13.22.28.TAM", "eventTime": stamp(at), "parties": list(parties),
                     "origin": {"type": "Call"}}}


def sms(message_id: str = "606090030016", text: str = "明日の件、承知しました", at: datetime = NOW) -> dict:
    return {"uuid": "ed1cf00c-0420-4bf5-a0ae-e659bb9f77e0",
            "event": f"/restapi/v1.0/account/~/extension/{AGENT_EXTENSION}/message-store/instant?type=SMS",
            "subscriptionId": "dc853541-66ac-45d8-a289-1a239fd72888", "ownerId": AGENT_EXTENSION,
            "timestamp": stamp(at),
            "body": {"id": message_id, "to": [{"phoneNumber": "+81355550000", "location": "Tokyo"}],
                     "from": {"phoneNumber": CALLER, "name": "Yamada Taro"}, "type": "SMS",
                     "creationTime": stamp(at), "lastModifiedTime": stamp(at), "readStatus": "Unread",
                     "priority": "Normal", "attachments": [{"id": message_id, "type": "Text",
                                                            "contentType": "text/plain", "uri": "/x"}],
                     "direction": "Inbound", "availability": "Alive", "subject": text, "messageStatus": "Received",
                     "conversationId": "7876416245344257449"}}


def receive(notification: dict | bytes, headers: dict | None = None, **config):
    body = notification if isinstance(notification, bytes) else json.dumps(notification).encode()
    given = {"Verification-Token": secret("ringcentral")} if headers is None else headers
    return ringcentral.receive(delivery(body, given), adapter_config("ringcentral", now=NOW,
                                                                     identities=config.get("identities", IDENTITIES)))


# -- verification and handshake ----------------------------------------------------------------------------------------

def test_a_genuine_notification_is_accepted():
    events = receive(session(3, party("Proceeding")))
    assert [event.type for event in events] == ["call.ringing"]


def test_a_notification_without_the_verification_token_is_refused():
    with pytest.raises(Refused):
        receive(session(3, party("Proceeding")), headers={})


def test_a_notification_with_another_verification_token_is_refused():
    with pytest.raises(Refused):
        receive(session(3, party("Proceeding")), headers={"Verification-Token": "not-the-token"})


def test_the_subscription_handshake_echoes_the_validation_token():
    reply = ringcentral.receive(delivery(b"", {"Validation-Token": "3d2a8f4e-validation"}),
                                adapter_config("ringcentral", now=NOW))
    assert isinstance(reply, Reply)
    assert reply.status == 200
    assert reply.headers["Validation-Token"] == "3d2a8f4e-validation"
    assert reply.headers["Content-Type"] == "application/json"


def test_a_validation_token_that_could_not_be_echoed_is_an_error():
    with pytest.raises(EventError):
        ringcentral.receive(delivery(b"", {"Validation-Token": "x" * 600}), adapter_config("ringcentral", now=NOW))


# -- telephony sessions ------------------------------------------------------------------------------------------------

def test_an_inbound_party_maps_onto_the_call_and_its_leg():
    ringing, = receive(session(7, party("Proceeding")))
    assert ringing.call_id == f"ringcentral:{SESSION}"
    assert ringing.leg_id == "ringcentral:p-a6abd24ca6774373a8120a3390d3cbe8-2"
    assert ringing.direction == "inbound"
    assert ringing.external_number == CALLER
    assert ringing.agent_email == "agent@example.com"
    assert ringing.occurred_at == NOW - timedelta(minutes=2)
    assert not ringing.internal


def test_answered_and_disconnected_become_answered_and_ended():
    answered, = receive(session(8, party("Answered")))
    ended, = receive(session(11, party("Disconnected")))
    assert answered.type == "call.answered"
    assert ended.type == "call.ended"
    assert ended.answered is False and ended.duration_seconds == 0  # RingCentral sends neither: the Answered counts


def test_an_outbound_party_names_the_callee():
    ringing, = receive(session(4, party("Proceeding", direction="Outbound", other="+81398765432")))
    assert ringing.direction == "outbound"
    assert ringing.external_number == "+81398765432"


def test_the_outside_party_is_not_an_agent():
    assert receive(session(2, party("Setup", direction="Outbound", extension=None, party_id="p-1"))) == []


def test_setup_hold_and_parked_give_nothing():
    for code in ("Setup", "Hold", "Parked", "VoiceMail"):
        assert receive(session(9, party(code))) == []


def test_a_redelivery_keeps_its_event_id_whatever_its_uuid():
    first, = receive(session(8, party("Answered"), uuid="1"))
    again, = receive(session(8, party("Answered"), uuid="2"))
    later, = receive(session(10, party("Answered")))
    assert first.event_id == again.event_id
    assert later.event_id != first.event_id


def test_an_unknown_extension_goes_to_review_by_its_id():
    ringing, = receive(session(3, party("Proceeding", extension="400999999008")))
    assert ringing.agent_email == ""
    assert ringing.agent_ref == "ringcentral:400999999008"


def test_a_call_between_two_extensions_is_internal():
    inside = party("Proceeding")
    inside["from"]["extensionId"] = "400144457008"
    ringing, = receive(session(3, inside))
    assert ringing.internal


def test_a_listed_recording_is_a_recording_fact_once_per_id():
    recorded = party("Answered", recordings=[{"id": "2640223004", "active": True}])
    events = receive(session(8, recorded))
    assert [event.type for event in events] == ["call.recording", "call.answered"]
    assert events[0].recording_url == \
        f"https://platform.ringcentral.com/restapi/v1.0/account/{ACCOUNT}/recording/2640223004"
    again = receive(session(11, party("Disconnected", recordings=[{"id": "2640223004", "active": False}])))
    assert again[0].event_id == events[0].event_id


def test_the_documented_push_form_is_read_too():
    notification = session(5, party("Proceeding"))
    pushed = {"uuid": notification["uuid"], "subscriptionId": notification["subscriptionId"],
              "pn_apns": {"aps": {"content-available": 1}, **notification}}
    assert [event.type for event in receive(pushed)] == ["call.ringing"]


@pytest.mark.parametrize("path, field", [
    (("body", "telephonySessionId"), "body.telephonySessionId"),
    (("body", "sequence"), "body.sequence"),
    (("body", "parties"), "body.parties"),
])
def test_a_missing_field_is_named(path, field):
    notification = session(3, party("Proceeding"))
    del notification[path[0]][path[1]]
    with pytest.raises(EventError) as error:
        receive(notification)
    assert error.value.field == field


def test_a_party_without_status_is_named():
    broken = party("Proceeding")
    del broken["status"]
    with pytest.raises(EventError) as error:
        receive(session(3, broken))
    assert error.value.field == "body.parties[0].status.code"


def test_a_time_far_in_the_past_is_refused():
    with pytest.raises(EventError) as error:
        receive(session(3, party("Proceeding"), at=NOW - timedelta(days=6 * 365)))
    assert error.value.field == "body.eventTime"


def test_a_body_that_is_not_json_is_an_error():
    with pytest.raises(EventError):
        receive(b"\xff not json")


def test_other_event_filters_are_ignored():
    presence = {"uuid": "1", "event": f"/restapi/v1.0/account/~/extension/{AGENT_EXTENSION}/presence",
                "timestamp": stamp(NOW), "body": {"telephonyStatus": "Ringing"}}
    assert receive(presence) == []


# -- text messages -----------------------------------------------------------------------------------------------------

def test_an_inbound_sms_is_a_received_message_of_the_subscription_owner():
    message, = receive(sms())
    assert message.type == "message.received"
    assert message.text == "明日の件、承知しました"
    assert message.external_number == CALLER
    assert message.agent_email == "agent@example.com"
    assert message.event_id == "ringcentral:sms:606090030016"
    assert message.call_id == ""


def test_an_sms_without_its_text_is_named():
    notification = sms()
    del notification["body"]["subject"]
    with pytest.raises(EventError) as error:
        receive(notification)
    assert error.value.field == "body.subject"


# -- the demo ----------------------------------------------------------------------------------------------------------

def test_the_demo_delivery_is_read_back_by_the_adapter():
    from panel.dialers.base import DemoCall

    call = DemoCall(call_id="demo-1", direction="inbound", number="03-1234-5678", agent_email="agent@example.com",
                    started_at=NOW - timedelta(minutes=2))
    kinds = []
    for kind in ("ringing", "answered", "ended"):
        body, headers, content_type = ringcentral.demo_delivery(kind, call, secret=secret("ringcentral"),
                                                                url="https://panel.example.com/webhooks/ringcentral",
                                                                now=NOW)
        event, = ringcentral.receive(delivery(body, headers, content_type=content_type),
                                     adapter_config("ringcentral", now=NOW))
        assert event.agent_email == "agent@example.com" and event.call_id == "ringcentral:demo-1"  # the id the demo page tells the panel
        kinds.append(event.type)
    assert kinds == ["call.ringing", "call.answered", "call.ended"]
