"""Alembic environment of the district tables.

They share a database with the history store (``auditor.history``), so this chain keeps its own
version table, ``district_alembic_version``, and only ever looks at tables named ``district_*``.
The server runs the migrations itself and hands over its connection in
``config.attributes["connection"]``; no ``alembic.ini`` is needed.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection

from auditor.district.models import VERSION_TABLE, Base


def _ours(name: str | None, type_: str, _parent: Any) -> bool:
    return type_ != "table" or bool(name and name.startswith("district_"))


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        include_name=_ours,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("the district migrations run on the server's connection (auditor district init)")
_migrate(connection)
