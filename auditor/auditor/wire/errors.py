"""Errors of the district server and its agents, in the project's hierarchy (``auditor.errors``).

Each error the HTTP API returns carries its status code; the message is the JSON ``detail``
and names why, never a secret.
"""

from __future__ import annotations

from auditor.errors import AuditorError, ServiceUnavailable


class DistrictError(AuditorError):
    """A district request cannot be carried out (the CLI exits 2; the API answers ``status``)."""

    status: int = 400


class BadRequest(DistrictError):
    """The request is malformed (bad JSON, missing field, body not matching its signed digest)."""

    status = 400


class Unauthenticated(DistrictError):
    """The request is not signed, or its signature, key, time or nonce is not acceptable."""

    status = 401


class Forbidden(DistrictError):
    """Authenticated, but not allowed: another school's data, or an admin-only request."""

    status = 403


class NotFound(DistrictError):
    """No such school, job, run or key."""

    status = 404


class Conflict(DistrictError):
    """The request conflicts with the stored state (a job already finished otherwise...)."""

    status = 409


class TooLarge(DistrictError):
    """The upload is larger than the server's configured limit."""

    status = 413


class BundleRejected(DistrictError):
    """An uploaded bundle was refused (unsigned, tampered, unsafe archive, unknown key): stored nowhere."""

    status = 422


class Unavailable(DistrictError, ServiceUnavailable):
    """The database is down; nothing was stored, retry later (the CLI exits 5)."""

    status = 503


class AgentError(AuditorError):
    """The agent cannot carry on (not enrolled, bad configuration, server refused permanently)."""
