"""The bounded YAML loader (auditor.yamlsrc): a large honest file loads, aliases are bounded by
what they amplify (values after following aliases versus values written), nesting by depth."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.yamlsrc import (
    ALIAS_VALUES,
    MAX_AMPLIFICATION,
    MAX_BYTES,
    MAX_DEPTH,
    MAX_EXPANDED,
    expansion_limit,
    load_yaml,
)

SITE = r"site\.yaml"
HEAD = "version: 1\nschool: {name: 测试学校}\nscope:\n  allow: [10.0.0.0/8]\n"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _line(text: str, marker: str) -> int:
    return next(i for i, row in enumerate(text.splitlines(), 1) if marker in row)


def _device(serial: int, snmp: str) -> str:
    third, fourth = divmod(serial, 250)
    return (f"  - id: dev-{serial:05d}\n    name: 教学楼{serial // 56 + 1}号楼{serial % 7 + 1}层交换机\n"
            f"    address: 10.{1 + third // 256}.{third % 256}.{fourth + 2}\n    vendor: huawei\n"
            f"    role: access\n{snmp}")


SNMP = '    snmp:\n      version: "2c"\n      community: {env: SNMP_COMMUNITY}\n'


def test_an_honest_30000_device_inventory_loads(tmp_path: Path) -> None:
    """Past both old flat caps (4 MiB, 100,000 values): a file without aliases is bounded by its size."""
    text = HEAD + "devices:\n" + "".join(_device(n, SNMP) for n in range(30_000))
    path = _write(tmp_path, text)
    assert 4 * 2**20 < path.stat().st_size < MAX_BYTES
    data, node, raw = load_yaml(path)
    assert len(data["devices"]) == 30_000 and raw == text.encode()
    assert data["devices"][29_999]["snmp"] == {"version": "2c", "community": {"env": "SNMP_COMMUNITY"}}
    last = node.value[-1][1].value[-1] if node is not None else None
    assert last is not None and last.start_mark.line + 1 == _line(text, "id: dev-29999")


def test_one_anchored_block_shared_by_every_device_loads(tmp_path: Path) -> None:
    """As yaml.safe_dump writes a reused dictionary: 30,000 aliases add 120,000 values, more than
    the 100,000 any file may add, but only 1.5 times what the file writes."""
    first = '    snmp: &snmp\n      version: "2c"\n      community: {env: SNMP_COMMUNITY}\n'
    text = HEAD + "devices:\n" + _device(0, first) + "".join(_device(n, "    snmp: *snmp\n")
                                                             for n in range(1, 30_000))
    data, _node, _raw = load_yaml(_write(tmp_path, text))
    assert len(data["devices"]) == 30_000
    assert data["devices"][0]["snmp"] is data["devices"][29_999]["snmp"]  # shared, not copied


def test_a_template_merged_into_every_entry_loads(tmp_path: Path) -> None:
    """Merge keys (``<<: *t``) work, and the entries' own keys win."""
    text = HEAD + "devices:\n  - <<: &t {vendor: huawei, role: access, snmp: {version: '2c', " \
        "community: {env: C}}}\n    id: dev-0\n    address: 10.1.0.2\n" + \
        "".join(f"  - <<: *t\n    id: dev-{n}\n    address: 10.1.0.{n + 2}\n    role: core\n"
                for n in range(1, 50))
    data, _node, _raw = load_yaml(_write(tmp_path, text))
    assert data["devices"][49] == {"vendor": "huawei", "role": "core", "snmp": {"version": "2c",
                                   "community": {"env": "C"}}, "id": "dev-49", "address": "10.1.0.51"}


