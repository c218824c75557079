"""Wi-Fi coverage checks, one finding per inventory Wi-Fi area, from its survey records.

``wifi.signal``: the school SSID's best signal at every survey point meets the area class's
threshold. ``wifi.band_5ghz``: the school SSID is on 5 GHz in the area. ``wifi.security``:
school SSIDs use WPA2/WPA3. ``wifi.rogue``: no open or WEP network named like the school's,
and no BSSID outside the school's known list broadcasting a school SSID.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from auditor.checks._common import per_target
from auditor.facts import Bss, FactKind, WifiSurvey, read_fact
from auditor.inventory import WifiArea
from auditor.model import Fact, Finding, Severity, Status
from auditor.plugins import CheckContext, CheckMeta

KIND = FactKind.WIFI_SURVEY
PROBE = "wifi.surveys"


@dataclass(frozen=True)
class Point:
    """One survey point's newest scan."""

    label: str
    taken_at: str
    bss: list[Bss]


@dataclass(frozen=True)
class Verdict:
    status: Status
    message: str
    measured: float | None = None
    threshold: float | None = None
    unit: str | None = None
    lines: tuple[str, ...] = ()


Judge = Callable[[WifiArea, list[Point], list[str]], Verdict]


def _points(fact: Fact) -> list[Point]:
    surveys = read_fact(fact, WifiSurvey).surveys
    points = []
    for n, survey in enumerate(surveys, 1):
        label = survey.point or (f"survey {n}" if len(surveys) > 1 else "survey")
        points.append(Point(label, survey.taken_at, [b.bss() for b in survey.bss]))
    return points


def per_area(meta: CheckMeta, ctx: CheckContext[Any], ssids_param: list[str], judge: Judge) -> list[Finding]:
    """One finding per Wi-Fi area: missing evidence is error, else what ``judge`` says."""
    wifi = ctx.inventory.wifi
    if wifi is None:
        return [Finding(meta.id, "wifi", Status.ERROR, meta.severity,
                        "the inventory has no 'wifi' section naming the school SSIDs")]
    if not ctx.inventory.wifi_areas:
        return [Finding(meta.id, "wifi", Status.ERROR, meta.severity,
                        "the inventory lists no wifi_areas to judge")]
    ssids = ssids_param or list(wifi.ssids)

    def finding(area: WifiArea, target: str, fact: Fact) -> Finding:
        points = _points(fact)
        if not points:
            return Finding(meta.id, target, Status.ERROR, meta.severity,
                           f"{area.name}: no current survey (no current evidence)",
                           facts=(fact.id,), artifacts=fact.artifacts)
        v = judge(area, points, ssids)
        return Finding(
            meta.id, target, v.status, meta.severity, f"{area.name} ({area.area_class}): {v.message}",
            measured=v.measured, threshold=v.threshold, unit=v.unit, facts=(fact.id,),
            artifacts=fact.artifacts, lines=v.lines)

    areas = [(f"area/{area.id}", area) for area in ctx.inventory.wifi_areas]
    return per_target(meta, ctx, KIND, PROBE, areas, finding)


def _sig(b: Bss) -> str:
    return f"{'~' if b.signal_approx else ''}{b.signal_dbm:.0f} dBm" if b.signal_dbm is not None else "?"


