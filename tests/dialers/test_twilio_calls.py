"""Twilio deliveries end to end: `POST /webhooks/twilio` as Twilio sends them (form-encoded, signed), logged by the
real pipeline against the local org. Callbacks written from Twilio's documentation
(https://www.twilio.com/docs/usage/webhooks/voice-webhooks, https://www.twilio.com/docs/voice/api/call-resource,
https://www.twilio.com/docs/messaging/guides/webhook-request); the signature by the test's own signer
(https://www.twilio.com/docs/usage/webhooks/webhooks-security).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from tests.calls_support import call_record, call_tasks, configure, run_call
from tests.conftest import rows_on_record
from tests.dialers_support import form_body, post_delivery, secret, settled

URL = "http://localhost/webhooks/twilio"  # what the test client's request is (no PANEL_PUBLIC_URL)
CUSTOMER = "+81312345678"  # 03-1234-5678: contact.yamada_taro
TWILIO_NUMBER = "+815012349999"
PARENT = "CA0c1d2e3f405162738495a6b7c8d9e0f1"
ALICE_LEG = "CA1a2b3c4d5e6f708192a3b4c5d6e7f809"
BOB_LEG = "CA2b3c4d5e6f708192a3b4c5d6e7f8091a"


@pytest.fixture
def twilio_app(dialer_users):
    """The app with PANEL_DIALER_USERS naming the browsers' client identities."""
    return dialer_users(("twilio", "alice", "agent@example.com"), ("twilio", "bob", "agent2@example.com"))


def sign(fields: list[tuple[str, str]], url: str = URL, token: str | None = None) -> str:
    text = url + "".join(name + value for name, value in sorted(fields))
    key = (token or secret("twilio")).encode()
    return base64.b64encode(hmac.new(key, text.encode(), hashlib.sha1).digest()).decode()


class Call:
    """One Twilio interaction: its legs' status callbacks, timed from a start a few minutes ago."""

    def __init__(self, client, parent: str = PARENT) -> None:
        self.client = client
        self.parent = parent
        self.start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)
        self.sequence: dict[str, int] = {}

    def leg(self, call_sid: str, status: str, *, at_s: int, direction: str, sender: str, receiver: str,
            duration: int | None = None, parent: bool = True) -> list[tuple[str, str]]:
        self.sequence[call_sid] = self.sequence.get(call_sid, -1) + 1
        fields = [("AccountSid", "AC" + "7" * 32), ("ApiVersion", "2010-04-01"), ("CallSid", call_sid),
                  ("CallStatus", status), ("CallbackSource", "call-progress-events"), ("Direction", direction),
                  ("From", sender), ("To", receiver), ("SequenceNumber", str(self.sequence[call_sid])),
                  ("Timestamp", format_datetime(self.start + timedelta(seconds=at_s), usegmt=True))]
        if parent and call_sid != self.parent:
            fields.append(("ParentCallSid", self.parent))
        if duration is not None:
            fields.append(("CallDuration", str(duration)))
        return fields

    def post(self, *callbacks: list[tuple[str, str]], token: str | None = None):
        responses = []
        for fields in callbacks:
            responses.append(post_delivery(self.client, "twilio", form_body(fields),
                                           {"X-Twilio-Signature": sign(fields, token=token)},
                                           content_type="application/x-www-form-urlencoded"))
        return responses


def inbound(call: Call, agent_leg: str = ALICE_LEG, identity: str = "alice", *, answered: bool = True,
            at_s: int = 0) -> list[list[tuple[str, str]]]:
    """A customer calls the Twilio number; `<Dial><Client>` rings the agent's browser (a child leg)."""
    child = dict(direction="outbound-dial", sender=CUSTOMER, receiver=f"client:{identity}")
    if not answered:
        return [call.leg(agent_leg, "ringing", at_s=at_s + 3, **child),
                call.leg(agent_leg, "no-answer", at_s=at_s + 23, **child)]
    return [call.leg(agent_leg, "ringing", at_s=at_s + 3, **child),
            call.leg(agent_leg, "in-progress", at_s=at_s + 8, **child),
            call.leg(agent_leg, "completed", at_s=at_s + 103, duration=95, **child)]


