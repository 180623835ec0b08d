"""The Salesforce contact panel: a sidebar that cloud phone dialers embed to show who is calling.

`create_app(test_config=None)` builds the app: built-in defaults, then environment variables (panel.config),
then `test_config`; then extensions, blueprints, error handlers, and the database schema (panel.migrations: a new
database is created; any other is upgraded only by `flask --app app db upgrade`).
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from flask import Flask, current_app, request
from flask_babel import get_locale

from panel import config as panel_config
from panel import logs
from panel.extensions import babel, cache, csrf, db, select_locale

__all__ = ["create_app"]

_PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    logs.install()  # before anything logs: no phone numbers or tokens in any log line
    app = Flask(__name__, instance_relative_config=True, template_folder=os.path.join(_PROJECT_ROOT, "templates"),
                static_folder=os.path.join(_PROJECT_ROOT, "static"))
    app.config.from_mapping(panel_config.DEFAULTS)
    app.config.update(panel_config.from_environment())
    if test_config:
        app.config.update(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    oauth_settings = panel_config.finalize(app.config, app.instance_path)

    from panel.signin.models import make_token_cipher

    app.extensions["panel.token_cipher"] = make_token_cipher(app.config["PANEL_TOKEN_KEY"] or app.config["SECRET_KEY"])
    db.init_app(app)
    cache.init_app(app)
    csrf.init_app(app)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", os.path.join(_PROJECT_ROOT, "translations"))
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["get_locale"] = get_locale

    from panel import demo, errors
    from panel.calls import intake, jobs
    from panel.dialers import intake as dialer_intake
    from panel.ops import doctor, health
    from panel.pop import sidebar
    from panel.pop import views as pop_views
    from panel.review import views as review_views
    from panel.signin import auth, embed
    from panel.softphone import views as softphone_views
    from panel.tasks import views as task_views

    auth.init_app(app, oauth_settings)
    embed.init_app(app)
    jobs.init_app(app)
    dialer_intake.init_app(app)  # PANEL_DIALER_USERS, read once
    doctor.init_app(app)  # /admin/doctor and `flask panel doctor`
    for blueprint in (auth.bp, embed.bp, sidebar.bp, pop_views.bp, task_views.bp, intake.bp, dialer_intake.bp,
                      review_views.bp, health.bp, softphone_views.bp):
        app.register_blueprint(blueprint)
    if app.config["LOCALORG_ENABLED"]:
        app.register_blueprint(demo.bp)  # the demo dialer exists only beside the local org
    errors.register_error_handlers(app)
    app.extensions["panel.security_headers"] = _security_headers_for(app.config)
    app.after_request(_security_headers)
    app.wsgi_app = intake.CallEventIntake(app, app.wsgi_app)

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            # WAL: readers (the worker, the other web processes) no longer block the webhook's durable writes; it
            # stays on in the file. Five times the webhook throughput on SQLite (docs/operations.md).
            with db.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")
    from panel import migrations

    # The schema is Alembic's: `flask --app app db upgrade` upgrades a database; a new, empty one is created here.
    migrations.init_app(app)
    return app


def _security_headers_for(config) -> tuple[tuple[str, str], ...]:
    """The panel may be framed only by the configured dialer origins (never `*`: panel.config refuses it);
    scripts, styles and requests only to our own origin, nothing inline (htmx runs without eval). The referrer
    policy keeps the phone numbers in panel URLs from leaking to Salesforce when a record opens in a new tab."""
    ancestors = " ".join(dict.fromkeys(("'self'", *config["PANEL_FRAME_ANCESTORS"])))
    return (("Content-Security-Policy",
             f"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
             f"frame-ancestors {ancestors}"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "strict-origin-when-cross-origin"))


# Where answers hold callers' data or a session (the pop, its task fragments, the review queue, sign-in): never kept
# by a browser's cache, its back button or a proxy, whatever the view or error handler answered.
NO_STORE_PREFIXES = ("/panel", "/review", "/embed", "/auth")


def _security_headers(response):
    """Every answer carries them; a view with different needs (the demo dialer frames the panel) sets its own
    policy first. Every answer under `NO_STORE_PREFIXES` says `Cache-Control: no-store`."""
    for name, value in current_app.extensions["panel.security_headers"]:
        response.headers.setdefault(name, value)
    path = request.path
    if any(path == prefix or path.startswith(prefix + "/") for prefix in NO_STORE_PREFIXES):
        response.headers["Cache-Control"] = "no-store"
    return response
