"""Signing in through the local org's real OAuth pages, keeping the tokens, renewing them and signing out."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from panel.localorg.seed import IDS
from tests.conftest import LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET, rows_on_record, sign_in

HX = {"HX-Request": "true"}


def card_record_id(response) -> str | None:
    found = re.search(r'id="card"[^>]*data-record-id="([^"]+)"', response.text)
    return found.group(1) if found else None


def stored_connections(app) -> list[dict]:
    """The panel's token table as the database holds it, read past the app's models."""
    return rows_on_record(app, "SELECT * FROM salesforce_connections")


def decrypted_tokens(app) -> tuple[str, str]:
    from panel.extensions import db
    from panel.signin.models import SalesforceConnection

    with app.app_context():
        connection = db.session.execute(db.select(SalesforceConnection)).scalar_one()
        return connection.access_token, connection.refresh_token


def token_works(localorg, access_token: str) -> bool:
    answer = requests.get(f"{localorg.url}/services/data/v62.0/limits",
                          headers={"Authorization": f"Bearer {access_token}"}, timeout=10)
    return answer.status_code == 200


def refresh_works(localorg, refresh_token: str) -> bool:
    answer = requests.post(f"{localorg.url}/services/oauth2/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token,
        "client_id": LOCAL_CLIENT_ID, "client_secret": LOCAL_CLIENT_SECRET}, timeout=10)
    return answer.status_code == 200


def authorize_page(client):
    """Starts sign-in on the panel; the local org's sign-in URL it sends the browser to."""
    start = client.get("/auth/login")
    assert start.status_code == 302
    return start.headers["Location"]


def approve(authorize_url: str, username: str = "agent@example.com") -> requests.Response:
    """Signs in on the local org's page the way a browser does; its answer (a redirect, or the page again)."""
    browser = requests.Session()
    page = browser.get(authorize_url, timeout=10)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    return browser.post(authorize_url, data={**fields, "username": username}, allow_redirects=False, timeout=10)


def callback_path(answer: requests.Response) -> str:
    back = urlsplit(answer.headers["Location"])
    return f"{back.path}?{back.query}"


# -- signing in ----------------------------------------------------------------------------------------------------

def test_home_page_signs_in_through_the_local_org_and_lands_on_the_empty_panel(client, localorg):
    home = client.get("/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/auth/login")
    authorize_url = authorize_page(client)
    assert authorize_url.startswith(f"{localorg.url}/services/oauth2/authorize?")
    query = parse_qs(urlsplit(authorize_url).query)
    assert query["code_challenge_method"] == ["S256"] and query["client_id"] == [LOCAL_CLIENT_ID]
    assert 'name="username"' in requests.get(authorize_url, timeout=10).text

    landed = client.get(callback_path(approve(authorize_url, "agent2@example.com")))
    assert landed.status_code == 302 and landed.headers["Location"].endswith("/panel")
    panel = client.get("/panel")
    assert panel.status_code == 200
    assert 'data-state="waiting"' in panel.text
    assert "agent2@example.com" in panel.text  # the header says who is signed in
    assert client.get("/").headers["Location"].endswith("/panel")


def test_the_panel_sends_signed_out_visitors_to_sign_in_and_back(client):
    page = client.get("/panel?phone=03-1234-5678")
    assert page.status_code == 302
    assert page.headers["Location"] == "/auth/login?next=/panel?phone%3D03-1234-5678"
    fragment = client.get("/panel?phone=03-1234-5678", headers=HX)
    assert (fragment.status_code, fragment.headers["HX-Redirect"]) == (401, "/auth/login")


def test_after_sign_in_the_agent_returns_to_the_page_they_asked_for(client, localorg):
    start = client.get("/auth/login?next=/panel?phone%3D03-1234-5678")
    landed = client.get(callback_path(approve(start.headers["Location"])))
    assert landed.headers["Location"] == "/panel?phone=03-1234-5678"
    assert card_record_id(client.get(landed.headers["Location"])) == IDS["contact.yamada_taro"]


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "panel"])
def test_sign_in_never_returns_to_another_site(client, localorg, target):
    start = client.get("/auth/login", query_string={"next": target})
    landed = client.get(callback_path(approve(start.headers["Location"])))
    assert landed.headers["Location"] == "/panel"