class SsidParams(BaseModel):
    """``ssids``: the SSIDs judged (default: every SSID in the inventory's ``wifi.ssids``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ssids: list[str] = Field(default_factory=list)


class SignalParams(SsidParams):
    """Minimum best school-SSID signal per survey point, by area class (dBm)."""

    teaching_dbm: float = Field(default=-67.0, ge=-100, le=-30)
    office_dbm: float = Field(default=-70.0, ge=-100, le=-30)
    activity_dbm: float = Field(default=-70.0, ge=-100, le=-30)


class Signal:
    """Every survey point of an area hears a school SSID at or above the class threshold."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="wifi.signal",
        title_zh="教学、办公、活动区域无线信号强度达标",
        title_en="Wi-Fi signal meets the threshold in teaching, office and activity areas",
        severity=Severity.MEDIUM,
        rationale_zh="无线网络需覆盖教学、办公和活动区域；信号低于阈值时课堂应用不稳定。",
        rationale_en="Wi-Fi must cover teaching, office and activity areas; below the threshold, "
        "classroom applications become unreliable.",
        remediation_zh="在信号不足的点位增设或调整 AP（位置、功率、信道），整改后重新测量。",
        remediation_en="Add or move access points (placement, power, channel) where the signal is "
        "weak, then survey the area again.",
        requires=(PROBE,),
    )
    params_model: ClassVar[type[BaseModel]] = SignalParams

    def evaluate(self, ctx: CheckContext[SignalParams]) -> list[Finding]:
        p = ctx.params

        def judge(area: WifiArea, points: list[Point], ssids: list[str]) -> Verdict:
            limit = {"teaching": p.teaching_dbm, "office": p.office_dbm,
                     "activity": p.activity_dbm}[area.area_class]
            failed, unknown, parts, lines = [], [], [], []
            worst: float | None = None
            for point in points:
                school = [b for b in point.bss if b.ssid in ssids]
                with_dbm = [b for b in school if b.signal_dbm is not None]
                if not school:
                    failed.append(point.label)
                    parts.append(f"{point.label}: no school SSID heard")
                    worst = -100.0 if worst is None else min(worst, -100.0)
                    continue
                if not with_dbm:
                    unknown.append(point.label)
                    parts.append(f"{point.label}: the scanner gave no dBm values")
                    continue
                best = max(with_dbm, key=lambda b: b.signal_dbm or -999)
                assert best.signal_dbm is not None
                worst = best.signal_dbm if worst is None else min(worst, best.signal_dbm)
                ok = best.signal_dbm >= limit
                if not ok:
                    failed.append(point.label)
                parts.append(f"{point.label}: {_sig(best)} {'≥' if ok else '<'} {limit:g} dBm "
                             f"({best.ssid} {best.bssid} {best.band})")
                lines.append(f"{point.label}: {best.describe()}")
            approx = any(b.signal_approx for pt in points for b in pt.bss if b.ssid in ssids)
            note = " (~: converted from nmcli's percentage, approximate)" if approx else ""
            text = "; ".join(parts) + note
            if failed:
                status, head = Status.FAIL, f"below {limit:g} dBm at {', '.join(failed)}"
            elif unknown:
                status, head = Status.ERROR, f"signal not measured in dBm at {', '.join(unknown)}"
            else:
                status, head = Status.PASS, f"every point at or above {limit:g} dBm"
            return Verdict(status, f"{head} — {text}", worst, limit, "dBm", tuple(lines))

        return per_area(self.meta, ctx, p.ssids, judge)


class Band5GHz:
    """A school SSID is on 5 GHz somewhere in the area."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="wifi.band_5ghz",
        title_zh="区域内学校 SSID 提供 5 GHz 频段",
        title_en="The school SSID is available on 5 GHz in the area",
        severity=Severity.LOW,
        rationale_zh="2.4 GHz 信道少、干扰大，教室并发接入需要 5 GHz 频段。",
        rationale_en="2.4 GHz has few channels and much interference; classrooms with many clients "
        "need 5 GHz.",
        remediation_zh="启用 AP 的 5 GHz 射频并广播学校 SSID（双频同名）。",
        remediation_en="Enable the access points' 5 GHz radios and broadcast the school SSID there.",
        requires=(PROBE,),
    )
    params_model: ClassVar[type[BaseModel]] = SsidParams

    def evaluate(self, ctx: CheckContext[SsidParams]) -> list[Finding]:
        p = ctx.params

        def judge(_area: WifiArea, points: list[Point], ssids: list[str]) -> Verdict:
            school = [(pt.label, b) for pt in points for b in pt.bss if b.ssid in ssids]
            five = [(label, b) for label, b in school if b.band == "5GHz"]
            bands = sorted({b.band for _l, b in school})
            if five:
                label, best = max(five, key=lambda lb: lb[1].signal_dbm or -999)
                return Verdict(Status.PASS, f"school SSID on 5 GHz ({len(five)} BSS; strongest "
                               f"{best.ssid} {best.bssid} {_sig(best)} at {label})",
                               float(len(five)), 1.0, "5 GHz BSS",
                               tuple(f"{lbl}: {b.describe()}" for lbl, b in five))
            seen = f"seen only on {', '.join(bands)}" if bands else "not seen at all"
            return Verdict(Status.FAIL, f"no school SSID on 5 GHz ({', '.join(ssids)} {seen})",
                           0.0, 1.0, "5 GHz BSS", tuple(f"{lbl}: {b.describe()}" for lbl, b in school))

        return per_area(self.meta, ctx, p.ssids, judge)


class Security:
    """School SSIDs use WPA2 or WPA3 (PSK, SAE or 802.1X), never open, WEP or WPA1 alone."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="wifi.security",
        title_zh="学校无线网络采用 WPA2/WPA3 加密认证",
        title_en="School SSIDs use WPA2/WPA3",
        severity=Severity.HIGH,
        rationale_zh="开放、WEP 或仅 WPA1 的无线网络可被窃听或破解，不满足等保对通信传输和接入认证的要求。",
        rationale_en="Open, WEP or WPA1-only networks can be sniffed or cracked; they do not meet the "
        "classified-protection requirements for transmission and access authentication.",
        remediation_zh="将学校 SSID 配置为 WPA2-企业（802.1X）或 WPA3（SAE），停用 WEP/WPA1/TKIP。",
        remediation_en="Configure school SSIDs for WPA2-Enterprise (802.1X) or WPA3 (SAE); retire "
        "WEP, WPA1 and TKIP.",
        requires=(PROBE,),
    )
    params_model: ClassVar[type[BaseModel]] = SsidParams

    def evaluate(self, ctx: CheckContext[SsidParams]) -> list[Finding]:
        p = ctx.params

        def judge(_area: WifiArea, points: list[Point], ssids: list[str]) -> Verdict:
            school = _unique([b for pt in points for b in pt.bss if b.ssid in ssids])
            if not school:
                return Verdict(Status.ERROR, f"no school SSID ({', '.join(ssids)}) was heard, so its "
                               "security could not be seen", 0.0, 0.0, "weak BSS")
            weak = [b for b in school if not {"WPA2", "WPA3"} & set(b.protocols)]
            mixed = [b for b in school if b not in weak and "WPA1" in b.protocols]
            lines = tuple(b.describe() for b in school)
            if weak:
                text = "; ".join(f"{b.ssid} {b.bssid}: {b.security}" for b in weak)
                return Verdict(Status.FAIL, f"not WPA2/WPA3: {text}", float(len(weak)), 0.0,
                               "weak BSS", lines)
            used = sorted({b.security + (f" ({' '.join(b.akm)})" if b.akm else "") for b in school})
            note = (f"; WPA1 (TKIP) still offered by {', '.join(b.bssid for b in mixed)}" if mixed else "")
            return Verdict(Status.PASS, f"{len(school)} BSS, all WPA2/WPA3: {', '.join(used)}{note}",
                           0.0, 0.0, "weak BSS", lines)

        return per_area(self.meta, ctx, p.ssids, judge)


