"""Sessions end when they are ended: each sign-in is a session of its own on the server, refused from the moment it
is signed out or its Salesforce grant is gone, whichever carrier brings it back (a copied cookie, an embed token),
and even after the same user signs in again elsewhere. A token-carried request never gets a cookie, and pages
holding callers' data are never stored by a browser or a proxy."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta, timezone

import requests

from panel.localorg.seed import IDS
from tests.conftest import rows_on_record, sign_in

HX = {"HX-Request": "true"}
PANEL_ORIGIN = "http://localhost"  # the test client's own origin
YAMADA = IDS["contact.yamada_taro"]
TASK = IDS["task.call_inbound_yamada"]


def session_cookie(app, client) -> str:
    return client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value


def browser_with_cookie(app, cookie: str):
    """Another browser holding a copy of a session cookie (copied from disk, a proxy log, a stolen laptop)."""
    other = app.test_client()
    other.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    other.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    return other


def assert_signed_out(client, headers=None) -> None:
    """A page sends the browser to sign in; an htmx request gets 401 with HX-Redirect to sign in."""
    page = client.get("/panel?phone=03-1234-5678", headers=headers or {})
    assert page.status_code == 302 and page.headers["Location"].startswith("/auth/login"), page.status_code
    fragment = client.get("/panel?phone=03-1234-5678", headers={**HX, **(headers or {})})
    assert (fragment.status_code, fragment.headers.get("HX-Redirect")) == (401, "/auth/login")


def assert_signed_in(client, headers=None) -> None:
    pop = client.get("/panel?phone=03-1234-5678", headers={**HX, **(headers or {})})
    assert pop.status_code == 200 and f'data-record-id="{YAMADA}"' in pop.text, pop.status_code


def csrf_token(client, headers=None) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/panel", headers=headers or {}).text).group(1)


def sign_out(client) -> None:
    answer = client.post("/auth/logout", data={"csrf_token": csrf_token(client)})
    assert answer.status_code == 302 and answer.headers["Location"] == "/auth/signed-out"


def embed_token(app, popup) -> dict:
    """What the iframe's exchange answers, for the one-time code the (signed-in) popup hands over."""
    page = popup.get("/embed/sign-in")
    code = re.search(r'id="sign-in-code" data-code="([^"]+)"', page.text).group(1)
    traded = app.test_client().post("/embed/exchange", json={"code": code}, headers={"Origin": PANEL_ORIGIN})
    assert traded.status_code == 200, traded.text
    return traded.json


def revoke_grant_at_the_org(app, localorg) -> None:
    """What an admin revoking the panel's access in Salesforce's setup does (the refresh token takes the rest)."""
    from panel.extensions import db
    from panel.signin.models import SalesforceConnection

    with app.app_context():
        refresh_token = db.session.execute(db.select(SalesforceConnection).filter_by(
            email="agent@example.com")).scalar_one().refresh_token
    requests.post(f"{localorg.url}/services/oauth2/revoke", data={"token": refresh_token}, timeout=10)


# -- signing out -----------------------------------------------------------------------------------------------------

def test_a_copy_of_a_signed_out_cookie_stays_refused_even_after_the_user_signs_in_again_elsewhere(
        app, client, localorg):
    sign_in(client, localorg)
    copied = session_cookie(app, client)
    assert_signed_in(browser_with_cookie(app, copied))

    sign_out(client)
    assert_signed_out(browser_with_cookie(app, copied))
    elsewhere = app.test_client()
    sign_in(elsewhere, localorg)  # the same agent, in another browser: the user's one connection is refilled

    assert_signed_in(elsewhere)
    assert_signed_out(browser_with_cookie(app, copied))
    assert_signed_out(client)


def test_signing_out_ends_the_users_other_sessions_too_since_it_revokes_their_grant(app, client, localorg):
    sign_in(client, localorg)
    other_browser = app.test_client()
    sign_in(other_browser, localorg)
    assert_signed_in(other_browser)

    sign_out(client)
    sign_in(app.test_client(), localorg)

    assert_signed_out(other_browser)