def test_starting_sign_in_again_and_again_keeps_the_cookie_small_and_the_latest_tabs_working(app, client, localorg):
    started = [authorize_page(client) for _ in range(40)]
    assert len(client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value) < 2000
    with client.session_transaction() as session:
        assert sum(key.startswith("_state_") for key in session) == 3
    stale = client.get(callback_path(approve(started[0])))
    assert stale.status_code == 400
    landed = client.get(callback_path(approve(started[-2])))  # the second-newest tab still signs in
    assert landed.status_code == 302 and landed.headers["Location"].endswith("/panel")


def test_an_unknown_user_at_the_sign_in_page_is_told_so_and_not_sent_back(client, localorg):
    answer = approve(authorize_page(client), "nobody@example.com")
    assert answer.status_code == 400
    assert "そのユーザーは見つかりません" in answer.text
    assert client.get("/panel").status_code == 302  # still signed out


def test_a_code_redeemed_with_another_sign_ins_pkce_verifier_is_refused(app, localorg):
    """Two sign-ins started in two browsers: the code of one, delivered with the other's state, meets the other's
    PKCE verifier at the token endpoint, which answers invalid_grant."""
    first, second = app.test_client(), app.test_client()
    code = parse_qs(urlsplit(approve(authorize_page(first)).headers["Location"]).query)["code"][0]
    state = parse_qs(urlsplit(authorize_page(second)).query)["state"][0]
    answer = second.get("/auth/callback", query_string={"code": code, "state": state})
    assert answer.status_code == 400
    assert "invalid_grant" in answer.text
    assert second.get("/panel").status_code == 302
    assert stored_connections(app) == []


@pytest.mark.parametrize("params", [
    {"code": "aPrxWhatever", "state": "not-the-state"},
    {"code": "aPrxWhatever"},
    {},
    {"state": "x" * 5000},
])
def test_a_callback_with_a_foreign_or_missing_state_asks_to_sign_in_again(client, localorg, params):
    authorize_page(client)  # this browser has a sign-in in progress, with its own state
    answer = client.get("/auth/callback", query_string=params)
    assert answer.status_code == 400
    assert "/auth/login" in answer.text


def test_reloading_the_callback_after_signing_in_goes_to_the_panel(client, localorg):
    authorize_url = authorize_page(client)
    back = callback_path(approve(authorize_url))
    assert client.get(back).headers["Location"].endswith("/panel")
    again = client.get(back)
    assert again.status_code == 302 and again.headers["Location"].endswith("/panel")


def test_a_callback_nobody_started_asks_to_sign_in_again(client, localorg):
    answer = client.get("/auth/callback?code=aPrxWhatever&state=abc")
    assert answer.status_code == 400 and "/auth/login" in answer.text


def test_a_sign_in_the_org_refused_says_why(client, localorg):
    state = parse_qs(urlsplit(authorize_page(client)).query)["state"][0]
    answer = client.get("/auth/callback", query_string={"error": "access_denied", "state": state,
                                                         "error_description": "end-user denied authorization"})
    assert answer.status_code == 400
    assert "access_denied" in answer.text and "/auth/login" in answer.text


# -- the stored tokens ---------------------------------------------------------------------------------------------

