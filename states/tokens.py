"""Link tokens: 256-bit, derived from a stored random nonce and the secret key, stored hashed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from models import ActionToken


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class TokenMinter:
    secret: bytes
    valid_for: timedelta = timedelta(days=30)

    def raw(self, nonce: bytes) -> str:
        digest = hmac.new(self.secret, nonce, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def values(
        self, *, placement_id: int, person_id: int, purpose: str, subject_id: int, now: datetime
    ) -> dict[str, Any]:
        """The columns of a new token row (for inserts of many tokens at once)."""
        nonce = secrets.token_bytes(32)
        return {
            "token_hash": hash_token(self.raw(nonce)),
            "nonce": nonce,
            "placement_id": placement_id,
            "person_id": person_id,
            "purpose": purpose,
            "subject_id": subject_id,
            "created_at": now,
            "expires_at": now + self.valid_for,
        }

    def mint(
        self, *, placement_id: int, person_id: int, purpose: str, subject_id: int, now: datetime
    ) -> ActionToken:
        return ActionToken(
            **self.values(
                placement_id=placement_id,
                person_id=person_id,
                purpose=purpose,
                subject_id=subject_id,
                now=now,
            )
        )

    def raw_for(self, token: ActionToken) -> str:
        """The raw token of a stored row; raises if the secret key changed since it was minted."""
        raw = self.raw(token.nonce)
        if not hmac.compare_digest(hash_token(raw), token.token_hash):
            raise ValueError("the secret key changed since this link was made")
        return raw
