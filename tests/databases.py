"""A PostgreSQL database of one's own for tests and benchmarks: created, migrated, dropped."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from models.db import get_engine
from models.migrate import upgrade


@contextmanager
def scratch_postgres_database(admin_url: str, *, prefix: str) -> Iterator[str]:
    """Create ``<prefix>_<random>`` next to ``admin_url``'s database, migrate it, yield its URL
    and drop it afterwards (forcing out connections a test left open)."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        get_engine(url).dispose()
        get_engine.cache_clear()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