def _laughs(levels: int) -> str:
    lines = [HEAD.rstrip("\n"), 'lol0: &lol0 "lol"']
    lines += [f"lol{i}: &lol{i} [" + ", ".join([f"*lol{i - 1}"] * 9) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def test_a_billion_laughs_is_refused_at_its_line(tmp_path: Path) -> None:
    text = _laughs(9)  # 9^9 values; lol6 is the first anchor past 100,000 (9^6 = 531,441)
    message = _refusal(_write(tmp_path, text))
    assert message.startswith(f"{tmp_path / 'site.yaml'}:{_line(text, 'lol6: &lol6')}: anchors and aliases "
                              f"here expand to more than {ALIAS_VALUES} values beyond the ")
    assert "an alias bomb?" in message and "write the values out or share less" in message


def test_a_smaller_laugh_within_the_allowance_loads(tmp_path: Path) -> None:
    data, _node, _raw = load_yaml(_write(tmp_path, _laughs(5)))  # 9^5 = 59,049 values
    assert len(data["lol5"]) == 9 and data["lol5"][0][0][0][0][0] == "lol"


def _shared_list(filler: int, block: int, copies: int) -> str:
    """``filler`` values written out, then one ``block``-value list aliased ``copies`` times."""
    return (HEAD + "filler: [" + ", ".join(["x"] * filler) + "]\n" + "block: &block [" +
            ", ".join(["y"] * block) + "]\ncopies:\n" + "  - *block\n" * copies)


def _refusal(path: Path) -> str:
    with pytest.raises(InputError) as err:
        load_yaml(path)
    return str(err.value)


def test_a_small_file_may_add_the_allowance_and_no_more(tmp_path: Path) -> None:
    ok = _shared_list(0, 99, 1_000)  # 100 values aliased 1,000 times: 99,000 more than written
    assert len(load_yaml(_write(tmp_path, ok))[0]["copies"]) == 1_000
    bad = _shared_list(0, 99, 1_020)  # 100,980 more
    assert _refusal(_write(tmp_path, bad)) == (
        f"{tmp_path / 'site.yaml'}:{_line(bad, '- *block')}: anchors and aliases here expand to more than "
        f"{ALIAS_VALUES} values beyond the 1137 the file writes (here 102001; an alias bomb?); write the "
        "values out or share less")


def test_a_large_file_may_amplify_ten_times_and_no_more(tmp_path: Path) -> None:
    ok = _shared_list(20_000, 999, 150)  # 21,167 written, 170,917 in all (8 times)
    assert len(load_yaml(_write(tmp_path, ok))[0]["copies"]) == 150
    bad = _shared_list(20_000, 999, 250)  # 21,267 written, 271,017 in all (12.7 times)
    assert _refusal(_write(tmp_path, bad)).startswith(
        f"{tmp_path / 'site.yaml'}:{_line(bad, '- *block')}: anchors and aliases here expand to more than "
        f"{MAX_AMPLIFICATION} times the 21267 values the file writes (here 250001; an alias bomb?)")


def test_aliases_never_take_a_file_past_the_ceiling(tmp_path: Path) -> None:
    bad = _shared_list(500_000, 9_999, 400)  # 510,417 written: 10 times would be 5.1 million
    with pytest.raises(InputError, match=f"expand to more than {MAX_EXPANDED} values, the most any file may "
                                         r"have \(510417 written\) \(here 4000001; "):
        load_yaml(_write(tmp_path, bad))


def test_the_limit_never_refuses_what_a_file_writes() -> None:
    assert expansion_limit(0) == ALIAS_VALUES
    assert expansion_limit(20_000) == 10 * 20_000
    assert expansion_limit(1_000_000) == MAX_EXPANDED
    for written in (0, 1, 11_111, 11_112, 399_999, 3_999_999, 4_000_000, 50_000_000):
        assert expansion_limit(written) >= written + ALIAS_VALUES
        assert expansion_limit(written) <= max(written + ALIAS_VALUES, MAX_EXPANDED)


def test_an_alias_to_its_own_collection_is_refused(tmp_path: Path) -> None:
    text = HEAD + "a: 1\nloop: &loop\n  - x\n  - *loop\n"
    with pytest.raises(InputError, match=rf"{SITE}:{_line(text, 'loop: &loop')}: an alias inside this "
                                         "anchored collection refers to the collection itself"):
        load_yaml(_write(tmp_path, text))


def test_nesting_is_bounded_as_written(tmp_path: Path) -> None:
    inner = MAX_DEPTH - 1  # inside the top-level mapping
    at_limit = HEAD + "tailoring: " + "[" * inner + "x" + "]" * inner + "\n"
    assert load_yaml(_write(tmp_path, at_limit))[0]["tailoring"]  # 32 collections, a scalar inside
    flow = HEAD + "tailoring: " + "[" * 40 + "]" * 40 + "\n"
    with pytest.raises(InputError, match=rf"{SITE}:{_line(flow, 'tailoring')}: nested more than 32 levels"):
        load_yaml(_write(tmp_path, flow))
    block = "".join("  " * i + f"k{i}:\n" for i in range(40)) + "  " * 40 + "x\n"
    with pytest.raises(InputError, match=rf"{SITE}:33: nested more than 32 levels deep; [^(]*$"):
        load_yaml(_write(tmp_path, block))  # the 33rd mapping starts on line 33
    huge = HEAD + "tailoring: " + "[" * 5000 + "]" * 5000 + "\n"  # past libyaml's own limit
    with pytest.raises(InputError, match=rf"{SITE}:{_line(huge, 'tailoring')}: nested more than 32 levels"):
        load_yaml(_write(tmp_path, huge))


def test_nesting_is_bounded_after_following_aliases(tmp_path: Path) -> None:
    lines = ["a0: &a0 x"] + [f"a{i}: &a{i} " + "[" * 20 + f"*a{i - 1}" + "]" * 20 for i in range(1, 3)]
    text = HEAD + "\n".join(lines) + "\n"  # 20 deep as written, 40 once a1 is followed
    with pytest.raises(InputError, match=r"nested more than 32 levels deep; .* \(following aliases\)"):
        load_yaml(_write(tmp_path, text))


def test_keys_are_plain_and_unique(tmp_path: Path) -> None:
    dup = HEAD + "devices: []\ndevices: []\n"
    with pytest.raises(InputError, match=rf"{SITE}:6: duplicate key 'devices' \(first at line 5\)"):
        load_yaml(_write(tmp_path, dup))
    shared = HEAD + "x: &m {a: 1, a: 2}\ny: *m\n"  # found once, where the file writes it
    with pytest.raises(InputError, match=rf"{SITE}:5: duplicate key 'a'"):
        load_yaml(_write(tmp_path, shared))
    with pytest.raises(InputError, match=rf"{SITE}:5: a key must be a plain name"):
        load_yaml(_write(tmp_path, HEAD + "[a, b]: c\n"))


def test_the_byte_cap_is_read_from_the_size_first(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    with path.open("wb") as fh:  # sparse: nothing is written, nothing read
        fh.truncate(MAX_BYTES + 1)
    with pytest.raises(InputError, match=r"the file is 32\.0 MiB, more than the 32 MiB"):
        load_yaml(path)


@pytest.mark.parametrize("enabled", [True, False])
def test_the_garbage_collector_is_left_as_it_was(tmp_path: Path, enabled: bool) -> None:
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        load_yaml(_write(tmp_path, HEAD))
        assert gc.isenabled() is enabled
        load_yaml(_write(tmp_path, _shared_list(150_000, 1, 1)))  # enough objects to be collected at once
        assert gc.isenabled() is enabled
        with pytest.raises(InputError):
            load_yaml(_write(tmp_path, _laughs(9)))
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()
