"""The report bundle on disk: write it signed, and verify it offline.

Layout of a bundle directory::

    report.json          the report, canonical JSON (RFC 8785): exactly the signed payload
    report.dsse.json     DSSE envelope (Ed25519) over report.json
    agent-ed25519.pub    the agent's public key (its fingerprint is inside the report)
    report.md ...        renderings; their SHA-256 are listed in the report
    evidence/...         raw artifacts; their SHA-256 are listed in the report
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.hazmat.primitives import hashes

from auditor.errors import AuditorError, InputError, VerificationError
from auditor.evidence import EvidenceStore
from auditor.model import ENVELOPE_NAME, REPORT_NAME, Artifact, JsonDict
from auditor.plugins import Registry, Renderer, RenderOptions
from auditor.secrets import SecretResolver
from auditor.signing import (
    PUBLIC_NAME,
    Signer,
    check_signature,
    envelope,
    fingerprint,
    load_public_key,
    open_envelope,
)
from auditor.smcrypto import SM2_PUBLIC_NAME, load_sm2_public_key, sm3_hex
from auditor.trust import TrustedKeys, load_trust_store

_FIXED = {REPORT_NAME, ENVELOPE_NAME, PUBLIC_NAME, SM2_PUBLIC_NAME}


def prepare_out_dir(out: Path) -> None:
    """Check that ``out`` can take a new bundle (absent, or an empty directory); create its parent.

    The bundle itself is written into :func:`work_dir` and appears at ``out`` only when it is
    complete (:func:`publish_bundle`).
    """
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise InputError(f"--out {out}: exists and is not a directory")
    if out.exists() and any(p.name != _PARTIAL_INSIDE for p in out.iterdir()):
        raise InputError(f"--out {out}: directory is not empty; choose a new directory per audit")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out {out}: cannot create directory: {exc.strerror}") from None


# ------------------------------------------------------------------ atomic bundles
#
# A run writes its evidence, renderings and signed report into a private work directory
# beside OUT (``.OUT.partial``; inside OUT when OUT is an empty mount point, where a rename
# from outside cannot work) and renames it to OUT once the envelope is written, so no reader
# ever sees a half-written bundle at OUT. The work directory is locked (flock) for the run:
# the kernel releases the lock if the agent dies, even by SIGKILL, and the next run to the same
# OUT removes an unlocked leftover and starts afresh.

_PARTIAL_INSIDE = ".partial"
_HELD: dict[Path, int] = {}  # work directory -> the descriptor holding its lock


class BundleWriteError(AuditorError):
    """The bundle could not be written (disk full, permissions); nothing was left at ``--out``."""


def _mount_point(out: Path) -> bool:
    return out.is_dir() and os.stat(out).st_dev != os.stat(out.parent).st_dev


def work_dir(out: Path) -> Path:
    """Where the bundle for ``out`` is written until it is complete."""
    if _mount_point(out):
        return out / _PARTIAL_INSIDE
    return out.parent / f".{out.name}.partial"


def _lock(path: Path) -> int | None:
    """A descriptor holding an exclusive lock on directory ``path``; None if another holds it."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def stage_bundle(out: Path) -> Path:
    """Create and lock the work directory for ``out``; remove a dead run's leftover first."""
    work = work_dir(out)
    try:
        if work.exists():
            fd = _lock(work)
            if fd is None:
                raise InputError(f"--out {out}: another audit is writing this bundle right now "
                                 f"({work} is locked); wait for it or choose another --out")
            os.close(fd)
            shutil.rmtree(work)  # unlocked: a run that died (SIGKILL, power cut) left it
        work.mkdir()
        fd = _lock(work)
    except OSError as exc:
        raise BundleWriteError(f"--out {out}: cannot create the work directory {work}: "
                               f"{exc.strerror}") from None
    assert fd is not None
    _HELD[work] = fd
    return work


def _release(work: Path) -> None:
    fd = _HELD.pop(work, None)
    if fd is not None:
        os.close(fd)


