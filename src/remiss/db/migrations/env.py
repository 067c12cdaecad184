"""Alembic environment: runs with the URL given by remiss.db.engine.alembic_config."""

from __future__ import annotations

from alembic import context

from remiss.db.engine import get_engine
from remiss.db.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "sqlalchemy.url is set by remiss.db.engine.alembic_config"

with get_engine(url).connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    raw = connection.connection.driver_connection
    assert raw is not None
    if sqlite:
        # SQLite adds a CHECK constraint by recreating the table; with foreign keys on,
        # dropping the old table would fail (or cascade). The pragma only takes effect
        # outside a transaction, so it is set on the raw connection before one begins.
        raw.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection, target_metadata=Base.metadata, render_as_batch=sqlite
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
        if sqlite:
            broken = raw.execute("PRAGMA foreign_key_check").fetchall()
            assert not broken, f"foreign keys broken by the migration: {broken[:5]}"
    finally:
        if sqlite:
            raw.execute("PRAGMA foreign_keys=ON")
