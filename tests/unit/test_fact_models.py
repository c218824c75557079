"""Typed facts: every fact kind has one model of its data; what the probes really write (built by the
probes' own code from the recorded outputs in tests/data) validates and survives the round trip
unchanged; a fact with a field missing or a field no probe writes is an ``error`` in every check that
reads it, naming the fact and the problem (never a pass, never a crash)."""

from __future__ import annotations

import ast
import gc
import importlib
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from auditor import facts as facts_module
from auditor.facts import (
    FACT_MODELS,
    DeviceConfig,
    FactKind,
    Goodput,
    UnreadableFact,
    fact_data,
    read_fact,
)
from auditor.inventory import BackupLocation, Inventory
from auditor.model import Artifact, Fact, FactStatus, Finding, Status
from auditor.offline import audit_saved
from auditor.plugins import CheckContext, FactIndex, load_plugins
from auditor.probes.backups import location, restore_record
from auditor.probes.firewall import connect_results, ruleset_data
from auditor.probes.iperf3 import Iperf3BandwidthProbe, Iperf3Settings, _Measurement, _run_record, summary
from auditor.probes.nmap_services import _data as nmap_data
from auditor.probes.parsers.file_listing import parse_listing
from auditor.probes.parsers.if_table import build_if_table, parse_snmpwalk_numeric
from auditor.probes.parsers.iperf3_json import Iperf3Run, parse_iperf3_json
from auditor.probes.parsers.nft import parse_nft_json, parse_nft_text, with_text_lines
from auditor.probes.parsers.nmap_xml import parse_nmap_xml
from auditor.probes.parsers.wifi_scan import parse_iw_scan, parse_nmcli_terse
from auditor.probes.snmp_device import DefaultCommunitySettings, community_data, device_info
from auditor.probes.snmp_ports import _port_fact
from auditor.probes.wifi_capture import Survey
from auditor.probes.wifi_surveys import survey_point
from auditor.sshclient import CommandResult
from tests.support.devices import NETCONFIG, VENDORS, config_fact, view
from tests.support.paths import DATA, ROOT

PROBES = ROOT / "probes" / "auditor" / "probes"
SSH = {"username": {"env": "U"}, "key_file": "/k"}
INV = Inventory.model_validate({
    "school": {"name": "t"}, "scope": {"allow": ["10.200.0.0/16"]},
    "uplink": {"endpoints": [{"id": "district", "address": "10.200.0.2"}],
               "port": {"device": "core", "port": "GigabitEthernet0/0/1"}},
    "classrooms": [{"id": "room101", "name": "101", "endpoint": {"address": "10.200.11.2"},
                    "access_port": {"device": "core", "port": "Ethernet0/0/1"}}],
    "devices": [{"id": "core", "address": "10.200.9.2", "vendor": "huawei", "ssh": SSH,
                 "snmp": {"version": "2c", "community": {"env": "C"}}},
                {"id": "fw", "address": "10.200.2.1", "vendor": "linux", "ssh": SSH}],
    "servers": [{"id": "web", "address": "10.200.20.2", "allowed_ports": [80, 443]}],
    "wifi": {"ssids": ["BJ-School"]},
    "wifi_areas": [{"id": "a", "name": "教学楼 301", "area_class": "teaching"}],
    "firewalls": [{"id": "edge", "device": "fw", "outside_addresses": ["10.200.0.1"],
                   "published": [80, "53/udp"], "management_address": "10.200.2.1",
                   "management_ports": [22, 443], "vantage": {"netns": "isp"}, "outbound_probe": "10.200.0.2",
                   "forbidden_outbound": [23, 445]}],
    "discovery": {"interface": "eth1", "segments": ["10.200.40.0/24"], "dhcp_servers": ["10.200.40.2"]},
    "backups": [{"id": "sis", "host": "10.200.21.2", "ssh": SSH, "path": "/srv/sis", "pattern": "db-*.gz",
                 "offsite": {"host": "10.200.21.3", "ssh": SSH, "path": "/srv/off", "pattern": "db-*.gz"},
                 "restore_record": "/srv/restore.txt"}],
})
LISTED_AT = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)


