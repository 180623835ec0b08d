"""Fixtures for the dialer adapters' end-to-end tests (tests/dialers/test_<name>_calls.py); the helpers that are no
fixtures (posting, settling a call, the one Task) live in tests/dialers_support.py."""

from __future__ import annotations

import pytest

from calls_support import configure


@pytest.fixture
def dialer_users(app, tmp_path):
    """Start the panel as an admin configured it: `dialer_users(rows)` writes `rows` (`(dialer, dialer_user,
    agent_email)`) as the PANEL_DIALER_USERS file, reads it as the panel does when it starts, and has Tasks written
    in English (so assertions can quote them); the app."""

    def start(*rows: tuple[str, str, str]):
        from panel.dialers import intake

        users = tmp_path / "dialer_users.csv"
        users.write_text("dialer,dialer_user,agent_email\n" + "".join(f"{','.join(row)}\n" for row in rows),
                         encoding="utf-8")
        app.config["PANEL_DIALER_USERS"] = str(users)
        intake.init_app(app)
        configure(app, PANEL_TASK_LANGUAGE="en")
        return app

    return start


@pytest.fixture
def agent(signed_in_client, app):
    """A browser on the panel, its agent signed in (calls are logged with the agent's own connection); Tasks are
    written in English."""
    configure(app, PANEL_TASK_LANGUAGE="en")
    return signed_in_client