def test_tokens_are_stored_encrypted_and_only_on_the_server(app, client, localorg):
    sign_in(client, localorg)
    access_token, refresh_token = decrypted_tokens(app)
    assert token_works(localorg, access_token) and refresh_works(localorg, refresh_token)
    row, = stored_connections(app)
    assert (row["user_id"], row["email"]) == (IDS["user.agent"], "agent@example.com")
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):  # the whole file, journal aside
        with open(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"), "rb") as handle:
            on_disk = handle.read()
        for token in (access_token, refresh_token):
            assert token.encode() not in on_disk
    for token in (access_token, refresh_token):
        assert token.encode() not in b"".join(str(v).encode() for v in row.values())
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value  # signed, not encrypted: keep it bare
    assert access_token not in cookie and refresh_token not in cookie


def test_signing_in_again_reuses_the_users_row_and_revokes_the_replaced_refresh_token(app, client, localorg):
    sign_in(client, localorg)
    _, first_refresh = decrypted_tokens(app)
    again = app.test_client()  # e.g. the same agent in another browser
    sign_in(again, localorg)
    _, second_refresh = decrypted_tokens(app)
    assert len(stored_connections(app)) == 1
    assert second_refresh != first_refresh
    assert not refresh_works(localorg, first_refresh)
    assert refresh_works(localorg, second_refresh)
    sign_in(app.test_client(), localorg, "agent2@example.com")
    assert sorted(row["email"] for row in stored_connections(app)) == ["agent2@example.com", "agent@example.com"]


# -- renewing and losing the grant ---------------------------------------------------------------------------------

def test_an_expired_access_token_is_renewed_without_the_agent_noticing(app, signed_in_client, localorg):
    old_access, refresh_token = decrypted_tokens(app)
    localorg.admin("faults", expire_tokens=True)
    pop = signed_in_client.get("/panel?phone=03-1234-5678", headers=HX)
    assert pop.status_code == 200 and card_record_id(pop) == IDS["contact.yamada_taro"]
    new_access, kept_refresh = decrypted_tokens(app)
    assert new_access != old_access and kept_refresh == refresh_token
    refreshes = localorg.stats()["oauth"]["token"]
    signed_in_client.get("/panel?phone=090-1234-5678", headers=HX)
    assert localorg.stats()["oauth"]["token"] == refreshes  # the renewed token was kept: no second refresh


def test_a_revoked_grant_sends_the_agent_to_sign_in(app, signed_in_client, localorg):
    _, refresh_token = decrypted_tokens(app)
    requests.post(f"{localorg.url}/services/oauth2/revoke", data={"token": refresh_token}, timeout=10)
    fragment = signed_in_client.get("/panel?phone=03-1234-5678", headers=HX)
    assert (fragment.status_code, fragment.headers.get("HX-Redirect")) == (401, "/auth/login")
    page = signed_in_client.get("/panel?phone=03-1234-5678")
    assert page.status_code == 302 and page.headers["Location"].startswith("/auth/login")
    assert stored_connections(app)[0]["access_token_encrypted"] is None  # no more calls with a dead grant


def test_an_expired_access_token_with_a_revoked_refresh_token_sends_the_agent_to_sign_in(
        app, signed_in_client, localorg):
    access_token, refresh_token = decrypted_tokens(app)
    localorg.admin("faults", expire_tokens=True)
    with requests.Session() as other:  # the admin revoked the panel's access in Salesforce's setup
        other.post(f"{localorg.url}/services/oauth2/revoke", data={"token": refresh_token}, timeout=10)
    fragment = signed_in_client.get("/panel?phone=03-1234-5678", headers=HX)
    assert (fragment.status_code, fragment.headers.get("HX-Redirect")) == (401, "/auth/login")
    sign_in(signed_in_client, localorg)
    assert card_record_id(signed_in_client.get("/panel?phone=03-1234-5678", headers=HX)) == IDS["contact.yamada_taro"]


# -- signing out ---------------------------------------------------------------------------------------------------

def panel_csrf_token(client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/panel").text).group(1)


def test_signing_out_revokes_the_grant_at_the_org(app, signed_in_client, localorg):
    access_token, refresh_token = decrypted_tokens(app)
    answer = signed_in_client.post("/auth/logout", data={"csrf_token": panel_csrf_token(signed_in_client)})
    assert answer.status_code == 302 and answer.headers["Location"] == "/auth/signed-out"
    assert not token_works(localorg, access_token) and not refresh_works(localorg, refresh_token)
    row, = stored_connections(app)
    assert row["access_token_encrypted"] is None and row["refresh_token_encrypted"] is None
    assert signed_in_client.get("/panel").status_code == 302
    assert signed_in_client.get("/auth/signed-out").status_code == 200


def test_signing_out_from_htmx_redirects_the_whole_sidebar(signed_in_client):
    answer = signed_in_client.post("/auth/logout", headers={**HX, "X-CSRFToken": panel_csrf_token(signed_in_client)})
    assert (answer.status_code, answer.headers["HX-Redirect"]) == (204, "/auth/signed-out")


def test_signing_out_needs_the_forms_csrf_token(app, signed_in_client, localorg):
    access_token, _ = decrypted_tokens(app)
    answer = signed_in_client.post("/auth/logout")
    assert answer.status_code == 400
    assert token_works(localorg, access_token)


def test_signing_out_when_the_org_is_down_still_signs_out_here(app, signed_in_client, localorg):
    token = panel_csrf_token(signed_in_client)
    localorg.admin("faults", error_rate=1, error_status=503)
    assert signed_in_client.post("/auth/logout", data={"csrf_token": token}).status_code == 302
    assert signed_in_client.get("/panel").status_code == 302


# -- the integration connection ------------------------------------------------------------------------------------

def local_settings(localorg, **overrides):
    from panel.salesforce.oauth import OAuthSettings

    return OAuthSettings(**{"login_url": localorg.url, "client_id": LOCAL_CLIENT_ID,
                            "client_secret": LOCAL_CLIENT_SECRET, **overrides})


def test_the_integration_connection_acts_as_the_integration_user_and_renews_itself(localorg):
    from panel.salesforce.client import integration_client

    client = integration_client(local_settings(localorg))
    who = client.query(f"SELECT Id, Username FROM User WHERE Id = '{IDS['user.integration']}'")
    assert who["totalSize"] == 1
    localorg.admin("faults", expire_tokens=True)
    assert client.query("SELECT COUNT() FROM Contact")["totalSize"] > 0
    assert client.api_usage is not None and client.api_usage.used > 0


def test_the_integration_connection_with_a_wrong_secret_is_refused_clearly(localorg):
    from panel.salesforce.errors import SalesforceRequestError
    from panel.salesforce.client import integration_client

    with pytest.raises(SalesforceRequestError, match="invalid_client"):
        integration_client(local_settings(localorg, client_secret="wrong"))


def test_the_integration_connection_uses_the_jwt_bearer_flow_when_a_key_is_configured(localorg):
    from joserfc.jwk import RSAKey

    from panel.salesforce.client import integration_client

    key = RSAKey.generate_key(2048)
    localorg.admin("connected_app", jwt_certificate=key.as_pem(private=False).decode())
    settings = local_settings(localorg, client_secret=None, jwt_username="agent2@example.com",
                              jwt_private_key=key.as_pem(private=True).decode())
    client = integration_client(settings)
    mine = client.query(f"SELECT COUNT() FROM Contact WHERE OwnerId = '{IDS['user.agent2']}'")["totalSize"]
    assert mine > 0
    localorg.admin("faults", expire_tokens=True)
    assert client.query("SELECT Id FROM User LIMIT 1")["totalSize"] == 1  # a fresh assertion, not a refresh token
    assert localorg.stats()["oauth"]["token"] == 2


def test_a_jwt_key_the_org_does_not_know_is_refused_clearly(localorg):
    from joserfc.jwk import RSAKey

    from panel.salesforce.errors import ReconnectRequired
    from panel.salesforce.client import integration_client

    settings = local_settings(localorg, jwt_username="integration@example.com",
                              jwt_private_key=RSAKey.generate_key(2048).as_pem(private=True).decode())
    with pytest.raises(ReconnectRequired, match="JWT bearer sign-in refused: invalid_grant"):
        integration_client(settings)


# -- the token key -------------------------------------------------------------------------------------------------

def test_the_token_key_rotates_without_signing_anyone_out_and_a_lost_key_means_signing_in_again(
        app, localorg):
    from panel import create_app

    def app_with(token_key):
        return create_app({**app.extensions["tests.config"], "PANEL_TOKEN_KEY": token_key})

    first = app_with("key-one")
    browser = first.test_client()
    sign_in(browser, localorg)
    cookie = browser.get_cookie(first.config["SESSION_COOKIE_NAME"]).value

    def pop_with(other_app, number="03-1234-5678"):
        other = other_app.test_client()
        other.set_cookie(other_app.config["SESSION_COOKIE_NAME"], cookie)
        return other.get(f"/panel?phone={number}", headers=HX)

    assert card_record_id(pop_with(app_with("key-two, key-one"))) == IDS["contact.yamada_taro"]
    # A number not looked up yet: a pop served from a cache shared with the first app (Redis) needs no token.
    lost = pop_with(app_with("key-three"), "06-6000-0000")
    assert (lost.status_code, lost.headers.get("HX-Redirect")) == (401, "/auth/login")