def test_signing_in_in_a_second_browser_keeps_the_first_one_signed_in(app, client, localorg):
    sign_in(client, localorg)
    sign_in(app.test_client(), localorg)
    assert_signed_in(client)


def test_a_signed_out_embed_token_stays_refused_even_after_the_user_signs_in_again(app, client, localorg):
    sign_in(client, localorg)  # the popup's first-party window
    traded = embed_token(app, client)
    iframe = app.test_client(use_cookies=False)
    carried = {"X-Panel-Session": traded["token"]}
    panel = iframe.get("/panel", headers={**carried, **HX})
    assert panel.status_code == 200
    renewed = {"X-Panel-Session": panel.headers["X-Panel-Session"]}

    signed_out = iframe.post("/auth/logout", headers={**renewed, **HX, "X-CSRFToken": traded["csrf_token"]})
    assert signed_out.status_code == 204
    sign_in(app.test_client(), localorg)

    for token in (carried, renewed):  # both still within PANEL_EMBED_TOKEN_TTL_S
        assert_signed_out(iframe, headers=token)
        refused = iframe.get("/embed/session", headers=token)
        assert refused.json["signed_in"] is False
        assert "X-Panel-Session" not in refused.headers  # a dead session's token is not renewed


def test_signing_out_in_the_popup_ends_the_iframes_token_session(app, client, localorg):
    sign_in(client, localorg)
    carried = {"X-Panel-Session": embed_token(app, client)["token"]}
    sign_out(client)
    sign_in(client, localorg)
    assert_signed_out(app.test_client(use_cookies=False), headers=carried)


# -- the grant revoked -----------------------------------------------------------------------------------------------

def test_a_grant_revoked_at_the_org_ends_every_session_of_the_user(app, client, localorg):
    sign_in(client, localorg)
    idle_browser = app.test_client()
    sign_in(idle_browser, localorg)
    carried = {"X-Panel-Session": embed_token(app, client)["token"]}
    revoke_grant_at_the_org(app, localorg)

    noticed = client.get("/panel?phone=03-1234-5678", headers=HX)  # the first request Salesforce refuses
    assert (noticed.status_code, noticed.headers.get("HX-Redirect")) == (401, "/auth/login")
    reconnected = app.test_client()
    sign_in(reconnected, localorg)

    assert_signed_in(reconnected)
    assert_signed_out(client)
    assert_signed_out(idle_browser)
    assert_signed_out(app.test_client(use_cookies=False), headers=carried)


def test_forgetting_a_users_tokens_ends_every_session_of_the_user(app, client, localorg):
    from panel.extensions import db
    from panel.signin.models import SalesforceConnection

    sign_in(client, localorg)
    with app.app_context():
        connection = db.session.execute(db.select(SalesforceConnection)).scalar_one()
        connection.forget_tokens()
        db.session.commit()
    sign_in(app.test_client(), localorg)

    assert_signed_out(client)


def test_the_reconnect_prompt_still_knows_the_grant_was_revoked(app, client, localorg):
    sign_in(client, localorg)
    revoke_grant_at_the_org(app, localorg)
    assert client.get("/panel?phone=03-1234-5678", headers=HX).status_code == 401
    prompt = client.get("/embed/prompt?next=/panel", headers={"Sec-Fetch-Dest": "iframe"})
    assert 'id="reconnect-prompt"' in prompt.text


# -- what the server keeps -------------------------------------------------------------------------------------------

