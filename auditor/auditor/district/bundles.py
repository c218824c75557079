"""Receiving a bundle upload: spool, unpack safely, check who signed it, verify, ingest.

An upload is a tar archive (optionally gzip-compressed) of a bundle directory, its files at
the archive's root. The body is spooled to a temporary file under the server's data directory
while its SHA-256 is computed; it is unpacked only when complete, its size within the limit and
its digest the one the agent signed, so a partial upload is never looked at. The archive may
hold only regular files and directories below its root: absolute names, ``..``, symbolic and
hard links, devices and FIFOs are refused, as are more files or more bytes than configured.

The envelope's signature must be by a key pinned for the uploading school (not revoked); the
whole bundle is then verified once with that key (``verify_bundle``: the signatures, report.json
against the signed payload, every listed file's size and digests, nothing unlisted), the report
must name that school, and only then is its run stored (``HistoryStore.ingest_verified``, with the
report that verification decoded: the bundle is neither verified nor parsed twice). The bundle is
kept under ``<data_dir>/bundles/<school>/<digest>/``; the digest (SHA-256 of ``report.dsse.json``)
makes the upload idempotent.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tarfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from auditor.bundle import verify_bundle
from auditor.district.db import utcnow
from auditor.district.models import Key, Upload
from auditor.district.schemas import UploadOut
from auditor.district.service import District, Principal
from auditor.errors import VerificationError
from auditor.history import BundleRefused
from auditor.history.store import IngestResult
from auditor.model import ENVELOPE_NAME
from auditor.wire.errors import BadRequest, BundleRejected, Forbidden, TooLarge

CHUNK = 256 * 1024
# The statements of every upload, built once and executed with their parameters: SQLAlchemy then
# neither rebuilds them nor recomputes their cache keys per upload.
_UPLOAD_OF = select(Upload.member, Upload.run_id).where(Upload.digest == bindparam("digest"))
_KEYS_NAMED = select(Key).where(Key.fingerprint.in_(bindparam("keyids", expanding=True)))
_INSERT_UPLOAD = insert(Upload.metadata.tables[Upload.__tablename__])
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC


class Limits:
    def __init__(self, max_bytes: int, max_files: int) -> None:
        self.max_bytes = max_bytes
        self.max_files = max_files


async def spool(chunks: AsyncIterator[bytes], dest: Path, limit: int) -> tuple[str, int]:
    """Write the body to ``dest``; returns (SHA-256, size). Over ``limit`` bytes: TooLarge."""
    digest = hashlib.sha256()
    size = 0
    with dest.open("wb") as fh:
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"the upload is larger than this server accepts ({limit} bytes)")
            digest.update(chunk)
            fh.write(chunk)
    return digest.hexdigest(), size


def _member_problem(member: tarfile.TarInfo) -> str | None:
    path = PurePosixPath(member.name)
    checks = (
        (path.is_absolute(), "an absolute path"),
        (".." in path.parts, "a path that leaves the bundle ('..')"),
        (member.issym(), f"a symbolic link (to {member.linkname!r})"),
        (member.islnk(), "a hard link"),
        (member.ischr() or member.isblk(), "a device file"),
        (member.isfifo(), "a FIFO"),
        (not (member.isreg() or member.isdir()), "a special file"),
    )
    return next((why for bad, why in checks if bad), None)


def safe_extract(archive: Path, dest: Path, limits: Limits) -> None:
    """Unpack ``archive`` into ``dest`` (created), refusing anything but plain files and folders.

    One pass (a gzip stream is decompressed once): each member is checked, then written; on a
    refusal the caller removes ``dest`` with whatever was written before it.

    The members are written here rather than by ``TarFile.extract``: every member has passed
    ``_member_problem`` (no absolute name, no ``..``, no link, device or FIFO) and ``dest`` is
    new, so no symbolic link exists under it and no name can leave it; the standard library's
    ``data`` filter would only repeat that, at a ``realpath`` (a dozen ``lstat`` calls) per member.
    Files are opened with ``O_NOFOLLOW`` all the same, with the permissions the ``data`` filter
    would leave (``_file_mode``; folders 0755); owners are not copied, modification times are."""
    dest.mkdir(parents=True)
    count = total = 0
    made = {dest}  # folders that exist: each is made once (a mkdir is a costly metadata write)
    try:
        with tarfile.open(archive, "r|*") as tar:
            for member in tar:
                problem = _member_problem(member)
                if problem:
                    raise BundleRejected(f"unsafe archive: {member.name!r} is {problem}")
                count, total = count + 1, total + member.size
                if count > limits.max_files:
                    raise BundleRejected(f"the archive holds more than {limits.max_files} files")
                if total > limits.max_bytes:
                    raise BundleRejected(f"the archive unpacks to more than {limits.max_bytes} bytes")
                _write_member(tar, member, dest, made)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BundleRejected(
            f"the upload is not a readable tar archive ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None


def _write_member(tar: tarfile.TarFile, member: tarfile.TarInfo, dest: Path, made: set[Path]) -> None:
    """Write one checked member (a regular file or a folder) below ``dest``; ``made`` holds the
    folders made so far."""
    target = dest.joinpath(*PurePosixPath(member.name).parts)
    folder = target if member.isdir() else target.parent
    if folder not in made:
        folder.mkdir(mode=0o755, parents=True, exist_ok=True)
        made.add(folder)
    if member.isdir():
        return
    source = tar.extractfile(member)
    if source is None:  # not reached: the member is a regular file
        raise tarfile.ExtractError(f"{member.name!r} has no data")
    fd = os.open(target, _FILE_FLAGS, _file_mode(member.mode))
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(source, out, CHUNK)
        out.flush()
        with contextlib.suppress(OSError, OverflowError, ValueError):  # as tarfile: a time is no error
            os.utime(fd, (member.mtime, member.mtime))


def _file_mode(mode: int) -> int:
    """A member's permissions as the ``data`` filter keeps them: no set-id, sticky or group and
    other write bits; executable only if the owner may execute it; always readable and writable
    by the owner (the umask applies)."""
    mode &= 0o755
    if not mode & 0o100:
        mode &= ~0o111
    return mode | 0o600


class Receiver:
    """Accepts uploaded bundles for one district."""

    def __init__(self, district: District) -> None:
        self.district = district
        data = district.config.data_dir
        self.tmp = data / "tmp"
        self.bundles = data / "bundles"
        self.key_dir = data / "keys"
        for d in (self.tmp, self.bundles, self.key_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.limits = Limits(district.config.max_unpacked_bytes, district.config.max_files)

    def spool_path(self) -> Path:
        return self.tmp / f"upload-{uuid.uuid4().hex}.part"

    def clean_stale(self, older_than_s: float = 3600) -> int:
        """Remove spooled or unpacked uploads left by a killed server process."""
        removed = 0
        cutoff = time.time() - older_than_s
        for path in self.tmp.iterdir():
            if path.stat().st_mtime < cutoff:
                shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
                removed += 1
        return removed

    def key_file(self, keyid: str, pem: str) -> Path:
        path = self.key_dir / (keyid.replace(":", "-") + ".pub")
        if not path.exists():
            tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
            tmp.write_text(pem, encoding="ascii")
            tmp.replace(path)
        return path

    def accept(self, who: Principal, digest: str, archive: Path, size: int) -> UploadOut:
        """Unpack, check and ingest a complete upload (the caller removes ``archive``)."""
        assert who.member is not None
        done = self._already(who.member, digest)
        if done is not None:
            return done
        work = self.tmp / f"unpack-{uuid.uuid4().hex}"
        try:
            safe_extract(archive, work, self.limits)
            env_bytes = _envelope_bytes(work, digest)
            key = self._signing_key(who.member, env_bytes)
            key_path = self.key_file(key.fingerprint, key.public_pem)
            report = _verified(work, key_path)
            _check_school(report, who.member, key)
            self._check_sm2(report, key)
            return self._store(who.member, digest, work, key, key_path, report, size)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _already(self, member: str, digest: str) -> UploadOut | None:
        with self.district.db.engine.connect() as conn:
            row = conn.execute(_UPLOAD_OF, {"digest": digest}).first()
        if row is None:
            return None
        if row.member != member:
            raise Forbidden(f"bundle {digest[:12]}… was uploaded by another school")
        return UploadOut(digest=digest, run_id=row.run_id, school=member, status="already")

    def _signing_key(self, member: str, env_bytes: bytes) -> Any:
        try:
            env = json.loads(env_bytes)
            keyids = [str(s["keyid"]) for s in env["signatures"] if isinstance(s, dict)]
        except (ValueError, KeyError, TypeError):
            raise BundleRejected(f"{ENVELOPE_NAME} is not a DSSE envelope (not signed)") from None
        if not keyids:
            raise BundleRejected(f"not signed: {ENVELOPE_NAME} carries no signature")
        with self.district.db.engine.connect() as conn:
            rows = conn.execute(_KEYS_NAMED, {"keyids": keyids}).all()
        ours = [r for r in rows if r.member == member]
        if not ours:
            others = sorted({r.member for r in rows})
            if others:
                raise Forbidden(
                    f"wrong school: the bundle is signed by the key of {', '.join(others)}, "
                    f"not by a key pinned for {member}"
                )
            raise BundleRejected(f"signed by {', '.join(keyids)}, which is not a key pinned for {member}")
        key = ours[0]
        if key.status == "revoked":
            raise BundleRejected(
                f"signed by key {key.fingerprint}, revoked on "
                f"{key.revoked_at:%Y-%m-%d %H:%M} UTC: bundles it signs are no longer accepted"
            )
        return key

    def _store(
        self,
        member: str,
        digest: str,
        work: Path,
        key: Any,
        key_path: Path,
        report: dict[str, Any],
        size: int,
    ) -> UploadOut:
        """Move the verified bundle into place and store its run."""
        final = self.bundles / member / digest
        try:
            _rename(work, final)
        except OSError:
            if not final.is_dir():
                raise
            # An earlier attempt of the same upload left ``final`` there (its process was killed
            # before it recorded the upload). What is stored must be what was verified: verify
            # that copy too; if it does not, this attempt's verified copy replaces it.
            try:
                _verified(final, key_path)
            except BundleRejected:
                shutil.rmtree(final, ignore_errors=True)
                os.rename(work, final)
        try:
            result = self.district.db.store.ingest_verified(final, report, digest, key.fingerprint, True)
        except BundleRefused as exc:
            shutil.rmtree(final, ignore_errors=True)
            raise BundleRejected(str(exc).replace(f"{final}: ", "")) from None
        return record_upload(
            self.district,
            Upload(
                digest=digest,
                member=member,
                key_fingerprint=key.fingerprint,
                bundle_dir=str(final),
                size=size,
                origin="agent",
            ),
            result,
        )

    @staticmethod
    def _check_sm2(report: dict[str, Any], key: Any) -> None:
        """Where the school pinned an SM2 key, the report's SM2 signer must be it (verification
        has checked the SM2 signature with the key the report names)."""
        named = ((report.get("signing") or {}).get("sm2") or {}).get("key_fingerprint")
        if key.sm2_fingerprint and named and named != key.sm2_fingerprint:
            raise BundleRejected(
                f"the SM2 signature is by {named}, not the pinned SM2 key {key.sm2_fingerprint}"
            )


def _rename(work: Path, final: Path) -> None:
    """Move ``work`` to ``final``, making the school's folder the first time; OSError when
    ``final`` exists."""
    try:
        os.rename(work, final)
    except FileNotFoundError:
        final.parent.mkdir(parents=True, exist_ok=True)
        os.rename(work, final)


def _envelope_bytes(work: Path, digest: str) -> bytes:
    try:
        data = (work / ENVELOPE_NAME).read_bytes()
    except OSError:
        raise BundleRejected(f"not signed: the archive has no {ENVELOPE_NAME} at its root") from None
    got = hashlib.sha256(data).hexdigest()
    if got != digest:
        raise BundleRejected(
            f"{ENVELOPE_NAME} has SHA-256 {got[:12]}…, not the digest {digest[:12]}… "
            "the upload was addressed to"
        )
    return data


def _verified(bundle: Path, key_path: Path) -> dict[str, Any]:
    """The report of ``bundle`` once the whole bundle verifies with the pinned key (as
    ``HistoryStore.ingest`` would verify it): the envelope's signature (and the SM2 one where the
    report names an SM2 key), report.json against the signed payload, every listed file's size
    and digests, and no file the report does not list. Raises BundleRejected naming why."""
    try:
        result = verify_bundle(bundle, key_path)
    except VerificationError as exc:
        why = str(exc).replace(f" (checked with the pinned key {key_path})", "")
        raise BundleRejected(f"the signature does not verify with the pinned key: {why}") from None
    if not result.ok or result.report is None:
        raise BundleRejected(
            f"refused, it does not verify ({len(result.problems)} problem(s)): " + "; ".join(result.problems)
        )
    if result.untrusted:  # not reached: a pinned key is trusted once its signature verifies
        raise BundleRejected(f"refused, {result.untrusted_text()}")
    return result.report


def _check_school(report: dict[str, Any], member: str, key: Any) -> None:
    code = ((report.get("site") or {}).get("school") or {}).get("code")
    if code != member:
        raise Forbidden(
            f"wrong school: the signed report is of school {code!r}, but the upload is from {member} "
            f"(key {key.fingerprint[:19]}…)"
        )


def record_upload(district: District, upload: Upload, result: IngestResult) -> UploadOut:
    """Record an upload whose run the history store holds now (an agent's bundle, or a run a
    member district forwarded); a second record of the same digest is ``already``."""
    upload.run_id = result.run.run_id
    upload.uploaded_at = utcnow()
    values = {
        c.name: getattr(upload, c.name)
        for c in Upload.__table__.columns
        if getattr(upload, c.name) is not None
    }
    out = UploadOut(
        digest=upload.digest,
        run_id=result.run.run_id,
        school=upload.member,
        status="already" if result.already_ingested else "ingested",
    )
    try:
        with district.db.writer.begin() as conn:
            conn.execute(_INSERT_UPLOAD, values)
    except IntegrityError:
        return out.model_copy(update={"status": "already"})
    return out


def check_digest(value: str) -> str:
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise BadRequest("the bundle digest must be 64 lower-case hex digits (SHA-256 of report.dsse.json)")
    return value