def ok(kind: str, subject: str, probe: str, data: dict[str, Any]) -> Fact:
    return Fact(kind, subject, probe, FactStatus.OK, data, artifacts=(f"evidence/{kind}/{subject}",))


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# ------------------------------------------------------------- the probes' own builders, on recorded data


def goodput_facts() -> list[Fact]:
    """bandwidth.goodput of every planned link direction, from the recorded successful iperf3 runs."""
    runs = [parse_iperf3_json(_text(DATA / "iperf3" / name))
            for name in ("uplink-upstream.json", "uplink-downstream-reverse.json", "room103-slow.json")]
    assert all(isinstance(r, Iperf3Run) for r in runs)
    settings = Iperf3Settings()
    out = []
    for n, task in enumerate(Iperf3BandwidthProbe().plan(INV, settings)):
        artifact = Artifact(f"evidence/iperf3/{n}.json", "0" * 64, 1, "application/json", "run")
        records = [_run_record(r, artifact) for r in runs if isinstance(r, Iperf3Run)][: 1 + n % 3]
        nic = facts_module.AgentNic(name="eth0" if n % 2 else None, speed_mbps=100 if n == 3 else 0)
        cpu, overlapping = [12.5, 95.0][: len(records)], ["classroom/room101/upstream"][: n % 2]
        argv = _Measurement(task, settings, None).argv
        data = summary(task, settings, argv, records, nic, cpu, overlapping)
        out.append(ok(FactKind.BANDWIDTH_GOODPUT, task.target, "iperf3.bandwidth", fact_data(data)))
    return out


def _walk(name: str) -> list[tuple[str, str]]:
    return parse_snmpwalk_numeric(_text(DATA / "snmp" / name))


SYSTEM = {"sysDescr": "Huawei Versatile Routing Platform Software VRP (R) software, Version 5.170 "
                      "(S5735 V200R019C10SPC500)", "sysObjectID": "1.3.6.1.4.1.2011.2.23.669",
          "sysName": "core", "sysUpTime": "8640000"}


def port_facts() -> list[Fact]:
    """snmp.interface of the inventory's uplink and classroom ports, from the recorded walk."""
    table = build_if_table(_walk("demo-access-sw.walk"))
    core = INV.device("core")
    return [_port_fact(core, port, table, SYSTEM, "evidence/snmp/core-if-table.json")
            for port in ("GigabitEthernet0/0/1", "Ethernet0/0/1")]


def device_snmp_facts() -> list[Fact]:
    """device.snmp of the core switch, from each recorded walk."""
    out = []
    for name in ("demo-access-sw.walk", "snmpd-veth.walk"):
        binds = [{"oid": oid, "value": value} for oid, value in _walk(name)]
        data = device_info(INV.device("core"), SYSTEM, binds, [])
        out.append(ok(FactKind.DEVICE_SNMP, "device/core", "snmp.device_info", fact_data(data)))
    return out


def community_facts() -> list[Fact]:
    s = DefaultCommunitySettings()
    return [ok(FactKind.DEFAULT_COMMUNITY, "device/core", "snmp.default_community",
               fact_data(community_data(INV.device("core"), s, answered, silent, controls)))
            for answered, silent, controls in (({}, ["public", "private"], 4),
                                               ({"public": "Huawei S5735"}, ["private"], 2))]


def config_facts() -> list[Fact]:
    """device.config of the core switch from each vendor fixture, live as the probe writes it."""
    return [config_fact(vendor, variant, device="core")
            for vendor in VENDORS for variant in ("hardened", "weak")]


def connect_lines(*results: tuple[str, int, str, str]) -> str:
    """Output as the connect script prints it: one JSON object per line."""
    return "".join(json.dumps({"address": a, "port": p, "proto": "tcp", "state": s, "detail": d}) + "\n"
                   for a, p, s, d in results)


