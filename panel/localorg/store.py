"""SQLite storage for the local org: records, the org clock, counters and other shared state.

Records live in one table as JSON documents keyed by their 18-character id, one document per record with every
schema field present. Everything that several server processes must agree on (the clock offset, id sequence, API
counters, faults, tokens, query cursors) is in the same database file, opened in WAL mode with a busy timeout so
gunicorn workers can share it.

`rows()` and `row()` are the read API of the SOQL and SOSL engines. Each object carries a version token that every
write replaces; a process keeps its parsed rows until the token changes, so repeated queries over thousands of
Tasks do not re-parse JSON.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
import uuid
from typing import Iterable, Iterator, Optional

from . import ids, schema

_DDL = """
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    sobject TEXT NOT NULL,
    data TEXT NOT NULL,
    changed_at REAL NOT NULL,
    is_deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS records_by_sobject ON records (sobject);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS cursors (id TEXT PRIMARY KEY, payload TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS oauth_codes (
    code TEXT PRIMARY KEY, user_id TEXT NOT NULL, client_id TEXT NOT NULL, redirect_uri TEXT NOT NULL,
    code_challenge TEXT, scope TEXT NOT NULL, expires_at REAL NOT NULL, used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS oauth_tokens (
    token TEXT PRIMARY KEY, kind TEXT NOT NULL, user_id TEXT NOT NULL, client_id TEXT NOT NULL,
    scope TEXT NOT NULL, refresh_token TEXT, issued_at REAL NOT NULL, expires_at REAL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS oauth_tokens_by_user ON oauth_tokens (user_id, kind);
"""

# Tables cleared by a reset. Records are replaced by the seed; tokens go too, so a reset is a clean org.
_RESET_TABLES = ("records", "counters", "cursors", "oauth_codes", "oauth_tokens")
_FIRST_CREATED_SEQUENCE = 10_000  # seed ids use sequences below this


class Store:
    """One org's database. Thread-safe: each thread gets its own SQLite connection."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._cache: dict[str, tuple[str, list[dict]]] = {}
        self._cache_lock = threading.Lock()
        self.conn.executescript(_DDL)

    # -- connections and transactions -------------------------------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._local.conn = conn
            self._local.depth = 0
        return conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; nested uses join the outer one, so composite allOrNone rolls back as a whole."""
        conn = self.conn
        if self._local.depth == 0:
            conn.execute("BEGIN IMMEDIATE")
        self._local.depth += 1
        try:
            yield conn
        except BaseException:
            self._local.depth -= 1
            if self._local.depth == 0:
                conn.execute("ROLLBACK")
            raise
        self._local.depth -= 1
        if self._local.depth == 0:
            conn.execute("COMMIT")

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """Undo one operation's partial writes without ending the enclosing transaction."""
        name = f"sp_{uuid.uuid4().hex}"
        with self.transaction() as conn:
            conn.execute(f"SAVEPOINT {name}")
            try:
                yield
            except BaseException:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
                raise
            conn.execute(f"RELEASE {name}")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- shared small state ----------------------------------------------------------------------------------

    def meta(self, key: str, default: Optional[str] = None) -> Optional[str]:
        found = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return found[0] if found else default

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    def increment(self, *names: str) -> None:
        with self.transaction() as conn:
            for name in names:
                conn.execute("INSERT INTO counters (name, n) VALUES (?, 1) "
                             "ON CONFLICT (name) DO UPDATE SET n = n + 1", (name,))

    def counters(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT name, n FROM counters").fetchall())

    # -- the org clock ---------------------------------------------------------------------------------------

    def clock_offset(self) -> float:
        return float(self.meta("clock_offset", "0"))

    def now(self) -> float:
        """The org's current time, epoch seconds: real time plus whatever `_admin/clock` advanced."""
        return time.time() + self.clock_offset()

    def advance_clock(self, seconds: float) -> float:
        with self.transaction():
            self.set_meta("clock_offset", repr(self.clock_offset() + seconds))
        return self.now()

    # -- records: the read API the SOQL and SOSL engines use --------------------------------------------------

    def rows(self, sobject: str, *, include_deleted: bool = False) -> list[dict]:
        """Every row of an object as dicts keyed by canonical field name, plus `_changed_at` (epoch seconds)."""
        name = _canonical(sobject)
        version = self.meta(f"version:{name}", "")
        with self._cache_lock:
            cached = self._cache.get(name)
        if cached is None or cached[0] != version or not version:
            loaded = [self._decode(data, changed_at) for data, changed_at in self.conn.execute(
                "SELECT data, changed_at FROM records WHERE sobject = ? ORDER BY rowid", (name,))]
            cached = (version, loaded)
            if version and not self.conn.in_transaction:
                with self._cache_lock:
                    self._cache[name] = cached
        return [dict(r) for r in cached[1] if include_deleted or not r["IsDeleted"]]

    def row(self, record_id: str) -> Optional[dict]:
        """Any record by 15- or 18-character id (deleted ones included, with IsDeleted true), or None."""
        try:
            full = ids.to_18(record_id)
        except (ValueError, TypeError):
            return None
        found = self.conn.execute("SELECT sobject, data, changed_at FROM records WHERE id = ?",
                                  (full,)).fetchone()
        if not found:
            return None
        record = self._decode(found[1], found[2])
        record["_sobject"] = found[0]
        return record

    @staticmethod
    def _decode(data: str, changed_at: float) -> dict:
        record = json.loads(data)
        record["_changed_at"] = changed_at
        return record

    # -- records: writes (validation lives in records.py) -----------------------------------------------------

    def new_id(self, sobject: str) -> str:
        obj = schema.get_sobject(sobject)
        with self.transaction():
            sequence = int(self.meta("next_sequence", str(_FIRST_CREATED_SEQUENCE)))
            self.set_meta("next_sequence", str(sequence + 1))
        return ids.IdGenerator().make(obj.key_prefix, sequence)

    def put(self, sobject: str, record: dict, changed_at: float) -> None:
        """Insert or replace one record (every field present, `Id` set)."""
        name = _canonical(sobject)
        data = {k: v for k, v in record.items() if not k.startswith("_")}
        with self.transaction() as conn:
            conn.execute("INSERT INTO records (id, sobject, data, changed_at, is_deleted) VALUES (?, ?, ?, ?, ?) "
                         "ON CONFLICT (id) DO UPDATE SET data = excluded.data, changed_at = excluded.changed_at, "
                         "is_deleted = excluded.is_deleted",
                         (data["Id"], name, json.dumps(data, ensure_ascii=False), changed_at,
                          1 if data.get("IsDeleted") else 0))
            self._bump(name)

    def find_ids(self, sobject: str, field_name: str, value: object) -> list[str]:
        """Ids of live records whose field equals value (external-id upserts)."""
        found = self.conn.execute(
            "SELECT id FROM records WHERE sobject = ? AND is_deleted = 0 AND json_extract(data, ?) = ?",
            (_canonical(sobject), f'$."{field_name}"', value))
        return [r[0] for r in found]

    def _bump(self, sobject: str) -> None:
        self.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                          "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                          (f"version:{sobject}", uuid.uuid4().hex))

    # -- reset -----------------------------------------------------------------------------------------------

    def reset(self, seeded: Iterable[tuple[str, dict, float]], sequence_start: int) -> None:
        """Replace everything with the seed: (sobject, record, changed_at) triples. Clears clock and counters."""
        with self.transaction() as conn:
            for table in _RESET_TABLES:
                conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            conn.execute("DELETE FROM meta WHERE key != 'secret_key'")
            conn.executemany(
                "INSERT INTO records (id, sobject, data, changed_at, is_deleted) VALUES (?, ?, ?, ?, ?)",
                [(r["Id"], s, json.dumps(r, ensure_ascii=False), t, 1 if r.get("IsDeleted") else 0)
                 for s, r, t in seeded])
            for obj in schema.SOBJECTS.values():
                self._bump(obj.name)
            self.set_meta("next_sequence", str(sequence_start))
            self.set_meta("seeded", "1")


def _canonical(sobject: str) -> str:
    obj = schema.get_sobject(sobject)
    if obj is None:
        raise KeyError(sobject)
    return obj.name
