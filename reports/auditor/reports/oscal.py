"""``assessment-results.json``: the report as NIST OSCAL 1.1.3 assessment results (JSON).

For OSCAL tools (trestle, a GRC platform, an assessor's own scripts) the signed ``report.json``
stays the record; this document maps it onto the OSCAL assessment-results model:

* **Document.** One ``assessment-results`` with ``metadata`` (title naming the school,
  ``last-modified`` = the run's ``finished_at``, ``version`` = the run id, parties: the school as
  an organisation and every attester as a person, props: run id, report schema, signing algorithm
  and key fingerprint). The agent is software, which OSCAL parties (person, organisation) cannot
  be: it is the result's ``tool`` component (in ``assessment-assets``, version and signing key
  in its props) on an ``assessment-platform`` (the agent host); observations name it as their
  origin actor.
* **import-ap.** There is no OSCAL assessment plan: what was to be assessed is the site
  inventory, the profiles and the plan inside ``report.json``. ``import-ap.href`` therefore
  points at the back-matter resource of the inventory file (its bundle path and SHA-256), and
  its ``remarks`` say so.
* **Result.** One per run: ``start``/``end`` from the run; ``reviewed-controls`` has one
  ``control-selection`` per profile listing every evaluated item.
* **Control ids.** OSCAL control ids are tokens (no ``:``), so an item is named
  ``{profile}_{item}``, e.g. ``gbt22239-2019-level3_8.1.4.1.a`` or
  ``beijing-smart-campus-2023_smart-env.facilities.1``. Profile ids cannot contain ``_``, so the
  first ``_`` separates the two. Characters of the item id that a token does not allow
  (anything but ASCII letters, digits, ``.``, ``-``, ``_``) become ``-``; a profile id starting
  with a digit gets a leading ``_``. The original ids, the item's number, title and place in the
  standard are kept in props and titles.
* **Observations.** One per finding (method ``TEST`` for what a probe measured on the network,
  ``EXAMINE`` for configuration, records and listings read, both where a check combines them;
  see ``PROBE_METHODS``), its description with message, measured value, threshold and the
  configuration lines relied on; ``types`` add ``finding`` to ``control-objective`` for a
  failure (waived or not), whose remarks carry the check's remediation; ``subjects`` name the
  finding's target (an ``inventory-item`` of the result); ``collected`` = the run's end. One
  per attestation (``INTERVIEW`` and ``EXAMINE``, the attester as origin party, ``collected`` =
  when it was attested, its expiry a prop: the report gives a date without a time zone).
* **Evidence and hashes.** OSCAL carries digests only on back-matter resource links
  (``rlinks[].hashes``), not on ``relevant-evidence``. So every bundle artifact is a back-matter
  resource whose ``rlink`` points at the file (``bundle_href`` + path) with hashes ``SHA-256``
  and, when the report has it, ``SM3`` (the schema allows other algorithm names). Each
  ``relevant-evidence`` entry points at the file itself and links (``rel: reference``,
  ``#uuid``) to that resource. ``report.json`` and its DSSE envelope are a resource without
  hashes: they are written after the renderings; their signature is what anchors everything.
* **Findings.** One per indicator (profile item). ``target`` is ``objective-id`` = the control
  id (each item is one testable requirement: its own objective). OSCAL states are only
  ``satisfied`` / ``not-satisfied``: pass → satisfied (reason ``pass``); fail → not-satisfied
  (``fail``); waived, error, skipped, manual → not-satisfied (reason ``other``) with a remark
  (waived, not determined, needs attestation); not_applicable → satisfied with
  ``implementation-status`` ``not-applicable``. The original status and verdict are props.
  ``related-observations`` are the observations of the findings that decided the item
  (``indicator.findings``; for older reports, every finding of the item's checks) and of its
  attestations that count.
* **Conventions.** Every prop is in namespace ``NS``. Every UUID is a version-5 UUID of the run
  id and a stable key (``observation:F0001``, ``finding:PROFILE:ITEM``, ``artifact:PATH`` ...),
  so rendering the same report again gives the same bytes; the document's own UUID also keys on
  the language and ``bundle_href`` (another rendering is another document). Output: UTF-8 JSON, two-space
  indent, Chinese kept as is, keys in the model's documented order.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import quote

from auditor.model import ENVELOPE_NAME, REPORT_NAME, JsonDict
from auditor.signing import PUBLIC_NAME

OSCAL_VERSION = "1.1.3"
NS = "https://campus-auditor.example/ns/oscal"

# How each probe gathers what it gives a check: TEST acts on the network and judges the answer,
# EXAMINE reads configuration, state, records or listings. Unknown probes are UNKNOWN.
PROBE_METHODS: Mapping[str, tuple[str, ...]] = {
    "iperf3.bandwidth": ("TEST",),
    "nmap.services": ("TEST",),
    "firewall.outside_view": ("TEST",),
    "firewall.outbound": ("TEST",),
    "discovery.arp_sweep": ("TEST",),
    "discovery.dhcp": ("TEST",),
    "snmp.default_community": ("TEST",),
    "ssh.device_config": ("EXAMINE",),
    "snmp.device_info": ("EXAMINE",),
    "snmp.port_speed": ("EXAMINE",),
    "firewall.ruleset": ("EXAMINE",),
    "backup.files": ("EXAMINE",),
    "wifi.surveys": ("EXAMINE",),
}
# Checks that also judge the probe's own TCP connects besides the configuration it read.
CHECK_METHODS: Mapping[str, tuple[str, ...]] = {
    "device.telnet_disabled": ("EXAMINE", "TEST"),
    "device.http_mgmt_secure": ("EXAMINE", "TEST"),
}
_METHOD_ORDER = ("EXAMINE", "INTERVIEW", "TEST", "UNKNOWN")

# status -> (OSCAL objective state, OSCAL reason, verdict)
_STATES: Mapping[str, tuple[str, str, str]] = {
    "pass": ("satisfied", "pass", "satisfied"),
    "fail": ("not-satisfied", "fail", "not satisfied"),
    "waived": ("not-satisfied", "other", "waived"),
    "error": ("not-satisfied", "other", "not determined"),
    "skipped": ("not-satisfied", "other", "not determined"),
    "manual": ("not-satisfied", "other", "needs attestation"),
    "not_applicable": ("satisfied", "other", "not applicable"),
}

_TEXT: Mapping[str, Mapping[str, str]] = {
    "zh": {
        "title": "{school}：校园网络审计结果（北京市智慧校园达标认定 / GB/T 22239-2019）",
        "result": "campus-auditor 审计 {start} – {end}",
        "result_desc": "{school}（{code}，{district}）的网络审计：campus-auditor {version} 于主机 {host} "
                       "测量。发现 {findings} 条，评价项 {items} 个。原始记录为签名的 report.json。",
        "import_ap": "没有 OSCAL 评估计划。本次评估的计划由站点清单（此链接，含 SHA-256）、所选标准配置"
                     "（见 reviewed-controls）及 report.json 中的 plan 部分构成。",
        "selection": "{title}（{id} {version}）：本次评价的全部条目",
        "none": "本次没有评价任何条目",
        "tool": "审计代理：计划、探测、检查并签名报告",
        "platform": "审计代理主机",
        "check": "检查", "target": "对象", "status": "结果", "original": "豁免前结果",
        "measured": "测量值", "threshold": "阈值", "severity": "严重性", "lines": "依据的配置行",
        "no_evidence": "没有证据文件（见消息）", "remediation": "整改建议", "waiver": "豁免",
        "checks": "检查", "manual": "需证明的部分", "attested": "证明人",
        "att_title": "{by}（{role}）对 {target} 的证明",
        "att_desc": "{by}（{role}）于 {at} 证明 {target}。{note}", "expires": "有效期至 {date}",
        "expired": "已过期：不计入", "not_applies": "不对应本次评价的条目",
        "record": "证明记录",
        "signed": "本文件据以生成的签名报告：{report}（RFC 8785 规范 JSON）及其 DSSE 签名信封 {envelope}；"
                  "代理公钥为包内的 {pubkey}，指纹见属性。用 `auditor verify` 离线验证。",
        "inventory": "站点清单",
        "prepared_for": "被评估方", "attester": "证明人",
        "verdict.satisfied": "符合", "verdict.not satisfied": "不符合",
        "verdict.not determined": "无法判定（未能测量或未执行）",
        "verdict.needs attestation": "需要证明材料",
        "verdict.waived": "已豁免（豁免不等于符合）", "verdict.not applicable": "不适用",
    },
    "en": {
        "title": "{school}: campus network audit results (Beijing smart-campus criteria / GB/T 22239-2019)",
        "result": "campus-auditor audit {start} – {end}",
        "result_desc": "Network audit of {school} ({code}, {district}) measured by campus-auditor "
                       "{version} on host {host}. {findings} findings, {items} items evaluated. "
                       "The record is the signed report.json.",
        "import_ap": "There is no OSCAL assessment plan. What this assessment planned is the site "
                     "inventory (this link, with its SHA-256), the profiles selected (see "
                     "reviewed-controls) and the plan section of report.json.",
        "selection": "{title} ({id} {version}): every item evaluated",
        "none": "no item was evaluated",
        "tool": "audit agent: plans, probes, checks and signs the report",
        "platform": "audit agent host",
        "check": "Check", "target": "Target", "status": "Status", "original": "status before waiver",
        "measured": "Measured", "threshold": "Threshold", "severity": "Severity",
        "lines": "Configuration lines relied on", "no_evidence": "no evidence file (see the message)",
        "remediation": "Remediation", "waiver": "Waiver",
        "checks": "Checks", "manual": "Parts needing an attestation", "attested": "Attested by",
        "att_title": "Attestation of {target} by {by} ({role})",
        "att_desc": "{by} ({role}) attested {target} at {at}. {note}", "expires": "valid until {date}",
        "expired": "expired: not counted", "not_applies": "matches no item evaluated in this run",
        "record": "attestation record",
        "signed": "The signed report this document was rendered from: {report} (RFC 8785 "
                  "canonical JSON) and its DSSE envelope {envelope}; the agent's public key is "
                  "{pubkey} in the bundle, its fingerprint in the props. Verify offline with "
                  "`auditor verify`.",
        "inventory": "site inventory",
        "prepared_for": "Prepared For", "attester": "Attester",
        "verdict.satisfied": "satisfied", "verdict.not satisfied": "not satisfied",
        "verdict.not determined": "not determined (could not measure, or not attempted)",
        "verdict.needs attestation": "needs attestation",
        "verdict.waived": "waived (a waiver never makes a pass)",
        "verdict.not applicable": "not applicable",
    },
}


class OscalRenderer:
    """``assessment-results.json``: OSCAL 1.1.3 assessment results for OSCAL tools."""

    name: ClassVar[str] = "oscal"
    filename: ClassVar[str] = "assessment-results.json"
    media_type: ClassVar[str] = "application/oscal+json"

    def render(self, report: JsonDict, options: object) -> bytes:
        """``options``: anything with ``lang`` and ``bundle_href`` (``RenderOptions``)."""
        ctx = _Ctx.make(report, str(getattr(options, "lang", "zh") or "zh"),
                        str(getattr(options, "bundle_href", "") or ""))
        doc = {"assessment-results": _document(ctx)}
        untrusted = str(getattr(options, "untrusted_signer", "") or "")
        if untrusted:  # said where an OSCAL tool shows the document's own notes
            doc["assessment-results"]["metadata"]["remarks"] = (
                f"Signer not trusted: the bundle is intact, but it is signed by {untrusted}, which the "
                "verifier that rendered this document does not trust.")
        return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def control_id(profile: str, item: str) -> str:
    """The OSCAL control id of a profile item (see the module docstring)."""
    head = profile if profile[:1].isascii() and profile[:1].isalpha() else "_" + profile
    return _token_chars(head) + "_" + _token_chars(item)


def _token_chars(text: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "-" for c in text)


def _token(text: str) -> str:
    out = _token_chars(text)
    return out if out[:1].isalpha() or out[:1] == "_" else "_" + out


def _line(text: object) -> str:
    """A single-line text (markup-line, prop value): whitespace runs collapsed."""
    return " ".join(str(text).split())


def _compact(obj: JsonDict) -> JsonDict:
    """Drop absent members: OSCAL forbids null, empty arrays and empty strings."""
    return {k: v for k, v in obj.items() if v is not None and v not in ([], "")}


def _prop(name: str, value: object, cls: str | None = None) -> JsonDict | None:
    if isinstance(value, bool):
        value = "true" if value else "false"
    text = _line(value) if value is not None else ""
    if not text:
        return None
    return _compact({"name": name, "ns": NS, "value": text, "class": _token(cls) if cls else None})


def _props(*props: JsonDict | None) -> list[JsonDict]:
    return [p for p in props if p is not None]


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass
class _Ctx:
    """What every part of the document needs: the report, the language and the id scheme."""

    report: JsonDict
    lang: str
    href: str
    run_ns: uuid.UUID
    artifacts: dict[str, JsonDict]
    control_ids: dict[tuple[str, str], str]
    finding_keys: list[str]
    checks: dict[str, JsonDict] = field(default_factory=dict)

    @classmethod
    def make(cls, report: JsonDict, lang: str, href: str) -> _Ctx:
        run_id = str(report["run"]["id"])
        try:
            run_ns = uuid.UUID(run_id)
        except ValueError:
            run_ns = uuid.uuid5(uuid.NAMESPACE_URL, f"{NS}/run/{run_id}")
        return cls(
            report=report, lang=lang if lang in _TEXT else "zh", href=href, run_ns=run_ns,
            artifacts={a["path"]: a for a in report.get("artifacts", [])},
            control_ids=_control_ids(report.get("indicators", [])),
            finding_keys=[str(f.get("id") or f"index-{i}")
                          for i, f in enumerate(report.get("findings", []))],
            checks={c["id"]: c for c in report.get("checks", [])},
        )

    def uid(self, key: str) -> str:
        return str(uuid.uuid5(self.run_ns, key))

    def t(self, key: str, **kw: object) -> str:
        return _TEXT[self.lang][key].format(**kw)

    @property
    def colon(self) -> str:
        return "：" if self.lang == "zh" else ": "

    def kv(self, key: str, value: object) -> str:
        """``label: value`` with the language's colon."""
        return self.t(key) + self.colon + str(value)

    def file_href(self, path: str) -> str:
        return self.href + quote(path, safe="/")

    @property
    def finished(self) -> str:
        return str(self.report["run"]["finished_at"])

    @property
    def tool_uuid(self) -> str:
        return self.uid("component:campus-auditor")

    @property
    def school_uuid(self) -> str:
        return self.uid("party:school")


