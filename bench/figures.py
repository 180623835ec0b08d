"""The measurements. Each returns `Figure`s: what was measured, the value, the goal and how far from it.

API requests are read from the local org's counter (`GET /localorg/_admin/stats`, itself never counted) around
work done one at a time, so every request is attributable. Latencies are measured in the driving process, so
they include the HTTP client; on a 2-core machine that client competes with the server for CPU.

The API-request goals are the product decision of issue 15: a cold pop at most 2 requests, sent in parallel (one
round trip of waiting, which the cold pop's latency goal checks); an answered call, ring to logged Task, at most 3;
the pop at answer after a ringing event (the native webhook's or a vendor's) none; and a ring whose pop arrives at
the same moment still 2 (one lookup per agent and number at a time, `panel.callers.single_flight`).
"""

from __future__ import annotations

import http.client
import json
import math
import os
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

import requests

from bench.client import Endpoints, LocalOrg, call_event, pop, send_event, session_cookie
from bench.stack import Ledger, Stack
from panel.calls.signing import signature_headers


COLD_POP_REQUESTS = 2  # both sent at once
ANSWERED_CALL_REQUESTS = 3  # the cold pop of the ring's pre-fetch and the Task
POP_AT_ANSWER_REQUESTS = 0  # the ring pre-fetched it
RING_AND_POP_REQUESTS = 2  # one lookup, however the ring's pre-fetch and the pop race


@dataclass
class Figure:
    key: str
    label: str
    value: float
    unit: str
    goal: float
    direction: str  # "max": the value must not exceed the goal; "min": must reach it
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.goal == 0:
            return None
        return self.value / self.goal

    @property
    def met(self) -> bool:
        return self.value <= self.goal if self.direction == "max" else self.value >= self.goal

    def as_json(self) -> dict:
        return {**asdict(self), "ratio": self.ratio, "met": self.met}


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (no interpolation: the value some request really took)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def make_callers(org: LocalOrg, count: int, block: int) -> list[str]:
    """`count` new Contacts, each with its own phone number (so each is a single match); their numbers."""
    numbers = [f"03-{6000 + block:04d}-{index:04d}" for index in range(count)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: org.create("Contact", {"LastName": f"Bench {n}", "Phone": n}), numbers))
    return numbers


# -- screen pop -----------------------------------------------------------------------------------------------------

def pops(http: requests.Session, endpoints: Endpoints, org: LocalOrg, numbers: list[str], rtt_ms: int,
         warm_repeats: int) -> list[Figure]:
    cold_ms, cold_requests = [], []
    # A fresh web worker's first Salesforce request pays for imports and connection set-up once; a few pops of
    # numbers nobody has (not measured) make every worker warm, as it is in production after its first call.
    for index in range(4):
        pop(http, endpoints, f"03-9990-{index:04d}").raise_for_status()
    before_endpoints = _endpoint_counts(org)
    for number in numbers:
        before = org.api_requests()
        started = time.perf_counter()
        response = pop(http, endpoints, number)
        cold_ms.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        cold_requests.append(org.api_requests() - before)
    where = ", ".join(f"{name} {count / len(numbers):.1f}"
                      for name, count in sorted(_difference(_endpoint_counts(org), before_endpoints).items()))
    warm_ms = []
    before = org.api_requests()
    for _ in range(warm_repeats):
        for number in numbers:
            started = time.perf_counter()
            pop(http, endpoints, number).raise_for_status()
            warm_ms.append((time.perf_counter() - started) * 1000)
    warm_requests = org.api_requests() - before
    limit = 1.3 * rtt_ms + 20
    return [
        Figure("cold_pop_api_requests", "API requests per cold pop (mean)", statistics.mean(cold_requests),
               "req", COLD_POP_REQUESTS, "max", f"per pop: {where}"),
        Figure("cold_pop_api_requests_max", "API requests per cold pop (max)", max(cold_requests), "req",
               COLD_POP_REQUESTS, "max", "sent in parallel: the latency goals below allow one round trip"),
        Figure("cold_pop_p50_ms", "cold pop p50 (one round trip of waiting)", percentile(cold_ms, 0.5), "ms",
               limit, "max", f"RTT {rtt_ms} ms injected, n={len(cold_ms)}"),
        Figure("cold_pop_p95_ms", "cold pop p95 (one round trip of waiting)", percentile(cold_ms, 0.95), "ms",
               limit, "max", f"goal 1.3 x RTT + 20 ms = {limit:.0f} ms"),
        Figure("warm_pop_p50_ms", "warm pop p50", percentile(warm_ms, 0.5), "ms", 10, "max", f"n={len(warm_ms)}"),
        Figure("warm_pop_p95_ms", "warm pop p95", percentile(warm_ms, 0.95), "ms", 10, "max",
               f"{warm_requests} API requests in {len(warm_ms)} warm pops"),
    ]


