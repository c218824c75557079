"""The files a scheduled audit runs from: the schedule (one per school) and the notification settings.

Both are YAML validated at the edge like the inventory (unknown keys are errors naming file,
line and field). Credentials are references (``{env: NAME}`` or ``{secret: NAME}`` in the
notification file's own ``secrets_file``), never inline.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from auditor.errors import InputError
from auditor.paths import state_dir
from auditor.secrets import SecretRef
from auditor.yamlsrc import load_yaml, validate

AT = re.compile(r"^(?:(mon|tue|wed|thu|fri|sat|sun) )?([01]\d|2[0-3]):([0-5]\d)$", re.IGNORECASE)
SchoolCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


def _local(host: str) -> bool:
    """Whether ``host`` is this machine (a local relay or collector: nothing crosses a network)."""
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


NoticeKind = Literal["regression", "failure"]
NOTICE_KINDS: tuple[NoticeKind, ...] = ("regression", "failure")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EmailSettings(_Model):
    """SMTP with STARTTLS (required unless ``starttls: false`` for a relay on the same host)."""

    host: str
    port: int = Field(587, ge=1, le=65535, strict=True)
    starttls: bool = True
    ca_file: Path | None = None  # trust anchor for the server's certificate (default: system CAs)
    username: SecretRef | None = None
    password: SecretRef | None = None
    sender: str
    to: Annotated[list[str], Field(min_length=1)]
    timeout_s: float = Field(30, gt=0, le=300)

    @model_validator(mode="after")
    def _no_clear_text_login(self) -> EmailSettings:
        if self.password is not None and not self.starttls and not _local(self.host):
            raise ValueError(f"a login to {self.host} without STARTTLS would send the password in clear "
                             "text; keep starttls: true (or use a relay on this machine)")
        return self


class WebhookSettings(_Model):
    """A JSON POST to ``url`` (optionally with a bearer token)."""

    url: Annotated[str, StringConstraints(pattern=r"^https?://")]
    bearer: SecretRef | None = None
    ca_file: Path | None = None
    timeout_s: float = Field(10, gt=0, le=120)
    retries: int = Field(3, ge=0, le=10)

    @model_validator(mode="after")
    def _no_clear_text_token(self) -> WebhookSettings:
        parts = urlsplit(self.url)
        if self.bearer is not None and parts.scheme == "http" and not _local(parts.hostname or ""):
            raise ValueError(f"a bearer token to {parts.hostname} over http would travel in clear text; "
                             "use an https:// URL (or a collector on this machine)")
        return self


class NotifyConfig(_Model):
    """Where to send a notice when a scheduled run regresses or fails."""

    version: Literal[1] = 1
    on: list[NoticeKind] = Field(default_factory=lambda: list(NOTICE_KINDS))
    email: EmailSettings | None = None
    webhook: WebhookSettings | None = None
    secrets_file: Path | None = None


class ScheduleConfig(_Model):
    """One school's scheduled audit (written by ``auditor schedule install``)."""

    version: Literal[1] = 1
    school: SchoolCode
    inventory: Path
    profiles: Annotated[list[str], Field(min_length=1)]
    every: Literal["daily", "weekly"] = "weekly"
    at: str = "sat 02:00"  # school time, in ``timezone``
    timezone: str = "Asia/Shanghai"  # the inventory's schedule.timezone at install
    out_root: Path
    formats: list[str] = Field(default_factory=lambda: ["html", "md"])
    keep: int | None = Field(None, ge=1, le=100_000)
    keep_days: int | None = Field(None, ge=1, le=36_500)
    delete_bundles: bool = False
    notify: Path | None = None
    metrics_dir: Path | None = None
    history_db: str | None = None
    allow_class_hours: bool = False
    key_dir: Path | None = None  # recorded at install: the service does not see the shell's settings
    attestations: Path | None = None

    @field_validator("at")
    @classmethod
    def _at(cls, value: str) -> str:
        if not AT.match(value.strip()):
            raise ValueError("write 'HH:MM' or 'Day HH:MM' (e.g. 'Sat 02:00')")
        return value.strip().lower()


def default_at(every: str) -> str:
    """The time a schedule runs when ``--at`` is not given: Saturday 02:00, or 02:00 daily."""
    return "02:00" if every == "daily" else "sat 02:00"


def schedules_dir() -> Path:
    return state_dir() / "schedules"


def load_schedule(path: Path) -> ScheduleConfig:
    data, node, _raw = load_yaml(path)
    return validate(ScheduleConfig, data, node, str(path))


def schedule_path(school: str) -> Path:
    return schedules_dir() / f"{school}.yaml"


def env_file(school: str) -> Path:
    """The school's environment file (``KEY=value`` lines, mode 0600): what the service reads its
    credential variables from (``EnvironmentFile=``), since it does not see the installing shell's."""
    return schedules_dir() / f"{school}.env"


def read_env_file(path: Path) -> dict[str, str]:
    """The variables an ``EnvironmentFile=`` sets (comments and blank lines skipped)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    values = {}
    for raw in lines:
        line = raw.strip()
        if line and not line.startswith(("#", ";")) and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip().removeprefix("export ").strip()] = value.strip().strip("\"'")
    return values


def find_schedule(school: str) -> ScheduleConfig:
    path = schedule_path(school)
    if not path.exists():
        raise InputError(f"no schedule for school {school!r} in {schedules_dir()}; "
                         "create one with: auditor schedule install")
    return load_schedule(path)


def load_notify(path: Path) -> NotifyConfig:
    data, node, _raw = load_yaml(path)
    return validate(NotifyConfig, data, node, str(path))
