"""nftables ruleset parser on listings recorded from the real ``nft`` (tests/data/nft/)."""

from __future__ import annotations

import pytest

from auditor.probes.parsers.nft import (
    NftParseError,
    filter_summary,
    parse_nft_json,
    parse_nft_text,
    text_rule,
    with_text_lines,
)
from tests.support.paths import DATA as TEST_DATA

DATA = TEST_DATA / "nft"


def _both(name: str) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    text = parse_nft_text((DATA / f"{name}.txt").read_text())
    merged = with_text_lines(parse_nft_json((DATA / f"{name}.json").read_text()), text)
    return filter_summary(merged), filter_summary(text)


@pytest.mark.parametrize("name", ["compliant", "allow-all"])
def test_json_and_text_agree(name: str) -> None:
    from_json, from_text = _both(name)
    assert from_json == from_text  # rule lines come from the text by handle
    assert [(c["hook"], c["chain"]) for c in from_json] == [("input", "input"), ("forward", "forward")]


def test_json_without_handles_in_text_keeps_its_verdicts() -> None:
    from_json, from_text = _both("edge")  # edge.txt was listed without -a: no handles to match

    def shape(chains: list[dict[str, object]]) -> list[tuple[object, ...]]:
        return [(c["chain"], c["policy"], c["rules"], bool(c["final_drop"]), len(c["accept_all"]))  # type: ignore[arg-type]
                for c in chains]

    assert shape(from_json) == shape(from_text) == [("input", "accept", 4, True, 0),
                                                    ("forward", "accept", 3, True, 1)]
    assert '"drop":null' in str(from_json[0]["final_drop"])


def test_compliant_drops_by_default_without_accept_all() -> None:
    chains, _ = _both("compliant")
    assert [c["policy"] for c in chains] == ["drop", "drop"]
    assert all(c["accept_all"] == [] and c["final_drop"] is None for c in chains)
    declaration = "inet filter input: type filter hook input priority filter; policy drop;"
    assert chains[0]["declaration"] == declaration
    assert chains[1]["rules"] == 5


def test_allow_all_is_flagged() -> None:
    chains, _ = _both("allow-all")
    assert [c["policy"] for c in chains] == ["accept", "accept"]
    assert [c["accept_all"] for c in chains] == [["inet filter input: counter packets 0 bytes 0 accept"],
                                                 ["inet filter forward: counter packets 0 bytes 0 accept"]]


def test_final_drop_rule_zero_prefix_and_jump() -> None:
    _, chains = _both("edge")
    inp, fwd = chains
    assert inp["policy"] == "accept"
    assert inp["final_drop"] == 'ip filter input: log prefix "in-drop " counter packets 0 bytes 0 drop'
    assert inp["accept_all"] == []  # "ip saddr @mgmt ... jump trusted" filters; the set is skipped
    assert fwd["final_drop"] == "ip filter forward: counter packets 0 bytes 0 reject"
    assert fwd["accept_all"] == [
        'ip filter forward: ip saddr 0.0.0.0/0 accept comment "temporary: let everything through"']
    text = parse_nft_text((DATA / "edge.txt").read_text())
    trusted = next(c for c in text.chains if c.name == "trusted")
    assert trusted.hook is None and trusted.rules[0].accept_all  # regular chain: not summarised


def test_single_rules() -> None:
    assert text_rule('log prefix "x" level info counter accept').accept_all
    assert not text_rule("tcp dport 22 accept").accept_all
    assert text_rule("ip6 saddr ::/0 counter accept").accept_all
    assert text_rule("drop").drop_all and not text_rule("ct state invalid drop").drop_all
    assert text_rule("meta l4proto tcp accept").filtering


def test_bad_input() -> None:
    with pytest.raises(NftParseError):
        parse_nft_json("Error: syntax error")
    cut = (DATA / "compliant.txt").read_text().splitlines()[:8]
    with pytest.raises(NftParseError, match="cut off"):
        parse_nft_text("\n".join(cut))
    with pytest.raises(NftParseError):
        parse_nft_text("Chain INPUT (policy ACCEPT)\ntarget prot opt source destination\n")
    assert parse_nft_text("").chains == ()  # an empty ruleset: no chains, nothing filters
