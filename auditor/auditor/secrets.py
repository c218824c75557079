"""Resolve credential references, and remember every value so it can be masked.

A secrets file is a YAML mapping of names to values. It must be a regular file owned by the
user running the auditor and readable by nobody else (mode 0600 or stricter).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Self

import yaml
from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

from auditor.errors import SecretError

MASK = "********"


class SecretRef(BaseModel):
    """Where a credential comes from: ``{env: NAME}`` or ``{secret: KEY}`` (in secrets_file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None
    secret: Annotated[str, StringConstraints(min_length=1)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_inline(cls, value: object) -> object:
        if isinstance(value, str | int):
            raise ValueError(
                "inline secrets are not allowed: write {env: VARIABLE_NAME} or "
                "{secret: KEY} (a key in the secrets_file)"
            )
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.env is None) == (self.secret is None):
            raise ValueError("give exactly one of 'env' or 'secret'")
        return self

    def describe(self) -> str:
        return f"environment variable {self.env}" if self.env else f"secret {self.secret!r}"


class SecretResolver:
    """Resolves :class:`SecretRef` values and keeps the set of values handed out."""

    def __init__(self, secrets_file: Path | None, environ: Mapping[str, str] | None = None):
        self._file = secrets_file
        self._environ = os.environ if environ is None else environ
        self._file_values: dict[str, str] | None = None
        self._handed_out: set[str] = set()

    def resolve(self, ref: SecretRef, where: str, sensitive: bool = True) -> str:
        """Return the secret's value. ``where`` names the inventory field, for messages.

        Sensitive values (passwords, keys, communities) are remembered and masked wherever they
        would appear in evidence or the report. A user name is resolved with ``sensitive=False``:
        it is not written anywhere either, but masking a word like ``root`` or ``auditor`` in
        every text would corrupt the report.
        """
        if ref.env is not None:
            value = self._environ.get(ref.env)
            if not value:
                raise SecretError(
                    f"{where}: environment variable {ref.env} is not set; export it before "
                    "running the audit"
                )
        else:
            assert ref.secret is not None
            values = self._load_file(where)
            if ref.secret not in values:
                raise SecretError(f"{where}: secret {ref.secret!r} is not in {self._file}")
            value = values[ref.secret]
        if sensitive:
            self._handed_out.add(value)
        return value

    @property
    def values(self) -> frozenset[str]:
        """Every secret value resolved so far (for masking evidence and logs)."""
        return frozenset(self._handed_out)

    def mask(self, text: str) -> str:
        """Replace every resolved secret value in ``text``."""
        for value in sorted(self._handed_out, key=len, reverse=True):
            if len(value) >= 3:
                text = text.replace(value, MASK)
        return text

    def _load_file(self, where: str) -> dict[str, str]:
        if self._file_values is not None:
            return self._file_values
        if self._file is None:
            raise SecretError(f"{where}: refers to a secret but the inventory has no secrets_file")
        self._file_values = read_secrets_file(self._file)
        return self._file_values


def read_secrets_file(path: Path) -> dict[str, str]:
    """Read a secrets file after checking it is private to the current user."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise SecretError(f"{path}: secrets file not found") from None
    if not stat.S_ISREG(st.st_mode):
        raise SecretError(f"{path}: secrets file is not a regular file")
    if st.st_mode & 0o077:
        raise SecretError(
            f"{path}: secrets file is readable by others (mode {stat.S_IMODE(st.st_mode):04o}); "
            f"run: chmod 600 {path}"
        )
    if st.st_uid != os.geteuid():
        raise SecretError(f"{path}: secrets file is not owned by the user running the auditor")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        raise SecretError(f"{path}: secrets file is not valid YAML") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise SecretError(f"{path}: secrets file must map names to string values")
    for name, value in data.items():
        if not isinstance(value, str):  # YAML 1.1: yes → true, 0123 → 83, 12:30 → 750
            raise SecretError(f"{path}: secret {name!r} is {type(value).__name__} {value!r} as YAML reads "
                              "it, not text; write the value in quotes (e.g. name: \"0123\")")
    return dict(data)
