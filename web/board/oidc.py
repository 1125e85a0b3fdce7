"""OpenID Connect sign-in through Authlib's Starlette client: authorization code with PKCE
(S256), ``state`` and ``nonce`` kept in the anonymous board session on the server.

What Authlib 1.9 checks itself (read in its source, ``base_client/async_openid.py``,
``oidc/core/claims.py``): the state (MismatchingStateError), the ID token's signature against
the provider's JWKS with the algorithms its discovery lists (joserfc never accepts ``none``),
``iss`` against the discovered issuer, ``exp``/``iat``, ``nonce``, ``azp``, ``at_hash``. What it
does not, and this module adds: ``aud`` must contain our client id (Authlib only looks at
``azp`` when they differ), ``iss`` must be the configured issuer and so must the discovered one,
a token response without an ID token is no sign-in (Authlib then just skips the checks), an
email the provider marks unverified is refused, and userinfo read for missing claims must be
about the same ``sub``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx2
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from joserfc.errors import JoseError
from starlette.requests import Request
from starlette.responses import RedirectResponse

from models.schemas import normalised_email
from models.text import single_line
from web.board.config import BoardConfig, OidcConfig
from web.board.guard import ProviderUnavailable, SignInFailed

logger = logging.getLogger("web.board")

TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Identity:
    email: str
    name: str
    groups: list[str]
    id_token: str


def _groups(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str | int)]
    return []


class OidcSignIn:
    def __init__(self, config: BoardConfig) -> None:
        assert config.oidc is not None
        self.oidc: OidcConfig = config.oidc
        self.board = config
        registry = OAuth()
        client = registry.register(
            name="board",
            client_id=self.oidc.client_id,
            client_secret=self.oidc.client_secret,
            server_metadata_url=self.oidc.metadata_url,
            client_kwargs={
                "scope": self.oidc.scopes,
                "code_challenge_method": "S256",
                "timeout": TIMEOUT_SECONDS,
            },
        )
        assert isinstance(client, StarletteOAuth2App)
        self.client = client

    async def metadata(self) -> dict[str, Any]:
        try:
            metadata: dict[str, Any] = await self.client.load_server_metadata()
        except httpx2.HTTPError as error:
            raise ProviderUnavailable(f"discovery failed: {error!r}") from error
        if metadata.get("issuer", "").rstrip("/") != self.oidc.issuer.rstrip("/"):
            raise SignInFailed(
                f"discovery names issuer {metadata.get('issuer')!r}, not {self.oidc.issuer!r}"
            )
        return metadata

    async def redirect(self, request: Request, state: dict[str, Any]) -> RedirectResponse:
        """The redirect to the provider; ``state`` (the session's sign-in dict) is filled."""
        await self.metadata()
        request.scope["session"] = state
        response: RedirectResponse = await self.client.authorize_redirect(
            request, self.board.redirect_uri
        )
        return response

    async def complete(self, request: Request, state: dict[str, Any]) -> Identity:
        """Check the provider's answer to the redirect; raise SignInFailed if anything is off."""
        await self.metadata()
        request.scope["session"] = state
        claims_options = {
            "iss": {"essential": True, "value": self.oidc.issuer},
            "aud": {"essential": True, "value": self.oidc.client_id},
            "exp": {"essential": True},
        }
        try:
            token = await self.client.authorize_access_token(request, claims_options=claims_options)
        except httpx2.TransportError as error:
            raise ProviderUnavailable(f"token request failed: {error!r}") from error
        except (JoseError, ValueError) as error:  # joserfc's claim and signature errors
            raise SignInFailed(f"ID token refused: {type(error).__name__}: {error}") from error
        except Exception as error:  # OAuthError, MismatchingStateError, HTTP errors
            raise SignInFailed(f"sign-in refused: {type(error).__name__}: {error}") from error
        claims = token.get("userinfo")
        if not claims or not token.get("id_token"):
            raise SignInFailed("the token response has no ID token")
        return await self._identity(dict(claims), token)

    async def _identity(self, claims: dict[str, Any], token: dict[str, Any]) -> Identity:
        wanted = (self.oidc.email_claim, self.oidc.groups_claim)
        if any(name not in claims for name in wanted) and token.get("access_token"):
            try:
                extra = dict(await self.client.userinfo(token=token))
            except httpx2.TransportError as error:
                raise ProviderUnavailable(f"userinfo request failed: {error!r}") from error
            except httpx2.HTTPError as error:
                raise SignInFailed(f"userinfo refused: {error!r}") from error
            if extra.get("sub") != claims.get("sub"):
                raise SignInFailed("userinfo is about another subject than the ID token")
            claims = {**extra, **claims}
        email = claims.get(self.oidc.email_claim)
        if not isinstance(email, str) or "@" not in email:
            raise SignInFailed(f"no email in claim {self.oidc.email_claim!r}")
        if claims.get("email_verified") is False:
            raise SignInFailed("the provider says the email is not verified")
        email = normalised_email(email)
        name = claims.get("name")
        return Identity(
            email=email,
            name=single_line(name) if isinstance(name, str) and name.strip() else email,
            groups=_groups(claims.get(self.oidc.groups_claim)),
            id_token=str(token["id_token"]),
        )

    async def logout_url(self, id_token: str | None) -> str | None:
        """The provider's end-session address (RP-initiated logout), if it has one."""
        try:
            metadata = await self.metadata()
        except (ProviderUnavailable, SignInFailed):  # our session is over all the same
            logger.warning("could not reach the identity provider for sign-out")
            return None
        endpoint = metadata.get("end_session_endpoint")
        if not endpoint:
            return None
        result = await self.client.create_logout_url(
            post_logout_redirect_uri=self.board.signed_out_uri,
            id_token_hint=id_token,
            client_id=self.oidc.client_id,
        )
        return str(result["url"])
