"""`python -m panel.serve` (`make run`): the panel, and unless a real org is configured, the local org beside it.

With `SALESFORCE_LOGIN_URL` unset, the local org is mounted in the same server under `/localorg` and the panel
signs in against it, so a newcomer runs the whole product with no Salesforce org. `HOST` and `PORT` choose where
to listen (default 127.0.0.1:5000); `PANEL_LOCALORG_SEARCH_LAG_S` and `PANEL_LOCALORG_LATENCY_MS` tune the local
org (`PANEL_LOCALORG_DATABASE` names its SQLite file). `gunicorn 'panel.serve:wsgi_app()'` serves the same under
gunicorn (HOST/PORT must name the bound address). For production, run `app:app` under gunicorn against a real org.
"""

from __future__ import annotations

import ipaddress
import os
import sys

from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import run_simple

from panel import create_app, migrations
from panel.config import ConfigError, from_environment

LOCALORG_PREFIX = "/localorg"


def _reachable_host(host: str) -> str:
    """Where this machine reaches the server: a wildcard bind address is reached on loopback."""
    try:
        if ipaddress.ip_address(host).is_unspecified:
            return "127.0.0.1" if ipaddress.ip_address(host).version == 4 else "[::1]"
        return f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    except ValueError:
        return host


def build(host: str, port: int):
    """The WSGI application to serve: the panel, with the local org under /localorg when no org is configured."""
    settings = from_environment()
    if settings.get("SALESFORCE_LOGIN_URL"):
        return create_app()
    localorg_url = f"http://{_reachable_host(host)}:{port}{LOCALORG_PREFIX}"
    app = create_app({"LOCALORG_URL": localorg_url})

    from panel.localorg import create_localorg

    org = create_localorg({
        "DATABASE": os.environ.get("PANEL_LOCALORG_DATABASE") or os.path.join(app.instance_path, "localorg.sqlite3"),
        "SEARCH_LAG_S": app.config["PANEL_LOCALORG_SEARCH_LAG_S"],
        "LATENCY_MS": app.config["PANEL_LOCALORG_LATENCY_MS"],
    })
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {LOCALORG_PREFIX: org})
    return app


def wsgi_app(host: str | None = None, port: int | None = None):
    """Entry point for gunicorn: `gunicorn 'panel.serve:wsgi_app()' --bind 127.0.0.1:8000` serves the panel with
    the local org beside it. The app must know its own address to reach that org, so HOST and PORT (default
    127.0.0.1:8000) must name the bound address; each gunicorn worker builds its own app."""
    return build(host or os.environ.get("HOST", "127.0.0.1"), int(port or os.environ.get("PORT", "8000")))


def main() -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    try:
        port = int(os.environ.get("PORT", "5000"))
    except ValueError:
        print(f"PORT must be a number, not {os.environ['PORT']!r}", file=sys.stderr)
        return 2
    try:
        application = build(host, port)
        migrations.require_current(application)  # `make run` upgrades first; run alone, it names the command
    except (ConfigError, migrations.SchemaNotCurrent) as error:
        print(f"The panel cannot start: {error}", file=sys.stderr)
        return 2
    where = f"http://{_reachable_host(host)}:{port}"
    print(f"Salesforce contact panel on {where}/"
          + (f"  (local org at {where}{LOCALORG_PREFIX})" if application.config["LOCALORG_ENABLED"] else ""),
          flush=True)
    if application.config["LOCALORG_ENABLED"]:
        print(f"Demo dialer: http://localhost:{port}/demo  (sign in as agent@example.com, then ring a caller)",
              flush=True)
    from panel.calls import jobs

    worker = jobs.start_background_worker(application) if os.environ.get("PANEL_WORKER", "1") != "0" else None
    try:
        run_simple(host, port, application, threaded=True, use_reloader=False)
    finally:
        if worker is not None:
            worker.stop(graceful=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
