"""Flask extensions, created once here and bound to the app in `panel.create_app` (`init_app`).

- `db`: Flask-SQLAlchemy; models subclass `db.Model`.
- `cache`: flask-caching; SimpleCache in the process by default, Redis when `REDIS_URL` is set. Keys that hold
  Salesforce data must include the org id (and the user id when visibility differs per user).
- `csrf`: flask-wtf CSRF protection on every POST/PUT/PATCH/DELETE. Forms carry `csrf_token()`; htmx requests
  send it as the `X-CSRFToken` header (`hx-headers` on `<body>` in base.html).
- `autocommit` / `read_one`: one statement on a pooled connection of its own, outside the request's session and its
  transaction (no BEGIN, COMMIT or ROLLBACK round trips). For a write that is a whole transaction by itself, and for
  the plain reads every request makes (the signed-in connection, a number's pick).
- `babel`: flask-babel; the locale comes from `?lang=ja|en` (remembered in the session, so the htmx requests the
  page makes later keep that language), then the browser's Accept-Language, else ja. See docs/languages.md.
"""

from __future__ import annotations

from flask import has_request_context, request, session
from flask_babel import Babel
from flask_caching import Cache
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Row

LOCALES = ("ja", "en")

__all__ = ["LOCALES", "autocommit", "babel", "cache", "csrf", "db", "read_one", "select_locale"]

db = SQLAlchemy()
cache = Cache()
csrf = CSRFProtect()
babel = Babel()


def autocommit(statement, parameters: dict | None = None) -> int:
    """Run one statement as its own transaction; the rows it changed. Committed when it returns."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        return connection.execute(statement, parameters).rowcount


def read_one(statement, parameters: dict | None = None) -> Row | None:
    """The one row a statement answers (None when none), outside any transaction: a SELECT sees what is committed
    now; an INSERT … RETURNING is committed when it returns."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        return connection.execute(statement, parameters).one_or_none()


def select_locale() -> str:
    if not has_request_context():
        return LOCALES[0]
    chosen = request.args.get("lang")
    if chosen in LOCALES:
        if session.get("lang") != chosen:
            session["lang"] = chosen
        return chosen
    remembered = session.get("lang")
    if remembered in LOCALES:
        return remembered
    return request.accept_languages.best_match(LOCALES) or LOCALES[0]
