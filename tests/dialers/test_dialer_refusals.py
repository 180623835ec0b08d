"""Requests that fail a vendor's verification in unusual ways are refused 401 like any forged one, never answered
503 (which would make the vendor retry them, and log a traceback): found by a review of the adapters."""

from __future__ import annotations

import base64

from dialers_support import post_delivery


def test_a_zoom_timestamp_beyond_the_calendar_is_refused(client):
    for stamp in ("999999999999", "17\u00b2"):
        refused = post_delivery(client, "zoom", b'{"event": "phone.callee_ringing"}',
                                {"x-zm-request-timestamp": stamp, "x-zm-signature": "v0=00"})
        assert refused.status_code == 401, (stamp, refused.get_data(as_text=True))


def test_an_aircall_token_holding_a_lone_surrogate_is_refused(client):
    refused = post_delivery(client, "aircall", b'{"event": "call.created", "token": "\\ud800", "data": {}}')
    assert refused.status_code == 401


def test_a_dialpad_jwt_whose_header_nests_too_deeply_is_refused(client):
    header = base64.urlsafe_b64encode(b"[" * 100_000).rstrip(b"=")
    refused = post_delivery(client, "dialpad", header + b".e30.c2ln", content_type="application/jwt")
    assert refused.status_code == 401


def test_a_leg_id_the_panel_keeps_for_text_conversations_is_refused(client):
    from calls_support import Dialer

    dialer = Dialer(client, "call-leg-sms")
    refused = dialer.post(dialer.ringing(leg_id="sms:agent@example.com:+81312345678:2026-12-05"))
    assert refused.status_code == 400 and refused.get_json()["field"] == "leg_id"


def test_the_doctor_shows_a_number_named_as_an_agent_masked(app):
    from panel.calls import ledger
    from panel.calls.events import CallEvent
    from panel.ops import doctor
    from datetime import datetime, timezone

    with app.app_context():
        ledger.store_event(CallEvent(event_id="twilio:CA1:ringing", type="call.ringing", call_id="twilio:CA1",
                                     direction="inbound", agent_email="", agent_ref="twilio:+819012345678",
                                     occurred_at=datetime.now(timezone.utc), external_number="+81312345678"))
        listed = doctor.unknown_agents()
    assert listed == ["twilio:[redacted]"]
