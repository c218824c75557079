"""Attestations: who vouches for a manual item, with hashed evidence documents.

Store layout (default ``$AUDITOR_ATTESTATIONS`` or ``~/.local/share/campus-auditor/attestations``)::

    records/<UTC time>-<target>.yaml   one attestation each
    files/<sha256>                     evidence documents, copied in, named by their digest

An attestation targets an item (``PROFILE:ITEM`` or ``ITEM``) or a starred dimension's
override (its group id). It counts until it expires; an expired one is reported, not counted.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from auditor.errors import InputError
from auditor.inbound import read_document, refuse_secrets
from auditor.inventory import LoadedInventory, audit_clock
from auditor.paths import user_path
from auditor.yamlsrc import load_yaml, validate

EVIDENCE_SCAN_BYTES = 64 * 1024 * 1024  # evidence read for key material (documents are smaller)

if TYPE_CHECKING:
    from auditor.evidence import EvidenceStore


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EvidenceFile(_Model):
    name: str
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    size: int


class Attestation(_Model):
    """One attestation record (``schema: 1``)."""

    schema_: Annotated[Literal[1], Field(alias="schema")] = 1
    target: Annotated[str, StringConstraints(min_length=1)]  # [PROFILE:]ITEM or a group id
    by: Annotated[str, StringConstraints(min_length=1)]
    role: Annotated[str, StringConstraints(min_length=1)]
    at: datetime
    expires: date | None = None
    note: str | None = None
    evidence: Annotated[list[EvidenceFile], Field(min_length=1)]

    def matches(self, profile: str, target: str) -> bool:
        return self.target in {target, f"{profile}:{target}"}

    def expired(self, today: date) -> bool:
        return self.expires is not None and self.expires < today


def default_store() -> Path:
    """``$AUDITOR_ATTESTATIONS``, else ``$XDG_DATA_HOME/campus-auditor/attestations``."""
    return user_path("AUDITOR_ATTESTATIONS", "XDG_DATA_HOME", ".local/share", "attestations")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def record(store: Path, target: str, files: list[Path], by: str, role: str,
           expires: date | None, note: str | None) -> tuple[Path, Attestation]:
    """Copy the evidence files into the store and write the attestation record."""
    if not files:
        raise InputError("attest: give at least one --evidence FILE")
    evidence = []
    for path in files:
        if not path.is_file():
            raise InputError(f"attest: --evidence {path}: not a readable file")
        with path.open("rb") as handle:  # evidence of a policy, never a key or a host list
            refuse_secrets(path, handle.read(EVIDENCE_SCAN_BYTES), f"attest: --evidence {path.name}")
        digest = _sha256(path)
        (store / "files").mkdir(parents=True, exist_ok=True)
        stored = store / "files" / digest
        if not stored.exists():
            shutil.copyfile(path, stored)
        evidence.append(EvidenceFile(name=path.name, sha256=digest, size=path.stat().st_size))
    now = datetime.now(UTC).replace(microsecond=0)
    att = Attestation.model_validate({"schema": 1, "target": target, "by": by, "role": role,
                                      "at": now, "expires": expires, "note": note,
                                      "evidence": [e.model_dump() for e in evidence]})
    (store / "records").mkdir(parents=True, exist_ok=True)
    slug = "".join(c if c.isalnum() or c in "-." else "-" for c in target)[:80]
    out = store / "records" / f"{now:%Y%m%dT%H%M%SZ}-{slug}.yaml"
    n = 2
    while out.exists():
        out = out.with_name(f"{now:%Y%m%dT%H%M%SZ}-{slug}-{n}.yaml")
        n += 1
    out.write_text(dump(att), encoding="utf-8")
    return out, att


def dump(att: Attestation) -> str:
    return yaml.safe_dump(att.model_dump(mode="json", by_alias=True), allow_unicode=True,
                          sort_keys=False)


def load_store(store: Path) -> list[tuple[Path, Attestation]]:
    """Every attestation in the store, validated; evidence files must match their digests."""
    records = store / "records"
    if not records.is_dir():
        return []
    out = []
    for path in sorted(records.glob("*.yaml")):
        data, node, _raw = load_yaml(path)
        att = validate(Attestation, data, node, str(path))
        for ev in att.evidence:
            stored = store / "files" / ev.sha256
            if not stored.is_file() or _sha256(stored) != ev.sha256:
                raise InputError(f"{path}: evidence {ev.name} ({ev.sha256[:12]}…) is missing or "
                                 f"altered in {store / 'files'}")
        out.append((path, att))
    return out


# ------------------------------------------------------------------ the authorisation record


def authorisation_entry(loaded: LoadedInventory, store: EvidenceStore,
                        now: datetime | None = None) -> dict[str, Any]:
    """``report["authorisation"]``: the inventory's written authorisation, whether it was
    current on the stated audit clock, and its document copied into the evidence (hashed)."""
    inv = loaded.inventory
    clock = audit_clock(inv, now)
    entry: dict[str, Any] = {
        "status": "missing",
        "clock": {"now": clock.isoformat(timespec="seconds"), "timezone": inv.schedule.timezone,
                  "date": clock.date().isoformat(), "source": "the agent's system clock"},
    }
    auth = inv.authorisation
    if auth is None:
        return entry
    today = clock.date()
    status = ("expired" if today > auth.valid_until else "not_yet_valid" if today < auth.valid_from
              else "current")
    entry.update(status=status, **auth.model_dump(mode="json", exclude={"document"}), document=None)
    if auth.document is not None:
        # checked at load (a signed document by its content, not the secrets file); read once more
        data, media = read_document(auth.document, "authorisation.document", inv.secrets_file)
        artifact = store.put(f"authorisation/{auth.document.name}", data, media,
                             f"written authorisation {auth.reference} by {auth.authorised_by} ({auth.role})")
        entry["document"] = {"name": auth.document.name, "artifact": artifact.path,
                             "sha256": artifact.sha256, "sm3": artifact.sm3}
    return entry