# -- calls, one at a time -------------------------------------------------------------------------------------------

def _wait_for(condition, timeout_s: float, poll_s: float = 0.01) -> float | None:
    """Seconds until `condition()` held, or None when it did not within the timeout."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        if condition():
            return time.perf_counter() - started
        time.sleep(poll_s)
    return None


def _endpoint_counts(org: LocalOrg) -> dict[str, int]:
    return dict(org.stats().get("endpoints") or {})


def _difference(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {name: count - before.get(name, 0) for name, count in after.items() if count != before.get(name, 0)}


def answered_calls(http: requests.Session, endpoints: Endpoints, org: LocalOrg, ledger: Ledger,
                   numbers: list[str]) -> list[Figure]:
    """Ring (the worker pre-fetches), pop at answer, answer, end, Task logged: counted and timed per call.

    Like a real call, each step waits for the previous one to be taken in: a call is answered after it rang and
    ends after it was answered (seconds and minutes apart in life, so their jobs never overlap there).
    """
    dialer = requests.Session()
    per_call, at_answer, end_to_task_ms, unwarmed = [], [], [], 0
    spent: dict[str, int] = {}
    breakdowns: list[dict[str, int]] = []  # each call's requests by endpoint
    for number in numbers:
        call_id = f"bench-{uuid.uuid4().hex[:12]}"
        before, before_endpoints = org.api_requests(), _endpoint_counts(org)
        send_event(dialer, endpoints, call_event("ringing", call_id, number), retries=3).raise_for_status()
        if _wait_for(lambda: ledger.warmed(call_id), 10) is None:
            unwarmed += 1
        _wait_for(lambda: ledger.settled(call_id), 10)
        ready = org.api_requests()
        pop(http, endpoints, number, call_id).raise_for_status()
        at_answer.append(org.api_requests() - ready)
        send_event(dialer, endpoints, call_event("answered", call_id, number), retries=3).raise_for_status()
        _wait_for(lambda: ledger.settled(call_id), 10)
        send_event(dialer, endpoints, call_event("ended", call_id, number), retries=3).raise_for_status()
        ended = time.perf_counter()
        took = _wait_for(lambda: ledger.status(call_id) == "logged", 30, poll_s=0.005)
        end_to_task_ms.append(((time.perf_counter() - ended) if took is None else took) * 1000)
        _wait_for(lambda: ledger.settled(call_id), 10)
        per_call.append(org.api_requests() - before)
        breakdowns.append(_difference(_endpoint_counts(org), before_endpoints))
        for name, count in breakdowns[-1].items():
            spent[name] = spent.get(name, 0) + count
    note = f"n={len(numbers)}" + (f", {unwarmed} not pre-fetched within 10 s" if unwarmed else "")
    where = ", ".join(f"{name} {count / len(numbers):.1f}" for name, count in sorted(spent.items()))
    dearest = per_call.index(max(per_call))
    worst = ", ".join(f"{name} {count}" for name, count in sorted(breakdowns[dearest].items()))
    return [
        Figure("pop_at_answer_api_requests", "API requests for the pop at answer (after ring pre-fetch)",
               max(at_answer), "req", POP_AT_ANSWER_REQUESTS, "max", note),
        # The first call after a start also reads what is cached afterwards (the org's Task statuses for the
        # process, the agent's language for an hour): the steady state is every call after it.
        Figure("answered_call_api_requests", "API requests per answered call, ring to logged Task (mean)",
               statistics.mean(per_call[1:] or per_call), "req", ANSWERED_CALL_REQUESTS, "max",
               f"calls after the first; per call over all: {where}"),
        Figure("answered_call_api_requests_max", "API requests per answered call, ring to logged Task (max, "
               "the first call after a start included)",
               max(per_call), "req", ANSWERED_CALL_REQUESTS, "max",
               f"call {dearest + 1} of {len(per_call)}: {worst}"),
        Figure("ended_to_task_p50_ms", "call.ended to Task in Salesforce p50", percentile(end_to_task_ms, 0.5),
               "ms", 1000, "max", "one call at a time"),
        Figure("ended_to_task_p95_ms", "call.ended to Task in Salesforce p95", percentile(end_to_task_ms, 0.95),
               "ms", 1000, "max", note),
    ]


def ring_and_pop_together(http: requests.Session, endpoints: Endpoints, org: LocalOrg, ledger: Ledger,
                          numbers: list[str]) -> list[Figure]:
    """A dialer posts the ringing event at the moment its frame pops the number (each a new caller): the worker's
    pre-fetch and the web's pop race for the same lookup. Counted per call from the ring until the pre-fetch is done
    (the ring's job settled) and the pop answered."""
    dialer = requests.Session()
    costs, unwarmed = [], 0
    for number in numbers:
        call_id = f"race-{uuid.uuid4().hex[:12]}"
        before = org.api_requests()
        start = threading.Barrier(2)

        def ring() -> None:
            start.wait()
            send_event(dialer, endpoints, call_event("ringing", call_id, number), retries=3).raise_for_status()

        with ThreadPoolExecutor(1) as pool:
            rung = pool.submit(ring)
            start.wait()
            pop(http, endpoints, number, call_id).raise_for_status()
            rung.result()
        if _wait_for(lambda: ledger.warmed(call_id), 10) is None:
            unwarmed += 1
        _wait_for(lambda: ledger.settled(call_id), 10)
        costs.append(org.api_requests() - before)
    note = (f"n={len(numbers)}, per call {costs}" + (f", {unwarmed} not pre-fetched within 10 s" if unwarmed else "")
            + "; before one lookup at a time (issue 15): 4 in every race measured")
    return [Figure("ring_and_pop_together_api_requests", "API requests per ring whose pop arrives with it (max)",
                   max(costs), "req", RING_AND_POP_REQUESTS, "max", note)]


def back_to_back_calls(endpoints: Endpoints, ledger: Ledger, numbers: list[str]) -> list[Figure]:
    """Calls whose three events arrive in one burst (a dialer flushing a backlog): call.ended → Task, when the
    jobs of the earlier events still hold the call."""
    dialer = requests.Session()
    end_to_task_ms = []
    for number in numbers:
        call_id = f"burst-{uuid.uuid4().hex[:12]}"
        for kind in ("ringing", "answered"):
            send_event(dialer, endpoints, call_event(kind, call_id, number), retries=3).raise_for_status()
        send_event(dialer, endpoints, call_event("ended", call_id, number), retries=3).raise_for_status()
        ended = time.perf_counter()
        took = _wait_for(lambda: ledger.status(call_id) == "logged", 30, poll_s=0.005)
        end_to_task_ms.append(((time.perf_counter() - ended) if took is None else took) * 1000)
        _wait_for(lambda: ledger.settled(call_id), 10)
    return [Figure("burst_ended_to_task_p95_ms", "call.ended to Task p95, events in one burst",
                   percentile(end_to_task_ms, 0.95), "ms", 1000, "max",
                   f"n={len(numbers)}, p50 {percentile(end_to_task_ms, 0.5):.0f} ms")]


def calls_ending_at_a_rate(endpoints: Endpoints, ledger: Ledger, numbers: list[str], calls: int,
                           per_second: float) -> list[Figure]:
    """A busy contact centre: `calls` answered calls end at `per_second`; call.ended → Task for each."""
    dialer = requests.Session()
    call_ids = [f"rate-{uuid.uuid4().hex[:12]}" for _ in range(calls)]
    for index, call_id in enumerate(call_ids):
        for kind in ("ringing", "answered"):
            send_event(dialer, endpoints, call_event(kind, call_id, numbers[index % len(numbers)]),
                       retries=3).raise_for_status()
    _wait_for(lambda: all(ledger.settled(call_id) for call_id in call_ids), 120, poll_s=0.2)

    ended_at: dict[str, float] = {}

    def end(index: int) -> None:
        call_id = call_ids[index]
        time.sleep(max(0.0, started + index / per_second - time.perf_counter()))
        send_event(requests.Session(), endpoints, call_event("ended", call_id, numbers[index % len(numbers)]),
                   retries=3).raise_for_status()
        ended_at[call_id] = time.perf_counter()

    logged_at: dict[str, float] = {}
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(end, index) for index in range(calls)]
        deadline = started + calls / per_second + 60
        while len(logged_at) < calls and time.perf_counter() < deadline:
            now = time.perf_counter()
            for call_id, (status, _task) in ledger.statuses().items():
                if status == "logged" and call_id in ended_at and call_id not in logged_at:
                    logged_at[call_id] = now
            time.sleep(0.02)
        for future in futures:
            future.result()
    delays = [(logged_at.get(call_id, time.perf_counter()) - ended_at[call_id]) * 1000 for call_id in call_ids]
    return [Figure("rate_ended_to_task_p95_ms", f"call.ended to Task p95, {per_second:g} calls ending per second",
                   percentile(delays, 0.95), "ms", 1000, "max",
                   f"n={calls}, p50 {percentile(delays, 0.5):.0f} ms, {calls - len(logged_at)} not logged in time; "
                   f"one worker process, 4 threads")]


