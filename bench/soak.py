"""The chaos soak: whatever the dialer, the network and Salesforce do, every call ends as exactly one Task.

Each call rings, is answered and ends. Every event is delivered one to three times, all deliveries of all calls
shuffled (so `ended` often comes before `answered`) and posted by concurrent senders that retry a 503 the way a
dialer does. Meanwhile Salesforce fails a share of API requests (503 in the first half, 504 gateway timeouts in
the second), every access token expires halfway through, and a worker process is killed (SIGKILL, mid-job) and started again. Half the calls belong to an agent
signed in to the panel (their own token, refreshed after the expiry), half to one who is not (the integration
connection, renewed).

Then the driver waits for the ledger to settle and asks Salesforce itself: one Task per call ID (`CallObject`),
none missing, none doubled.

The periodic sweep that rescues jobs a killed worker took with it runs every minute and waits two minutes; the
driver runs that same sweep itself with its clock moved past the grace period, so a short soak need not wait.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

from bench.client import agent_session, call_event, send_event, sign_in
from bench.figures import make_callers
from bench.stack import Ledger, Stack

# Retry quickly: the soak's faults are short-lived, and the production backoff (2 s doubling) would idle it.
SOAK_ENV = {"PANEL_CALL_RETRY_BASE_S": "0.2", "PANEL_CALL_RETRY_CAP_S": "2"}
SOAK_LEASE_TTL_S = 5.0


@dataclass
class SoakResult:
    calls: int
    deliveries: int
    seconds_sending: float
    seconds_to_settle: float
    sender_statuses: dict
    ledger: dict
    tasks_per_call: dict  # how many calls have 0, 1, 2... Tasks
    lost: list = field(default_factory=list)
    doubled: list = field(default_factory=list)
    unsettled: list = field(default_factory=list)

    @property
    def exactly_once(self) -> bool:
        return not self.lost and not self.doubled and set(self.tasks_per_call) == {1}

    def summary(self) -> str:
        return (f"{self.calls} calls, {self.deliveries} deliveries in {self.seconds_sending:.1f} s, settled after "
                f"{self.seconds_to_settle:.1f} s more; Tasks per call {dict(sorted(self.tasks_per_call.items()))}; "
                f"ledger {dict(sorted(self.ledger.items(), key=str))}; sender answers "
                f"{dict(sorted(self.sender_statuses.items()))}")


def soak_stack(**overrides) -> Stack:
    options = {"latency_ms": 20, "job_processes": 2, "job_threads": 4, "extra_env": SOAK_ENV,
               "lease_ttl_s": SOAK_LEASE_TTL_S}
    options.update(overrides)
    return Stack(**options)


def run_soak(stack: Stack, calls: int, *, senders: int = 8, error_rate: float = 0.2, numbers: int = 20,
             settle_timeout_s: float = 120, seed: int | None = None) -> SoakResult:
    chance = random.Random(seed)
    org = stack.org
    org.admin("faults")
    agent = agent_session()
    sign_in(agent, stack.endpoints, "agent@example.com")
    phones = make_callers(org, numbers, block=chance.randrange(3000))

    call_ids = [f"soak-{uuid.uuid4().hex[:12]}" for _ in range(calls)]
    deliveries = []
    for index, call_id in enumerate(call_ids):
        phone = phones[index % len(phones)]
        email = "agent@example.com" if index % 2 == 0 else "agent2@example.com"
        for kind in ("ringing", "answered", "ended"):
            event = call_event(kind, call_id, phone, agent=email, duration_s=chance.randint(1, 600))
            deliveries.extend([event] * chance.randint(1, 3))
    chance.shuffle(deliveries)

    statuses: Counter = Counter()
    lock = threading.Lock()
    sent = [0]
    halfway = threading.Event()

    def sender(chunk: list[dict]) -> None:
        http = requests.Session()
        mine: Counter = Counter()
        for event in chunk:
            response = send_event(http, stack.endpoints, event, retries=50)
            mine[response.status_code] += 1
            with lock:
                sent[0] += 1
                if sent[0] >= len(deliveries) // 2:
                    halfway.set()
        with lock:
            statuses.update(mine)

    org.admin("faults", error_rate=error_rate, error_status=503)
    started = time.perf_counter()
    with ThreadPoolExecutor(senders + 1) as pool:
        futures = [pool.submit(sender, deliveries[index::senders]) for index in range(senders)]

        def chaos() -> None:
            halfway.wait(300)
            # From here on the failures are gateway timeouts (504) instead of 503s.
            org.admin("faults", error_rate=error_rate, error_status=504, expire_tokens=True)
            stack.kill_worker(0)
            time.sleep(0.5)
            stack.start_worker(0)

        futures.append(pool.submit(chaos))
        for future in futures:
            future.result()
    seconds_sending = time.perf_counter() - started

    ledger = Ledger(stack.database_url)
    try:
        settle_started = time.perf_counter()
        swept_at = 0.0
        while True:
            current = {call_id: ledger.status(call_id) for call_id in call_ids}
            unsettled = [call_id for call_id, status in current.items() if status != "logged"]
            waited = time.perf_counter() - settle_started
            if not unsettled or waited > settle_timeout_s:
                break
            if waited - swept_at > 5:
                _sweep_ahead(stack)
                swept_at = waited
            time.sleep(0.2)
        seconds_to_settle = time.perf_counter() - settle_started
    finally:
        ledger.close()

    org.admin("faults")  # count the Tasks on a healthy org
    rows = org.query_all("SELECT Id, CallObject, Status FROM Task WHERE CallObject LIKE 'soak-%'")
    per_call = Counter(row["CallObject"] for row in rows)
    histogram = Counter(per_call.get(call_id, 0) for call_id in call_ids)
    return SoakResult(
        calls=calls, deliveries=len(deliveries), seconds_sending=seconds_sending,
        seconds_to_settle=seconds_to_settle, sender_statuses=dict(statuses),
        ledger=dict(Counter(current.values())), tasks_per_call=dict(histogram),
        lost=[c for c in call_ids if per_call.get(c, 0) == 0],
        doubled=[c for c in call_ids if per_call.get(c, 0) > 1], unsettled=unsettled)


def _sweep_ahead(stack: Stack) -> None:
    """The worker's periodic sweep, run now with the clock past its grace period (see the module docstring)."""
    import os
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "bench.sweep", stack.endpoints.localorg], env=stack._env,
                   cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))), check=False, timeout=60,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