def outside_facts() -> list[Fact]:
    raw = connect_lines(("10.200.0.1", 80, "open", "handshake completed"),
                        ("10.200.0.1", 22, "filtered", "no answer"),
                        ("10.200.0.1", 3389, "closed", "ECONNREFUSED"),
                        ("10.200.2.1", 22, "filtered", "no answer"),
                        ("10.200.2.1", 443, "rejected", "EACCES"))
    results = connect_results(raw, [("10.200.0.1", 53)], "outside view")
    data = facts_module.OutsideView(vantage="netns:isp", timeout_s=2.0, results=results)
    return [ok(FactKind.FIREWALL_OUTSIDE, "firewall/edge", "firewall.outside_view", fact_data(data))]


def outbound_facts() -> list[Fact]:
    raw = connect_lines(("10.200.0.2", 23, "filtered", "no answer"),
                        ("10.200.0.2", 445, "rejected", "EHOSTUNREACH"))
    results = connect_results(raw, [], "outbound test")
    data = facts_module.OutboundTest(probe_address="10.200.0.2", timeout_s=2.0, results=results)
    return [ok(FactKind.FIREWALL_OUTBOUND, "firewall/edge", "firewall.outbound", fact_data(data))]


def ruleset_facts() -> list[Fact]:
    """firewall.ruleset of every recorded listing, text alone and JSON with the text's lines."""
    out = []
    for name in ("compliant", "allow-all", "edge"):
        text = parse_nft_text(_text(DATA / "nft" / f"{name}.txt"))
        for ruleset in (text, with_text_lines(parse_nft_json(_text(DATA / "nft" / f"{name}.json")), text)):
            out.append(ok(FactKind.FIREWALL_RULESET, "firewall/edge", "firewall.ruleset",
                          fact_data(ruleset_data("fw", ruleset))))
    return out


def backup_facts() -> list[Fact]:
    """backup.listing of every recorded listing (restore record read, missing and invalid)."""
    target = INV.backups[0]
    assert target.offsite is not None
    primary = BackupLocation(host=target.host, ssh=target.ssh, path=target.path, pattern=target.pattern)
    records = [CommandResult("head", 0, "2026-10-09\nrestored sis into a test VM\n", ""),
               CommandResult("head", 3, "", ""), CommandResult("head", 0, "last week\n", "")]
    out = []
    for n, listing in enumerate(sorted((DATA / "backups").glob("*.txt"))):
        parsed = parse_listing(_text(listing))
        data: dict[str, Any] = {
            "primary": location(primary, parsed, 1.5), "offsite": None, "offsite_error": None,
            "restore_record": None, "restore_record_error": None, "restore_record_state": "not_declared",
            "listed_at": LISTED_AT.isoformat(timespec="seconds")}
        data.update(restore_record("/srv/restore.txt", str(target.host), records[n % 3]))
        if n % 2:
            data.update(offsite=location(target.offsite, parsed, -0.3))
        else:
            data.update(offsite_error="backup host 10.200.21.3: directory /srv/off does not exist")
        out.append(ok(FactKind.BACKUP_LISTING, "backup/sis", "backup.files",
                      fact_data(facts_module.BackupListing(**data))))
    return out


def services_facts() -> list[Fact]:
    return [ok(FactKind.SERVICES_PORTS, "host/web", "nmap.services",
               fact_data(nmap_data(parse_nmap_xml(_text(DATA / "nmap" / name)), "10.200.20.2",
                                   ["nmap", "-sT", "10.200.20.2"], udp=name.endswith("detection.xml"))))
            for name in ("server-connect.xml", "server-service-detection.xml")]


def wifi_facts() -> list[Fact]:
    """wifi.survey of the area, one survey point per recorded scan."""
    points = []
    for n, path in enumerate(sorted((DATA / "wifi").glob("*.txt"))):
        nmcli = path.name.startswith("nmcli")
        rows = parse_nmcli_terse(_text(path)) if nmcli else parse_iw_scan(_text(path))
        survey = Survey(path=Path(f"/surveys/a-{n}.json"), area="a", area_name="教学楼 301",
                        point=f"p{n}" if n else None, taken_at=LISTED_AT, host="laptop",
                        tool="nmcli" if nmcli else "iw", tool_version=None if n else "iw version 6.9",
                        interface="wlan0", raw_file=f"a-{n}.txt", bss=rows)
        points.append(survey_point(survey, f"evidence/wifi/a/a-{n}.json"))
    data = facts_module.WifiSurvey(area="a", area_name="教学楼 301", area_class="teaching", max_age_days=180,
                                   superseded=1, surveys=tuple(points))
    return [ok(FactKind.WIFI_SURVEY, "area/a", "wifi.surveys", fact_data(data))]


