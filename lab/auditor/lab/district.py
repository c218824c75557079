"""The district demo: two namespace demo schools, a district server in its own namespace.

``python -m auditor.lab.district [--out DIR] [--keep] [--down]`` (``scripts/district-demo.sh``,
root) builds two demo schools (``auditor lab up`` with prefixes ``da`` and ``db``; the second is
renamed DEMO-0002 in its inventory) and a district namespace ``dd-district`` joined to each
school's agent namespace by a veth pair of its own (10.250.1.0/30 to ``da-agent``, 10.250.2.0/30
to ``db-agent``: outside both schools' 10.200.0.0/16 scope, so no probe of an audit goes there,
and an agent's traffic to the district is plain outbound HTTPS on that link). It creates the
district (SQLite, a district CA and a server certificate for those addresses), serves it from
inside the district namespace, enrols each agent from inside its agent namespace, requests a
remote check of each school, and runs the agents once, one after the other (two schools'
bandwidth tests must not share the two CPUs), so the uploaded bundles carry real measurements.
It then saves the dashboard's overview and comparison pages, as the district namespace serves
them, with a screenshot of each.

The agents are enrolled with ``--allow-class-hours`` and the jobs ask for it: the lab is not a
real school, so its bandwidth tests may run during the demo timetable's lessons. ``--keep``
leaves the server running in its namespace; otherwise it is stopped and the district namespace
removed on exit. ``--down`` removes the district namespace and both schools. ``--set`` passes
probe settings to both agents (``probe_overrides`` in ``agent.yaml``), as the lab test does to
shorten the bandwidth tests; ``--prefix P`` names the schools ``Pa``, ``Pb`` and the district
``Pd-district`` (the test uses ``dt``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from auditor.district.tlsgen import make_tls
from auditor.errors import AuditorError
from auditor.lab import base, school
from auditor.lab.district_harness import cli_argv

PORT = 8443
SCHOOLS = (
    ("DEMO-0001", "演示学校（北京市海淀区示范中学）"),
    ("DEMO-0002", "演示学校（北京市海淀区实验小学）"),
)
PROFILES = ("beijing-smart-campus-2023", "gbt22239-2019-level3")
WIFI_SCANS = (("teach-301", "teaching-301.iw.txt"), ("office-205", "office-205.iw.txt"))
SERVER = "district-server"  # the server's record name in the district's state file
_TEMPLATE_SCHOOL = SCHOOLS[0]  # what the lab's site.yaml says before it is renamed
ACCESS_LINE = re.compile(r'INFO: +([0-9.]+):\d+ - "([A-Z]+) (\S+) HTTP')  # uvicorn's access log
PREFIX_RE = re.compile(r"^[a-z][a-z0-9]{0,5}$")
_READY_TIMEOUT_S = 60.0
_AGENT_TIMEOUT_S = 1800.0

# Run inside a namespace with ``python -I -c``. HEALTH: exit 0 once ``URL/v1/health`` answers
# 200 over TLS with the district CA pinned. FETCH: save a dashboard page (bearer token read from
# a file, never from the command line), refusing a redirect (to the login page).
_HEALTH = """
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
with urllib.request.urlopen(sys.argv[1] + "/v1/health", timeout=2, context=ctx) as r:
    sys.exit(0 if r.status == 200 else 1)
"""
FETCH = """
import ssl, sys, urllib.request
url, ca, token_file, out = sys.argv[1:5]
token = open(token_file, encoding="utf-8").read().strip()
req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
with urllib.request.urlopen(req, timeout=60, context=ssl.create_default_context(cafile=ca)) as r:
    if r.geturl() != url:
        sys.exit("redirected to " + r.geturl())
    open(out, "wb").write(r.read())
