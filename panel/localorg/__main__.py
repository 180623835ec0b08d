"""`python -m panel.localorg --host 127.0.0.1 --port 8001`: the local org on its own port, mounted at /localorg.

PANEL_LOCALORG_SEARCH_LAG_S and PANEL_LOCALORG_LATENCY_MS configure it as they do inside the app; the database is
`localorg.sqlite3` in the instance folder unless PANEL_LOCALORG_DATABASE names another file.
"""

from __future__ import annotations

import argparse
import os

from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import run_simple

from . import create_localorg


def _not_found(environ, start_response):
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"The local org is served under /localorg\n"]


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the local Salesforce org stand-in.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    org = create_localorg({
        "DATABASE": os.environ.get("PANEL_LOCALORG_DATABASE") or None,
        "SEARCH_LAG_S": float(os.environ.get("PANEL_LOCALORG_SEARCH_LAG_S", "60")),
        "LATENCY_MS": int(os.environ.get("PANEL_LOCALORG_LATENCY_MS", "0")),
    })
    print(f"local org at http://{args.host}:{args.port}/localorg")
    run_simple(args.host, args.port, DispatcherMiddleware(_not_found, {"/localorg": org}), threaded=True)


if __name__ == "__main__":
    main()
