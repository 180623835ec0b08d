"""The schema under Alembic (panel/migrations), on SQLite and PostgreSQL: the baseline revision builds exactly what
the versions before migrations built, the revisions build what the models say, a database an earlier version made
upgrades in place with `flask --app app db upgrade`, processes that start together do not race, and the processes
that serve refuse a database the command has not upgraded, naming it."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import sqlalchemy
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (Boolean, Column, DateTime, Float, Integer, MetaData, String, Table, Text, UniqueConstraint,
                        create_engine)

from panel import create_app, migrations
from panel.config import database_uri
from panel.extensions import db

pytestmark = pytest.mark.skipif(os.environ.get("PANEL_TEST_CONFIG") == "scaleout",
                                reason="runs on SQLite and PostgreSQL alike in the first pass")
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UPGRADE = ["flask", "--app", "app", "db", "upgrade"]


def _previous_version() -> MetaData:
    """The models of the last version before migrations (commit b6a4314: panel/signin/models.py, signin/embed.py,
    callers/picks.py, calls/ledger.py), frozen: `create_all` of these is what every existing deployment holds."""
    old = MetaData()
    Table("salesforce_connections", old,
          Column("id", Integer, primary_key=True),
          Column("org_id", String(18), nullable=False),
          Column("user_id", String(18), nullable=False),
          Column("name", String(121)),
          Column("email", String(255)),
          Column("username", String(255)),
          Column("instance_url", String(255), nullable=False),
          Column("access_token_encrypted", Text),
          Column("refresh_token_encrypted", Text),
          Column("issued_at", DateTime(timezone=True)),
          Column("created_at", DateTime(timezone=True), nullable=False),
          Column("updated_at", DateTime(timezone=True), nullable=False),
          UniqueConstraint("org_id", "user_id", name="uq_salesforce_connections_user"))
    Table("embed_sign_in_codes", old,
          Column("code_hash", String(64), primary_key=True),
          Column("connection_id", Integer, nullable=False),
          Column("expires_at", Integer, nullable=False))
    Table("remembered_picks", old,
          Column("id", Integer, primary_key=True),
          Column("org_id", String(18), nullable=False),
          Column("e164", String(20), nullable=False),
          Column("record_id", String(18), nullable=False),
          Column("record_type", String(40), nullable=False),
          Column("picked_by_user_id", String(18), nullable=False),
          Column("picked_by_name", String(121)),
          Column("picked_at", DateTime(timezone=True), nullable=False),
          Column("call_id", String(255)),
          UniqueConstraint("org_id", "e164", name="uq_remembered_picks_org_number"))
    Table("call_events", old,
          Column("id", Integer, primary_key=True),
          Column("event_id", String(255), nullable=False, unique=True),
          Column("call_id", String(255), nullable=False, index=True),
          Column("type", String(20), nullable=False),
          Column("payload", Text, nullable=False),
          Column("received_at", DateTime(timezone=True), nullable=False),
          Column("processed", Boolean, nullable=False, index=True))
    Table("calls", old,
          Column("id", Integer, primary_key=True),
          Column("call_id", String(255), nullable=False, unique=True),
          Column("org_id", String(18)),
          Column("agent_email", String(254), index=True),
          Column("direction", String(8)),
          Column("external_number", String(255)),
          Column("state", Text),
          Column("started_at", DateTime(timezone=True), index=True),
          Column("ended_at", DateTime(timezone=True)),
          Column("status", String(16), nullable=False, index=True),
          Column("outcome", String(32)),
          Column("timed_out", Boolean, nullable=False),
          Column("warmed", Boolean, nullable=False),
          Column("record_id", String(18)),
          Column("record_type", String(40)),
          Column("record_source", String(16)),
          Column("candidates", Text),
          Column("note_who_id", String(18)),
          Column("note_what_id", String(18)),
          Column("task_id", String(18)),
          Column("task_closed", Boolean, nullable=False),
          Column("task_unsure", Boolean, nullable=False),
          Column("attempts", Integer, nullable=False),
          Column("first_failure_at", DateTime(timezone=True)),
          Column("next_attempt_at", DateTime(timezone=True), index=True),
          Column("last_error", Text),
          Column("lease_owner", String(64)),
          Column("lease_until", Float),
          Column("created_at", DateTime(timezone=True), nullable=False),
          Column("updated_at", DateTime(timezone=True), nullable=False),
          Column("logged_at", DateTime(timezone=True)))
    Table("call_reviews", old,
          Column("id", Integer, primary_key=True),
          Column("call_id", String(255), nullable=False, index=True),
          Column("reason", String(16), nullable=False),
          Column("error", Text),
          Column("candidates", Text),
          Column("created_at", DateTime(timezone=True), nullable=False, index=True),
          Column("resolved_at", DateTime(timezone=True)),
          Column("resolved_by", String(254)),
          Column("resolution", String(16)),
          Column("resolved_record_id", String(18)))
    Table("call_picks", old,
          Column("id", Integer, primary_key=True),
          Column("call_id", String(255), nullable=False, unique=True),
          Column("record_id", String(18), nullable=False),
          Column("record_type", String(40), nullable=False),
          Column("picked_by_user_id", String(18)),
          Column("picked_at", DateTime(timezone=True), nullable=False))
    return old


PREVIOUS_VERSION = _previous_version()
HEADS = tuple(ScriptDirectory(migrations.DIRECTORY).get_heads())


# -- databases and apps ----------------------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A new, empty database: a SQLite file, or a PostgreSQL database of the test's own (dropped after)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'panel.sqlite3'}"
        return
    from bench.stack import Unavailable, drop_postgres, private_postgres

    try:
        url = private_postgres()
    except Unavailable as missing:
        pytest.skip(f"the PostgreSQL half needs PostgreSQL: {missing}")
    yield url
    drop_postgres(url)


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'panel.sqlite3'}"


@pytest.fixture
def engine_for():
    """`engine_for(url)`: a plain SQLAlchemy engine on the database, past the app (disposed after the test)."""
    made = []

    def make(url: str) -> sqlalchemy.Engine:
        made.append(create_engine(database_uri(url, ""), poolclass=sqlalchemy.pool.NullPool))
        return made[-1]

    yield make
    for engine in made:
        engine.dispose()


@pytest.fixture
def panel_app(tmp_path):
    """`panel_app(url)`: the panel on that database, as `create_app` builds it at start."""
    built = []

    def make(url: str):
        built.append(create_app({"TESTING": True, "SECRET_KEY": "k", "DATABASE_URL": url, "PANEL_JOBS_MEMORY": True,
                                 "CACHE_TYPE": "SimpleCache"}))
        return built[-1]

    yield make
    for app in built:
        with app.app_context():
            db.engine.dispose()


def command_environment(url: str, tmp_path) -> dict:
    """The environment an operator runs the panel's commands with: only this database, nothing from the tests."""
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith(("PANEL_", "SALESFORCE_")) and name not in ("DATABASE_URL", "REDIS_URL")}
    environment.update(DATABASE_URL=url, SECRET_KEY="k", PANEL_JOBS_SQLITE=str(tmp_path / "jobs.sqlite3"))
    return environment


