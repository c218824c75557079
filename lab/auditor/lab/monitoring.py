"""The monitoring demo: real monitoring agents in namespace schools, a district, loopback robots.

``python -m auditor.lab.monitoring [--out DIR] [--prefix P] [--schools 1|2] [--pace demo|quick]
[--keep] [--down]`` (``scripts/monitoring-demo.sh``, root) builds the district demo's network
(:mod:`auditor.lab.district`: schools ``<P>a`` and ``<P>b``, the district ``<P>d-district``),
gives each school's uplink a contract (200 Mbit/s both ways; the link shaped to 400 Mbit/s for the
demo, 1000 after it) and a ``monitoring:`` section, enrols the agents and runs ``auditor monitor
run`` in each school's agent namespace, as a school's box would. ``auditor alerts check`` runs
every few seconds against the district, delivering to signed DingTalk and Feishu robots served on
loopback (:mod:`auditor.lab.chatbots`, which check each request as the platforms document it).
Then:

1. the first school's uplink is throttled with ``tc`` to a tenth of its contract and its
   monitor started with ``--test-now``: its tests fall below the contract, the district shows it
   degraded, the robots hear of it; the throttle is lifted and a test run beside the monitor
   (``auditor monitor run --once --test-now``, as an administrator would after a repair): live
   again, and the recovery reaches the robots;
2. the second school's uplink is cut (the firewall's link to the provider set down): every probe
   of the provider's endpoint is lost, the agent still reports over the district link, so the
   district shows it down and the robots hear of it; the link is restored: live again, recovery
   sent (with one school, the first school goes through both);
3. the provider's contract report for the month names the throttled school's tests below the
   contract and the cut school's outage, and the demo checks them against the times it throttled
   and cut (outage start and end within one monitoring interval of the cut and the repair);
4. the district's monitoring pages (overview, the cut school's timeline, the contract report) and
   the report's XLSX are saved, with screenshots.

Time is compressed so the demo takes minutes: the monitors measure every 15 s (5 min in a real
school), and the district's windows are scaled alike (``district.yaml`` ``monitoring:``, written
here: down after 45 s with every probe lost, silent after three missed heartbeats, degraded on 2
of the last 2 tests below half the contract), its school day is the whole day, every day, so
the demo counts whenever it runs. ``school-degraded`` alerts only after it has held longer than
the loss window, so a cut link's lost probes (which keep the loss window above its threshold
for a while after the repair) do not alert twice. ``--pace quick`` (the lab test) measures every
6 s with windows to match.

Everything the demo saw goes to ``<out>/monitoring-demo.json``; the robots' requests to
``<out>/robots.jsonl``. The links are restored and the monitors stopped on every exit;
``--keep`` leaves the district server and the schools running, ``--down`` removes them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from auditor.errors import AuditorError
from auditor.lab import base, district, school
from auditor.lab.chatbots import Platforms, Robot, chat_platforms
from auditor.lab.district import DemoError, Lab, Site
from auditor.lab.district_harness import cli_argv

PROVIDER = "演示城域网运营商"
UPLINK = "metro"
DING_TOKEN, DING_SECRET = "demo-ding-token", "SEC-demo-ding-signing-secret"  # the loopback robots'
FEISHU_TOKEN, FEISHU_SECRET = "demo-feishu-hook", "demo-feishu-signing-secret"
ZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class Pace:
    """The demo's compressed time, and its contract."""

    interval_min: float  # the monitors' rounds
    heartbeat_s: int  # what the district expects
    down_minutes: float
    loss_minutes: float
    test_s: int  # each throughput test's length
    hold_s: float  # how long the cut lasts once the district shows it down
    check_s: float  # how often `auditor alerts check` runs
    contract_mbps: float
    throttle_mbps: float
    port_mbps: float  # the provider link's rate during the demo (tc), the lab's 1000 after it
    wait_s: float  # the longest wait for a state

    @property
    def interval_s(self) -> float:
        return self.interval_min * 60


PACES = {
    "demo": Pace(0.25, 15, 0.75, 1.0, 3, 30, 5, 200, 20, 400, 240),
    "quick": Pace(0.1, 10, 0.3, 0.5, 2, 8, 2, 100, 10, 400, 150),
}


