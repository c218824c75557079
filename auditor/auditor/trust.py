"""Which signing keys this computer trusts: the local trust store, and ``--trusted-keys DIR``.

A bundle carries its own public keys, so the keys inside it prove only that nobody altered it
*after* it was signed, not who signed it: whoever alters a bundle can re-sign it with a key of
their own and ship that key along. Trust therefore comes from outside the bundle:

* ``--key FILE``: a public key the verifier got from the agent another way (never a file inside
  the bundle);
* ``--trusted-keys DIR``: a directory of PEM public keys;
* the **local trust store**, ``$AUDITOR_TRUST_DIR`` or ``$XDG_CONFIG_HOME/campus-auditor/trusted-keys``
  (``~/.config/...``): ``auditor keys init`` adds the agent's own keys to it, ``auditor keys trust
  FILE`` adds one by hand after its fingerprint was checked with the school, ``auditor keys
  untrust FINGERPRINT`` removes one. Keys stay until removed, so bundles signed before a key
  rotation keep verifying as long as the old key stays trusted.

The store holds one PEM file per key, named by algorithm and fingerprint
(``ed25519-<hex>.pub``, ``sm2-<hex>.pub``), so it can be inspected, copied or provisioned with
ordinary tools.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from auditor.errors import InputError, VerificationError
from auditor.paths import user_path
from auditor.signing import fingerprint, load_public_key
from auditor.smcrypto import load_sm2_public_key

MAX_KEY_BYTES = 64 * 1024
MIN_PREFIX = 8  # hex digits of a fingerprint that name a key in `keys untrust`


def trust_dir() -> Path:
    """``$AUDITOR_TRUST_DIR``, else ``$XDG_CONFIG_HOME/campus-auditor/trusted-keys``."""
    return user_path("AUDITOR_TRUST_DIR", "XDG_CONFIG_HOME", ".config", "trusted-keys")


@dataclass(frozen=True)
class PublicKeyFile:
    """One public key: its algorithm (``ed25519`` or ``sm2``), fingerprint and PEM text."""

    algorithm: str
    fingerprint: str
    pem: bytes
    path: Path

    @property
    def store_name(self) -> str:
        return f"{self.algorithm}-{self.fingerprint.split(':', 1)[1]}.pub"


def read_key(path: Path, pem: bytes | None = None) -> PublicKeyFile:
    """The Ed25519 or SM2 public key in ``path`` (PEM). Raises InputError naming the file.

    Only the PEM block itself counts: text around it (a comment, a mail signature) is accepted
    and dropped, since it is not part of the key; two keys in one file are refused.
    """
    if pem is None:
        try:
            with path.open("rb") as handle:
                pem = handle.read(MAX_KEY_BYTES + 1)
        except OSError as exc:
            raise InputError(f"{path}: cannot read the public key ({exc.strerror})") from None
    if len(pem) > MAX_KEY_BYTES:
        raise InputError(f"{path}: {len(pem)} bytes or more, not a public key file")
    block = _pem_block(path, pem)
    try:
        return PublicKeyFile("ed25519", fingerprint(load_public_key(block, str(path))), block, path)
    except VerificationError:
        pass
    try:
        return PublicKeyFile("sm2", load_sm2_public_key(block, str(path)).fingerprint, block, path)
    except VerificationError:
        raise InputError(f"{path}: not an Ed25519 or SM2 public key (PEM, "
                         "-----BEGIN PUBLIC KEY-----)") from None


def _pem_block(path: Path, data: bytes) -> bytes:
    begin, end = b"-----BEGIN PUBLIC KEY-----", b"-----END PUBLIC KEY-----"
    if data.count(begin) > 1:
        raise InputError(f"{path}: more than one public key in the file; give one key per file")
    start, stop = data.find(begin), data.find(end)
    if start < 0 or stop < start:
        raise InputError(f"{path}: not an Ed25519 or SM2 public key: no PEM block "
                         "(-----BEGIN PUBLIC KEY----- ... -----END PUBLIC KEY-----) in it")
    return data[start:stop + len(end)] + b"\n"


@dataclass(frozen=True)
class TrustedKeys:
    """The public keys a verifier trusts, by algorithm; ``source`` says where they came from."""

    source: str
    ed25519: frozenset[str]
    sm2: frozenset[str]

    @classmethod
    def of(cls, source: str, keys: Iterable[PublicKeyFile]) -> TrustedKeys:
        keys = list(keys)
        return cls(source, frozenset(k.fingerprint for k in keys if k.algorithm == "ed25519"),
                   frozenset(k.fingerprint for k in keys if k.algorithm == "sm2"))

    def __len__(self) -> int:
        return len(self.ed25519) + len(self.sm2)


def _keys_in(directory: Path, option: str) -> list[PublicKeyFile]:
    found = []
    for path in sorted(directory.iterdir()):
        if path.suffix not in {".pub", ".pem"} or not path.is_file():
            continue
        try:
            found.append(read_key(path))
        except InputError as exc:
            raise InputError(f"{option}{exc}; remove it from {directory}") from None
    return found


def load_trusted_keys(directory: Path) -> TrustedKeys:
    """Every PEM public key (``*.pub``, ``*.pem``) in ``directory`` (``--trusted-keys``)."""
    if not directory.is_dir():
        raise InputError(f"--trusted-keys {directory}: not a directory (a directory of PEM public keys)")
    keys = _keys_in(directory, "--trusted-keys ")
    if not any(k.algorithm == "ed25519" for k in keys):
        raise InputError(f"--trusted-keys {directory}: no Ed25519 public key (*.pub or *.pem) in it")
    return TrustedKeys.of(f"--trusted-keys {directory}", keys)


def store_keys(directory: Path | None = None) -> list[PublicKeyFile]:
    """The keys in the local trust store (none if it does not exist yet)."""
    directory = directory or trust_dir()
    if not directory.is_dir():
        return []
    return _keys_in(directory, "trust store: ")


def load_trust_store(directory: Path | None = None) -> TrustedKeys:
    directory = directory or trust_dir()
    return TrustedKeys.of(f"the trust store {directory}", store_keys(directory))


def trust(key: PublicKeyFile, directory: Path | None = None) -> tuple[Path, bool]:
    """Add ``key`` to the trust store. Returns (its file there, whether it was added now)."""
    directory = directory or trust_dir()
    target = directory / key.store_name
    if target.is_file():
        return target, False
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = target.with_name(f".{target.name}.{os.getpid()}")
        partial.write_bytes(key.pem)
        partial.chmod(0o644)
        partial.replace(target)
    except OSError as exc:
        raise InputError(f"trust store {directory}: cannot add {key.path} ({exc.strerror}); "
                         "check the directory's owner and mode, or set AUDITOR_TRUST_DIR") from None
    return target, True


def trust_files(paths: Iterable[Path], directory: Path | None = None) -> list[tuple[PublicKeyFile, bool]]:
    """Trust every existing key file of ``paths`` (an agent's own public keys)."""
    out = []
    for path in paths:
        if path.is_file():
            key = read_key(path)
            out.append((key, trust(key, directory)[1]))
    return out


def untrust(prefix: str, directory: Path | None = None) -> PublicKeyFile:
    """Remove the key whose fingerprint is, or starts with, ``prefix`` (at least 8 hex digits,
    with or without ``sha256:``/``sm3:``). Raises InputError when none or several match."""
    directory = directory or trust_dir()
    wanted = prefix.strip().lower().split(":", 1)[-1]
    if len(wanted) < MIN_PREFIX or any(c not in "0123456789abcdef" for c in wanted):
        raise InputError(f"{prefix!r}: give a key's fingerprint or at least its first {MIN_PREFIX} hex "
                         "digits (see `auditor keys list`)")
    keys = store_keys(directory)
    hits = [k for k in keys if k.fingerprint.split(":", 1)[1].startswith(wanted)]
    if not hits:
        known = ", ".join(k.fingerprint[:23] + "…" for k in keys) or "none"
        raise InputError(f"{prefix}: no such key in the trust store {directory} (it holds: {known})")
    if len(hits) > 1:
        raise InputError(f"{prefix}: matches {len(hits)} keys ({', '.join(k.fingerprint for k in hits)}); "
                         "give more digits")
    try:
        hits[0].path.unlink()
    except OSError as exc:
        raise InputError(f"{hits[0].path}: cannot remove it ({exc.strerror})") from None
    return hits[0]
