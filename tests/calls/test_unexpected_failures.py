"""No event can stall a call: a job that fails in a way nobody foresaw ends, after a bounded number of attempts, in
the review queue with its error, and the sweep stops queuing it.

No fault of the local org produces a Python exception inside the pipeline, so the unexpected is injected at an
edge: one function of the pipeline raises (as a bug would), or the ledger holds an event the pipeline cannot read
(as an older version might have stored). Everything else is the real webhook, jobs and local org.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from calls_support import (Dialer, background_worker, call_record, call_tasks, configure, run_call, run_queued,
                           sweep, wait_until)
from tests.conftest import sign_in  # not `conftest`: that name is whichever folder's conftest pytest loaded last
from panel.calls.pipeline import UNEXPECTED_FAILURE_LIMIT
from panel.localorg.seed import IDS

YAMADA = IDS["contact.yamada_taro"]
HX = {"HX-Request": "true"}
# A message as careless code writes it: the caller's number and a token must not reach the review queue.
BUG = "no rule for +81312345678 (Authorization: Bearer 00Dxx0000001gPL!AQ4AQFhHmGz7.abcdefghijklmnop)"


@pytest.fixture
def broken_task_fields(monkeypatch):
    """Building the Task's fields raises, as a bug in the pipeline would, until the test calls `fixed()`."""
    from panel.calls import pipeline

    def raising(*args, **kwargs):
        raise KeyError(BUG)

    monkeypatch.setattr(pipeline, "task_fields", raising)
    return monkeypatch


@pytest.fixture
def reviewer(client, localorg):
    """A reviewer's browser, which also plays the dialer (the agent has not signed in: the integration user logs
    the agent's calls)."""
    sign_in(client, localorg, "reviewer@example.com")
    return client


def full_call(dialer: Dialer) -> list[dict]:
    return [dialer.ringing(), dialer.answered(), dialer.ended()]


def attempts_until_it_stops(app, call_id: str, start: datetime) -> tuple[int, datetime]:
    """Run the call's job as the queue would (each run at the time the previous one asked for) until it wants no
    further run; how many runs that took, and the clock after the last."""
    now, runs = start, 0
    while True:
        runs += 1
        assert runs <= UNEXPECTED_FAILURE_LIMIT + 1, "the call is still being retried"
        delay = run_call(app, call_id, now=now)
        if delay is None:
            return runs, now
        now += timedelta(seconds=delay + 1)


def review_entry(reviewer, call_id: str) -> str:
    """The call's entry among the waiting calls of /review (the reviewer's page)."""
    page = reviewer.get("/review").text
    waiting = page.split('id="review-queue"', 1)[1].split('id="review-history"', 1)[0]
    for entry in waiting.split('<li id="review-item-')[1:]:
        if f'data-call-id="{call_id}"' in entry:
            return '<li id="review-item-' + entry
    raise AssertionError(f"{call_id} is not waiting in the review queue")


def test_a_job_failing_unexpectedly_every_time_goes_to_review_with_the_error_after_the_bound(
        app, reviewer, sf, broken_task_fields):
    dialer = Dialer(reviewer, "call-bug")
    dialer.send(*full_call(dialer))
    start = datetime.now(timezone.utc)

    assert run_call(app, "call-bug", now=start) is not None  # the first failure: tried again later, still open
    record = call_record(app, "call-bug")
    assert (record.status, record.attempts) == ("open", 1) and "KeyError" in record.last_error

    runs, stopped = attempts_until_it_stops(app, "call-bug", start + timedelta(minutes=1))
    assert 1 + runs == UNEXPECTED_FAILURE_LIMIT
    record = call_record(app, "call-bug")
    assert record.status == "failed" and record.next_attempt_at is None
    assert call_tasks(sf, "call-bug") == []

    entry = review_entry(reviewer, "call-bug")
    assert 'data-reason="error"' in entry
    shown = re.search(r'<p class="review-error"[^>]*>(.*?)</p>', entry, re.S).group(1)
    assert "KeyError" in shown and "no rule for" in shown and f"{UNEXPECTED_FAILURE_LIMIT} attempts" in shown
    assert "81312345678" not in shown and "00Dxx0000001gPL" not in shown and "abcdefghijklmnop" not in shown

    for minutes in (3, 10, 60, 24 * 60):  # the sweep leaves it to the reviewer, however long it waits
        assert "call-bug" not in sweep(app, now=stopped + timedelta(minutes=minutes))
    assert run_call(app, "call-bug", now=stopped + timedelta(hours=1)) is None  # a stray job changes nothing
    assert call_record(app, "call-bug").status == "failed"