def parent_leg(call: Call, status: str, at_s: int, duration: int | None = None) -> list[tuple[str, str]]:
    return call.leg(call.parent, status, at_s=at_s, direction="inbound", sender=CUSTOMER, receiver=TWILIO_NUMBER,
                    duration=duration)


def test_an_inbound_call_is_logged_once_under_redelivery_and_reordering(twilio_app, client, sf):
    call = Call(client)
    ringing, answered, ended = inbound(call)
    parent = [parent_leg(call, "ringing", 0), parent_leg(call, "in-progress", 1),
              parent_leg(call, "completed", 104, duration=104)]
    responses = call.post(ended, parent[2], ringing, ended, answered, parent[0], ringing, parent[1])
    assert {response.status_code for response in responses} == {200}
    assert responses[0].mimetype == "text/xml" and "<Response/>" in responses[0].text
    settled(twilio_app, f"twilio:{PARENT}")
    call.post(ended, answered)
    settled(twilio_app, f"twilio:{PARENT}")
    [task] = call_tasks(sf, f"twilio:{PARENT}")
    assert task["CallType"] == "Inbound" and task["CallDurationInSeconds"] == 95
    assert task["WhoId"]  # Yamada, found by the number Twilio sent


def test_an_outbound_call_from_the_agents_browser_is_logged_once(twilio_app, client, sf):
    call = Call(client)
    browser = dict(direction="inbound", sender="client:alice", receiver=CUSTOMER)
    dialled = dict(direction="outbound-dial", sender=TWILIO_NUMBER, receiver=CUSTOMER)
    callbacks = [call.leg(PARENT, "ringing", at_s=0, **browser), call.leg(PARENT, "in-progress", at_s=1, **browser),
                 call.leg(ALICE_LEG, "ringing", at_s=2, **dialled),
                 call.leg(ALICE_LEG, "in-progress", at_s=9, **dialled),
                 call.leg(ALICE_LEG, "completed", at_s=69, duration=60, **dialled),
                 call.leg(PARENT, "completed", at_s=70, duration=70, **browser)]
    call.post(*reversed(callbacks))
    call.post(*callbacks)
    settled(twilio_app, f"twilio:{PARENT}")
    [task] = call_tasks(sf, f"twilio:{PARENT}")
    assert task["CallType"] == "Outbound" and task["CallDurationInSeconds"] == 60


def test_a_forged_callback_stores_nothing(twilio_app, client, sf):
    call = Call(client)
    responses = call.post(*inbound(call), token="not-the-auth-token")
    assert {response.status_code for response in responses} == {401}
    assert call_record(twilio_app, f"twilio:{PARENT}") is None
    assert rows_on_record(twilio_app, "SELECT event_id FROM call_events") == []


