"""Firewall checks on facts: pass, fail, error and skipped, per firewall.

Ruleset facts are built from the parser's output on recorded real ``nft`` listings; connect
results have the shape the probe's connect script prints.
"""

from __future__ import annotations

from typing import Any

import pytest

from auditor.checks.firewall import (
    DefaultDrop,
    ManagementNotExposed,
    OutboundBlocked,
    OutboundParams,
    PublishedOnly,
)
from auditor.facts import fact_data
from auditor.inventory import Inventory
from auditor.model import Fact, FactStatus, Status
from auditor.plugins import CheckContext, FactIndex
from auditor.probes.firewall import outside_targets, ruleset_data
from auditor.probes.parsers.nft import parse_nft_text
from tests.support.paths import DATA as TEST_DATA

DATA = TEST_DATA / "nft"
FIREWALL: dict[str, Any] = {
    "id": "edge", "device": "fw", "outside_addresses": ["10.200.0.1"], "published": [80, "53/udp"],
    "management_address": "10.200.2.1", "management_ports": [22, 80, 443],
    "vantage": {"netns": "isp"}, "outbound_probe": "10.200.0.2", "forbidden_outbound": [23, 445]}
INV = Inventory.model_validate({
    "school": {"name": "t"}, "scope": {"allow": ["10.200.0.0/16"]},
    "devices": [{"id": "fw", "address": "10.200.2.1", "vendor": "linux",
                 "ssh": {"username": {"env": "U"}, "key_file": "/k"}}],
    "firewalls": [FIREWALL],
})


def r(address: str, port: int, state: str, proto: str = "tcp") -> dict[str, Any]:
    return {"address": address, "port": port, "proto": proto, "state": state, "detail": "x"}


def outside(*results: dict[str, Any]) -> Fact:
    return Fact("firewall.outside", "firewall/edge", "firewall.outside_view", FactStatus.OK,
                {"vantage": "netns:isp", "timeout_s": 2.0, "results": list(results)},
                artifacts=("evidence/o.jsonl",))


def outbound(*results: dict[str, Any]) -> Fact:
    return Fact("firewall.outbound", "firewall/edge", "firewall.outbound", FactStatus.OK,
                {"probe_address": "10.200.0.2", "timeout_s": 2.0, "results": list(results)})


def ruleset(name: str) -> Fact:
    """The fact the ruleset probe makes of a recorded ``nft -a list ruleset``."""
    data = fact_data(ruleset_data("fw", parse_nft_text((DATA / f"{name}.txt").read_text())))
    return Fact("firewall.ruleset", "firewall/edge", "firewall.ruleset", FactStatus.OK, data,
                artifacts=("evidence/r.txt",))


def run(check: Any, *facts: Fact, inv: Inventory = INV, params: Any = None) -> Any:
    index = FactIndex()
    for fact in facts:
        index.add(fact)
    (finding,) = check.evaluate(CheckContext(inv, index, params or check.params_model()))
    return finding


GOOD = (r("10.200.0.1", 80, "open"), r("10.200.0.1", 22, "filtered"), r("10.200.0.1", 443, "closed"),
        r("10.200.2.1", 22, "filtered"), r("10.200.2.1", 80, "filtered"),
        r("10.200.0.1", 53, "untested", "udp"))


def test_outside_targets_cover_published_management_and_sample() -> None:
    tcp, udp = outside_targets(INV.firewalls[0], [23, 3389])
    assert ("10.200.0.1", 80) in tcp and ("10.200.0.1", 3389) in tcp and ("10.200.2.1", 443) in tcp
    assert ("10.200.2.1", 3389) not in tcp  # the sample is tried on outside addresses only
    assert udp == [("10.200.0.1", 53)]