def hosts_facts() -> list[Fact]:
    """discovery.hosts as the ARP sweep writes it (its frames need scapy, which the unit tier does not
    load; the lab tier runs the probe)."""
    hosts = [{"ip": "10.200.40.1", "mac": "02:00:00:00:00:01", "vendor": None},
             {"ip": "10.200.40.2", "mac": "02:ca:28:00:00:02", "vendor": "Acme Networks"}]
    return [ok(FactKind.DISCOVERY_HOSTS, "segment/10.200.40.0/24", "discovery.arp_sweep",
               {"segment": "10.200.40.0/24", "interface": "eth1", "agent_ip": "10.200.40.10", "sent": 253,
                "passes": 2, "hosts": hosts})]


def offers_facts() -> list[Fact]:
    offer = {"server_id": "10.200.40.2", "source_ip": "10.200.40.2", "source_mac": "02:ca:28:00:00:02",
             "offered": "10.200.40.117", "relay": None, "router": ["10.200.40.1"], "dns": ["10.200.40.2"],
             "subnet_mask": "255.255.255.0", "lease_s": 3600, "domain": "school.example"}
    return [ok(FactKind.DHCP_OFFERS, "dhcp/eth1", "discovery.dhcp",
               {"interface": "eth1", "client_mac": "02:ca:28:00:00:0a", "client_mac_mode": "interface",
                "xid": "0x1a2b3c4d", "discovers_sent": 2, "listened_s": 6.0, "segments": ["10.200.40.0/24"],
                "offers": [offer], "seconds": 6.012})]


SAMPLES: dict[str, Callable[[], list[Fact]]] = {
    FactKind.BANDWIDTH_GOODPUT: goodput_facts, FactKind.SNMP_INTERFACE: port_facts,
    FactKind.DEVICE_SNMP: device_snmp_facts, FactKind.DEFAULT_COMMUNITY: community_facts,
    FactKind.DEVICE_CONFIG: config_facts, FactKind.FIREWALL_OUTSIDE: outside_facts,
    FactKind.FIREWALL_OUTBOUND: outbound_facts, FactKind.FIREWALL_RULESET: ruleset_facts,
    FactKind.BACKUP_LISTING: backup_facts, FactKind.SERVICES_PORTS: services_facts,
    FactKind.WIFI_SURVEY: wifi_facts, FactKind.DISCOVERY_HOSTS: hosts_facts,
    FactKind.DHCP_OFFERS: offers_facts,
}


# ------------------------------------------------------------------ one model per kind


def test_every_kind_has_one_strict_frozen_model() -> None:
    assert set(FACT_MODELS) == set(FactKind) == set(SAMPLES)
    for kind, model in FACT_MODELS.items():
        assert issubclass(model, BaseModel), kind
        assert model.model_config.get("extra") == "forbid" and model.model_config.get("frozen"), kind


