"""The evidence store: raw artifacts written into the bundle, hashed as they are written."""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path

from auditor.model import Artifact
from auditor.secrets import SecretResolver
from auditor.smcrypto import sm3_hex

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str) -> str:
    """A file-name-safe version of ``text`` (ids are already safe; this guards the rest)."""
    cleaned = _SAFE.sub("-", text).strip("-.")
    return cleaned or "item"


def _is_text(media_type: str) -> bool:
    """Text artifacts are masked; binary ones (a pcap) are kept byte for byte: decoding them as
    text would corrupt them, and the probes that write them carry no credentials."""
    return media_type.startswith("text/") or media_type.split(";", 1)[0].endswith(
        ("json", "xml", "yaml", "x-diff"))


class EvidenceStore:
    """Writes artifacts under ``<bundle>/evidence/`` and remembers their digests.

    Every artifact is passed through the secret resolver's mask first, so a credential that
    a tool echoed can never land in the bundle.
    """

    def __init__(self, bundle: Path, secrets: SecretResolver) -> None:
        self.bundle = bundle
        self._secrets = secrets
        self._artifacts: dict[str, Artifact] = {}
        self._lock = threading.Lock()

    def put(self, relpath: str, data: bytes, media_type: str, description: str) -> Artifact:
        """Store ``data`` at ``evidence/<relpath>``; return the artifact record."""
        parts = [safe_name(p) for p in relpath.split("/")]
        rel = "/".join(["evidence", *parts])
        if self._secrets.values and _is_text(media_type):
            data = self._secrets.mask(data.decode("utf-8", "replace")).encode("utf-8")
        with self._lock:
            rel = self._unique(rel)
            target = self.bundle / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            artifact = Artifact(
                path=rel,
                sha256=hashlib.sha256(data).hexdigest(),
                sm3=sm3_hex(data),
                size=len(data),
                media_type=media_type,
                description=description,
            )
            self._artifacts[rel] = artifact
        return artifact

    def _unique(self, rel: str) -> str:
        if rel not in self._artifacts:
            return rel
        stem, dot, ext = rel.rpartition(".")
        n = 2
        while f"{stem}-{n}{dot}{ext}" in self._artifacts:
            n += 1
        return f"{stem}-{n}{dot}{ext}"

    @property
    def artifacts(self) -> list[Artifact]:
        return sorted(self._artifacts.values(), key=lambda a: a.path)
