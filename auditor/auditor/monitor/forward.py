"""Forwarding batches to the district with the agent's signed client (``POST /api/v1/samples``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from auditor.monitor.loop import Refused, Retry
from auditor.signing import load_signer
from auditor.wire.client import ServerError, SignedClient, Unreachable
from auditor.wire.monitoring import SampleBatch


class SignedUploader:
    """Sends batches as the enrolled agent (its member code and Ed25519 key)."""

    def __init__(self, server: str, ca: Path | None, key_dir: Path, member: str, timeout: float = 30) -> None:
        self.client = SignedClient(server, ca, load_signer(key_dir), member, timeout=timeout)

    def close(self) -> None:
        self.client.close()

    def send(self, batch: SampleBatch) -> dict[str, Any]:
        try:
            answer = self.client.post_samples(batch)
        except Unreachable as exc:
            raise Retry(str(exc)) from None
        except ServerError as exc:
            if exc.permanent:
                raise Refused(str(exc)) from None
            raise Retry(str(exc)) from None
        return {"accepted": answer.accepted, "duplicate": answer.duplicate}


def district_endpoint(server: str) -> tuple[str, int]:
    """The district server's host and TCP port, from its URL."""
    parts = urlsplit(server)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