def _written_kinds(path: Path) -> Iterator[tuple[str, ast.expr]]:
    """Every kind a probe module names: the first argument of ``Fact(...)`` and of each
    ``produces=((kind, subject), ...)`` pair it writes literally."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name) and node.func.id == "Fact":
            arg = node.args[0] if node.args else next(k.value for k in node.keywords if k.arg == "kind")
            yield path.stem, arg
        for keyword in node.keywords:
            if keyword.arg == "produces" and isinstance(keyword.value, ast.Tuple):
                for pair in keyword.value.elts:
                    if isinstance(pair, ast.Tuple):
                        yield path.stem, pair.elts[0]


def test_every_kind_a_probe_module_writes_is_typed() -> None:
    seen = set()
    for path in sorted(PROBES.glob("*.py")):
        module = importlib.import_module(f"auditor.probes.{path.stem}")
        for name, node in _written_kinds(path):
            assert not isinstance(node, ast.Constant), f"{name}: a kind written as a literal ({node.value!r})"
            kind = eval(compile(ast.Expression(node), str(path), "eval"), vars(module))  # noqa: S307
            assert isinstance(kind, FactKind) and kind in FACT_MODELS, (name, kind)
            seen.add(kind)
        for attr, value in vars(module).items():
            if attr.endswith("KIND") or attr in {"HOSTS", "OFFERS"}:
                assert isinstance(value, FactKind) and value in FACT_MODELS, (path.stem, attr)
    assert seen == set(FactKind)  # and every kind has a probe that writes it


def test_every_registered_probe_plans_typed_kinds() -> None:
    planned = set()
    for name, probe in load_plugins().probes.items():
        tasks = probe.plan(INV, probe.settings_model())
        assert tasks, f"{name} plans nothing for an inventory that has everything"
        for task in tasks:
            for kind, _subject in task.produces:
                assert kind in FACT_MODELS, (name, kind)
                planned.add(kind)
    assert planned == set(FactKind)


# ------------------------------------------------------------- what the probes write validates, unchanged


@pytest.mark.parametrize("kind", list(FactKind))
def test_probe_output_validates_and_round_trips(kind: FactKind) -> None:
    samples = SAMPLES[kind]()
    assert samples
    for fact in samples:
        assert fact.kind == kind
        data = read_fact(fact, FACT_MODELS[kind])
        assert read_fact(fact, FACT_MODELS[kind]) is data  # validated once per fact
        again = fact_data(data)
        assert json.dumps(again, sort_keys=True) == json.dumps(fact.data, sort_keys=True)  # ints stay ints
        json.dumps(fact.data, allow_nan=False)


def test_device_config_keeps_the_report_json_as_it_was() -> None:
    """The view is the vendor family's dump; the archive part is there only when it was written."""
    the_view = view("huawei", "hardened")
    live = config_fact("huawei", "hardened", the_view=the_view).data
    assert live["view"] == the_view.model_dump(mode="json")
    assert set(live) == {"vendor", "driver", "live", "address", "view", "outputs", "tcp", "failed_commands",
                         "host_key", "login", "config_sha256", "changed", "previous_sha256", "previous_audit",
                         "diff_artifact", "diff_lines"}
    cut = view("huawei", "hardened", keys=("version",))
    assert not cut.complete
    assert "config_sha256" not in config_fact("huawei", "hardened", the_view=cut).data
    offline = DeviceConfig(vendor="cisco", live=False, view=cut, outputs={"config": "x.cfg"})
    assert set(fact_data(offline)) == {"vendor", "live", "view", "outputs"}
    with pytest.raises(ValueError, match=r"carries the session too; missing: driver, address, tcp"):
        DeviceConfig(vendor="cisco", live=True, view=cut, outputs={})


def test_offline_audit_facts_validate() -> None:
    """The offline audit builds its own device.config facts: every check reads them."""
    plugins = load_plugins()
    for vendor in VENDORS:
        folder = NETCONFIG / vendor / "weak"
        result = audit_saved(vendor, {p.stem: p for p in folder.glob("*.txt")}, plugins)
        assert result.findings
        assert not [f.message for f in result.findings if "shape its probe writes" in f.message]


def test_read_fact_caches_per_fact_and_forgets_dead_facts() -> None:
    (fact,) = hosts_facts()
    model = FACT_MODELS[fact.kind]
    first = read_fact(fact, model)
    assert read_fact(fact, model) is first
    key = id(fact)
    assert key in facts_module._READ
    del fact
    gc.collect()
    assert key not in facts_module._READ
    with pytest.raises(TypeError, match="carries LanHosts, not Goodput"):
        read_fact(hosts_facts()[0], Goodput)


# ------------------------------------------------------------------ an unreadable fact is an error, named

