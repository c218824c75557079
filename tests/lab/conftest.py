"""The lab tier: network namespaces (root). ``lab`` is the namespace demo school, built once for
the tests that share it (prefix ``cat``) and torn down after; other lab tests build their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.lab import LAB_PREFIX, cannot_build_lab


@pytest.fixture(scope="session")
def lab() -> Iterator[object]:
    reason = cannot_build_lab()
    if reason:
        pytest.skip(reason)
    from auditor.lab import school

    info = school.up(LAB_PREFIX)
    try:
        yield info
    finally:
        school.down(LAB_PREFIX)
