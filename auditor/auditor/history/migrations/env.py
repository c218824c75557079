"""Alembic environment of the history store.

The store runs the migrations itself (``auditor.history.store``) and hands over its connection
in ``config.attributes["connection"]``; no ``alembic.ini`` is needed. A maintainer writing a new
revision can still use the ``alembic`` command with an ini file whose ``script_location`` points
here and whose ``sqlalchemy.url`` names a scratch database.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from auditor.history.models import Base


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    """Run the migrations on the store's connection, or on ``sqlalchemy.url`` from an ini."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection given and no sqlalchemy.url configured")
    engine = create_engine(url)
    with engine.connect() as conn:
        _migrate(conn)
    engine.dispose()


run()