# -- load ---------------------------------------------------------------------------------------------------------

class _Connection:
    """One keep-alive HTTP connection per sender thread: the lightest client the standard library offers."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                response = self.conn.getresponse()
                data = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                return response.status, data
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                if attempt:
                    raise
        raise AssertionError("unreachable")


@dataclass
class LoadRun:
    """One load run: how long it took, each request's latency (ms) and the answers' statuses; the driver's own CPU
    per request; and, when a `_CpuMeter` watched it, the CPU per request of each watched group."""

    seconds: float
    latencies: list[float]
    statuses: dict[int, int]
    client_cpu_ms: float
    cpu_ms: dict[str, float] = field(default_factory=dict)

    def rate(self, status: int) -> float:
        """Answers with `status` per second."""
        return self.statuses.get(status, 0) / self.seconds

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 0.99)


def _load(base_url: str, requests_list: list, senders: int, per_second: float | None = None,
          meter: "_CpuMeter | None" = None) -> LoadRun:
    """Send every (method, path, body, headers) from `senders` threads (with `meter`, its CPU shares included).

    Without `per_second`, closed loop: each sender sends its next request as soon as the last one is answered (the
    most the server answers), and a latency counts from sending. With it, open loop, as a dialer's events arrive:
    request i is due `i / per_second` after the start whatever the answers' pace, and its latency counts from when it
    was due, so waiting for a free sender because the server fell behind counts too."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    next_index = iter(range(len(requests_list)))
    started = time.perf_counter() + (0.05 if per_second else 0.0)

    def run() -> None:
        connection = _Connection(base_url)
        mine, counts = [], {}
        while True:
            with lock:
                index = next(next_index, None)
            if index is None:
                break
            method, path, body, headers = requests_list[index]
            if per_second:
                since = started + index / per_second
                if since > time.perf_counter():
                    time.sleep(since - time.perf_counter())
            if callable(headers):
                headers = headers()
            if not per_second:
                since = time.perf_counter()
            status, _ = connection.request(method, path, body, headers)
            mine.append((time.perf_counter() - since) * 1000)
            counts[status] = counts.get(status, 0) + 1
        with lock:
            latencies.extend(mine)
            for status, count in counts.items():
                statuses[status] = statuses.get(status, 0) + count

    client_cpu = time.process_time()
    with ThreadPoolExecutor(senders) as pool:
        for future in [pool.submit(run) for _ in range(senders)]:
            future.result()
    client_cpu_ms = (time.process_time() - client_cpu) * 1000 / max(1, len(requests_list))
    return LoadRun(time.perf_counter() - started, latencies, statuses, client_cpu_ms,
                   meter.per_request_ms(len(requests_list)) if meter is not None else {})


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far (from /proc; 0 for any that is gone)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / ticks


