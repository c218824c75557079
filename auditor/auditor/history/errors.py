"""Errors of the history store, in the project's hierarchy (``auditor.errors``)."""

from __future__ import annotations

from auditor.errors import InputError


class HistoryError(InputError):
    """A history-store request cannot be carried out (the CLI exits 2)."""


class BundleRefused(HistoryError):
    """A bundle was not ingested: it does not verify, or it is not a report this store keeps."""


class RunNotFound(HistoryError):
    """A run reference (id, id prefix or bundle directory) matches no run, or several."""


class StoreUnavailable(HistoryError):
    """The store's database cannot be opened or upgraded (bad URL, server down, no access)."""
