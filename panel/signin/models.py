"""What the panel keeps in its own database about Salesforce users: one connection per user, tokens encrypted.

Salesforce allows a user only a few refresh tokens per connected app (the oldest is revoked past the cap), so
signing in again updates the user's existing row rather than adding one; `record_sign_in` reports the refresh
token it replaced so the caller can revoke it.

Tokens are encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256). The key is derived with HKDF-SHA256 from
`PANEL_TOKEN_KEY` when set, else from `SECRET_KEY`. `PANEL_TOKEN_KEY` may list several secrets separated by
commas, newest first: tokens are written with the first and read with any, which lets a key be rotated without
signing everyone out. A token that no key can read (the secret changed) reads as `UnreadableToken`; the user
signs in again.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import DateTime, String, Text, UniqueConstraint, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from panel.extensions import db, read_one

if TYPE_CHECKING:
    from panel.salesforce.oauth import Identity, TokenResponse

__all__ = ["SalesforceConnection", "SignedInConnection", "UnreadableToken", "make_token_cipher", "record_sign_in",
           "signed_in_connection"]

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
        self.access_token = None
        self.refresh_token = None


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


_CONNECTIONS = SalesforceConnection.__table__
# Built once with a bound id (every signed-in request runs it); only rows that still hold tokens are signed in.
_SIGNED_IN = select(*(_CONNECTIONS.c[name] for name in SignedInConnection.__dataclass_fields__)).where(
    _CONNECTIONS.c.id == bindparam("id"), _CONNECTIONS.c.access_token_encrypted.is_not(None))


def signed_in_connection(connection_id: int) -> SignedInConnection | None:
    """The connection with this id as committed now, or None when it is gone or holds no tokens (signed out)."""
    row = read_one(_SIGNED_IN, {"id": connection_id})
    return SignedInConnection(**row._mapping) if row is not None else None


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
