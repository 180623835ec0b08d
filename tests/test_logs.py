"""No caller's phone number and no OAuth secret reaches a log line: not the access log, not a traceback."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from werkzeug.serving import make_server

from panel.calls.signing import signature_headers
from panel.logs import MASK, RedactingFilter, redact
from tests.loopback_browser import browser_session

NUMBER = "03-1234-5678"
# Every way the number may show up: as dialled, digits only, E.164 with or without the plus, URL-encoded.
NUMBER_FORMS = ("03-1234-5678", "0312345678", "81312345678", "312345678", "1234-5678", "03%2D1234", "1234%2D5678")


@pytest.fixture
def served_app(app):
    """The panel on a real HTTP server, so werkzeug writes its access log as `make run` does."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def browser_sign_in(app, base: str) -> tuple[requests.Session, list[str]]:
    """Signs in over HTTP as a browser does; the session and the one-time values it saw (code, state, and the
    PKCE verifier the panel keeps in its session cookie)."""
    browser = browser_session()
    start = browser.get(f"{base}/auth/login", allow_redirects=False, timeout=10)
    cookie = browser.cookies[app.config["SESSION_COOKIE_NAME"]]
    session = app.session_interface.get_signing_serializer(app).loads(cookie)
    verifiers = [v["data"]["code_verifier"] for k, v in session.items() if k.startswith("_state_salesforce_")]
    assert verifiers
    authorize_url = start.headers["Location"]
    page = browser.get(authorize_url, timeout=10)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    approved = browser.post(authorize_url, data={**fields, "username": "agent@example.com"}, allow_redirects=False,
                            timeout=10)
    back = parse_qs(urlsplit(approved.headers["Location"]).query)
    landed = browser.get(approved.headers["Location"], timeout=10)
    assert landed.status_code == 200 and 'data-state="waiting"' in landed.text
    return browser, [back["code"][0], back["state"][0], *verifiers]


def stored_tokens(app) -> list[str]:
    from panel.extensions import db
    from panel.signin.models import SalesforceConnection

    with app.app_context():
        connection = db.session.execute(db.select(SalesforceConnection)).scalar_one()
        return [connection.access_token, connection.refresh_token]


def everything_logged(caplog) -> str:
    lines = []
    for record in caplog.records:
        lines.append(record.getMessage())
        if record.exc_text:
            lines.append(record.exc_text)
    return "\n".join(lines) + "\n" + caplog.text


def test_a_sign_in_a_pop_and_a_call_event_leave_no_number_or_token_in_the_logs(app, served_app, localorg, caplog):
    caplog.set_level(logging.DEBUG)  # urllib3 logs every URL it fetches at DEBUG: the SOSL included
    browser, one_time_values = browser_sign_in(app, served_app)
    pop = browser.get(f"{served_app}/panel", params={"phone": NUMBER, "call_id": "c-1"},
                      headers={"HX-Request": "true"}, timeout=10)
    assert pop.status_code == 200 and 'id="card"' in pop.text
    localorg.admin("faults", error_rate=1, error_status=503)  # failures log tracebacks with the request in them
    failed = browser.get(f"{served_app}/panel", params={"phone": "090-1234-5678"}, timeout=10)
    assert failed.status_code in (200, 503)
    localorg.admin("faults")
    event = {"event_id": "e-1", "type": "call.ringing", "call_id": "c-1", "direction": "inbound",
             "agent_email": "agent@example.com", "external_number": NUMBER,
             "occurred_at": datetime.now(timezone.utc).isoformat()}
    body = json.dumps(event).encode()
    posted = requests.post(f"{served_app}/webhooks/calls", data=body, timeout=10, headers={
        **signature_headers("local-webhook-secret", body, int(time.time())), "Content-Type": "application/json"})
    assert posted.status_code in (200, 202)
    bad = requests.post(f"{served_app}/webhooks/calls?external_number=0312345678", data=body, timeout=10)
    assert bad.status_code == 401

    logged = everything_logged(caplog)
    assert "phone=" + MASK in logged and "/auth/callback?code=" + MASK in logged  # the access log was captured
    assert "search/?q=" + MASK in logged  # and the local org's, with the SOSL the panel sent
    for secret in (*NUMBER_FORMS, *one_time_values, *stored_tokens(app)):
        assert secret not in logged, f"{secret!r} was logged"


@pytest.mark.parametrize("line, kept", [
    ('127.0.0.1 - - [25/Nov/2026 11:23:53] "GET /panel?phone=03-1234-5678&call_id=abc HTTP/1.1" 200 -',
     ["127.0.0.1", "25/Nov/2026 11:23:53", "call_id=abc", "200"]),
    ('"GET /localorg/services/data/v62.0/search?q=FIND+%7B%220312345678%22%7D HTTP/1.1" 200 -', ["v62.0/search"]),
    ('INVALID_FIELD: FIND {"0312345678" OR "81312345678" OR "+81 3-1234-5678"} IN PHONE FIELDS', ["INVALID_FIELD"]),
    ("tel:+81312345678", ["tel:"]),
    ("０３－１２３４－５６７８ から着信", ["から着信"]),
    ("03-1234-5678内線22", ["内線22"]),
    ("+1 (415) 555-0100", []),
    ("/panel/%2B81312345678/card", ["/panel/", "/card"]),
    ("Authorization: Bearer 00D000000000001!AQ4AQFh_-x.y", ["Authorization: Bearer"]),
    ("refresh 5Aep861TSESvWeug_xvFHRBTTbf_YrTWgEyjBJ", ["refresh"]),
    ("/auth/callback?code=aPrx1234&state=abc%3D", ["/auth/callback?code="]),
    ("record 003000000000001AAA at 192.168.100.200 on 2026-11-25 11:23:53, 12 of 15000 requests",
     ["003000000000001AAA", "192.168.100.200", "2026-11-25 11:23:53", "12 of 15000"]),
    ("Using code_verifier: 'hdnfwOeOYMcVS5c' with {\"refresh_token\": \"5Aep861x\"}", ["Using code_verifier: "]),
    ("OAuth refused: invalid_grant (expired access/refresh token)", ["OAuth refused: invalid_grant"]),
])
def test_redaction_masks_numbers_and_secrets_and_keeps_the_rest(line, kept):
    redacted = redact(line)
    assert not re.search(r"1234.?5678|555.?0100|00D000|5Aep861|aPrx|81312345678|hdnfw", redacted), redacted
    for part in kept:
        assert part in redacted


def test_the_filter_redacts_records_made_before_the_factory_was_installed():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "call from %s", ("03-1234-5678",), None)
    assert RedactingFilter().filter(record) is True
    assert record.getMessage() == f"call from {MASK}"


def test_tracebacks_are_redacted_too(app, caplog):
    logger = logging.getLogger("panel.test")
    try:
        raise ValueError("Malformed request https://org/search?q=FIND+{0312345678}: 03-1234-5678")
    except ValueError:
        logger.exception("lookup failed for %s", "090-1234-5678")
    record = caplog.records[-1]
    assert "1234-5678" not in record.getMessage() and "5678" not in record.exc_text
    assert "ValueError: Malformed request" in record.exc_text
