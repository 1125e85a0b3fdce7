"""Signed-in sessions of the coordinator's board, kept on the server so that signing out and
expiry really end them; the browser holds only a signed random id whose hash is stored here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class BoardSession(Base):
    """One browser's session: anonymous while signing in (``email`` None), then one person's."""

    __tablename__ = "board_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    groups: Mapped[list[str]] = mapped_column(default=list)
    method: Mapped[str | None] = mapped_column(String(10))
    """How the person signed in: ``oidc`` or ``dev``."""
    sign_in: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """While signing in: the OpenID Connect client's state, nonce and PKCE verifier."""
    id_token: Mapped[str | None] = mapped_column(Text)
    """The ID token, as a hint for the provider's sign-out."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime | None]


class BoardUpload(Base):
    """A proposal file uploaded to the board, kept here between its preview and its
    registration: the browser holds only ``token`` (random), good for the session that
    uploaded it (``session_hash``, its ``board_session.secret_hash``) and one programme.
    Deleted when registered, when the session uploads another file, and after a day."""

    __tablename__ = "board_upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    session_hash: Mapped[str] = mapped_column(String(64), index=True)
    programme: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(index=True)
