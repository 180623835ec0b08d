"""The local org's OAuth server: web server flow with PKCE, refresh, client credentials, revocation, expiry."""

from __future__ import annotations

import requests
import pytest

from tests.conftest import LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET
from tests.localorg.conftest import REDIRECT_URI, hidden_fields, pkce_pair

from panel.localorg import seed


def _refresh(localorg, refresh_token: str) -> requests.Response:
    return requests.post(f"{localorg.url}/services/oauth2/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": LOCAL_CLIENT_ID,
        "client_secret": LOCAL_CLIENT_SECRET}, timeout=10)


def _api(localorg, access_token: str) -> requests.Response:
    return requests.get(f"{localorg.url}/services/data/v62.0/limits",
                        headers={"Authorization": f"Bearer {access_token}"}, timeout=10)


def _authorize_params(**overrides) -> dict:
    _, challenge = pkce_pair()
    return {"response_type": "code", "client_id": LOCAL_CLIENT_ID, "redirect_uri": REDIRECT_URI, "state": "s1",
            "code_challenge": challenge, "code_challenge_method": "S256", **overrides}


def test_sign_in_page_lists_the_seeded_agents_and_escapes_what_it_echoes(localorg):
    page = requests.get(f"{localorg.url}/services/oauth2/authorize",
                        params=_authorize_params(state='"><script>alert(1)</script>'), timeout=10)
    assert page.status_code == 200
    assert "agent@example.com" in page.text and "reviewer@example.com" in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert 'name="username"' in page.text


def test_signing_in_redirects_back_with_the_code_and_the_state(sign_in, exchange):
    signed = sign_in("agent@example.com")
    token = exchange(signed)
    assert token.status_code == 200
    body = token.json()
    assert set(body) == {"access_token", "refresh_token", "signature", "scope", "instance_url", "id",
                         "token_type", "issued_at"}
    assert body["token_type"] == "Bearer" and "expires_in" not in body
    assert body["id"].endswith(f"/id/{seed.ORG_ID}/{seed.USER_IDS['agent']}")
    assert body["instance_url"].endswith("/localorg") and body["issued_at"].isdigit()


def test_unknown_user_gets_the_sign_in_page_again_with_an_error(localorg, browser):
    page = browser.get(f"{localorg.url}/services/oauth2/authorize", params=_authorize_params(), timeout=10)
    again = browser.post(f"{localorg.url}/services/oauth2/authorize",
                         data={**hidden_fields(page.text), "username": "nobody@example.com"},
                         allow_redirects=False, timeout=10)
    assert again.status_code == 400
    assert "見つかりません" in again.text and "Location" not in again.headers


def test_sign_in_form_without_its_csrf_token_is_refused(localorg, browser):
    page = browser.get(f"{localorg.url}/services/oauth2/authorize", params=_authorize_params(), timeout=10)
    fields = {k: v for k, v in hidden_fields(page.text).items() if k != "csrf_token"}
    refused = browser.post(f"{localorg.url}/services/oauth2/authorize", data={**fields, "username": "agent@example.com"},
                           allow_redirects=False, timeout=10)
    assert refused.status_code == 400 and "Location" not in refused.headers


@pytest.mark.parametrize("overrides", [
    {"redirect_uri": "https://evil.example.com/callback"},
    {"redirect_uri": "http://127.0.0.1.evil.example.com/callback"},
    {"redirect_uri": "http://user@127.0.0.1:5000/callback"},
    {"redirect_uri": "javascript:alert(1)"},
    {"redirect_uri": ""},
    {"client_id": "someone-else"},
])
def test_unregistered_client_or_redirect_gets_an_error_page_never_a_redirect(localorg, overrides):
    answer = requests.get(f"{localorg.url}/services/oauth2/authorize", params=_authorize_params(**overrides),
                          allow_redirects=False, timeout=10)
    assert answer.status_code == 400
    assert "Location" not in answer.headers


def test_plain_pkce_method_is_sent_back_as_an_invalid_request(localorg):
    answer = requests.get(f"{localorg.url}/services/oauth2/authorize",
                          params=_authorize_params(code_challenge_method="plain"), allow_redirects=False, timeout=10)
    assert answer.status_code == 302 and "error=invalid_request" in answer.headers["Location"]