def _control_ids(indicators: Iterable[JsonDict]) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    used: set[str] = set()
    for ind in indicators:
        key = (str(ind["profile"]), str(ind["indicator"]))
        cid, n = control_id(*key), 2
        while cid in used:  # two item ids that differ only in characters a token cannot hold
            cid, n = f"{control_id(*key)}-{n}", n + 1
        used.add(cid)
        out[key] = cid
    return out


# --- document, metadata, back-matter -------------------------------------------------------

def _document(ctx: _Ctx) -> JsonDict:
    key = f"assessment-results:{ctx.lang}:{ctx.href}"
    return {
        "uuid": ctx.uid(key),
        "metadata": _metadata(ctx),
        "import-ap": _import_ap(ctx),
        "results": [_result(ctx)],
        "back-matter": {"resources": _resources(ctx)},
    }


def _school(ctx: _Ctx) -> JsonDict:
    return dict(ctx.report.get("site", {}).get("school", {}))


def _metadata(ctx: _Ctx) -> JsonDict:
    run, signing = ctx.report["run"], ctx.report.get("signing", {})
    attesters = _attester_uuids(ctx)
    return _compact({
        "title": _line(ctx.t("title", school=_school(ctx).get("name", "?"))),
        "last-modified": ctx.finished,
        "version": str(run["id"]),
        "oscal-version": OSCAL_VERSION,
        "props": _props(
            _prop("run-id", run["id"]),
            _prop("report-schema", f"{ctx.report.get('schema', '')} {ctx.report.get('schema_version', '')}"),
            _prop("signing-algorithm", signing.get("algorithm")),
            _prop("signing-key-fingerprint", signing.get("key_fingerprint")),
            _prop("language", ctx.lang),
        ),
        "roles": [{"id": "prepared-for", "title": ctx.t("prepared_for")},
                  {"id": "attester", "title": ctx.t("attester")}],
        "parties": [_school_party(ctx), *_attester_parties(ctx)],
        "responsible-parties": [
            {"role-id": "prepared-for", "party-uuids": [ctx.school_uuid]},
            *([{"role-id": "attester", "party-uuids": sorted(set(attesters.values()))}]
              if attesters else []),
        ],
    })