@dataclass
class Story:
    """What happened, in order, for the terminal and ``monitoring-demo.json``."""

    started: str
    pace: str
    events: list[dict[str, Any]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)
    verdict: list[str] = field(default_factory=list)

    def event(self, what: str, **extra: Any) -> datetime:
        now = datetime.now(UTC)
        self.events.append({"at": now.isoformat(timespec="seconds"), "what": what, **extra})
        _say(what)
        return now


def _say(text: str) -> None:
    print(f"monitoring demo: {text}", flush=True)


def _auditor(*args: str) -> list[str]:
    return cli_argv(*args)


# -------------------------------------------------------------------------------- the network


def _isp_link(site: Site) -> tuple[str, str, base.Leaf]:
    """(firewall namespace, its device towards the provider, the provider leaf)."""
    leaf = base.LEAF_BY_ROLE["isp"]
    rdev, _ldev = base.veth_names(site.prefix, leaf)
    return base.ns_name(site.prefix, "fw"), rdev, leaf


def _shape(site: Site, mbit: float) -> None:
    """Both ends of the school's link to its provider shaped to ``mbit`` (tbf, as the lab builds it)."""
    leaf = base.LEAF_BY_ROLE["isp"]
    rdev, ldev = base.veth_names(site.prefix, leaf)
    for ns, dev in ((base.ns_name(site.prefix, "fw"), rdev), (base.ns_name(site.prefix, "isp"), ldev)):
        base.run(["tc", "-n", ns, "qdisc", "replace", "dev", dev, "root", "tbf", "rate", f"{mbit:g}mbit",
                  "burst", leaf.burst, "latency", "50ms"])


def _set_link(site: Site, up: bool) -> None:
    ns, dev, _leaf = _isp_link(site)
    base.run(["ip", "-n", ns, "link", "set", dev, "up" if up else "down"])


@contextlib.contextmanager
def restored(sites: Sequence[Site]) -> Iterator[None]:
    """Whatever the demo does to the schools' uplinks is undone on every exit."""
    try:
        yield
    finally:
        for site in sites:
            with contextlib.suppress(base.LabError):
                _set_link(site, True)
            with contextlib.suppress(base.LabError):
                _shape(site, base.UPLINK_RATE_MBIT)


# ------------------------------------------------------------------------------ configuration


def configure_school(site: Site, pace: Pace) -> None:
    """The uplink's contract and the ``monitoring:`` section, in the lab's inventory."""
    doc = yaml.safe_load(site.inventory.read_text(encoding="utf-8"))
    doc["uplink"]["id"] = UPLINK
    doc["uplink"]["contract"] = {"provider": PROVIDER, "down_mbps": pace.contract_mbps,
                                 "up_mbps": pace.contract_mbps}
    doc["monitoring"] = {
        "interval_min": pace.interval_min,
        "probes": 3,
        "throughput": {"tests_per_day": 0, "duration_s": pace.test_s, "allow_class_hours": True},
    }
    site.inventory.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def configure_district(home: Path, pace: Pace) -> None:
    path = home / "district.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["monitoring"] = {
        "heartbeat_interval_s": pace.heartbeat_s,
        "silent_intervals": 3,
        "down_minutes": pace.down_minutes,
        "loss_minutes": pace.loss_minutes,
        "degraded_k": 2,
        "degraded_m": 2,
        "school_day_start": "00:00",
        "school_day_end": "23:59",
        "school_weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "timezone": ZONE,
    }
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def write_alerts(directory: Path, robots: Platforms, pace: Pace) -> tuple[Path, dict[str, str]]:
    """The alerts file (signed DingTalk and Feishu robots on loopback) and its secrets (env)."""
    directory.mkdir(parents=True, exist_ok=True)
    hold = f"{int(pace.loss_minutes * 60 + 2 * pace.interval_s)}s"
    path = directory / "alerts.yaml"
    path.write_text(f"""\
version: 1
timezone: {ZONE}
dingtalk:
  ops: {{base: "{robots.dingtalk}", access_token: {{env: DEMO_DING_TOKEN}},
        secret: {{env: DEMO_DING_SECRET}}}}
feishu:
  it: {{base: "{robots.feishu}", token: {{env: DEMO_FEISHU_TOKEN}},
       secret: {{env: DEMO_FEISHU_SECRET}}}}
rules:
  school-down: {{title: 学校出口中断, severity: critical, channels: [ops, it]}}
  school-silent: {{title: 监测代理失联, severity: warning, for: 30s, channels: [ops]}}
  school-degraded: {{title: 学校网络降级, severity: warning, for: {hold}, channels: [ops, it]}}
""", encoding="utf-8")
    env = {"DEMO_DING_TOKEN": DING_TOKEN, "DEMO_DING_SECRET": DING_SECRET,
           "DEMO_FEISHU_TOKEN": FEISHU_TOKEN, "DEMO_FEISHU_SECRET": FEISHU_SECRET}
    return path, env