def pids_named(name: str) -> list[int]:
    """Every process whose command name is `name` (e.g. the PostgreSQL server's backends)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as handle:
                    if handle.read().strip() == name:
                        found.append(int(entry))
            except OSError:
                continue
    return found


def _signed_events(endpoints: Endpoints, events: int) -> list:
    """Distinct signed events (internal calls of an agent with no Salesforce connection, so the jobs they cause
    stay off the API), three per call."""
    work = []
    for index in range(0, events, 3):
        call_id = f"load-{uuid.uuid4().hex[:12]}"
        for kind in ("ringing", "answered", "ended")[:min(3, events - index)]:
            work.append(_signed_one(endpoints, call_event(kind, call_id, "03-1234-5678", agent="load@example.com",
                                                          internal=True)))
    return work


def _signed_one(endpoints: Endpoints, event: dict) -> tuple:
    """One native event as the load driver sends it, signed when it is sent (the signature's time stays fresh)."""
    raw = json.dumps(event).encode()
    return ("POST", "/webhooks/calls", raw,
            lambda: {"Content-Type": "application/json",
                     **signature_headers(endpoints.webhook_secret, raw, int(time.time()))})


class _CpuMeter:
    """CPU time of groups of processes over a run. A group given by name (e.g. PostgreSQL's server processes) is
    looked up again at the end, so backends that started during the run count too."""

    def __init__(self, groups: dict) -> None:
        self.groups = groups
        self.before = {name: self._times(name) for name in groups}

    def _pids(self, name: str) -> list[int]:
        members = self.groups[name]
        return pids_named(members) if isinstance(members, str) else list(members)

    def _times(self, name: str) -> dict[int, float | None]:
        return {pid: cpu_seconds([pid]) if os.path.exists(f"/proc/{pid}/stat") else None for pid in self._pids(name)}

    def per_request_ms(self, requests_done: int) -> dict[str, float]:
        """CPU ms per request of each group; NaN for a group given by pids when one of them ended meanwhile (its CPU
        time can no longer be read, so the figure would be short)."""
        shares = {}
        for name in self.groups:
            after = self._times(name)
            if not isinstance(self.groups[name], str) and any(value is None for value in after.values()):
                shares[name] = math.nan
                continue
            used = sum(value - self.before[name].get(pid, 0.0) for pid, value in after.items() if value is not None)
            shares[name] = used * 1000 / max(1, requests_done)
        return shares


def settle(ledger: Ledger, timeout_s: float = 300) -> float:
    """Wait until the job worker has folded in every stored event; the seconds it took."""
    started = time.perf_counter()
    while ledger.unprocessed_events() and time.perf_counter() - started < timeout_s:
        time.sleep(0.1)
    return time.perf_counter() - started


def _median_run(runs: list[LoadRun], key) -> LoadRun:
    """The run whose `key` is the median (the middle one of an odd count, the lower middle of an even one)."""
    return sorted(runs, key=key)[(len(runs) - 1) // 2]


def _runs_note(values: list[float], unit: str) -> str:
    return "" if len(values) < 2 else f"median of {len(values)} runs ({', '.join(f'{v:,.0f}' for v in values)} {unit}); "


def webhook_ingestion(stack: Stack, ledger: Ledger, events: int, senders: int, warmup: int = 300,
                      per_second: float = 1000, repeats: int = 1) -> list[Figure]:
    """Signed events, every one of which must be acknowledged 202 (stored durably first).

    The rate is the most the web tier acknowledges with `senders` dialer connections posting as fast as they can.
    The p99 is measured at the goal's rate instead (`per_second`, open loop, from when each event was due): latency
    at full saturation only says how many senders were queueing. Both twice: with the job worker folding the events
    in on the same 2 cores meanwhile (everything on one machine), and with it paused, as when the workers run on
    other machines (the deployment recipe); then the time the worker took to catch up is in the note. Each run
    starts with the worker's backlog empty, after `warmup` untimed events have opened every web process's
    connections. With `repeats`, each measurement is made that many times and the median run is reported (the
    machine's other load moves single runs by a third)."""
    endpoints = stack.endpoints
    _load(endpoints.panel, _signed_events(endpoints, warmup), senders)
    settle(ledger)
    figures = []
    for alone in (False, True):
        saturated, paced, lags = [], [], []
        if alone:
            stack.pause_workers(True)
        try:
            for _ in range(repeats):
                meter = _CpuMeter({"web": stack.web_worker_pids(),
                                   "job worker": [w.pid for w in stack.workers if w is not None],
                                   "PostgreSQL": "postgres", "Redis": "redis-server"})
                saturated.append(_load(endpoints.panel, _signed_events(endpoints, events), senders, meter=meter))
                if not alone:
                    lags.append(settle(ledger))
                paced.append(_load(endpoints.panel, _signed_events(endpoints, events), senders * 2,
                                   per_second=per_second))
                if not alone:
                    lags.append(settle(ledger))
        finally:
            if alone:
                stack.pause_workers(False)
        caught_up = settle(ledger)
        run = _median_run(saturated, key=lambda each: each.rate(202))
        steady = _median_run(paced, key=lambda each: each.p99)
        others = {name: value for name, value in run.cpu_ms.items()
                  if name != "web" and not (alone and name == "job worker")}
        note = (_runs_note([each.rate(202) for each in saturated], "ev/s")
                + f"{events} events, {senders} senders as fast as they can, answers {dict(sorted(run.statuses.items()))}, "
                f"p50 {percentile(run.latencies, 0.5):.1f} ms, p99 {run.p99:.1f} ms; CPU per event "
                f"meanwhile: " + ", ".join(f"{name} {value:.2f} ms" for name, value in others.items())
                + f", the driver {run.client_cpu_ms:.2f} ms")
        if alone:
            note += f"; the paused worker then caught up with every run's events in {caught_up:.1f} s"
        else:
            note += f"; the job worker had folded in every event {max(lags):.1f} s after a run's last one"
        suffix = ", job worker elsewhere" if alone else ""
        key = "_web_tier" if alone else ""
        figures += [
            Figure(f"webhook_events_per_s{key}", f"webhook ingestion, durable 202{suffix}", run.rate(202),
                   "ev/s", 1000, "min", note),
            Figure(f"webhook_p99_ms{key}", f"webhook ack p99 at {per_second:,.0f} ev/s{suffix}",
                   steady.p99, "ms", 25, "max",
                   _runs_note([each.p99 for each in paced], "ms")
                   + f"{events} events due at {per_second:,.0f}/s (sent at {events / steady.seconds:,.0f}/s, "
                   f"answers {dict(sorted(steady.statuses.items()))}), p50 {percentile(steady.latencies, 0.5):.1f} ms, "
                   f"latency counted from when each was due"),
        ]
        if not alone:
            figures.append(Figure("webhook_cpu_ms", "web worker CPU per webhook event", run.cpu_ms["web"], "ms",
                                  2000 / 1000, "max", "the whole budget of 2 cores at 1,000 events/s (less affected "
                                                      "by other load than the rate)"))
    return figures


def warm_panel_throughput(http: requests.Session, endpoints: Endpoints, numbers: list[str], total: int,
                          senders: int, web_pids: list[int] = (), warmup: int = 500, repeats: int = 1
                          ) -> list[Figure]:
    """Warm pops (cached answers) from `senders` signed-in connections at once, after `warmup` untimed ones; with
    `repeats`, the median of that many runs."""
    cookie = session_cookie(http)
    for number in numbers:  # make sure every one is cached
        pop(http, endpoints, number).raise_for_status()
    from urllib.parse import urlencode

    def pops(count: int) -> list:
        return [("GET", "/panel?" + urlencode({"phone": numbers[i % len(numbers)], "direction": "inbound"}), None,
                 {"Cookie": cookie, "HX-Request": "true"}) for i in range(count)]

    _load(endpoints.panel, pops(warmup), senders)
    runs = [_load(endpoints.panel, pops(total), senders,
                  meter=_CpuMeter({"web": list(web_pids), "PostgreSQL": "postgres", "Redis": "redis-server"}))
            for _ in range(repeats)]
    run = _median_run(runs, key=lambda each: each.rate(200))
    shares = dict(run.cpu_ms)
    cpu_ms = shares.pop("web")
    return [Figure("warm_panel_rps", "warm panel requests/s", run.rate(200), "req/s", 500, "min",
                   _runs_note([each.rate(200) for each in runs], "req/s")
                   + f"{total} pops, {senders} connections, p50 {percentile(run.latencies, 0.5):.1f} ms, "
                   f"answers {dict(sorted(run.statuses.items()))}; CPU per pop meanwhile: "
                   + ", ".join(f"{name} {value:.2f} ms" for name, value in shares.items())
                   + f", the driver {run.client_cpu_ms:.2f} ms"),
            Figure("warm_pop_cpu_ms", "web worker CPU per warm pop", cpu_ms, "ms", 2000 / 500, "max",
                   "the whole budget of 2 cores at 500 pops/s")]


def peak_rss(stack: Stack) -> list[Figure]:
    """Peak resident memory (VmHWM) of each gunicorn worker: the panel and the local org mounted beside it."""
    peaks = []
    for pid in stack.web_worker_pids():
        try:
            with open(f"/proc/{pid}/status") as handle:
                for line in handle:
                    if line.startswith("VmHWM:"):
                        peaks.append(int(line.split()[1]) / 1024)
        except OSError:
            continue
    if not peaks:
        return []
    return [Figure("peak_rss_mb", "peak RSS per web worker (max)", max(peaks), "MB", 120, "max",
                   f"workers: {', '.join(f'{p:.0f}' for p in peaks)} MB (includes the mounted local org)")]