def _school_party(ctx: _Ctx) -> JsonDict:
    school = _school(ctx)
    return _compact({
        "uuid": ctx.school_uuid,
        "type": "organization",
        "name": _line(school.get("name", "?")),
        "short-name": _line(school.get("code") or ""),
        "props": _props(_prop("school-code", school.get("code")),
                        _prop("district", school.get("district"))),
    })


def _attester_uuids(ctx: _Ctx) -> dict[str, str]:
    return {str(a["by"]): ctx.uid(f"party:attester:{a['by']}")
            for a in ctx.report.get("attestations", [])}


def _attester_parties(ctx: _Ctx) -> list[JsonDict]:
    roles: dict[str, list[str]] = {}
    for att in ctx.report.get("attestations", []):
        roles.setdefault(str(att["by"]), [])
        if att.get("role") not in roles[str(att["by"])]:
            roles[str(att["by"])].append(str(att.get("role")))
    uuids = _attester_uuids(ctx)
    return [_compact({"uuid": uuids[by], "type": "person", "name": _line(by),
                      "props": _props(*(_prop("role", r) for r in rs)),
                      "member-of-organizations": [ctx.school_uuid]})
            for by, rs in roles.items()]


def _inventory_resource_uuid(ctx: _Ctx) -> str:
    digest = ctx.report.get("site", {}).get("inventory_sha256")
    for path, art in ctx.artifacts.items():
        if digest and art.get("sha256") == digest:
            return ctx.uid(f"artifact:{path}")
    return ctx.uid("resource:inventory")


