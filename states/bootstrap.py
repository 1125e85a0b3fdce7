"""Wire the real adapters once; entry points (CLI, web, flows) start here, tests may pass others."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from config import Settings, get_settings
from models.db import get_engine, peeking_engine
from states.addresses import AddressError, ascii_domain
from states.tokens import TokenMinter
from states.unit_of_work import ConnectionUnitOfWork, ServiceConfig, UnitOfWork


@dataclass(frozen=True)
class App:
    settings: Settings
    engine: Engine
    config: ServiceConfig

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine, self.config)

    def reading(self) -> UnitOfWork:
        return UnitOfWork(self.engine, self.config, read_only=True)

    def peeking(self) -> ConnectionUnitOfWork:
        """A read on connections that cannot write, each statement on its own
        (``models.db.get_peeking_engine``), with no ORM session: the emailed link's GET (a
        session's begin and close were a quarter of ``open_link``)."""
        return ConnectionUnitOfWork(peeking_engine(self.engine))


def message_id_domain(mail_from: str) -> str:
    """The sender's domain, in ASCII: a Message-ID header holds no Unicode."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2]
    try:
        return ascii_domain(domain) if domain else "mobility.localhost"
    except AddressError:
        return "mobility.localhost"


def sender_domain_is_local(mail_from: str) -> bool:
    """The sender's domain names nobody's mail server (``localhost``, ``*.localhost``): From,
    the Message-IDs and the calendar events' UIDs would all say so. A deployer sets
    ``MOBILITY_MAIL_FROM`` to an address of their own domain."""
    domain = message_id_domain(mail_from).lower()
    return domain == "localhost" or domain.endswith(".localhost")


def bootstrap(settings: Settings | None = None) -> App:
    settings = settings or get_settings()
    config = ServiceConfig(
        minter=TokenMinter(
            secret=settings.resolved_secret_key(),
            valid_for=timedelta(days=settings.token_valid_days),
        ),
        message_id_domain=message_id_domain(settings.mail_from),
        timezone=ZoneInfo(settings.timezone),
        agreement_templates_dir=settings.agreement_templates_path,
    )
    return App(settings=settings, engine=get_engine(settings.resolved_database_url), config=config)
