"""The OAuth answers the panel relies on, from the local org and, when credentials are given, a real org.

Documented behaviour (panel.salesforce.oauth and panel.signin.connections cite the pages):

- refresh token rotation: each refresh answers a new refresh token and invalidates the one used; using an
  invalidated one again revokes the current refresh token and its access tokens
  (help.salesforce.com/s/articleView?id=005316711);
- the JWT bearer flow refuses an assertion whose `aud` is not the login server (login.salesforce.com,
  test.salesforce.com or an Experience Cloud site) with `invalid_grant` "audience is invalid"
  (help.salesforce.com, remoteaccess_oauth_jwt_flow.htm).

| real-org variables | test |
|---|---|
| `SF_CONTRACT_LOGIN_URL` (My Domain) + `SF_CONTRACT_CLIENT_ID` + `SF_CONTRACT_CLIENT_SECRET` + `SF_CONTRACT_ROTATING_REFRESH_TOKEN` (a refresh token of an app with rotation on; the test uses up its grant) | rotation |
| `SF_CONTRACT_LOGIN_URL` (My Domain) + `SF_CONTRACT_CLIENT_ID` + `SF_CONTRACT_JWT_USERNAME` + `SF_CONTRACT_JWT_PRIVATE_KEY_FILE` | JWT audience |
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import time
from dataclasses import dataclass
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.conftest import LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET

REDIRECT_URI = "http://127.0.0.1:5999/auth/callback"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass
class OAuthTarget:
    name: str
    token_url: str  # the My Domain's token endpoint
    client_id: str
    client_secret: str | None = None
    refresh_token: str | None = None
    jwt_username: str | None = None
    jwt_key: RSAKey | None = None

    def post(self, **form) -> requests.Response:
        return requests.post(self.token_url, data=form, timeout=30)

    def refresh(self, refresh_token: str) -> requests.Response:
        return self.post(grant_type="refresh_token", refresh_token=refresh_token, client_id=self.client_id,
                         client_secret=self.client_secret)


def _local_refresh_token(localorg) -> str:
    """Signs agent@example.com in through the local org's pages (web server flow with PKCE); its refresh token."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    authorize = f"{localorg.url}/services/oauth2/authorize"
    params = {"response_type": "code", "client_id": LOCAL_CLIENT_ID, "redirect_uri": REDIRECT_URI, "state": "s",
              "code_challenge": challenge, "code_challenge_method": "S256"}
    browser = requests.Session()
    page = browser.get(authorize, params=params, timeout=10)
    fields = {name: unescape(value) for name, value in
              re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text)}
    answer = browser.post(authorize, data={**fields, "username": "agent@example.com"}, allow_redirects=False,
                          timeout=10)
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    token = requests.post(f"{localorg.url}/services/oauth2/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "client_id": LOCAL_CLIENT_ID, "client_secret": LOCAL_CLIENT_SECRET, "code_verifier": verifier}, timeout=10)
    return token.json()["refresh_token"]


def _real(*required: str) -> OAuthTarget | None:
    names = ("SF_CONTRACT_LOGIN_URL", "SF_CONTRACT_CLIENT_ID", *required)
    if not all(os.environ.get(name) for name in names):
        return None
    key_file = os.environ.get("SF_CONTRACT_JWT_PRIVATE_KEY_FILE")
    key_pem = ""
    if key_file:
        with open(key_file, encoding="utf-8") as handle:
            key_pem = handle.read()
    return OAuthTarget("real", f"{os.environ['SF_CONTRACT_LOGIN_URL'].rstrip('/')}/services/oauth2/token",
                       os.environ["SF_CONTRACT_CLIENT_ID"], os.environ.get("SF_CONTRACT_CLIENT_SECRET"),
                       refresh_token=os.environ.get("SF_CONTRACT_ROTATING_REFRESH_TOKEN"),
                       jwt_username=os.environ.get("SF_CONTRACT_JWT_USERNAME"),
                       jwt_key=RSAKey.import_key(key_pem) if key_pem else None)


@pytest.fixture(params=["local", "real"])
def rotating(request):
    if request.param == "real":
        target = _real("SF_CONTRACT_CLIENT_SECRET", "SF_CONTRACT_ROTATING_REFRESH_TOKEN")
        if target is None:
            pytest.skip("no rotating refresh token of a real org configured (see the module docstring)")
        return target
    localorg = request.getfixturevalue("localorg")
    refresh_token = _local_refresh_token(localorg)
    localorg.admin("org", refresh_token_rotation=True)
    return OAuthTarget("local", f"{localorg.url}/services/oauth2/token", LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET,
                       refresh_token=refresh_token)


@pytest.fixture(params=["local", "real"])
def jwt_target(request):
    if request.param == "real":
        target = _real("SF_CONTRACT_JWT_USERNAME", "SF_CONTRACT_JWT_PRIVATE_KEY_FILE")
        if target is None:
            pytest.skip("no JWT bearer credentials of a real org configured (see the module docstring)")
        return target
    localorg = request.getfixturevalue("localorg")
    key = RSAKey.generate_key(2048)
    localorg.admin("connected_app", jwt_certificate=key.as_pem(private=False).decode())
    return OAuthTarget("local", f"{localorg.url}/services/oauth2/token", LOCAL_CLIENT_ID,
                       jwt_username="integration@example.com", jwt_key=key)


def test_a_rotating_refresh_token_is_good_once_and_its_reuse_revokes_the_grant(rotating):
    first = rotating.refresh(rotating.refresh_token)
    assert first.status_code == 200, first.text
    renewed = first.json()
    assert {"access_token", "refresh_token", "instance_url", "id", "issued_at", "signature"} <= set(renewed)
    assert renewed["refresh_token"] != rotating.refresh_token
    reused = rotating.refresh(rotating.refresh_token)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert rotating.refresh(renewed["refresh_token"]).json()["error"] == "invalid_grant"  # the whole grant is gone
    gone = requests.get(f"{renewed['instance_url']}/services/data/v62.0/limits",
                        headers={"Authorization": f"Bearer {renewed['access_token']}"}, timeout=30)
    assert gone.status_code == 401 and gone.json()[0]["errorCode"] == "INVALID_SESSION_ID"


@pytest.mark.parametrize("audience", ["my_domain", "https://login.salesforce.com"])
def test_the_jwt_bearer_audience_is_the_login_server_never_the_my_domain(jwt_target, audience):
    my_domain = jwt_target.token_url.removesuffix("/services/oauth2/token")
    claims = {"iss": jwt_target.client_id, "sub": jwt_target.jwt_username,
              "aud": my_domain if audience == "my_domain" else audience, "exp": int(time.time()) + 120}
    if jwt_target.name == "real" and audience != "my_domain" and ".sandbox.my.salesforce.com" in my_domain:
        claims["aud"] = "https://test.salesforce.com"
    answer = jwt_target.post(grant_type=JWT_BEARER_GRANT,
                             assertion=jwt.encode({"alg": "RS256"}, claims, jwt_target.jwt_key))
    if audience == "my_domain":
        assert answer.status_code == 400
        assert answer.json() == {"error": "invalid_grant", "error_description": "audience is invalid"}
    else:
        assert answer.status_code == 200, answer.text
        assert "access_token" in answer.json() and "refresh_token" not in answer.json()
