"""Profiles: which checks run, with which parameters, and which indicator each serves.

A profile is data (YAML). Built-in profiles live in the ``auditor.profiles`` package; a
path to a YAML file may be given instead of a name.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from auditor.errors import InputError
from auditor.yamlsrc import load_yaml, validate


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckRef(_Model):
    """A check named by an indicator, with parameters overriding the check's defaults."""

    check: str
    params: dict[str, Any] = Field(default_factory=dict)


class Indicator(_Model):
    """One monitoring point (三级指标) or control item of a framework."""

    id: Annotated[str, StringConstraints(min_length=1)]
    path: list[str] = Field(default_factory=list)  # 一级指标, 二级指标 (with points as written)
    number: int | None = None
    text: str
    checks: list[CheckRef] = Field(default_factory=list)
    manual: list[str] = Field(default_factory=list)  # parts no probe can evidence
    notes: list[str] = Field(default_factory=list)


class Profile(_Model):
    """A framework profile (``schema: 1``)."""

    schema_: Annotated[int, Field(alias="schema")] = 1
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]*$")]
    title: str
    version: str
    source: str
    notes: list[str] = Field(default_factory=list)
    probe_settings: dict[str, dict[str, Any]] = Field(default_factory=dict)
    indicators: Annotated[list[Indicator], Field(min_length=1)]


class LoadedProfile:
    def __init__(self, profile: Profile, origin: str, raw: bytes) -> None:
        self.profile = profile
        self.origin = origin
        self.sha256 = hashlib.sha256(raw).hexdigest()


def builtin_profiles() -> list[str]:
    """Names of the profiles shipped with the auditor."""
    root = resources.files("auditor.profiles")
    return sorted(p.name.removesuffix(".yaml") for p in root.iterdir() if p.name.endswith(".yaml"))


def load_profile(name_or_path: str) -> LoadedProfile:
    """Load a built-in profile by name, or a profile YAML file by path."""
    path = Path(name_or_path)
    if not (path.suffix in {".yaml", ".yml"} or path.exists()):
        if name_or_path not in builtin_profiles():
            known = ", ".join(builtin_profiles())
            raise InputError(f"unknown profile {name_or_path!r}; built-in profiles: {known}")
        with resources.as_file(resources.files("auditor.profiles") / f"{name_or_path}.yaml") as p:
            path = Path(p)
            data, node, raw = load_yaml(path)
            origin = f"builtin:{name_or_path}"
    else:
        data, node, raw = load_yaml(path)
        origin = str(path)
    profile = validate(Profile, data, node, str(path))
    return LoadedProfile(profile, origin, raw)