def test_wrong_pkce_verifier_is_an_invalid_grant(sign_in, exchange):
    answer = exchange(sign_in(), verifier="not-the-verifier-" + "x" * 40)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_an_authorization_code_works_once(sign_in, exchange):
    signed = sign_in()
    assert exchange(signed).status_code == 200
    reused = exchange(signed)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"


def test_an_authorization_code_expires_after_fifteen_minutes(localorg, sign_in, exchange):
    signed = sign_in()
    localorg.admin("clock", advance_s=15 * 60 + 1)
    assert exchange(signed).json()["error"] == "invalid_grant"


def test_refresh_token_gets_a_new_access_token_without_a_new_refresh_token(localorg, sign_in, exchange):
    first = exchange(sign_in()).json()
    refreshed = _refresh(localorg, first["refresh_token"])
    assert refreshed.status_code == 200
    assert "refresh_token" not in refreshed.json()
    assert refreshed.json()["access_token"] != first["access_token"]
    assert _api(localorg, refreshed.json()["access_token"]).status_code == 200


# -- refresh token rotation (`refresh_token_rotation` in the org shape) ---------------------------------------------

def test_with_rotation_each_refresh_answers_a_new_refresh_token_and_the_old_one_is_used_up(localorg, sign_in,
                                                                                         exchange):
    first = exchange(sign_in()).json()
    localorg.admin("org", refresh_token_rotation=True)
    second = _refresh(localorg, first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    third = _refresh(localorg, second["refresh_token"]).json()
    assert third["refresh_token"] not in (first["refresh_token"], second["refresh_token"])
    assert _api(localorg, third["access_token"]).status_code == 200


def test_with_rotation_reusing_a_used_refresh_token_revokes_the_whole_grant(localorg, sign_in, exchange):
    first = exchange(sign_in()).json()
    localorg.admin("org", refresh_token_rotation=True)
    second = _refresh(localorg, first["refresh_token"]).json()
    reused = _refresh(localorg, first["refresh_token"])
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    assert _refresh(localorg, second["refresh_token"]).json()["error"] == "invalid_grant"  # the current one too
    assert _api(localorg, second["access_token"]).status_code == 401  # and its access tokens


def test_with_rotation_another_users_grant_is_left_alone_when_one_is_revoked(localorg, sign_in, exchange):
    mine, theirs = exchange(sign_in()).json(), exchange(sign_in("agent2@example.com")).json()
    localorg.admin("org", refresh_token_rotation=True)
    _refresh(localorg, mine["refresh_token"])
    _refresh(localorg, mine["refresh_token"])  # reuse: my grant is gone
    assert _refresh(localorg, theirs["refresh_token"]).status_code == 200


def test_without_rotation_a_refresh_token_works_again_and_again(localorg, sign_in, exchange):
    token = exchange(sign_in()).json()
    assert all(_refresh(localorg, token["refresh_token"]).status_code == 200 for _ in range(3))


def test_scope_without_refresh_token_issues_no_refresh_token(sign_in, exchange):
    assert "refresh_token" not in exchange(sign_in(scope="api id")).json()


def test_client_credentials_token_belongs_to_the_integration_user(localorg):
    token = localorg.client_credentials_token()
    assert "refresh_token" not in token
    info = requests.get(f"{localorg.url}/services/oauth2/userinfo",
                        headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10).json()
    assert info["preferred_username"] == "integration@example.com"
    assert info["user_id"] == seed.USER_IDS["integration"]


@pytest.mark.parametrize("auth, data, status, error", [
    (None, {"client_id": LOCAL_CLIENT_ID, "client_secret": "wrong"}, 400, "invalid_client"),
    (None, {"client_id": "someone-else", "client_secret": LOCAL_CLIENT_SECRET}, 400, "invalid_client_id"),
    ((LOCAL_CLIENT_ID, "wrong"), {}, 401, "invalid_client"),
    (None, {"client_id": LOCAL_CLIENT_ID}, 400, "invalid_client"),
])
def test_client_credentials_with_bad_client_authentication_is_refused(localorg, auth, data, status, error):
    answer = requests.post(f"{localorg.url}/services/oauth2/token",
                           data={"grant_type": "client_credentials", **data}, auth=auth, timeout=10)
    assert answer.status_code == status
    assert answer.json()["error"] == error


def test_client_credentials_with_http_basic_authentication(localorg):
    answer = requests.post(f"{localorg.url}/services/oauth2/token", data={"grant_type": "client_credentials"},
                           auth=(LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET), timeout=10)
    assert answer.status_code == 200 and answer.json()["access_token"]


def test_unsupported_grant_type(localorg):
    answer = requests.post(f"{localorg.url}/services/oauth2/token", data={
        "grant_type": "password", "client_id": LOCAL_CLIENT_ID, "client_secret": LOCAL_CLIENT_SECRET}, timeout=10)
    assert answer.status_code == 400 and answer.json()["error"] == "unsupported_grant_type"


def test_userinfo_has_salesforce_identity_fields(localorg, sign_in, exchange):
    token = exchange(sign_in("reviewer@example.com")).json()
    info = requests.get(f"{localorg.url}/services/oauth2/userinfo",
                        headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10).json()
    assert info["email"] == "reviewer@example.com" and info["organization_id"] == seed.ORG_ID
    assert info["name"] == "石井 真理" and info["family_name"] == "石井"
    assert info["sub"] == token["id"] and "rest" in info["urls"]


def test_userinfo_with_a_garbage_token_is_forbidden(localorg):
    answer = requests.get(f"{localorg.url}/services/oauth2/userinfo", headers={"Authorization": "Bearer nope"},
                          timeout=10)
    assert answer.status_code == 403


def test_revoking_a_refresh_token_revokes_its_access_tokens(localorg, sign_in, exchange):
    token = exchange(sign_in()).json()
    assert requests.post(f"{localorg.url}/services/oauth2/revoke", data={"token": token["refresh_token"]},
                         timeout=10).status_code == 200
    assert _api(localorg, token["access_token"]).json()[0]["errorCode"] == "INVALID_SESSION_ID"
    assert _refresh(localorg, token["refresh_token"]).json()["error"] == "invalid_grant"


def test_revoking_an_unknown_token_is_an_error(localorg):
    assert requests.post(f"{localorg.url}/services/oauth2/revoke", data={"token": "nope"},
                         timeout=10).status_code == 400


def test_access_token_expires_with_the_org_clock(localorg):
    token = localorg.client_credentials_token()["access_token"]
    assert _api(localorg, token).status_code == 200
    localorg.admin("clock", advance_s=7201)
    expired = _api(localorg, token)
    assert expired.status_code == 401
    assert expired.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID",
                               "fields": []}]