"""


class DemoError(RuntimeError):
    """The demo cannot go on; the message is one line."""


@dataclass(frozen=True)
class Site:
    """One demo school and its link to the district."""

    prefix: str
    index: int  # 1, 2: the link's subnet 10.250.<index>.0/30
    code: str
    name: str
    district_ns: str

    @property
    def agent_ns(self) -> str:
        return base.ns_name(self.prefix, "agent")

    @property
    def district_addr(self) -> str:
        return f"10.250.{self.index}.1"

    @property
    def agent_addr(self) -> str:
        return f"10.250.{self.index}.2"

    @property
    def url(self) -> str:
        return f"https://{self.district_addr}:{PORT}"

    @property
    def inventory(self) -> Path:
        return base.STATE_ROOT / self.prefix / "site.yaml"

    @property
    def district_dev(self) -> str:
        return f"{self.district_ns.split('-')[0]}-{self.prefix}"

    @property
    def agent_dev(self) -> str:
        return f"{self.prefix}-dist"


@dataclass(frozen=True)
class Lab:
    """The demo's names: schools ``<prefix>a`` and ``<prefix>b``, district ``<prefix>d-district``."""

    prefix: str = "d"
    schools: int = 2  # the first one or both

    @property
    def district_ns(self) -> str:
        return f"{self.prefix}d-district"

    @property
    def state(self) -> Path:
        return base.STATE_ROOT / f"{self.prefix}d"

    @property
    def sites(self) -> tuple[Site, ...]:
        return tuple(
            Site(f"{self.prefix}{letter}", i, code, name, self.district_ns)
            for i, (letter, (code, name)) in enumerate(zip("ab", SCHOOLS, strict=True), start=1)
        )[: self.schools]


@dataclass(frozen=True)
class Options:
    out: Path
    keep: bool
    profiles: tuple[str, ...]
    overrides: dict[str, dict[str, Any]]


# ------------------------------------------------------------------------------------ helpers


def _auditor(*args: str) -> list[str]:
    """argv of the ``auditor`` command of this interpreter's environment."""
    return cli_argv(*args)


def run_checked(argv: Sequence[str], what: str, timeout: float = 300, log: Path | None = None) -> str:
    """Run a command; its stdout, or a one-line DemoError naming ``what``."""
    try:
        res = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DemoError(f"{what}: {exc}") from None
    if log is not None:
        log.write_text(res.stdout + res.stderr, encoding="utf-8")
    if res.returncode != 0:
        lines = (res.stderr or res.stdout).strip().splitlines()
        where = f" (full output: {log})" if log is not None else ""
        last = lines[-1] if lines else "no output"
        raise DemoError(f"{what} failed (exit {res.returncode}): {last}{where}")
    return res.stdout.strip()


def _say(text: str) -> None:
    print(f"district demo: {text}", flush=True)


