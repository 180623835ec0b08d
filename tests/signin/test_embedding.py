"""The panel inside a dialer's cross-site iframe, without a browser: security headers, the session cookie's
attributes, the popup sign-in hand-off (one-time code → session cookie or in-memory token), the reconnect prompt
and the demo dialer's server side. tests/browser/ drives the same in Chromium."""

from __future__ import annotations

import json
import re
import time
from html.parser import HTMLParser
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from panel import create_app
from panel.config import ConfigError
from panel.localorg.seed import IDS
from tests.conftest import sign_in

HX = {"HX-Request": "true"}
FRAMED = {"Sec-Fetch-Dest": "iframe"}
PANEL_ORIGIN = "http://localhost"  # the test client's own origin


@pytest.fixture
def make_app(app, tmp_path):
    """Another panel app on the same local org and database, with some settings changed."""
    made = []

    def build(**overrides):
        config = dict(app.extensions["tests.config"])
        config["PANEL_FRAME_ANCESTORS"] = None
        config.update(overrides)
        other = create_app(config)
        made.append(other)
        return other

    yield build
    from panel.extensions import db

    for other in made:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def csp(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] if " " in part else ""
            for part in (piece.strip() for piece in policy.split(";")) if part}


def popup_code(first_party_client) -> str:
    """What the popup page hands to the iframe (the popup's own, first-party session is signed in)."""
    page = first_party_client.get("/embed/sign-in")
    assert page.status_code == 200, page.text
    assert page.headers["Cache-Control"] == "no-store"
    return re.search(r'id="sign-in-code" data-code="([^"]+)"', page.text).group(1)


def exchange(client, code, origin=PANEL_ORIGIN):
    headers = {"Origin": origin} if origin else {}
    return client.post("/embed/exchange", json={"code": code}, headers=headers)


def who_is_signed_in(response) -> str | None:
    found = re.search(r'class="signed-in-as" title="([^"]*)"', response.text)
    return found.group(1) if found else None


# -- headers -------------------------------------------------------------------------------------------------------

def test_only_the_configured_dialer_origins_may_frame_the_panel(make_app):
    app = make_app(PANEL_FRAME_ANCESTORS="https://dialer.example.com https://*.phone.example.net")
    policy = csp(app.test_client().get("/embed/prompt"))
    assert policy["frame-ancestors"].split() == ["'self'", "https://dialer.example.com", "https://*.phone.example.net"]
    assert policy["default-src"] == "'self'"
    assert "*" not in policy["frame-ancestors"].replace("*.", "")


def test_no_policy_allows_inline_script_or_eval(client):
    policy = csp(client.get("/embed/prompt"))
    assert "unsafe-inline" not in str(policy) and "unsafe-eval" not in str(policy)
    assert "script-src" not in policy  # default-src 'self' decides: our own files only


@pytest.mark.parametrize("ancestors", ["*", "https:", "'self' *", "http: https://dialer.example.com"])
def test_a_frame_ancestors_setting_that_lets_any_site_frame_the_panel_is_refused(make_app, ancestors):
    with pytest.raises(ConfigError, match="PANEL_FRAME_ANCESTORS"):
        make_app(PANEL_FRAME_ANCESTORS=ancestors)


def test_the_local_org_lets_the_demo_hosts_frame_the_panel(client):
    assert csp(client.get("/embed/prompt"))["frame-ancestors"].split() == [
        "'self'", "http://127.0.0.1:*", "http://localhost:*"]


def test_panel_urls_do_not_leak_to_other_sites_in_the_referrer(signed_in_client):
    assert signed_in_client.get("/panel").headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


class _InlineFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style>")
        self.found += [f"{tag} {name}=" for name in names if name.startswith("on") or name == "style"]
        self.found += [f"{tag} javascript: URL" for value in names.values() if (value or "").startswith("javascript:")]


@pytest.mark.parametrize("path", ["/panel", "/panel?phone=03-1234-5678", "/panel?phone=06-6123-4567",
                                  "/embed/sign-in", "/demo", "/auth/signed-out", "signed out: /embed/prompt"])
def test_pages_carry_no_inline_script_or_style(app, signed_in_client, path):
    client = app.test_client() if path.startswith("signed out: ") else signed_in_client
    page = client.get(path.removeprefix("signed out: "))
    assert page.status_code == 200, page.text
    finder = _InlineFinder()
    finder.feed(page.text)
    assert finder.found == []