def test_each_sign_in_is_a_session_of_its_own_kept_on_the_server_only_as_a_hash(app, client, localorg):
    sign_in(client, localorg)
    sign_in(app.test_client(), localorg)
    embed_token(app, client)

    cookie = session_cookie(app, client)
    carried = app.session_interface.get_signing_serializer(app).loads(cookie)
    assert "connection_id" not in carried
    session_id = carried["session_id"]
    rows = rows_on_record(app, "SELECT * FROM panel_sessions ORDER BY created_at")
    assert [row["started_via"] for row in rows] == ["sign-in", "sign-in", "embed"]
    assert len({row["connection_id"] for row in rows}) == 1 and len({row["id_hash"] for row in rows}) == 3
    assert rows[0]["id_hash"] == hashlib.sha256(session_id.encode()).hexdigest()
    assert session_id not in str(rows)
    assert all(row["revoked_at"] is None for row in rows)

    sign_out(client)
    assert all(row["revoked_at"] is not None for row in rows_on_record(app, "SELECT * FROM panel_sessions"))


def test_a_cookie_from_before_sessions_were_kept_on_the_server_means_signing_in_again(app, client, localorg):
    """Until this version the cookie held the user's connection row id; after the upgrade it reads as signed out."""
    sign_in(app.test_client(), localorg)
    connection_id = rows_on_record(app, "SELECT id FROM salesforce_connections")[0]["id"]
    old_cookie = app.session_interface.get_signing_serializer(app).dumps({"connection_id": connection_id,
                                                                         "_permanent": True})
    assert_signed_out(browser_with_cookie(app, old_cookie))


def test_a_session_unused_for_longer_than_the_cookie_lifetime_is_refused(app, client, localorg):
    from sqlalchemy import update

    from panel.extensions import db
    from panel.signin.models import StoredSession

    sign_in(client, localorg)
    long_ago = datetime.now(timezone.utc) - app.permanent_session_lifetime - timedelta(minutes=1)
    with app.app_context():
        db.session.execute(update(StoredSession).values(last_seen_at=long_ago))
        db.session.commit()
    assert_signed_out(client)


def test_a_session_in_use_is_seen_by_the_server_about_hourly(app, client, localorg, monkeypatch):
    from panel.signin import models

    sign_in(client, localorg)
    first_seen = rows_on_record(app, "SELECT last_seen_at FROM panel_sessions")[0]["last_seen_at"]
    assert_signed_in(client)
    assert rows_on_record(app, "SELECT last_seen_at FROM panel_sessions")[0]["last_seen_at"] == first_seen

    later = datetime.now(timezone.utc) + timedelta(seconds=models.SESSION_SEEN_EVERY_S + 1)
    monkeypatch.setattr(models, "_utcnow", lambda: later)
    assert_signed_in(client)
    assert rows_on_record(app, "SELECT last_seen_at FROM panel_sessions")[0]["last_seen_at"] != first_seen


# -- the embed token: its minutes are its whole life -----------------------------------------------------------------

def session_cookies_set(response) -> list[str]:
    return [value for value in response.headers.getlist("Set-Cookie") if "panel_session" in value]


def test_an_answer_to_a_token_carried_request_never_sets_a_session_cookie(app, client, localorg):
    sign_in(client, localorg)
    traded = embed_token(app, client)
    iframe = app.test_client(use_cookies=False)
    carried = {"X-Panel-Session": traded["token"], **HX}

    answers = [iframe.get("/panel", headers=carried),
               iframe.get("/panel?phone=03-1234-5678&lang=ja", headers=carried),  # changes the session
               iframe.get("/embed/session", headers=carried),
               iframe.post("/panel/pick", headers={**carried, "X-CSRFToken": traded["csrf_token"]},
                           data={"phone": "03-1234-5678", "record_id": YAMADA, "record_type": "Contact"}),
               iframe.post("/auth/logout", headers={**carried, "X-CSRFToken": traded["csrf_token"]})]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 200, 204]
    assert [session_cookies_set(answer) for answer in answers] == [[]] * len(answers)
    assert all("X-Panel-Session" in answer.headers for answer in answers[:4])