# ----------------------------------------------------------------------------- the processes


class Monitors:
    """``auditor monitor run`` in each school's agent namespace, as its service would run it."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def argv(self, site: Site, *extra: str) -> list[str]:
        home = self.out / site.code
        return base.netns_exec(site.agent_ns, _auditor(
            "monitor", "run", "--home", str(home / "agent"), "--state", str(home / "monitor"), *extra))

    def start(self, site: Site) -> None:
        log = (self.out / site.code / "monitor.log").open("ab")
        self.procs[site.code] = base.popen(self.argv(site, "--test-now"), log, None)
        log.close()

    def test_now(self, site: Site) -> str:
        """``auditor monitor run --once --test-now`` beside the running monitor."""
        res = subprocess.run(self.argv(site, "--once", "--test-now"), capture_output=True, text=True,
                             timeout=300, check=False)
        if res.returncode != 0:
            raise DemoError(f"{site.code}: monitor test failed: {(res.stderr or res.stdout).strip()[-300:]}")
        return res.stdout.strip().splitlines()[0] if res.stdout.strip() else ""

    def tests_since(self, site: Site, since: datetime, count: int, wait_s: float) -> list[Any]:
        """The school's throughput tests since ``since``, once ``count`` are stored."""
        from auditor.monitor.store import DB_NAME, Store  # noqa: PLC0415

        directory = self.out / site.code / "monitor"
        deadline = time.monotonic() + wait_s
        tests: list[Any] = []
        while time.monotonic() < deadline:
            self.check_alive()
            if (directory / DB_NAME).exists():
                store = Store(directory)
                try:
                    tests = store.samples(since=since, kind="throughput")
                finally:
                    store.close()
            if len(tests) >= count:
                break
            time.sleep(1)
        if len(tests) < count:
            raise DemoError(f"{site.code}: {len(tests)} throughput tests within {wait_s:.0f} s, not {count}")
        return tests

    def check_alive(self) -> None:
        for code, proc in self.procs.items():
            if proc.poll() is not None:
                raise DemoError(f"{code}: the monitor exited ({proc.returncode}); see "
                                f"{self.out / code / 'monitor.log'}")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class AlertLoop:
    """``auditor alerts check`` every ``period`` seconds, in the background."""

    def __init__(self, alerts: Path, home: Path, env: dict[str, str], period: float, story: Story) -> None:
        self.argv = _auditor("alerts", "check", "--alerts", str(alerts), "--home", str(home))
        self.env = {**os.environ, **env}
        self.period, self.story = period, story
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.failure: str | None = None

    def __enter__(self) -> AlertLoop:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=60)

    def once(self) -> None:
        res = subprocess.run(self.argv, capture_output=True, text=True, timeout=120, env=self.env,
                             check=False)
        at = datetime.now(UTC).isoformat(timespec="seconds")
        if res.returncode != 0:
            self.failure = (res.stderr or res.stdout).strip()[-300:]
            return
        for line in res.stdout.splitlines():
            if line.startswith("sent "):
                self.story.checks.append({"at": at, "line": line})
                _say(f"alerts: {line}")

    def _loop(self) -> None:
        while not self.stop.is_set():
            self.once()
            self.stop.wait(self.period)


# ------------------------------------------------------------------------------- the district


