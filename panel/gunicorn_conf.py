"""gunicorn settings for the panel's web nodes: `gunicorn -c panel/gunicorn_conf.py app:app`.

Why threads: a screen pop spends nearly all its time waiting on Salesforce (one or two round trips of 100 ms or
more), so each worker process serves several requests at once with `gthread` workers instead of one per process.
With the local org mounted in the same server (`panel.serve:wsgi_app()`), a sync worker would even wait on itself.

Environment: `WEB_CONCURRENCY` worker processes (default 2), `PANEL_WEB_THREADS` threads each (default 8), bound
to `HOST:PORT` (default 127.0.0.1:8000) unless `--bind` says otherwise. Behind a reverse proxy that terminates TLS,
set `FORWARDED_ALLOW_IPS` to the proxy's address so gunicorn trusts its `X-Forwarded-Proto`.
"""

from __future__ import annotations

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("PANEL_WEB_THREADS", "8"))
timeout = 60
graceful_timeout = 20
keepalive = 5
# Restart a worker now and then so a slow leak can never grow without bound.
max_requests = int(os.environ.get("PANEL_WEB_MAX_REQUESTS", "20000"))
max_requests_jitter = max_requests // 10
# Off unless PANEL_ACCESS_LOG names a file ("-": stderr); the app redacts callers' numbers from it (panel.logs).
accesslog = os.environ.get("PANEL_ACCESS_LOG") or None
errorlog = "-"


def on_starting(server) -> None:
    """Build the app once in the master before any worker starts, so a new database's schema (and the local org's
    seed) is created by one process instead of in every worker, and so a database `flask --app app db upgrade` has
    not brought to this version stops the start here, naming that command (panel.migrations), instead of failing
    requests in every worker. Its connections are closed before the fork."""
    from flask import Flask

    from panel import migrations
    from panel.extensions import db

    app = server.app.wsgi()
    if isinstance(app, Flask):
        migrations.require_current(app)  # SchemaNotCurrent: gunicorn prints the message and exits 1
        with app.app_context():
            db.engine.dispose()
    server.app.callable = None  # each worker loads its own app after the fork