class RogueParams(SsidParams):
    """``similarity``: how alike (0-1, after dropping case and punctuation) a name must be."""

    similarity: float = Field(default=0.8, gt=0, le=1)


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


def looks_like(name: str, school: str, similarity: float) -> bool:
    """Whether SSID ``name`` imitates ``school`` (case-insensitive, contains or similar)."""
    a, b = _norm(name), _norm(school)
    if not a or not b:
        return False
    if (b in a) or (len(a) >= 4 and a in b):
        return True
    return SequenceMatcher(None, a, b).ratio() >= similarity


def _unique(rows: list[Bss]) -> list[Bss]:
    seen: dict[tuple[str, str], Bss] = {}
    for b in rows:
        seen.setdefault((b.bssid, b.ssid), b)
    return list(seen.values())


class Rogue:
    """No open/WEP look-alike of a school SSID; no unknown BSSID broadcasting a school SSID."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="wifi.rogue",
        title_zh="无仿冒学校 SSID 的开放/WEP 热点及未登记 AP",
        title_en="No open/WEP look-alikes of school SSIDs and no unregistered APs",
        severity=Severity.HIGH,
        rationale_zh="仿冒学校名称的开放热点和未登记的 AP（私接、钓鱼）可截获师生流量和凭据。",
        rationale_en="Open hotspots named like the school's and unregistered access points (rogue or "
        "evil-twin APs) can capture staff and student traffic and credentials.",
        remediation_zh="定位并移除仿冒热点或私接 AP；在清单 wifi.known_bssids 中登记学校自有 AP。",
        remediation_en="Locate and remove look-alike hotspots and rogue APs; list the school's own "
        "BSSIDs in the inventory's wifi.known_bssids.",
        requires=(PROBE,),
    )
    params_model: ClassVar[type[BaseModel]] = RogueParams

    def evaluate(self, ctx: CheckContext[RogueParams]) -> list[Finding]:
        p = ctx.params
        known = set(ctx.inventory.wifi.known_bssids) if ctx.inventory.wifi else set()

        def judge(_area: WifiArea, points: list[Point], ssids: list[str]) -> Verdict:
            rows = _unique([b for pt in points for b in pt.bss if not b.hidden])
            fakes = [b for b in rows if (b.is_open or b.is_wep)
                     and any(looks_like(b.ssid, s, p.similarity) for s in ssids)]
            unknown = ([b for b in rows if b.ssid in ssids and b.bssid not in known and b not in fakes]
                       if known else [])
            problems = [f"{'open' if b.is_open else 'WEP'} look-alike {b.ssid!r} {b.bssid} {_sig(b)}"
                        for b in fakes]
            problems += [f"unregistered BSSID {b.bssid} broadcasting {b.ssid!r} {_sig(b)}" for b in unknown]
            lines = tuple(b.describe() for b in [*fakes, *unknown])
            note = ("" if known else "; BSSIDs not compared: the inventory's wifi.known_bssids is empty")
            count = float(len(problems))
            if problems:
                return Verdict(Status.FAIL, "; ".join(problems) + note, count, 0.0, "rogue BSS", lines)
            school = sum(1 for b in rows if b.ssid in ssids)
            checked = f"{school} school-SSID BSS all registered" if known else f"{school} school-SSID BSS"
            return Verdict(Status.PASS, f"no open/WEP look-alike among {len(rows)} networks; {checked}"
                           f"{note}", count, 0.0, "rogue BSS")

        return per_area(self.meta, ctx, p.ssids, judge)