def made_by_the_previous_version(engine) -> None:
    """What a deployment of the last version before migrations holds: its tables from `create_all`, with data."""
    PREVIOUS_VERSION.create_all(engine)
    with engine.begin() as connection:
        add_a_signed_in_user(connection)
        connection.execute(PREVIOUS_VERSION.tables["calls"].insert().values(
            call_id="call-before-the-upgrade", status="open", timed_out=False, warmed=False, task_closed=False,
            task_unsure=False, attempts=0, created_at=sqlalchemy.func.now(), updated_at=sqlalchemy.func.now()))


def add_a_signed_in_user(connection) -> None:
    """A user's connection row holding a token, as every version has kept it."""
    connection.execute(PREVIOUS_VERSION.tables["salesforce_connections"].insert().values(
        org_id="00D000000000001", user_id="005000000000001", instance_url="https://example.my.salesforce.com",
        access_token_encrypted="gAAAA-token", created_at=sqlalchemy.func.now(), updated_at=sqlalchemy.func.now()))


def recorded_revisions(engine) -> tuple[str, ...]:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_heads()


def differences_from_the_models(engine) -> list:
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), db.metadata)


def upgraded_with_the_command(app, engine) -> None:
    """`flask --app app db upgrade` succeeds and leaves the database at the head, matching the models."""
    upgraded = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    migrations.require_current(app)
    assert recorded_revisions(engine) == HEADS
    assert differences_from_the_models(engine) == []