def parse_sets(items: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``PROBE.SETTING=VALUE`` (YAML value) items as probe overrides."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        name, eq, raw = item.partition("=")
        probe, dot, key = name.rpartition(".")
        if not (eq and dot and probe and key):
            raise DemoError(f"--set {item!r}: write PROBE.SETTING=VALUE, e.g. iperf3.bandwidth.runs=1")
        try:
            out.setdefault(probe, {})[key] = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise DemoError(f"--set {item!r}: the value is not valid YAML") from None
    return out


# ------------------------------------------------------------------------------------ schools


def prepare_schools(lab: Lab) -> None:
    """Build (or repair) both demo schools, name them, import their Wi-Fi survey scans."""
    for site in lab.sites:
        started = time.monotonic()
        school.up(site.prefix)
        name_school(site)
        _import_wifi(site)
        _say(f"school {site.code} {site.name}: lab {site.prefix}-* up ({time.monotonic() - started:.0f} s)")


def name_school(site: Site) -> None:
    """Give the lab's inventory this school's code and name (the rest of the file stays).

    The name is also the organisation of the inventory's authorisation record, where it has one.
    """
    text = site.inventory.read_text(encoding="utf-8")
    old_code, old_name = _TEMPLATE_SCHOOL
    edited = text.replace(f"\n  code: {old_code}\n", f"\n  code: {site.code}\n", 1)
    for key in ("name", "organisation"):
        edited = edited.replace(f"\n  {key}: {old_name}\n", f"\n  {key}: {site.name}\n", 1)
    doc = yaml.safe_load(edited)
    if (doc.get("school") or {}).get("code") != site.code:
        raise DemoError(f"{site.inventory}: cannot set school.code (did the lab's demo-site.yaml change?)")
    site.inventory.write_text(edited, encoding="utf-8")


def _import_wifi(site: Site) -> None:
    """Import the two sample scans as survey records, as scripts/demo.sh does (the lab has no radios)."""
    scans = Path(school.__file__).resolve().parent / "data" / "wifi"
    taken = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for area, name in WIFI_SCANS:
        argv = _auditor("wifi", "survey", "-i", str(site.inventory), "--area", area, "--tool", "iw",
                        "--from-file", str(scans / name), "--taken-at", taken)
        run_checked(argv, f"{site.code}: wifi survey of {area}")


# ------------------------------------------------------------------------------- the network


def build_district_net(lab: Lab) -> None:
    """The district namespace and one veth pair per school's agent namespace (idempotent)."""
    base.ensure_namespace(lab.district_ns, base.existing_namespaces())
    # No forwarding: neither school reaches the other (or anything) through the district.
    forward = "/proc/sys/net/ipv4/ip_forward"
    base.run(base.python_in(lab.district_ns, base.SYSCTL_SCRIPT, forward, "0"))
    for site in lab.sites:
        _ensure_link(site)


def _ensure_link(site: Site) -> None:
    dns, ans = site.district_ns, site.agent_ns
    if not (base.link_exists(dns, site.district_dev) and base.link_exists(ans, site.agent_dev)):
        for ns, dev in ((dns, site.district_dev), (ans, site.agent_dev)):
            if base.link_exists(ns, dev):
                base.run(["ip", "-n", ns, "link", "del", "dev", dev])
        base.run(["ip", "link", "add", site.district_dev, "netns", dns,
                     "type", "veth", "peer", "name", site.agent_dev, "netns", ans])
    ends = ((dns, site.district_dev, site.district_addr), (ans, site.agent_dev, site.agent_addr))
    for ns, dev, addr in ends:
        base.run(["ip", "-n", ns, "addr", "replace", f"{addr}/30", "dev", dev])
        base.run(["ip", "-n", ns, "link", "set", dev, "up"])


def remove_district_net(lab: Lab) -> None:
    """Stop the server, delete the district namespace and both links (nothing else)."""
    stop_server(lab)
    existing = base.existing_namespaces()
    for site in lab.sites:
        if site.agent_ns in existing and base.link_exists(site.agent_ns, site.agent_dev):
            base.run(["ip", "-n", site.agent_ns, "link", "del", "dev", site.agent_dev])
    if lab.district_ns in existing:
        base.run(["ip", "netns", "del", lab.district_ns])
    etc = base.NETNS_ETC / lab.district_ns
    (etc / "resolv.conf").unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        etc.rmdir()


# ---------------------------------------------------------------------------------- district


def init_district(home: Path, lab: Lab) -> tuple[Path, Path]:
    """Create the district (SQLite) and its TLS; returns (admin token file, district CA)."""
    home.mkdir(parents=True, exist_ok=True)
    token = run_checked(_auditor("district", "--home", str(home), "init", "--db",
                          f"sqlite:///{home / 'district.db'}"), "district init")
    token_file = home / "admin-token.txt"
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token.splitlines()[-1].strip() + "\n")
    hosts = [site.district_addr for site in lab.sites] + ["127.0.0.1"]
    ca, _cert, _key = make_tls(home / "tls", hosts)
    return token_file, ca


def start_server(lab: Lab, home: Path, ca: Path) -> base.ProcRecord:
    """``auditor district serve`` inside the district namespace; returns once it answers."""
    tls = home / "tls"
    argv = base.netns_exec(lab.district_ns, _auditor(
        "district", "--home", str(home), "serve", "--listen", f"0.0.0.0:{PORT}",
        "--tls-cert", str(tls / "server.pem"), "--tls-key", str(tls / "server-key.pem"),
        "--log-level", "debug", "--graceful-timeout", "2"))  # debug: the access log, with clients
    log = home / "server.log"
    with log.open("ab") as out:
        proc = base.popen(argv, out, None)
    base.CHILDREN[proc.pid] = proc
    rec = base.ProcRecord(SERVER, proc.pid, base.proc_start_ticks(proc.pid) or -1, argv, str(log))
    lab.state.mkdir(parents=True, exist_ok=True)
    base.save_records(lab.state, {SERVER: rec})
    for site in lab.sites:
        _wait_ready(rec, site, ca)
    return rec


