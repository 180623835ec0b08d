"""`python -m panel.localorg --host 127.0.0.1 --port 8001`: the local org on its own port, mounted at /localorg.

PANEL_LOCALORG_SEARCH_LAG_S and PANEL_LOCALORG_LATENCY_MS configure it as they do inside the app; the database is
`localorg.sqlite3` in the instance folder unless PANEL_LOCALORG_DATABASE names another file. Its log is redacted as
the panel's is (panel.logs): no phone number or token in it.
"""

from __future__ import annotations

import argparse
import os

from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import run_simple

from panel import logs

from . import create_localorg


def _not_found(environ, start_response):
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"The local org is served under /localorg\n"]


def _setting(parser: argparse.ArgumentParser, name: str, kind: type, default: str):
    """A numeric environment setting; a bad one stops the start with a message naming it."""
    text = os.environ.get(name, "").strip() or default
    try:
        value = kind(text)
    except ValueError:
        value = -1
    if not value >= 0:  # also NaN
        parser.error(f"{name} must be a non-negative {'whole ' if kind is int else ''}number, not {text!r}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the local Salesforce org stand-in.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    logs.install()  # its access log prints the SOSL and queries it is sent, callers' numbers included
    org = create_localorg({
        "DATABASE": os.environ.get("PANEL_LOCALORG_DATABASE") or None,
        "SEARCH_LAG_S": _setting(parser, "PANEL_LOCALORG_SEARCH_LAG_S", float, "60"),
        "LATENCY_MS": _setting(parser, "PANEL_LOCALORG_LATENCY_MS", int, "0"),
    })
    print(f"local org at http://{args.host}:{args.port}/localorg")
    run_simple(args.host, args.port, DispatcherMiddleware(_not_found, {"/localorg": org}), threaded=True)


if __name__ == "__main__":
    main()