def test_the_reviewers_retry_gives_a_fresh_budget_and_logs_the_call_once_the_fault_is_gone(
        app, reviewer, sf, broken_task_fields):
    dialer = Dialer(reviewer, "call-bug-fixed")
    dialer.send(*full_call(dialer))
    attempts_until_it_stops(app, "call-bug-fixed", datetime.now(timezone.utc))
    entry = review_entry(reviewer, "call-bug-fixed")
    number = re.search(r'id="review-item-(\d+)"', entry).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', entry).group(1)

    # Still broken: the retry is a fresh budget, so the first failure after it does not send the call back at once.
    assert reviewer.post(f"/review/items/{number}/retry", headers=HX, data={"csrf_token": token}).status_code == 200
    run_queued(app)
    record = call_record(app, "call-bug-fixed")
    assert (record.status, record.attempts) == ("open", 1)
    attempts_until_it_stops(app, "call-bug-fixed", datetime.now(timezone.utc) + timedelta(minutes=1))
    entry = review_entry(reviewer, "call-bug-fixed")
    number = re.search(r'id="review-item-(\d+)"', entry).group(1)

    broken_task_fields.undo()  # the fix is deployed
    assert reviewer.post(f"/review/items/{number}/retry", headers=HX, data={"csrf_token": token}).status_code == 200
    run_queued(app)
    tasks = call_tasks(sf, "call-bug-fixed")
    assert len(tasks) == 1 and tasks[0]["WhoId"] == YAMADA and tasks[0]["Status"] == "Completed"
    record = call_record(app, "call-bug-fixed")
    assert (record.status, record.attempts, record.last_error) == ("logged", 0, None)


def test_an_event_the_pipeline_cannot_read_sends_its_call_to_review_and_the_sweep_stops(app, reviewer, sf):
    from panel.calls.ledger import StoredEvent
    from panel.extensions import db

    dialer = Dialer(reviewer, "call-unreadable")
    dialer.send(dialer.ringing(), dialer.answered())
    run_queued(app)
    start = datetime.now(timezone.utc)
    with app.app_context():  # as an older version might have stored it
        db.session.add(StoredEvent(event_id="call-unreadable:odd", call_id="call-unreadable", type="call.ended",
                                   payload=json.dumps({"type": "call.ended", "call_id": "call-unreadable"}),
                                   received_at=start - timedelta(minutes=5), processed=False))
        db.session.commit()
    assert sweep(app, now=start) == ["call-unreadable"]  # what today's sweep finds every minute

    attempts_until_it_stops(app, "call-unreadable", start)
    assert call_record(app, "call-unreadable").status == "failed"
    assert 'data-reason="error"' in review_entry(reviewer, "call-unreadable")
    assert sweep(app, now=start + timedelta(minutes=5)) == []
    assert call_tasks(sf, "call-unreadable") == []


def test_with_a_real_worker_the_attempts_follow_each_other_and_stop_in_the_review_queue(app, signed_in_client,
                                                                                       broken_task_fields):
    configure(app, PANEL_CALL_RETRY_BASE_S=0.05, PANEL_CALL_RETRY_CAP_S=0.1)
    dialer = Dialer(signed_in_client, "call-bug-worker")
    with background_worker(app):
        dialer.send(*full_call(dialer))
        wait_until(lambda: getattr(call_record(app, "call-bug-worker"), "status", None) == "failed")
    record = call_record(app, "call-bug-worker")
    assert record.attempts == UNEXPECTED_FAILURE_LIMIT


def test_transient_salesforce_failures_keep_retrying_past_that_bound_and_log_once_recovered(app, signed_in_client,
                                                                                           localorg, sf):
    dialer = Dialer(signed_in_client, "call-long-outage")
    dialer.send(*full_call(dialer))
    localorg.admin("faults", error_rate=1, error_status=503)
    now = datetime.now(timezone.utc)
    for attempt in range(1, 2 * UNEXPECTED_FAILURE_LIMIT + 1):
        delay = run_call(app, "call-long-outage", now=now)
        assert delay is not None
        record = call_record(app, "call-long-outage")
        assert (record.status, record.attempts) == ("open", attempt)
        now += timedelta(seconds=delay + 1)
    localorg.admin("faults")
    assert run_call(app, "call-long-outage", now=now) is None
    assert len(call_tasks(sf, "call-long-outage")) == 1
    assert call_record(app, "call-long-outage").status == "logged"


def test_a_failing_prefetch_while_the_call_rings_costs_nothing(app, signed_in_client, sf, monkeypatch):
    from panel.callers import lookup

    real_pop = lookup.pop

    def broken(*args, **kwargs):
        raise TypeError(BUG)

    monkeypatch.setattr(lookup, "pop", broken)
    dialer = Dialer(signed_in_client, "call-prefetch-bug")
    dialer.send(dialer.ringing(), dialer.answered())
    assert run_call(app, "call-prefetch-bug") is None  # best effort: the end looks the caller up again
    record = call_record(app, "call-prefetch-bug")
    assert (record.status, record.attempts) == ("open", 0)
    monkeypatch.setattr(lookup, "pop", real_pop)
    dialer.send(dialer.ended())
    assert run_call(app, "call-prefetch-bug") is None
    assert len(call_tasks(sf, "call-prefetch-bug")) == 1
