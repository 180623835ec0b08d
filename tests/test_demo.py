"""The demo dialer's server side (panel/demo.py): the server signs call events only for an agent signed in on the
demo page, only as that agent, and sends them only to the panel's own webhook as configured, never to where the
request's Host header points. tests/browser/test_embedded_panel.py drives the same page in Chromium."""

from __future__ import annotations

import json
import re
import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from calls_support import SECRET, served
from tests.conftest import rows_on_record, sign_in
from panel.calls.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, TOLERANCE_S, verify_signature

RING = {"state": "ringing", "call_id": "demo-call-1", "phone": "03-1234-5678"}


class Listener:
    """An HTTP server that records what it is sent and answers as the webhook does: where a forged event would
    end up if the demo sent it somewhere else than the panel."""

    def __init__(self) -> None:
        self.received: list[Request] = []
        self.bodies: list[bytes] = []

        @Request.application
        def record(request: Request) -> Response:
            self.bodies.append(request.get_data())
            self.received.append(request)
            return Response(json.dumps({"status": "accepted"}), status=202, mimetype="application/json")

        self.server = make_server("127.0.0.1", 0, record, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict]:
        return [json.loads(body) for body in self.bodies]


@pytest.fixture
def panel_at_listener(app):
    """The panel configured to be at the listener's address (as `make run` configures it at its own)."""
    listener = Listener()
    app.config["LOCALORG_URL"] = f"{listener.url}/localorg"
    yield listener
    listener.server.shutdown()


def demo_csrf(client) -> str:
    return re.search(r'data-csrf-token="([^"]+)"', client.get("/demo").text).group(1)


def post_event(client, body: dict, headers: dict | None = None):
    return client.post("/demo/events", json=body, headers={"X-CSRFToken": demo_csrf(client), **(headers or {})})


# -- who may make the server sign -------------------------------------------------------------------------------------

def test_a_signed_out_page_gets_nothing_signed_or_sent(client, panel_at_listener):
    refused = post_event(client, RING)
    assert refused.status_code == 401 and "sign in" in refused.json["error"]
    assert panel_at_listener.received == []


def test_the_demo_page_offers_sign_in_and_then_shows_who_the_events_are_sent_as(client, localorg):
    page = client.get("/demo?lang=en")
    assert 'id="demo-sign-in"' in page.text and 'href="/auth/login?next=/demo?lang%3Den"' in page.text
    assert 'data-signed-in="false"' in page.text and 'id="demo-agent"' not in page.text
    sign_in(client, localorg, "agent2@example.com")
    page = client.get("/demo")
    assert 'data-signed-in="true"' in page.text and 'id="demo-sign-in"' not in page.text
    agent = re.search(r'<input[^>]*id="demo-agent"[^>]*>', page.text).group(0)
    assert 'value="agent2@example.com"' in agent and "readonly" in agent


def test_events_are_sent_as_the_signed_in_agent_whatever_the_page_says(client, localorg, panel_at_listener):
    sign_in(client, localorg, "agent2@example.com")
    sent = post_event(client, {**RING, "agent_email": "agent@example.com"})
    assert sent.status_code == 200 and sent.json["webhook_status"] == 202
    (event,) = panel_at_listener.events()
    assert event["agent_email"] == "agent2@example.com"
    (request,) = panel_at_listener.received
    verify_signature([SECRET], request.headers[TIMESTAMP_HEADER], request.headers[SIGNATURE_HEADER],
                     panel_at_listener.bodies[0], now=float(request.headers[TIMESTAMP_HEADER]),
                     tolerance_s=TOLERANCE_S)