def test_the_exchange_still_starts_the_iframes_partitioned_cookie_and_its_token(app, client, localorg):
    sign_in(client, localorg)
    page = client.get("/embed/sign-in")
    code = re.search(r'id="sign-in-code" data-code="([^"]+)"', page.text).group(1)
    traded = app.test_client().post("/embed/exchange", json={"code": code}, headers={"Origin": PANEL_ORIGIN})
    assert traded.status_code == 200 and traded.json["token"]
    assert "partitioned" in session_cookies_set(traded)[0].lower()


# -- no-store --------------------------------------------------------------------------------------------------------

def every_answer_under_the_data_prefixes(app, item: int):
    """(method, url, params) for every route of /panel, /review, /embed and /auth, with the inputs the panel's own
    pages send; the test checks that this list keeps up with the app's routes."""
    record = {"record_id": YAMADA, "record_type": "Contact"}
    yield "GET", "/panel", {}
    yield "GET", "/panel", {"phone": "03-1234-5678", "call_id": "call-1", "direction": "inbound"}
    yield "GET", "/panel/search", {"q": "山田", "phone": "03-1234-5678"}
    yield "GET", "/panel/calls/12345/status", {}
    for view in ("next-steps", "past-activities", "tasks", "tasks/new"):
        yield "GET", f"/panel/records/{YAMADA}/{view}", {"record_type": "Contact"}
    yield "POST", "/panel/pick", {"phone": "03-1234-5678", **record}
    yield "POST", "/panel/records", {"phone": "03-1234-5678", "record_type": "Contact", "LastName": "新規"}
    yield "POST", f"/panel/records/{YAMADA}/tasks", {**record, "subject": "Call back"}
    yield "POST", f"/panel/tasks/{TASK}", {**record, "subject": "Call back"}
    yield "POST", f"/panel/tasks/{TASK}/done", record
    yield "GET", "/review", {}
    yield "GET", f"/review/items/{item}/search", {"q": "山田"}
    for action in ("pick", "lead", "dismiss", "retry"):
        yield "POST", f"/review/items/{item}/{action}", {}
    yield "GET", "/embed/prompt", {}
    yield "GET", "/embed/sign-in", {}
    yield "GET", "/embed/session", {}
    yield "POST", "/embed/exchange", {}
    yield "GET", "/auth/login", {}
    yield "GET", "/auth/callback", {}
    yield "GET", "/auth/signed-out", {}
    yield "POST", "/auth/logout", {}


def test_every_answer_holding_callers_data_or_a_session_says_no_store(app, client, localorg, review_item):
    sign_in(client, localorg, "reviewer@example.com")
    token = csrf_token(client)
    routes = list(every_answer_under_the_data_prefixes(app, review_item))
    listed = {re.sub(r"/(\d+|[0-9A-Za-z]{18})(?=/|$)", "/<id>", url) for _, url, _ in routes}
    served = {re.sub(r"<[^>]+>", "<id>", rule.rule) for rule in app.url_map.iter_rules()
              if rule.rule.startswith(("/panel", "/review", "/embed", "/auth"))}
    assert served <= listed, f"routes missing from the list: {served - listed}"

    missing = []
    for method, url, params in routes:  # signing out last
        for headers in ({}, HX):
            sent = {"query_string": params} if method == "GET" else {"data": {**params, "csrf_token": token}}
            answer = client.open(url, method=method, headers=headers, **sent)
            if answer.headers.get("Cache-Control") != "no-store":
                missing.append(f"{method} {url} {headers} → {answer.status_code} {answer.headers.get('Cache-Control')}")
    assert missing == [], "\n".join(missing)


def test_signed_out_answers_and_errors_under_the_panel_say_no_store_too(client):
    for answer in (client.get("/panel"), client.get("/panel", headers=HX), client.get("/panel/nothing-here"),
                   client.post("/panel/pick")):
        assert answer.headers["Cache-Control"] == "no-store", answer.status_code


def test_the_panels_static_files_stay_cacheable(client):
    answer = client.get("/static/js/embed.js")
    assert answer.status_code == 200 and "no-store" not in (answer.headers.get("Cache-Control") or "")
