"""The authorisation record: ``auditor run`` needs a current one (there is no bypass, not even for
the demo school), and the report states it with the clock every validity window is judged by.

The targets lie outside the scope allow-list, so nothing is sent anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import run_cli
from tests.support.inventories import AUTH, GOOD

WAIVERS = """\
schema: 1
waivers:
  - {check: bandwidth.uplink_goodput, reason: 改造中, approver: 张校长, start: 2020-01-01,
     expires: 2020-12-31, risk: low}
"""


def _run(tmp: Path, text: str, key_dir: Path, *extra: str) -> tuple[int, str, dict[str, object]]:
    inv = tmp / "site.yaml"
    inv.write_text(text, encoding="utf-8")
    out = tmp / "audit"
    res = run_cli("run", "-q", "-i", str(inv), "-p", "beijing-smart-campus-2023", "-o", str(out),
                  "--key-dir", str(key_dir), "--no-history", "--attestations", str(tmp / "none"), *extra,
                  env={"SNMP_COMMUNITY": "not-used-here", "AUDITOR_STATE_DIR": str(tmp / "state")})
    assert "Traceback" not in res.stderr
    report = json.loads((out / "report.json").read_bytes()) if (out / "report.json").exists() else {}
    return res.returncode, res.stderr, report


def _cover(bundle: Path) -> str:
    """The cover section of the bundle's HTML report."""
    page = (bundle / "report.html").read_text(encoding="utf-8")
    start = page.index('<section id="about"')
    return page[start:page.index("</section>", start)]


def test_without_a_record_nothing_runs_whatever_the_scope(tmp_path: Path, key_dir: Path) -> None:
    # no bypass for any range: the demo school's own inventory carries its record
    for scope in ("[10.200.250.0/24]", "[10.251.0.0/16]"):
        text = GOOD.replace(AUTH, "").replace("[10.200.0.0/16]", scope)
        assert "authorisation" not in text
        code, stderr, _ = _run(tmp_path, text, key_dir)
        assert code == 2 and "no authorisation record" in stderr and not (tmp_path / "audit").exists()
    code, stderr, _ = _run(tmp_path, GOOD.replace(AUTH, ""), key_dir, "--lab")
    assert code == 2 and "No such option" in stderr and "--lab" in stderr


def test_the_report_states_the_record_and_the_clock(tmp_path: Path, key_dir: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(WAIVERS, encoding="utf-8")
    text = GOOD.replace("[10.200.0.0/16]", "[10.251.0.0/16]")
    code, stderr, report = _run(tmp_path, text, key_dir, "--waivers", str(waivers))
    assert code == 1, stderr
    auth = report["authorisation"]
    assert isinstance(auth, dict)
    assert {k: auth[k] for k in ("status", "authorised_by", "role", "reference", "valid_from",
                                 "valid_until", "document")} == {
        "status": "current", "authorised_by": "张校长", "role": "校长",
        "reference": "T-AUTH-2026-001", "valid_from": "2020-01-01", "valid_until": "2099-12-31",
        "document": None}
    clock = auth["clock"]
    assert clock["timezone"] == "Asia/Shanghai" and clock["now"].endswith("+08:00")
    assert clock["date"] == clock["now"][:10]
    cover = _cover(tmp_path / "audit")  # the reader sees who allowed the audit, and until when
    assert "审计授权" in cover and "张校长（校长）" in cover and "T-AUTH-2026-001" in cover
    shown = clock["now"][:10] + " " + clock["now"][11:19] + " +08:00"  # the school's time, with its offset
    assert "有效期 2020-01-01 — 2099-12-31" in cover and shown in cover
    markdown = (tmp_path / "audit" / "report.md").read_text(encoding="utf-8")
    assert "| 审计授权 | 有效：张校长（校长），`T-AUTH-2026-001`，有效期 2020-01-01 — 2099-12-31" in markdown
    warnings = report["warnings"]
    assert isinstance(warnings, list)
    assert any(f"expired 2020-12-31; judged on {clock['date']} by the audit clock" in w for w in warnings)
