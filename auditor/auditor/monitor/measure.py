"""The measurements: pure statistics and thin I/O around real sockets and the real iperf3.

- ``reach``: ICMP echo through a datagram ICMP socket (unprivileged where
  ``net.ipv4.ping_group_range`` allows it), else a raw socket (root or CAP_NET_RAW), else the
  timing of TCP connects to the target's port. ``probes`` echoes or connects, one every
  ``PROBE_GAP_S``; loss is what did not answer in ``timeout_s``.
- ``dns``: the system resolver (``getaddrinfo`` in a worker thread: what the school's programs
  see, with the system's own caching), timed.
- ``throughput``: one ``iperf3 --json`` client run against the uplink's iperf3 server, the same
  code path and validity rules as the audit's bandwidth probe (its parser, NIC speed and CPU
  saturation rules), bounded by ``-t`` seconds or, when the test could move more than the
  per-test byte limit, by ``-n`` bytes, and killed if it outlives its time limit. With ``-t`` the
  sending rate is capped at the uplink's link rate (``-b``), so a test never moves more than the
  bytes counted against the budget before it ran.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import os
import secrets
import select
import socket
import statistics
import struct
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import psutil

from auditor.errors import AuditorError
from auditor.facts import GoodputRun
from auditor.probes._proc import run_tool
from auditor.probes.iperf3 import INSTALL, _agent_nic, _busy_pct, _invalid_reasons
from auditor.probes.parsers.iperf3_json import Iperf3ParseError, Iperf3Run, parse_iperf3_json
from auditor.wire.monitoring import Sample

PROBE_GAP_S = 0.2
CPU_SATURATION_PCT = 90.0  # as the audit's bandwidth probe (Iperf3Settings.cpu_saturation_pct)
Direction = Literal["down", "up"]


def _now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------ pure statistics


def jitter(rtts: Sequence[float]) -> float | None:
    """Mean absolute difference of consecutive round trips (RFC 3550's idea, unsmoothed)."""
    if len(rtts) < 2:
        return None
    return statistics.fmean(abs(b - a) for a, b in itertools.pairwise(rtts))


def percentile(values: Sequence[float], pct: float) -> float | None:
    """The ``pct`` percentile by linear interpolation between closest ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def reach_sample(target: str, method: Literal["icmp", "tcp"], rtts: Sequence[float | None],
                 at: datetime, reason: str | None = None) -> Sample:
    """A ``reach`` sample from the round trips of ``len(rtts)`` probes (None: no answer)."""
    answered = [r for r in rtts if r is not None]
    j = jitter(answered)
    return Sample(kind="reach", at=at, target=target, method=method, sent=len(rtts),
                  received=len(answered),
                  rtt_ms=round(statistics.median(answered), 3) if answered else None,
                  jitter_ms=None if j is None else round(j, 3), reason=reason)


# ------------------------------------------------------------------ ICMP


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def echo_request(ident: int, seq: int, payload: bytes = b"campus-auditor monitor") -> bytes:
    header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    return struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ident, seq) + payload


def echo_reply(packet: bytes, raw: bool) -> tuple[int, int] | None:
    """``(ident, seq)`` of an ICMP echo reply (after the IP header on a raw socket), else None."""
    if raw:
        ihl = (packet[0] & 0x0F) * 4 if packet else 0
        if len(packet) < 20 or packet[0] >> 4 != 4 or ihl < 20:
            return None
        packet = packet[ihl:]
    if len(packet) < 8 or packet[0] != 0:
        return None
    return int.from_bytes(packet[4:6], "big"), int.from_bytes(packet[6:8], "big")


def icmp_socket() -> tuple[socket.socket, bool] | None:
    """A datagram ICMP socket if this user may open one, else a raw one (root), else None."""
    for kind, raw in ((socket.SOCK_DGRAM, False), (socket.SOCK_RAW, True)):
        try:
            return socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP), raw
        except OSError:
            continue
    return None


def icmp_permitted() -> bool:
    made = icmp_socket()
    if made is None:
        return False
    made[0].close()
    return True


def icmp_echo(address: str, count: int, timeout_s: float) -> list[float | None] | None:
    """Round trips (ms) of ``count`` echoes to ``address``; None when ICMP is not permitted."""
    made = icmp_socket()
    if made is None:
        return None
    sock, raw = made
    ident = (os.getpid() ^ threading.get_ident() ^ secrets.randbits(16)) & 0xFFFF
    rtts: list[float | None] = []
    with sock:
        sock.setblocking(False)
        if not raw:
            with contextlib.suppress(OSError):
                sock.bind(("0.0.0.0", 0))  # noqa: S104 - an ICMP socket's local end
            ident = sock.getsockname()[1] & 0xFFFF  # the kernel rewrites the id to the "port"
        for seq in range(1, count + 1):
            if seq > 1:
                time.sleep(PROBE_GAP_S)
            started = time.monotonic()
            try:
                sock.sendto(echo_request(ident, seq), (address, 0))
            except OSError:
                rtts.append(None)
                continue
            rtts.append(_await_reply(sock, raw, (address, ident, seq), started, timeout_s))
    return rtts


def _await_reply(sock: socket.socket, raw: bool, expected: tuple[str, int, int], started: float,
                 timeout_s: float) -> float | None:
    """The round trip of the reply from ``address`` to echo ``(ident, seq)``: other replies (a raw
    socket sees every ICMP packet of the host, concurrent measurements included) are skipped."""
    address, ident, seq = expected
    deadline = started + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([sock], [], [], left)
        if not ready:
            return None
        try:
            packet, source = sock.recvfrom(2048)
        except OSError:
            return None
        got = echo_reply(packet, raw)
        if got is not None and source[0] == address and got[1] == seq and (not raw or got[0] == ident):
            return (time.monotonic() - started) * 1000
    return None


# ------------------------------------------------------------------ TCP and reach


async def tcp_connects(address: str, port: int, count: int, timeout_s: float) -> list[float | None]:
    """Round trips (ms) of ``count`` TCP connects (the handshake); a refusal or timeout is None."""
    rtts: list[float | None] = []
    for i in range(count):
        if i:
            await asyncio.sleep(PROBE_GAP_S)
        started = time.monotonic()
        try:
            _reader, writer = await asyncio.wait_for(asyncio.open_connection(address, port), timeout_s)
        except (OSError, TimeoutError):
            rtts.append(None)
            continue
        rtts.append((time.monotonic() - started) * 1000)
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return rtts


@dataclass(frozen=True)
class ReachTarget:
    """One endpoint to measure: ``icmp`` only when its address is inside the inventory's scope."""

    id: str
    address: str
    tcp_port: int | None
    icmp: bool
    uplink: str | None = None


async def reach(target: ReachTarget, probes: int, timeout_s: float = 1.0, use_icmp: bool = True) -> Sample:
    at = _now()
    if target.icmp and use_icmp:
        rtts = await asyncio.to_thread(icmp_echo, target.address, probes, timeout_s)
        if rtts is not None:
            return _with_uplink(reach_sample(target.id, "icmp", rtts, at), target.uplink)
    if target.tcp_port is None:
        why = ("ICMP is not permitted here and the endpoint has no tcp_port" if target.icmp
               else "outside scope.allow: only a TCP connect is made, and the endpoint has no tcp_port")
        return _with_uplink(reach_sample(target.id, "tcp", [], at, reason=why), target.uplink)
    rtts = await tcp_connects(target.address, target.tcp_port, probes, timeout_s)
    return _with_uplink(reach_sample(target.id, "tcp", rtts, at), target.uplink)


def _with_uplink(sample: Sample, uplink: str | None) -> Sample:
    return sample if uplink is None else sample.model_copy(update={"uplink": uplink})


# ------------------------------------------------------------------ DNS


async def dns(name: str, timeout_s: float = 5.0) -> Sample:
    at = _now()
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(name, None, type=socket.SOCK_STREAM), timeout_s)
    except (OSError, TimeoutError) as exc:
        return Sample(kind="dns", at=at, target=name, ok=False,
                      resolve_ms=round((time.monotonic() - started) * 1000, 3),
                      reason=f"{type(exc).__name__}: {exc}"[:500])
    return Sample(kind="dns", at=at, target=name, ok=bool(infos),
                  resolve_ms=round((time.monotonic() - started) * 1000, 3))


