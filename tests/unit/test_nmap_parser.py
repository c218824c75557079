"""nmap XML parser and the probe's command line, on recorded real nmap 7.93 output."""

from __future__ import annotations

import pytest

from auditor.errors import TargetUnreachable
from auditor.probes.nmap_services import NmapSettings, _data, scan_argv
from auditor.probes.parsers.nmap_xml import NmapParseError, parse_nmap_xml
from tests.support.paths import DATA as TEST_DATA

DATA = TEST_DATA / "nmap"


def _run(name: str):  # type: ignore[no-untyped-def]
    return parse_nmap_xml((DATA / name).read_text())


def test_service_detection_scan() -> None:
    run = _run("server-service-detection.xml")
    assert run.version == "7.93" and run.exit == "success"
    host = run.hosts[0]
    assert host.address == "10.200.20.2" and host.status == "up"
    opened = {(p.port, p.proto): p for p in host.open_ports()}
    assert set(opened) == {(23, "tcp"), (80, "tcp"), (3306, "tcp"), (6379, "tcp")}
    http = opened[(80, "tcp")]
    assert http.service == "http" and http.product == "SimpleHTTPServer" and http.method == "probed"
    assert opened[(3306, "tcp")].method == "table"  # a guess from the port number
    states = {(p.port, p.proto): p.state for p in host.ports}
    assert states[(22, "tcp")] == "closed" and (161, "udp") in states


def test_connect_scan_and_probe_data() -> None:
    run = _run("server-connect.xml")
    data = _data(run, "10.200.20.2", ["nmap"], udp=False)
    assert [(p.port, p.service) for p in data.open] == [
        (23, "telnet"), (80, "http"), (3306, "mysql"), (6379, "redis")]
    assert len(data.scanned) == 6


def test_all_filtered_is_unmeasurable_not_clean() -> None:
    run = _run("unreachable.xml")
    assert {p.state for p in run.hosts[0].ports} == {"filtered"}
    with pytest.raises(TargetUnreachable, match="every scanned port is filtered or unanswered"):
        _data(run, "10.200.99.2", ["nmap"], udp=False)
    with pytest.raises(TargetUnreachable, match="nmap reported nothing"):
        _data(run, "10.200.20.9", ["nmap"], udp=False)


@pytest.mark.parametrize("text", ["", "<html/>", "Starting Nmap 7.93"])
def test_not_nmap_xml(text: str) -> None:
    with pytest.raises(NmapParseError):
        parse_nmap_xml(text)


def test_command_line_is_bounded() -> None:
    argv = scan_argv(NmapSettings(tcp_ports=[80, 443], udp_ports=[161]), "10.0.0.5", udp=True)
    assert argv[0] == "nmap" and argv[-1] == "10.0.0.5"
    assert "-Pn" in argv and "-n" in argv and "-T3" in argv and "--script" not in " ".join(argv)
    assert argv[argv.index("--max-rate") + 1] == "100"
    assert argv[argv.index("-p") + 1] == "T:80,443,U:161"
    no_udp = scan_argv(NmapSettings(service_detection=False), "10.0.0.5", udp=False)
    assert "-sU" not in no_udp and "-sV" not in no_udp and "U:" not in " ".join(no_udp)
    with pytest.raises(ValueError, match="Input should be 0, 1, 2, 3 or 4"):
        NmapSettings.model_validate({"timing": 5})
