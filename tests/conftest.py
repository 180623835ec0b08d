"""Shared fixtures: a real local org served over HTTP on a free port, reset to its seed before each test."""

from __future__ import annotations

import os
import shutil
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

# `PANEL_TEST_CONFIG=scaleout` runs every test that uses the panel app on the scale-out configuration instead: a
# PostgreSQL database of the run's own and an empty Redis database number (cache and job queue), emptied after each
# test. `make test` runs the panel's tests both ways (see the Makefile); without the servers the second pass is
# skipped.
SCALEOUT = os.environ.get("PANEL_TEST_CONFIG") == "scaleout"


@pytest.fixture(scope="session")
def scaleout_servers():
    """(postgres_url, redis_url) for this run; the whole run is skipped, naming the server, when one is missing."""
    from bench.stack import Unavailable, drop_postgres, private_postgres, private_redis, release_redis

    try:
        redis_url = private_redis()
    except Unavailable as missing:
        pytest.skip(f"the scale-out configuration needs Redis: {missing}")
    try:
        postgres_url = private_postgres()
    except Unavailable as missing:
        release_redis(redis_url)
        pytest.skip(f"the scale-out configuration needs PostgreSQL: {missing}")
    yield postgres_url, redis_url
    release_redis(redis_url)
    drop_postgres(postgres_url)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory):
    """A SQLite file the schema's revisions built once for the run (an app on a new file runs them, as
    `flask --app app db upgrade` would); each test's database is a copy of it, quicker than running the revisions
    for every test."""
    from panel import create_app, migrations
    from panel.extensions import db

    template = tmp_path_factory.mktemp("schema") / "panel.sqlite3"
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key", "PANEL_JOBS_MEMORY": True,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{template}"})
    migrations.require_current(app)
    with app.app_context():
        db.engine.dispose()  # the last connection closed: the WAL is folded into the file, which is all there is
    return template


@pytest.fixture
def app(localorg, tmp_path, request):
    from panel import create_app

    config = {"TESTING": True, "SECRET_KEY": "test-secret-key", "LOCALORG_URL": localorg.url}
    if SCALEOUT:  # the run's database is migrated by the first app built on it, emptied after every test
        postgres_url, redis_url = request.getfixturevalue("scaleout_servers")
        config.update(DATABASE_URL=postgres_url, REDIS_URL=redis_url)
    else:
        database = tmp_path / "panel.sqlite3"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), database)
        config.update(SQLALCHEMY_DATABASE_URI=f"sqlite:///{database}", PANEL_JOBS_MEMORY=True,
                      CACHE_TYPE="SimpleCache")
    application = create_app(config)
    application.extensions["tests.config"] = dict(config)  # what a test's second app on the same data starts from
    yield application
    from panel.calls import jobs
    from panel.extensions import cache, db

    with application.app_context():
        cache.clear()
        db.session.remove()
        if SCALEOUT:  # the next test starts from empty tables and an empty queue, as a SQLite file would
            jobs.huey.flush()
            with db.engine.begin() as connection:
                for table in reversed(db.metadata.sorted_tables):
                    connection.execute(table.delete())
        db.engine.dispose()


def rows_on_record(app, sql: str) -> list[dict]:
    """What the panel's database durably holds, read over a connection of its own (past the app's models and
    session): SQLite file or PostgreSQL alike."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.connect() as connection:
            return [dict(row._mapping) for row in connection.exec_driver_sql(sql)]
    finally:
        engine.dispose()


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


@pytest.fixture
def review_item(app, client) -> int:
    """The id of a call nobody matched, ended and waiting in the review queue (its number is nobody's)."""
    from calls_support import Dialer, run_call
    from panel.review import queue

    dialer = Dialer(client, "review-call", number="03-9999-0000")
    dialer.send(dialer.ringing(), dialer.ended(duration=60))
    run_call(app, "review-call")
    with app.app_context():
        items = [item.id for item, call in queue.open_reviews() if item.call_id == "review-call"]
    assert items, "the unmatched call should wait for a reviewer"
    return items[0]


@pytest.fixture
def lost_answers(monkeypatch):
    """The network drops the answer to the first write matching a path ending (the write itself went through): arm
    it with `(method, path ending)` pairs; what was dropped is listed in the second list."""
    import requests

    from panel.salesforce.http import SalesforceSession

    real_request = SalesforceSession.request
    dropped: list[tuple[str, str]] = []
    armed: list[tuple[str, str]] = []

    def request(self, method, url, *args, **kwargs):
        response = real_request(self, method, url, *args, **kwargs)
        for wanted in list(armed):
            if method.upper() == wanted[0] and url.split("?")[0].rstrip("/").endswith(wanted[1]):
                armed.remove(wanted)
                dropped.append(wanted)
                raise requests.ReadTimeout("the answer never came back")
        return response

    monkeypatch.setattr(SalesforceSession, "request", request)
    return armed, dropped
