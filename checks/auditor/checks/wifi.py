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
from auditor.messages import Msg, choice, define, joined, msg
from auditor.model import Fact, Finding, Severity, Status
from auditor.plugins import CheckContext, CheckMeta

KIND = FactKind.WIFI_SURVEY
PROBE = "wifi.surveys"

define({
    "wifi.no_section": ("清单中没有列出学校 SSID 的 'wifi' 部分",
                        "the inventory has no 'wifi' section naming the school SSIDs"),
    "wifi.no_areas": ("清单中没有列出需要判断的 wifi_areas", "the inventory lists no wifi_areas to judge"),
    "wifi.no_current": ("{area}：没有当前的勘测记录（没有当前证据）",
                        "{area}: no current survey (no current evidence)"),
    "wifi.class.teaching": ("教学区", "teaching"),
    "wifi.class.office": ("办公区", "office"),
    "wifi.class.activity": ("活动区", "activity"),
    "wifi.finding": ("{area}（{area_class}）：{text}", "{area} ({area_class}): {text}"),
    "wifi.survey": ("勘测", "survey"),
    "wifi.survey_n": ("勘测 {n}", "survey {n}"),
    "wifi.no_school_ssid": ("{point}：未收到学校 SSID", "{point}: no school SSID heard"),
    "wifi.no_dbm": ("{point}：扫描工具未给出 dBm 数值", "{point}: the scanner gave no dBm values"),
    "wifi.point_ok": ("{point}：{signal} ≥ {limit:g} dBm（{ssid} {bssid} {band}）",
                      "{point}: {signal} ≥ {limit:g} dBm ({ssid} {bssid} {band})"),
    "wifi.point_low": ("{point}：{signal} < {limit:g} dBm（{ssid} {bssid} {band}）",
                       "{point}: {signal} < {limit:g} dBm ({ssid} {bssid} {band})"),
    "wifi.below": ("{points} 低于 {limit:g} dBm", "below {limit:g} dBm at {points}"),
    "wifi.no_dbm_at": ("{points} 未以 dBm 测得信号", "signal not measured in dBm at {points}"),
    "wifi.all_ok": ("所有点位均不低于 {limit:g} dBm", "every point at or above {limit:g} dBm"),
    "wifi.signal": ("{head}——{text}", "{head} — {text}"),
    "wifi.signal_approx": ("{head}——{text}（带 ~ 的数值由 nmcli 的百分比换算，为近似值）",
                           "{head} — {text} (~: converted from nmcli's percentage, approximate)"),
    "wifi.band_ok": ("学校 SSID 提供 5 GHz（{count} 个 BSS；最强为 {point} 处的 {ssid} {bssid} {signal}）",
                     "school SSID on 5 GHz ({count} BSS; strongest {ssid} {bssid} {signal} at {point})"),
    "wifi.seen_only": ("只在 {bands} 上出现", "seen only on {bands}"),
    "wifi.not_seen": ("完全未出现", "not seen at all"),
    "wifi.no_5ghz": ("学校 SSID 未提供 5 GHz（{ssids} {seen}）", "no school SSID on 5 GHz ({ssids} {seen})"),
    "wifi.not_heard": ("未收到学校 SSID（{ssids}），无法查看其安全设置",
                       "no school SSID ({ssids}) was heard, so its security could not be seen"),
    "wifi.weak_item": ("{ssid} {bssid}：{security}", "{ssid} {bssid}: {security}"),
    "wifi.weak": ("未使用 WPA2/WPA3：{items}", "not WPA2/WPA3: {items}"),
    "wifi.secure": ("{count} 个 BSS，均为 WPA2/WPA3：{used}", "{count} BSS, all WPA2/WPA3: {used}"),
    "wifi.secure_wpa1": ("{count} 个 BSS，均为 WPA2/WPA3：{used}；{bssids} 仍提供 WPA1（TKIP）",
                         "{count} BSS, all WPA2/WPA3: {used}; WPA1 (TKIP) still offered by {bssids}"),
    "wifi.kind.open": ("开放", "open"),
    "wifi.kind.wep": ("WEP", "WEP"),
    "wifi.lookalike": ("仿冒学校名称的{kind}热点 {ssid} {bssid} {signal}",
                       "{kind} look-alike {ssid} {bssid} {signal}"),
    "wifi.unregistered": ("未登记的 BSSID {bssid} 广播 {ssid} {signal}",
                          "unregistered BSSID {bssid} broadcasting {ssid} {signal}"),
    "wifi.rogue_unchecked": ("{problems}；未比对 BSSID：清单中的 wifi.known_bssids 为空",
                             "{problems}; BSSIDs not compared: the inventory's wifi.known_bssids is empty"),
    "wifi.registered": ("{count} 个学校 SSID 的 BSS 均已登记", "{count} school-SSID BSS all registered"),
    "wifi.school_bss": ("{count} 个学校 SSID 的 BSS", "{count} school-SSID BSS"),
    "wifi.no_rogue": ("{count} 个网络中没有仿冒的开放/WEP 热点；{checked}",
                      "no open/WEP look-alike among {count} networks; {checked}"),
    "wifi.no_rogue_unchecked": ("{count} 个网络中没有仿冒的开放/WEP 热点；{checked}；未比对 BSSID：清单中的 "
                                "wifi.known_bssids 为空",
                                "no open/WEP look-alike among {count} networks; {checked}; BSSIDs not "
                                "compared: the inventory's wifi.known_bssids is empty"),
})