def test_expire_tokens_fault_expires_access_tokens_but_not_refresh_tokens(localorg, sign_in, exchange):
    token = exchange(sign_in()).json()
    localorg.admin("faults", expire_tokens=True)
    assert _api(localorg, token["access_token"]).status_code == 401
    fresh = _refresh(localorg, token["refresh_token"]).json()["access_token"]
    assert _api(localorg, fresh).status_code == 200


def test_a_sixth_refresh_token_revokes_the_oldest(localorg, sign_in, exchange):
    tokens = [exchange(sign_in("agent2@example.com")).json() for _ in range(6)]
    assert _refresh(localorg, tokens[0]["refresh_token"]).status_code == 400
    assert _api(localorg, tokens[0]["access_token"]).status_code == 401
    assert all(_refresh(localorg, t["refresh_token"]).status_code == 200 for t in tokens[1:])


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer garbage", "Basic abc", "Bearer " + "x" * 5000])
def test_missing_or_garbage_bearer_is_invalid_session(localorg, header):
    answer = requests.get(f"{localorg.url}/services/data/v62.0/limits", headers={"Authorization": header},
                          timeout=10)
    assert answer.status_code == 401
    assert answer.json()[0]["errorCode"] == "INVALID_SESSION_ID"


# -- JWT bearer ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rsa_key():
    from joserfc.jwk import RSAKey

    return RSAKey.generate_key(2048)


