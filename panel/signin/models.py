"""What the panel keeps in its own database about Salesforce users: one connection per user, tokens encrypted, and
each signed-in session of theirs.

Salesforce allows a user only a few refresh tokens per connected app (the oldest is revoked past the cap), so
signing in again updates the user's existing row rather than adding one; `record_sign_in` reports the refresh
token it replaced so the caller can revoke it.

Tokens are encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256). The key is derived with HKDF-SHA256 from
`PANEL_TOKEN_KEY` when set, else from `SECRET_KEY`. `PANEL_TOKEN_KEY` may list several secrets separated by
commas, newest first: tokens are written with the first and read with any, which lets a key be rotated without
signing everyone out. A token that no key can read (the secret changed) reads as `UnreadableToken`; the user
signs in again.

Sessions are the server's, not the connection's: the connection row is shared by every browser the user signs in
with and refilled by each new sign-in, so a session that pointed at it would come back to life after being signed
out. Each sign-in (and each iframe's embed exchange) is a `StoredSession` of its own: the Flask session, cookie or
embed token, carries only its random id, which the server keeps only as a SHA-256. A session is refused from the
moment it is revoked (sign-out; the grant gone: `SalesforceConnection.forget_tokens` ends all of the user's) and once
unused for longer than the cookie lives; a revoked session stays revoked whatever the connection does next.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import DateTime, ForeignKey, String, Text, UniqueConstraint, bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, object_session

from panel.extensions import autocommit, db, read_one

if TYPE_CHECKING:
    from panel.salesforce.oauth import Identity, TokenResponse

__all__ = ["SESSION_SEEN_EVERY_S", "SalesforceConnection", "SignedInConnection", "StoredSession", "UnreadableToken",
           "end_session", "make_token_cipher", "record_sign_in", "session_connection", "signed_in_connection",
           "start_session"]

_HKDF_INFO = b"panel: salesforce tokens at rest"


class UnreadableToken(Exception):
    """A stored token cannot be decrypted with the configured key(s)."""


def make_token_cipher(secrets_text: str) -> MultiFernet:
    """A cipher keyed from one secret or a comma-separated list of them (newest first)."""
    keys = [part.strip() for part in secrets_text.split(",") if part.strip()] or [secrets_text]
    return MultiFernet([Fernet(base64.urlsafe_b64encode(
        HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(key.encode())))
        for key in keys])


def _cipher() -> MultiFernet:
    return current_app.extensions["panel.token_cipher"]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class SalesforceConnection(db.Model):
    """One Salesforce user who signed in to the panel, and the (encrypted) tokens the panel acts with."""

    __tablename__ = "salesforce_connections"
    __table_args__ = (UniqueConstraint("org_id", "user_id", name="uq_salesforce_connections_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[str] = mapped_column(String(18))
    user_id: Mapped[str] = mapped_column(String(18))
    name: Mapped[str | None] = mapped_column(String(121))
    email: Mapped[str | None] = mapped_column(String(255))
    username: Mapped[str | None] = mapped_column(String(255))
    instance_url: Mapped[str] = mapped_column(String(255))
    access_token_encrypted: Mapped[str | None] = mapped_column(Text)
    refresh_token_encrypted: Mapped[str | None] = mapped_column(Text)
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_utcnow, onupdate=_utcnow)

    def __repr__(self) -> str:
        return f"<SalesforceConnection {self.id} {self.org_id}/{self.user_id}>"

    @property
    def access_token(self) -> str | None:
        return _decrypt(self.access_token_encrypted)

    @access_token.setter
    def access_token(self, value: str | None) -> None:
        self.access_token_encrypted = _encrypt(value)

    @property
    def refresh_token(self) -> str | None:
        return _decrypt(self.refresh_token_encrypted)

    @refresh_token.setter
    def refresh_token(self, value: str | None) -> None:
        self.refresh_token_encrypted = _encrypt(value)

    @property
    def is_signed_in(self) -> bool:
        return self.access_token_encrypted is not None

    def forget_tokens(self) -> None:
        """The grant is gone (revoked, expired, signed out): drop its tokens and end every session signed in with
        it, in the same transaction. Those sessions stay ended when the user signs in again and refills this row."""
        self.access_token = None
        self.refresh_token = None
        holder = object_session(self)
        if holder is not None and self.id is not None:
            holder.execute(update(StoredSession)
                           .where(StoredSession.connection_id == self.id, StoredSession.revoked_at.is_(None))
                           .values(revoked_at=_utcnow()))


@dataclass(frozen=True)
class SignedInConnection:
    """A signed-in user's connection as one request reads it: a plain row, not an ORM object, so reading it needs no
    session or transaction (`signed_in_connection`). Changes go through `SalesforceConnection` by `id`."""

    id: int
    org_id: str
    user_id: str
    name: str | None
    email: str | None
    username: str | None
    instance_url: str
    access_token_encrypted: str
    refresh_token_encrypted: str | None

    @property
    def access_token(self) -> str:
        return _decrypt(self.access_token_encrypted)

    @property
    def refresh_token(self) -> str | None:
        return _decrypt(self.refresh_token_encrypted)


# -- sessions ---------------------------------------------------------------------------------------------------------

SESSION_SEEN_EVERY_S = 3600  # how stale `last_seen_at` may grow before a request writes it again


class StoredSession(db.Model):
    """One signed-in session: a browser's sign-in (`sign-in`) or an iframe's embed exchange (`embed`). The Flask
    session carries its random id; only the id's SHA-256 is kept, so reading this table signs nobody in."""

    __tablename__ = "panel_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("salesforce_connections.id", ondelete="CASCADE"),
                                               index=True)
    started_via: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def _session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def _aware(moment: datetime) -> datetime:
    """SQLite hands back the stored UTC moment without its zone."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def start_session(connection_id: int, started_via: str, *, idle_limit: timedelta) -> str:
    """A new session of this connection, committed; its id, for the Flask session to carry. Sessions nobody can
    present any more (unused for longer than `idle_limit`, the cookie's lifetime) are dropped on the way."""
    session_id = secrets.token_urlsafe(32)
    now = _utcnow()
    db.session.execute(delete(StoredSession).where(StoredSession.last_seen_at < now - idle_limit))
    db.session.add(StoredSession(id_hash=_session_hash(session_id), connection_id=connection_id,
                                 started_via=started_via, created_at=now, last_seen_at=now))
    db.session.commit()
    return session_id


def end_session(session_id: str) -> None:
    """Revoke one session, committed at once: refused from the next request on, whichever carrier brings it."""
    autocommit(update(StoredSession).where(StoredSession.id_hash == _session_hash(session_id),
                                           StoredSession.revoked_at.is_(None)).values(revoked_at=_utcnow()))


def session_connection(session_id: str) -> SalesforceConnection | None:
    """The connection a session (live or ended) was signed in with: the sign-in prompt tells "reconnect" (the grant
    is gone) from "sign in"."""
    stored = db.session.get(StoredSession, _session_hash(session_id))
    return db.session.get(SalesforceConnection, stored.connection_id) if stored is not None else None


_CONNECTIONS = SalesforceConnection.__table__
_SESSIONS = StoredSession.__table__
# Built once with a bound hash (every signed-in request runs it): one read by primary key, joining the connection;
# only live sessions of connections that still hold tokens are signed in.
_SIGNED_IN = (select(*(_CONNECTIONS.c[name] for name in SignedInConnection.__dataclass_fields__),
                     _SESSIONS.c.last_seen_at)
              .select_from(_SESSIONS.join(_CONNECTIONS, _CONNECTIONS.c.id == _SESSIONS.c.connection_id))
              .where(_SESSIONS.c.id_hash == bindparam("id_hash"), _SESSIONS.c.revoked_at.is_(None),
                     _CONNECTIONS.c.access_token_encrypted.is_not(None)))


def signed_in_connection(session_id: str, *, idle_limit: timedelta) -> SignedInConnection | None:
    """The connection of a live session as committed now, or None: an unknown or revoked session, one unused for
    longer than `idle_limit`, or a connection holding no tokens (signed out, grant gone). A session in use has its
    `last_seen_at` written about hourly (`SESSION_SEEN_EVERY_S`), not on every request."""
    digest = _session_hash(session_id)
    row = read_one(_SIGNED_IN, {"id_hash": digest})
    if row is None:
        return None
    fields = dict(row._mapping)
    unused_for = _utcnow() - _aware(fields.pop("last_seen_at"))
    if unused_for > idle_limit:
        return None
    if unused_for >= timedelta(seconds=SESSION_SEEN_EVERY_S):
        autocommit(update(StoredSession).where(StoredSession.id_hash == digest).values(last_seen_at=_utcnow()))
    return SignedInConnection(**fields)


def _encrypt(value: str | None) -> str | None:
    return None if value is None else _cipher().encrypt(value.encode()).decode("ascii")


def _decrypt(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return _cipher().decrypt(value.encode("ascii")).decode()
    except InvalidToken:
        raise UnreadableToken("the stored token was encrypted with another key") from None


def connection_for(org_id: str, user_id: str) -> SalesforceConnection | None:
    return db.session.execute(select(SalesforceConnection).where(
        SalesforceConnection.org_id == org_id, SalesforceConnection.user_id == user_id)).scalar_one_or_none()


def record_sign_in(identity: "Identity", token: "TokenResponse") -> tuple[SalesforceConnection, str | None]:
    """Store a fresh sign-in on the user's one row and commit; (the row, the refresh token it replaced)."""
    try:
        return _save_sign_in(identity, token)
    except IntegrityError:  # the same user's sign-in in another tab inserted the row first
        db.session.rollback()
        return _save_sign_in(identity, token)


def _save_sign_in(identity: "Identity", token: "TokenResponse") -> tuple[SalesforceConnection, str | None]:
    connection = connection_for(identity.org_id, identity.user_id)
    replaced = None
    if connection is None:
        connection = SalesforceConnection(org_id=identity.org_id, user_id=identity.user_id)
        db.session.add(connection)
    else:
        try:
            replaced = connection.refresh_token
        except UnreadableToken:
            replaced = None
    connection.name = identity.name
    connection.email = identity.email
    connection.username = identity.username
    connection.instance_url = token.instance_url
    connection.access_token = token.access_token
    connection.refresh_token = token.refresh_token
    connection.issued_at = token.issued_at or _utcnow()
    db.session.commit()
    return connection, (replaced if replaced != token.refresh_token else None)
