"""The district demo on loopback: a district server, two schools' agents, one remote check each.

``python -m auditor.lab.district [--out DIR]`` (``scripts/district-demo.sh``) creates a district
(SQLite, a throw-away district CA and a server certificate for 127.0.0.1), starts
``auditor district serve`` on a free loopback port, enrols two schools' agents (each with its own
Ed25519 key, pinning the district CA), requests a remote check of both, runs each agent once
(poll, audit, sign, upload), and saves the dashboard's overview and comparison pages and a
screenshot of each. Every connection stays on 127.0.0.1.

The two schools' inventories list targets outside their scope allow-lists, so the audits run end
to end and send nothing to any network: every measured check is an ``error`` ("outside the
inventory's scope allow-list"). That shows the district's mechanics (enrolment, signed requests,
jobs, verified upload, dashboard), not a school's results; a namespace lab per school (``auditor
lab up --prefix ...``) is the way to real measurements.
"""

from __future__ import annotations

import argparse
import os
import ssl
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from auditor.district.testing import Server, cli
from auditor.district.tlsgen import make_tls

SCHOOLS = (
    ("DEMO-0001", "演示学校（北京市海淀区示范中学）"),
    ("DEMO-0002", "演示学校（北京市海淀区实验小学）"),
)
INVENTORY = """\
version: 1
school: {{name: "{name}", code: {code}, district: 海淀区}}
scope:
  allow: [10.251.0.0/16]   # the targets below lie outside it: nothing is probed
schedule:
  timezone: Asia/Shanghai
uplink:
  endpoints: [{{id: district, address: 10.200.0.2}}]
  port: {{device: sw1, port: GigabitEthernet0/0/1}}
classrooms:
  - id: room101
    name: 教学楼 101
    endpoint: {{address: 10.200.11.2}}
    access_port: {{device: sw1, port: Ethernet0/0/1}}
devices:
  - id: sw1
    address: 10.200.9.2
    vendor: huawei
    snmp: {{version: "2c", community: {{env: SNMP_COMMUNITY}}}}
"""
PROFILES = ("beijing-smart-campus-2023", "gbt22239-2019-level2")


def _ok(res: subprocess.CompletedProcess[str], what: str) -> str:
    if res.returncode != 0:
        raise SystemExit(f"district demo: {what} failed:\n{res.stderr}")
    return res.stdout.strip()


def _save_page(server: Server, admin: str, path: str, out: Path) -> Path:
    with httpx.Client(
        base_url=server.url, verify=ssl.create_default_context(cafile=str(server.ca)), timeout=60
    ) as http:
        got = http.get(path, headers={"authorization": f"Bearer {admin}"})
        got.raise_for_status()
    out.write_text(got.text, encoding="utf-8")
    return out


def run(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    home = out / "district"
    admin = _ok(
        cli("district", "--home", str(home), "init", "--db", f"sqlite:///{home / 'district.db'}"), "init"
    )
    make_tls(home / "tls", ["127.0.0.1", "localhost"])
    server = Server(home, tls_dir=home / "tls").start(60)
    env = {"SNMP_COMMUNITY": "not-used-in-the-demo"}
    try:
        print(f"district server: {server.url} (CA {server.ca})")
        agents = []
        for code, name in SCHOOLS:
            school = out / code
            school.mkdir(exist_ok=True)
            inventory = school / "site.yaml"
            inventory.write_text(INVENTORY.format(code=code, name=name), encoding="utf-8")
            token = _ok(
                cli("district", "--home", str(home), "enroll", "--school", code, "--name", name), "enroll"
            )
            _ok(
                cli(
                    "agent",
                    "--home",
                    str(school / "agent"),
                    "enroll",
                    server.url,
                    "--token",
                    token,
                    "--ca",
                    str(server.ca),
                    "-i",
                    str(inventory),
                    "--key-dir",
                    str(school / "keys"),
                ),
                "agent enroll",
            )
            print(f"{code}: agent enrolled (key in {school / 'keys'})")
            agents.append(school / "agent")
        for code, _name in SCHOOLS:
            args = [a for p in PROFILES for a in ("-p", p)]
            job = _ok(cli("district", "--home", str(home), "request", "--school", code, *args), "request")
            print(f"{code}: remote check requested (job {job})")
        for agent in agents:
            res = cli("agent", "--home", str(agent), "run", "--once", "--wait", "5", env=env)
            last = res.stderr.strip().splitlines()[-1] if res.stderr.strip() else f"exit {res.returncode}"
            print(f"{agent.parent.name}: {last}")
        print(_ok(cli("district", "--home", str(home), "jobs"), "jobs"))
        pages = [
            ("/dashboard?lang=zh", out / "dashboard.html"),
            ("/dashboard/compare?school=DEMO-0001&school=DEMO-0002", out / "compare.html"),
        ]
        for path, file in pages:
            _save_page(server, admin, path, file)
            shot = file.with_suffix(".png")
            subprocess.run(
                [sys.executable, "-m", "auditor.reports.screenshot", str(file), str(shot)],
                check=False,
                capture_output=True,
                timeout=180,
            )
            print(
                f"{path}: {file}"
                + (f", screenshot {shot}" if shot.exists() else " (no screenshot: chromium?)")
            )
        print(
            f"dashboard: {server.url}/dashboard (sign in with the admin token in {out / 'admin-token.txt'})"
        )
        fd = os.open(out / "admin-token.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(admin + "\n")
        if os.environ.get("DISTRICT_DEMO_KEEP"):
            print("serving until Ctrl-C (DISTRICT_DEMO_KEEP is set)")
            while True:
                time.sleep(3600)
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="district demo on loopback")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run((args.out or Path("audits/district-demo") / stamp).resolve())


if __name__ == "__main__":
    main()