def _import_ap(ctx: _Ctx) -> JsonDict:
    return {"href": "#" + _inventory_resource_uuid(ctx), "remarks": ctx.t("import_ap")}


def _hashes(art: JsonDict) -> list[JsonDict]:
    out = [{"algorithm": "SHA-256", "value": str(art["sha256"])}] if art.get("sha256") else []
    if art.get("sm3"):
        out.append({"algorithm": "SM3", "value": str(art["sm3"])})
    return out


def _artifact_resource(ctx: _Ctx, art: JsonDict) -> JsonDict:
    path = str(art["path"])
    return _compact({
        "uuid": ctx.uid(f"artifact:{path}"),
        "title": _line(path),
        "description": str(art.get("description") or path),
        "props": _props(_prop("bundle-path", path), _prop("size", art.get("size"))),
        "rlinks": [_compact({"href": ctx.file_href(path), "media-type": art.get("media_type"),
                             "hashes": _hashes(art)})],
    })


def _signed_report_resource(ctx: _Ctx) -> JsonDict:
    signing = ctx.report.get("signing", {})
    return _compact({
        "uuid": ctx.uid("resource:signed-report"),
        "title": REPORT_NAME,
        "description": ctx.t("signed", report=REPORT_NAME, envelope=ENVELOPE_NAME, pubkey=PUBLIC_NAME),
        "props": _props(_prop("signing-key-fingerprint", signing.get("key_fingerprint"))),
        "rlinks": [{"href": ctx.file_href(REPORT_NAME), "media-type": "application/json"},
                   {"href": ctx.file_href(ENVELOPE_NAME), "media-type": "application/json"}],
    })


