"""A huey worker process for the panel: `python -m bench.worker --localorg-url URL [--workers N]`.

The bench and the soak start it as a separate process so it can be killed and restarted like a production worker.
It builds the app from the same environment as the web nodes (DATABASE_URL, REDIS_URL, SECRET_KEY, ...) and runs
huey's consumer on `panel.jobs.huey` with a short poll, since call events wait on it.

`--lease-ttl S` shortens how long a call's lease outlives a killed worker (120 s in production). Only the chaos
tests use it: they kill a worker on purpose and cannot wait two minutes for its leases to lapse.
"""

from __future__ import annotations

import argparse
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--localorg-url", help="where the panel reaches the local org (local-org mode only)")
    parser.add_argument("--jobs-sqlite", help="the queue's SQLite file when REDIS_URL is not set")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--lease-ttl", type=float, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s worker %(levelname)s %(name)s: %(message)s")

    from panel import create_app, jobs

    overrides = {}
    if args.localorg_url:
        overrides["LOCALORG_URL"] = args.localorg_url
    if args.jobs_sqlite:
        overrides["PANEL_JOBS_SQLITE"] = args.jobs_sqlite
    app = create_app(overrides)
    if args.lease_ttl is not None:
        from panel import call_log

        call_log.call_lease.__wrapped__.__kwdefaults__["ttl_s"] = args.lease_ttl
    jobs.huey.flask_app = app
    consumer = jobs.huey.create_consumer(workers=args.workers, worker_type="thread", periodic=True,
                                         initial_delay=0.05, backoff=1.2, max_delay=0.25, scheduler_interval=1,
                                         check_worker_health=True)
    print("worker ready", flush=True)
    consumer.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
