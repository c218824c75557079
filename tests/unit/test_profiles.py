"""Every built-in profile loads with the project's loader, and every check it names exists."""

from __future__ import annotations

import pytest

from auditor.plugins import load_plugins
from auditor.profile import builtin_profiles, load_profile

NAMES = builtin_profiles()


def test_the_frameworks_are_shipped() -> None:
    assert NAMES == ["beijing-smart-campus-2023", "campus-auditor-baseline", "gbt22239-2019-level1",
                     "gbt22239-2019-level2", "gbt22239-2019-level3"]


def test_the_baseline_is_informational() -> None:
    """The baseline profile holds checks no standard item cites, so they run and are reported;
    it is not point-scored and none of its checks is cited by a standard."""
    baseline = load_profile("campus-auditor-baseline").profile
    assert baseline.scoring == "status"
    own = {ref.check for _c, item in baseline.walk_items() for ref in item.checks}
    assert own == {"device.firmware_reported", "device.config_changed", "device.remote_auth",
                   "device.server_keys_protected", "device.password_recovery_off",
                   "backup.device_configs", "wifi.band_5ghz"}
    for name in NAMES:
        if name != "campus-auditor-baseline":
            cited = {ref.check for _c, item in load_profile(name).profile.walk_items() for ref in item.checks}
            assert not own & cited, name


@pytest.mark.parametrize("name", NAMES)
def test_profile_loads_and_names_only_installed_checks(name: str) -> None:
    profile = load_profile(name).profile
    installed = set(load_plugins().checks.names())
    items = list(profile.walk_items())
    assert items
    for _chain, item in items:
        for ref in item.checks:
            assert ref.check in installed, (item.id, ref.check)
        assert item.checks or item.manual, f"{item.id} has neither checks nor manual parts"


def test_beijing_totals() -> None:
    profile = load_profile("beijing-smart-campus-2023").profile
    assert profile.scoring == "deduction"
    assert [g.points for g in profile.groups] == [10, 20, 16, 10, 10, 10, 10, 6, 8]
    for top in profile.groups:
        assert sum(g.points or 0 for g in top.groups) == top.points, top.title
    assert sum(1 for _ in profile.walk_items()) == 126
    measured = [i.id for _c, i in profile.walk_items() if i.checks]
    assert measured == ["smart-env.facilities.1", "smart-env.facilities.2", "infosec.systems.1",
                        "infosec.systems.2"]


@pytest.mark.parametrize("level", [1, 2, 3])
def test_gbt_levels(level: int) -> None:
    profile = load_profile(f"gbt22239-2019-level{level}").profile
    assert profile.level == level and profile.scoring == "status"
    chapter = f"{level + 5}."
    for _chain, item in profile.walk_items():
        assert item.id.startswith(chapter), item.id
