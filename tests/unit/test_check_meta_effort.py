"""Every check says what fixing its failure takes (``effort``) and who does it (``owner``), and a value
outside the known ones is refused when the check is defined."""

from __future__ import annotations

import pytest

from auditor.errors import RegistryError
from auditor.model import Severity
from auditor.plugins import EFFORTS, OWNERS, CheckMeta, load_plugins

PLUGINS = load_plugins()


def _meta(**kw: str) -> CheckMeta:
    return CheckMeta("x.y", "甲", "A", Severity.LOW, "理由", "why", "整改", "fix", (), **kw)


@pytest.mark.parametrize("name", PLUGINS.checks.names())
def test_every_registered_check_has_a_valid_effort_and_owner(name: str) -> None:
    meta = PLUGINS.checks.get(name).meta
    assert meta.effort in EFFORTS and meta.owner in OWNERS
    doc = meta.to_json()
    assert (doc["effort"], doc["owner"]) == (meta.effort, meta.owner)


def test_the_checks_do_not_all_say_the_same() -> None:
    metas = [PLUGINS.checks.get(n).meta for n in PLUGINS.checks.names()]
    assert {m.effort for m in metas} == set(EFFORTS)
    assert {m.owner for m in metas} == set(OWNERS)
    by_id = {m.id: m for m in metas}
    assert (by_id["device.telnet_disabled"].effort, by_id["device.telnet_disabled"].owner) == (
        "config", "network_admin")
    assert by_id["bandwidth.uplink_goodput"].effort == "purchase"


def test_a_typo_is_an_error_when_the_check_is_defined() -> None:
    assert (_meta().effort, _meta().owner) == ("config", "network_admin")  # the defaults
    with pytest.raises(RegistryError, match="effort 'configure'"):
        _meta(effort="configure")
    with pytest.raises(RegistryError, match="owner 'admin'"):
        _meta(owner="admin")