def publish_bundle(work: Path, out: Path) -> None:
    """Move the complete bundle from ``work`` to ``out`` (one rename) and release the lock."""
    try:
        if work.parent == out:  # OUT is a mount point: move the entries, the envelope last
            names = sorted((p.name for p in work.iterdir()), key=lambda n: n == ENVELOPE_NAME)
            for name in names:
                (work / name).rename(out / name)
            work.rmdir()
        else:
            work.rename(out)
    except OSError as exc:
        abandon_bundle(work)
        raise BundleWriteError(f"--out {out}: the finished bundle could not be moved into place: "
                               f"{exc.strerror}; nothing was kept") from None
    finally:
        _release(work)


def abandon_bundle(work: Path) -> None:
    """Remove an unfinished work directory (the run failed) and release its lock."""
    shutil.rmtree(work, ignore_errors=True)
    _release(work)


class _GuardedStore(EvidenceStore):
    """An evidence store that remembers the first write that failed (disk full), so the run
    can refuse to sign a bundle with evidence missing; the probe still sees the error."""

    write_error: OSError | None = None

    def put(self, relpath: str, data: bytes, media_type: str, description: str) -> Artifact:
        try:
            return super().put(relpath, data, media_type, description)
        except OSError as exc:
            self.write_error = self.write_error or exc
            raise


@dataclass
class Staging:
    """A bundle being written: its work directory and evidence store (see :func:`staged_bundle`)."""

    out: Path
    dir: Path
    store: _GuardedStore


@contextlib.contextmanager
def staged_bundle(out: Path, secrets: SecretResolver) -> Iterator[Staging]:
    """Write a bundle into a locked work directory and publish it at ``out`` when the block ends.

    If the block fails, or any evidence file could not be written, the work directory is
    removed and nothing appears at ``out``; an OS error (disk full) becomes a
    :class:`BundleWriteError` naming the cause.
    """
    work = stage_bundle(out)
    staging = Staging(out, work, _GuardedStore(work, secrets))
    try:
        yield staging
        if staging.store.write_error is not None:
            raise staging.store.write_error
    except OSError as exc:
        abandon_bundle(work)
        raise write_failure(out, exc) from None
    except BaseException:
        abandon_bundle(work)
        raise
    publish_bundle(work, out)


def write_failure(out: Path, exc: OSError) -> BundleWriteError:
    """The one-line error for an OS error while writing the bundle for ``out``."""
    what = f" ({Path(exc.filename).name})" if exc.filename else ""
    if exc.errno == errno.ENOSPC:
        why = f"no space left on the device{what}; free space or choose another --out"
    else:
        why = f"{exc.strerror or exc}{what}"
    return BundleWriteError(f"--out {out}: writing the bundle failed: {why}; nothing was kept")


def canonical(doc: JsonDict) -> bytes:
    """RFC 8785 canonical JSON bytes."""
    return bytes(rfc8785.dumps(doc))


DEFAULT_FORMATS = ("html", "md")
FORMAT_ALIASES = {"md": ("markdown",), "html": ("html", "evidence-index")}


def select_renderers(renderers: Registry[Renderer], formats: Sequence[str]) -> list[Renderer]:
    """The renderers for ``--format`` names (``html`` also writes the evidence index)."""
    chosen: list[Renderer] = []
    for fmt in formats:
        for name in FORMAT_ALIASES.get(fmt, (fmt,)):
            if name not in renderers:
                known = ", ".join(sorted({*renderers.names(), *FORMAT_ALIASES}))
                raise InputError(f"--format {fmt}: no such renderer (installed: {known})")
            renderer = renderers.get(name)
            if renderer not in chosen:
                chosen.append(renderer)
    return chosen