def _inventory_resource(ctx: _Ctx) -> list[JsonDict]:
    """A resource for the inventory when the bundle holds no copy of it (older bundles)."""
    site = ctx.report.get("site", {})
    if _inventory_resource_uuid(ctx) != ctx.uid("resource:inventory"):
        return []
    return [_compact({
        "uuid": ctx.uid("resource:inventory"),
        "title": _line(f"{ctx.t('inventory')} {site.get('inventory_file', '')}"),
        "props": _props(_prop("inventory-sha256", site.get("inventory_sha256"))),
    })]


def _resources(ctx: _Ctx) -> list[JsonDict]:
    return [*(_artifact_resource(ctx, a) for a in ctx.artifacts.values()),
            *_inventory_resource(ctx), _signed_report_resource(ctx)]


# --- the result ----------------------------------------------------------------------------

def _result(ctx: _Ctx) -> JsonDict:
    run = ctx.report["run"]
    return _compact({
        "uuid": ctx.uid("result"),
        "title": _line(ctx.t("result", start=run["started_at"], end=run["finished_at"])),
        "description": _result_description(ctx),
        "start": str(run["started_at"]),
        "end": ctx.finished,
        "props": _result_props(ctx),
        "local-definitions": _local_definitions(ctx),
        "reviewed-controls": _reviewed_controls(ctx),
        "observations": [*_finding_observations(ctx), *_attestation_observations(ctx)],
        "findings": [_finding(ctx, ind) for ind in ctx.report.get("indicators", [])],
        "remarks": "\n\n".join(str(w) for w in ctx.report.get("warnings", [])),
    })


def _result_description(ctx: _Ctx) -> str:
    school, agent = _school(ctx), ctx.report["run"].get("agent", {})
    return ctx.t("result_desc", school=school.get("name", "?"), code=school.get("code", "?"),
                 district=school.get("district", "?"), version=agent.get("version", "?"),
                 host=agent.get("hostname", "?"), findings=len(ctx.finding_keys),
                 items=len(ctx.report.get("indicators", [])))


