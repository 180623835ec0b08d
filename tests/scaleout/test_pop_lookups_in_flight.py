"""On the scale-out configuration (two web nodes and a worker process sharing only Redis and PostgreSQL) a number's
pops that arrive together for one agent cost one lookup, 2 API requests: however the racers spread over the nodes,
and when a ringing call's pre-fetch runs on the worker while the panels pop the caller."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid

from sqlalchemy import select

from bench.client import call_event
from tests.conftest import sign_in

from .conftest import SECRET_KEY
from .test_shared_state import PROJECT_ROOT, pop, post

# One number per race, each one contact's (panel/localorg/seed.py): a race never finds the last one's answer cached.
NUMBERS = ("03-1234-5678", "+81 3 2345 6789", "(03)4567-8901", "03.5678.9012", "81367890123")


def _clients(nodes, localorg, count: int) -> list:
    """`count` test clients of one signed-in agent, spread over the nodes (a client is used by one thread only)."""
    first = nodes[0].test_client()
    sign_in(first, localorg)
    name = nodes[0].config["SESSION_COOKIE_NAME"]
    cookie = first.get_cookie(name).value
    clients = [first]
    for index in range(1, count):
        client = nodes[index % len(nodes)].test_client()
        client.set_cookie(name, cookie)
        clients.append(client)
    return clients


def _together(jobs) -> list:
    start = threading.Barrier(len(jobs))
    answers: list = [None] * len(jobs)

    def run(index: int, job) -> None:
        start.wait()
        answers[index] = job()

    threads = [threading.Thread(target=run, args=(index, job)) for index, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def test_pops_of_one_number_racing_on_two_nodes_cost_one_lookup(make_node, localorg):
    nodes = [make_node(), make_node()]
    clients = _clients(nodes, localorg, 6)
    localorg.admin("faults", latency_ms=60)
    try:
        costs, states = [], set()
        for number in NUMBERS:
            spent = localorg.api_requests()
            shown = _together([lambda client=client: pop(client, number) for client in clients])
            costs.append(localorg.api_requests() - spent)
            states |= {'data-state="card"' in response.text for response in shown}
    finally:
        localorg.admin("faults")
    assert costs == [2] * len(NUMBERS)
    assert states == {True}


def _start_worker(localorg, postgres_url: str, redis_url: str) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PANEL_", "SALESFORCE_"))}
    env.update(DATABASE_URL=postgres_url, REDIS_URL=redis_url, SECRET_KEY=SECRET_KEY,
               PYTHONPATH=PROJECT_ROOT + os.pathsep + env.get("PYTHONPATH", ""))
    worker = subprocess.Popen([sys.executable, "-m", "bench.worker", "--localorg-url", localorg.url, "--workers", "2"],
                              cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert worker.stdout.readline().strip() == "worker ready", worker.stderr.read()[-3000:]
    return worker


def _warmed(node, call_id: str) -> bool:
    from panel.calls.ledger import CallRecord
    from panel.extensions import db

    with node.app_context():
        warmed = db.session.execute(select(CallRecord.warmed).where(CallRecord.call_id == call_id)).scalar()
        db.session.remove()
    return bool(warmed)


def test_a_ringing_calls_prefetch_on_a_worker_and_pops_on_two_nodes_cost_one_lookup(make_node, localorg,
                                                                                     scaleout_servers):
    nodes = [make_node(), make_node()]
    clients = _clients(nodes, localorg, 4)
    dialer = nodes[1].test_client()
    worker = _start_worker(localorg, *scaleout_servers)
    localorg.admin("faults", latency_ms=150)  # the ring's job is dequeued well within one lookup
    try:
        costs = []
        for number in NUMBERS[:3]:
            call_id = f"ring-{uuid.uuid4().hex[:10]}"
            ringing = call_event("ringing", call_id, number)
            spent = localorg.api_requests()
            _together([lambda: post(dialer, ringing)]
                      + [lambda client=client: pop(client, number) for client in clients])
            deadline = time.monotonic() + 30
            while not _warmed(nodes[0], call_id):
                assert worker.poll() is None, worker.stderr.read()[-3000:]
                assert time.monotonic() < deadline, "the worker never pre-fetched the ringing call's pop"
                time.sleep(0.1)
            costs.append(localorg.api_requests() - spent)
    finally:
        localorg.admin("faults")
        worker.terminate()
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(5)
    assert costs == [2] * 3
