"""HTTPS to the district server: TLS verified against the pinned district CA, every request signed.

Used by the agent and by a district forwarding to its city server (same API, same scheme).
"""

from __future__ import annotations

import hashlib
import json
import ssl
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from auditor.signing import Signer
from auditor.wire.errors import AgentError
from auditor.wire.monitoring import SampleBatch
from auditor.wire.protocol import EMPTY_SHA256, sign_headers

USER_AGENT = "campus-auditor-agent/1"
SAMPLES_PATH = "/api/v1/samples"


@dataclass(frozen=True)
class SamplesAnswer:
    """The district's answer to a batch of samples: how many it stored, and whether it had the
    batch already (a retry)."""

    accepted: int
    duplicate: bool


class ServerError(AgentError):
    """The server answered with an error status (``status``; ``detail`` is its reason)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"the district server answered {status}: {detail}")
        self.status = status
        self.detail = detail

    @property
    def permanent(self) -> bool:
        """A 4xx other than timeout/too-early/too-many: retrying the same request cannot help."""
        return 400 <= self.status < 500 and self.status not in {408, 425, 429}


class Unreachable(AgentError):
    """No answer: connection refused or reset, timeout, TLS failure."""


def tls_context(ca: Path | None) -> ssl.SSLContext | bool:
    """Verify the server against ``ca`` only (the district's CA, pinned), else the system's CAs."""
    if ca is None:
        return True
    try:
        return ssl.create_default_context(cafile=str(ca))
    except (OSError, ssl.SSLError) as exc:
        raise AgentError(f"{ca}: not a readable CA certificate (PEM): {exc}") from None


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail) if detail else (response.text[:300] or response.reason_phrase)


class SignedClient:
    """Signed requests to one server as one member."""

    def __init__(
        self, base_url: str, ca: Path | None, signer: Signer | None, member: str | None, timeout: float = 60.0
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in {"https", "http"} or not parts.netloc:
            raise AgentError(f"{base_url}: not a server URL (https://host:port)")
        self.base = base_url.rstrip("/")
        self.prefix = parts.path.rstrip("/")
        self.signer = signer
        self.member = member
        self.http = httpx.Client(
            base_url=self.base,
            verify=tls_context(ca),
            timeout=timeout,
            headers={"user-agent": USER_AGENT},
            trust_env=False,
        )

    def close(self) -> None:
        self.http.close()

    def _headers(self, method: str, path: str, digest: str) -> dict[str, str]:
        if self.signer is None or self.member is None:
            return {}
        return sign_headers(self.signer, self.member, method, self.prefix + path, digest)

    def call(self, method: str, path: str, body: Any = None, timeout: float | None = None) -> Any:
        """A JSON request; returns the decoded JSON answer. Raises ServerError or Unreachable."""
        data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        headers = self._headers(method, path, hashlib.sha256(data).hexdigest() if data else EMPTY_SHA256)
        if data:
            headers["content-type"] = "application/json"
        return self._send(method, path, headers, data, timeout)

    def post_samples(self, batch: SampleBatch, timeout: float | None = None) -> SamplesAnswer:
        """``POST /api/v1/samples``: one batch of monitoring samples (idempotent by its
        ``batch_id``). Returns the server's answer; raises ServerError or Unreachable."""
        answer = self.call("POST", SAMPLES_PATH, batch.model_dump(mode="json", by_alias=True), timeout)
        if not isinstance(answer, dict) or not isinstance(answer.get("accepted"), int):
            raise ServerError(200, f"the answer to {SAMPLES_PATH} is not {{accepted, duplicate}}: "
                                   f"{str(answer)[:200]}")
        return SamplesAnswer(accepted=answer["accepted"], duplicate=bool(answer.get("duplicate")))

    def put_file(
        self,
        path: str,
        file: Path,
        content_sha256: str,
        rate: float | None = None,
        media_type: str = "application/gzip",
    ) -> Any:
        """Stream ``file`` as the body (at most ``rate`` bytes/s when given)."""
        size = file.stat().st_size
        headers = self._headers("PUT", path, content_sha256)
        headers.update({"content-type": media_type, "content-length": str(size)})
        return self._send("PUT", path, headers, _chunks(file, rate), None)

    def _send(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        content: bytes | Iterable[bytes],
        timeout: float | None,
    ) -> Any:
        try:
            response = self.http.request(
                method,
                path,
                headers=headers,
                content=content,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.TransportError as exc:
            raise Unreachable(f"{self.base}: {type(exc).__name__}: {str(exc)[:200] or 'no answer'}") from None
        if response.status_code >= 400:
            raise ServerError(response.status_code, _detail(response))
        try:
            return response.json()
        except ValueError:
            raise ServerError(response.status_code, "the answer is not JSON") from None


def _chunks(file: Path, rate: float | None, size: int = 64 * 1024) -> Iterator[bytes]:
    import time  # noqa: PLC0415

    started = time.monotonic()
    sent = 0
    with file.open("rb") as fh:
        while chunk := fh.read(size):
            yield chunk
            sent += len(chunk)
            if rate:
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