def _result_props(ctx: _Ctx) -> list[JsonDict]:
    summary = ctx.report.get("summary", {})
    counts = [_prop(f"{kind[:-1]}-count", n, cls=status)
              for kind in ("findings", "indicators")
              for status, n in summary.get(kind, {}).items()]
    return _props(_prop("run-id", ctx.report["run"]["id"]),
                  _prop("exit-status", summary.get("exit_status")), *counts)


def _local_definitions(ctx: _Ctx) -> JsonDict:
    targets = sorted({str(f["target"]) for f in ctx.report.get("findings", [])})
    return _compact({
        "inventory-items": [{"uuid": ctx.uid(f"target:{t}"), "description": t,
                             "props": [_prop("target", t)]} for t in targets],
        "assessment-assets": {"components": [_tool_component(ctx)],
                              "assessment-platforms": [_platform(ctx)]},
    })


def _tool_component(ctx: _Ctx) -> JsonDict:
    run, signing = ctx.report["run"], ctx.report.get("signing", {})
    tools = [_prop("tool-version", v, cls=k) for k, v in run.get("tool_versions", {}).items()]
    return {
        "uuid": ctx.tool_uuid,
        "type": "software",
        "title": f"campus-auditor {run.get('agent', {}).get('version', '')}".strip(),
        "description": ctx.t("tool"),
        "props": _props(_prop("version", run.get("agent", {}).get("version")),
                        _prop("signing-algorithm", signing.get("algorithm")),
                        _prop("signing-key-fingerprint", signing.get("key_fingerprint")), *tools),
        "status": {"state": "operational"},
    }


def _platform(ctx: _Ctx) -> JsonDict:
    agent = ctx.report["run"].get("agent", {})
    return _compact({
        "uuid": ctx.uid("platform:agent"),
        "title": _line(f"{ctx.t('platform')} {agent.get('hostname', '')}"),
        "props": _props(_prop("hostname", agent.get("hostname")), _prop("platform", agent.get("platform")),
                        _prop("python", agent.get("python"))),
        "uses-components": [{"component-uuid": ctx.tool_uuid}],
    })


def _reviewed_controls(ctx: _Ctx) -> JsonDict:
    by_profile: dict[str, list[str]] = {}
    for (profile, _item), cid in ctx.control_ids.items():
        by_profile.setdefault(profile, []).append(cid)
    known = {str(p["id"]): p for p in ctx.report.get("profiles", [])}
    selections = [_selection(ctx, known.get(p, {"id": p}), cids) for p, cids in by_profile.items()]
    return {"control-selections": selections or [{"description": ctx.t("none")}]}


def _selection(ctx: _Ctx, profile: JsonDict, cids: Sequence[str]) -> JsonDict:
    return _compact({
        "description": ctx.t("selection", title=profile.get("title", profile["id"]), id=profile["id"],
                             version=profile.get("version", "")),
        "props": _props(_prop("profile", profile["id"]), _prop("profile-version", profile.get("version")),
                        _prop("profile-sha256", profile.get("sha256")),
                        _prop("profile-origin", profile.get("origin"))),
        "include-controls": [{"control-id": cid} for cid in cids],
    })


# --- observations --------------------------------------------------------------------------

def _finding_observations(ctx: _Ctx) -> list[JsonDict]:
    return [_finding_observation(ctx, key, f)
            for key, f in zip(ctx.finding_keys, ctx.report.get("findings", []), strict=True)]


def _methods(ctx: _Ctx, check: str) -> list[str]:
    if check in CHECK_METHODS:
        return list(CHECK_METHODS[check])
    probes = ctx.checks.get(check, {}).get("requires", [])
    found = {m for p in probes for m in PROBE_METHODS.get(p, ("UNKNOWN",))} or {"UNKNOWN"}
    return [m for m in _METHOD_ORDER if m in found]


def _check_title(ctx: _Ctx, check: str) -> str:
    title = ctx.checks.get(check, {}).get("title", {})
    return str(title.get(ctx.lang) or title.get("en") or check) if isinstance(title, dict) else check


def _failed(f: JsonDict) -> bool:
    """A failure, waived or not (a waived error or manual finding is no failure)."""
    return "fail" in {f["status"], f.get("original_status")}