def schema_of(engine) -> dict:
    """Every table, column (type, length, nullability, default), index and constraint, with their names, as the
    database itself describes them (Alembic's own table left out)."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            return {"objects": sorted((kind, name, table, " ".join(sql.split()) if sql else None)
                                      for kind, name, table, sql in connection.exec_driver_sql(
                                          "SELECT type, name, tbl_name, sql FROM sqlite_master "
                                          "WHERE tbl_name <> 'alembic_version'"))}
        queries = {
            "columns": "SELECT table_name, column_name, ordinal_position, data_type, character_maximum_length, "
                       "is_nullable, column_default, datetime_precision FROM information_schema.columns "
                       "WHERE table_schema = 'public' AND table_name <> 'alembic_version'",
            "constraints": "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) "
                           "FROM pg_constraint WHERE connamespace = 'public'::regnamespace "
                           "AND conrelid::regclass::text <> 'alembic_version'",
            "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes "
                       "WHERE schemaname = 'public' AND tablename <> 'alembic_version'",
            "sequences": "SELECT sequencename, data_type::text FROM pg_sequences WHERE schemaname = 'public'",
        }
        return {name: sorted(tuple(row) for row in connection.exec_driver_sql(sql)) for name, sql in queries.items()}


# -- the schema ------------------------------------------------------------------------------------------------------

def test_the_baseline_revision_builds_exactly_what_the_previous_version_built(database_url, panel_app, engine_for):
    app = panel_app(database_url)
    engine = engine_for(database_url)
    with app.app_context():
        config = migrations.migrate.get_config()
        command.downgrade(config, "base")
        command.upgrade(config, migrations.BASELINE)
    by_the_revision = schema_of(engine)
    with app.app_context():
        command.downgrade(config, "base")
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE alembic_version")
    PREVIOUS_VERSION.create_all(engine)

    assert by_the_revision == schema_of(engine)
    assert set(PREVIOUS_VERSION.tables) <= set(sqlalchemy.inspect(engine).get_table_names())


def test_a_new_database_is_built_by_the_revisions_and_matches_the_models(database_url, panel_app, engine_for):
    app = panel_app(database_url)
    engine = engine_for(database_url)

    migrations.require_current(app)
    assert recorded_revisions(engine) == HEADS
    assert differences_from_the_models(engine) == []


def test_a_database_the_previous_version_made_upgrades_in_place_with_the_command(database_url, panel_app, engine_for):
    engine = engine_for(database_url)
    made_by_the_previous_version(engine)
    app = panel_app(database_url)  # the app still builds, so that the command can run
    with pytest.raises(migrations.SchemaNotCurrent, match="flask --app app db upgrade"):
        migrations.require_current(app)

    upgraded_with_the_command(app, engine)

    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT call_id FROM calls").scalars().all() == ["call-before-the-upgrade"]
        assert connection.exec_driver_sql(
            "SELECT access_token_encrypted FROM salesforce_connections").scalars().all() == ["gAAAA-token"]
    again = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert again.exit_code == 0 and recorded_revisions(engine) == HEADS


def test_processes_starting_together_on_a_new_database_build_it_once(database_url, engine_for, tmp_path):
    """Two app starts and the upgrade command at once, held at the schema lock until all three wait on it."""
    engine = engine_for(database_url)
    environment = command_environment(database_url, tmp_path)
    start = [sys.executable, "-c", "from panel import create_app; create_app()"]
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:  # as the first start leaves a new file, before it migrates
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
    with migrations.locked_transaction(engine) as held:
        processes = [subprocess.Popen(argv, cwd=PROJECT_ROOT, env=environment, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True)
                     for argv in (start, start, [sys.executable, "-m", *UPGRADE])]
        wait_until_all_wait_for_the_lock(held, processes)
    outputs = [process.communicate(timeout=60)[0] for process in processes]

    assert [process.returncode for process in processes] == [0, 0, 0], outputs
    assert len(recorded_revisions(engine)) == 1
    assert differences_from_the_models(engine) == []


def wait_until_all_wait_for_the_lock(held, processes, timeout_s: float = 60) -> None:
    """PostgreSQL shows who waits for the advisory lock; SQLite does not, so there it waits until each process
    has stopped using the CPU (it sleeps in SQLite's busy handler) and a little more."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert all(process.poll() is None for process in processes), "a process ended before it got the lock"
        if held.dialect.name == "postgresql":
            waiting = held.exec_driver_sql(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").scalar()
            if waiting == len(processes):
                return
        elif all(_idle(process.pid) for process in processes):
            return
        time.sleep(0.2)
    raise AssertionError("the processes did not all reach the schema lock")


def _idle(pid: int) -> bool:
    def cpu() -> int:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime

    before = cpu()
    time.sleep(0.3)
    return cpu() == before


def test_a_database_whose_tables_were_dropped_is_built_again(sqlite_url, panel_app, engine_for):
    app = panel_app(sqlite_url)
    with app.app_context():
        db.drop_all()  # what tests/scaleout does between tests; the recorded revision stays

    panel_app(sqlite_url)

    migrations.require_current(app)
    assert differences_from_the_models(engine_for(sqlite_url)) == []


def test_a_database_holding_tables_the_panel_did_not_make_is_left_alone(sqlite_url, panel_app, engine_for, caplog):
    engine = engine_for(sqlite_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE calls (id INTEGER PRIMARY KEY, caller TEXT)")
    app = panel_app(sqlite_url)

    refused = app.test_cli_runner().invoke(args=["db", "upgrade"])

    assert refused.exit_code == 1
    assert "not made by an earlier version of the panel. Nothing was changed." in caplog.text
    assert sqlalchemy.inspect(engine).get_table_names() == ["calls"]


# -- who runs the upgrade --------------------------------------------------------------------------------------------

def test_the_processes_that_serve_refuse_a_database_the_command_has_not_upgraded(sqlite_url, engine_for, tmp_path,
                                                                                monkeypatch, capsys):
    engine = engine_for(sqlite_url)
    made_by_the_previous_version(engine)
    environment = command_environment(sqlite_url, tmp_path)
    for name in [name for name in os.environ if name.startswith("PANEL_")]:
        monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    from panel import serve, worker

    gunicorn = subprocess.run([sys.executable, "-m", "gunicorn", "-c", "panel/gunicorn_conf.py", "--bind",
                               "127.0.0.1:0", "app:app"], cwd=PROJECT_ROOT, env=environment, capture_output=True,
                              text=True, timeout=60)
    assert gunicorn.returncode == 1
    assert "flask --app app db upgrade" in gunicorn.stderr and "Booting worker" not in gunicorn.stderr
    assert worker.main([]) == 2
    assert "The worker cannot start" in capsys.readouterr().err
    monkeypatch.setenv("PORT", "0")
    monkeypatch.setenv("PANEL_WORKER", "0")
    monkeypatch.setattr(serve, "run_simple", lambda *args, **kwargs: pytest.fail("served an old schema"))
    assert serve.main() == 2
    assert "flask --app app db upgrade" in capsys.readouterr().err

    upgraded = subprocess.run([sys.executable, "-m", *UPGRADE], cwd=PROJECT_ROOT, env=environment,
                              capture_output=True, text=True, timeout=60)

    assert upgraded.returncode == 0, upgraded.stderr
    assert "made by a version from before schema migrations: recorded at 0001_baseline" in upgraded.stderr
    consumer = worker.build_consumer(1)
    with consumer.huey.flask_app.app_context():
        db.engine.dispose()


# -- the revisions after the baseline --------------------------------------------------------------------------------

SESSIONS_REVISION = "0003_panel_sessions"


def test_the_sessions_revision_upgrades_the_revision_before_it_in_place(database_url, panel_app, engine_for):
    """A deployment at the revision before server-side sessions, with a signed-in user, gets `panel_sessions` from
    the command; its rows stay (the user's old cookie names no session, so they sign in again), and the revision
    goes back down as cleanly."""
    previous = ScriptDirectory(migrations.DIRECTORY).get_revision(SESSIONS_REVISION).down_revision
    app = panel_app(database_url)
    engine = engine_for(database_url)
    with app.app_context():
        config = migrations.migrate.get_config()
        command.downgrade(config, previous)
    assert recorded_revisions(engine) == (previous,)
    assert "panel_sessions" not in sqlalchemy.inspect(engine).get_table_names()
    with engine.begin() as connection:
        add_a_signed_in_user(connection)

    upgraded_with_the_command(app, engine)

    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM panel_sessions").scalar() == 0
        assert connection.exec_driver_sql(
            "SELECT access_token_encrypted FROM salesforce_connections").scalars().all() == ["gAAAA-token"]

    with app.app_context():
        command.downgrade(config, previous)
    assert "panel_sessions" not in sqlalchemy.inspect(engine).get_table_names()
    assert recorded_revisions(engine) == (previous,)
