"""Alembic environment: runs with the URL given by remiss.db.alembic_config."""

from __future__ import annotations

from alembic import context

from remiss.db.engine import get_engine
from remiss.db.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "sqlalchemy.url is set by remiss.db.alembic_config"

with get_engine(url).connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