def _finding_observation(ctx: _Ctx, key: str, f: JsonDict) -> JsonDict:
    return _compact({
        "uuid": ctx.uid(f"observation:{key}"),
        "title": _line(f"{_check_title(ctx, f['check'])} — {f['target']}"),
        "description": _finding_description(ctx, f),
        "props": _finding_props(key, f),
        "methods": _methods(ctx, str(f["check"])),
        "types": ["control-objective", *(["finding"] if _failed(f) else [])],
        "origins": [{"actors": [{"type": "tool", "actor-uuid": ctx.tool_uuid}]}],
        "subjects": [{"subject-uuid": ctx.uid(f"target:{f['target']}"), "type": "inventory-item"}],
        "relevant-evidence": _evidence(ctx, f.get("artifacts", [])),
        "collected": ctx.finished,
        "remarks": _finding_remarks(ctx, f),
    })


def _finding_props(key: str, f: JsonDict) -> list[JsonDict]:
    return _props(
        _prop("finding-id", f.get("id") or None),
        _prop("check", f["check"]), _prop("target", f["target"]), _prop("status", f["status"]),
        _prop("original-status", f.get("original_status")), _prop("severity", f.get("severity")),
        _prop("measured", None if f.get("measured") is None else _num(f["measured"])),
        _prop("threshold", None if f.get("threshold") is None else _num(f["threshold"])),
        _prop("unit", f.get("unit")),
        *(_prop("fact", fact) for fact in f.get("facts", [])),
    )


def _finding_description(ctx: _Ctx, f: JsonDict) -> str:
    unit = f" {f['unit']}" if f.get("unit") else ""
    original = f" ({ctx.kv('original', f['original_status'])})" if f.get("original_status") else ""
    rows = [ctx.kv("check", f"{_check_title(ctx, f['check'])} (`{f['check']}`)"),
            ctx.kv("target", f["target"]), ctx.kv("status", f"{f['status']}{original}"),
            ctx.kv("severity", f.get("severity", ""))]
    if f.get("measured") is not None:
        rows.append(ctx.kv("measured", f"{_num(f['measured'])}{unit}"))
    if f.get("threshold") is not None:
        rows.append(ctx.kv("threshold", f"{_num(f['threshold'])}{unit}"))
    if not f.get("artifacts"):
        rows.append(ctx.t("no_evidence"))
    text = str(f.get("message") or f["check"]) + "\n\n" + "\n".join(f"- {r}" for r in rows)
    if f.get("lines"):
        text += "\n\n" + ctx.kv("lines", "") + "\n\n```\n" + "\n".join(map(str, f["lines"])) + "\n```"
    return text


def _finding_remarks(ctx: _Ctx, f: JsonDict) -> str:
    parts = []
    waiver = f.get("waiver")
    if isinstance(waiver, dict):
        parts.append(ctx.kv("waiver", "; ".join(f"{k}: {v}" for k, v in waiver.items()
                                                if v is not None)))
    if _failed(f):
        remedy = ctx.checks.get(f["check"], {}).get("remediation", {})
        if isinstance(remedy, dict) and remedy.get(ctx.lang):
            parts.append(ctx.kv("remediation", remedy[ctx.lang]))
    return "\n\n".join(parts)


def _evidence(ctx: _Ctx, paths: Iterable[str]) -> list[JsonDict]:
    out = []
    for path in paths:
        art = ctx.artifacts.get(path, {"path": path})
        out.append({
            "href": ctx.file_href(path),
            "description": str(art.get("description") or path),
            "links": [{"href": "#" + ctx.uid(f"artifact:{path}"), "rel": "reference"}]
            if path in ctx.artifacts else None,
        })
    return [_compact(e) for e in out]


def _attestation_key(att: JsonDict) -> str:
    return f"attestation:{att.get('record') or att['target'] + '|' + att['by'] + '|' + att['at']}"


def _attestation_observations(ctx: _Ctx) -> list[JsonDict]:
    return [_attestation_observation(ctx, a) for a in ctx.report.get("attestations", [])]