# ------------------------------------------------------------------ throughput


@dataclass(frozen=True)
class ThroughputTest:
    """One direction of one uplink's test against its iperf3 server."""

    uplink: str
    address: str
    port: int
    direction: Direction
    expected_mbps: float  # the contracted rate of this direction, else the uplink's link rate
    duration_s: int
    max_bytes: int
    binary: str = "iperf3"
    interface: str | None = None
    link_mbps: float | None = None  # the uplink's link rate: no test moves more than this allows

    @property
    def estimated_bytes(self) -> int:
        """The most the test can move: the link rate (the faster of link and contract) for its
        duration, at most the byte limit (``-n``). Counted against the budget before it runs."""
        rate = max(self.expected_mbps, self.link_mbps or 0)
        return min(self.max_bytes, int(rate * 1e6 / 8 * self.duration_s))

    def argv(self) -> list[str]:
        # The agent is at the school: "down" (towards the school) means the far server sends (-R).
        # -t with the sending rate capped at the link rate (-b; iperf3 paces the server too with -R),
        # so the bytes stay within the estimate; -n when that estimate passes the byte limit
        rate = max(self.expected_mbps, self.link_mbps or 0)
        bound = (["-n", str(self.max_bytes)] if self.estimated_bytes >= self.max_bytes
                 else ["-t", str(self.duration_s), "-b", f"{math.ceil(rate)}M"])
        return [self.binary, "-c", self.address, "-p", str(self.port), *bound, "-O", "0", "--json",
                "--connect-timeout", "3000", *(["-R"] if self.direction == "down" else [])]

    @property
    def time_limit_s(self) -> float:
        return self.duration_s * 3 + 13


