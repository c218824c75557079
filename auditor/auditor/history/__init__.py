"""History of audit runs: a store of verified report bundles and run-to-run regressions.

``open_store()`` opens the store (SQLite in the state directory by default, or any SQLAlchemy
URL, e.g. PostgreSQL with psycopg); ``HistoryStore.ingest`` verifies and stores a bundle;
``diff_runs`` (``auditor.history.diff``) compares two runs.
"""

from __future__ import annotations

from auditor.history.errors import BundleRefused, HistoryError, RunNotFound, StoreUnavailable
from auditor.history.store import (
    HistoryStore,
    IngestResult,
    PruneResult,
    RebuildResult,
    RunInfo,
    SeriesPoint,
    default_url,
    open_store,
)

__all__ = [
    "BundleRefused", "HistoryError", "HistoryStore", "IngestResult", "PruneResult", "RebuildResult",
    "RunInfo", "RunNotFound", "SeriesPoint", "StoreUnavailable", "default_url", "open_store",
]