def test_a_callback_signed_for_the_public_url_verifies_behind_a_proxy(twilio_app, client, sf):
    configure(twilio_app, PANEL_PUBLIC_URL="https://panel.example.com")
    call = Call(client)
    fields = inbound(call)[0]
    response = post_delivery(client, "twilio", form_body(fields),
                             {"X-Twilio-Signature": sign(fields, url="https://panel.example.com/webhooks/twilio")},
                             content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    refused = post_delivery(client, "twilio", form_body(fields), {"X-Twilio-Signature": sign(fields)},
                            content_type="application/x-www-form-urlencoded")
    assert refused.status_code == 401


def missed_call(client) -> Call:
    call = Call(client)
    call.post(parent_leg(call, "ringing", 0), parent_leg(call, "in-progress", 1), *inbound(call, answered=False),
              parent_leg(call, "completed", 40, duration=40))
    return call


def test_a_missed_call_is_not_logged_by_default(twilio_app, client, sf):
    missed_call(client)
    settled(twilio_app, f"twilio:{PARENT}")
    assert call_tasks(sf, f"twilio:{PARENT}") == []


def test_a_missed_call_is_logged_when_the_admin_asks_for_missed_calls(twilio_app, client, sf):
    configure(twilio_app, PANEL_LOG_MISSED_CALLS=True)
    missed_call(client)
    settled(twilio_app, f"twilio:{PARENT}")
    [task] = call_tasks(sf, f"twilio:{PARENT}")
    assert task["CallDurationInSeconds"] == 0


def test_a_transferred_call_is_one_task_owned_by_the_agent_who_handled_it_last(twilio_app, client, sf, localorg):
    call = Call(client)
    first = inbound(call, ALICE_LEG, "alice")
    second = inbound(call, BOB_LEG, "bob", at_s=110)
    call.post(parent_leg(call, "ringing", 0), *second, *first, parent_leg(call, "completed", 220, duration=220))
    settled(twilio_app, f"twilio:{PARENT}")
    [task] = call_tasks(sf, f"twilio:{PARENT}")
    agent2 = sf.query("SELECT Id FROM User WHERE Username = 'agent2@example.com'")["records"][0]["Id"]
    assert task["OwnerId"] == agent2
    assert task["CallDurationInSeconds"] == 190


def recording(call: Call) -> list[tuple[str, str]]:
    return [("AccountSid", "AC" + "7" * 32), ("CallSid", PARENT), ("RecordingSid", "RE" + "8" * 32),
            ("RecordingStatus", "completed"), ("RecordingDuration", "95"), ("RecordingChannels", "2"),
            ("RecordingSource", "DialVerb"), ("RecordingStartTime", format_datetime(call.start, usegmt=True)),
            ("RecordingUrl", f"https://api.twilio.com/2010-04-01/Accounts/AC{'7' * 32}/Recordings/RE{'8' * 32}")]


@pytest.mark.parametrize("when", ["before the end", "after the end"])
def test_a_recording_ends_in_the_one_task(twilio_app, client, sf, when):
    call = Call(client)
    legs = [parent_leg(call, "ringing", 0), *inbound(call), parent_leg(call, "completed", 104, duration=104)]
    if when == "before the end":
        call.post(recording(call), *legs, recording(call))
        settled(twilio_app, f"twilio:{PARENT}")
    else:
        call.post(*legs)
        settled(twilio_app, f"twilio:{PARENT}")
        call.post(recording(call), recording(call))
        settled(twilio_app, f"twilio:{PARENT}")
    [task] = call_tasks(sf, f"twilio:{PARENT}")
    assert task["Description"].count(f"Recordings/RE{'8' * 32}") == 1


def test_a_day_of_texts_with_one_number_is_one_task(twilio_app, client, sf):
    def text(sid: str, body: str, *, sent: bool) -> list[tuple[str, str]]:
        status = "sent" if sent else "received"
        sender, receiver = (TWILIO_NUMBER, CUSTOMER) if sent else (CUSTOMER, TWILIO_NUMBER)
        return [("MessageSid", sid), ("SmsSid", sid), ("AccountSid", "AC" + "7" * 32), ("From", sender),
                ("To", receiver), ("Body", body), ("NumMedia", "0"), ("SmsStatus", status),
                ("MessageStatus", status), ("ApiVersion", "2010-04-01")]

    users = twilio_app.config["PANEL_DIALER_USERS"]
    with open(users, "a") as handle:
        handle.write(f"twilio,{TWILIO_NUMBER},agent@example.com\n")
    from panel.dialers import intake

    intake.init_app(twilio_app)
    call = Call(client)
    messages = [text("SM" + "a" * 32, "納品は何時ですか", sent=False), text("SM" + "b" * 32, "14時に伺います", sent=True),
                text("SM" + "c" * 32, "承知しました", sent=False)]
    call.post(*messages, messages[0], messages[1])
    conversations = [row["call_id"] for row in rows_on_record(
        twilio_app, "SELECT DISTINCT call_id FROM call_events WHERE substr(call_id, 1, 4) = 'sms:'")]
    assert len(conversations) == 1
    run_call(twilio_app, conversations[0])
    [task] = call_tasks(sf, conversations[0])
    for body in ("納品は何時ですか", "14時に伺います", "承知しました"):
        assert task["Description"].count(body) == 1