def jwt_token(localorg, key, **claims):
    import time

    from joserfc import jwt

    body = {"iss": LOCAL_CLIENT_ID, "sub": "integration@example.com", "aud": "https://login.salesforce.com",
            "exp": int(time.time()) + 120, **claims}
    assertion = jwt.encode({"alg": "RS256"}, {k: v for k, v in body.items() if v is not None}, key)
    return requests.post(f"{localorg.url}/services/oauth2/token", timeout=10, data={
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion})


def test_jwt_bearer_signs_in_the_user_named_by_a_signed_assertion(localorg, rsa_key):
    localorg.admin("connected_app", jwt_certificate=rsa_key.as_pem(private=False).decode())
    answer = jwt_token(localorg, rsa_key, sub="agent@example.com")
    assert answer.status_code == 200, answer.text
    token = answer.json()
    assert "refresh_token" not in token and token["id"].endswith(seed.IDS["user.agent"])
    who = requests.get(f"{localorg.url}/services/oauth2/userinfo",
                       headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10)
    assert who.json()["email"] == "agent@example.com"


def test_jwt_bearer_accepts_the_connected_apps_certificate(localorg, rsa_key):
    from datetime import datetime, timedelta, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    private = serialization.load_pem_private_key(rsa_key.as_pem(private=True), password=None)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "panel")])
    now = datetime.now(timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
                   .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=1))
                   .sign(private, hashes.SHA256()))
    localorg.admin("connected_app", jwt_certificate=certificate.public_bytes(serialization.Encoding.PEM).decode())
    assert jwt_token(localorg, rsa_key).status_code == 200


@pytest.mark.parametrize("claims, error", [
    ({"iss": "someone-else"}, "invalid_client_id"),
    ({"aud": "https://test.salesforce.com"}, "invalid_grant"),  # a sandbox's audience; this is a production org
    ({"sub": "nobody@example.com"}, "invalid_grant"),
    ({"exp": 1}, "invalid_grant"),
    ({"exp": 4102444800}, "invalid_grant"),
    ({"exp": None}, "invalid_grant"),
])
def test_jwt_bearer_refuses_assertions_salesforce_would_refuse(localorg, rsa_key, claims, error):
    localorg.admin("connected_app", jwt_certificate=rsa_key.as_pem(private=False).decode())
    answer = jwt_token(localorg, rsa_key, **claims)
    assert answer.status_code == 400 and answer.json()["error"] == error


def test_jwt_bearer_wants_the_login_server_as_audience_not_the_orgs_own_url(localorg, rsa_key):
    localorg.admin("connected_app", jwt_certificate=rsa_key.as_pem(private=False).decode())
    for my_domain in (localorg.url, localorg.url + "/"):
        answer = jwt_token(localorg, rsa_key, aud=my_domain)
        assert (answer.status_code, answer.json()) == (400, {"error": "invalid_grant",
                                                             "error_description": "audience is invalid"})
    assert jwt_token(localorg, rsa_key, aud="https://login.salesforce.com/").status_code == 200


def test_jwt_bearer_refuses_another_key_a_garbage_assertion_and_an_app_without_a_certificate(localorg, rsa_key):
    from joserfc.jwk import RSAKey

    assert jwt_token(localorg, rsa_key).json()["error"] == "invalid_grant"  # nothing uploaded yet (reset)
    localorg.admin("connected_app", jwt_certificate=rsa_key.as_pem(private=False).decode())
    assert jwt_token(localorg, RSAKey.generate_key(2048)).json()["error_description"] == "invalid assertion"
    garbage = requests.post(f"{localorg.url}/services/oauth2/token", timeout=10, data={
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": "a.b.c"})
    assert garbage.status_code == 400 and garbage.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("payload", [{"jwt_certificate": "not a pem"}, {"jwt_certificate": 5}, {"other": 1}])
def test_uploading_something_that_is_no_certificate_is_refused(localorg, payload):
    answer = requests.post(f"{localorg.url}/_admin/connected_app", json=payload, timeout=10)
    assert answer.status_code == 400 and answer.json()["error"]
