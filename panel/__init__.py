"""The Salesforce contact panel: a sidebar that cloud phone dialers embed to show who is calling.

`create_app(test_config=None)` builds the app: built-in defaults, then environment variables (panel.config),
then `test_config`; then extensions, blueprints, error handlers and the database tables.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from flask import Flask, current_app
from flask_babel import get_locale

from panel import config as panel_config
from panel.extensions import babel, cache, csrf, db, select_locale

__all__ = ["create_app"]

_PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True, template_folder=os.path.join(_PROJECT_ROOT, "templates"),
                static_folder=os.path.join(_PROJECT_ROOT, "static"))
    app.config.from_mapping(panel_config.DEFAULTS)
    app.config.update(panel_config.from_environment())
    if test_config:
        app.config.update(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    oauth_settings = panel_config.finalize(app.config, app.instance_path)

    from panel.models import make_token_cipher

    app.extensions["panel.token_cipher"] = make_token_cipher(app.config["PANEL_TOKEN_KEY"] or app.config["SECRET_KEY"])
    db.init_app(app)
    cache.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["get_locale"] = get_locale

    from panel import auth, errors, health, jobs, popviews, review, sidebar, tasks, webhooks

    auth.init_app(app, oauth_settings)
    jobs.init_app(app)
    for blueprint in (auth.bp, sidebar.bp, popviews.bp, tasks.bp, webhooks.bp, review.bp, health.bp):
        app.register_blueprint(blueprint)
    errors.register_error_handlers(app)
    app.after_request(_security_headers)

    with app.app_context():
        db.create_all()
    return app


def _security_headers(response):
    """The panel may be framed only by the configured dialer origins; scripts only from our own static files."""
    ancestors = " ".join(dict.fromkeys(("'self'", *current_app.config["PANEL_FRAME_ANCESTORS"])))
    response.headers.setdefault(
        "Content-Security-Policy",
        f"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
        f"frame-ancestors {ancestors}")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response
