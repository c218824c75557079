"""The district server's configuration: ``district.yaml`` in its home directory.

``auditor district init`` writes it (mode 0600: the database URL may hold a password); every other
``auditor district`` command and every server process reads it. The home is ``--home``, else
``$AUDITOR_DISTRICT_HOME``, else ``~/.local/share/campus-auditor/district``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from auditor.errors import InputError
from auditor.paths import user_path
from auditor.wire.errors import DistrictError
from auditor.yamlsrc import load_model

CONFIG_NAME = "district.yaml"


class Parent(BaseModel):
    """The higher-level (city) server this district forwards its verified runs to."""

    model_config = ConfigDict(extra="forbid")

    url: str
    ca: Path
    code: str  # this district's member code at the parent


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
SCHOOL_WEEK: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")


class Monitoring(BaseModel):
    """Monitoring between audits: how long samples are kept and when a school is not ``live``.

    silent: no heartbeat for ``silent_intervals`` heartbeat intervals; down: heartbeats arrive but
    every reach probe of the last ``down_minutes`` was lost (the probes of the school's uplink
    endpoints where there are any: the district may be reached over another link); degraded:
    reach loss above
    ``degraded_loss_pct`` over the last ``loss_minutes``, or ``degraded_k`` of the last
    ``degraded_m`` valid throughput tests below ``degraded_throughput_pct`` % of the contract."""

    model_config = ConfigDict(extra="forbid")

    raw_days: int = Field(default=90, ge=1, le=3650)
    hourly_days: int = Field(default=3 * 365, ge=1, le=36500)
    heartbeat_interval_s: int = Field(default=300, ge=10, le=86400)
    silent_intervals: float = Field(default=2, gt=0, le=1000)
    down_minutes: float = Field(default=15, ge=0.1, le=1440)
    loss_minutes: float = Field(default=30, ge=0.1, le=1440)
    degraded_loss_pct: float = Field(default=5, ge=0, le=100)
    degraded_throughput_pct: float = Field(default=50, gt=0, le=100)
    degraded_k: int = Field(default=2, ge=1, le=16)
    degraded_m: int = Field(default=4, ge=1, le=16)  # the last 16 are kept per uplink
    max_batch_kb: int = Field(default=2048, ge=16, le=65536)
    school_day_start: str = Field(default="07:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    school_day_end: str = Field(default="18:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    school_weekdays: list[Weekday] = Field(default_factory=lambda: list(SCHOOL_WEEK), min_length=1)
    timezone: str = "Asia/Shanghai"


class DistrictConfig(BaseModel):
    """What every server process of one district shares."""

    model_config = ConfigDict(extra="forbid")

    db: str
    data_dir: Path
    max_upload_mb: float = Field(default=64, gt=0, le=100_000)
    max_unpacked_mb: float = Field(default=512, gt=0, le=1_000_000)
    max_files: int = Field(default=20000, gt=0, le=10_000_000)
    stale_days: int = Field(default=30, ge=1, le=3650)
    token_hours: float = Field(default=72, gt=0, le=8760)
    clock_skew_s: int = Field(default=300, ge=30)
    job_lease_minutes: int = Field(default=120, ge=1)
    poll_interval_s: float = Field(default=1.0, gt=0)
    parent: Parent | None = None
    monitoring: Monitoring = Field(default_factory=Monitoring)
    # the alerts file ``auditor alerts check`` reads (relative: to this file's folder); the
    # dashboard shows and acknowledges the alerts in its state folder (beside it)
    alerts_file: Path | None = None

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_unpacked_bytes(self) -> int:
        return int(self.max_unpacked_mb * 1024 * 1024)


def default_home() -> Path:
    return user_path("AUDITOR_DISTRICT_HOME", "XDG_DATA_HOME", ".local/share", "district")


def config_path(home: Path | None) -> Path:
    return (home or default_home()) / CONFIG_NAME


def load_config(home: Path | None) -> DistrictConfig:
    path = config_path(home)
    if not path.exists():
        raise DistrictError(f"{path}: no district here; run: auditor district init --db URL")
    try:
        config = load_model(DistrictConfig, path)
    except InputError as exc:  # file, line and field, as every other configuration file
        raise DistrictError(str(exc)) from None
    if config.alerts_file is not None and not config.alerts_file.is_absolute():
        config = config.model_copy(update={"alerts_file": (path.parent / config.alerts_file).resolve()})
    return config


def save_config(home: Path | None, config: DistrictConfig) -> Path:
    path = config_path(home)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = yaml.safe_dump(
        config.model_dump(mode="json", exclude_none=True), allow_unicode=True, sort_keys=False
    )
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    tmp.replace(path)
    return path
