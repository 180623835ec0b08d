"""Helpers for the local org's own tests: signing in through its OAuth pages the way a browser does."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.conftest import LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET

REDIRECT_URI = "http://127.0.0.1:5999/auth/callback"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def hidden_fields(html: str) -> dict[str, str]:
    return {name: unescape(value) for name, value in
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html)}


@dataclass
class SignIn:
    """The outcome of the web server flow up to the redirect: the code, the state and the PKCE verifier."""

    code: str
    state: str
    verifier: str


@pytest.fixture
def api(localorg):
    """A requests session with the integration user's bearer token, and the versioned base URL."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {localorg.client_credentials_token()['access_token']}"
    session.base = f"{localorg.url}/services/data/v62.0"
    return session


@pytest.fixture
def browser() -> requests.Session:
    return requests.Session()


@pytest.fixture
def sign_in(localorg, browser):
    """Signs a seeded user in through the authorize page; returns a SignIn (code not yet exchanged)."""

    def run(username: str = "agent@example.com", scope: str | None = None) -> SignIn:
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(8)
        params = {"response_type": "code", "client_id": LOCAL_CLIENT_ID, "redirect_uri": REDIRECT_URI,
                  "state": state, "code_challenge": challenge, "code_challenge_method": "S256"}
        if scope:
            params["scope"] = scope
        page = browser.get(f"{localorg.url}/services/oauth2/authorize", params=params, timeout=10)
        assert page.status_code == 200
        answer = browser.post(f"{localorg.url}/services/oauth2/authorize",
                              data={**hidden_fields(page.text), "username": username},
                              allow_redirects=False, timeout=10)
        assert answer.status_code == 302, answer.text
        query = parse_qs(urlsplit(answer.headers["Location"]).query)
        return SignIn(code=query["code"][0], state=query["state"][0], verifier=verifier)

    return run


@pytest.fixture
def exchange(localorg):
    """POSTs an authorization code to the token endpoint; returns the raw response."""

    def run(signed: SignIn, verifier: str | None = None) -> requests.Response:
        return requests.post(f"{localorg.url}/services/oauth2/token", data={
            "grant_type": "authorization_code", "code": signed.code, "redirect_uri": REDIRECT_URI,
            "client_id": LOCAL_CLIENT_ID, "client_secret": LOCAL_CLIENT_SECRET,
            "code_verifier": signed.verifier if verifier is None else verifier,
        }, timeout=10)

    return run
