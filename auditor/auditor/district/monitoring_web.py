"""Monitoring between audits over HTTP: the agents' ``POST /api/v1/samples``, the dashboard's
monitoring pages (overview, a school's timeline, a provider's monthly contract report in HTML and
XLSX) and the Prometheus text at ``/metrics/monitoring``.

Pages are server-rendered like the rest of the dashboard (inline CSS, inline SVG, no script),
Chinese by default and English with ``?lang=en``. The metrics carry school, district, provider,
uplink and direction labels of enrolled schools only: their number is bounded by the schools.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup, escape
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from auditor.district import monitoring as mon
from auditor.district.auth import Admin as ApiAdmin
from auditor.district.auth import authenticated_headers
from auditor.district.dashboard import PAGE_CSP, _env, _lang, dashboard_admin
from auditor.district.db import utcnow
from auditor.district.i18n import labels
from auditor.district.service import District, Principal
from auditor.wire.errors import BadRequest, DistrictError, Forbidden, NotFound, TooLarge
from auditor.wire.monitoring import SampleBatch

api = APIRouter(prefix="/api/v1", tags=["agent"])
pages = APIRouter(prefix="/dashboard/monitoring", include_in_schema=False)
metrics = APIRouter(include_in_schema=False)

Admin = Annotated[Principal, Depends(dashboard_admin)]
Lang = Annotated[str | None, Query(pattern="^(zh|en)$")]
Month = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


class Unprocessable(DistrictError):
    status = 422


def _district(request: Request) -> District:
    district: District = request.app.state.district
    return district


# -- ingest ---------------------------------------------------------------------------------------


@api.post("/samples")
async def samples(
    request: Request, who: Annotated[Principal, Depends(authenticated_headers)]
) -> dict[str, Any]:
    """A batch of samples from a school's agent (``auditor.wire.monitoring.SampleBatch``), signed
    like every agent request. 200 ``{"accepted": n, "duplicate": false}``; a batch id stored
    before answers ``duplicate: true`` and stores nothing."""
    if who.member is None:
        raise Forbidden("samples are sent by enrolled agents (signed requests)")
    district = _district(request)
    limit = district.config.monitoring.max_batch_kb * 1024
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the batch ({declared} bytes) is larger than this server accepts ({limit} bytes)")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise TooLarge(f"the batch is larger than this server accepts ({limit} bytes)")
    except ClientDisconnect:
        raise BadRequest("the batch was interrupted; nothing stored") from None
    if hashlib.sha256(body).hexdigest() != request.state.content_sha256:
        raise BadRequest("the body does not match its signed SHA-256 (altered or truncated)")
    try:
        batch = SampleBatch.model_validate_json(bytes(body))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise Unprocessable(
            f"invalid sample batch: {where}: {first.get('msg')} "
            f"({exc.error_count()} error(s)); nothing stored"
        ) from None
    if batch.school != who.member:
        raise Forbidden(f"{who.member} may send only its own samples, not {batch.school}'s")
    done = await run_in_threadpool(mon.ingest, district.db, batch)
    return {"accepted": done.accepted, "duplicate": done.duplicate}


# -- labels and charts ----------------------------------------------------------------------------

MON_LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "monitoring": "网络监测",
        "state": "状态",
        "district": "区县",
        "provider": "运营商",
        "heartbeat": "最近心跳",
        "throughput": "最近吞吐 / 合同速率",
        "loss": "丢包",
        "rtt": "时延",
        "live": "正常",
        "degraded": "降级",
        "down": "中断",
        "silent": "失联",
        "unmeasured": "未测",
        "sort": "排序",
        "timeline": "时间线",
        "uptime": "在线率",
        "latency": "时延（毫秒）",
        "loss_pct": "丢包率",
        "down_dir": "下行",
        "up_dir": "上行",
        "contracted": "合同速率",
        "contract_report": "合同达标报告",
        "month": "月份",
        "uplink": "链路",
        "tests": "在校时段测试次数",
        "below": "低于合同速率",
        "share": "占比",
        "unreachable": "不可达小时数",
        "median": "中位数",
        "p10": "第 10 百分位",
        "xlsx": "导出 XLSX",
        "no_data": "暂无数据",
        "days": "天",
        "total": "合计",
        "school_day": "在校时段",
        "outages": "中断时段（链路各端点的探测全部无应答）",
        "start": "开始",
        "end": "结束",
        "minutes": "时长（分钟）",
        "ongoing": "尚未恢复",
        "budget": "本月测试流量",
        "source": "数据来源：监测代理 {agent} 签名上传的样本，最近一批（第 {seq} 批）于 {at} 收到；"
        "本时间线基于 {reach} 个探测样本和 {tests} 次有效吞吐测试",
        "pruned": "本月原始样本已超过保存期限，无法列出中断时段；保留的原始样本始于",
        "slow_tests": "低于合同速率的测试",
        "at": "时间",
        "direction": "方向",
        "measured": "实测",
        "slow_more": "仅列出最早的 {n} 次，共 {total} 次；全部见 XLSX",
        "show": "显示",
        "mbps": "Mbit/s",
    },
    "en": {
        "monitoring": "Monitoring",
        "state": "State",
        "district": "District",
        "provider": "Provider",
        "heartbeat": "Last heartbeat",
        "throughput": "Latest throughput / contract",
        "loss": "Loss",
        "rtt": "Latency",
        "live": "live",
        "degraded": "degraded",
        "down": "down",
        "silent": "silent",
        "unmeasured": "not measured",
        "sort": "Sort",
        "timeline": "Timeline",
        "uptime": "Uptime",
        "latency": "Latency (ms)",
        "loss_pct": "Loss",
        "down_dir": "down",
        "up_dir": "up",
        "contracted": "contracted",
        "contract_report": "Contract report",
        "month": "Month",
        "uplink": "Uplink",
        "tests": "School-day tests",
        "below": "Below contract",
        "share": "Share",
        "unreachable": "Hours unreachable",
        "median": "Median",
        "p10": "10th percentile",
        "xlsx": "Export XLSX",
        "no_data": "no data yet",
        "days": "days",
        "total": "Total",
        "school_day": "School day",
        "outages": "Outages (every probe of the uplink's endpoints unanswered)",
        "start": "Start",
        "end": "End",
        "minutes": "Minutes",
        "ongoing": "not yet over",
        "budget": "Test traffic",
        "source": "Source: samples signed and uploaded by the monitor on {agent}, the newest batch (no. "
        "{seq}) received {at}; this timeline stands on {reach} reach samples and {tests} valid "
        "throughput tests",
        "pruned": "The month's raw samples are past their retention, so its outages cannot be "
        "listed; raw samples are kept from",
        "slow_tests": "Tests below the contracted rate",
        "at": "Time",
        "direction": "Direction",
        "measured": "Measured",
        "slow_more": "the earliest {n} of {total} listed; the XLSX lists them all",
        "show": "Show",
        "mbps": "Mbit/s",
    },
}


def _labels(lang: str) -> dict[str, str]:
    return {**labels(lang), **MON_LABELS[lang]}


def chart(
    title: str,
    start: datetime,
    end: datetime,
    points: Sequence[tuple[datetime, float | None]],
    *,
    ymax: float | None = None,
    line: float | None = None,
    line_label: str = "",
    dots: bool = False,
    unit: str = "",
    zone: ZoneInfo | None = None,
) -> Markup:
    """An inline SVG chart of ``points`` over [start, end) (naive UTC): a polyline (gaps where
    None) or dots, with an optional dashed horizontal line (the contracted rate); the axis's ends
    are labelled in ``zone`` (UTC if not given)."""
    w, h, left, top, bottom = 900, 160, 48, 18, 22
    values = [v for _, v in points if v is not None]
    top_value = ymax or max([*values, line or 0, 1e-9]) * 1.1
    span = (end - start).total_seconds() or 1

    def x(at: datetime) -> float:
        return left + (w - left - 8) * (at - start).total_seconds() / span

    def y(v: float) -> float:
        return top + (h - top - bottom) * (1 - min(v, top_value) / top_value)

    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {w} {h}" width="100%" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<text x="{left}" y="12" font-size="11">{escape(title)}</text>',
        f'<line x1="{left}" y1="{y(0):.1f}" x2="{w - 8}" y2="{y(0):.1f}" stroke="#bfbfbf"/>',
        f'<text x="{left - 4}" y="{y(top_value) + 4:.1f}" font-size="9" text-anchor="end">'
        f"{top_value:.3g}{escape(unit)}</text>",
        f'<text x="{left - 4}" y="{y(0):.1f}" font-size="9" text-anchor="end">0</text>',
        f'<text x="{left}" y="{h - 6}" font-size="9">{_axis(start, zone):%m-%d %H:%M}</text>',
        f'<text x="{w - 8}" y="{h - 6}" font-size="9" text-anchor="end">{_axis(end, zone):%m-%d %H:%M} '
        f"{escape(zone.key if zone else 'UTC')}</text>",
    ]
    if line is not None:
        parts.append(
            f'<line x1="{left}" y1="{y(line):.1f}" x2="{w - 8}" y2="{y(line):.1f}" '
            f'stroke="#1a1a1a" stroke-dasharray="6 4"/>'
            f'<text x="{w - 10}" y="{y(line) - 3:.1f}" font-size="9" text-anchor="end">'
            f"{escape(line_label)} {line:g}{escape(unit)}</text>"
        )
    if dots:
        parts += [
            f'<circle cx="{x(at):.1f}" cy="{y(v):.1f}" r="2.5" fill="#0b3d91"/>'
            for at, v in points
            if v is not None
        ]
    else:
        run: list[str] = []
        for at, v in [*points, (end, None)]:
            if v is None:
                if run:
                    parts.append(
                        f'<polyline fill="none" stroke="#0b3d91" stroke-width="1.5" '
                        f'points="{" ".join(run)}"/>'
                    )
                run = []
            else:
                run.append(f"{x(at):.1f},{y(v):.1f}")
    if not values:
        parts.append(f'<text x="{w / 2}" y="{h / 2}" font-size="11" text-anchor="middle">—</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped


def _axis(at: datetime, zone: ZoneInfo | None) -> datetime:
    return at if zone is None else at.replace(tzinfo=UTC).astimezone(zone)


def _page(request: Request, template: str, lang: str, **values: Any) -> HTMLResponse:
    other = "en" if lang == "zh" else "zh"
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] + [("lang", other)]
    if "local" not in values:  # times in the school day's zone, to the minute
        zone = ZoneInfo(_district(request).config.monitoring.timezone)
        values["local"] = lambda at: _local(at, zone)
    html = (
        _env()
        .get_template(template)
        .render(
            L=_labels(lang), lang=lang, other_lang_url=f"{request.url.path}?{urlencode(params)}", **values
        )
    )
    return HTMLResponse(html, headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store"})


# -- pages ----------------------------------------------------------------------------------------


@pages.get("", response_class=HTMLResponse)
async def overview_page(
    request: Request,
    _who: Admin,
    lang: Lang = None,
    sort: Annotated[str, Query(pattern="^(state|district|provider|code)$")] = "state",
) -> HTMLResponse:
    district = _district(request)
    rows = await run_in_threadpool(mon.overview, district.db, district.config.monitoring)
    counts = {s: sum(1 for r in rows if r.state == s) for s in mon.STATES}
    provs = await run_in_threadpool(mon.providers, district.db)
    return _page(
        request,
        "monitoring.html.j2",
        _lang(lang),
        rows=mon.sort_rows(rows, sort),
        sort=sort,
        counts=counts,
        providers=provs,
        month=mon.month_of(utcnow().date()),
    )


@pages.get("/schools/{code}", response_class=HTMLResponse)
async def school_page(
    code: str,
    request: Request,
    _who: Admin,
    lang: Lang = None,
    days: Annotated[int, Query(ge=1, le=31)] = 7,
) -> HTMLResponse:
    district = _district(request)
    rules = district.config.monitoring
    rows = await run_in_threadpool(mon.overview, district.db, rules, None, [code])
    if not rows:
        raise NotFound(f"no school {code}")
    tl = await run_in_threadpool(mon.timeline, district.db, code, rules, days)
    lg = _lang(lang)
    L = _labels(lg)
    hours = [h + timedelta(minutes=30) for h in tl.hours]
    zone = ZoneInfo(rules.timezone)
    def share(title: str, ratios: Sequence[float | None]) -> Markup:
        points = [(h, None if v is None else v * 100) for h, v in zip(hours, ratios, strict=True)]
        return chart(title, tl.start, tl.end, points, ymax=100, unit="%", zone=zone)

    charts = [
        share(L["uptime"], tl.uptime),
        chart(
            L["latency"], tl.start, tl.end, list(zip(hours, tl.rtt_ms, strict=True)), unit=" ms", zone=zone
        ),
        share(L["loss_pct"], tl.loss),
    ]
    for d in ("down", "up"):
        contract = tl.contract.get(d) or None
        charts.append(
            chart(
                f"{L['throughput']} · {L[d + '_dir']}",
                tl.start,
                tl.end,
                [(at, float(v)) for at, v in tl.tests[d]],
                line=contract,
                line_label=L["contracted"],
                dots=True,
                unit=" Mbit/s",
                zone=zone,
            )
        )
    return _page(request, "monitoring_school.html.j2", lg, row=rows[0], charts=charts, days=days, tl=tl)


def _report(request: Request, provider: str | None, month: str | None) -> tuple[District, str, str]:
    district = _district(request)
    if not provider:
        raise BadRequest("name a provider: ?provider=...")
    return district, provider, month or mon.month_of(utcnow().date())


@pages.get("/contracts", response_class=HTMLResponse)
async def contract_page(
    request: Request, _who: Admin, lang: Lang = None, provider: str | None = None, month: Month = None
) -> HTMLResponse:
    district, provider, month = _report(request, provider, month)
    report = await run_in_threadpool(
        mon.contract_report, district.db, provider, month, district.config.monitoring, mon.PAGE_SLOW_TESTS
    )
    lg = _lang(lang)
    xlsx = "/dashboard/monitoring/contracts.xlsx?" + urlencode(
        {"provider": provider, "month": month, "lang": lg}
    )
    return _page(request, "monitoring_contract.html.j2", lg, report=report, xlsx_url=xlsx)


def _local(at: datetime, zone: ZoneInfo) -> str:
    """Naive-UTC ``at`` in the school day's zone, to the minute (the provider reads local time)."""
    return at.replace(tzinfo=UTC).astimezone(zone).strftime("%Y-%m-%d %H:%M")


