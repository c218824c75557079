"""Every recorded input in tests/data parses to the expectation written beside it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.expected import actual, cases

CASES = list(cases())


def test_every_parser_folder_has_inputs() -> None:
    kinds = {case.split("/")[0] for case, _e, _p in CASES}
    assert kinds == {"backups", "iperf3", "netconfig", "nft", "nmap", "snmp", "wifi"}


@pytest.mark.parametrize(("case", "expected", "parse"), CASES, ids=[c for c, _e, _p in CASES])
def test_parser_output_is_the_expected(case: str, expected: Path, parse: Callable[[], Any]) -> None:
    assert expected.exists(), f"{expected} is missing: `python -m tests.support.expected --write`"
    assert actual(parse) == json.loads(expected.read_text(encoding="utf-8")), (
        f"{case}: the parser's output differs from {expected.name}; if on purpose, rewrite the "
        "expectations with `python -m tests.support.expected --write` and review the diff")