def render_all(
    out: Path, report: JsonDict, renderers: Sequence[Renderer], options: RenderOptions,
    failed: list[str] | None = None,
) -> list[JsonDict]:
    """Render ``report`` with each renderer into ``out``; describe each file written.

    A renderer that fails is named in ``failed`` (when given) and the others still run, so a
    missing font never loses an audit; without ``failed`` the error propagates.
    """
    renderings = []
    for renderer in renderers:
        try:
            data = renderer.render(report, options)
        except Exception as exc:  # a renderer's bug must not lose the audit either
            if failed is None:
                raise
            why = str(exc) if isinstance(exc, AuditorError) else f"internal error: {type(exc).__name__}"
            why += "" if isinstance(exc, AuditorError) else f": {exc}"
            failed.append(f"{renderer.filename} was not rendered: {why}")
            continue
        tmp = out / f".{renderer.filename}.tmp"
        tmp.write_bytes(data)
        tmp.replace(out / renderer.filename)
        renderings.append(
            {
                "path": renderer.filename,
                "renderer": renderer.name,
                "media_type": renderer.media_type,
                "lang": options.lang,
                "sha256": hashlib.sha256(data).hexdigest(),
                "sm3": sm3_hex(data),
                "size": len(data),
            }
        )
    return renderings


def write_bundle(
    out: Path, report: JsonDict, renderers: Sequence[Renderer], signer: Signer,
    options: RenderOptions | None = None, sm2: Signer | None = None,
) -> list[Path]:
    """Render, then sign and write the report. Returns the files written (besides evidence).

    ``sm2``, when given, signs the same DSSE payload as a second signature (its key is shipped
    as ``agent-sm2.pub``; the report names it under ``signing.sm2``). Renderings that failed
    are listed in the signed report's ``warnings``.
    """
    failed: list[str] = []
    renderings = render_all(out, report, renderers, options or RenderOptions(), failed)
    written = [out / r["path"] for r in renderings]
    report = {**report, "renderings": renderings,
              "warnings": [*report.get("warnings", []), *failed]}
    payload = canonical(report)
    (out / REPORT_NAME).write_bytes(payload)
    env = envelope(payload, signer, also=[sm2] if sm2 is not None else [])
    (out / ENVELOPE_NAME).write_text(json.dumps(env, indent=2) + "\n", encoding="utf-8")
    (out / PUBLIC_NAME).write_bytes(signer.public_key_pem())
    written += [out / REPORT_NAME, out / ENVELOPE_NAME, out / PUBLIC_NAME]
    if sm2 is not None:
        (out / SM2_PUBLIC_NAME).write_bytes(sm2.public_key_pem())
        written.append(out / SM2_PUBLIC_NAME)
    return written


@dataclass
class Verification:
    """The outcome of verifying a bundle. ``problems`` is empty when it is intact.

    ``algorithms`` names the signatures verified (``ed25519``, ``sm2-sm3``), ``digests`` the
    file digests checked (``sha256``, ``sm3``).
    """

    problems: list[str] = field(default_factory=list)
    keyid: str | None = None
    pinned: bool = False
    report: JsonDict | None = None
    files_checked: int = 0
    algorithms: list[str] = field(default_factory=list)
    digests: list[str] = field(default_factory=list)
    sm2_keyid: str | None = None
    untrusted: list[tuple[str, str]] = field(default_factory=list)  # (algorithm, fingerprint)
    trust_source: str = ""

    @property
    def ok(self) -> bool:
        """Intact: every signature and digest checks out (whoever signed it)."""
        return not self.problems

    @property
    def trusted(self) -> bool:
        """Intact, and every signature is by a key the verifier trusts."""
        return self.ok and not self.untrusted

    def untrusted_keys(self) -> str:
        return " and ".join(f"{algorithm} key {fp}" for algorithm, fp in self.untrusted)

    def untrusted_text(self) -> str:
        """One line for an intact bundle whose signer is not trusted."""
        return (f"intact, but the signer is not trusted: signed by {self.untrusted_keys()}, "
                f"which {'is' if len(self.untrusted) == 1 else 'are'} not in {self.trust_source}")


# The largest fixed-name file read whole (report.json, the envelope, a key): reports of the largest
# schools are a few MiB; anything bigger is not a bundle this tool wrote.
MAX_FIXED_BYTES = 64 * 1024 * 1024
_CHUNK = 1024 * 1024


