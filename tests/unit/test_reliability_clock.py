"""Clocks that disagree are reported, never silently accepted (the lab suite injects a backup
host whose clock is 30 h fast; these are the same rules without a network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from auditor.errors import ProbeError, TargetUnreachable
from auditor.inventory import BackupLocation, SshAccess
from auditor.probes.backups import _clock_skew
from auditor.probes.parsers.file_listing import Listing
from auditor.probes.wifi_capture import Survey
from auditor.probes.wifi_surveys import current_surveys
from auditor.secrets import SecretRef

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
LOC = BackupLocation(host=IPv4Address("10.200.21.2"), path="/backups",
                     ssh=SshAccess(username=SecretRef(env="U"), password=SecretRef(env="P")))


def _survey(tmp: Path, taken: datetime, name: str) -> Survey:
    return Survey(path=tmp / name, area="t301", area_name="教学楼 301", point=None, taken_at=taken,
                  host=None, tool="iw", tool_version=None, interface=None, raw_file="raw.txt", bss=[])


def test_host_clock_within_the_limit_is_recorded() -> None:
    now = NOW.timestamp()
    assert _clock_skew(LOC, Listing(remote_time=int(now) + 42, files=()), now - 1, now + 1, 300) == 42.0


@pytest.mark.parametrize(("offset", "words"), [(30 * 3600, "30.0 h ahead of"), (-2 * 3600, "2.0 h behind")])
def test_host_clock_far_off_is_an_error_naming_it(offset: int, words: str) -> None:
    now = NOW.timestamp()
    with pytest.raises(ProbeError) as err:
        _clock_skew(LOC, Listing(remote_time=int(now) + offset, files=()), now, now + 2, 300)
    assert f"10.200.21.2: its clock is {words} the agent's" in str(err.value)
    assert "fix the host's (or the agent's) clock" in str(err.value)


def test_a_survey_dated_in_the_future_is_not_counted(tmp_path: Path) -> None:
    future = _survey(tmp_path, NOW + timedelta(days=2), "future.yaml")
    with pytest.raises(TargetUnreachable) as err:
        current_surveys([future], 180, NOW, "t301", "教学楼 301")
    assert "future.yaml is dated 48.0 h after the agent's clock" in str(err.value)
    good = _survey(tmp_path, NOW - timedelta(days=3), "good.yaml")
    assert current_surveys([future, good], 180, NOW, "t301", "教学楼 301") == [good]