@pages.get("/contracts.xlsx")
async def contract_xlsx(
    request: Request, _who: Admin, lang: Lang = None, provider: str | None = None, month: Month = None
) -> Response:
    district, provider, month = _report(request, provider, month)
    report = await run_in_threadpool(
        mon.contract_report, district.db, provider, month, district.config.monitoring
    )
    zone = ZoneInfo(district.config.monitoring.timezone)
    data = await run_in_threadpool(contract_workbook, report, _lang(lang), zone)
    name = f"contract-{month}.xlsx"
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def contract_workbook(report: mon.ContractReport, lang: str, zone: ZoneInfo) -> bytes:
    from openpyxl import Workbook  # noqa: PLC0415 - only for this export

    L = _labels(lang)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = L["contract_report"][:31]
    ws.append([L["provider"], report.provider, L["month"], report.month, L["school_day"], report.school_day])
    ws.append([])
    head = [
        L["code"],
        L["name"],
        L["uplink"],
        f"{L['contracted']} {L['down_dir']}",
        f"{L['contracted']} {L['up_dir']}",
        L["tests"],
        L["below"],
        L["share"],
        L["unreachable"],
        f"{L['median']} {L['down_dir']}",
        f"{L['p10']} {L['down_dir']}",
        f"{L['median']} {L['up_dir']}",
        f"{L['p10']} {L['up_dir']}",
    ]
    ws.append(head)
    for r in report.rows:
        ws.append(
            [
                r.school,
                r.name,
                r.uplink,
                r.down_mbps,
                r.up_mbps,
                r.tests,
                r.below,
                r.share_below,
                r.hours_unreachable,
                r.median["down"],
                r.p10["down"],
                r.median["up"],
                r.p10["up"],
            ]
        )
        ws.cell(ws.max_row, 8).number_format = "0.0%"
    ws.append(
        [L["total"], "", "", "", "", report.tests, report.below, report.share_below, report.hours_unreachable]
    )
    ws.cell(ws.max_row, 8).number_format = "0.0%"
    for row in ws.iter_rows(min_row=4, min_col=9, max_col=9):
        row[0].number_format = "0.00"
    out = wb.create_sheet(L["outages"][:31].split("（")[0].split(" (")[0])
    out.append([L["outages"]])
    out.append([L["code"], L["name"], L["uplink"], L["start"], L["end"], L["minutes"], L["ongoing"]])
    for r in report.rows:
        for o in r.outages:
            out.append([r.school, r.name, r.uplink, _local(o.start, zone), _local(o.end, zone),
                        round(o.seconds / 60, 1), L["ongoing"] if o.ongoing else ""])
    slow = wb.create_sheet(L["slow_tests"][:31])
    slow.append([L["code"], L["name"], L["uplink"], L["at"], L["direction"], L["measured"], L["contracted"]])
    for r in report.rows:
        for t in r.slow:
            slow.append([r.school, r.name, r.uplink, _local(t.at, zone), L[f"{t.direction}_dir"],
                         round(t.mbps, 1), t.contract_mbps])
    wb.properties.creator = "campus-auditor"
    wb.properties.created = wb.properties.modified = datetime(2000, 1, 1)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# -- Prometheus -----------------------------------------------------------------------------------

