"""Signed-in sessions of the coordinator's board, kept on the server so that signing out and
expiry really end them; the browser holds only a signed random id whose hash is stored here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
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