def test_published_only() -> None:
    ok = run(PublishedOnly(), outside(*GOOD))
    assert ok.status is Status.PASS and "not tested (UDP): 53/udp" in ok.message
    extra = run(PublishedOnly(), outside(*GOOD, r("10.200.0.1", 3389, "open")))
    assert extra.status is Status.FAIL and "not published but open: 10.200.0.1:3389/tcp open" in extra.message
    down = run(PublishedOnly(), outside(r("10.200.0.1", 80, "filtered"), r("10.200.0.1", 22, "filtered")))
    assert down.status is Status.FAIL
    assert "published but not reachable: 10.200.0.1:80/tcp filtered" in down.message
    broken = run(PublishedOnly(), outside(*GOOD, r("10.200.0.1", 25, "error")))
    assert broken.status is Status.ERROR and "10.200.0.1:25/tcp" in broken.message


def test_management_not_exposed() -> None:
    assert run(ManagementNotExposed(), outside(*GOOD)).status is Status.PASS
    # 80 on the outside address is the published web server, not the firewall's management
    assert "10.200.0.1:80" not in run(ManagementNotExposed(), outside(*GOOD)).message
    exposed = run(ManagementNotExposed(), outside(*GOOD, r("10.200.2.1", 443, "open")))
    assert exposed.status is Status.FAIL and "10.200.2.1:443/tcp open" in exposed.message
    on_outside = run(ManagementNotExposed(), outside(r("10.200.0.1", 22, "open")))
    assert on_outside.status is Status.FAIL


@pytest.mark.parametrize(("states", "reset_blocks", "expected"), [
    (("filtered", "rejected"), False, Status.PASS),
    (("filtered", "open"), False, Status.FAIL),
    (("closed", "rejected"), False, Status.FAIL),
    (("closed", "rejected"), True, Status.PASS),
])
def test_outbound_blocked(states: tuple[str, str], reset_blocks: bool, expected: Status) -> None:
    fact = outbound(r("10.200.0.2", 23, states[0]), r("10.200.0.2", 445, states[1]))
    found = run(OutboundBlocked(), fact, params=OutboundParams(reset_means_blocked=reset_blocks))
    assert found.status is expected
    if expected is Status.FAIL:
        assert "not blocked towards 10.200.0.2" in found.message


def test_default_drop_on_recorded_rulesets() -> None:
    good = run(DefaultDrop(), ruleset("compliant"))
    assert good.status is Status.PASS
    assert "inet filter forward: type filter hook forward priority filter; policy drop;" in good.lines
    bad = run(DefaultDrop(), ruleset("allow-all"))
    assert bad.status is Status.FAIL and bad.measured == 4
    assert "inet filter input: counter packets 0 bytes 0 accept" in bad.lines
    edge = run(DefaultDrop(), ruleset("edge"))  # final drop rules count; the 0.0.0.0/0 accept does not pass
    assert edge.status is Status.FAIL and edge.measured == 1 and "0.0.0.0/0 accept" in edge.message
    assert "ip filter input: log prefix \"in-drop \" counter packets 0 bytes 0 drop" in edge.lines
    empty = Fact("firewall.ruleset", "firewall/edge", "firewall.ruleset", FactStatus.OK,
                 {"device": "fw", "source": "json", "chains": [], "tables": []})
    none = run(DefaultDrop(), empty)
    assert none.status is Status.FAIL and "no IPv4 filter base chain on the input hook" in none.message


def test_missing_errored_and_undeclared() -> None:
    for check in (PublishedOnly(), ManagementNotExposed(), OutboundBlocked(), DefaultDrop()):
        assert run(check).status is Status.ERROR  # no fact at all
    failed = Fact("firewall.ruleset", "firewall/edge", "firewall.ruleset", FactStatus.ERROR,
                  error="firewall fw 10.200.2.1:22: SSH connection refused")
    found = run(DefaultDrop(), failed)
    assert found.status is Status.ERROR and "refused" in found.message
    bare = Inventory.model_validate({**INV.model_dump(mode="json", exclude_none=True),
                                     "firewalls": [{"id": "edge"}]})
    for check in (PublishedOnly(), ManagementNotExposed(), OutboundBlocked(), DefaultDrop()):
        assert run(check, inv=bare).status is Status.SKIPPED
    nothing = Inventory.model_validate({"school": {"name": "t"}, "scope": {"allow": ["10.0.0.0/8"]}})
    assert run(PublishedOnly(), inv=nothing).status is Status.ERROR
