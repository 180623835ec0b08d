"""The dialers' adapters in the bench: how fast `POST /webhooks/<dialer>` takes deliveries in, against the native
webhook, and whether a vendor's ringing event still makes the pop at answer free.

Deliveries are each adapter's own `demo_delivery` (a genuine, signed delivery in its vendor's format, as the demo
dialer sends it), signed with the adapter's local-org secret (`panel.config.LOCAL_DIALER_SECRETS`: the bench runs the
panel in local-org mode). The figures cover whichever adapters exist when the bench runs (`panel.dialers.registry`):
a module that is missing, or whose demo cannot build a delivery, is named in a note and skipped.
"""

from __future__ import annotations

import importlib
import time
import uuid
from datetime import datetime, timedelta, timezone
from types import ModuleType

import requests

from bench.client import Endpoints, LocalOrg, call_event, pop
from bench.figures import POP_AT_ANSWER_REQUESTS, Figure, _CpuMeter, _load, _median_run, _runs_note, _signed_one, percentile, settle
from bench.stack import Ledger, Stack
from panel.config import LOCAL_DIALER_SECRETS

LOAD_AGENT = "load@example.com"  # an agent with no Salesforce connection: the calls' jobs stay off the API
NUMBER = "03-1234-5678"


def adapters() -> tuple[dict[str, ModuleType], dict[str, str]]:
    """The adapter modules that exist now, by name, and why each other one is left out."""
    from panel.dialers import registry

    found, skipped = {}, {}
    for name in registry.DIALERS:
        try:
            module = importlib.import_module(f"panel.dialers.{name}")
        except ModuleNotFoundError:
            skipped[name] = "not written yet"
            continue
        except Exception as error:  # an adapter being written may not import yet: the figure waits for it
            skipped[name] = f"does not import ({type(error).__name__})"
            continue
        if not callable(getattr(module, "demo_delivery", None)):
            skipped[name] = "no demo_delivery"
            continue
        found[name] = module
    return found, skipped


def _demo_call(agent: str, number: str, *, answered: bool):
    from panel.dialers.base import DemoCall

    return DemoCall(call_id=uuid.uuid4().hex[:16], direction="inbound", number=number, agent_email=agent,
                    started_at=datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=1),
                    answered=answered, duration_seconds=0 if not answered else 60)


def _delivery(module: ModuleType, name: str, endpoints: Endpoints, kind: str, call) -> tuple | None:
    """One (method, path, body, headers) for the load driver; None when the vendor sends no such event."""
    url = f"{endpoints.panel}/webhooks/{name}"
    made = module.demo_delivery(kind, call, secret=LOCAL_DIALER_SECRETS[name], url=url,
                                now=datetime.now(timezone.utc))
    if made is None:
        return None
    body, headers, content_type = made
    return ("POST", f"/webhooks/{name}", body, {**headers, "Content-Type": content_type})


def _missed_calls(module: ModuleType | None, name: str, endpoints: Endpoints, deliveries: int) -> list:
    """`deliveries` deliveries of missed inbound calls (rings, then missed ends) of the load agent: the same calls
    for every adapter and for the native webhook (`module` None). A missed call is not logged by default, so the jobs
    they cause cost no API request either."""
    work: list = []
    while len(work) < deliveries:
        if module is None:
            call_id = f"load-{uuid.uuid4().hex[:12]}"
            for kind in ("ringing", "ended"):
                raw_event = call_event(kind, call_id, NUMBER, agent=LOAD_AGENT, answered=False)
                work.append(_signed_one(endpoints, raw_event))
        else:
            call = _demo_call(LOAD_AGENT, NUMBER, answered=False)
            made = [_delivery(module, name, endpoints, kind, call) for kind in ("ringing", "ended")]
            work += [one for one in made if one is not None]
    return work[:deliveries]


