"""Parse the JSON that ``iperf3 --json`` prints (tested with iperf3 3.12 output).

iperf3 3.12 exits 0 even when it could not connect, so the ``error`` key, not the exit code,
says whether a run worked. ``end.sum_received`` is the receiver-side goodput in both normal
and reverse (``-R``) mode, and excludes the ``-O`` omitted seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Iperf3Run:
    """One successful iperf3 test, as the client reported it."""

    version: str
    reverse: bool
    duration_s: float  # measured seconds, omitted seconds excluded
    omit_s: float
    bytes_received: int
    goodput_bps: float  # receiver side
    sender_bps: float
    retransmits: int | None
    host_cpu_pct: float | None
    remote_cpu_pct: float | None
    local: str
    remote: str


@dataclass(frozen=True)
class Iperf3Failure:
    """iperf3 reported an error instead of a result."""

    message: str
    busy: bool
    refused: bool
    transient: bool  # worth retrying: busy, or the control connection reset mid-setup


class Iperf3ParseError(ValueError):
    """The text is not iperf3 JSON output."""


def _num(obj: Any, *keys: str) -> float | None:
    for key in keys:
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return float(obj) if isinstance(obj, int | float) else None


def parse_iperf3_json(text: str) -> Iperf3Run | Iperf3Failure:
    """Parse one iperf3 ``--json`` document."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise Iperf3ParseError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise Iperf3ParseError("not an iperf3 JSON object")
    error = doc.get("error")
    if isinstance(error, str) and error:
        low = error.lower()
        busy = "busy" in low
        reset = "control message" in low or "reset by peer" in low
        return Iperf3Failure(error, busy=busy, refused="refused" in low, transient=busy or reset)
    end = doc.get("end")
    received = end.get("sum_received") if isinstance(end, dict) else None
    if not isinstance(received, dict) or "bits_per_second" not in received:
        raise Iperf3ParseError("no end.sum_received in iperf3 output (was it a TCP test?)")
    start = doc.get("start", {})
    test = start.get("test_start", {})
    connected = (start.get("connected") or [{}])[0]
    retrans = _num(end, "sum_sent", "retransmits")
    return Iperf3Run(
        version=str(start.get("version", "unknown")),
        reverse=bool(test.get("reverse", 0)),
        duration_s=float(received.get("seconds", 0.0)),
        omit_s=float(test.get("omit", 0)),
        bytes_received=int(received.get("bytes", 0)),
        goodput_bps=float(received["bits_per_second"]),
        sender_bps=_num(end, "sum_sent", "bits_per_second") or 0.0,
        retransmits=int(retrans) if retrans is not None else None,
        host_cpu_pct=_num(end, "cpu_utilization_percent", "host_total"),
        remote_cpu_pct=_num(end, "cpu_utilization_percent", "remote_total"),
        local=f"{connected.get('local_host', '?')}:{connected.get('local_port', '?')}",
        remote=f"{connected.get('remote_host', '?')}:{connected.get('remote_port', '?')}",
    )
