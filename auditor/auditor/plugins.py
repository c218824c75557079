"""Extension points: the Probe, Check and Renderer protocols and their registries.

Built-ins register through entry points in ``pyproject.toml`` exactly as a third party
would: groups ``campus_auditor.probes``, ``campus_auditor.checks``,
``campus_auditor.renderers``. A registry keeps its own state and rejects duplicate names.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel

from auditor.errors import RegistryError
from auditor.model import Fact, FactStatus, Finding, JsonDict, Safety, Severity

if TYPE_CHECKING:
    from auditor.context import RunContext
    from auditor.inventory import Inventory

PROBE_GROUP = "campus_auditor.probes"
CHECK_GROUP = "campus_auditor.checks"
RENDERER_GROUP = "campus_auditor.renderers"
CLI_GROUP = "campus_auditor.cli"  # click command groups of other distributions (the demo school's `lab`)


@dataclass(frozen=True)
class ProbeTask:
    """One unit of probe work against one target.

    ``produces`` lists the (kind, subject) facts the task will yield, so that a task that
    fails, is refused or skipped still yields an ``error``/``skipped`` fact for each.
    ``locks`` are resources held exclusively while the task runs (an iperf3 server, a
    bottleneck link). ``address`` is the network address the task sends to (checked against the
    inventory's scope before anything is sent); None for a task that sends nothing on the network
    (one that reads records the agent keeps, such as Wi-Fi surveys).
    """

    probe: str
    target: str
    address: str | None
    params: Mapping[str, Any]
    produces: tuple[tuple[str, str], ...]
    safety: Safety = Safety.PASSIVE
    locks: frozenset[str] = frozenset()
    estimated_seconds: float = 1.0

    @property
    def net_address(self) -> str:
        """The address of a task that sends to the network (planned with one)."""
        if self.address is None:
            raise ValueError(f"task {self.probe} {self.target} has no network address")
        return self.address

    def failed(self, status: FactStatus, reason: str) -> list[Fact]:
        """The facts this task yields when it cannot measure."""
        return [
            Fact(kind=k, subject=s, probe=self.probe, status=status, error=reason)
            for k, s in self.produces
        ]


@runtime_checkable
class Probe(Protocol):
    """Gathers facts and evidence from the network.

    ``plan`` is pure (inventory and settings in, tasks out); ``run`` does the I/O for one
    task and returns facts. ``run`` raises :class:`auditor.errors.ProbeError` (or a
    subclass) when it cannot measure; the engine turns that into ``error`` facts.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    settings_model: ClassVar[type[BaseModel]]

    def plan(self, inventory: Inventory, settings: BaseModel) -> list[ProbeTask]: ...

    async def run(self, task: ProbeTask, ctx: RunContext) -> list[Fact]: ...


# What fixing a failure of a check takes (``CheckMeta.effort``): a configuration change, buying or
# replacing equipment or a service, or a rule, document or procedure the school adopts.
EFFORTS = ("config", "purchase", "policy")
# Who fixes it (``CheckMeta.owner``): the school's network administrator, the vendor or provider
# (equipment supplier, integrator, ISP or the district network), or the school's leadership.
OWNERS = ("network_admin", "vendor", "leadership")


@dataclass(frozen=True)
class CheckMeta:
    """What a check is for, in Chinese and English. The check's id is its registered name.

    ``effort`` and ``owner`` say what fixing a failure takes and who does it (see :data:`EFFORTS`
    and :data:`OWNERS`); a value outside them is an error when the check module is imported."""

    id: str
    title_zh: str
    title_en: str
    severity: Severity
    rationale_zh: str
    rationale_en: str
    remediation_zh: str
    remediation_en: str
    requires: tuple[str, ...]  # probe names whose facts it reads
    effort: str = "config"
    owner: str = "network_admin"

    def __post_init__(self) -> None:
        if self.effort not in EFFORTS:
            raise RegistryError(f"check {self.id!r}: effort {self.effort!r} is not one of "
                                f"{', '.join(EFFORTS)}")
        if self.owner not in OWNERS:
            raise RegistryError(f"check {self.id!r}: owner {self.owner!r} is not one of {', '.join(OWNERS)}")

    def to_json(self) -> JsonDict:
        return {
            "id": self.id,
            "title": {"zh": self.title_zh, "en": self.title_en},
            "severity": self.severity.value,
            "rationale": {"zh": self.rationale_zh, "en": self.rationale_en},
            "remediation": {"zh": self.remediation_zh, "en": self.remediation_en},
            "requires": list(self.requires),
            "effort": self.effort,
            "owner": self.owner,
        }


@dataclass
class FactIndex:
    """Facts by id, for checks to look up."""

    facts: dict[str, Fact] = field(default_factory=dict)

    def add(self, fact: Fact) -> None:
        self.facts[fact.id] = fact

    def get(self, kind: str, subject: str) -> Fact | None:
        return self.facts.get(f"{kind}:{subject}")

    def __iter__(self) -> Iterator[Fact]:
        return iter(self.facts.values())


P = TypeVar("P", bound=BaseModel)


@dataclass(frozen=True)
class CheckContext(Generic[P]):
    """What a check sees: the inventory, the facts, and its parameters from the profile (an
    instance of the check's ``params_model``, so ``CheckContext[MyParams]`` needs no cast)."""

    inventory: Inventory
    facts: FactIndex
    params: P


@runtime_checkable
class Check(Protocol):
    """Turns facts into findings. Pure: no I/O."""

    meta: ClassVar[CheckMeta]
    params_model: ClassVar[type[BaseModel]]

    def evaluate(self, ctx: CheckContext[Any]) -> list[Finding]: ...


@dataclass(frozen=True)
class RenderOptions:
    """How a renderer should render. ``lang``: ``zh`` (default) or ``en``. ``bundle_href``: prefix
    of links to the bundle's files (empty when the rendering is written into the bundle itself).
    ``untrusted_signer``: the fingerprints of signing keys the verifier does not trust (the
    rendering then says so where a reader sees it first); empty when every signer is trusted."""

    lang: str = "zh"
    bundle_href: str = ""
    untrusted_signer: str = ""


@runtime_checkable
class Renderer(Protocol):
    """Renders a report (the canonical JSON document) into one file of a human or machine format.

    ``filename`` is the file's name in the bundle; ``options`` carry the language and where the
    bundle's files are relative to the output. A renderer raises an ``AuditorError`` (never
    writes a partial file) when it cannot render.
    """

    name: ClassVar[str]
    filename: ClassVar[str]
    media_type: ClassVar[str]

    def render(self, report: JsonDict, options: RenderOptions) -> bytes: ...


T = TypeVar("T")


class Registry(Generic[T]):
    """Named plugins of one kind. Per-instance state; duplicate names are rejected."""

    def __init__(self, kind: str, protocol: type[Any]) -> None:
        self.kind = kind
        self._protocol = protocol
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T) -> None:
        if name in self._items:
            raise RegistryError(f"{self.kind} {name!r} is registered twice")
        if not isinstance(item, self._protocol):
            raise RegistryError(f"{self.kind} {name!r} does not implement {self._protocol.__name__}")
        self._items[name] = item

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise RegistryError(f"unknown {self.kind} {name!r} (installed: {known})") from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def items(self) -> Sequence[tuple[str, T]]:
        return sorted(self._items.items())

    def __contains__(self, name: object) -> bool:
        return name in self._items