def adapter_ingestion(stack: Stack, ledger: Ledger, deliveries: int, senders: int, warmup: int,
                      repeats: int = 1) -> list[Figure]:
    """Each adapter's deliveries/s through `POST /webhooks/<dialer>` and its web workers' CPU per delivery, against
    the native webhook's for the same calls, with the job worker paused (the web tier alone, as with workers on other
    machines: the adapters differ only in the web tier). Every delivery must be accepted (200; the native 202)."""
    endpoints = stack.endpoints
    modules, skipped = adapters()
    measured: dict[str, tuple] = {}
    stack.pause_workers(True)
    try:
        for name, module in [("native", None), *modules.items()]:
            path_name = "calls" if module is None else name
            try:
                # Untimed first: each web worker imports the adapter and opens its connections.
                _load(endpoints.panel, _missed_calls(module, path_name, endpoints, warmup), senders)
                runs = [_load(endpoints.panel, _missed_calls(module, path_name, endpoints, deliveries), senders,
                              meter=_CpuMeter({"web": stack.web_worker_pids()})) for _ in range(repeats)]
            except Exception as error:  # an adapter's demo that cannot build a delivery: named, not measured
                skipped[name] = f"its demo failed ({type(error).__name__}: {str(error)[:80]})"
                continue
            accepted = 202 if module is None else 200
            run = _median_run(runs, key=lambda each: each.rate(accepted))
            measured[name] = (run, accepted, [each.rate(accepted) for each in runs])
    finally:
        stack.pause_workers(False)
    caught_up = settle(ledger)
    if "native" not in measured:
        return []
    native, _, _ = measured["native"]
    native_rate, native_cpu = native.rate(202), native.cpu_ms["web"]
    figures = [
        Figure("native_missed_call_events_per_s", "native webhook, missed calls, job worker elsewhere",
               native_rate, "ev/s", 1000, "min",
               f"the adapters' baseline: {deliveries} events (ring, missed end) of {deliveries // 2} calls, "
               f"{senders} senders; answers {dict(sorted(native.statuses.items()))}, "
               f"p50 {percentile(native.latencies, 0.5):.1f} ms; the paused worker then caught up in "
               f"{caught_up:.1f} s"),
        Figure("native_missed_call_cpu_ms", "native webhook web CPU per event, missed calls", native_cpu, "ms",
               2, "max", "the whole budget of 2 cores at 1,000 events/s"),
    ]
    for name, (run, accepted, rates) in measured.items():
        if name == "native":
            continue
        cpu = run.cpu_ms["web"]
        refused = {status: count for status, count in run.statuses.items() if status != accepted}
        figures += [
            Figure(f"adapter_{name}_events_per_s", f"{name} adapter ingestion, job worker elsewhere",
                   run.rate(accepted), "ev/s", 1000, "min",
                   _runs_note(rates, "ev/s") + f"{len(run.latencies)} deliveries, {senders} senders; "
                   f"{run.rate(accepted) / native_rate:.2f} x the native webhook's rate; p50 "
                   f"{percentile(run.latencies, 0.5):.1f} ms" + (f"; NOT accepted: {refused}" if refused else "")),
            Figure(f"adapter_{name}_cpu_ms", f"{name} adapter web CPU per event", cpu, "ms", 2, "max",
                   f"{cpu / native_cpu:.2f} x the native webhook's {native_cpu:.2f} ms"
                   if native_cpu == native_cpu and native_cpu else "native CPU not measured"),
        ]
    if skipped:
        figures[0].note += "; adapters not measured: " + ", ".join(f"{n} ({why})" for n, why in sorted(skipped.items()))
    return figures


def vendor_ring_then_pop(http: requests.Session, endpoints: Endpoints, org: LocalOrg, ledger: Ledger,
                         numbers: list[str]) -> list[Figure]:
    """For each adapter whose vendor sends a ringing event: the ring (its webhook; the worker pre-fetches the pop),
    then the agent's pop at answer, counted on its own. The product's promise: that pop costs no API request. An
    adapter whose ringing event pre-fetches nothing (it names no agent or number yet) is named in the note with
    what its pop cost, not held against the goal."""
    modules, skipped = adapters()
    dialer = requests.Session()
    at_answer: dict[str, int] = {}
    unwarmed: dict[str, int] = {}
    for (name, module), number in zip(modules.items(), numbers):
        call = _demo_call("agent@example.com", number, answered=True)
        try:
            ring = _delivery(module, name, endpoints, "ringing", call)
        except Exception as error:
            skipped[name] = f"its demo failed ({type(error).__name__})"
            continue
        if ring is None:
            skipped[name] = "sends no ringing event"
            continue
        before = org.api_requests()
        _, path, body, headers = ring
        answer = dialer.post(f"{endpoints.panel}{path}", data=body, headers=headers, timeout=30)
        if answer.status_code != 200:
            skipped[name] = f"its ringing delivery was answered {answer.status_code}"
            continue
        _rung(org, ledger)
        prefetched = org.api_requests() - before
        ready = org.api_requests()
        pop(http, endpoints, number).raise_for_status()
        (at_answer if prefetched else unwarmed)[name] = org.api_requests() - ready
    if not at_answer:
        return []
    note = ", ".join(f"{name} {cost}" for name, cost in at_answer.items())
    if unwarmed:
        note += "; rings that pre-fetch nothing, pop cost: " + ", ".join(f"{n} {c}" for n, c in unwarmed.items())
    if skipped:
        note += "; not measured: " + ", ".join(f"{n} ({why})" for n, why in sorted(skipped.items()))
    return [Figure("vendor_pop_at_answer_api_requests",
                   "API requests for the pop at answer after a vendor's ring (max)", max(at_answer.values()), "req",
                   POP_AT_ANSWER_REQUESTS, "max", f"per adapter: {note}")]


def _rung(org: LocalOrg, ledger: Ledger, timeout_s: float = 10.0, quiet_s: float = 0.3) -> None:
    """Wait until the worker has taken the ring in (no stored event left unprocessed) and the API request count has
    stood still for `quiet_s` (the pre-fetch, if any, is done), or `timeout_s` passed."""
    deadline = time.monotonic() + timeout_s
    last, since = org.api_requests(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = org.api_requests()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s and not ledger.unprocessed_events():
            return