def _wait_ready(rec: base.ProcRecord, site: Site, ca: Path) -> None:
    """Poll the server's health from the school's agent namespace (the way its agent comes)."""
    deadline = time.monotonic() + _READY_TIMEOUT_S
    probe = base.netns_exec(site.agent_ns, [sys.executable, "-I", "-c", _HEALTH, site.url, str(ca)])
    while time.monotonic() < deadline:
        if base.proc_start_ticks(rec.pid) != rec.start_ticks:
            raise DemoError(f"the district server exited during start-up (see {rec.log})")
        if base.run(probe, check=False, timeout=10).returncode == 0:
            return
        time.sleep(0.3)
    raise DemoError(f"the district server did not answer {site.url} from {site.agent_ns} "
                    f"within {_READY_TIMEOUT_S:.0f} s (see {rec.log})")


def stop_server(lab: Lab) -> None:
    """Stop the server this demo started (recorded in its state file), if it still runs."""
    rec = base.load_records(lab.state).get(SERVER) if lab.state.exists() else None
    if rec is not None:
        base.terminate(rec)
        base.save_records(lab.state, {})


# -------------------------------------------------------------------------------- the schools


def enrol_agent(site: Site, home: Path, ca: Path, out: Path, overrides: dict[str, dict[str, Any]]) -> Path:
    """Enrol the school's agent from inside its agent namespace; returns the agent's home."""
    token = run_checked(_auditor("district", "--home", str(home), "enroll", "--school", site.code,
                          "--name", site.name), f"{site.code}: district enroll")
    school_dir = out / site.code
    agent, keys = school_dir / "agent", school_dir / "keys"
    run_checked(_auditor("keys", "init", "--sm2", "--key-dir", str(keys)), f"{site.code}: keys init")
    argv = base.netns_exec(site.agent_ns, _auditor(
        "agent", "--home", str(agent), "enroll", site.url, "--token", token.splitlines()[-1],
        "--ca", str(ca), "-i", str(site.inventory), "--key-dir", str(keys), "--allow-class-hours"))
    run_checked(argv, f"{site.code}: agent enroll")
    if overrides:
        _set_overrides(agent, overrides)
    return agent


def _set_overrides(agent: Path, overrides: dict[str, dict[str, Any]]) -> None:
    from auditor.agent.config import load_agent_config, save_agent_config  # noqa: PLC0415

    config = load_agent_config(agent)
    save_agent_config(agent, config.model_copy(update={"probe_overrides": overrides}))


def request_check(site: Site, home: Path, profiles: Sequence[str]) -> str:
    args = [a for p in profiles for a in ("-p", p)]
    job = run_checked(_auditor("district", "--home", str(home), "request", "--school", site.code, *args,
                        "--within", "2h", "--allow-class-hours"), f"{site.code}: district request")
    return job.splitlines()[-1]


def run_agent(site: Site, agent: Path) -> str:
    """One agent cycle in its namespace: poll, audit, sign, upload. Returns its last line."""
    argv = base.netns_exec(site.agent_ns, _auditor("agent", "--home", str(agent), "run", "--once",
                                                     "--wait", "5"))
    log = agent.parent / "agent-run.log"
    run_checked(argv, f"{site.code}: agent run", timeout=_AGENT_TIMEOUT_S, log=log)
    lines = log.read_text(encoding="utf-8").strip().splitlines()
    return lines[-1] if lines else "no output"


# ------------------------------------------------------------------------------------ results


def check_jobs(home: Path) -> None:
    """Every job done with its bundle ingested; else a one-line error naming the job."""
    from auditor.district.config import load_config  # noqa: PLC0415
    from auditor.district.db import open_database  # noqa: PLC0415
    from auditor.district.service import District  # noqa: PLC0415

    config = load_config(home)
    district = District(open_database(config.db), config)
    try:
        for job in district.jobs(None):
            if job.status != "done" or not job.bundle_digest:
                why = job.message or "no message"
                raise DemoError(f"job {job.id} of {job.school} is {job.status}: {why}")
    finally:
        district.db.close()


