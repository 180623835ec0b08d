"""One renewal of an agent's token across every thread and process (panel.signin.connections), against the local
org with refresh token rotation on: each refresh answers a new refresh token, and using a used one revokes the
agent's whole grant (help.salesforce.com/s/articleView?id=005316711)."""

from __future__ import annotations

import re
import threading
import time

import pytest

from calls_support import Dialer, call_tasks, run_call
from panel.localorg.seed import IDS, USER_IDS
from tests.conftest import rows_on_record

HX = {"HX-Request": "true"}
YAMADA = IDS["contact.yamada_taro"]


@pytest.fixture
def rotating(localorg):
    localorg.admin("org", refresh_token_rotation=True)
    return localorg


def stored_tokens(app) -> tuple[str, str]:
    from panel.extensions import db
    from panel.signin.models import SalesforceConnection

    with app.app_context():
        connection = db.session.execute(db.select(SalesforceConnection)).scalar_one()
        db.session.remove()
        return connection.access_token, connection.refresh_token


def refreshes(localorg) -> int:
    return localorg.stats()["oauth"].get("token", 0)


def card_record_id(response) -> str | None:
    found = re.search(r'id="card"[^>]*data-record-id="([^"]+)"', response.text)
    return found.group(1) if found else None


def second_process(app):
    """Another process of the same deployment (a job worker): its own app on the same database and cache."""
    from panel import create_app

    return create_app(dict(app.extensions["tests.config"]))


def test_a_pop_its_task_lists_and_a_call_job_renewing_at_once_keep_the_agent_signed_in(app, signed_in_client,
                                                                                        rotating):
    dialer = Dialer(signed_in_client, "call-rotating")
    dialer.send(dialer.ringing(), dialer.answered(), dialer.ended(duration=60))
    worker = second_process(app)
    _, first_refresh = stored_tokens(app)
    rotating.admin("faults", expire_tokens=True, latency_ms=150)  # every request is sent before any hears its 401
    before = refreshes(rotating)
    answers: dict[str, object] = {}
    start = threading.Barrier(3)

    def pop():
        start.wait()
        answers["pop"] = signed_in_client.get("/panel?phone=03-1234-5678", headers=HX)

    def task_lists():  # the card's task lists: a request of their own, with a client of their own
        start.wait()
        answers["tasks"] = signed_in_client.get(f"/panel/records/{YAMADA}/tasks?record_type=Contact",
                                                headers=HX)

    def call_job():
        start.wait()
        answers["job"] = run_call(worker, "call-rotating")

    threads = [threading.Thread(target=work) for work in (pop, task_lists, call_job)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        rotating.admin("faults")
    assert card_record_id(answers["pop"]) == YAMADA
    assert answers["tasks"].status_code == 200 and "HX-Redirect" not in answers["tasks"].headers
    assert answers["job"] is None  # logged, nothing left to retry
    assert refreshes(rotating) == before + 1  # one renewal for all three
    task, = call_tasks(rotating.salesforce(), "call-rotating")
    assert task["OwnerId"] == USER_IDS["agent"]  # with the agent's own grant, not the integration user's
    _, kept_refresh = stored_tokens(app)
    assert kept_refresh != first_refresh  # the rotated refresh token was stored
    assert card_record_id(signed_in_client.get("/panel?phone=090-1234-5678", headers=HX)) == YAMADA
    with worker.app_context():
        from panel.extensions import db

        db.session.remove()
        db.engine.dispose()


def test_a_client_holding_a_token_another_process_renewed_uses_the_stored_one_without_asking(app, signed_in_client,
                                                                                            rotating):
    from panel.extensions import db
    from panel.signin import connections
    from panel.signin.models import SalesforceConnection

    with app.app_context():
        stored = db.session.execute(db.select(SalesforceConnection)).scalar_one()
        first = connections.agent_client(stored)
        second = connections.agent_client(stored)  # another process, which read the token before the renewal
        rotating.admin("faults", expire_tokens=True)
        before = refreshes(rotating)
        assert first.query("SELECT COUNT() FROM Contact")["totalSize"] > 0
        assert second.query("SELECT COUNT() FROM Contact")["totalSize"] > 0
        assert refreshes(rotating) == before + 1
        assert second.access_token == first.access_token


def test_the_new_refresh_token_is_stored_before_it_is_used_and_the_old_one_is_gone(app, signed_in_client,
                                                                                  rotating):
    old_access, old_refresh = stored_tokens(app)
    rotating.admin("faults", expire_tokens=True)
    assert card_record_id(signed_in_client.get("/panel?phone=03-1234-5678", headers=HX)) == YAMADA
    new_access, new_refresh = stored_tokens(app)
    assert (new_access, new_refresh) != (old_access, old_refresh) and new_refresh != old_refresh
    rotating.admin("faults", expire_tokens=True)  # the next renewal uses the stored, rotated refresh token
    assert card_record_id(signed_in_client.get("/panel?phone=090-1234-5678", headers=HX)) == YAMADA


def test_a_renewal_lease_left_by_a_process_that_died_does_not_stop_the_next_renewal(app, signed_in_client,
                                                                                    rotating):
    connection_id = rows_on_record(app, "SELECT id FROM salesforce_connections")[0]["id"]
    import sqlalchemy

    engine = sqlalchemy.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("INSERT INTO salesforce_token_renewals (connection_id, holder, until) "
                                           "VALUES (:id, 'dead-worker', :until)"),
                           {"id": connection_id, "until": time.time() - 1})
    engine.dispose()
    rotating.admin("faults", expire_tokens=True)
    assert card_record_id(signed_in_client.get("/panel?phone=03-1234-5678", headers=HX)) == YAMADA
    assert rows_on_record(app, "SELECT holder, until FROM salesforce_token_renewals") == [
        {"holder": None, "until": None}]  # given back after use