def _attestation_observation(ctx: _Ctx, att: JsonDict) -> JsonDict:
    paths = [p for p in [att.get("record"), *(e.get("artifact") for e in att.get("evidence", []))] if p]
    notes = [ctx.t("expires", date=att["expires"]) if att.get("expires") else "",
             ctx.t("expired") if att.get("expired") else "",
             ctx.t("not_applies") if att.get("applies_to_this_run") is False else ""]
    return _compact({
        "uuid": ctx.uid(_attestation_key(att)),
        "title": _line(ctx.t("att_title", target=att["target"], by=att["by"], role=att.get("role", ""))),
        "description": ctx.t("att_desc", target=att["target"], by=att["by"], role=att.get("role", ""),
                             at=att["at"], note=att.get("note") or "").strip(),
        "props": _props(_prop("attestation-target", att["target"]), _prop("attester-role", att.get("role")),
                        _prop("expires", att.get("expires")), _prop("expired", att.get("expired")),
                        *(_prop("evidence-sha256", e.get("sha256")) for e in att.get("evidence", []))),
        "methods": ["EXAMINE", "INTERVIEW"],
        "types": ["control-objective"],
        "origins": [{"actors": [{"type": "party", "actor-uuid": _attester_uuids(ctx)[str(att["by"])],
                                 "role-id": "attester"}]}],
        "relevant-evidence": _evidence(ctx, paths),
        "collected": str(att["at"]),
        "remarks": "; ".join(n for n in notes if n),
    })


# --- findings ------------------------------------------------------------------------------

def _related(ctx: _Ctx, ind: JsonDict) -> list[JsonDict]:
    findings = ctx.report.get("findings", [])
    if isinstance(ind.get("findings"), list):
        wanted = set(map(str, ind["findings"]))
        keys = [k for k in ctx.finding_keys if k in wanted]
    else:  # reports before schema 1.1: every finding of the item's checks
        checks = set(ind.get("checks", []))
        keys = [k for k, f in zip(ctx.finding_keys, findings, strict=True) if f["check"] in checks]
    uuids = [ctx.uid(f"observation:{k}") for k in keys]
    uuids += [ctx.uid(_attestation_key(a)) for a in ctx.report.get("attestations", [])
              if _attestation_counts(a, ind)]
    return [{"observation-uuid": u} for u in uuids]


def _attestation_counts(att: JsonDict, ind: JsonDict) -> bool:
    targets = {ind["indicator"], f"{ind['profile']}:{ind['indicator']}"}
    return att.get("target") in targets and not att.get("expired")


def _finding(ctx: _Ctx, ind: JsonDict) -> JsonDict:
    status = str(ind["status"])
    verdict = str(ind.get("verdict") or _STATES.get(status, ("", "", status))[2])
    number = f"{ind['number']}. " if ind.get("number") else ""
    return _compact({
        "uuid": ctx.uid(f"finding:{ind['profile']}:{ind['indicator']}"),
        "title": _line(f"{number}{ind.get('title', ind['indicator'])}"),
        "description": _indicator_description(ctx, ind),
        "props": _props(_prop("profile", ind["profile"]), _prop("item", ind["indicator"]),
                        _prop("item-number", ind.get("number")), _prop("status", status),
                        _prop("verdict", verdict),
                        *(_prop("check", c) for c in ind.get("checks", []))),
        "target": _target(ctx, ind, status, verdict),
        "related-observations": _related(ctx, ind),
    })


def _indicator_description(ctx: _Ctx, ind: JsonDict) -> str:
    path = " › ".join([*map(str, ind.get("path", [])), str(ind.get("title", ind["indicator"]))])
    rows = [path, str(ind.get("reason") or "")]
    if ind.get("checks"):
        rows.append(ctx.kv("checks", ", ".join(f"`{c}`" for c in ind["checks"])))
    if ind.get("manual"):
        rows.append(ctx.kv("manual", "; ".join(map(str, ind["manual"]))))
    if ind.get("attested_by"):
        rows.append(ctx.kv("attested", "; ".join(map(str, ind["attested_by"]))))
    return "\n\n".join(r for r in rows if r)


def _target(ctx: _Ctx, ind: JsonDict, status: str, verdict: str) -> JsonDict:
    state, reason, _v = _STATES.get(status, ("not-satisfied", "other", verdict))
    label = _TEXT[ctx.lang].get(f"verdict.{verdict}", verdict)
    why = str(ind.get("reason") or "")
    remarks = None if status == "pass" else (f"{label}{ctx.colon}{why}" if why else label)
    return _compact({
        "type": "objective-id",
        "target-id": ctx.control_ids[(str(ind["profile"]), str(ind["indicator"]))],
        "title": _line(ind.get("title", ind["indicator"])),
        "props": _props(_prop("profile", ind["profile"]), _prop("item", ind["indicator"]),
                        _prop("item-number", ind.get("number")),
                        _prop("item-path", " / ".join(map(str, ind.get("path", []))))),
        "status": _compact({"state": state, "reason": reason, "remarks": remarks}),
        "implementation-status": {"state": "not-applicable"} if status == "not_applicable" else None,
    })
