"""Board sessions: rows on the server, a signed random id in an HttpOnly cookie.

The cookie holds ``<secret>.<signature>``: the secret is 256 random bits, the signature an HMAC
under a key derived from the product's secret key; the row stores only the secret's SHA-256.
A forged cookie fails the signature, a stolen database holds no usable cookie, and ending the
row (sign-out, idle or absolute expiry) ends the session whatever the browser still has.
The CSRF token of a form is an HMAC of the session's secret: tied to the session, stored
nowhere, unknowable without the cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from models import BoardSession
from states.bootstrap import App
from web.board.config import BoardConfig

COOKIE = "board_session"
TOUCH_EVERY = timedelta(seconds=60)
"""``last_seen_at`` is written at most once a minute per session, not on every request."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def session_hash(secret: str) -> str:
    """How a session secret is stored and looked up (never the secret itself)."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Signer:
    """Cookie signatures and CSRF tokens, each under its own key derived from the secret key."""

    root: bytes

    def _mac(self, purpose: bytes, value: str) -> str:
        key = hmac.new(self.root, b"board:" + purpose, hashlib.sha256).digest()
        return _b64(hmac.new(key, value.encode(), hashlib.sha256).digest())

    def cookie(self, secret: str) -> str:
        return f"{secret}.{self._mac(b'cookie', secret)}"

    def secret_of(self, cookie: str | None) -> str | None:
        """The session secret a cookie carries, if its signature is ours."""
        if not cookie or cookie.count(".") != 1:
            return None
        secret, signature = cookie.split(".")
        if not hmac.compare_digest(signature, self._mac(b"cookie", secret)):
            return None
        return secret

    def csrf(self, secret: str) -> str:
        return self._mac(b"csrf", secret)

    def csrf_ok(self, secret: str, token: object) -> bool:
        return isinstance(token, str) and hmac.compare_digest(token, self.csrf(secret))


@dataclass(frozen=True)
class LiveSession:
    """A session that is neither ended nor expired, as the request found it."""

    secret: str
    email: str | None
    name: str
    groups: tuple[str, ...]
    method: str | None
    id_token: str | None
    sign_in: dict[str, Any] = field(default_factory=dict)

    @property
    def signed_in(self) -> bool:
        return self.email is not None


def _live(secret: str, row: BoardSession) -> LiveSession:
    return LiveSession(
        secret=secret,
        email=row.email,
        name=row.name,
        groups=tuple(row.groups),
        method=row.method,
        id_token=row.id_token,
        sign_in=dict(row.sign_in),
    )


class SessionStore:
    """Every read and write of board sessions, each in its own unit of work."""

    def __init__(self, app: App, config: BoardConfig, clock: Callable[[], datetime]) -> None:
        self.app = app
        self.config = config
        self.clock = clock

    def _new_row(self, now: datetime, **values: Any) -> tuple[str, BoardSession]:
        secret = secrets.token_urlsafe(32)
        row = BoardSession(
            secret_hash=session_hash(secret),
            created_at=now,
            last_seen_at=now,
            expires_at=now + self.config.absolute,
            **values,
        )
        return secret, row

    def start(self) -> LiveSession:
        """An anonymous session: it carries the sign-in's state and the forms' CSRF tokens."""
        now = self.clock()
        with self.app.uow() as uow:
            secret, row = self._new_row(now, name="", groups=[], sign_in={})
            uow.session.add(row)
            uow.commit()
        return _live(secret, row)

    def load(self, secret: str | None) -> LiveSession | None:
        """The live session for ``secret``; an ended, idle or expired one is None (and ended)."""
        if secret is None:
            return None
        now = self.clock()
        with self.app.uow() as uow:
            row = uow.session.scalars(
                select(BoardSession).where(BoardSession.secret_hash == session_hash(secret))
            ).one_or_none()
            if row is None or row.ended_at is not None:
                return None
            if now >= row.expires_at or now - row.last_seen_at > self.config.idle:
                row.ended_at = now
                uow.commit()
                return None
            if now - row.last_seen_at >= TOUCH_EVERY:
                row.last_seen_at = now
                uow.commit()
            return _live(secret, row)

    def keep_sign_in_state(self, secret: str, state: dict[str, Any]) -> None:
        with self.app.uow() as uow:
            row = uow.session.scalars(
                select(BoardSession).where(BoardSession.secret_hash == session_hash(secret))
            ).one()
            row.sign_in = dict(state)
            uow.commit()

    def sign_in(
        self,
        previous: str | None,
        *,
        email: str,
        name: str,
        groups: list[str],
        method: str,
        id_token: str | None = None,
    ) -> LiveSession:
        """A new session for the person (a new id: no fixation); the anonymous one ends, and
        rows past their absolute expiry go."""
        now = self.clock()
        with self.app.uow() as uow:
            session = uow.session
            session.execute(delete(BoardSession).where(BoardSession.expires_at < now))
            if previous is not None:
                self._end_in(session, previous, now)
            secret, row = self._new_row(
                now,
                email=email,
                name=name,
                groups=groups,
                method=method,
                id_token=id_token,
                sign_in={},
            )
            session.add(row)
            uow.commit()
        return _live(secret, row)

    def end(self, secret: str) -> None:
        with self.app.uow() as uow:
            self._end_in(uow.session, secret, self.clock())
            uow.commit()

    @staticmethod
    def _end_in(session: Any, secret: str, now: datetime) -> None:
        row = session.scalars(
            select(BoardSession).where(BoardSession.secret_hash == session_hash(secret))
        ).one_or_none()
        if row is not None and row.ended_at is None:
            row.ended_at = now
            row.sign_in = {}
            row.id_token = None