def moved_bytes(text: str) -> int | None:
    """The bytes a run moved (the larger of sent and received in ``end``), None if unreadable."""
    try:
        end = json.loads(text).get("end", {})
        counts = [end.get(k, {}).get("bytes") for k in ("sum_sent", "sum_received")]
    except (ValueError, AttributeError):
        return None
    numbers = [int(c) for c in counts if isinstance(c, int | float) and not isinstance(c, bool)]
    return max(numbers) if numbers else None


def throughput_sample(test: ThroughputTest, at: datetime, run: Iperf3Run | None, moved: int,
                      reasons: Sequence[str]) -> Sample:
    return Sample(kind="throughput", at=at, target=f"{test.address}:{test.port}", uplink=test.uplink,
                  direction=test.direction,
                  mbps=None if run is None else round(run.goodput_bps / 1e6, 3), bytes=moved,
                  valid=run is not None and not reasons,
                  reason="; ".join(reasons)[:500] or None)


async def throughput(test: ThroughputTest) -> Sample:
    """Run one test; an error becomes an invalid sample naming why, never an exception."""
    at = _now()
    nic = await _agent_nic(test.address, test.interface)
    before = psutil.cpu_times()
    try:
        res = await run_tool(test.argv(), test.time_limit_s, f"iperf3 to {test.address}:{test.port}", INSTALL)
    except AuditorError as exc:  # missing tool, killed after its time limit
        return throughput_sample(test, at, None, test.estimated_bytes, [str(exc)])
    busy = _busy_pct(before, psutil.cpu_times())
    text = res.stdout.decode("utf-8", "replace")
    moved = moved_bytes(text)
    try:
        outcome = parse_iperf3_json(text)
    except Iperf3ParseError as exc:
        detail = res.stderr.decode("utf-8", "replace").strip()[:200]
        return throughput_sample(test, at, None, test.estimated_bytes if moved is None else moved,
                                 [f"unreadable iperf3 output: {exc} {detail}".strip()])
    if not isinstance(outcome, Iperf3Run):
        return throughput_sample(test, at, None, moved or 0, [f"iperf3: {outcome.message}"])
    run = GoodputRun(goodput_mbps=outcome.goodput_bps / 1e6, sender_mbps=outcome.sender_bps / 1e6,
                     seconds=outcome.duration_s, retransmits=outcome.retransmits,
                     host_cpu_pct=outcome.host_cpu_pct, remote_cpu_pct=outcome.remote_cpu_pct, artifact="")
    reasons = _invalid_reasons([run], nic, [busy], math.ceil(test.expected_mbps), CPU_SATURATION_PCT)
    return throughput_sample(test, at, outcome, outcome.bytes_received if moved is None else moved, reasons)


def heartbeat(at: datetime | None = None) -> Sample:
    return Sample(kind="heartbeat", at=at or _now())
