from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the product reads from its environment.

    Defaults make a laptop work with no configuration at all: a SQLite file and the
    local mail catcher under ``./var/``.
    """

    model_config = SettingsConfigDict(
        env_prefix="MOBILITY_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    var_dir: Path = Path("var")
    database_url: str = ""
    base_url: str = "http://127.0.0.1:8000"
    timezone: str = "Europe/Stockholm"
    secret_key: SecretStr | None = None

    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 30.0
    mail_from: str = "Mobility Engine <mobility@localhost>"
    ops_email: str = ""
    """Comma-separated addresses the Prefect automations alert (a failed sweep or delivery, a
    dead email); empty: the automations are created without an action that sends."""
    catcher_port: int = 8025

    token_valid_days: int = Field(default=30, ge=1)
    delivery_batch_size: int = Field(default=200, ge=1)
    delivery_parallel_connections: int = Field(default=3, ge=1, le=20)
    delivery_lease_seconds: int = Field(default=300, ge=10)
    # A delivery run claims no new batch after this long: runs stay short and visible, and a
    # run that stopped with mail left announces it, so the trigger starts the next at once.
    delivery_run_seconds: float = Field(default=240.0, gt=0)
    delivery_give_up_hours: float = Field(default=48.0, gt=0)
    agreement_templates_dir: Path | None = None
    """Where programmes' own agreement templates live (default: ``<var_dir>/agreement-templates``);
    a programme names a file inside it, and nothing outside it is ever read as a template."""
    proposal_files_dir: Path | None = None
    """Where the ``register-proposals`` flow reads proposals files from (default:
    ``<var_dir>/proposal-files``): a run form names a file inside it, never any other path."""
    retention_days: int = Field(default=3 * 365, ge=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # The coordinator's board (web/board): OpenID Connect sign-in; without an issuer, a
    # development sign-in that works only on 127.0.0.1.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_scopes: str = "openid email profile"
    oidc_email_claim: str = "email"
    oidc_groups_claim: str = "groups"
    board_admins: str = ""
    """Comma-separated emails and IdP group values that see every programme."""
    board_idle_minutes: int = Field(default=30, ge=1)
    board_absolute_hours: float = Field(default=8.0, gt=0)
    board_page_size: int = Field(default=100, ge=1)
    """Rows per page of a programme's placements on the board."""
    dev_coordinator: str | None = None
    """Development sign-in only: the one coordinator offered (default: a choice among all)."""

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.var_dir / 'mobility.db').as_posix()}"

    @property
    def mail_dir(self) -> Path:
        return self.var_dir / "mail"

    @property
    def agreement_templates_path(self) -> Path:
        return self.agreement_templates_dir or self.var_dir / "agreement-templates"

    @property
    def proposal_files_path(self) -> Path:
        return self.proposal_files_dir or self.var_dir / "proposal-files"

    @property
    def uses_mail_catcher(self) -> bool:
        return not self.smtp_host

    def resolved_secret_key(self) -> bytes:
        """The key that derives link tokens; generated once per ``var/`` in development."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        key_file = self.var_dir / "secret_key"
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_hex(32))
            key_file.chmod(0o600)
        return key_file.read_text().strip().encode()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