# -- the session cookie --------------------------------------------------------------------------------------------

def session_set_cookie(response) -> str:
    cookies = [value for value in response.headers.getlist("Set-Cookie") if "panel_session" in value]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    return cookies[0]


def test_the_session_cookie_is_a_host_only_secure_partitioned_cross_site_cookie(client, localorg):
    cookie = session_set_cookie(sign_in(client, localorg))
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert attributes[0].startswith("__host-panel_session=")
    assert {"secure", "httponly", "samesite=none", "partitioned", "path=/"} <= set(attributes)
    assert not any(attribute.startswith("domain=") for attribute in attributes)


def test_the_session_cookie_slides_its_expiry_hourly_not_on_every_request(client, localorg, monkeypatch):
    from panel.signin import embed

    signed_in = session_set_cookie(sign_in(client, localorg))
    assert "expires=" in signed_in.lower()  # a permanent session: it outlives the browser's session
    again = client.get("/panel?phone=03-1234-5678", headers={"HX-Request": "true"})
    assert again.status_code == 200
    assert not [value for value in again.headers.getlist("Set-Cookie") if "panel_session" in value]
    later = time.time() + embed.COOKIE_REFRESH_S + 1
    monkeypatch.setattr(embed, "_now", lambda: later)
    refreshed = client.get("/panel?phone=03-1234-5678", headers={"HX-Request": "true"})
    assert refreshed.status_code == 200 and "expires=" in session_set_cookie(refreshed).lower()


def test_turning_off_secure_for_a_host_prefixed_cookie_is_refused(make_app):
    with pytest.raises(ConfigError, match="SESSION_COOKIE_SECURE"):
        make_app(SESSION_COOKIE_SECURE=False)


# -- signing in from the iframe ------------------------------------------------------------------------------------

def test_sign_in_inside_a_frame_shows_the_popup_prompt_instead_of_salesforce(client):
    start = client.get("/auth/login?next=/panel", headers=FRAMED)
    assert start.status_code == 302 and start.headers["Location"] == "/embed/prompt?next=/panel"
    assert "Sec-Fetch-Dest" in start.headers["Vary"]
    prompt = client.get(start.headers["Location"], headers=FRAMED)
    assert 'id="sign-in-prompt"' in prompt.text and 'data-sign-in="/embed/sign-in"' in prompt.text
    assert 'data-next="/panel"' in prompt.text


def test_a_signed_out_panel_in_a_frame_ends_at_the_prompt(client):
    landed = client.get("/panel?phone=03-1234-5678", headers=FRAMED, follow_redirects=True)
    assert landed.request.path == "/embed/prompt"
    assert parse_qs(landed.request.query_string.decode())["next"] == ["/panel?phone=03-1234-5678"]


def test_sign_in_outside_a_frame_still_goes_straight_to_salesforce(client, localorg):
    start = client.get("/auth/login")
    assert start.headers["Location"].startswith(localorg.url)


def test_the_popup_signs_in_first_when_its_window_is_signed_out(client):
    start = client.get("/embed/sign-in")
    assert start.status_code == 302 and start.headers["Location"] == "/auth/login?next=/embed/sign-in"


def test_the_popup_returns_to_hand_over_a_code_after_salesforce_sign_in(client, localorg):
    landed = sign_in_from(client, localorg, "/embed/sign-in")
    assert landed.headers["Location"] == "/embed/sign-in"
    assert popup_code(client)


def sign_in_from(client, localorg, after):
    """sign_in(), but starting from /auth/login?next=<after> as the popup does."""
    start = client.get(f"/auth/login?next={after}")
    browser = requests.Session()
    page = browser.get(start.headers["Location"], timeout=10)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    approved = browser.post(start.headers["Location"], data={**fields, "username": "agent@example.com"},
                            allow_redirects=False, timeout=10)
    back = urlsplit(approved.headers["Location"])
    return client.get(f"{back.path}?{back.query}")


def test_the_iframe_trades_the_code_for_a_partitioned_cookie_session(app, signed_in_client):
    iframe = app.test_client()
    traded = exchange(iframe, popup_code(signed_in_client))
    assert traded.status_code == 200, traded.text
    assert "partitioned" in session_set_cookie(traded).lower()
    assert traded.headers["Cache-Control"] == "no-store"
    assert who_is_signed_in(iframe.get("/panel")) == "agent@example.com"
    assert iframe.get("/embed/session").json["signed_in"] is True