@dataclass(frozen=True)
class Point:
    """One survey point's newest scan."""

    label: Msg | str  # the point's name, or "survey N"
    taken_at: str
    bss: list[Bss]


@dataclass(frozen=True)
class Verdict:
    status: Status
    message: Msg
    measured: float | None = None
    threshold: float | None = None
    unit: str | None = None
    lines: tuple[str, ...] = ()


Judge = Callable[[WifiArea, list[Point], list[str]], Verdict]


def _points(fact: Fact) -> list[Point]:
    surveys = read_fact(fact, WifiSurvey).surveys
    points = []
    for n, survey in enumerate(surveys, 1):
        label = survey.point or (msg("wifi.survey_n", n=n) if len(surveys) > 1 else msg("wifi.survey"))
        points.append(Point(label, survey.taken_at, [b.bss() for b in survey.bss]))
    return points


def per_area(meta: CheckMeta, ctx: CheckContext[Any], ssids_param: list[str], judge: Judge) -> list[Finding]:
    """One finding per Wi-Fi area: missing evidence is error, else what ``judge`` says."""
    wifi = ctx.inventory.wifi
    if wifi is None:
        return [Finding(meta.id, "wifi", Status.ERROR, meta.severity, msg("wifi.no_section"))]
    if not ctx.inventory.wifi_areas:
        return [Finding(meta.id, "wifi", Status.ERROR, meta.severity, msg("wifi.no_areas"))]
    ssids = ssids_param or list(wifi.ssids)

    def finding(area: WifiArea, target: str, fact: Fact) -> Finding:
        points = _points(fact)
        if not points:
            return Finding(meta.id, target, Status.ERROR, meta.severity,
                           msg("wifi.no_current", area=area.name), facts=(fact.id,), artifacts=fact.artifacts)
        v = judge(area, points, ssids)
        return Finding(
            meta.id, target, v.status, meta.severity,
            msg("wifi.finding", area=area.name, area_class=choice("wifi.class", area.area_class),
                text=v.message),
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
        effort="purchase",
        owner="vendor",
    )
    params_model: ClassVar[type[BaseModel]] = SignalParams

    def evaluate(self, ctx: CheckContext[SignalParams]) -> list[Finding]:
        p = ctx.params

        def judge(area: WifiArea, points: list[Point], ssids: list[str]) -> Verdict:
            limit = {"teaching": p.teaching_dbm, "office": p.office_dbm,
                     "activity": p.activity_dbm}[area.area_class]
            failed: list[Msg | str] = []
            unknown: list[Msg | str] = []
            parts: list[Msg] = []
            lines: list[str] = []
            worst: float | None = None
            for point in points:
                school = [b for b in point.bss if b.ssid in ssids]
                with_dbm = [b for b in school if b.signal_dbm is not None]
                if not school:
                    failed.append(point.label)
                    parts.append(msg("wifi.no_school_ssid", point=point.label))
                    worst = -100.0 if worst is None else min(worst, -100.0)
                    continue
                if not with_dbm:
                    unknown.append(point.label)
                    parts.append(msg("wifi.no_dbm", point=point.label))
                    continue
                best = max(with_dbm, key=lambda b: b.signal_dbm or -999)
                assert best.signal_dbm is not None
                worst = best.signal_dbm if worst is None else min(worst, best.signal_dbm)
                ok = best.signal_dbm >= limit
                if not ok:
                    failed.append(point.label)
                parts.append(msg("wifi.point_ok" if ok else "wifi.point_low", point=point.label,
                                 signal=_sig(best), limit=limit, ssid=best.ssid, bssid=best.bssid,
                                 band=best.band))
                lines.append(f"{point.label}: {best.describe()}")
            approx = any(b.signal_approx for pt in points for b in pt.bss if b.ssid in ssids)
            if failed:
                status, head = Status.FAIL, msg("wifi.below", limit=limit, points=failed)
            elif unknown:
                status, head = Status.ERROR, msg("wifi.no_dbm_at", points=unknown)
            else:
                status, head = Status.PASS, msg("wifi.all_ok", limit=limit)
            text = msg("wifi.signal_approx" if approx else "wifi.signal", head=head, text=joined(parts))
            return Verdict(status, text, worst, limit, "dBm", tuple(lines))

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
        effort="config",
        owner="network_admin",
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
                return Verdict(Status.PASS, msg("wifi.band_ok", count=len(five), ssid=best.ssid,
                                                bssid=best.bssid, signal=_sig(best), point=label),
                               float(len(five)), 1.0, "5 GHz BSS",
                               tuple(f"{lbl}: {b.describe()}" for lbl, b in five))
            seen = msg("wifi.seen_only", bands=bands) if bands else msg("wifi.not_seen")
            return Verdict(Status.FAIL, msg("wifi.no_5ghz", ssids=ssids, seen=seen),
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
        effort="config",
        owner="network_admin",
    )
    params_model: ClassVar[type[BaseModel]] = SsidParams

    def evaluate(self, ctx: CheckContext[SsidParams]) -> list[Finding]:
        p = ctx.params

        def judge(_area: WifiArea, points: list[Point], ssids: list[str]) -> Verdict:
            school = _unique([b for pt in points for b in pt.bss if b.ssid in ssids])
            if not school:
                return Verdict(Status.ERROR, msg("wifi.not_heard", ssids=ssids), 0.0, 0.0, "weak BSS")
            weak = [b for b in school if not {"WPA2", "WPA3"} & set(b.protocols)]
            mixed = [b for b in school if b not in weak and "WPA1" in b.protocols]
            lines = tuple(b.describe() for b in school)
            if weak:
                items = joined(msg("wifi.weak_item", ssid=b.ssid, bssid=b.bssid, security=b.security)
                               for b in weak)
                return Verdict(Status.FAIL, msg("wifi.weak", items=items), float(len(weak)), 0.0,
                               "weak BSS", lines)
            used = sorted({b.security + (f" ({' '.join(b.akm)})" if b.akm else "") for b in school})
            text = (msg("wifi.secure_wpa1", count=len(school), used=used, bssids=[b.bssid for b in mixed])
                    if mixed else msg("wifi.secure", count=len(school), used=used))
            return Verdict(Status.PASS, text, 0.0, 0.0, "weak BSS", lines)

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
        effort="config",
        owner="network_admin",
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
            problems = [msg("wifi.lookalike", kind=msg("wifi.kind.open" if b.is_open else "wifi.kind.wep"),
                            ssid=repr(b.ssid), bssid=b.bssid, signal=_sig(b)) for b in fakes]
            problems += [msg("wifi.unregistered", bssid=b.bssid, ssid=repr(b.ssid), signal=_sig(b))
                         for b in unknown]
            lines = tuple(b.describe() for b in [*fakes, *unknown])
            count = float(len(problems))
            if problems:
                text = (joined(problems) if known
                        else msg("wifi.rogue_unchecked", problems=joined(problems)))
                return Verdict(Status.FAIL, text, count, 0.0, "rogue BSS", lines)
            school = sum(1 for b in rows if b.ssid in ssids)
            checked = msg("wifi.registered" if known else "wifi.school_bss", count=school)
            return Verdict(Status.PASS, msg("wifi.no_rogue" if known else "wifi.no_rogue_unchecked",
                                            count=len(rows), checked=checked), count, 0.0, "rogue BSS")

        return per_area(self.meta, ctx, p.ssids, judge)

