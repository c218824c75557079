"""Files a user names that are copied into a signed bundle: only what they are meant to be.

An inventory (``authorisation.document``), a Wi-Fi survey record (its raw scan) and an
attestation (``--evidence``) name files that the audit copies verbatim into the bundle, which is
then signed and handed to a district or an assessor. A path is easy to get wrong, or to point
elsewhere on purpose, so every such file is checked before anything is copied:

* it is a regular file (a link is followed, then its target is checked), under a size limit;
* its **content** is of an allowed kind, whatever its name: the authorisation document a PDF,
  PNG, JPEG, TIFF, OFD or DOCX; a raw scan UTF-8 text;
* it is not the inventory's secrets file, and holds no private key material (a PEM or OpenSSH
  private key block) and no SSH known_hosts lines.

Hand-written: the magic numbers are a handful of bytes each and the OFD/DOCX check is a look at
the ZIP directory with the standard library; a content-sniffing dependency (libmagic) would add a
system library for six signatures.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from auditor.errors import InputError

DOCUMENT_LIMIT = 20 * 1024 * 1024  # a scanned, signed letter of a few pages
TEXT_LIMIT = 4 * 1024 * 1024  # a raw Wi-Fi scan is tens of KiB

_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "PDF", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "PNG", "image/png"),
    (b"\xff\xd8\xff", "JPEG", "image/jpeg"),
    (b"II*\x00", "TIFF", "image/tiff"),
    (b"MM\x00*", "TIFF", "image/tiff"),
)
_PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
_KNOWN_HOSTS = re.compile(
    rb"(?m)^(\|1\|[A-Za-z0-9+/=|]+|[^\s#]+) (ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp\d+) AAAA")
DOCUMENT_KINDS = "PDF, PNG, JPEG, TIFF, OFD or DOCX"


def _read(path: Path, what: str, limit: int) -> bytes:
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise InputError(f"{what}: {path} does not exist") from None
    if not target.is_file():
        raise InputError(f"{what}: {path} is not a regular file")
    size = target.stat().st_size
    if size > limit:
        raise InputError(f"{what}: {path} is {size / 2**20:.1f} MiB, more than the {limit // 2**20} MiB "
                         "allowed; give a smaller scan")
    try:
        return target.read_bytes()
    except OSError as exc:
        raise InputError(f"{what}: {path} cannot be read ({exc.strerror})") from None


def refuse_secrets(path: Path, data: bytes, what: str, secrets_file: Path | None = None) -> None:
    """Refuse a file that is the secrets file or holds private keys or known_hosts lines."""
    if secrets_file is not None and _same_file(path, secrets_file):
        raise InputError(f"{what}: {path} is the inventory's secrets file; it is never copied into a "
                         "bundle: name the signed document instead")
    if _PRIVATE_KEY.search(data):
        raise InputError(f"{what}: {path} holds a private key; it is never copied into a bundle")
    if _KNOWN_HOSTS.search(data):
        raise InputError(f"{what}: {path} looks like an SSH known_hosts file; it is never copied into "
                         "a bundle")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or a.samefile(b)
    except OSError:
        return False


def document_kind(data: bytes) -> tuple[str, str] | None:
    """``(kind, media type)`` of an allowed document by its content, None for anything else."""
    for magic, kind, media in _MAGIC:
        if data.startswith(magic):
            return kind, media
    if data.startswith(b"PK\x03\x04"):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except (zipfile.BadZipFile, ValueError):
            return None
        if "OFD.xml" in names:
            return "OFD", "application/ofd"
        if "word/document.xml" in names and "[Content_Types].xml" in names:
            return "DOCX", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return None


def read_document(path: Path, what: str, secrets_file: Path | None = None) -> tuple[bytes, str]:
    """The bytes and media type of a signed document to copy into a bundle (see the module)."""
    data = _read(path, what, DOCUMENT_LIMIT)
    refuse_secrets(path, data, what, secrets_file)
    kind = document_kind(data)
    if kind is None:
        raise InputError(f"{what}: {path} is not a {DOCUMENT_KINDS} file by its content; give the "
                         "scan or signed file of the authorisation")
    return data, kind[1]


def read_text(path: Path, what: str) -> bytes:
    """The bytes of a tool's text output to copy into a bundle: UTF-8, no secrets."""
    data = _read(path, what, TEXT_LIMIT)
    refuse_secrets(path, data, what)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{what}: {path} is not UTF-8 text") from None
    return data
