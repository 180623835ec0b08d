"""The panel's database schema, changed only by the Alembic revisions in `versions/` (Flask-Migrate's `flask db`).

Why Flask-Migrate rather than Alembic alone: it gives the `flask --app app db …` commands (upgrade, revision
--autogenerate, current, history, downgrade, check) a developer already knows, bound to the app's own database
settings, while `env.py` here stays ours: it runs every command in one transaction under the schema lock.

Who changes which database (docs/operations.md, "Schema migrations"):
- `flask --app app db upgrade` upgrades a database that holds data: the deployment recipe runs it once before the
  new version starts, `make run` before the demo, the test set-up once per run. A database made by a version
  from before migrations (its tables built by `create_all`, no `alembic_version` table) is adopted: recorded at the
  baseline revision, which is exactly that schema, then upgraded.
- A new, empty database is created by `create_app` through the same revisions, since nothing in it can be lost.
- Any other database the code does not match is left alone: `require_current` refuses it, and the processes that
  serve (gunicorn's master, `python -m panel.worker`, `python -m panel.serve`) stop at start, naming the command,
  instead of failing requests later.

Processes starting at once (web nodes and job workers on a new database, two machines' upgrades) do not race: every
migration runs in one transaction that first takes the schema lock (a PostgreSQL advisory lock; SQLite's write
lock, `BEGIN IMMEDIATE`), and looks at the database only once it holds it. Both databases have transactional DDL, so
a migration that fails leaves nothing half done.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from functools import cache
from typing import Iterator

from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import Migrate
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.pool import NullPool

from panel.extensions import db

__all__ = ["BASELINE", "UPGRADE_COMMAND", "SchemaNotCurrent", "init_app", "locked_transaction", "require_current",
           "schema_problem", "settle", "upgrade"]

DIRECTORY = os.path.dirname(os.path.abspath(__file__))
UPGRADE_COMMAND = "flask --app app db upgrade"
BASELINE = "0001_baseline"
# What the versions before migrations built with `create_all` on every start: the baseline revision's tables.
BASELINE_TABLES = frozenset({"salesforce_connections", "embed_sign_in_codes", "remembered_picks", "call_events",
                             "calls", "call_reviews", "call_picks"})
VERSION_TABLE = "alembic_version"
_LOCK_KEY = int.from_bytes(b"panel-db", "big")  # pg_advisory_xact_lock's key: any constant the panel alone uses
_SQLITE_LOCK_WAIT_S = 60  # how long a second process waits for the first one's migration

migrate = Migrate()
log = logging.getLogger(__name__)


class SchemaNotCurrent(RuntimeError):
    """The database is not at the schema this code needs; the message says where it stands and names the command."""


def init_app(app: Flask) -> None:
    """Bind `flask --app app db …` to this folder, and create the schema in a new, empty database."""
    migrate.init_app(app, db, directory=DIRECTORY, compare_type=True, render_as_batch=True)
    with app.app_context():
        with db.engine.connect() as connection:
            empty = not _panel_tables(inspect(connection).get_table_names())
    if empty:
        upgrade(app)


def upgrade(app: Flask, revision: str = "head") -> None:
    """What `flask --app app db upgrade` does, from Python (the same env.py: the lock, the adoption)."""
    with app.app_context():
        command.upgrade(migrate.get_config(), revision)


def require_current(app: Flask) -> None:
    """Raise SchemaNotCurrent, naming the command, unless the database is at this code's head revision."""
    with app.app_context():
        problem = schema_problem(db.engine)
    if problem:
        raise SchemaNotCurrent(problem)


def schema_problem(engine: Engine) -> str | None:
    """Why this code cannot run on the database (None when it is at the head revision)."""
    with engine.connect() as connection:
        tables = inspect(connection).get_table_names()
        found = _revisions(connection, tables)
    where = engine.url.render_as_string(hide_password=True)
    heads = _heads()
    if set(found) == set(heads) and _panel_tables(tables):
        return None
    if not _panel_tables(tables):
        state = "has none of the panel's tables"
    elif not found:
        state = "was made by a version of the panel from before schema migrations"
    elif set(found) - _known_revisions():
        state = f"is at revision {', '.join(found)}, which this version does not know (a newer version upgraded it)"
    else:
        state = f"is at revision {', '.join(found)}; this version needs {', '.join(heads)}"
    return f"The database {where} {state}. Run `{UPGRADE_COMMAND}` (docs/operations.md, \"Schema migrations\")."


@contextmanager
def locked_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction holding the schema lock: a second migrating process waits here, then sees the first one's
    work. Committed when the block ends, rolled back (DDL included) when it raises."""
    own = engine.dialect.name == "sqlite" and not _in_memory(engine)
    if own:
        # pysqlite starts no transaction before DDL; SQLAlchemy's documented recipe hands BEGIN to SQLAlchemy, and
        # IMMEDIATE takes the database's write lock at once. A connection of its own: the app's pool keeps its
        # settings.
        engine = create_engine(engine.url, poolclass=NullPool, connect_args={"timeout": _SQLITE_LOCK_WAIT_S})
        event.listen(engine, "connect", _driver_autocommit)
        event.listen(engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN IMMEDIATE"))
    try:
        with engine.connect() as connection, connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            yield connection
    finally:
        if own:
            engine.dispose()


def settle(migration: MigrationContext) -> None:
    """Before a command moves the version, under the lock: make the recorded revision say what the database holds.

    - Tables made by the previous version and no version recorded: recorded at the baseline (exactly that schema),
      so the upgrade goes on from there instead of failing on "table already exists".
    - None of the panel's tables but a version recorded (the tables were dropped): back to no version, so the
      revisions build them again.
    """
    tables = inspect(migration.connection).get_table_names()
    recorded = _revisions(migration.connection, tables)
    if not _panel_tables(tables):
        if recorded:
            log.info("The panel's tables are gone: the revisions build them again")
            migration.stamp(_script(), "base")
    elif not recorded:
        missing = BASELINE_TABLES - set(tables)
        if missing:
            raise SchemaNotCurrent(
                f"The database holds some of the panel's tables but not {', '.join(sorted(missing))}, and no "
                f"recorded revision: it was not made by an earlier version of the panel. Nothing was changed.")
        log.info("The database was made by a version from before schema migrations: recorded at %s", BASELINE)
        migration.stamp(_script(), BASELINE)


def _revisions(connection: Connection, tables: list[str]) -> tuple[str, ...]:
    if VERSION_TABLE not in tables:
        return ()
    return MigrationContext.configure(connection).get_current_heads()


def _panel_tables(tables) -> set[str]:
    return set(tables) & (BASELINE_TABLES | set(db.metadata.tables))


@cache
def _script() -> ScriptDirectory:
    return ScriptDirectory(DIRECTORY)


@cache
def _heads() -> tuple[str, ...]:
    return tuple(_script().get_heads())


@cache
def _known_revisions() -> frozenset[str]:
    return frozenset(revision.revision for revision in _script().walk_revisions())


def _in_memory(engine: Engine) -> bool:
    database = engine.url.database or ""
    return database in ("", ":memory:") or "mode=memory" in str(engine.url)


def _driver_autocommit(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None