# The checks that read each kind's data: every finding they make on a broken fact is an error.
READERS: dict[str, tuple[str, ...]] = {
    FactKind.BANDWIDTH_GOODPUT: ("bandwidth.uplink_goodput", "bandwidth.classroom_goodput"),
    FactKind.SNMP_INTERFACE: ("ports.uplink_speed", "ports.classroom_speed"),
    FactKind.DEVICE_SNMP: ("device.unused_ports_down",),
    FactKind.DEFAULT_COMMUNITY: ("snmp.default_community",),
    FactKind.DEVICE_CONFIG: ("backup.device_configs",),  # and every device.* check (below)
    FactKind.FIREWALL_OUTSIDE: ("firewall.published_only", "firewall.mgmt_not_exposed"),
    FactKind.FIREWALL_OUTBOUND: ("firewall.outbound_blocked",),
    FactKind.FIREWALL_RULESET: ("firewall.default_drop",),
    FactKind.BACKUP_LISTING: ("backup.fresh", "backup.size", "backup.offsite", "backup.restore_tested"),
    FactKind.SERVICES_PORTS: ("services.risky_exposed", "services.unexpected_open"),
    FactKind.WIFI_SURVEY: ("wifi.signal", "wifi.band_5ghz", "wifi.security", "wifi.rogue"),
    FactKind.DISCOVERY_HOSTS: ("discovery.unknown_hosts",),
    FactKind.DHCP_OFFERS: ("discovery.rogue_dhcp",),
}


def _first_required(model: type[BaseModel]) -> str:
    return next(name for name, field in model.model_fields.items() if field.is_required())


def _audit(broken: str | None = None, how: str = "") -> dict[str, list[Finding]]:
    """Every registered check on one valid fact per planned subject; those of kind ``broken`` spoilt:
    ``missing`` drops the model's first required field, ``unknown`` adds one no probe writes."""
    index = FactIndex()
    for kind, build in SAMPLES.items():
        for sample in build():
            if sample.id in index.facts:
                continue  # the first sample of each subject
            data = dict(sample.data)
            if kind == broken and how == "missing":
                del data[_first_required(FACT_MODELS[kind])]
            elif kind == broken:
                data["colour"] = "blue"
            index.add(replace(sample, data=data))
    return {name: check.evaluate(CheckContext(INV, index, check.params_model()))
            for name, check in load_plugins().checks.items()}


def test_valid_facts_are_judged() -> None:
    found = _audit()
    assert set(found) >= {c for readers in READERS.values() for c in readers}
    for name, findings in found.items():
        assert findings, name
        assert not [f.message for f in findings if "shape its probe writes" in f.message], name
    judged = {f.status for findings in found.values() for f in findings}
    assert {Status.PASS, Status.FAIL} <= judged


@pytest.mark.parametrize("how", ["missing", "unknown"])
@pytest.mark.parametrize("kind", list(FactKind))
def test_an_unreadable_fact_is_an_error_naming_it(kind: FactKind, how: str) -> None:
    found = _audit(kind, how)
    readers = READERS[kind]
    if kind == FactKind.DEVICE_CONFIG:
        readers += tuple(name for name in found if name.startswith("device."))
    model = FACT_MODELS[kind]
    field = "colour" if how == "unknown" else _first_required(model)
    problem = f"{field}: " + ("Extra inputs are not permitted" if how == "unknown" else "Field required")
    broken = {f.id for f in SAMPLES[kind]()}
    for name in readers:
        assert found[name], name
        for finding in found[name]:
            assert finding.status is Status.ERROR, (name, finding.message)
            assert any(i in finding.message for i in broken), (name, finding.message)
            assert problem in finding.message and model.__name__ in finding.message, finding.message
            assert broken & set(finding.facts), (name, finding.facts)
    for name, findings in found.items():  # no other check passes on the broken fact's evidence
        for finding in findings:
            if broken & set(finding.facts):
                assert finding.status is Status.ERROR, (name, finding.message)


def test_unreadable_fact_message_is_one_line_and_bounded() -> None:
    (fact,) = offers_facts()
    spoilt = replace(fact, data={f"x{n}": n for n in range(9)})
    with pytest.raises(UnreadableFact) as caught:
        read_fact(spoilt, FACT_MODELS[fact.kind])
    text = str(caught.value)
    assert "\n" not in text and "and 13 more" in text and caught.value.fact_id == fact.id
