"""SNMPv3 (USM, authPriv) against a real agent: net-snmp's snmpd on loopback.

The discovery probe reads the system group, the interface table and LLDP over SNMPv3 with SHA
and AES, as the inventory's references give them; a wrong key or user is an error naming the
device, never an empty pass.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.context import RunContext
from auditor.errors import ProbeError
from auditor.evidence import EvidenceStore
from auditor.inventory import Inventory
from auditor.model import FactStatus
from auditor.plugins import ProbeTask
from auditor.probes._snmp import SnmpSettings
from auditor.probes.snmp_device import SnmpDeviceInfoProbe
from auditor.secrets import SecretResolver

SNMPD = shutil.which("snmpd") or "/usr/sbin/snmpd"
pytestmark = pytest.mark.skipif(not Path(SNMPD).exists(), reason="snmpd is not installed (scripts/setup.sh)")
AUTH, PRIV = "v3-test-auth-key", "v3-test-priv-key"


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    tmp = tmp_path_factory.mktemp("snmpd")
    port = _free_udp_port()
    (tmp / "snmpd.conf").write_text(
        f"agentaddress udp:127.0.0.1:{port}\n"
        f"createUser campus-v3 SHA {AUTH} AES {PRIV}\n"
        "rouser campus-v3 priv\n"
        "sysName v3-switch\n", encoding="ascii")
    proc = subprocess.Popen([SNMPD, "-f", "-Lo", "-C", "-c", str(tmp / "snmpd.conf"), "-p", str(tmp / "pid"),
                             f"--persistent-dir={tmp}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while subprocess.run(["snmpget", "-v3", "-l", "authPriv", "-u", "campus-v3", "-a", "SHA", "-A", AUTH,
                              "-x", "AES", "-X", PRIV, "-t", "1", "-r", "0", f"127.0.0.1:{port}",
                              "1.3.6.1.2.1.1.5.0"], capture_output=True, check=False).returncode != 0:
            assert proc.poll() is None, "snmpd exited"
            assert time.monotonic() < deadline, "snmpd did not answer"
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def _run(port: int, tmp: Path, user: str = "campus-v3", priv: str = PRIV) -> Any:
    inv = Inventory.model_validate({
        "school": {"name": "t"}, "scope": {"allow": ["127.0.0.0/8"]},
        "devices": [{"id": "v3sw", "address": "127.0.0.1", "vendor": "huawei", "snmp": {
            "version": "3", "port": port, "user": user, "auth_protocol": "sha", "auth_key": {"env": "A"},
            "priv_protocol": "aes", "priv_key": {"env": "P"}}}]})
    secrets = SecretResolver(None, environ={"A": AUTH, "P": priv})
    ctx = RunContext(inventory=inv, evidence=EvidenceStore(tmp, secrets), secrets=secrets)
    probe = SnmpDeviceInfoProbe()
    (task,) = probe.plan(inv, SnmpSettings(timeout_s=1.0, retries=0))
    assert isinstance(task, ProbeTask)
    return asyncio.run(probe.run(task, ctx)), tmp


def test_discovery_over_snmpv3_authpriv(agent: int, tmp_path: Path) -> None:
    (fact,), out = _run(agent, tmp_path)
    assert fact.status is FactStatus.OK
    assert fact.data["sys_name"] == "v3-switch"
    assert fact.data["snmp_version"] == "3" and fact.data["security"] == "authPriv"
    assert "lo" in {i["name"] or i["descr"] for i in fact.data["interfaces"]}  # the agent's real loopback
    evidence = (out / fact.artifacts[0]).read_text(encoding="utf-8")
    assert AUTH not in evidence and PRIV not in evidence


@pytest.mark.parametrize(("user", "priv"), [("campus-v3", "wrong-priv-key"), ("nobody", PRIV)])
def test_wrong_key_or_user_is_an_error_naming_the_device(agent: int, tmp_path: Path, user: str,
                                                          priv: str) -> None:
    with pytest.raises(ProbeError, match="v3sw"):
        _run(agent, tmp_path, user=user, priv=priv)
