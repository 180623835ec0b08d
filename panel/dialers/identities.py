"""Who the agent is: the vendors' user ids, extensions, e-mails and numbers mapped to the panel's agents.

PANEL_DIALER_USERS names a CSV file with the header `dialer,dialer_user,agent_email`, one row per vendor identity
(a `dialer_user` is whatever the vendor's events carry: a user id, an extension, an e-mail or a number). It is
read once at start-up (panel.config checks it; a bad file stops the start with the line at fault).

`Identities.resolve(dialer, *names)`: the first name with a row for that dialer gives its agent's e-mail; else the
first name that is an e-mail address is taken as the agent's (an e-mail that is a Salesforce user needs no row: the
pipeline matches it to a user, and sends the call to review when none matches); else nobody: `("", "<dialer>:<the
first name>")`, and the call goes to review ("agent unknown"). Matching is case-insensitive and ignores spaces
around values.

Nothing in this module talks to Flask, the database or Salesforce.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from panel.calls.events import is_email

__all__ = ["HEADER", "Identities", "IdentitiesError", "load_identities", "parse_identities"]

HEADER = ("dialer", "dialer_user", "agent_email")
MAX_FILE_BYTES = 5 * 1024 * 1024


class IdentitiesError(ValueError):
    """The file cannot be used; the message names the line and what is wrong."""


@dataclass(frozen=True)
class Identities:
    """(dialer, dialer_user) → agent e-mail, both lower-cased."""

    rows: dict[tuple[str, str], str] = field(default_factory=dict)

    def resolve(self, dialer: str, *names: object) -> tuple[str, str | None]:
        """(agent_email, agent_ref): agent_ref is None when the agent is resolved."""
        given = [str(name).strip() for name in names if name is not None and str(name).strip()]
        dialer = dialer.lower()
        for name in given:
            email = self.rows.get((dialer, name.lower()))
            if email:
                return email, None
        for name in given:
            if is_email(name):
                return name.lower(), None
        return "", f"{dialer}:{given[0] if given else '(none)'}"[:255]


def parse_identities(text: str, *, known_dialers: tuple[str, ...] = ()) -> Identities:
    """The identities in a CSV text; `IdentitiesError` naming the line at fault."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    rows: dict[tuple[str, str], str] = {}
    header = None
    for number, row in enumerate(reader, start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        cells = [cell.strip() for cell in row]
        if header is None:
            header = tuple(cell.lower() for cell in cells)
            if header != HEADER:
                raise IdentitiesError(f"line {number}: the header must be {','.join(HEADER)}")
            continue
        if len(cells) != 3:
            raise IdentitiesError(f"line {number}: expected 3 values (dialer,dialer_user,agent_email), "
                                  f"found {len(cells)}")
        dialer, user, email = cells[0].lower(), cells[1].lower(), cells[2].lower()
        if known_dialers and dialer not in known_dialers:
            raise IdentitiesError(f"line {number}: unknown dialer {cells[0]!r} (one of {', '.join(known_dialers)})")
        if not user:
            raise IdentitiesError(f"line {number}: dialer_user is empty")
        if not is_email(email):
            raise IdentitiesError(f"line {number}: agent_email is not an e-mail address")
        previous = rows.get((dialer, user))
        if previous is not None and previous != email:
            raise IdentitiesError(f"line {number}: {cells[0]} user {cells[1]!r} is already mapped to another agent")
        rows[(dialer, user)] = email
    if header is None:
        raise IdentitiesError(f"line 1: the header must be {','.join(HEADER)}")
    return Identities(rows)


def load_identities(path: str | None, *, known_dialers: tuple[str, ...] = ()) -> Identities:
    """The identities in the file at `path` (none when `path` is empty)."""
    if not path:
        return Identities()
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise IdentitiesError(f"cannot read {path}: {error.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise IdentitiesError(f"{path} is larger than {MAX_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise IdentitiesError(f"{path} is not UTF-8 text") from None
    return parse_identities(text, known_dialers=known_dialers)