def states(home: Path) -> dict[str, Any]:
    """School code → its overview row, as the district computes it now."""
    from auditor.district.config import load_config  # noqa: PLC0415
    from auditor.district.db import open_database  # noqa: PLC0415
    from auditor.district.monitoring import overview  # noqa: PLC0415

    config = load_config(home)
    db = open_database(config.db)
    try:
        return {row.code: row for row in overview(db, config.monitoring)}
    finally:
        db.close()


def wait_state(home: Path, site: Site, wanted: set[str], pace: Pace, monitors: Monitors,
               alerts: AlertLoop, story: Story) -> None:
    deadline = time.monotonic() + pace.wait_s
    last = None
    while time.monotonic() < deadline:
        monitors.check_alive()
        if alerts.failure:
            raise DemoError(f"auditor alerts check failed: {alerts.failure}")
        row = states(home).get(site.code)
        if row is not None and row.state != last:
            last = row.state
            why = f" ({row.why})" if row.why else ""
            story.event(f"{site.code}: the district shows it {row.state}{why}",
                        school=site.code, state=row.state, why=row.why)
        if last in wanted:
            return
        time.sleep(1)
    raise DemoError(f"{site.code}: not {' or '.join(sorted(wanted))} within {pace.wait_s:.0f} s "
                    f"(last state {last}); see {monitors.out / site.code / 'monitor.log'}")


def wait_alert(story: Story, needle: str, pace: Pace, alerts: AlertLoop) -> None:
    deadline = time.monotonic() + pace.wait_s
    while time.monotonic() < deadline:
        if alerts.failure:
            raise DemoError(f"auditor alerts check failed: {alerts.failure}")
        if any(needle in c["line"] for c in story.checks):
            return
        time.sleep(0.5)
    raise DemoError(f"no alert '{needle}' delivered within {pace.wait_s:.0f} s")


def contract(home: Path) -> Any:
    from auditor.district.config import load_config  # noqa: PLC0415
    from auditor.district.db import open_database  # noqa: PLC0415
    from auditor.district.monitoring import contract_report  # noqa: PLC0415

    config = load_config(home)
    db = open_database(config.db)
    month = datetime.now(ZoneInfo(ZONE)).strftime("%Y-%m")
    try:
        return contract_report(db, PROVIDER, month, config.monitoring)
    finally:
        db.close()


def _local(at: datetime) -> str:
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(ZONE)).strftime("%H:%M:%S")


def judge_report(report: Any, slow: Site, slow_span: tuple[datetime, datetime], cut: Site,
                 cut_span: tuple[datetime, datetime], pace: Pace, story: Story) -> list[str]:
    """Check the contract report against what the demo did; the problems found (none: right)."""
    problems: list[str] = []
    rows = {(r.school, r.uplink): r for r in report.rows}
    slack = timedelta(seconds=pace.interval_s + 5)
    s_row, c_row = rows.get((slow.code, UPLINK)), rows.get((cut.code, UPLINK))
    if s_row is None or c_row is None:
        return [f"the report has no row for {slow.code if s_row is None else cut.code}"]
    lo, hi = slow_span
    throttled = [t for t in s_row.slow if lo <= t.at.replace(tzinfo=UTC) <= hi]
    if len(throttled) < 2:
        problems.append(f"{slow.code}: {len(throttled)} tests below the contract while throttled, not 2")
    late = [t for t in s_row.slow if t.at.replace(tzinfo=UTC) > hi]
    if late:
        problems.append(f"{slow.code}: tests after the repair listed below the contract: {late}")
    for t in s_row.slow:
        story.event(f"contract report: {slow.code} test at {_local(t.at)} {t.direction} "
                    f"{t.mbps:.1f} Mbit/s, contract {t.contract_mbps:g}")
    cut_at, back_at = cut_span
    found = [o for o in c_row.outages if o.start.replace(tzinfo=UTC) >= cut_at - timedelta(seconds=5)]
    for o in c_row.outages:
        story.event(f"contract report: {cut.code} outage {_local(o.start)}–{_local(o.end)} "
                    f"({o.seconds:.0f} s); the demo cut the link {_local(cut_at)}–{_local(back_at)}")
    if len(found) != 1:
        problems.append(f"{cut.code}: {len(found)} outages after the cut, not 1: {c_row.outages}")
    else:
        o = found[0]
        start, end = o.start.replace(tzinfo=UTC), o.end.replace(tzinfo=UTC)
        if not cut_at - timedelta(seconds=5) <= start <= cut_at + slack:
            problems.append(f"{cut.code}: the outage starts {_local(start)}, the cut was {_local(cut_at)}")
        if not back_at - timedelta(seconds=5) <= end <= back_at + slack:
            problems.append(f"{cut.code}: the outage ends {_local(end)}, the link was back {_local(back_at)}")
    story.report = {
        "provider": report.provider, "month": report.month, "school_day": report.school_day,
        "rows": [{"school": r.school, "uplink": r.uplink, "tests": r.tests, "below": r.below,
                  "hours_unreachable": r.hours_unreachable,
                  "outages": [[o.start.isoformat(), o.end.isoformat(), o.ongoing] for o in r.outages],
                  "slow": [[t.at.isoformat(), t.direction, t.mbps, t.contract_mbps] for t in r.slow]}
                 for r in report.rows],
    }
    return problems


