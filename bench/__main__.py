"""`python -m bench [--quick] [--database auto|postgres|sqlite] [--rtt-ms 100] [--no-soak]`: see bench/__init__.py.

Prints one table and writes the same figures as JSON to bench/results/<UTC time>.json (and latest.json). The exit
status is 0 when the run completed, whatever the figures say: a missed goal is a finding, not a crash. A soak that
loses or doubles a Task is the exception (exit 1): that is a correctness failure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone

from bench import dialers, figures
from bench.client import agent_session, sign_in
from bench.figures import Figure
from bench.stack import Ledger, Stack, Unavailable

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")

SIZES = {
    # cold numbers, warm repeats, answered calls, rings raced by their pop, burst calls, calls ending at 10/s,
    # webhook events, deliveries per adapter (and untimed ones before), warm pops, soak calls, untimed requests
    # before each load figure, runs of each load figure (the median is reported)
    "quick": dict(cold=4, warm_repeats=2, calls=3, races=3, bursts=2, rate_calls=10, events=150,
                  adapter_events=40, adapter_warmup=8, warm_total=200, soak_calls=20, warmup=30, load_runs=1),
    "full": dict(cold=40, warm_repeats=5, calls=30, races=10, bursts=10, rate_calls=200, events=6000,
                 adapter_events=2000, adapter_warmup=100, warm_total=4000, soak_calls=2000, warmup=300,
                 load_runs=3),
}


def _table(rows: list[Figure]) -> str:
    lines = [f"{'figure':<58} {'measured':>12} {'goal':>12} {'ratio':>7}  met  note",
             "-" * 120]
    for row in rows:
        sign = "<=" if row.direction == "max" else ">="
        ratio = "-" if row.ratio is None else f"{row.ratio:.2f}"
        lines.append(f"{row.label:<58} {row.value:>8.1f} {row.unit:<3} {sign}{row.goal:>7g} {row.unit:<3}"
                     f"{ratio:>6}  {'yes' if row.met else 'NO '}  {row.note}")
    return "\n".join(lines)


def markdown(report: dict) -> str:
    """The figures of a results file as the Markdown table docs/operations.md quotes."""
    lines = ["| figure | measured | goal | ratio | met | how / note |", "|---|---|---|---|---|---|"]
    for row in report["figures"]:
        sign = "≤" if row["direction"] == "max" else "≥"
        ratio = "–" if row["ratio"] is None else f"{row['ratio']:.2f}"
        lines.append(f"| {row['label']} | {row['value']:.1f} {row['unit']} | {sign} {row['goal']:g} {row['unit']} | "
                     f"{ratio} | {'yes' if row['met'] else '**no**'} | {row['note'].replace('|', '/')} |")
    machine = report["machine"]
    lines.append("")
    lines.append(f"{report['mode']} run {report['when']}, {report['seconds']:.0f} s, {machine['cpus']} CPUs, data in "
                 f"{report['database']}, RTT {report['rtt_ms']} ms; load average before/after "
                 f"{machine['load_average_before'][0]:.1f}/{machine['load_average_after'][0]:.1f} "
                 f"(other work on the machine included).")
    return "\n".join(lines)


def _postgres_reachable() -> bool:
    try:
        from bench.stack import drop_postgres, private_postgres

        drop_postgres(private_postgres())
        return True
    except Unavailable:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Measure the panel against its goals.")
    parser.add_argument("--quick", action="store_true", help="a tiny run that only proves the machinery works")
    parser.add_argument("--database", choices=("auto", "postgres", "sqlite"), default="auto",
                        help="where the panel keeps its data: PostgreSQL (a database created for the run, as in "
                             "production), SQLite, or auto (PostgreSQL when reachable; the default)")
    parser.add_argument("--rtt-ms", type=int, default=int(os.environ.get("PANEL_LOCALORG_LATENCY_MS") or 100),
                        help="latency the local org adds to every API request (default PANEL_LOCALORG_LATENCY_MS "
                             "or 100)")
    parser.add_argument("--no-soak", action="store_true", help="skip the chaos soak")
    parser.add_argument("--soak-calls", type=int, help="calls in the soak")
    parser.add_argument("--markdown", metavar="RESULTS_JSON", help="print a results file as a Markdown table and stop")
    args = parser.parse_args(argv)
    if args.markdown:
        with open(args.markdown, encoding="utf-8") as handle:
            print(markdown(json.load(handle)))
        return 0
    size = SIZES["quick" if args.quick else "full"]
    postgres = args.database == "postgres" or (args.database == "auto" and _postgres_reachable())
    started, load_before = time.time(), os.getloadavg()
    rows: list[Figure] = []
    extra: dict = {}
    try:
        with Stack(latency_ms=args.rtt_ms, web_workers=2, job_processes=1, job_threads=4,
                   postgres=postgres) as stack:
            print(f"panel on {stack.endpoints.panel} (gunicorn, 2 workers), local org RTT {args.rtt_ms} ms, "
                  f"data in {'PostgreSQL' if postgres else 'SQLite'}, queue and cache in Redis", flush=True)
            org = stack.org
            http = agent_session()
            sign_in(http, stack.endpoints)
            cold_numbers = figures.make_callers(org, size["cold"], block=1)
            call_numbers = figures.make_callers(org, size["calls"], block=2)
            burst_numbers = figures.make_callers(org, size["bursts"], block=3)
            race_numbers = figures.make_callers(org, size["races"], block=4)
            vendor_numbers = figures.make_callers(org, len(dialers.adapters()[0]), block=5)
            rows += figures.pops(http, stack.endpoints, org, cold_numbers, args.rtt_ms, size["warm_repeats"])
            print("pops measured", flush=True)
            ledger = Ledger(stack.database_url)
            try:
                rows += figures.answered_calls(http, stack.endpoints, org, ledger, call_numbers)
                rows += figures.ring_and_pop_together(http, stack.endpoints, org, ledger, race_numbers)
                rows += dialers.vendor_ring_then_pop(http, stack.endpoints, org, ledger, vendor_numbers)
                rows += figures.back_to_back_calls(stack.endpoints, ledger, burst_numbers)
                rows += figures.calls_ending_at_a_rate(stack.endpoints, ledger, call_numbers, size["rate_calls"],
                                                       per_second=10)
                print("calls measured", flush=True)
                rows += figures.webhook_ingestion(stack, ledger, size["events"], senders=16,
                                                  warmup=size["warmup"], repeats=size["load_runs"])
                print("webhook ingestion measured", flush=True)
                rows += dialers.adapter_ingestion(stack, ledger, size["adapter_events"], senders=16,
                                                  warmup=size["adapter_warmup"], repeats=size["load_runs"])
                print("adapter ingestion measured", flush=True)
            finally:
                ledger.close()
            rows += figures.warm_panel_throughput(http, stack.endpoints, cold_numbers, size["warm_total"],
                                                  senders=16, web_pids=stack.web_worker_pids(),
                                                  warmup=size["warmup"], repeats=size["load_runs"])
            rows += figures.peak_rss(stack)
    except Unavailable as missing:
        print(f"bench cannot run: {missing}", file=sys.stderr)
        return 2

    soak = None
    if not args.no_soak:
        from bench.soak import run_soak, soak_stack

        calls = args.soak_calls or size["soak_calls"]
        print(f"soak: {calls} calls, 8 senders, each event up to 3 times, 20 % Salesforce 503/504s, tokens expired "
              f"and a worker killed halfway", flush=True)
        with soak_stack(postgres=postgres) as stack:
            soak = run_soak(stack, calls, settle_timeout_s=600 if calls > 100 else 120)
        extra["soak"] = {**soak.__dict__, "lost": soak.lost[:20], "doubled": soak.doubled[:20],
                         "unsettled": soak.unsettled[:20], "exactly_once": soak.exactly_once}
        rows.append(Figure("soak_exactly_once", "soak: calls without exactly one Task", len(soak.lost)
                           + len(soak.doubled), "calls", 0, "max", soak.summary()))

    print()
    print(_table(rows))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    report = {"when": stamp, "mode": "quick" if args.quick else "full", "rtt_ms": args.rtt_ms,
              "database": "postgresql" if postgres else "sqlite", "machine": {
                  "cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                  "load_average_before": load_before, "load_average_after": os.getloadavg()},
              "seconds": round(time.time() - started, 1), "figures": [row.as_json() for row in rows], **extra}
    os.makedirs(RESULTS, exist_ok=True)
    for name in (f"{stamp}-{report['mode']}.json", f"latest-{report['mode']}.json"):
        with open(os.path.join(RESULTS, name), "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2, ensure_ascii=False)
    print(f"\nwritten to bench/results/{stamp}-{report['mode']}.json in {report['seconds']:.0f} s")
    return 1 if soak is not None and not soak.exactly_once else 0


if __name__ == "__main__":
    sys.exit(main())
