"""PANEL_DIALER_USERS: who the vendors' agents are (panel.dialers.identities), and a file the panel cannot use
stopping the start with the line at fault."""

from __future__ import annotations

import pytest

from panel import create_app
from panel.dialers.identities import Identities, IdentitiesError, parse_identities

FILE = """dialer,dialer_user,agent_email
zoom,KDcuGIm1QgePTO8WbOqwIQ,Agent@Example.com
zoom,1001,agent@example.com
ringcentral,400145654008,second.agent@example.com
"""


def test_a_vendor_user_id_or_extension_resolves_to_its_agent():
    identities = parse_identities(FILE)
    assert identities.resolve("zoom", "KDcuGIm1QgePTO8WbOqwIQ") == ("agent@example.com", None)
    assert identities.resolve("zoom", None, "1001") == ("agent@example.com", None)
    assert identities.resolve("ZOOM", " kdcugim1qgepto8wboqwiq ") == ("agent@example.com", None)


def test_a_row_belongs_to_its_dialer_only():
    identities = parse_identities(FILE)
    assert identities.resolve("dialpad", "1001") == ("", "dialpad:1001")


def test_an_email_the_vendor_sends_needs_no_row():
    assert Identities().resolve("dialpad", "5012345678", "Someone@Example.com") == ("someone@example.com", None)


def test_a_row_wins_over_an_email_in_the_event():
    identities = parse_identities(FILE)
    assert identities.resolve("zoom", "1001", "other@example.com") == ("agent@example.com", None)


def test_nobody_resolves_to_the_first_identity_the_vendor_named():
    assert Identities().resolve("zoom", "u-1", "2002") == ("", "zoom:u-1")
    assert Identities().resolve("zoom") == ("", "zoom:(none)")


@pytest.mark.parametrize("text, problem", [
    ("dialer,user,email\n", "line 1: the header must be dialer,dialer_user,agent_email"),
    ("dialer,dialer_user,agent_email\nzoom,1001\n", "line 2: expected 3 values"),
    ("dialer,dialer_user,agent_email\nskype,1001,a@example.com\n", "line 2: unknown dialer 'skype'"),
    ("dialer,dialer_user,agent_email\nzoom,,a@example.com\n", "line 2: dialer_user is empty"),
    ("dialer,dialer_user,agent_email\nzoom,1001,not-an-email\n", "line 2: agent_email is not an e-mail address"),
    ("dialer,dialer_user,agent_email\nzoom,1001,a@example.com\nzoom,1001,b@example.com\n",
     "line 3: zoom user '1001' is already mapped to another agent"),
    ("", "line 1: the header must be"),
])
def test_a_bad_file_names_the_line_and_the_problem(text, problem):
    with pytest.raises(IdentitiesError) as raised:
        parse_identities(text, known_dialers=("zoom", "ringcentral"))
    assert str(raised.value).startswith(problem)


def test_a_spreadsheets_byte_order_mark_and_blank_lines_are_fine():
    identities = parse_identities("\ufeffdialer,dialer_user,agent_email\n\nzoom,1001,agent@example.com\n\n")
    assert identities.resolve("zoom", "1001") == ("agent@example.com", None)


def test_the_panel_does_not_start_on_a_file_it_cannot_use(app, tmp_path):
    bad = tmp_path / "users.csv"
    bad.write_text("dialer,dialer_user,agent_email\nzoom,1001,nobody\n", encoding="utf-8")
    config = {**app.extensions["tests.config"], "PANEL_DIALER_USERS": str(bad)}
    with pytest.raises(RuntimeError, match="PANEL_DIALER_USERS: line 2: agent_email is not an e-mail address"):
        create_app(config)
    config["PANEL_DIALER_USERS"] = str(tmp_path / "missing.csv")
    with pytest.raises(RuntimeError, match="PANEL_DIALER_USERS: cannot read"):
        create_app(config)
