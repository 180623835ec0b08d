"""`python -m panel.serve` (what `make run` starts) and `python -m panel.localorg`, as real processes on free ports."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.loopback_browser import browser_session

ROOT = Path(__file__).resolve().parent.parent
NUMBER = "03-1234-5678"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def clean_environment(tmp_path, **extra) -> dict[str, str]:
    """The caller's environment without any org settings, with every file the server writes under tmp_path."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SALESFORCE_", "PANEL_", "SF_CONTRACT_"))}
    environ.update(SECRET_KEY="serve-test-secret", DATABASE_URL=f"sqlite:///{tmp_path / 'panel.sqlite3'}",
                   PANEL_LOCALORG_DATABASE=str(tmp_path / "localorg.sqlite3"),
                   PANEL_JOBS_SQLITE=str(tmp_path / "jobs.sqlite3"), PANEL_WORKER="0",
                   PYTHONUNBUFFERED="1", **extra)
    return environ


class Server:
    """A server process, its base URL, and everything it printed once stopped."""

    def __init__(self, args: list[str], environ: dict[str, str], base: str, tmp_path: Path) -> None:
        self.base = base
        self.log_path = tmp_path / f"server-{base.rsplit(':', 1)[1]}.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=environ, stdout=self._log,
                                        stderr=subprocess.STDOUT)

    def wait_until_serving(self, path: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited: {self.output()}")
            try:
                if requests.get(self.base + path, timeout=1).status_code < 500:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise AssertionError(f"the server did not start: {self.output()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def panel_server(tmp_path):
    port = free_port()
    server = Server(["-m", "panel.serve"], clean_environment(tmp_path, HOST="127.0.0.1", PORT=str(port)),
                    f"http://127.0.0.1:{port}", tmp_path)
    try:
        server.wait_until_serving("/healthz")
        yield server
    finally:
        server.stop()


@pytest.fixture
def standalone_org(tmp_path):
    port = free_port()
    server = Server(["-m", "panel.localorg", "--host", "127.0.0.1", "--port", str(port)],
                    clean_environment(tmp_path), f"http://127.0.0.1:{port}", tmp_path)
    try:
        server.wait_until_serving("/localorg/services/data/")
        yield server
    finally:
        server.stop()


def sign_in_over_http(base: str, username: str = "agent@example.com") -> tuple[requests.Session, requests.Response]:
    """A browser's sign-in from the home page; the browser and the page it lands on."""
    browser = browser_session()
    page = browser.get(base + "/", timeout=10)  # → /auth/login → the org's sign-in page
    assert page.status_code == 200 and 'name="username"' in page.text, page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    landed = browser.post(page.url, data={**fields, "username": username}, timeout=10)
    return browser, landed


def test_make_run_serves_healthz_the_local_org_and_the_sign_in_to_the_empty_panel(panel_server):
    health = requests.get(f"{panel_server.base}/healthz", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    versions = requests.get(f"{panel_server.base}/localorg/services/data/", timeout=10).json()
    assert {"version": "62.0", "url": "/services/data/v62.0"}.items() <= next(
        v for v in versions if v["version"] == "62.0").items()

    browser, landed = sign_in_over_http(panel_server.base)
    assert landed.url == f"{panel_server.base}/panel"
    assert landed.status_code == 200 and 'data-state="waiting"' in landed.text and "agent@example.com" in landed.text
    pop = browser.get(f"{panel_server.base}/panel", params={"phone": NUMBER}, headers={"HX-Request": "true"},
                      timeout=10)
    assert pop.status_code == 200 and 'id="card"' in pop.text

    panel_server.stop()
    printed = panel_server.output()
    assert f"Salesforce contact panel on {panel_server.base}/" in printed
    assert "GET /panel?phone=[redacted]" in printed  # the access log was written, and redacted
    for secret in (NUMBER, "0312345678", "code=aPrx"):
        assert secret not in printed


def test_serve_refuses_to_start_for_a_real_org_without_a_secret_key(tmp_path):
    environ = clean_environment(tmp_path, SALESFORCE_LOGIN_URL="https://login.salesforce.com",
                                SALESFORCE_CLIENT_ID="id", PANEL_WEBHOOK_SECRET="w", PORT=str(free_port()))
    del environ["SECRET_KEY"]
    finished = subprocess.run([sys.executable, "-m", "panel.serve"], cwd=ROOT, env=environ, capture_output=True,
                              text=True, timeout=60)
    assert finished.returncode == 2
    assert "The panel cannot start: SECRET_KEY is not set" in finished.stderr


@pytest.mark.parametrize("extra, named", [({"PORT": "http"}, "PORT"), ({"PANEL_TIMEZONE": "JST"}, "PANEL_TIMEZONE")])
def test_serve_refuses_bad_settings_naming_them(tmp_path, extra, named):
    environ = clean_environment(tmp_path, **{"PORT": str(free_port()), **extra})
    finished = subprocess.run([sys.executable, "-m", "panel.serve"], cwd=ROOT, env=environ, capture_output=True,
                              text=True, timeout=60)
    assert finished.returncode == 2 and named in finished.stderr
    assert "Traceback" not in finished.stderr


@pytest.mark.parametrize("name, value", [("PANEL_LOCALORG_LATENCY_MS", "fast"), ("PANEL_LOCALORG_SEARCH_LAG_S", "nan")])
def test_the_standalone_local_org_refuses_bad_settings_naming_them(tmp_path, name, value):
    finished = subprocess.run([sys.executable, "-m", "panel.localorg", "--port", str(free_port())], cwd=ROOT,
                              env=clean_environment(tmp_path, **{name: value}), capture_output=True, text=True,
                              timeout=60)
    assert finished.returncode == 2 and name in finished.stderr and "Traceback" not in finished.stderr


def test_the_local_org_runs_standalone_and_the_panel_signs_in_against_it(standalone_org, monkeypatch, tmp_path):
    org_url = f"{standalone_org.base}/localorg"
    token = requests.post(f"{org_url}/services/oauth2/token", data={
        "grant_type": "client_credentials", "client_id": "panel-local", "client_secret": "panel-local-secret"},
        timeout=10).json()
    assert token["instance_url"] == org_url
    answer = requests.get(f"{org_url}/services/data/v62.0/query", params={"q": "SELECT COUNT() FROM Contact"},
                          headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10)
    assert answer.status_code == 200 and answer.json()["totalSize"] > 0
    assert requests.get(f"{standalone_org.base}/", timeout=10).status_code == 404
    search = requests.get(f"{org_url}/services/data/v62.0/search", params={
        "q": "FIND {03-1234-5678 OR 0312345678} IN PHONE FIELDS RETURNING Contact(Id)"},
        headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10)
    assert search.status_code == 200 and search.json()["searchRecords"]

    # The panel pointed at it as at any org: SALESFORCE_LOGIN_URL may be a loopback http URL.
    for name, value in {"SALESFORCE_LOGIN_URL": org_url, "SALESFORCE_CLIENT_ID": "panel-local",
                        "SALESFORCE_CLIENT_SECRET": "panel-local-secret", "SECRET_KEY": "k" * 32,
                        "PANEL_WEBHOOK_SECRET": "w"}.items():
        monkeypatch.setenv(name, value)
    from panel import create_app
    from tests.conftest import sign_in

    app = create_app({"TESTING": True, "PANEL_JOBS_MEMORY": True,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'app.sqlite3'}"})
    client = app.test_client()
    sign_in(client, None, "agent2@example.com")
    panel = client.get("/panel")
    assert panel.status_code == 200 and "agent2@example.com" in panel.text

    standalone_org.stop()
    printed = standalone_org.output()
    assert "GET /localorg/services/data/v62.0/search?q=[redacted]" in printed  # its access log, redacted
    for secret in (NUMBER, "0312345678", token["access_token"]):
        assert secret not in printed
