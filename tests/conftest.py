"""Shared fixtures: a real local org served over HTTP on a free port, reset to its seed before each test."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
import requests
from simple_salesforce import Salesforce
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import make_server

from panel.localorg import create_localorg
from panel.salesforce.http import SalesforceSession

API_VERSION = "62.0"
LOCAL_CLIENT_ID = "panel-local"
LOCAL_CLIENT_SECRET = "panel-local-secret"


def _not_found(environ, start_response):
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]


@dataclass
class LocalOrgServer:
    base_url: str  # e.g. http://127.0.0.1:54321 (the host's root)
    url: str  # the org's instance URL, e.g. http://127.0.0.1:54321/localorg
    app: object

    def admin(self, action: str, **payload) -> dict:
        response = requests.post(f"{self.url}/_admin/{action}", json=payload, timeout=10)
        response.raise_for_status()
        return response.json() if response.content else {}

    def stats(self) -> dict:
        return requests.get(f"{self.url}/_admin/stats", timeout=10).json()

    def api_requests(self) -> int:
        return self.stats()["api_requests"]

    def client_credentials_token(self) -> dict:
        response = requests.post(f"{self.url}/services/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": LOCAL_CLIENT_ID, "client_secret": LOCAL_CLIENT_SECRET,
        }, timeout=10)
        response.raise_for_status()
        return response.json()

    def salesforce(self) -> Salesforce:
        """simple-salesforce connected as the integration user, exactly as the app connects."""
        token = self.client_credentials_token()
        return Salesforce(instance_url=token["instance_url"], session_id=token["access_token"],
                          version=API_VERSION, session=SalesforceSession(token["instance_url"]))


@pytest.fixture(scope="session")
def localorg_server(tmp_path_factory):
    database = tmp_path_factory.mktemp("localorg") / "org.sqlite3"
    org_app = create_localorg({"DATABASE": str(database), "SEARCH_LAG_S": 60, "LATENCY_MS": 0})
    server = make_server("127.0.0.1", 0, DispatcherMiddleware(_not_found, {"/localorg": org_app}), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    yield LocalOrgServer(base_url=base, url=f"{base}/localorg", app=org_app)
    server.shutdown()


@pytest.fixture
def localorg(localorg_server) -> LocalOrgServer:
    """The local org, freshly reset to its seed, with no faults and the clock back at real time."""
    localorg_server.admin("reset")
    return localorg_server


@pytest.fixture
def sf(localorg) -> Salesforce:
    return localorg.salesforce()


# -- the panel app, signed in through the local org's real OAuth pages ------------------------------------------------

@pytest.fixture
def app(localorg, tmp_path):
    from panel import create_app

    application = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "LOCALORG_URL": localorg.url,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'panel.sqlite3'}",
        "PANEL_JOBS_MEMORY": True,
        "CACHE_TYPE": "SimpleCache",
    })
    yield application
    from panel.extensions import cache, db

    with application.app_context():
        cache.clear()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    """A browser that prefers English, so assertions can quote the message ids; the panel's default is Japanese
    (tests/test_languages.py covers both languages and the default)."""
    test_client = app.test_client()
    test_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return test_client


def sign_in(client, localorg: LocalOrgServer, username: str = "agent@example.com"):
    """Sign in the way a browser does: /auth/login → the local org's sign-in page → pick the user → callback."""
    import re
    from html import unescape
    from urllib.parse import urlsplit

    start = client.get("/auth/login")
    assert start.status_code == 302, start.text
    authorize_url = start.headers["Location"]
    browser = requests.Session()
    page = browser.get(authorize_url, timeout=10)
    assert page.status_code == 200, page.text
    form = page.text.split("<form", 1)[1].split("</form>", 1)[0]
    fields = {unescape(name): unescape(value)
              for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)}
    approved = browser.post(authorize_url, data={**fields, "username": username}, allow_redirects=False, timeout=10)
    assert approved.status_code == 302, approved.text
    back = urlsplit(approved.headers["Location"])
    landed = client.get(f"{back.path}?{back.query}")
    assert landed.status_code == 302, landed.text
    return landed


@pytest.fixture
def signed_in_client(client, localorg):
    sign_in(client, localorg)
    return client
