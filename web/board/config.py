"""The board's settings, checked once: OpenID Connect or the development sign-in, cookies,
expiry. No web framework here: ``mobility web`` and ``mobility up`` check the bind address
with it before anything starts."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import timedelta

from config import Settings
from states.access import parse_admins
from states.errors import MobilityError

CALLBACK_PATH = "/board/auth/callback"
SIGNED_OUT_PATH = "/board/signed-out"


class BoardConfigError(MobilityError):
    """The board cannot start as configured."""


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    email_claim: str
    groups_claim: str

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"


@dataclass(frozen=True)
class BoardConfig:
    oidc: OidcConfig | None
    """None: the development sign-in (loopback only)."""
    base_url: str
    admins: frozenset[str]
    idle: timedelta
    absolute: timedelta
    dev_coordinator: str | None

    @property
    def dev_sign_in(self) -> bool:
        return self.oidc is None

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.lower().startswith("https://")

    @property
    def redirect_uri(self) -> str:
        return f"{self.base_url.rstrip('/')}{CALLBACK_PATH}"

    @property
    def signed_out_uri(self) -> str:
        return f"{self.base_url.rstrip('/')}{SIGNED_OUT_PATH}"


OIDC_NAMES = ("MOBILITY_OIDC_ISSUER", "MOBILITY_OIDC_CLIENT_ID", "MOBILITY_OIDC_CLIENT_SECRET")


def _oidc(settings: Settings) -> OidcConfig | None:
    secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else ""
    given = (settings.oidc_issuer or "", settings.oidc_client_id or "", secret)
    if not any(given):
        return None
    missing = [name for name, value in zip(OIDC_NAMES, given, strict=True) if not value]
    if missing:
        raise BoardConfigError(
            f"OpenID Connect sign-in is half configured: set {', '.join(missing)}"
        )
    issuer, client_id, client_secret = given
    if not issuer.startswith("https://") and not _loopback_url(issuer):
        raise BoardConfigError(f"MOBILITY_OIDC_ISSUER must be an https:// address, not {issuer}")
    scopes = settings.oidc_scopes.split()
    if "openid" not in scopes:
        scopes.insert(0, "openid")
    return OidcConfig(
        issuer=issuer,
        client_id=client_id,
        client_secret=client_secret,
        scopes=" ".join(scopes),
        email_claim=settings.oidc_email_claim,
        groups_claim=settings.oidc_groups_claim,
    )


def _loopback_url(url: str) -> bool:
    from urllib.parse import urlsplit

    return url.startswith("http://") and is_loopback(urlsplit(url).hostname or "")


def board_config(settings: Settings) -> BoardConfig:
    return BoardConfig(
        oidc=_oidc(settings),
        base_url=settings.base_url,
        admins=parse_admins(settings.board_admins),
        idle=timedelta(minutes=settings.board_idle_minutes),
        absolute=timedelta(hours=settings.board_absolute_hours),
        dev_coordinator=settings.dev_coordinator,
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(settings: Settings, host: str) -> BoardConfig:
    """Refuse to serve the board on ``host`` when only the development sign-in could guard it."""
    config = board_config(settings)
    if config.dev_sign_in and not is_loopback(host):
        raise BoardConfigError(
            f"the board has no sign-in for {host}: set MOBILITY_OIDC_ISSUER, "
            "MOBILITY_OIDC_CLIENT_ID and MOBILITY_OIDC_CLIENT_SECRET, or serve on 127.0.0.1"
        )
    return config