def summary_lines(home: Path, codes: Sequence[str]) -> Iterator[str]:
    """What the comparison view shows, as lines for the terminal."""
    from auditor.district.config import load_config  # noqa: PLC0415
    from auditor.district.db import open_database  # noqa: PLC0415
    from auditor.district.views import compare  # noqa: PLC0415

    config = load_config(home)
    db = open_database(config.db)
    try:
        cmp = compare(db, list(codes), config.stale_days)
    finally:
        db.close()
    for row in cmp.schools:
        up = ", ".join(f"{subject.rsplit('/', 1)[-1]} {values[row.code]:.1f}"
                       for subject, values in cmp.uplink if row.code in values)
        passed, total = cmp.classrooms.get(row.code, (0, 0))
        score = f"{row.beijing[0]:g}/{row.beijing[1]:g}" if row.beijing else "—"
        gbt = f"GB/T pass {row.gbt.get('gbt_pass', 0)} fail {row.gbt.get('gbt_fail', 0)}"
        yield (f"{row.code}: Beijing {score}, {gbt}, uplink {up or '—'} Mbit/s, "
               f"classrooms passed {passed}/{total}, failures {row.failures_total}")


def save_pages(lab: Lab, out: Path, ca: Path, token_file: Path) -> list[Path]:
    """Fetch the overview and the comparison inside the district namespace; screenshot each."""
    codes = "&".join(f"school={site.code}" for site in lab.sites)
    pages = (("/dashboard?lang=zh", "dashboard.html"),
             (f"/dashboard/compare?{codes}&lang=zh", "compare.html"))
    saved = []
    for path, name in pages:
        url, file = f"https://127.0.0.1:{PORT}{path}", out / name
        argv = base.netns_exec(lab.district_ns, [sys.executable, "-I", "-c", FETCH, url, str(ca),
                                                   str(token_file), str(file)])
        run_checked(argv, f"fetching {path} in {lab.district_ns}", timeout=90)
        saved.append(file)
        screenshot(file)
    return saved


def screenshot(page: Path) -> None:
    shot = page.with_suffix(".png")
    argv = [sys.executable, "-m", "auditor.reports.screenshot", str(page), str(shot)]
    try:
        run_checked(argv, f"screenshot of {page.name}", timeout=180)
    except DemoError as exc:
        _say(f"no screenshot ({exc}); is Debian's chromium installed?")
        return
    _say(f"saved {page} and its screenshot {shot}")


def clients(log: Path) -> dict[str, int]:
    """Client address → requests, from the server's access log."""
    seen: dict[str, int] = {}
    text = log.read_text(encoding="utf-8", errors="replace")
    for m in ACCESS_LINE.finditer(text):
        seen[m.group(1)] = seen.get(m.group(1), 0) + 1
    return seen


# ---------------------------------------------------------------------------------- the flow


def run(lab: Lab, opts: Options) -> None:
    started = time.monotonic()
    with base.locked(lab.state):
        stop_server(lab)  # an earlier --keep run's server
        prepare_schools(lab)
        build_district_net(lab)
        kept = False
        try:
            _district_flow(lab, opts)
            kept = opts.keep
        finally:
            if not kept:
                remove_district_net(lab)
    _say(f"done in {time.monotonic() - started:.0f} s")
    if not kept:
        _say(f"district server stopped, {lab.district_ns} removed; the schools stay up "
             f"(tear everything down: {_down_command(lab)})")


def _district_flow(lab: Lab, opts: Options) -> None:
    home = opts.out / "district"
    token_file, ca = init_district(home, lab)
    rec = start_server(lab, home, ca)
    _say(f"district server (pid {rec.pid}) in {lab.district_ns}, listening on 0.0.0.0:{PORT}: "
         + ", ".join(f"{s.url} for {s.code}" for s in lab.sites))
    _say("agents enrolled with --allow-class-hours and jobs asking for it: only because this is a "
         "demo lab, not a real school, may bandwidth tests run during its timetable's lessons")
    agents = [enrol_agent(site, home, ca, opts.out, opts.overrides) for site in lab.sites]
    for site in lab.sites:
        _say(f"{site.code}: agent enrolled from {site.agent_ns} ({site.agent_addr}); remote check "
             f"{request_check(site, home, opts.profiles)} requested: {', '.join(opts.profiles)}")
    for site, agent in zip(lab.sites, agents, strict=True):
        t0 = time.monotonic()
        last = run_agent(site, agent)
        _say(f"{site.code}: agent ran once in {time.monotonic() - t0:.0f} s: {last}")
    check_jobs(home)
    for line in summary_lines(home, [s.code for s in lab.sites]):
        _say(line)
    save_pages(lab, opts.out, ca, token_file)
    seen = ", ".join(f"{addr} ({n})" for addr, n in sorted(clients(home / "server.log").items()))
    _say(f"requests the district saw, by client address: {seen} (127.0.0.1: this demo saving pages)")
    _say(f"admin token (dashboard sign-in): {token_file}")
    if opts.keep:
        _print_keep(lab, home, ca, token_file, rec)