def test_without_cookies_the_token_alone_carries_the_session_and_renews_itself(app, signed_in_client):
    traded = exchange(app.test_client(), popup_code(signed_in_client)).json
    assert 0 < traded["expires_in"] <= 3600
    cookieless = app.test_client(use_cookies=False)
    assert cookieless.get("/embed/session").json["signed_in"] is False
    panel = cookieless.get("/panel", headers={"X-Panel-Session": traded["token"], **HX})
    assert panel.status_code == 200 and who_is_signed_in(panel) == "agent@example.com"
    renewed = panel.headers["X-Panel-Session"]
    pop = cookieless.get("/panel?phone=03-1234-5678", headers={"X-Panel-Session": renewed, **HX})
    assert f'data-record-id="{IDS["contact.yamada_taro"]}"' in pop.text


def test_a_token_only_session_passes_csrf_with_the_exchanged_csrf_token(app, signed_in_client):
    traded = exchange(app.test_client(), popup_code(signed_in_client)).json
    cookieless = app.test_client(use_cookies=False)
    token_only = {"X-Panel-Session": traded["token"], **HX}
    refused = cookieless.post("/auth/logout", headers=token_only)
    assert refused.status_code == 400
    signed_out = cookieless.post("/auth/logout", headers={**token_only, "X-CSRFToken": traded["csrf_token"]})
    assert signed_out.status_code == 204 and signed_out.headers["HX-Redirect"] == "/auth/signed-out"


def test_a_forged_or_expired_token_is_not_a_session(app, signed_in_client, monkeypatch):
    import itsdangerous.timed
    from flask import request

    traded = exchange(app.test_client(), popup_code(signed_in_client)).json
    cookieless = app.test_client(use_cookies=False)
    forged = traded["token"][:-4] + ("AAAA" if not traded["token"].endswith("AAAA") else "BBBB")
    assert cookieless.get("/panel", headers={"X-Panel-Session": forged}).status_code == 302

    with app.test_request_context(headers={"X-Panel-Session": traded["token"]}):
        contents = dict(app.session_interface.open_session(app, request))
    long_ago = time.time() - app.config["PANEL_EMBED_TOKEN_TTL_S"] - 5
    with monkeypatch.context() as patch:
        patch.setattr(itsdangerous.timed, "time", SimpleNamespace(time=lambda: long_ago))
        expired = app.session_interface.make_token(app, contents)
    assert cookieless.get("/panel", headers={"X-Panel-Session": expired}).status_code == 302


def test_a_code_works_once(app, signed_in_client):
    code = popup_code(signed_in_client)
    assert exchange(app.test_client(), code).status_code == 200
    again = exchange(app.test_client(), code)
    assert again.status_code == 400 and again.json["field"] == "code"


def test_an_expired_code_is_refused(app, signed_in_client):
    from panel.signin.embed import issue_code

    with app.app_context():
        code = issue_code(1, now=time.time() - 120)
    refused = exchange(app.test_client(), code)
    assert refused.status_code == 400 and refused.json["field"] == "code"


@pytest.mark.parametrize("origin", ["https://evil.example", "http://127.0.0.1", None])
def test_only_the_panels_own_pages_may_trade_a_code(app, signed_in_client, origin):
    refused = exchange(app.test_client(), popup_code(signed_in_client), origin=origin)
    assert refused.status_code == 403 and refused.json["field"] == "Origin"


@pytest.mark.parametrize("body", [{}, {"code": ""}, {"code": 12}, {"code": "x" * 500}, ["code"]])
def test_a_malformed_exchange_names_the_code_field(client, body):
    refused = client.post("/embed/exchange", json=body, headers={"Origin": PANEL_ORIGIN})
    assert refused.status_code == 400 and refused.json["field"] == "code"


# -- reconnecting --------------------------------------------------------------------------------------------------

def test_a_revoked_grant_shows_a_reconnect_prompt_inside_the_frame(app, signed_in_client, localorg):
    from panel.extensions import db
    from panel.signin.models import SalesforceConnection

    with app.app_context():
        refresh_token = db.session.execute(db.select(SalesforceConnection)).scalar_one().refresh_token
    requests.post(f"{localorg.url}/services/oauth2/revoke", data={"token": refresh_token}, timeout=10)
    fragment = signed_in_client.get("/panel?phone=03-1234-5678", headers=HX)
    assert fragment.status_code == 401
    # htmx follows HX-Redirect inside the iframe: a framed navigation
    prompt = signed_in_client.get(fragment.headers["HX-Redirect"], headers=FRAMED, follow_redirects=True)
    assert 'id="reconnect-prompt"' in prompt.text and 'data-sign-in="/embed/sign-in"' in prompt.text
    assert 'role="alert"' in prompt.text