# ----------------------------------------------------------------------------------- the flow


@dataclass(frozen=True)
class Options:
    out: Path
    pace_name: str
    keep: bool
    screenshots: bool

    @property
    def pace(self) -> Pace:
        return PACES[self.pace_name]


def run(lab: Lab, opts: Options) -> Story:
    story = Story(datetime.now(UTC).isoformat(timespec="seconds"), opts.pace_name)
    started = time.monotonic()
    with base.locked(lab.state):
        district.stop_server(lab)
        for site in lab.sites:
            t0 = time.monotonic()
            school.up(site.prefix)
            district.name_school(site)
            _say(f"school {site.code} {site.name}: lab {site.prefix}-* up ({time.monotonic() - t0:.0f} s)")
        district.build_district_net(lab)
        kept = False
        try:
            with restored(lab.sites):
                _flow(lab, opts, story)
            kept = opts.keep
        finally:
            (opts.out / "monitoring-demo.json").write_text(
                json.dumps(asdict(story), ensure_ascii=False, indent=1), encoding="utf-8")
            if not kept:
                district.remove_district_net(lab)
    _say(f"done in {time.monotonic() - started:.0f} s; what happened: {opts.out / 'monitoring-demo.json'}")
    return story


def _flow(lab: Lab, opts: Options, story: Story) -> None:
    pace, out = opts.pace, opts.out
    home = out / "district"
    token_file, ca = district.init_district(home, lab)
    configure_district(home, pace)
    rec = district.start_server(lab, home, ca)
    _say(f"district server (pid {rec.pid}) in {lab.district_ns}; monitoring thresholds scaled to the "
         f"demo's pace ({pace.interval_s:g} s between rounds)")
    for site in lab.sites:
        district.enrol_agent(site, home, ca, out, {})
        configure_school(site, pace)
        _shape(site, pace.port_mbps)
        _say(f"{site.code}: agent enrolled; uplink '{UPLINK}' contracted to {PROVIDER} at "
             f"{pace.contract_mbps:g}/{pace.contract_mbps:g} Mbit/s; the link shaped to {pace.port_mbps:g} "
             "Mbit/s for the demo (a gigabit test would take both CPUs of a small machine, and the "
             "tests' validity rules refuse a busy CPU)")
    slow_site, cut_site = lab.sites[0], lab.sites[-1]
    monitors = Monitors(out)
    with chat_platforms() as robots:
        robots.add(Robot("dingtalk", DING_TOKEN, DING_SECRET))
        robots.add(Robot("feishu", FEISHU_TOKEN, FEISHU_SECRET))
        alerts_file, env = write_alerts(out / "alerts", robots, pace)
        try:
            with AlertLoop(alerts_file, home, env, pace.check_s, story) as alerts:
                spans = _scenes(lab, home, pace, monitors, alerts, story, slow_site, cut_site)
                alerts.once()  # the last recoveries
        finally:
            monitors.stop()
            _save_robots(robots, out / "robots.jsonl", story)
    problems = judge_report(contract(home), slow_site, spans[0], cut_site, spans[1], pace, story)
    save_pages(lab, out, ca, token_file, cut_site, opts.screenshots)
    if problems:
        story.verdict = problems
        raise DemoError("the contract report does not match what the demo did: " + "; ".join(problems))
    story.verdict = ["the contract report names the throttled tests and the outage the demo made"]
    _say(story.verdict[0])


