"""Faults to inject into a running demo school, for the reliability tests (root only).

* :func:`snmp_loss` drops a share of the SNMP requests reaching a namespace (an nftables
  ``numgen random`` rule in a table of its own; :func:`clear_snmp_loss` removes it);
* :func:`start_udp_garbage` answers every datagram on an address and port with random bytes
  (an SNMP agent, or a middlebox, that answers nonsense);
* :func:`start_skewed_backup_host` runs a second SSH server on the backup host whose ``date``
  is ``offset_s`` seconds off, with a dump directory stamped by that wrong clock (the newest
  dump is 40 hours old but looks 40 h - offset old);
* :func:`stop_daemon` kills one of the lab's own daemons (an iperf3 server); ``school.up``
  restarts it.

Every process is started through the lab's own bookkeeping, so ``school.down`` stops it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from auditor.lab import backuphost, base

FAULT_TABLE = "campus_auditor_fault"
SKEW_PORT = 2222
SKEW_REAL_AGE_H = 40.0  # the newest dump in skewed/ is really this old (stale: > 26 h)


def _nft(ns: str, script: str) -> None:
    argv = base.netns_exec(ns, ["nft", "-f", "-"])
    res = subprocess.run(argv, input=script, capture_output=True, text=True, timeout=20, check=False)
    if res.returncode != 0:
        raise base.LabError(f"nft in {ns} failed: {res.stderr.strip() or res.returncode}")


def snmp_loss(prefix: str, role: str, percent: int, port: int = base.SNMP_PORT) -> None:
    """Drop ``percent`` % of the UDP datagrams to ``port`` entering namespace ``role``."""
    if not 0 < percent <= 100:
        raise base.LabError(f"loss must be 1..100 %, not {percent}")
    ns = base.ns_name(prefix, role)
    clear_snmp_loss(prefix, role)
    match = "" if percent == 100 else f"numgen random mod 100 < {percent} "
    _nft(ns, f"table inet {FAULT_TABLE} {{\n  chain input {{\n    type filter hook input priority -10;\n"
             f"    udp dport {port} {match}counter drop\n  }}\n}}\n")


def clear_snmp_loss(prefix: str, role: str) -> None:
    """Remove the loss rule from namespace ``role`` (nothing to do when there is none)."""
    ns = base.ns_name(prefix, role)
    subprocess.run(base.netns_exec(ns, ["nft", "delete", "table", "inet", FAULT_TABLE]),
                   capture_output=True, timeout=20, check=False)


def dropped(prefix: str, role: str) -> int:
    """How many datagrams the loss rule in ``role`` has dropped so far."""
    ns = base.ns_name(prefix, role)
    res = subprocess.run(base.netns_exec(ns, ["nft", "list", "table", "inet", FAULT_TABLE]),
                         capture_output=True, text=True, timeout=20, check=False)
    words = res.stdout.split()
    return int(words[words.index("packets") + 1]) if "packets" in words else 0


_GARBAGE_SCRIPT = """
import os, socket, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((sys.argv[1], int(sys.argv[2])))
while True:
    _data, peer = sock.recvfrom(65535)
    sock.sendto(os.urandom(1 + os.urandom(1)[0] % 64), peer)
"""


def start_udp_garbage(prefix: str, role: str, address: str, port: int) -> int:
    """Answer every datagram to ``address:port`` in namespace ``role`` with 1-64 random bytes."""
    argv = [sys.executable, "-I", "-c", _GARBAGE_SCRIPT, address, str(port)]
    rec = base.start_daemon(prefix, role, f"garbage-{role}-{address}-{port}", argv, None)
    time.sleep(0.5)  # a UDP socket has no handshake to wait for
    return rec.pid


def stop_daemon(prefix: str, name: str) -> None:
    """Kill one of the lab's recorded daemons (e.g. ``iperf3-room101``)."""
    base.stop_pid(prefix, base.daemon_record(prefix, name).pid)


def _fake_date(directory: Path, offset_s: int) -> Path:
    """A ``date`` that answers ``+%s`` ``offset_s`` seconds off and is the real one otherwise."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "date"
    script.write_text("#!/bin/sh\n"
                      f'if [ "$1" = "+%s" ]; then echo $(( $(/bin/date +%s) + ({offset_s}) )); '
                      'else exec /bin/date "$@"; fi\n', encoding="ascii")
    script.chmod(0o755)
    return directory


def start_skewed_backup_host(prefix: str, offset_s: int, port: int = SKEW_PORT) -> Path:
    """A second sshd on the backup host whose clock is ``offset_s`` off; returns its dump directory.

    The dumps in the returned directory are stamped by the wrong clock: the newest was written
    :data:`SKEW_REAL_AGE_H` hours ago, which that clock recorded as ``offset_s`` later.
    """
    state = base.STATE_ROOT / prefix
    host_dir = state / "backuphost"
    skewed = host_dir / "skewed"
    now = time.time()
    backuphost._dumps(skewed, SKEW_REAL_AGE_H - offset_s / 3600, now)
    fakebin = _fake_date(host_dir / "skewed-bin", offset_s)
    config = host_dir / "sshd_config"
    text = config.read_text(encoding="ascii").replace(f"Port {backuphost.SSH_PORT}\n", f"Port {port}\n")
    text += f"SetEnv PATH={fakebin}:/usr/local/bin:/usr/bin:/bin\n"
    skewed_config = host_dir / "sshd_config-skewed"
    skewed_config.write_text(text, encoding="ascii")
    address = base.leaf("backup").addr
    argv = [backuphost.SSHD, "-D", "-e", "-f", str(skewed_config)]
    base.start_daemon(prefix, "backup", f"backup-sshd-skewed-{port}", argv, ("tcp", address, str(port)))
    return skewed