def shown(name: str) -> str:
    """A file name (or any text from a bundle) safe to print: control characters escaped, so a
    name cannot move the cursor or rewrite what the verifier printed."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in name)


def _kind(mode: int) -> str:
    for test, what in ((stat.S_ISDIR, "a directory"), (stat.S_ISLNK, "a symbolic link"),
                       (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device")):
        if test(mode):
            return what
    return "not a regular file"


@contextlib.contextmanager
def open_regular(path: Path) -> Iterator[tuple[int, int]]:
    """An open descriptor and the size of ``path``, which must be a regular file and not a link.

    Opened without following a link and without blocking (a FIFO would hang an ordinary open),
    then checked on the descriptor itself, so what is checked is what is read. Raises
    VerificationError naming the file and what it is instead.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
    except FileNotFoundError:
        raise VerificationError(f"{shown(path.name)}: missing") from None
    except OSError as exc:
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            raise VerificationError(f"{shown(path.name)}: cannot be opened ({exc.strerror})") from None
        raise VerificationError(f"{shown(path.name)}: {_kind(mode)}, where a file belongs") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise VerificationError(f"{shown(path.name)}: {_kind(info.st_mode)}, where a file belongs")
        yield fd, info.st_size
    finally:
        os.close(fd)


def read_regular(path: Path, limit: int = MAX_FIXED_BYTES) -> bytes:
    """The whole of a small regular file of a bundle (see :func:`open_regular`)."""
    with open_regular(path) as (fd, size):
        if size > limit:
            raise VerificationError(f"{shown(path.name)}: {size} bytes, more than a bundle's "
                                    f"{limit // 2**20} MiB limit for it")
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read(limit + 1)


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are unique: with two ``payload`` keys a reader could take either."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _read_json(path: Path) -> Any:
    try:
        return json.loads(read_regular(path), object_pairs_hook=_no_duplicates)
    except _DuplicateKey as exc:
        raise VerificationError(f"{shown(path.name)}: the key {shown(str(exc))!r} appears twice in one "
                                "object (this tool never writes that: altered)") from None
    except VerificationError as exc:
        if str(exc).endswith(": missing"):
            raise VerificationError(f"{shown(path.name)} is missing: not a report bundle?") from None
        raise
    except (ValueError, UnicodeDecodeError):
        raise VerificationError(f"{shown(path.name)} is not valid JSON (altered or truncated)") from None


def _read_key(path: Path) -> bytes:
    try:
        return read_regular(path, limit=64 * 1024)
    except VerificationError as exc:
        raise VerificationError(f"{shown(str(path))}: public key not readable ({exc})") from None


def split_pinned_keys(paths: Sequence[Path]) -> tuple[Path | None, Path | None]:
    """Sort ``--key`` files into the Ed25519 key and the SM2 key (at most one of each)."""
    ed25519: Path | None = None
    sm2: Path | None = None
    for path in paths:
        data = _read_key(path)
        try:
            load_public_key(data, str(path))
            kind = "ed25519"
        except VerificationError:
            load_sm2_public_key(data, str(path))  # raises: neither kind
            kind = "sm2"
        if (ed25519 if kind == "ed25519" else sm2) is not None:
            raise InputError(f"--key {path}: a second {kind} key; pin at most one of each kind")
        if kind == "ed25519":
            ed25519 = path
        else:
            sm2 = path
    return ed25519, sm2


FUTURE_SLACK_S = 300  # clocks may differ this much (as the district allows for signed requests)


def _check_dates(report: JsonDict, now: datetime, result: Verification) -> None:
    """A report dated after the verifier's clock (beyond the slack) is a problem, not a detail."""
    run = report.get("run") or {}
    for key in ("started_at", "finished_at"):
        try:
            when = datetime.fromisoformat(str(run.get(key)).replace("Z", "+00:00"))
        except ValueError:
            result.problems.append(f"{REPORT_NAME}: run.{key} is not a date-time ({run.get(key)!r})")
            return
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        ahead = (when - now).total_seconds()
        if ahead > FUTURE_SLACK_S:
            result.problems.append(
                f"{REPORT_NAME}: run.{key} is {when.isoformat()}, {ahead / 3600:.1f} h after this "
                f"computer's clock ({now.isoformat(timespec='seconds')}): the agent's clock (or this "
                "one) is wrong, so the bundle's dates cannot be trusted")
            return


def _inside(path: Path, bundle: Path) -> bool:
    return path.resolve().is_relative_to(bundle.resolve())


