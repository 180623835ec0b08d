"""`GET /healthz` for load balancers and `make run` users: can the app serve right now?

It checks the panel's own database with a trivial query and never calls Salesforce: an org outage must not take
the panel out of rotation (the panel shows Salesforce failures to agents itself).
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from panel.extensions import db

bp = Blueprint("health", __name__)


@bp.route("/healthz", methods=["GET"])
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError:
        current_app.logger.exception("health check: the database did not answer")
        db.session.rollback()
        database = "unreachable"
    salesforce = "local org" if current_app.config["LOCALORG_ENABLED"] else current_app.config["SALESFORCE_LOGIN_URL"]
    body = {"status": "ok" if database == "ok" else "error", "database": database, "salesforce": salesforce}
    response = jsonify(body)
    response.status_code = 200 if database == "ok" else 503
    response.headers["Cache-Control"] = "no-store"
    return response
