"""Network-namespace demo school for trying campus-auditor end to end (root only)."""

from auditor.lab.school import (
    DEFAULT_PREFIX,
    LabError,
    LabInfo,
    down,
    netns_exec,
    ns_name,
    start_tarpit,
    status,
    stop_pid,
    up,
)

__all__ = [
    "DEFAULT_PREFIX",
    "LabError",
    "LabInfo",
    "down",
    "netns_exec",
    "ns_name",
    "start_tarpit",
    "status",
    "stop_pid",
    "up",
]
