"""`python -m bench.sweep LOCALORG_URL`: run the worker's periodic sweep once, with its clock moved past the grace
period, against the database and queue the environment names (DATABASE_URL, REDIS_URL).

Chaos runs use it so a job lost with a killed worker is re-enqueued now instead of two minutes later."""

from __future__ import annotations

import sys
from datetime import timedelta


def main(argv: list[str]) -> int:
    from panel import create_app
    from panel.calls import jobs
    from panel.calls.ledger import utcnow

    app = create_app({"LOCALORG_URL": argv[0]} if argv else None)
    with app.app_context():
        found = jobs.sweep(jobs.call_settings(), now=utcnow() + timedelta(seconds=jobs.SWEEP_GRACE_S + 5))
    print(f"re-enqueued {len(found)} calls")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