def test_the_popup_does_not_reuse_a_revoked_sign_in(app, signed_in_client, localorg):
    from panel.extensions import db
    from panel.signin.models import SalesforceConnection

    with app.app_context():
        connection = db.session.execute(db.select(SalesforceConnection)).scalar_one()
        connection.forget_tokens()
        db.session.commit()
    assert signed_in_client.get("/embed/sign-in").status_code == 302


# -- the demo dialer -----------------------------------------------------------------------------------------------

def test_the_demo_frames_the_panel_from_another_site(client):
    page = client.get("/demo", base_url="http://localhost:8123")
    assert page.status_code == 200
    assert 'src="http://127.0.0.1:8123/panel"' in page.text
    policy = csp(page)
    assert policy["frame-src"] == "http://127.0.0.1:8123" and policy["frame-ancestors"] == "'none'"
    assert "03-1234-5678" in page.text and "山田 太郎" in page.text


def test_the_demo_on_the_panels_own_address_moves_to_localhost(client):
    moved = client.get("/demo", base_url="http://127.0.0.1:8123")
    assert moved.status_code == 302 and moved.headers["Location"] == "http://localhost:8123/demo"


def test_the_demo_does_not_exist_with_a_real_org(make_app):
    real = make_app(SALESFORCE_LOGIN_URL="https://login.salesforce.com", SALESFORCE_CLIENT_ID="id",
                    PANEL_WEBHOOK_SECRET="secret", PANEL_FRAME_ANCESTORS="https://dialer.example.com")
    client = real.test_client()
    assert client.get("/demo", base_url="http://localhost:8123").status_code == 404
    assert client.post("/demo/events", json={}).status_code == 404


def demo_csrf(client) -> str:
    page = client.get("/demo")
    return re.search(r'data-csrf-token="([^"]+)"', page.text).group(1)


def test_the_demo_signs_events_only_for_its_own_page(client):
    refused = client.post("/demo/events", json={"state": "ringing", "call_id": "c1", "phone": "03-1234-5678"})
    assert refused.status_code == 400  # no CSRF token: another site cannot make the server sign events


@pytest.mark.parametrize("body, field", [
    ({"state": "hold", "call_id": "c1", "phone": "1"}, "state"),
    ({"state": "ringing", "phone": "1"}, "call_id"),
    ({"state": "ringing", "call_id": "c1"}, "phone"),
    ({"state": "ringing", "call_id": "c1", "phone": "1", "direction": "sideways"}, "direction"),
    ({"state": "ended", "call_id": "c1", "phone": "1", "duration_seconds": -1}, "duration_seconds"),
    ({"state": "ended", "call_id": "c1", "phone": "1", "duration_seconds": 5, "voicemail": "yes"}, "voicemail"),
])
def test_a_bad_demo_event_names_the_field(client, body, field):
    refused = client.post("/demo/events", json=body, headers={"X-CSRFToken": demo_csrf(client)})
    assert refused.status_code == 400 and refused.json["field"] == field


def test_a_demo_hang_up_becomes_a_valid_call_ended_event(app):
    from panel.calls.events import parse_event
    from panel.demo import build_event

    with app.test_request_context(base_url="http://localhost:8123"):
        answered = build_event({"state": "ended", "call_id": "demo-1", "phone": "03-1234-5678",
                                "duration_seconds": 95, "disposition": "Interested"})
        missed = build_event({"state": "ended", "call_id": "demo-2", "phone": "03-1234-5678", "answered": False,
                              "duration_seconds": 30, "voicemail": True})
    assert (answered["type"], answered["answered"], answered["duration_seconds"], answered["disposition"]) == (
        "call.ended", True, 95, "Interested")
    assert (missed["answered"], missed["duration_seconds"]) == (False, 0)
    assert missed["voicemail_url"].endswith("/demo/voicemail/demo-2")
    for event in (answered, missed):
        assert parse_event(json.dumps(event).encode()).call_id == event["call_id"]  # what the webhook accepts
