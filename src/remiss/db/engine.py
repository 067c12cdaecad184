"""Engine, sessions and migrations for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from remiss.core.errors import RemissError

MIGRATIONS = Path(__file__).parent / "migrations"


_READ_ONLY = "remiss_read_only"


def _begin(connection: Any) -> None:
    if connection.get_execution_options().get(_READ_ONLY):
        # A reader takes no lock: under WAL it reads a snapshot while the writer writes.
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    # pysqlite's own implicit BEGIN is switched off; _begin_immediate starts transactions.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets the answer page read while a flow writes; foreign keys are off by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        # Take the write lock when a transaction begins: a transaction that reads and then
        # writes (claims, versions) would otherwise fail with "database is locked" instead
        # of waiting when another one commits in between. `read_scope` takes none.
        event.listen(engine, "begin", _begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str) -> None:
    """Bring the database schema up to date (creates it if empty)."""
    command.upgrade(alembic_config(url), "head")


def shown_url(url: str) -> str:
    """The database's address as printed and logged: never with its password."""
    return make_url(url).render_as_string(hide_password=True)


def schema_is_current(url: str) -> bool:
    """Whether the database is at the newest migration; RemissError if it cannot be reached."""
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    try:
        with get_engine(url).connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        raise RemissError(
            f"Kan inte ansluta till databasen ({shown_url(url)}): {exc.orig}"
        ) from exc
    return current == head


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """The unit of work, and the only way to open a transaction: it commits on success and
    rolls back on error."""
    with _sessions(get_engine(url))() as session, session.begin():
        yield session


# One factory per database, not one per transaction: the answer page opens a transaction
# per view, and a new sessionmaker (and read-only engine) each time showed in its profile.
@lru_cache(maxsize=8)
def _sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@lru_cache(maxsize=8)
def _read_sessions(engine: Engine) -> sessionmaker[Session]:
    reader = engine.execution_options(**{_READ_ONLY: True})
    factory = sessionmaker(reader, expire_on_commit=False, autoflush=False)
    event.listen(factory, "before_flush", _refuse_flush)
    return factory


def _refuse_flush(session: Session, *_: object) -> None:
    raise RemissError("a read-only transaction (read_scope) may not write")


@contextmanager
def read_scope(url: str) -> Iterator[Session]:
    """A transaction that only reads, for work that takes time (building a report): on
    SQLite it begins deferred and so never holds the write lock, which `session_scope`
    takes at once; nobody waits for it. Any write is refused before it reaches the
    database. Write the results afterwards in a short `session_scope`."""
    with _read_sessions(get_engine(url))() as session, session.begin():
        yield session
        # What was read stays readable afterwards; a change made to it is not written.
        session.expunge_all()


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """A nested transaction in the unit of work: an error inside undoes only what it did."""
    with session.begin_nested():
        yield
