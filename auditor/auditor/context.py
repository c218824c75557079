"""The run context handed to every probe: no globals, no side effects at import."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.evidence import EvidenceStore
from auditor.inventory import Inventory
from auditor.paths import state_dir
from auditor.secrets import SecretResolver


@dataclass
class RunContext:
    """Shared state of one audit run.

    ``shared`` holds per-run clients that are costly to create (one SNMP engine per run);
    probes create them lazily through :meth:`shared_client`.
    """

    inventory: Inventory
    evidence: EvidenceStore
    secrets: SecretResolver
    log: Callable[[str], None] = lambda _msg: None
    tool_versions: dict[str, str] = field(default_factory=dict)
    shared: dict[str, Any] = field(default_factory=dict)
    task_seconds: dict[str, float] = field(default_factory=dict)  # "probe target" -> wall time
    state_dir: Path = field(default_factory=state_dir)  # known_hosts, archived configs, surveys

    def known_hosts(self) -> Any:
        """The run's one :class:`auditor.sshclient.KnownHosts` (created on first use)."""
        from auditor.sshclient import KnownHosts  # noqa: PLC0415 - paramiko only when SSH is used

        agent = self.inventory.agent
        path = agent.known_hosts or self.state_dir / "known_hosts"
        return self.shared_client("known-hosts", lambda: KnownHosts(path, agent.ssh_first_contact))

    def shared_client(self, key: str, factory: Callable[[], Any]) -> Any:
        if key not in self.shared:
            self.shared[key] = factory()
        return self.shared[key]
