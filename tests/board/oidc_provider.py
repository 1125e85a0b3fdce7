"""A real OpenID Connect provider for the board's tests: panva's ``oidc-provider`` (npm, the
OpenID-certified implementation) run by the machine's node, behind a small proxy of ours.

The provider's issuer is the proxy's address, so every request and redirect goes through it.
The proxy passes everything on unchanged, except that a test may ``alter`` the provider's token
response: the tests hold the provider's signing key (they generated it), so they can re-sign an
ID token with one claim changed (a wrong audience, nonce, issuer, expiry: still a valid
signature) or sign it with another key (a wrong signature).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey

from web.server import free_port, serving

HERE = Path(__file__).resolve().parent
PROVIDER_DIR = HERE / "oidc"

ACCOUNTS: dict[str, dict[str, Any]] = {
    "sara": {"email": "sara.lind@univ.example", "name": "Sara Lind", "groups": ["staff"]},
    "johan": {"email": "Johan.Ek@UNIV.example", "name": "Johan Ek", "groups": ["staff"]},
    "lena": {
        "email": "lena.grupp@univ.example",
        "name": "Lena Grupp",
        "groups": ["staff", "paus-coordinators"],
    },
    "karin": {
        "email": "karin.admin@univ.example",
        "name": "Karin Admin",
        "groups": ["mobility-admins"],
    },
    "olle": {"email": "olle.utanfor@univ.example", "name": "Olle Utanför", "groups": ["staff"]},
    "unverified": {
        "email": "sara.lind@univ.example",
        "name": "Not Sara",
        "groups": [],
        "email_verified": False,
    },
}
"""login → the claims the provider vouches for (Johan's address in odd case on purpose)."""

TokenAlteration = Callable[[dict[str, Any]], dict[str, Any]]


def node_and_provider_missing() -> str | None:
    """Why the provider cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        return f"the provider is not installed: run `make oidc-provider` (npm ci in {PROVIDER_DIR})"
    return None


class TokenProxy:
    """ASGI: forwards every request to the provider; ``alter`` rewrites a token response."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        """The provider's own address (the issuer is the proxy's)."""
        self.alter: TokenAlteration | None = None
        self.token_responses = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        skip = {b"content-length", b"accept-encoding", b"connection"}
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"] if k not in skip]
        query = scope.get("query_string", b"").decode()
        url = f"{self.upstream}{scope['path']}" + (f"?{query}" if query else "")
        async with httpx.AsyncClient(timeout=30) as client:
            try:
                answer = await client.request(scope["method"], url, headers=headers, content=body)
            except httpx.ConnectError:  # the provider is still starting
                answer = httpx.Response(502, content=b"the provider is not up yet")
        content = answer.content
        if scope["path"] == "/token" and answer.status_code == 200:
            self.token_responses += 1
            if self.alter is not None:
                content = json.dumps(self.alter(answer.json())).encode()
        dropped = {"content-length", "content-encoding", "transfer-encoding", "connection"}
        raw = [
            (k.encode(), v.encode()) for k, v in answer.headers.multi_items() if k not in dropped
        ]
        raw.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": answer.status_code, "headers": raw})
        await send({"type": "http.response.body", "body": content})


@dataclass
class Provider:
    issuer: str
    key: RSAKey
    registration_token: str
    proxy: TokenProxy
    clients: list[str] = field(default_factory=list)

    def register_client(self, base_url: str) -> tuple[str, str]:
        """A client of the board at ``base_url`` (dynamic registration): (id, secret)."""
        response = httpx.post(
            f"{self.issuer}/reg",
            headers={"Authorization": f"Bearer {self.registration_token}"},
            json={
                "redirect_uris": [f"{base_url}/board/auth/callback"],
                "post_logout_redirect_uris": [f"{base_url}/board/signed-out"],
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_basic",
            },
            timeout=10,
        )
        assert response.status_code == 201, response.text
        client = response.json()
        self.clients.append(client["client_id"])
        return client["client_id"], client["client_secret"]


@contextlib.contextmanager
def running_provider(work: Path) -> Iterator[Provider]:
    key = RSAKey.generate_key(
        2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"}, private=True
    )
    provider_port = free_port()
    proxy = TokenProxy(f"http://127.0.0.1:{provider_port}")
    with serving(proxy, log_level="warning") as issuer:
        config = {
            "issuer": issuer,
            "port": provider_port,
            "keys": [key.as_dict(private=True)],
            "accounts": ACCOUNTS,
            "registration_token": secrets.token_urlsafe(16),
            "cookie_key": secrets.token_urlsafe(16),
        }
        config_file = work / "oidc-provider.json"
        config_file.write_text(json.dumps(config))
        log = (work / "oidc-provider.log").open("w")
        process = subprocess.Popen(
            ["node", str(PROVIDER_DIR / "provider.mjs"), str(config_file)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "NODE_ENV": "test"},
        )
        try:
            _wait_for(f"{issuer}/.well-known/openid-configuration", process, work)
            yield Provider(issuer, key, config["registration_token"], proxy)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
            log.close()


def _wait_for(url: str, process: subprocess.Popen[bytes], work: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((work / "oidc-provider.log").read_text())
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the OpenID provider did not answer at {url}")


# --- altering the ID token in the token response -------------------------------------------


def id_token_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def resigned(change: Callable[[dict[str, Any]], None], *, key: RSAKey) -> TokenAlteration:
    """The token response with its ID token's claims changed and signed with ``key``."""

    def alter(response: dict[str, Any]) -> dict[str, Any]:
        claims = id_token_claims(response["id_token"])
        change(claims)
        header = {"alg": "RS256", "kid": key.kid, "typ": "JWT"}
        return {**response, "id_token": jwt.encode(header, claims, key)}

    return alter


def unsigned(response: dict[str, Any]) -> dict[str, Any]:
    """The ID token with ``alg: none`` and no signature."""
    claims = id_token_claims(response["id_token"])
    head = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return {**response, "id_token": f"{head}.{body}."}


def without_id_token(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "id_token"}


def another_key() -> RSAKey:
    """A key of the same name that the provider never published."""
    return RSAKey.generate_key(
        2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"}, private=True
    )
