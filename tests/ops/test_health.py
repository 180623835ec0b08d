"""GET /healthz: answers whether the panel can serve, without asking Salesforce."""

from __future__ import annotations

import shutil

from panel import create_app


def test_healthz_answers_ok_as_json_without_signing_in(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    assert answer.json == {"status": "ok", "database": "ok", "salesforce": "local org"}
    assert answer.headers["Cache-Control"] == "no-store"


def test_healthz_stays_ok_and_does_not_call_salesforce_while_the_org_fails(client, localorg):
    before = localorg.stats()
    localorg.admin("faults", error_rate=1, error_status=503)
    assert client.get("/healthz").json["status"] == "ok"
    after = localorg.stats()
    assert (after["api_requests"], after["oauth"]) == (before["api_requests"], before["oauth"])


def test_healthz_answers_503_when_the_database_is_gone(localorg, tmp_path):
    folder = tmp_path / "db"
    folder.mkdir()
    app = create_app({"TESTING": True, "SECRET_KEY": "k", "LOCALORG_URL": localorg.url, "PANEL_JOBS_MEMORY": True,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'panel.sqlite3'}"})
    from panel.extensions import db

    with app.app_context():
        db.engine.dispose()
    shutil.rmtree(folder)
    answer = app.test_client().get("/healthz")
    assert answer.status_code == 503
    assert answer.json["status"] == "error" and answer.json["database"] == "unreachable"


def test_healthz_names_the_real_org_it_is_configured_for(monkeypatch, tmp_path):
    for name, value in {"SALESFORCE_LOGIN_URL": "https://test.salesforce.com", "SECRET_KEY": "k" * 32,
                        "SALESFORCE_CLIENT_ID": "id", "PANEL_WEBHOOK_SECRET": "w"}.items():
        monkeypatch.setenv(name, value)
    app = create_app({"TESTING": True, "PANEL_JOBS_MEMORY": True,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'panel.sqlite3'}"})
    assert app.test_client().get("/healthz").json["salesforce"] == "https://test.salesforce.com"
