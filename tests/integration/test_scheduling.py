"""Scheduled audits: systemd units, the per-school lock, a scheduled run with its regressions,
history, Prometheus textfile, email over STARTTLS to a real SMTP server (aiosmtpd on loopback),
a webhook to a real HTTP server on loopback, and JSON logs without secrets.

The audits are real runs of an inventory whose targets all lie outside its scope allow-list
(nothing is sent anywhere). The "previous run" a regression is measured against is that run's
own signed bundle with one finding edited to a pass and signed again by a test key.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from auditor.bundle import write_bundle
from auditor.history import open_store
from auditor.scheduling.units import on_calendar
from auditor.signing import load_signer
from tests.support.cli import run_cli
from tests.support.inventories import OUT_OF_SCOPE
from tests.support.keys import agent_keys
from tests.support.servers import Mailbox, Posts, free_port, http_server, smtp_server

SMTP_USER, SMTP_PASSWORD = "auditor-notice", "smtp-Pa55-never-logged"
BEARER = "hook-token-never-logged"
COMMUNITY = "community-never-logged"


# ---------------------------------------------------------------------------- real servers


@pytest.fixture()
def smtp(tmp_path: Path) -> Iterator[tuple[int, Path, Mailbox]]:
    with smtp_server(tmp_path, SMTP_USER, SMTP_PASSWORD) as server:
        yield server


@pytest.fixture()
def webhook() -> Iterator[tuple[str, Posts]]:
    with http_server([204], "/hook") as server:
        yield server


# ---------------------------------------------------------------------------- the school


@pytest.fixture()
def school(tmp_path: Path) -> dict[str, Any]:
    state = tmp_path / "state"
    keys = tmp_path / "keys"
    agent_keys(keys)
    inv = tmp_path / "site.yaml"
    inv.write_text(OUT_OF_SCOPE, encoding="utf-8")
    env = {"AUDITOR_STATE_DIR": str(state), "SNMP_COMMUNITY": COMMUNITY, "SMTP_PASSWORD": SMTP_PASSWORD,
           "HOOK_TOKEN": BEARER, "AUDITOR_KEY_DIR": str(keys),
           "AUDITOR_ATTESTATIONS": str(tmp_path / "no-attestations")}
    return {"tmp": tmp_path, "state": state, "inv": inv, "env": env, "keys": keys}


def _install(school: dict[str, Any], *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("schedule", "install", "-i", str(school["inv"]), "-p", "beijing-smart-campus-2023",
                   "--unit-dir", str(school["tmp"] / "units"), *extra, env=school["env"])


def _previous_run(school: dict[str, Any]) -> str:
    """A signed earlier run of this school in which the uplink check passed."""
    first = school["tmp"] / "first"
    res = run_cli("run", "-q", "-i", str(school["inv"]), "-p", "beijing-smart-campus-2023", "-o", str(first),
                  "--allow-class-hours", "--no-history", env=school["env"])
    assert res.returncode == 1, res.stderr
    report = json.loads((first / "report.json").read_bytes())
    report.pop("renderings")
    report["run"] = {**report["run"], "id": "0000aaaa-prev-run", "started_at": "2026-11-01T02:00:00Z"}
    for f in report["findings"]:
        if f["check"] == "bandwidth.uplink_goodput" and f["target"].endswith("downstream"):
            f.update(status="pass", measured=940.0, threshold=900.0, message="passed before")
    previous = school["tmp"] / "previous"
    shutil.copytree(first / "evidence", previous / "evidence")
    write_bundle(previous, report, [], load_signer(school["keys"]))
    with open_store(f"sqlite:///{school['state'] / 'history.sqlite'}") as store:
        store.ingest(previous)
    return "0000aaaa-prev-run"


def _notify_file(school: dict[str, Any], port: int, cert: Path, hook: str) -> Path:
    path = school["tmp"] / "notify.yaml"
    path.write_text(f"""\
version: 1
email:
  host: 127.0.0.1
  port: {port}
  ca_file: {cert}
  username: {{env: SMTP_USER_NAME}}
  password: {{env: SMTP_PASSWORD}}
  sender: auditor@school.example
  to: [admin@school.example]
