"""What the outside world does to the panel, over HTTP only: an agent signing in and popping calls, a dialer
sending signed call events, and a look at the local org's counters (which are not counted themselves)."""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from html import unescape
from urllib.parse import urlsplit

import requests

from panel.calls.signing import signature_headers
from panel.config import LOCAL_CLIENT_ID, LOCAL_CLIENT_SECRET, LOCAL_WEBHOOK_SECRET

API_VERSION = "62.0"


@dataclass
class Endpoints:
    panel: str  # http://127.0.0.1:PORT
    localorg: str  # http://127.0.0.1:PORT/localorg
    webhook_secret: str = LOCAL_WEBHOOK_SECRET


class LocalOrg:
    """The local org's admin side (loopback only, never counted) and an integration-user REST client."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.http = requests.Session()
        self._token: dict | None = None

    def admin(self, action: str, **payload) -> dict:
        response = self.http.post(f"{self.url}/_admin/{action}", json=payload, timeout=30)
        response.raise_for_status()
        return response.json() if response.content else {}

    def api_requests(self) -> int:
        return int(self.stats()["api_requests"])

    def stats(self) -> dict:
        return self.http.get(f"{self.url}/_admin/stats", timeout=30).json()

    def token(self, *, fresh: bool = False) -> dict:
        if self._token is None or fresh:
            response = self.http.post(f"{self.url}/services/oauth2/token", data={
                "grant_type": "client_credentials", "client_id": LOCAL_CLIENT_ID,
                "client_secret": LOCAL_CLIENT_SECRET}, timeout=30)
            response.raise_for_status()
            self._token = response.json()
        return self._token

    def rest(self, method: str, path: str, **kwargs) -> requests.Response:
        """A counted REST API request as the integration user (renews the token once if it expired)."""
        for attempt in (0, 1):
            token = self.token(fresh=attempt == 1)
            response = self.http.request(method, f"{token['instance_url']}/services/data/v{API_VERSION}/{path}",
                                         headers={"Authorization": f"Bearer {token['access_token']}"},
                                         timeout=60, **kwargs)
            if response.status_code != 401:
                return response
        return response

    def query_all(self, soql: str) -> list[dict]:
        """Every row of a query, retrying the injected faults a chaos run may have left on."""
        rows: list[dict] = []
        path = "query?" + requests.compat.urlencode({"q": soql})
        while path:
            response = self._retrying("GET", path)
            body = response.json()
            rows.extend(body.get("records") or [])
            following = body.get("nextRecordsUrl")
            path = following.split(f"/v{API_VERSION}/", 1)[1] if following else None
        return rows

    def create(self, sobject: str, fields: dict) -> str:
        return self._retrying("POST", f"sobjects/{sobject}", json=fields).json()["id"]

    def _retrying(self, method: str, path: str, **kwargs) -> requests.Response:
        for _ in range(20):
            response = self.rest(method, path, **kwargs)
            if response.status_code < 500:
                response.raise_for_status()
                return response
            time.sleep(0.1)
        response.raise_for_status()
        return response


class _Browser(requests.Session):
    """Browsers treat http://127.0.0.1 and http://localhost as secure contexts and send Secure cookies (the panel's
    `__Host-` session cookie) there; requests only does so over https, so loopback cookies lose the flag here."""

    def send(self, request, **kwargs):
        response = super().send(request, **kwargs)
        for cookie in self.cookies:
            if cookie.domain in ("127.0.0.1", "localhost", "localhost.local", "::1"):
                cookie.secure = False
        return response


def agent_session() -> requests.Session:
    return _Browser()


def session_cookie(http: requests.Session) -> str:
    """The panel's session cookie as a Cookie header, for raw HTTP clients."""
    return "; ".join(f"{c.name}={c.value}" for c in http.cookies if "panel_session" in c.name)


def sign_in(http: requests.Session, endpoints: Endpoints, username: str = "agent@example.com") -> None:
    """The browser's way in: /auth/login → the local org's sign-in page → pick the user → the panel's callback."""
    start = http.get(f"{endpoints.panel}/auth/login", allow_redirects=False, timeout=30)
    if start.status_code != 302:
        raise RuntimeError(f"/auth/login answered {start.status_code}")
    authorize_url = start.headers["Location"]
    page = http.get(authorize_url, timeout=30)
    page.raise_for_status()
    form = page.text.split("<form", 1)[1].split("</form>", 1)[0]
    fields = {unescape(name): unescape(value)
              for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)}
    approved = http.post(authorize_url, data={**fields, "username": username}, allow_redirects=False, timeout=30)
    if approved.status_code != 302:
        raise RuntimeError(f"the local org's sign-in answered {approved.status_code}")
    back = urlsplit(approved.headers["Location"])
    landed = http.get(f"{endpoints.panel}{back.path}?{back.query}", allow_redirects=False, timeout=30)
    if landed.status_code != 302:
        raise RuntimeError(f"the panel's OAuth callback answered {landed.status_code}")


def pop(http: requests.Session, endpoints: Endpoints, phone: str, call_id: str | None = None) -> requests.Response:
    """The dialer's htmx update of the pop region for a call."""
    params = {"phone": phone, "direction": "inbound"}
    if call_id:
        params["call_id"] = call_id
    return http.get(f"{endpoints.panel}/panel", params=params, headers={"HX-Request": "true"}, timeout=60)


def call_event(kind: str, call_id: str, phone: str, *, agent: str = "agent@example.com", internal: bool = False,
               answered: bool = True, duration_s: int = 95, event_id: str | None = None) -> dict:
    event = {"event_id": event_id or f"evt_{uuid.uuid4().hex}", "type": f"call.{kind}", "call_id": call_id,
             "direction": "inbound", "internal": internal, "agent_email": agent, "external_number": phone,
             "occurred_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    if kind == "ended":
        event.update(answered=answered, duration_seconds=duration_s if answered else 0, recording_url=None,
                     voicemail_url=None, disposition=None)
    return event


def send_event(http: requests.Session, endpoints: Endpoints, event: dict, *, retries: int = 0) -> requests.Response:
    """POST one signed event; `retries` more tries when the panel asks for one (503) or the connection drops."""
    raw = json.dumps(event, ensure_ascii=False).encode("utf-8")
    for attempt in range(retries + 1):
        headers = {"Content-Type": "application/json",
                   **signature_headers(endpoints.webhook_secret, raw, int(time.time()))}
        try:
            response = http.post(f"{endpoints.panel}/webhooks/calls", data=raw, headers=headers, timeout=60)
        except requests.ConnectionError:
            if attempt == retries:
                raise
            time.sleep(0.2)
            continue
        if response.status_code < 500 or attempt == retries:
            return response
        time.sleep(0.2)
    return response
