"""Alembic's environment for every `flask --app app db …` command and for `panel.migrations.upgrade`.

Online, a command runs in one transaction that first takes the schema lock (`panel.migrations.locked_transaction`),
so processes that start together migrate one after the other and the later ones find nothing left to do. A command
that moves the version (upgrade, downgrade, stamp) first settles a database made before migrations
(`panel.migrations.settle`). The models are the app's: `create_app` has imported every module that defines one.
"""

from __future__ import annotations

import logging

import click
from alembic import context
from flask import current_app

from panel import migrations

log = logging.getLogger("alembic.env")


def _skip_empty_revisions(_context, _revision, directives) -> None:
    """`db revision --autogenerate` with nothing changed writes no empty revision file."""
    if getattr(context.config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        log.info("No changes in schema detected.")


def _moves_the_version() -> bool:
    """upgrade, downgrade and stamp name a destination; current, check and revision only read the database."""
    try:
        context.get_revision_argument()
    except KeyError:
        return False
    return True


def run() -> None:
    if click.get_current_context(silent=True) is not None and not logging.getLogger().handlers:
        # A `flask db …` command: show what Alembic does ("Running upgrade 0001_baseline -> …"), as its CLI would.
        logging.basicConfig(format="%(levelname)-5.5s [%(name)s] %(message)s")
        for name in ("alembic", "panel.migrations"):
            logging.getLogger(name).setLevel(logging.INFO)
    settings = current_app.extensions["migrate"]
    options = {"process_revision_directives": _skip_empty_revisions, **settings.configure_args,
               "target_metadata": settings.db.metadata}
    engine = settings.db.engine
    if context.is_offline_mode():  # `db upgrade --sql`: the script, for a database administrator to run
        context.configure(url=engine.url.render_as_string(hide_password=False), literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    with migrations.locked_transaction(engine) as connection:
        context.configure(connection=connection, transactional_ddl=True, **options)  # the lock's transaction
        if _moves_the_version():
            migrations.settle(context.get_context())
        context.run_migrations()


run()