METRICS = {
    "school_up": "1 while the school is live or degraded, 0 when down or silent",
    "school_state": "1 for the school's current state (live, degraded, unmeasured, down, silent)",
    "school_last_heartbeat_seconds": "Unix time of the school's last heartbeat",
    "uplink_throughput_mbps": "Latest valid throughput test of the uplink, Mbit/s",
    "uplink_contract_mbps": "Contracted rate of the uplink, Mbit/s",
    "reach_loss_ratio": "Reach probes lost over the loss window (0..1)",
    "reach_rtt_ms": "Median round trip of the reach probes over the loss window, ms",
}


def exposition(rows: Sequence[mon.MonRow]) -> bytes:
    from prometheus_client import CollectorRegistry, Gauge, generate_latest  # noqa: PLC0415

    reg = CollectorRegistry()
    g = {
        name: Gauge(name, doc, labels, registry=reg)
        for name, doc, labels in (
            ("school_up", METRICS["school_up"], ["school", "district"]),
            ("school_state", METRICS["school_state"], ["school", "district", "state"]),
            (
                "school_last_heartbeat_seconds",
                METRICS["school_last_heartbeat_seconds"],
                ["school", "district"],
            ),
            (
                "uplink_throughput_mbps",
                METRICS["uplink_throughput_mbps"],
                ["school", "district", "provider", "uplink", "direction"],
            ),
            (
                "uplink_contract_mbps",
                METRICS["uplink_contract_mbps"],
                ["school", "district", "provider", "uplink", "direction"],
            ),
            ("reach_loss_ratio", METRICS["reach_loss_ratio"], ["school", "district"]),
            ("reach_rtt_ms", METRICS["reach_rtt_ms"], ["school", "district"]),
        )
    }
    for r in rows:
        g["school_up"].labels(r.code, r.district).set(1 if r.state in {"live", "degraded"} else 0)
        for s in mon.STATES:
            g["school_state"].labels(r.code, r.district, s).set(1 if r.state == s else 0)
        if r.last_heartbeat is not None:
            g["school_last_heartbeat_seconds"].labels(r.code, r.district).set(
                (r.last_heartbeat - datetime(1970, 1, 1)).total_seconds()
            )
        for uplink, (provider, down, up) in r.contracts.items():
            for d, rate in (("down", down), ("up", up)):
                g["uplink_contract_mbps"].labels(r.code, r.district, provider, uplink, d).set(rate)
                latest = r.latest.get((uplink, d))
                if latest is not None and latest[1] is not None:
                    g["uplink_throughput_mbps"].labels(r.code, r.district, provider, uplink, d).set(latest[1])
        if r.loss is not None:
            g["reach_loss_ratio"].labels(r.code, r.district).set(r.loss)
        if r.rtt_ms is not None:
            g["reach_rtt_ms"].labels(r.code, r.district).set(r.rtt_ms)
    return generate_latest(reg)


@metrics.get("/metrics/monitoring")
async def monitoring_metrics(request: Request, _who: ApiAdmin) -> Response:
    """Prometheus text exposition (scrape with the admin token as a bearer token)."""
    district = _district(request)
    rows = await run_in_threadpool(mon.overview, district.db, district.config.monitoring)
    return Response(exposition(rows), media_type="text/plain; version=0.0.4; charset=utf-8")
