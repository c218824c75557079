"""The district database: the history store's tables plus the ``district_*`` tables.

``open_database(url)`` opens (and creates or upgrades) both schemas, each with its own Alembic
chain and version table. On PostgreSQL the upgrade runs under an advisory lock, so several
server processes starting at once do not race, and the engine pings pooled connections, so a
database that was restarted is reconnected to without a failed request per pooled connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from auditor.district.models import SCHEMA_HEAD, VERSION_TABLE
from auditor.history import HistoryStore, open_store
from auditor.wire.errors import Unavailable

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_LOCK_ID = 7_220_011  # pg_advisory_lock key of the schema upgrade


def utcnow() -> datetime:
    """Naive UTC, whole seconds dropped below the microsecond (as the history store keeps times)."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class Database:
    """The history store and the engine both sets of tables are reached through."""

    store: HistoryStore
    url: str

    @property
    def engine(self) -> Engine:
        return self.store.engine

    @property
    def writer(self) -> Engine:
        """For write transactions: on SQLite they take the write lock when they begin (the
        history store's ``history_write`` execution option), so they never fail half way."""
        return self.engine.execution_options(history_write=True)

    @property
    def label(self) -> str:
        return self.store.label

    def close(self) -> None:
        self.store.close()


def revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    value = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()  # noqa: S608 - a constant
    return None if value is None else str(value)


def _upgrade(engine: Engine) -> None:
    from alembic import command  # noqa: PLC0415 - only when the schema changes
    from alembic.config import Config  # noqa: PLC0415

    with engine.execution_options(history_write=True).begin() as conn:
        if revision(conn) == SCHEMA_HEAD:
            return
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


@contextmanager
def _schema_lock(url: str) -> Iterator[None]:
    """On PostgreSQL, one process at a time creates or upgrades the schemas."""
    if make_url(url).get_backend_name() != "postgresql":
        yield
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text(f"SELECT pg_advisory_lock({_LOCK_ID})"))
            try:
                yield
            finally:
                conn.execute(text(f"SELECT pg_advisory_unlock({_LOCK_ID})"))
    finally:
        engine.dispose()


def open_database(url: str) -> Database:
    """Open the district database at ``url``, creating or upgrading both schemas."""
    try:
        with _schema_lock(url):
            store = open_store(url)
            _upgrade(store.engine)
    except SQLAlchemyError as exc:
        raise Unavailable(
            f"district database {_safe(url)}: cannot open: {str(getattr(exc, 'orig', None) or exc).strip()}"
        ) from None
    if store.engine.dialect.name == "postgresql":
        engine = create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=16)
        store.close()
        store = HistoryStore(engine, store.label)
    return Database(store, url)


def _safe(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unreadable URL>"
