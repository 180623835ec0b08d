"""The panel as stateless web nodes sharing a real Redis and a real PostgreSQL.

Each run gets a PostgreSQL database of its own (created, then dropped) and an empty Redis database number (flushed
after every test): `scaleout_servers` in tests/conftest.py. Without reachable servers every test here is skipped,
saying which server is missing and how to start it; `.ci/run` starts both.
"""

from __future__ import annotations

import pytest

from bench.stack import release_redis

SECRET_KEY = "scale-out-shared-secret-key"


@pytest.fixture
def make_node(scaleout_servers, localorg):
    """Builds web nodes: separate app instances whose only common ground is Redis and PostgreSQL."""
    postgres_url, redis_url = scaleout_servers
    built = []

    def make():
        from panel import create_app

        node = create_app({"TESTING": True, "SECRET_KEY": SECRET_KEY, "LOCALORG_URL": localorg.url,
                           "DATABASE_URL": postgres_url, "REDIS_URL": redis_url})
        built.append(node)
        return node

    yield make
    from panel.extensions import db

    for node in built:
        with node.app_context():
            db.session.remove()
            db.engine.dispose()
    if built:
        with built[0].app_context():
            db.drop_all()
            db.engine.dispose()
    release_redis(redis_url, keep_claim=True)
