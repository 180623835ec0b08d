"""Two web nodes and separate worker processes that share nothing but Redis and PostgreSQL behave as one panel:
a pop one node looked up is free on the other, an event posted to both is stored once, and every call is logged
exactly once by whichever worker takes it."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
import uuid

from simple_salesforce import format_soql
from sqlalchemy import func, select

from bench.client import call_event
from tests.conftest import sign_in
from panel.calls.signing import signature_headers
from panel.config import LOCAL_WEBHOOK_SECRET

from .conftest import SECRET_KEY

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def post(client, event: dict):
    import json

    raw = json.dumps(event).encode()
    return client.post("/webhooks/calls", data=raw, headers={
        "Content-Type": "application/json", **signature_headers(LOCAL_WEBHOOK_SECRET, raw, int(time.time()))})


def pop(client, phone: str):
    return client.get("/panel", query_string={"phone": phone}, headers={"HX-Request": "true"})


def test_a_pop_looked_up_by_one_node_is_free_on_the_other(make_node, localorg):
    first, second = make_node().test_client(), make_node().test_client()
    sign_in(first, localorg)
    sign_in(second, localorg)

    before = localorg.api_requests()
    assert 'data-state="card"' in pop(first, "03-1234-5678").text
    looked_up = localorg.api_requests()
    assert looked_up > before
    assert 'data-state="card"' in pop(second, "+81 3-1234-5678").text
    assert localorg.api_requests() == looked_up


def test_a_session_from_one_node_is_valid_on_the_other(make_node, localorg):
    first_node, second_node = make_node(), make_node()
    first = first_node.test_client()
    sign_in(first, localorg)
    second = second_node.test_client()
    name = first_node.config["SESSION_COOKIE_NAME"]
    second.set_cookie(name, first.get_cookie(name).value)
    assert 'data-state="card"' in pop(second, "03-1234-5678").text


def test_the_same_event_posted_to_two_nodes_at_once_is_stored_once(make_node):
    nodes = [make_node(), make_node()]
    event = call_event("ringing", f"dup-{uuid.uuid4().hex[:8]}", "03-1234-5678", agent="nobody@example.com")
    answers, lock, start = [], threading.Lock(), threading.Barrier(8)

    def deliver(index: int) -> None:
        client = nodes[index % 2].test_client()
        start.wait()
        status = post(client, event).status_code
        with lock:
            answers.append(status)

    threads = [threading.Thread(target=deliver, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(answers) == [200] * 7 + [202]
    from panel.calls.ledger import StoredEvent
    from panel.extensions import db

    with nodes[1].app_context():
        stored = db.session.execute(select(func.count()).select_from(StoredEvent)
                                    .where(StoredEvent.event_id == event["event_id"])).scalar()
    assert stored == 1


def _start_worker(localorg, postgres_url: str, redis_url: str) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PANEL_", "SALESFORCE_"))}
    env.update(DATABASE_URL=postgres_url, REDIS_URL=redis_url, SECRET_KEY=SECRET_KEY,
               PYTHONPATH=PROJECT_ROOT + os.pathsep + env.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-m", "bench.worker", "--localorg-url", localorg.url, "--workers", "3"],
                            cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_calls_sent_to_two_nodes_are_logged_exactly_once_by_two_workers(make_node, localorg, sf, scaleout_servers):
    nodes = [make_node(), make_node()]
    agent = nodes[0].test_client()
    sign_in(agent, localorg)  # half the calls use the agent's own token, stored by node one, read by the workers
    calls = [f"scale-{uuid.uuid4().hex[:10]}" for _ in range(8)]
    deliveries = []
    for index, call_id in enumerate(calls):
        email = "agent@example.com" if index % 2 else "agent2@example.com"
        for kind in ("ringing", "answered", "ended"):
            deliveries += [call_event(kind, call_id, "03-1234-5678", agent=email)] * 2
    random.Random(7).shuffle(deliveries)

    workers = [_start_worker(localorg, *scaleout_servers) for _ in range(2)]
    try:
        clients = [node.test_client() for node in nodes]
        for index, event in enumerate(deliveries):
            assert post(clients[index % 2], event).status_code in (200, 202)

        from panel.calls.ledger import CallRecord
        from panel.extensions import db

        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            with nodes[0].app_context():
                statuses = dict(db.session.execute(select(CallRecord.call_id, CallRecord.status)
                                                   .where(CallRecord.call_id.in_(calls))).all())
                db.session.remove()
            if len(statuses) == len(calls) and set(statuses.values()) == {"logged"}:
                break
            for worker in workers:
                assert worker.poll() is None, worker.stderr.read().decode()[-3000:]
            time.sleep(0.2)
        assert statuses == {call_id: "logged" for call_id in calls}
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(5)

    tasks = sf.query_all(format_soql("SELECT CallObject, Status FROM Task WHERE CallObject IN {}", calls))["records"]
    assert sorted(task["CallObject"] for task in tasks) == sorted(calls)
    assert {task["Status"] for task in tasks} == {"Completed"}


def test_a_process_takes_its_database_cache_and_queue_from_the_environment(scaleout_servers):
    """What the deployment recipe promises: DATABASE_URL and REDIS_URL alone point a process at the shared servers."""
    postgres_url, redis_url = scaleout_servers
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PANEL_", "SALESFORCE_"))}
    env.update(DATABASE_URL=postgres_url, REDIS_URL=redis_url, SECRET_KEY=SECRET_KEY)
    probe = ("from panel import create_app\nfrom panel.calls import jobs\n"
             "app = create_app()\n"
             "print(app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1], app.config['CACHE_TYPE'],"
             " type(jobs.huey.storage).__name__)\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    database, cache, queue = result.stdout.split()
    assert database == postgres_url.split("@")[-1]
    assert (cache, queue) == ("RedisCache", "RedisStorage")
