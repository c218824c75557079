"""The agent's own configuration and state directory.

``auditor agent enroll`` writes ``agent.yaml`` into the agent's home (``--home``, else
``$AUDITOR_AGENT_HOME``, else ``agent/`` in the state directory) with a copy of the district's CA
certificate. The school decides here, not the district, whether a job may run bandwidth tests
during lessons (``allow_class_hours``), which inventory and credentials are used, and how fast
bundles may be uploaded over the school's uplink.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from auditor.errors import InputError
from auditor.paths import state_dir
from auditor.wire.errors import AgentError
from auditor.yamlsrc import load_model

CONFIG_NAME = "agent.yaml"
CA_NAME = "district-ca.pem"


class AgentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    server: str
    ca: Path | None = None
    member: str
    key_dir: Path
    inventory: Path | None = None
    allow_class_hours: bool = False
    profiles: list[str] | None = Field(
        default=None, description="profiles the district may request; None: any"
    )
    attestations: Path | None = None
    formats: list[str] = Field(default_factory=lambda: ["html", "md"])
    concurrency: int = Field(default=4, ge=1, le=64)
    probe_overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="probe settings, as `auditor run --set` gives them"
    )
    upload_rate_kbps: float | None = Field(default=None, gt=0, le=10_000_000)  # ≤ 10 Gbit/s
    poll_wait_s: float = Field(default=30, ge=0, le=60)
    backoff_base_s: float = Field(default=2, gt=0, le=3600)
    backoff_cap_s: float = Field(default=300, gt=0, le=86_400)
    max_upload_mb: float | None = Field(default=None, gt=0, le=100_000)


def default_home() -> Path:
    override = os.environ.get("AUDITOR_AGENT_HOME")
    return Path(override) if override else state_dir() / "agent"


def load_agent_config(home: Path) -> AgentConfig:
    path = home / CONFIG_NAME
    if not path.exists():
        raise AgentError(
            f"{path}: this agent is not enrolled; run: auditor agent enroll URL --token T "
            "--ca district-ca.pem"
        )
    try:
        return load_model(AgentConfig, path)
    except InputError as exc:  # file, line and field, as every other configuration file
        raise AgentError(str(exc)) from None


def save_agent_config(home: Path, config: AgentConfig) -> Path:
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = home / CONFIG_NAME
    tmp = path.with_suffix(".tmp")
    text = yaml.safe_dump(
        config.model_dump(mode="json", exclude_none=True), allow_unicode=True, sort_keys=False
    )
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    tmp.replace(path)
    return path
