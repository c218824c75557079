"""Backup probe against a real OpenSSH server in a namespace, and the checks on what it found.

Two namespaces of our own (prefix ``hd``): ``hd-cli`` (the agent) and ``hd-bk`` (the backup host,
sshd from :mod:`auditor.lab.backuphost`) joined by a veth pair on 10.200.21.0/30. The probe runs in
a child process inside ``hd-cli`` (``ip netns exec``) with a real RunContext, evidence store and
secret resolver, and prints its facts as JSON; the checks then run on those facts here.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.checks.backups import (
    BackupFresh,
    BackupOffsite,
    BackupRestoreTested,
    BackupSize,
    FreshParams,
    OffsiteParams,
    RestoreParams,
    SizeParams,
)
from auditor.context import RunContext
from auditor.errors import AuditorError
from auditor.evidence import EvidenceStore
from auditor.inventory import Inventory, load_inventory
from auditor.lab import backuphost
from auditor.model import Fact, FactStatus, Finding, Status
from auditor.plugins import CheckContext, FactIndex
from auditor.probes.backups import BackupFilesProbe, BackupSettings
from auditor.secrets import SecretResolver
from tests.support.paths import ROOT

pytestmark = pytest.mark.lab
CLI, BK = "hd-cli", "hd-bk"
CLI_ADDR, BK_ADDR = "10.200.21.1", "10.200.21.2"
TARPIT_PORT = 2222
USER_VAR = "HD_BACKUP_USER"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=30)


def _teardown_namespaces() -> None:
    for ns in (CLI, BK):
        _ip("netns", "del", ns, check=False)


def _wait_tcp(port: int, proc: subprocess.Popen[bytes]) -> None:
    code = f"import socket; socket.create_connection(('{BK_ADDR}', {port}), timeout=1).close()"
    for _ in range(150):
        if proc.poll() is not None:
            raise RuntimeError(f"server on {BK_ADDR}:{port} exited with {proc.returncode}")
        probe = subprocess.run(["ip", "netns", "exec", CLI, sys.executable, "-c", code],
                               capture_output=True, check=False, timeout=10)
        if probe.returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {BK_ADDR}:{port}")


def _start(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(["ip", "netns", "exec", BK, *argv], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture(scope="module")
def bk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[backuphost.BackupLab]:
    if os.geteuid() != 0 or shutil.which("ip") is None or not Path(backuphost.SSHD).exists():
        pytest.skip("needs root, iproute2 and openssh-server")
    state = tmp_path_factory.mktemp("hd-backup")
    _teardown_namespaces()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for ns in (CLI, BK):
            _ip("netns", "add", ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        _ip("link", "add", "hd-cli0", "netns", CLI, "type", "veth", "peer", "name", "hd-bk0", "netns", BK)
        for ns, dev, addr in ((CLI, "hd-cli0", CLI_ADDR), (BK, "hd-bk0", BK_ADDR)):
            _ip("-n", ns, "addr", "add", f"{addr}/30", "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")
        lab = backuphost.prepare(state, BK_ADDR)
        for name, (argv, _env) in backuphost.daemon_specs(state, BK_ADDR).items():
            procs.append(_start(argv, state / f"{name}.log"))
        _wait_tcp(backuphost.SSH_PORT, procs[0])
        tarpit = [sys.executable, "-m", "auditor.lab", "_tarpit", BK_ADDR, str(TARPIT_PORT)]
        procs.append(_start(tarpit, state / "tarpit.log"))
        _wait_tcp(TARPIT_PORT, procs[-1])
        yield lab
    finally:
        for proc in procs:
            _stop(proc)
        _teardown_namespaces()


def _site(lab: backuphost.BackupLab, tmp: Path, known: bool = True, **change: Any) -> Path:
    ssh = {"username": {"env": USER_VAR}, "key_file": str(change.pop("key", lab.client_key)),
           "port": change.pop("port", 22)}
    host = change.pop("host", BK_ADDR)
    known_hosts = tmp / "known_hosts"
    known_hosts.write_text(lab.known_hosts_line() if known else "", encoding="ascii")
    offsite = {"host": change.pop("offsite_host", BK_ADDR), "ssh": ssh,
               "path": change.pop("offsite_path", str(lab.offsite)), "pattern": lab.pattern}
    data = {
        "school": {"name": "hd backup lab"},
        "scope": {"allow": ["10.200.21.0/24"]},
        "agent": {"known_hosts": str(known_hosts), "ssh_first_contact": "reject"},
        "backups": [
            {"id": "fresh", "host": host, "ssh": ssh, "path": change.pop("fresh_path", str(lab.fresh)),
             "pattern": lab.pattern, "offsite": offsite, "restore_record": str(lab.restore_record)},
            {"id": "stale", "host": host, "ssh": ssh, "path": str(lab.stale), "pattern": lab.pattern},
            {"id": "shrunk", "host": host, "ssh": ssh, "path": str(lab.shrunk), "pattern": lab.pattern,
             "restore_record": str(lab.state_dir / "no-such-record.txt")},
        ],
    }
    assert not change, f"unknown changes {change}"
    path = tmp / "site.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _child(args: list[str]) -> None:
    """Run in the client namespace: the probe for every backup target; facts as JSON on stdout."""
    site, bundle, timeout = Path(args[0]), Path(args[1]), float(args[2])
    inventory = load_inventory(site).inventory
    secrets = SecretResolver(inventory.secrets_file)
    ctx = RunContext(inventory, EvidenceStore(bundle, secrets), secrets, state_dir=bundle / "state")
    probe = BackupFilesProbe()
    out = []
    for task in probe.plan(inventory, BackupSettings(timeout_s=timeout)):
        started = time.monotonic()
        try:
            facts, kind = asyncio.run(probe.run(task, ctx)), None
        except AuditorError as exc:
            facts, kind = task.failed(FactStatus.ERROR, secrets.mask(str(exc))), type(exc).__name__
        out += [{"fact": f.to_json(), "error_type": kind, "seconds": time.monotonic() - started}
                for f in facts]
    print(json.dumps(out))


def _probe(site: Path, tmp: Path, timeout: float = 10.0) -> dict[str, dict[str, Any]]:
    code = "import sys; from tests.lab.test_lab_backups import _child; _child(sys.argv[1:])"
    res = subprocess.run(["ip", "netns", "exec", CLI, sys.executable, "-c", code, str(site),
                          str(tmp / "bundle"), str(timeout)], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, USER_VAR: "root"}, check=False, timeout=300)
    assert res.returncode == 0, res.stderr
    return {item["fact"]["subject"]: item for item in json.loads(res.stdout)}


def _fact(item: dict[str, Any]) -> Fact:
    raw = item["fact"]
    return Fact(raw["kind"], raw["subject"], raw["probe"], FactStatus(raw["status"]), raw["data"],
                raw["error"], tuple(raw["artifacts"]))


def _findings(site: Path, found: dict[str, dict[str, Any]], check: Any, params: Any) -> dict[str, Finding]:
    index = FactIndex()
    for item in found.values():
        index.add(_fact(item))
    inventory: Inventory = load_inventory(site).inventory
    return {f.target: f for f in check.evaluate(CheckContext(inventory, index, params))}


def test_fresh_stale_shrunk_offsite_and_restore(bk: backuphost.BackupLab, tmp_path: Path) -> None:
    site = _site(bk, tmp_path)
    found = _probe(site, tmp_path)
    assert {i["fact"]["status"] for i in found.values()} == {"ok"}, found
    fresh = found["backup/fresh"]["fact"]
    names = [f["name"] for f in fresh["data"]["primary"]["files"]]
    assert len(names) == backuphost.NIGHTS and "README.txt" not in names
    assert fresh["data"]["offsite"]["path"] == str(bk.offsite) and fresh["data"]["offsite_error"] is None
    assert fresh["data"]["restore_record"]["text"].startswith(fresh["data"]["restore_record"]["date"])
    listing = (tmp_path / "bundle" / fresh["artifacts"][0]).read_text()
    assert all(name in listing for name in names)
    f = _findings(site, found, BackupFresh(), FreshParams())
    assert f["backup/fresh"].status is Status.PASS and f["backup/shrunk"].status is Status.PASS
    assert f["backup/stale"].status is Status.FAIL and f["backup/stale"].measured is not None
    assert f["backup/stale"].measured >= backuphost.STALE_AGE_H
    s = _findings(site, found, BackupSize(), SizeParams())
    assert s["backup/shrunk"].status is Status.FAIL and "10%" in s["backup/shrunk"].message
    assert s["backup/fresh"].status is Status.PASS and s["backup/stale"].status is Status.PASS
    o = _findings(site, found, BackupOffsite(), OffsiteParams())
    assert o["backup/fresh"].status is Status.PASS and o["backup/stale"].status is Status.FAIL
    assert _findings(site, found, BackupOffsite(), OffsiteParams(max_age_hours=24))[
        "backup/fresh"].status is Status.FAIL  # the off-site copy lags 27 h
    r = _findings(site, found, BackupRestoreTested(), RestoreParams())
    assert r["backup/fresh"].status is Status.PASS
    assert r["backup/fresh"].measured == backuphost.RESTORE_AGE_DAYS
    assert r["backup/stale"].status is Status.MANUAL
    assert r["backup/shrunk"].status is Status.FAIL and "does not exist" in r["backup/shrunk"].message


def test_newly_stale_after_set_age(bk: backuphost.BackupLab, tmp_path: Path) -> None:
    newest = max(bk.fresh.glob(bk.pattern), key=lambda p: p.stat().st_mtime)
    before = newest.stat().st_mtime
    try:
        for path in bk.fresh.glob(bk.pattern):
            backuphost.set_age(path, 30 + (before - path.stat().st_mtime) / 3600)
        site = _site(bk, tmp_path)
        f = _findings(site, _probe(site, tmp_path), BackupFresh(), FreshParams())
        assert f["backup/fresh"].status is Status.FAIL and f["backup/fresh"].measured is not None
        assert f["backup/fresh"].measured >= 30
    finally:
        backuphost.prepare(bk.state_dir.parent, BK_ADDR)


def test_missing_directory_and_broken_offsite(bk: backuphost.BackupLab, tmp_path: Path) -> None:
    site = _site(bk, tmp_path, fresh_path="/nonexistent/backups")
    fresh = _probe(site, tmp_path)["backup/fresh"]["fact"]
    assert fresh["status"] == "error"
    assert BK_ADDR in fresh["error"] and "/nonexistent/backups does not exist" in fresh["error"]
    other = tmp_path / "b"
    other.mkdir()
    site = _site(bk, other, offsite_path="/nonexistent/offsite")
    found = _probe(site, other)
    assert found["backup/fresh"]["fact"]["status"] == "ok"
    assert "/nonexistent/offsite" in found["backup/fresh"]["fact"]["data"]["offsite_error"]
    o = _findings(site, found, BackupOffsite(), OffsiteParams())
    assert o["backup/fresh"].status is Status.ERROR and "/nonexistent/offsite" in o["backup/fresh"].message
    assert _findings(site, found, BackupFresh(), FreshParams())["backup/fresh"].status is Status.PASS


def test_offsite_outside_scope_is_refused(bk: backuphost.BackupLab, tmp_path: Path) -> None:
    site = _site(bk, tmp_path, offsite_host="192.0.2.10")
    item = _probe(site, tmp_path)["backup/fresh"]
    assert item["error_type"] == "OutOfScope" and "192.0.2.10" in item["fact"]["error"]


def test_unknown_host_key_is_refused(bk: backuphost.BackupLab, tmp_path: Path) -> None:
    site = _site(bk, tmp_path, known=False)
    found = _probe(site, tmp_path)
    for item in found.values():
        assert item["error_type"] == "HostKeyRejected"
        assert f"{tmp_path / 'known_hosts'}; verify it and add it (ssh-keyscan" in item["fact"]["error"]
    f = _findings(site, found, BackupFresh(), FreshParams())
    assert {x.status for x in f.values()} == {Status.ERROR}
    assert (tmp_path / "known_hosts").read_text() == ""  # nothing learnt under "reject"


def test_wrong_key_is_auth_failure(bk: backuphost.BackupLab, tmp_path: Path) -> None:
    wrong = backuphost.generate_key(tmp_path / "keys" / "unauthorised")
    site = _site(bk, tmp_path, key=wrong)
    for item in _probe(site, tmp_path).values():
        assert item["error_type"] == "AuthFailed" and "SSH login refused" in item["fact"]["error"]


def test_host_down_and_tarpit_are_errors(bk: backuphost.BackupLab, tmp_path: Path) -> None:
    site = _site(bk, tmp_path, host="10.200.21.6")  # in scope, no route from the client
    for item in _probe(site, tmp_path).values():
        assert item["error_type"] == "TargetUnreachable" and "10.200.21.6" in item["fact"]["error"]
    other = tmp_path / "t"
    other.mkdir()
    site = _site(bk, other, port=TARPIT_PORT)
    for item in _probe(site, other, timeout=2).values():
        assert item["error_type"] == "ToolTimeout", item["fact"]["error"]
        assert f"{BK_ADDR}:{TARPIT_PORT}" in item["fact"]["error"]
        assert "within 2 s" in item["fact"]["error"]


def test_sshd_refuses_when_stopped(bk: backuphost.BackupLab, tmp_path: Path) -> None:
    site = _site(bk, tmp_path, port=2223)  # nothing listens there
    for item in _probe(site, tmp_path).values():
        assert item["error_type"] == "TargetUnreachable" and f"{BK_ADDR}:2223" in item["fact"]["error"]
