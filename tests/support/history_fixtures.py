"""Fixtures of the history tests: a test signing key and a fresh store on each backend.

Registered as a plugin by the root conftest.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.history import HistoryStore, open_store
from auditor.signing import Ed25519Signer, load_signer
from tests.support.keys import agent_keys


@pytest.fixture(scope="session")
def signer(tmp_path_factory: pytest.TempPathFactory) -> Ed25519Signer:
    """An Ed25519 test key (created with ``init_keys``, as ``auditor keys init`` does)."""
    key_dir = tmp_path_factory.mktemp("history-keys")
    agent_keys(key_dir)
    return load_signer(key_dir)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store: a SQLite file in tmp_path, then a database of the throw-away cluster."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.sqlite'}"
    return str(request.getfixturevalue("pg_db_url"))


@pytest.fixture()
def store(store_url: str) -> Iterator[HistoryStore]:
    with open_store(store_url) as opened:
        yield opened