def _scenes(lab: Lab, home: Path, pace: Pace, monitors: Monitors, alerts: AlertLoop, story: Story,
            slow_site: Site, cut_site: Site) -> tuple[tuple[datetime, datetime], tuple[datetime, datetime]]:
    def wait(site: Site, wanted: set[str]) -> None:
        wait_state(home, site, wanted, pace, monitors, alerts, story)

    if len(lab.sites) > 1:  # the cut school first, healthy: its first round and tests
        started = story.event(f"{cut_site.code}: monitor started in {cut_site.agent_ns} (a throughput "
                              "test first)")
        monitors.start(cut_site)
        _tests(monitors, cut_site, started, pace, story)
        wait(cut_site, {"live"})
    # 1. throttled below the contract
    throttled = story.event(f"{slow_site.code}: tc limits the uplink to {pace.throttle_mbps:g} Mbit/s "
                            f"(contract {pace.contract_mbps:g})", school=slow_site.code)
    _shape(slow_site, pace.throttle_mbps)
    monitors.start(slow_site)
    story.event(f"{slow_site.code}: monitor started in {slow_site.agent_ns} (a throughput test first)")
    _tests(monitors, slow_site, throttled, pace, story)
    wait(slow_site, {"degraded"})
    wait_alert(story, f"firing school-degraded/{slow_site.code}", pace, alerts)
    _shape(slow_site, pace.port_mbps)
    repaired = datetime.now(UTC)
    outcome = monitors.test_now(slow_site)
    story.event(f"{slow_site.code}: throttle lifted; a test beside the monitor: {outcome}",
                school=slow_site.code)
    _tests(monitors, slow_site, repaired, pace, story)
    wait(slow_site, {"live"})
    wait_alert(story, f"resolved school-degraded/{slow_site.code}", pace, alerts)
    # 2. the link cut
    cut = story.event(f"{cut_site.code}: the uplink to the provider is cut (link down at the firewall)",
                      school=cut_site.code)
    _set_link(cut_site, False)
    wait(cut_site, {"down"})
    wait_alert(story, f"firing school-down/{cut_site.code}", pace, alerts)
    time.sleep(pace.hold_s)
    _set_link(cut_site, True)
    back = story.event(f"{cut_site.code}: the uplink is back", school=cut_site.code)
    wait(cut_site, {"live"})
    wait_alert(story, f"resolved school-down/{cut_site.code}", pace, alerts)
    return (throttled, repaired), (cut, back)


def _tests(monitors: Monitors, site: Site, since: datetime, pace: Pace, story: Story, tries: int = 3) -> None:
    """Wait for the round of tests started since ``since``; while fewer than two of the tests
    since then are valid (a busy CPU makes a test invalid: the audit's validity rules), run
    another round beside the monitor, at most ``tries`` rounds in all."""
    seen = 0
    for attempt in range(tries):
        tests = monitors.tests_since(site, since, 2 * (attempt + 1), pace.wait_s)
        for t in tests[seen:]:
            rate = f"{t.mbps:.1f} Mbit/s" if t.mbps is not None else "no rate"
            story.event(f"{site.code}: throughput test {t.direction}: {rate}"
                        + ("" if t.valid else f" (invalid: {t.reason})"), school=site.code)
        seen = len(tests)
        if sum(1 for t in tests if t.valid) >= 2:
            return
        if attempt + 1 < tries:
            story.event(f"{site.code}: fewer than two valid tests; another round: {monitors.test_now(site)}",
                        school=site.code)
    raise DemoError(f"{site.code}: fewer than two valid throughput tests in {tries} rounds: the machine "
                    "is too busy for a measurement; run the demo on an idle machine")


def _save_robots(robots: Platforms, path: Path, story: Story) -> None:
    """Every request the robots saw (platform, answer, the message's text), a JSON line each."""
    with path.open("w", encoding="utf-8") as fh:
        for seen in robots.requests:
            body = seen.json()
            text = _text(body)
            fh.write(json.dumps({"platform": seen.platform, "status": seen.status, "answer": seen.answer,
                                 "text": text}, ensure_ascii=False) + "\n")
    ok = sum(1 for s in robots.requests
             if s.status == 200 and not (s.answer.get("errcode") or s.answer.get("code")))
    story.event(f"robots received {len(robots.requests)} messages, {ok} accepted (signatures "
                f"checked): {path}")