@pytest.mark.parametrize("host", ["evil.example:8080", "127.0.0.1:1", "localhost:9"])
def test_events_go_to_the_configured_panel_whatever_the_host_header_says(app, client, localorg, panel_at_listener,
                                                                          host):
    sign_in(client, localorg)
    token = demo_csrf(client)
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"], domain="localhost")
    client.set_cookie(cookie.key, cookie.value, domain=host.partition(":")[0])  # the same session, sent to `host`
    sent = client.post("/demo/events", base_url=f"http://{host}", headers={"X-CSRFToken": token},
                       json={**RING, "state": "ended", "duration_seconds": 5, "voicemail": True})
    assert sent.status_code == 200 and sent.json["webhook_status"] == 202, sent.text
    (request,) = panel_at_listener.received
    assert request.path == "/webhooks/calls"
    (event,) = panel_at_listener.events()
    assert event["voicemail_url"] == f"{panel_at_listener.url}/demo/voicemail/demo-call-1"


def test_a_demo_call_is_stored_by_the_panels_own_webhook_as_the_signed_in_agent(app, client, localorg):
    sign_in(client, localorg, "agent2@example.com")
    with served(app) as base:
        app.config["LOCALORG_URL"] = f"{base}/localorg"  # where `make run` serves the local org: beside the panel
        sent = post_event(client, {**RING, "agent_email": "agent@example.com"})
    assert sent.status_code == 200 and sent.json["webhook_status"] == 202 and sent.json["webhook"] == {
        "status": "accepted"}
    (row,) = rows_on_record(app, "SELECT payload FROM call_events")
    assert json.loads(row["payload"])["agent_email"] == "agent2@example.com"


# -- what it signs ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("change, field", [
    ({"phone": "03-1234-5678\ud800"}, "phone"),
    ({"call_id": "demo-\udfff"}, "call_id"),
    ({"call_id": "demo\n1"}, "call_id"),
    ({"state": "ended", "disposition": "\ud800"}, "disposition"),
    ({"direction": "\ud800"}, "direction"),
])
def test_text_the_webhook_would_refuse_is_a_400_naming_the_field(client, localorg, panel_at_listener, change, field):
    sign_in(client, localorg)
    refused = post_event(client, {**RING, **change})
    assert refused.status_code == 400 and refused.json["field"] == field
    assert panel_at_listener.received == []


# -- a vendor's format -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dialer", ["zoom", "dialpad", "ringcentral", "aircall", "twilio", "webex", "connect",
                                    "miitel"])
def test_a_demo_call_in_a_vendors_format_is_logged_once_through_its_adapter(app, client, localorg, dialer):
    """With "Dialer format" set to a vendor, ring, answer and hang up travel as that vendor's signed deliveries to
    its adapter, and the call is logged once under the id the page tells the panel (`<dialer>:<id>`)."""
    from calls_support import call_tasks, run_call

    sign_in(client, localorg)
    vendor_id = "CA" + "1" * 32 if dialer == "twilio" else "demo-format-1"
    call = {"call_id": vendor_id, "phone": "03-1234-5678", "format": dialer}
    with served(app) as base:
        app.config["LOCALORG_URL"] = f"{base}/localorg"
        answers = [post_event(client, {**call, **step}) for step in (
            {"state": "ringing"}, {"state": "answered"},
            {"state": "ended", "answered": True, "duration_seconds": 95})]
    for answer in answers:
        assert answer.status_code == 200 and answer.json["format"] == dialer, answer.text
    assert answers[-1].json["webhook_status"] == 200, answers[-1].text
    if dialer == "miitel":  # MiiTel reports a call only after it ended
        assert answers[0].json["webhook_status"] is None
    run_call(app, f"{dialer}:{vendor_id}", now=None)
    from datetime import datetime, timedelta, timezone

    run_call(app, f"{dialer}:{vendor_id}", now=datetime.now(timezone.utc) + timedelta(minutes=1))  # past any settle
    (task,) = call_tasks(localorg.salesforce(), f"{dialer}:{vendor_id}")
    assert task["Status"] == "Completed" and task["WhoId"]


def test_a_demo_format_must_be_one_of_the_dialers_that_are_on(client, localorg, panel_at_listener):
    sign_in(client, localorg)
    refused = post_event(client, {**RING, "format": "skype"})
    assert refused.status_code == 400 and refused.json["field"] == "format"
    assert panel_at_listener.received == []
