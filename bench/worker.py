"""A huey worker process for the bench: `python -m bench.worker --localorg-url URL [--workers N]`.

The bench and the soak start it as a separate process so it can be killed and restarted like a production worker.
It is `panel.worker`'s consumer, pointed at the bench's own local org and queue file.

`--lease-ttl S` shortens how long a call's lease outlives a killed worker (`PANEL_CALL_LEASE_TTL_S`, 120 s in
production). Only the chaos tests use it: they kill a worker on purpose and cannot wait two minutes for its leases.
"""

from __future__ import annotations

import argparse
import logging
import sys

from panel.worker import build_consumer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--localorg-url", help="where the panel reaches the local org (local-org mode only)")
    parser.add_argument("--jobs-sqlite", help="the queue's SQLite file when REDIS_URL is not set")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--lease-ttl", type=float, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s worker %(levelname)s %(name)s: %(message)s")

    overrides = {name: value for name, value in (("LOCALORG_URL", args.localorg_url),
                                                 ("PANEL_JOBS_SQLITE", args.jobs_sqlite),
                                                 ("PANEL_CALL_LEASE_TTL_S", args.lease_ttl)) if value is not None}
    consumer = build_consumer(args.workers, overrides)
    print("worker ready", flush=True)
    consumer.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
