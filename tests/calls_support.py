"""Helpers for the call-event tests: a dialer that signs and posts events, and ways to run the jobs they start.

Shared by tests/calls/, tests/review/ and the fuzz tests. Nothing here fakes Salesforce: events go
through the real webhook endpoint, jobs run the real `panel.calls.jobs` and `panel.calls.pipeline` code against the
local org.
"""

from __future__ import annotations

import json
import re
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Iterator

from simple_salesforce import format_soql
from werkzeug.serving import make_server

from panel.calls.signing import signature_headers
from panel.localorg.seed import IDS

SECRET = "local-webhook-secret"  # the documented default in local org mode
AGENT = "agent@example.com"
CALL_TASK_FIELDS = ("Id, Subject, Status, IsClosed, TaskSubtype, Type, CallType, CallDurationInSeconds, CallObject, "
                    "CallDisposition, ActivityDate, WhoId, WhatId, OwnerId, Description")


def signed(body: bytes, *, secrets=SECRET, timestamp: int | None = None) -> dict[str, str]:
    return {**signature_headers(secrets, body, int(time.time()) if timestamp is None else timestamp),
            "Content-Type": "application/json"}


class Dialer:
    """One call as a dialer reports it. `event()` builds a payload; `post()` signs and delivers it."""

    def __init__(self, client, call_id: str, *, number: str = "03-1234-5678", direction: str = "inbound",
                 agent: str = AGENT, internal: bool = False, start: datetime | None = None) -> None:
        self.client = client
        self.call_id = call_id
        self.number = number
        self.direction = direction
        self.agent = agent
        self.internal = internal
        self.start = start or datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=3)
        self._serial = 0

    def event(self, kind: str, *, at_s: float = 0, event_id: str | None = None, **end) -> dict:
        self._serial += 1
        payload = {"event_id": event_id or f"{self.call_id}:{kind}:{self._serial}", "type": kind,
                   "call_id": self.call_id, "direction": self.direction, "internal": self.internal,
                   "agent_email": self.agent, "external_number": self.number,
                   "occurred_at": (self.start + timedelta(seconds=at_s)).isoformat()}
        payload.update(end)
        return payload

    def ringing(self, **extra) -> dict:
        return self.event("call.ringing", **extra)

    def answered(self, **extra) -> dict:
        return self.event("call.answered", at_s=5, **extra)

    def ended(self, *, answered: bool = True, duration: int = 95, recording_url: str | None = None,
              voicemail_url: str | None = None, disposition: str | None = None, **extra) -> dict:
        return self.event("call.ended", at_s=5 + duration, answered=answered, duration_seconds=duration,
                          recording_url=recording_url, voicemail_url=voicemail_url, disposition=disposition,
                          **extra)

    def post(self, event: dict, **signing):
        body = json.dumps(event, ensure_ascii=False).encode()
        return self.client.post("/webhooks/calls", data=body, headers=signed(body, **signing))

    def send(self, *events: dict) -> None:
        for event in events:
            response = self.post(event)
            assert response.status_code in (200, 202), response.text


def configure(app, **settings) -> None:
    """Change settings as an admin would (then restart): the app reads them once, before their first use."""
    from panel import web

    app.config.update(settings)
    web.forget_settings(app)


def run_call(app, call_id: str, now: datetime | None = None):
    """One run of the logging job for the call, as a worker does it; the seconds until it wants to run again."""
    from panel.calls import jobs

    with app.app_context():
        return jobs.advance_call(call_id, now=now)


def sweep(app, now: datetime | None = None) -> list[str]:
    """One run of the worker's periodic sweep, its clock at `now`; the calls it re-enqueued."""
    from panel.calls import jobs

    with app.app_context():
        return jobs.sweep(jobs.call_settings(), now=now)


def run_queued(app) -> int:
    """Execute every job waiting in the in-memory queue (not the ones scheduled for later); how many ran."""
    from panel.calls import jobs

    ran = 0
    with app.app_context():
        while (task := jobs.huey.dequeue()) is not None:
            jobs.huey.execute(task)
            ran += 1
    return ran


def call_record(app, call_id: str):
    from panel.calls import ledger

    with app.app_context():
        record = ledger.find_call(call_id)
        if record is not None:
            from panel.extensions import db

            db.session.expunge(record)
        return record


def call_tasks(sf, call_id: str) -> list[dict]:
    """Every Task in the org for the call ID (exactly one is what the product promises)."""
    return sf.query_all(format_soql(f"SELECT {CALL_TASK_FIELDS} FROM Task WHERE CallObject = {{}} "
                                    f"ORDER BY CreatedDate", call_id))["records"]


def wait_until(condition, timeout_s: float = 20.0, interval_s: float = 0.05):
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout_s} s")
        time.sleep(interval_s)


@contextmanager
def served(app) -> Iterator[str]:
    """The app on a real threaded HTTP server on a free port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@contextmanager
def background_worker(app, workers: int = 2) -> Iterator[object]:
    from panel.calls import jobs

    consumer = jobs.start_background_worker(app, workers=workers, poll_s=0.05)
    try:
        yield consumer
    finally:
        consumer.stop(graceful=True)


def post_note(client, call_id: str, subject: str = "", notes: str = "",
              record_id: str = IDS["contact.yamada_taro"]):
    """Save the task form bound to the call under a Contact's card, as the browser posts it; the answer."""
    headers = {"HX-Request": "true"}
    form = client.get(f"/panel/records/{record_id}/tasks/new?record_type=Contact&call_id={call_id}",
                      headers=headers)
    assert form.status_code == 200, form.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    return client.post(f"/panel/records/{record_id}/tasks", headers=headers, data={
        "csrf_token": token, "record_type": "Contact", "active_call_id": call_id, "call_id": call_id,
        "subject": subject, "notes": notes})


def note(client, call_id: str, subject: str = "", notes: str = "") -> None:
    """`post_note`, which must be saved."""
    response = post_note(client, call_id, subject, notes)
    assert response.status_code == 200, response.text
