"""The agent's on-disk queue of bundles waiting to be uploaded (store and forward).

``<home>/outbox/<entry>/`` holds the bundle directory, the archive that is uploaded
(``bundle.tar.gz``, made once, so every retry sends the same bytes) and ``meta.json`` (digest,
archive SHA-256, job, attempts, next attempt). An entry appears by an atomic rename of a
finished directory, so a crash never leaves a half-made entry in the queue; ``meta.json`` is
replaced atomically. Delivered entries move to ``sent/`` (the archive is dropped; the bundle
stays as the school's copy), refused ones to ``rejected/`` with the server's reason.

Back-off is capped exponential with jitter: after the n-th failure the next attempt waits a
random time between half and all of ``min(cap, base * 2**(n-1))``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
import shutil
import tarfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from auditor.model import ENVELOPE_NAME
from auditor.wire.errors import AgentError

ARCHIVE = "bundle.tar.gz"


@dataclass
class Meta:
    digest: str  # SHA-256 of report.dsse.json: the bundle's identity at the server
    archive_sha256: str
    size: int
    created: float
    job_id: str | None = None
    attempts: int = 0
    next_attempt: float = 0.0
    last_error: str | None = None


@dataclass
class Entry:
    path: Path
    meta: Meta

    @property
    def bundle(self) -> Path:
        return self.path / "bundle"

    @property
    def archive(self) -> Path:
        return self.path / ARCHIVE


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _reset(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o644 if info.isfile() else 0o755
    return info


def pack(bundle: Path, archive: Path) -> tuple[str, int]:
    """A gzip tar of the bundle's files at its root (regular files and folders only)."""
    with (
        archive.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for path in sorted(bundle.rglob("*")):
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                raise AgentError(f"{path}: the bundle holds something that is not a plain file")
            tar.add(path, arcname=path.relative_to(bundle).as_posix(), recursive=False, filter=_reset)
    data = hashlib.sha256()
    with archive.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            data.update(chunk)
    return data.hexdigest(), archive.stat().st_size


class Outbox:
    """Bundles waiting for upload, and what became of those that left."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.queue = home / "outbox"
        self.sent = home / "sent"
        self.rejected = home / "rejected"
        self.work = home / "work"
        for d in (self.queue, self.sent, self.rejected, self.work):
            d.mkdir(parents=True, exist_ok=True)

    def add(self, bundle: Path, job_id: str | None = None, move: bool = True) -> Entry:
        """Queue a finished bundle directory (moved, or copied with ``move=False``)."""
        try:
            digest = hashlib.sha256((bundle / ENVELOPE_NAME).read_bytes()).hexdigest()
        except OSError:
            raise AgentError(f"{bundle}: no {ENVELOPE_NAME}: not a signed bundle") from None
        for existing in self.entries():
            if existing.meta.digest == digest:
                return existing
        name = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{digest[:12]}"
        staging = self.work / f".{name}.{uuid.uuid4().hex}"
        staging.mkdir()
        if move:
            shutil.move(str(bundle), staging / "bundle")
        else:
            shutil.copytree(bundle, staging / "bundle", symlinks=True)
        sha, size = pack(staging / "bundle", staging / ARCHIVE)
        meta = Meta(digest=digest, archive_sha256=sha, size=size, created=time.time(), job_id=job_id)
        _write_json(staging / "meta.json", asdict(meta))
        final = self.queue / name
        os.rename(staging, final)
        return Entry(final, meta)

    def entries(self) -> list[Entry]:
        out = []
        for path in sorted(self.queue.iterdir()):
            try:
                meta = Meta(**json.loads((path / "meta.json").read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                continue
            out.append(Entry(path, meta))
        return out

    def due(self, now: float | None = None) -> list[Entry]:
        now = time.time() if now is None else now
        return [e for e in self.entries() if e.meta.next_attempt <= now]

    def retry_later(
        self, entry: Entry, error: str, base: float, cap: float, rng: random.Random | None = None
    ) -> float:
        """Record a failed attempt; returns the delay before the next one."""
        entry.meta.attempts += 1
        ceiling = min(cap, base * 2 ** (entry.meta.attempts - 1))
        delay = (rng or random).uniform(ceiling / 2, ceiling)
        entry.meta.next_attempt = time.time() + delay
        entry.meta.last_error = error[:500]
        _write_json(entry.path / "meta.json", asdict(entry.meta))
        return delay

    def delivered(self, entry: Entry, answer: dict[str, Any]) -> Path:
        entry.archive.unlink(missing_ok=True)
        _write_json(entry.path / "delivered.json", {**answer, "at": time.time()})
        return self._move(entry, self.sent)

    def refused(self, entry: Entry, reason: str) -> Path:
        (entry.path / "rejected.txt").write_text(reason + "\n", encoding="utf-8")
        return self._move(entry, self.rejected)

    @staticmethod
    def _move(entry: Entry, where: Path) -> Path:
        target = where / entry.path.name
        if target.exists():
            target = where / f"{entry.path.name}-{uuid.uuid4().hex[:6]}"
        os.rename(entry.path, target)
        return target