def _print_keep(lab: Lab, home: Path, ca: Path, token_file: Path, rec: base.ProcRecord) -> None:
    ns, site = lab.district_ns, lab.sites[0]
    curl = (f"ip netns exec {ns} curl --cacert {ca} -H \"Authorization: Bearer $(cat {token_file})\" "
            f"https://127.0.0.1:{PORT}/dashboard")
    status = shlex.join(_auditor("agent", "--home", str(home.parent / site.code / "agent"), "status"))
    _say(f"--keep: the server keeps running in {ns} (pid {rec.pid}, log {home / 'server.log'}); "
         "the namespace has no link to this host, so reach it from inside:")
    print(f"    {curl}\n    ip netns exec {site.agent_ns} {status}")
    _say(f"stop it and tear everything down: {_down_command(lab)}")


def _down_command(lab: Lab) -> str:
    extra = "" if lab.prefix == "d" else f" --prefix {lab.prefix}"
    return f"scripts/district-demo.sh --down{extra}"


def down(lab: Lab) -> None:
    with base.locked(lab.state):
        remove_district_net(lab)
        for site in lab.sites:
            school.down(site.prefix)
        shutil.rmtree(lab.state, ignore_errors=True)
    with contextlib.suppress(OSError):
        base.STATE_ROOT.rmdir()
    _say(f"{lab.district_ns} and the schools {', '.join(s.prefix for s in lab.sites)} are down")


# ----------------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m auditor.lab.district", description=(
        "District demo (root): two namespace demo schools, a district server in its own namespace, "
        "a remote check of each school, the dashboard saved with screenshots."))
    p.add_argument("--out", type=Path, default=None, help="default audits/district-demo/<UTC time>")
    p.add_argument("--keep", action="store_true", help="leave the district server running")
    p.add_argument("--down", action="store_true", help="tear down the district and both schools")
    p.add_argument("--prefix", default="d", help="schools <prefix>a and <prefix>b, district "
                   "<prefix>d-district (default d: da, db, dd-district)")
    p.add_argument("--profile", "-p", dest="profiles", action="append", default=None,
                   help=f"profile the district requests (repeat; default {' and '.join(PROFILES)})")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="PROBE.SETTING=VALUE",
                   help="probe setting for both agents (agent.yaml probe_overrides)")
    return p


def _options(args: argparse.Namespace) -> Options:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    overrides = parse_sets(args.sets)
    out = (args.out or Path("audits/district-demo") / stamp).resolve()
    out.mkdir(parents=True, exist_ok=True)
    return Options(out, args.keep, tuple(args.profiles or PROFILES), overrides)


def _main(args: argparse.Namespace) -> None:
    if not PREFIX_RE.fullmatch(args.prefix):
        raise DemoError(f"--prefix {args.prefix!r}: 1-6 lowercase letters or digits, starting with a letter")
    if os.geteuid() != 0:
        raise DemoError("needs root (it builds network namespaces): run it with sudo")
    lab = Lab(args.prefix)
    if args.down:
        down(lab)
        return
    opts = _options(args)
    _say(f"output in {opts.out}")
    run(lab, opts)
    if args.out is None:
        latest = opts.out.parent / "latest"
        latest.unlink(missing_ok=True)
        latest.symlink_to(opts.out.name)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        _main(args)
    except (DemoError, base.LabError, AuditorError, OSError) as exc:
        print(f"district demo: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # no traceback for a person running the demo: one line, with the type
        print(f"district demo: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("district demo: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