webhook:
  url: {hook}
  bearer: {{env: HOOK_TOKEN}}
  retries: 1
""", encoding="utf-8")
    school["env"]["SMTP_USER_NAME"] = SMTP_USER
    return path


# ---------------------------------------------------------------------------- tests


@pytest.mark.parametrize(("every", "at", "calendar"), [
    ("weekly", "Sat 02:00", "Sat *-*-* 02:00:00 Asia/Shanghai"),
    ("weekly", "02:30", "Sat *-*-* 02:30:00 Asia/Shanghai"),
    ("daily", "23:05", "*-*-* 23:05:00 Asia/Shanghai")])
def test_on_calendar(every: str, at: str, calendar: str) -> None:
    assert on_calendar(every, at.lower()) == calendar


def test_units_are_hardened_and_verify(school: dict[str, Any]) -> None:
    printed = _install(school, "--print")
    assert printed.returncode == 0, printed.stderr
    assert "ProtectSystem=strict" in printed.stdout and "NoNewPrivileges=yes" in printed.stdout
    assert "CapabilityBoundingSet=CAP_NET_RAW\n" in printed.stdout and "Persistent=true" in printed.stdout
    assert not (school["tmp"] / "units").exists(), "--print installs nothing"
    res = _install(school, "--every", "weekly", "--at", "Sat 02:00")
    assert res.returncode == 0, res.stderr
    units = school["tmp"] / "units"
    assert {p.name for p in units.iterdir()} == {"campus-auditor@.service", "campus-auditor@T-1.timer",
                                                 "campus-auditor@T-1.service.d", "campus-auditor.conf",
                                                 "campus-auditor-T-1.conf"}
    timer = (units / "campus-auditor@T-1.timer").read_text()
    assert "OnCalendar=Sat *-*-* 02:00:00 Asia/Shanghai" in timer and "RandomizedDelaySec=" in timer
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    done = subprocess.run(["systemd-analyze", "verify", str(units / "campus-auditor@.service"),
                           str(units / "campus-auditor@T-1.timer")], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_bad_schedule_input_is_exit_2(school: dict[str, Any]) -> None:
    res = _install(school, "--every", "daily", "--at", "Sat 02:00")
    assert res.returncode == 2 and "daily schedule takes only a time" in res.stderr
    res = run_cli("schedule", "run", "--school", "NOPE", env=school["env"])
    assert res.returncode == 2 and "no schedule for school 'NOPE'" in res.stderr
    assert "Traceback" not in res.stderr


def test_scheduled_run_regression_notice_metrics_logs(
    school: dict[str, Any], smtp: tuple[int, Path, Mailbox],
    webhook: tuple[str, Posts],
) -> None:
    port, cert, box = smtp
    hook, posts = webhook
    previous = _previous_run(school)
    notify_path = _notify_file(school, port, cert, hook)
    assert _install(school, "--notify", str(notify_path), "--keep", "5").returncode == 0
    res = run_cli("schedule", "run", "--school", "T-1", env=school["env"])
    assert res.returncode == 1, res.stdout + res.stderr  # findings, no failure
    assert "regressed finding bandwidth.uplink_goodput uplink/district/downstream" in res.stdout
    bundle = Path(res.stdout.split("signed bundle ", 1)[1].split(" ", 1)[0])
    assert bundle.parent == school["state"] / "audits" / "T-1"
    assert not list(bundle.parent.glob(".*partial")), "no half-written bundle is left"
    assert run_cli("verify", str(bundle)).returncode == 0
    report = json.loads((bundle / "report.json").read_bytes())
    assert report["regressions"]["previous_run"] == previous
    assert [i["subject"] for i in report["regressions"]["items"] if i["kind"] == "finding"] == [
        "bandwidth.uplink_goodput uplink/district/downstream"]
    assert "自上次审计以来" in (bundle / "report.html").read_text(encoding="utf-8")
    # the bundle is in the history
    with open_store(f"sqlite:///{school['state'] / 'history.sqlite'}") as store:
        assert report["run"]["id"] in {r.run_id for r in store.runs(school="T-1")}
    # email over STARTTLS with login, and the webhook
    assert len(box.messages) == 1
    mail = message_from_bytes(box.messages[0])
    assert "1 regression(s)" in mail["Subject"] and "bandwidth.uplink_goodput" in mail.get_payload()
    assert len(posts) == 1
    headers, body = posts[0]
    assert headers["authorization"] == f"Bearer {BEARER}"
    payload = json.loads(body)
    assert payload["school"] == "T-1" and payload["run_id"] == report["run"]["id"]
    assert payload["regressions"][0]["kind"] == "finding"
    # Prometheus textfile, parsed by prometheus_client's own parser
    prom = (school["state"] / "metrics" / "campus_auditor_T_1.prom").read_text()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for fam in text_string_to_metric_families(prom) for s in fam.samples}
    assert samples[("campus_auditor_regressions", (("school", "T-1"),))] == 1
    assert samples[("campus_auditor_last_run_exit_status", (("school", "T-1"),))] == 1
    assert samples[("campus_auditor_score_points",
                    (("profile", "beijing-smart-campus-2023"), ("school", "T-1")))] == 0
    errors = report["summary"]["findings"]["error"]
    assert sum(v for (name, labels), v in samples.items() if name == "campus_auditor_findings"
               and ("status", "error") in labels) == errors
    # JSON logs, and no secret anywhere the run wrote
    lines = (school["state"] / "logs" / "auditor.jsonl").read_text().splitlines()
    events = [json.loads(line)["event"] for line in lines]
    assert events[0] == "run.start" and "notify.sent" in events and events[-1] == "run.end"
    written = b"".join(p.read_bytes() for p in school["state"].rglob("*") if p.is_file())
    written += box.messages[0] + body
    for secret in (SMTP_PASSWORD, BEARER, COMMUNITY):
        assert secret.encode() not in written, secret


def test_failed_run_is_notified_and_nothing_partial_is_left(
    school: dict[str, Any], webhook: tuple[str, Posts]
) -> None:
    hook, posts = webhook
    notify_path = school["tmp"] / "notify.yaml"
    notify_path.write_text(f"version: 1\nwebhook: {{url: '{hook}', retries: 0}}\n", encoding="utf-8")
    assert _install(school, "--notify", str(notify_path)).returncode == 0
    school["inv"].write_text(OUT_OF_SCOPE.replace("school:", "schol:"), encoding="utf-8")  # broken now
    res = run_cli("schedule", "run", "--school", "T-1", env=school["env"])
    assert res.returncode == 2 and "did not complete" in res.stderr and "schol" in res.stderr
    assert "Traceback" not in res.stderr
    assert len(posts) == 1 and json.loads(posts[0][1])["failure"]
    audits = school["state"] / "audits" / "T-1"
    assert not audits.exists() or not list(audits.iterdir())


def test_undeliverable_notice_does_not_fail_the_run(school: dict[str, Any]) -> None:
    _previous_run(school)
    notify_path = school["tmp"] / "notify.yaml"
    notify_path.write_text(f"version: 1\nwebhook: {{url: 'http://127.0.0.1:{free_port()}/x', "
                           "retries: 0, timeout_s: 2}\n", encoding="utf-8")
    assert _install(school, "--notify", str(notify_path)).returncode == 0
    res = run_cli("schedule", "run", "--school", "T-1", env=school["env"])
    assert res.returncode == 1 and "notice not delivered: webhook" in res.stderr
    assert "signed bundle" in res.stdout


def test_a_second_run_of_the_same_school_is_refused(school: dict[str, Any]) -> None:
    assert _install(school).returncode == 0
    lock = school["state"] / "locks" / "T-1.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from auditor.scheduling.lock import SchoolLock\n"
         f"with SchoolLock(Path({str(lock)!r})):\n    print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        res = run_cli("schedule", "run", "--school", "T-1", env=school["env"])
        assert res.returncode == 2 and f"pid {holder.pid}" in res.stderr and "is running" in res.stderr
        holder.send_signal(signal.SIGKILL)  # a holder killed outright releases the lock
        holder.wait(10)
        res = run_cli("schedule", "run", "--school", "T-1", env=school["env"])
        assert res.returncode == 1, res.stderr
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait(10)
    assert lock.exists() and lock.read_text() == "", "released: the holder's note is cleared"