def _decide_trust(trusted: TrustedKeys | None, pinned_key: Path | None, pinned_sm2: Path | None,
                  result: Verification) -> None:
    """Whether the signers are trusted: pinned keys are (each was checked against its
    signature); otherwise every signature must be by a key in ``trusted``."""
    if pinned_key is not None or pinned_sm2 is not None:
        result.trust_source = "the pinned key" + ("s" if pinned_key and pinned_sm2 else "")
        return
    assert trusted is not None
    result.trust_source = trusted.source
    if result.keyid not in trusted.ed25519:
        result.untrusted.append(("Ed25519", str(result.keyid)))
    if result.sm2_keyid is not None and result.sm2_keyid not in trusted.sm2:
        result.untrusted.append(("SM2", result.sm2_keyid))


def verify_bundle(bundle: Path, pinned_key: Path | None = None,
                  pinned_sm2: Path | None = None, trusted: TrustedKeys | None = None,
                  now: datetime | None = None) -> Verification:
    """Check the signatures, that report.json is the signed payload, and every listed digest;
    then whether the signers are trusted.

    The Ed25519 signature is always checked; the SM2 signature whenever the report names an
    SM2 key (or ``pinned_sm2`` is given); SM3 digests wherever the report lists them.
    ``problems`` (the bundle is not intact) and ``untrusted`` (intact, but signed by a key the
    verifier does not trust) are separate: a bundle re-signed by another key verifies with its
    own shipped key, so only trust catches it. Trust: the pinned keys when given (never a file
    inside the bundle), else ``trusted`` (``--trusted-keys``), else the local trust store
    (:mod:`auditor.trust`). ``now`` (the verifier's clock) makes a bundle dated in the future a
    problem.
    """
    if not bundle.is_dir():
        raise InputError(f"{bundle}: not a directory")
    for pin in (pinned_key, pinned_sm2):
        if pin is not None and _inside(pin, bundle):
            raise InputError(f"--key {pin}: that key is inside the bundle, so it proves nothing (whoever "
                             "alters a bundle re-signs it and ships their own key); pin the agent's key "
                             "as you got it from the school, or trust it once with `auditor keys trust`")
    if pinned_key is None and pinned_sm2 is None and trusted is None:
        trusted = load_trust_store()
    result = Verification(pinned=pinned_key is not None)
    key_path = pinned_key or bundle / PUBLIC_NAME
    public_key = load_public_key(_read_key(key_path), str(key_path))
    result.keyid = fingerprint(public_key)
    env = _read_json(bundle / ENVELOPE_NAME)
    try:
        payload = open_envelope(env, public_key)
    except VerificationError as exc:  # name the files involved: the envelope, and the key it was checked with
        key_name = f"the pinned key {key_path}" if pinned_key is not None else PUBLIC_NAME
        raise VerificationError(f"{ENVELOPE_NAME}: {exc} (checked with {key_name})") from None
    result.algorithms.append("ed25519")
    report = json.loads(payload)
    result.report = report
    _check_report_file(bundle, payload, result)
    signed_key = report.get("signing", {}).get("key_fingerprint")
    if signed_key != result.keyid:
        result.problems.append(
            f"the report names signing key {signed_key}, but it was verified with {result.keyid}"
        )
    if pinned_key is not None and (bundle / PUBLIC_NAME).exists():
        shipped = load_public_key(_read_key(bundle / PUBLIC_NAME), PUBLIC_NAME)
        if fingerprint(shipped) != result.keyid:
            result.problems.append(f"{PUBLIC_NAME} is not the pinned key")
    _check_sm2(bundle, env, report, pinned_sm2, result)
    _decide_trust(trusted, pinned_key, pinned_sm2, result)
    if now is not None:
        _check_dates(report, now, result)
    listed = list(report.get("artifacts", [])) + list(report.get("renderings", []))
    result.digests = ["sha256", *(["sm3"] if any(e.get("sm3") for e in listed) else [])]
    for entry in listed:
        _check_file(bundle, entry, result)
    _check_unlisted(bundle, {e["path"] for e in listed}, result)
    return result


