"""Flask extensions, created once here and bound to the app in `panel.create_app` (`init_app`).

- `db`: Flask-SQLAlchemy; models subclass `db.Model`.
- `cache`: flask-caching; SimpleCache in the process by default, Redis when `REDIS_URL` is set. Keys that hold
  Salesforce data must include the org id (and the user id when visibility differs per user).
- `csrf`: flask-wtf CSRF protection on every POST/PUT/PATCH/DELETE. Forms carry `csrf_token()`; htmx requests
  send it as the `X-CSRFToken` header (`hx-headers` on `<body>` in base.html).
- `babel`: flask-babel; the locale comes from `?lang=ja|en` (remembered in the session, so the htmx requests the
  page makes later keep that language), then the browser's Accept-Language, else ja. See docs/languages.md.
"""

from __future__ import annotations

from flask import has_request_context, request, session
from flask_babel import Babel
from flask_caching import Cache
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

LOCALES = ("ja", "en")

db = SQLAlchemy()
cache = Cache()
csrf = CSRFProtect()
babel = Babel()


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