def _text(body: dict[str, Any]) -> str:
    if "markdown" in body:
        return str(body["markdown"].get("text", ""))
    if "text" in body:
        return str(body["text"].get("content", ""))
    content = body.get("content", {})
    if "text" in content:
        return str(content["text"])
    post = content.get("post", {})
    lang: dict[str, Any] = next(iter(post.values()), {})
    rows = [" ".join(str(el.get("text", "")) for el in row) for row in lang.get("content", [])]
    return "\n".join([str(lang.get("title", "")), *rows])


def save_pages(lab: Lab, out: Path, ca: Path, token_file: Path, cut_site: Site, screenshots: bool) -> None:
    """The monitoring overview, the cut school's timeline, the contract report and its XLSX, as
    the district namespace serves them."""
    from urllib.parse import urlencode  # noqa: PLC0415

    month = datetime.now(ZoneInfo(ZONE)).strftime("%Y-%m")
    query = urlencode({"provider": PROVIDER, "month": month, "lang": "zh"})
    pages = (("/dashboard/monitoring?lang=zh", "monitoring.html"),
             (f"/dashboard/monitoring/schools/{cut_site.code}?days=1&lang=zh", "monitoring-school.html"),
             (f"/dashboard/monitoring/contracts?{query}", "contract-report.html"),
             (f"/dashboard/monitoring/contracts.xlsx?{query}", "contract-report.xlsx"))
    for path, name in pages:
        url, file = f"https://127.0.0.1:{district.PORT}{path}", out / name
        argv = base.netns_exec(lab.district_ns, [sys.executable, "-I", "-c", district.FETCH, url, str(ca),
                                                   str(token_file), str(file)])
        district.run_checked(argv, f"fetching {path} in {lab.district_ns}", timeout=90)
        if screenshots and name.endswith(".html"):
            district.screenshot(file)
        _say(f"saved {file}")


# ----------------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m auditor.lab.monitoring", description=(
        "Monitoring demo (root): monitoring agents in namespace schools, one throttled below its "
        "contract and one cut, a district, alerts to loopback DingTalk and Feishu robots."))
    p.add_argument("--out", type=Path, default=None, help="default audits/monitoring-demo/<UTC time>")
    p.add_argument("--prefix", default="m", help="schools <prefix>a and <prefix>b, district "
                   "<prefix>d-district (default m)")
    p.add_argument("--schools", type=int, choices=(1, 2), default=2,
                   help="2 (default): one throttled, one cut; 1: the same school goes through both")
    p.add_argument("--pace", choices=sorted(PACES), default="demo",
                   help="demo (rounds every 15 s) or quick (every 6 s, for the lab test)")
    p.add_argument("--no-screenshots", action="store_true", help="save the pages without screenshots")
    p.add_argument("--keep", action="store_true", help="leave the district server and the schools up")
    p.add_argument("--down", action="store_true", help="tear down the district and the schools")
    return p


def _main(args: argparse.Namespace) -> None:
    if not district.PREFIX_RE.fullmatch(args.prefix):
        raise DemoError(f"--prefix {args.prefix!r}: 1-6 lowercase letters or digits, starting with a letter")
    if os.geteuid() != 0:
        raise DemoError("needs root (it builds network namespaces): run it with sudo")
    if args.down:
        district.down(Lab(args.prefix))
        return
    lab = Lab(args.prefix, args.schools)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = (args.out or Path("audits/monitoring-demo") / stamp).resolve()
    out.mkdir(parents=True, exist_ok=True)
    _say(f"output in {out}")
    run(lab, Options(out, args.pace, args.keep, not args.no_screenshots))
    if args.out is None:
        latest = out.parent / "latest"
        latest.unlink(missing_ok=True)
        latest.symlink_to(out.name)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        _main(args)
    except (DemoError, base.LabError, AuditorError, OSError) as exc:
        print(f"monitoring demo: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("monitoring demo: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