def _check_sm2(bundle: Path, env: Any, report: JsonDict, pinned: Path | None,
               result: Verification) -> None:
    named = (report.get("signing") or {}).get("sm2")
    if not named and pinned is None:
        return
    if not named:
        result.problems.append("an SM2 key was pinned, but the report names no SM2 signing key")
        return
    key_path = pinned or bundle / SM2_PUBLIC_NAME
    if not key_path.exists():
        result.problems.append(f"{SM2_PUBLIC_NAME}: missing (the report names SM2 key "
                               f"{named.get('key_fingerprint')})")
        return
    key = load_sm2_public_key(_read_key(key_path), str(key_path))
    result.sm2_keyid = key.fingerprint
    if key.fingerprint != named.get("key_fingerprint"):
        result.problems.append(f"the report names SM2 key {named.get('key_fingerprint')}, but "
                               f"{key_path.name} is {key.fingerprint}")
        return
    try:
        check_signature(env, key.fingerprint, key.verify)
    except VerificationError as exc:
        result.problems.append(f"SM2: {exc}")
        return
    result.algorithms.append("sm2-sm3")


def _check_report_file(bundle: Path, payload: bytes, result: Verification) -> None:
    try:
        on_disk = read_regular(bundle / REPORT_NAME)
    except VerificationError as exc:
        result.problems.append(str(exc).replace(": missing", " is missing"))
        return
    if on_disk != payload:
        result.problems.append(f"{REPORT_NAME} differs from the signed report (altered)")


def _check_file(bundle: Path, entry: JsonDict, result: Verification) -> None:
    """One listed file: a regular file inside the bundle, of the size the report records, whose
    digests match (read in chunks: memory stays bounded whatever its size)."""
    rel = str(entry.get("path", ""))
    name = shown(rel)
    path = bundle / rel
    if ".." in Path(rel).parts or Path(rel).is_absolute() or not rel:
        result.problems.append(f"{name}: path leaves the bundle directory")
        return
    parent = bundle
    for part in Path(rel).parts[:-1]:  # no directory on the way may be a link out of the bundle
        parent = parent / part
        if parent.is_symlink():
            result.problems.append(f"{name}: {shown(part)} is a symbolic link, where a directory belongs")
            return
    try:
        with open_regular(path) as (fd, size):
            result.files_checked += 1
            expected = entry.get("size")
            if isinstance(expected, int) and size != expected:
                result.problems.append(f"{name}: {size} bytes, the signed report says {expected} (altered)")
                return
            sha, sm3 = hashlib.sha256(), (hashes.Hash(hashes.SM3()) if entry.get("sm3") else None)
            while chunk := os.read(fd, _CHUNK):
                sha.update(chunk)
                if sm3 is not None:
                    sm3.update(chunk)
    except VerificationError as exc:
        result.problems.append(f"{name}: {str(exc).split(': ', 1)[1]}")
        return
    if sha.hexdigest() != entry.get("sha256"):
        result.problems.append(f"{name}: SHA-256 does not match the signed report (altered)")
    elif sm3 is not None and sm3.finalize().hex() != entry["sm3"]:
        result.problems.append(f"{name}: SM3 does not match the signed report (altered)")


def _check_unlisted(bundle: Path, listed: set[str], result: Verification) -> None:
    """Anything in the bundle the report does not list: a file added after signing, or an entry
    that is no file at all (a FIFO, a link, a device, a directory no listed file is in)."""
    needed = {p.as_posix() for rel in listed for p in Path(rel).parents if p.as_posix() != "."}
    for root, dirs, files in os.walk(bundle, followlinks=False):
        for entry in sorted([*dirs, *files]):
            path = Path(root) / entry
            rel = path.relative_to(bundle).as_posix()
            if rel in listed or rel in _FIXED:
                continue  # checked as a listed or fixed file
            mode = os.lstat(path).st_mode
            if stat.S_ISDIR(mode) and rel in needed:
                continue
            what = "" if stat.S_ISREG(mode) else f"{_kind(mode)}, "
            result.problems.append(f"{shown(rel)}: {what}not part of the signed report (added after signing)")
