"""`python -m panel.worker`: the production job worker (a huey consumer) that logs calls as Salesforce Tasks.

The web process only stores call events and enqueues "look at call X"; this process does the Salesforce work
(`panel.calls.jobs`). Run it beside the web server with the same environment (the same DATABASE_URL, the same
REDIS_URL or the same instance folder, the same secrets): it reads the same configuration through `create_app`.

- Queue: Redis when `REDIS_URL` is set (any number of workers on any machines), else the SQLite file
  `instance/jobs.sqlite3` (or `PANEL_JOBS_SQLITE`), which web and worker must share on one machine.
- `PANEL_WORKER_THREADS` (or `--threads`) worker threads, default 2: the work is waiting on Salesforce, not CPU.
- It also runs the once-a-minute sweep that re-enqueues calls a lost job left behind and closes calls whose end
  never came.
- SIGTERM stops it gracefully (running jobs finish, within a minute); SIGINT (Ctrl-C) stops it at once. Either way
  nothing queued is lost, and a job cut short is redone: its call's lease runs out and the sweep enqueues it again.

It refuses to start on a database `flask --app app db upgrade` has not brought to this version (panel.migrations).
`make run` does not need it: it runs the same consumer in-process (`panel.calls.jobs.start_background_worker`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from huey.consumer import Consumer

from panel.config import ConfigError
from panel.migrations import SchemaNotCurrent

DEFAULT_THREADS = 2
# On the SQLite queue an idle worker polls; an ended call should not wait seconds for it (Redis pushes instead).
POLL_MAX_DELAY_S = 0.25
SHUTDOWN_TIMEOUT_S = 60  # a job is a few Salesforce requests with 10 s read timeouts


def _threads(value: str | None) -> int:
    try:
        threads = int(value) if value not in (None, "") else DEFAULT_THREADS
    except ValueError:
        raise ConfigError(f"PANEL_WORKER_THREADS must be a whole number, not {value!r}") from None
    if not 1 <= threads <= 64:
        raise ConfigError("PANEL_WORKER_THREADS must be between 1 and 64")
    return threads


def build_consumer(threads: int, overrides: dict | None = None) -> Consumer:
    """The consumer for the configured queue; refuses the in-memory queue, which no web process could reach.

    `overrides` are app settings on top of the environment (the benchmark points the worker at its own files)."""
    from panel import create_app, migrations
    from panel.calls import jobs

    app = create_app(overrides)
    migrations.require_current(app)  # jobs on a schema this code does not match would fail one by one
    if app.config.get("PANEL_JOBS_MEMORY"):
        raise ConfigError("PANEL_JOBS_MEMORY keeps the queue inside one process; a separate worker cannot see it")
    jobs.huey.flask_app = app
    # SIGTERM (what process managers send) is the graceful stop; running jobs get SHUTDOWN_TIMEOUT_S to finish.
    return Consumer(jobs.huey, workers=threads, worker_type="thread", periodic=True, initial_delay=0.1,
                    backoff=1.15, max_delay=POLL_MAX_DELAY_S, scheduler_interval=1, check_worker_health=True,
                    shutdown_timeout=SHUTDOWN_TIMEOUT_S, graceful_signal="TERM")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m panel.worker",
                                     description="Run the call-logging job worker (huey consumer).")
    parser.add_argument("--threads", help=f"worker threads (default PANEL_WORKER_THREADS or {DEFAULT_THREADS})")
    parser.add_argument("--verbose", action="store_true", help="log every job, not only problems")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if arguments.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        consumer = build_consumer(_threads(arguments.threads or os.environ.get("PANEL_WORKER_THREADS")))
    except (ConfigError, SchemaNotCurrent) as error:
        print(f"The worker cannot start: {error}", file=sys.stderr)
        return 2
    print(f"panel worker: {consumer.workers} thread(s), queue {type(consumer.huey.storage).__name__}", flush=True)
    consumer.run()  # until SIGTERM / SIGINT; huey finishes the running jobs first
    return 0


if __name__ == "__main__":
    sys.exit(main())