@dataclass
class Plugins:
    """The probes, checks and renderers available to a run."""

    probes: Registry[Probe]
    checks: Registry[Check]
    renderers: Registry[Renderer]


def _load_group(group: str, registry: Registry[Any]) -> None:
    for ep in entry_points(group=group):
        try:
            obj = ep.load()
        except Exception as exc:  # a broken third-party plugin must not hide the others
            raise RegistryError(f"cannot load {registry.kind} {ep.name!r} ({ep.value}): {exc}") from exc
        registry.register(ep.name, obj())


def load_plugins() -> Plugins:
    """Load every installed probe, check and renderer from the entry-point groups."""
    plugins = Plugins(
        probes=Registry("probe", Probe),
        checks=Registry("check", Check),
        renderers=Registry("renderer", Renderer),
    )
    _load_group(PROBE_GROUP, plugins.probes)
    _load_group(CHECK_GROUP, plugins.checks)
    _load_group(RENDERER_GROUP, plugins.renderers)
    for name, probe in plugins.probes.items():
        if probe.name != name:
            raise RegistryError(f"probe registered as {name!r} calls itself {probe.name!r}")
    for name, check in plugins.checks.items():
        if check.meta.id != name:
            raise RegistryError(f"check registered as {name!r} has id {check.meta.id!r}")
    return plugins
