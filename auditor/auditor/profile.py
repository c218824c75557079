"""Profiles: a framework's indicator tree as data (schema 2).

A profile is a tree of groups (一级/二级指标, or GB/T 22239 classes and control points) whose
leaves are items (三级 monitoring points, or lettered requirements). An item names the checks
that evidence it (with parameters, and the bounds a site may not loosen them past) and the
parts that only an attestation can satisfy. Built-in profiles live in ``auditor.profiles``;
a path to a YAML file may be given instead of a name.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from importlib import resources
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from auditor.errors import InputError
from auditor.yamlsrc import format_loc, line_of, load_yaml, validate

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]*$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bound(_Model):
    """The loosest value a site may tailor a numeric parameter to."""

    min: float | None = None
    max: float | None = None

    def violated_by(self, value: float) -> bool:
        return (self.min is not None and value < self.min) or (self.max is not None and value > self.max)

    def describe(self) -> str:
        parts = ([f"≥ {self.min:g}"] if self.min is not None else []) + (
            [f"≤ {self.max:g}"] if self.max is not None else [])
        return " and ".join(parts)


class CheckRef(_Model):
    """A check an item relies on, its parameters, and the bounds tailoring may not cross."""

    check: str
    params: dict[str, Any] = Field(default_factory=dict)
    bounds: dict[str, Bound] = Field(default_factory=dict)


class Item(_Model):
    """A leaf of the indicator tree: one monitoring point or lettered requirement."""

    id: Annotated[str, StringConstraints(min_length=1)]
    number: int | str | None = None
    text: str
    checks: list[CheckRef] = Field(default_factory=list)
    manual: list[str] = Field(default_factory=list)  # parts only an attestation can satisfy
    notes: list[str] = Field(default_factory=list)


class Group(_Model):
    """A node of the tree (一级/二级指标, or a class / control point)."""

    id: Slug
    number: str | None = None
    title: str
    points: float | None = None
    star: bool = False
    override_rule: str | None = None
    rule: str | None = None
    deduction: float | None = None
    notes: list[str] = Field(default_factory=list)
    groups: list[Group] = Field(default_factory=list)
    items: list[Item] = Field(default_factory=list)

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if self.groups and self.items:
            raise ValueError(f"group {self.id!r} has both 'groups' and 'items'; use one")
        if self.star and not self.override_rule:
            raise ValueError(f"group {self.id!r} is starred but has no 'override_rule'")
        if self.deduction is not None and self.deduction <= 0:
            raise ValueError(f"group {self.id!r}: 'deduction' must be positive (or null: all or nothing)")
        return self


class Profile(_Model):
    """A framework profile (``schema: 2``)."""

    schema_: Annotated[Literal[2], Field(alias="schema")]
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]*$")]
    title: str
    version: str
    source: str
    scoring: Literal["deduction", "status"] = "status"
    level: int | None = None
    notes: list[str] = Field(default_factory=list)
    probe_settings: dict[str, dict[str, Any]] = Field(default_factory=dict)
    groups: Annotated[list[Group], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        ids = [item.id for _path, item in self.walk_items()]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate item id {', '.join(dupes)}")
        if self.scoring == "deduction":
            for path, group in self.walk_groups():
                if group.items and group.points is None:
                    raise ValueError(f"group {group.id!r} ({'/'.join(path)}) needs points under "
                                     "deduction scoring")
        return self

    def walk_groups(self) -> Iterator[tuple[list[str], Group]]:
        """Every group with the titles of the groups above it."""
        stack: list[tuple[list[str], Group]] = [([], g) for g in reversed(self.groups)]
        while stack:
            path, group = stack.pop()
            yield path, group
            stack.extend(([*path, group.title], g) for g in reversed(group.groups))

    def walk_items(self) -> Iterator[tuple[list[Group], Item]]:
        """Every item with the chain of groups above it, in document order."""
        def visit(chain: list[Group], group: Group) -> Iterator[tuple[list[Group], Item]]:
            for item in group.items:
                yield [*chain, group], item
            for sub in group.groups:
                yield from visit([*chain, group], sub)

        for top in self.groups:
            yield from visit([], top)

    def item(self, item_id: str) -> Item | None:
        return next((item for _c, item in self.walk_items() if item.id == item_id), None)


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
    """Load a built-in profile by name, or a profile YAML file by path.

    Beyond the schema, every check an item names must be installed and every ``probe_settings``
    entry must be valid for its probe, within the probe's documented bounds (a profile cannot,
    for instance, raise nmap's or the ARP sweep's packet rate past its safe maximum).
    """
    path = Path(name_or_path)
    if not (path.suffix in {".yaml", ".yml"} or path.exists()):
        if name_or_path not in builtin_profiles():
            known = ", ".join(builtin_profiles())
            raise InputError(f"unknown profile {name_or_path!r}; built-in profiles: {known}")
        with resources.as_file(resources.files("auditor.profiles") / f"{name_or_path}.yaml") as p:
            data, node, raw = load_yaml(Path(p))
            shown = f"profile {name_or_path}"
    else:
        data, node, raw = load_yaml(path)
        shown = str(path)
    profile = validate(Profile, data, node, shown)
    _check_plugins(profile, node, shown)
    origin = str(path) if shown == str(path) else f"builtin:{name_or_path}"
    return LoadedProfile(profile, origin, raw)


PROBE_GROUP = "campus_auditor.probes"  # as in auditor.plugins, read here without loading checks
CHECK_GROUP = "campus_auditor.checks"


@functools.cache
def _installed() -> tuple[dict[str, type[BaseModel] | None], frozenset[str]]:
    """Installed probes (name → settings model; None when it cannot be loaded) and check names."""
    probes: dict[str, type[BaseModel] | None] = {}
    for ep in entry_points(group=PROBE_GROUP):
        try:
            probes[ep.name] = getattr(ep.load(), "settings_model", None)
        except Exception:  # a broken plugin is reported when the run loads it
            probes[ep.name] = None
    return probes, frozenset(ep.name for ep in entry_points(group=CHECK_GROUP))


def _check_plugins(profile: Profile, node: Any, shown: str) -> None:
    probes, checks = _installed()
    for ref_loc, check in _check_refs(profile):
        if check not in checks:
            raise InputError(f"{shown}:{line_of(node, ref_loc)}: {format_loc(ref_loc)}: unknown check "
                             f"{check!r}; installed: {', '.join(sorted(checks))}")
    for name, settings in profile.probe_settings.items():
        loc: list[int | str] = ["probe_settings", name]
        if name not in probes:
            raise InputError(f"{shown}:{line_of(node, loc)}: {format_loc(loc)}: no such probe; "
                             f"installed: {', '.join(sorted(probes))}")
        model = probes[name]
        if model is None:
            continue
        try:
            model.model_validate(settings)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = [*loc, *(p for p in first["loc"] if isinstance(p, int | str))]
            raise InputError(f"{shown}:{line_of(node, where)}: {format_loc(where)}: {first['msg']}; "
                             "stay within the probe's documented bounds (README: probe settings)") from None


def _check_refs(profile: Profile) -> Iterator[tuple[list[int | str], str]]:
    """Every (field path, check id) an item names."""
    def visit(loc: list[int | str], group: Group) -> Iterator[tuple[list[int | str], str]]:
        for i, item in enumerate(group.items):
            for j, ref in enumerate(item.checks):
                yield [*loc, "items", i, "checks", j, "check"], ref.check
        for k, sub in enumerate(group.groups):
            yield from visit([*loc, "groups", k], sub)

    for n, top in enumerate(profile.groups):
        yield from visit(["groups", n], top)
