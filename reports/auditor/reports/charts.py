"""Charts and the topology diagram, as inline SVG generated on the agent.

Charts use matplotlib's SVG backend: it is the best-kept plotting library in Python, needs no
browser or JavaScript (pygal's SVGs load a tooltip script from the web unless told not to),
and with ``svg.fonttype = none`` every label stays text, so Chinese renders with the page's
CJK font and can be searched and copied. Bars are told apart by fill *and* hatching, so the
charts survive greyscale printing. Output is deterministic (fixed hash salt, no date).

The LLDP topology is laid out by Graphviz (``dot``); the ``graphviz`` package writes the DOT source and
quotes every label; without the ``dot`` program the report shows the link table only.

The bandwidth trend sparklines are a few SVG elements written here directly (no plotting library
for a 120×24 line): no script, no link, no id that two of them on one page could share.
"""

from __future__ import annotations

import html
import io
import json
import re
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from auditor.model import JsonDict

_LOCK = threading.Lock()  # pyplot's state is global; renderers may run in threads
FONT_FAMILY = ["Noto Sans CJK SC", "Noto Sans CJK JP", "DejaVu Sans", "sans-serif"]
DARK, MID, LIGHT = "#333333", "#8c8c8c", "#ffffff"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("svg", force=True)
    import matplotlib.pyplot as plt

    matplotlib.rcParams.update({
        "svg.fonttype": "none", "svg.hashsalt": "campus-auditor", "font.family": FONT_FAMILY,
        "font.size": 9, "hatch.linewidth": 0.8, "axes.spines.top": False,
        "axes.spines.right": False,
    })
    return plt


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    # Inline in HTML: drop the XML prolog and DOCTYPE, keep the <svg> element.
    return text[text.index("<svg"):]


def _memo(func: Any) -> Any:
    """Charts are pure functions of their inputs: the HTML and the PDF of one run share them."""
    cache: dict[str, str | None] = {}

    def wrapper(*args: Any) -> str | None:
        key = json.dumps(args, sort_keys=True, default=repr)
        if key not in cache:
            if len(cache) > 32:
                cache.clear()
            cache[key] = func(*args)
        return cache[key]

    wrapper.__doc__ = func.__doc__
    return wrapper


@_memo
def score_chart(groups: Sequence[JsonDict], labels: dict[str, str]) -> str:
    """Earned vs lost points per top-level dimension (一级指标), horizontal stacked bars."""
    titles = [f"{g.get('number') or ''}{g['title']}" for g in groups][::-1]
    earned = [float(g["earned"]) for g in groups][::-1]
    lost = [float(g["points"]) - float(g["earned"]) for g in groups][::-1]
    with _LOCK:
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(7.2, 0.38 * len(groups) + 0.9))
        ax.barh(titles, earned, color=DARK, edgecolor=DARK, label=labels["earned"])
        ax.barh(titles, lost, left=earned, color=LIGHT, edgecolor=DARK, hatch="///",
                label=labels["lost"])
        for y, (e, lo) in enumerate(zip(earned, lost, strict=True)):
            ax.text(e + lo + 0.3, y, f"{e:g} / {e + lo:g}", va="center", fontsize=8)
        ax.set_xlabel(labels["points"])
        ax.set_xlim(0, max((e + lo for e, lo in zip(earned, lost, strict=True)), default=1) * 1.18)
        ax.legend(loc="lower right", frameon=False, ncols=2)
        out = _svg(fig)
        plt.close(fig)
    return out


@dataclass(frozen=True)
class LinkBar:
    """One measured link direction: the median of the runs, their range, the bars to beat, and the
    shape of the path (retransmits, round-trip time) and its trend over earlier runs.

    ``low`` and ``minimum`` are the same number, the lowest run (Mbit/s): ``low`` pairs with
    ``high`` in the chart's whisker, ``minimum`` is the table's column.
    """

    label: str
    median: float
    low: float
    high: float
    threshold: float | None
    rate: float | None
    status: str
    subject: str  # the fact's subject, e.g. ``classroom/room103/downstream``
    minimum: float  # Mbit/s, the lowest run (= low)
    retransmits: int | None  # TCP retransmissions, all runs together; None: not reported
    rtt_ms: float | None  # the sender's mean round-trip time (ms); None: not measured (-R)
    trend: tuple[tuple[str, float], ...]  # earlier runs (ISO time, median Mbit/s), oldest first
    trend_svg: str | None  # the sparkline of trend and this run; None: no earlier run, or no labels


def _opt_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _opt_num(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def bandwidth_trend(report: JsonDict, subject: str) -> tuple[tuple[str, float], ...]:
    """The earlier medians of one link direction, from ``report["bandwidth_history"]``, oldest
    first (empty for a report without that key, or without an earlier run of ``subject``)."""
    history = report.get("bandwidth_history")
    points = history.get(subject) if isinstance(history, dict) else None
    out = []
    for p in points if isinstance(points, list) else []:
        median = _opt_num(p.get("median")) if isinstance(p, dict) else None
        if median is not None and isinstance(p.get("at"), str):
            out.append((str(p["at"]), median))
    return tuple(sorted(out))


def bandwidth_rows(report: JsonDict, labels: dict[str, str] | None = None) -> list[LinkBar]:
    """Median, min and max goodput per link and direction, with the check's threshold, the
    retransmits and round-trip time of the runs, and the trend of earlier runs.

    ``trend_svg`` is drawn only when ``labels`` (the page's language, as for the charts) is given
    and there is an earlier run: the sparkline shows the earlier medians and this run's.
    """
    findings = {f["target"]: f for f in report.get("findings", [])
                if str(f.get("check", "")).startswith("bandwidth.")}
    now = str((report.get("run") or {}).get("started_at") or "")
    rows = []
    for fact in report.get("facts", []):
        if fact.get("kind") != "bandwidth.goodput" or fact.get("status") != "ok":
            continue
        data = fact["data"]
        subject = str(fact["subject"])
        finding = findings.get(subject, {})
        label = subject.replace("classroom/", "").replace("uplink/", "uplink ")
        median = float(data["median_mbps"])
        trend = bandwidth_trend(report, subject)
        svg = (sparkline((*trend, (now, median)), labels, label, _zone(report))
               if labels is not None and trend else None)
        rows.append(LinkBar(
            label=label, median=median, low=float(data["min_mbps"]),
            high=float(data["max_mbps"]), threshold=finding.get("threshold"),
            rate=data.get("expected_link_mbps"), status=str(finding.get("status", "error")),
            subject=subject, minimum=float(data["min_mbps"]),
            retransmits=_opt_int(data.get("retransmits")), rtt_ms=_opt_num(data.get("rtt_ms")),
            trend=trend, trend_svg=svg))
    return sorted(rows, key=lambda r: (not r.label.startswith("uplink"), r.label))


SPARK_W, SPARK_H, SPARK_PAD = 120, 24, 2.5


def sparkline(points: Sequence[tuple[str, float]], labels: dict[str, str], name: str,
              zone: str = "UTC") -> str | None:
    """A small inline SVG line of medians over runs (oldest first, the last one dotted); None for
    fewer than 2 points.

    The runs are evenly spaced; the vertical scale runs from 0 to the highest median, so a 5 %
    drop looks like 5 %. Its ``<title>`` (the accessible name) gives every value with its time:
    ``labels["trend"]`` when the page has that label, else ``labels["median"]``. No script, no
    link, no id; the same points give the same bytes.
    """
    if len(points) < 2:
        return None
    values = [max(0.0, float(v)) for _at, v in points]
    top = max(values) or 1.0
    step = (SPARK_W - 2 * SPARK_PAD) / (len(values) - 1)
    height = SPARK_H - 2 * SPARK_PAD
    xy = [(SPARK_PAD + i * step, SPARK_PAD + height * (1 - v / top)) for i, v in enumerate(values)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    what = labels.get("trend") or labels["median"]
    listed = "; ".join(f"{_when(at, zone)} {v:,.1f}" for (at, _v), v in zip(points, values, strict=True))
    title = html.escape(f"{name} — {what} (Mbit/s): {listed}", quote=False)
    last_x, last_y = xy[-1]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" role="img" '
        f'width="{SPARK_W}" height="{SPARK_H}" viewBox="0 0 {SPARK_W} {SPARK_H}">'
        f"<title>{title}</title>"
        f'<polyline points="{line}" fill="none" stroke="{DARK}" stroke-width="1.2" '
        f'stroke-linejoin="round" stroke-linecap="round"/>'
        f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2" fill="{DARK}"/>'
        "</svg>"
    )


def _zone(report: JsonDict) -> str:
    """The school's time zone (the audit clock's)."""
    return str(((report.get("authorisation") or {}).get("clock") or {}).get("timezone") or "UTC")


def _when(at: str, zone: str = "UTC") -> str:
    """``2026-09-01T00:00:00Z`` as ``2026-09-01 08:00`` in the school's ``zone``; a value that is
    not a time with a zone as it was written (to the minute)."""
    try:
        moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
        if moment.tzinfo is not None:
            moment = moment.astimezone(ZoneInfo(zone))
        return f"{moment:%Y-%m-%d %H:%M}"
    except (ValueError, ZoneInfoNotFoundError):
        return at[:16].replace("T", " ") if len(at) >= 16 else at


@_memo
def bandwidth_chart(rows: Sequence[LinkBar], labels: dict[str, str]) -> str:
    """Measured median goodput per link (min–max whiskers) against threshold and link rate.

    Each link is drawn as a share of its own link rate, so a 1 Gbit/s uplink and 100 Mbit/s
    classrooms fit one axis; the numbers printed beside the bars are in Mbit/s.
    """
    ordered = list(rows)[::-1]
    with _LOCK:
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(7.2, 0.36 * len(ordered) + 1.1))
        for y, row in enumerate(ordered):
            scale = 100.0 / (row.rate or max(row.high, 1.0))
            ok = row.status == "pass"
            ax.barh(y, row.median * scale, color=MID if ok else LIGHT, edgecolor=DARK,
                    hatch=None if ok else "xx", height=0.6)
            ax.plot([row.low * scale, row.high * scale], [y, y], color=DARK, linewidth=1.2)
            if row.threshold is not None:
                t = float(row.threshold) * scale
                ax.plot([t, t], [y - 0.4, y + 0.4], color=DARK, linestyle="--", linewidth=1.2)
            ax.text(101, y, f"{row.median:,.1f} Mbit/s ({row.low:,.1f}–{row.high:,.1f})",
                    va="center", fontsize=8)
        ax.set_yticks(range(len(ordered)), [r.label for r in ordered])
        ax.set_xlim(0, 100)
        ax.set_xlabel(labels["share_of_rate"])
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        handles = [Line2D([], [], color=DARK, linestyle="--", label=labels["threshold"]),
                   Patch(facecolor=MID, edgecolor=DARK, label=labels["pass"]),
                   Patch(facecolor=LIGHT, edgecolor=DARK, hatch="xx", label=labels["fail"])]
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 1.2 / (len(ordered) + 3)),
                  frameon=False, ncols=3)
        out = _svg(fig)
        plt.close(fig)
    return out


@_memo
def topology_svg(topology: JsonDict, labels: dict[str, str]) -> str | None:
    """The LLDP topology drawn by Graphviz; None when there are no links or no ``dot``."""
    if not topology.get("links"):
        return None
    import graphviz

    graph = graphviz.Graph("topology", engine="dot", graph_attr={
        "rankdir": "TB", "fontname": FONT_FAMILY[0], "bgcolor": "transparent", "nodesep": "0.4"},
        node_attr={"shape": "box", "style": "rounded", "fontname": FONT_FAMILY[0],
                   "fontsize": "10"},
        edge_attr={"fontname": FONT_FAMILY[0], "fontsize": "8"})
    for node in topology.get("nodes", []):
        dashed = "" if node.get("seen") else ",dashed"
        graph.node(_gid(node["id"]), f"{node['id']}\n{node['address']}\n{node.get('platform') or ''}",
                   style="rounded" + dashed, penwidth="2" if node.get("role") == "core" else "1")
    for name in topology.get("unknown_neighbours", []):
        graph.node(_gid(name), f"{name}\n({labels['not_in_inventory']})", style="dashed,bold")
    for link in topology["links"]:
        graph.edge(_gid(link["a"]), _gid(link["b"]), label=f"{link['a_port']}\n{link['b_port']}")
    try:  # dot itself, so that a hung layout is killed
        done = subprocess.run(["dot", "-Tsvg"], input=graph.source.encode("utf-8"),
                              capture_output=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    svg = done.stdout.decode("utf-8")
    svg = svg[svg.index("<svg"):]
    return re.sub(r"<!--.*?-->\s*", "", svg, flags=re.S)


def _gid(name: str) -> str:
    return "n_" + "".join(c if c.isalnum() else "_" for c in name)


# --- The monitoring timeline (report["monitoring"]): small hand-written SVGs, as the sparklines ---

MON_LEFT, MON_COL, MON_W = 78, 66, 640


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _svg_open(width: float, height: float, css: str, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="{css}" role="img" width="{width:.0f}" '
            f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" font-size="9">'
            f"<title>{_esc(title)}</title>")


def _pct_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def monitoring_days(days: Sequence[JsonDict], labels: dict[str, str]) -> str | None:
    """Per day of the monitoring window: the monitor's uptime (a bar filled to its share; dashed
    and empty before monitoring began) and the reach loss (a bar on a scale of at least 5 %),
    with the figures written under them. None without days."""
    if not days:
        return None
    width = MON_LEFT + MON_COL * len(days)
    losses = [_loss_of(d) for d in days]
    top = max([5.0, *(v for v in losses if v is not None)])
    parts = [f'<text x="0" y="34">{_esc(labels["mon_uptime"])}</text>',
             f'<text x="0" y="66">{_esc(labels["mon_loss"])}</text>']
    listed = []
    for i, (day, loss) in enumerate(zip(days, losses, strict=True)):
        x = MON_LEFT + i * MON_COL + 6
        w = MON_COL - 12
        up = day.get("uptime_pct")
        dash = ' stroke-dasharray="3 2"' if up is None else ""
        parts.append(f'<rect x="{x}" y="14" width="{w}" height="26" fill="none" stroke="{DARK}"{dash}/>')
        if up is not None:
            h = 26 * max(0.0, min(100.0, float(up))) / 100
            parts.append(f'<rect x="{x}" y="{40 - h:.1f}" width="{w}" height="{h:.1f}" fill="{MID}"/>')
        parts.append(f'<text x="{x + w / 2:.0f}" y="10" text-anchor="middle">{_esc(_pct_text(up))}</text>')
        parts.append(f'<rect x="{x}" y="50" width="{w}" height="14" fill="none" stroke="{MID}"/>')
        if loss is not None and loss > 0:
            lw = w * loss / top
            parts.append(f'<rect x="{x}" y="50" width="{lw:.1f}" height="14" fill="{DARK}"/>')
        parts.append(f'<text x="{x + w / 2:.0f}" y="76" text-anchor="middle">{_esc(_pct_text(loss))}</text>')
        date_ = _esc(str(day["date"])[5:])
        parts.append(f'<text x="{x + w / 2:.0f}" y="90" text-anchor="middle">{date_}</text>')
        listed.append(f"{day['date']} {labels['mon_uptime']} {_pct_text(up)}, {labels['mon_loss']} "
                      f"{_pct_text(loss)}")
    title = f"{labels['monitoring_title']}: " + "; ".join(listed)
    return _svg_open(width, 94, "mon-days", title) + "".join(parts) + "</svg>"


def _loss_of(day: JsonDict) -> float | None:
    """A day's reach loss over every probe of every target; None when nothing was probed."""
    rows = day.get("reach") or []
    sent = sum(int(r.get("sent") or 0) for r in rows)
    received = sum(int(r.get("received") or 0) for r in rows)
    return round(100 * (sent - received) / sent, 1) if sent else None


def _moment(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def throughput_strip(tests: Sequence[JsonDict], contract: float | None, window: JsonDict, name: str,
                     labels: dict[str, str], zone: str = "UTC") -> str | None:
    """One uplink direction's throughput tests across the monitoring window: a dot per valid test
    at its Mbit/s (hollow when below the contracted rate), a cross on the baseline per invalid
    test, the contracted rate as a dashed line, a tick at each midnight. None without tests or
    without a readable window."""
    lo, hi = _moment(window.get("start")), _moment(window.get("end"))
    if not tests or lo is None or hi is None or hi <= lo:
        return None
    rates = [float(t["mbps"]) for t in tests if t.get("valid") and t.get("mbps") is not None]
    top = max([*rates, float(contract or 0), 1.0]) * 1.12
    width, height, base, span = MON_W, 58, 46, (hi - lo).total_seconds()
    plot = width - MON_LEFT - 8

    def xpos(at: datetime) -> float:
        return MON_LEFT + plot * max(0.0, min(1.0, (at - lo).total_seconds() / span))

    def ypos(v: float) -> float:
        return base - (base - 6) * v / top

    parts = [f'<text x="0" y="16">{_esc(name)}</text>',
             f'<text x="0" y="30" fill="{MID}">Mbit/s</text>',
             f'<line x1="{MON_LEFT}" y1="{base}" x2="{width - 8}" y2="{base}" stroke="{DARK}"/>']
    try:
        local = lo.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        local = lo
    day = datetime.combine(local.date(), datetime.min.time(), local.tzinfo)
    while day < hi:
        if day >= lo:
            x = xpos(day)
            parts.append(f'<line x1="{x:.1f}" y1="6" x2="{x:.1f}" y2="{base + 3}" stroke="{LIGHT_RULE}"/>')
            parts.append(f'<text x="{x + 2:.1f}" y="{height - 1}" fill="{MID}">{day:%m-%d}</text>')
        day = datetime.combine(day.date() + timedelta(days=1), datetime.min.time(), local.tzinfo)
    if contract:
        y = ypos(float(contract))
        parts.append(f'<line x1="{MON_LEFT}" y1="{y:.1f}" x2="{width - 8}" y2="{y:.1f}" stroke="{DARK}" '
                     f'stroke-dasharray="5 3"/>')
        parts.append(f'<text x="{MON_LEFT - 4}" y="{y + 3:.1f}" text-anchor="end">{float(contract):g}</text>')
    listed = []
    for t in tests:
        at = _moment(t.get("at"))
        if at is None:
            continue
        x = xpos(at)
        when = _when(str(t["at"]), zone)
        if t.get("valid") and t.get("mbps") is not None:
            v = float(t["mbps"])
            fill = LIGHT if t.get("below_contract") else DARK
            parts.append(f'<circle cx="{x:.1f}" cy="{ypos(v):.1f}" r="2.6" fill="{fill}" stroke="{DARK}"/>')
            listed.append(f"{when} {v:,.1f}")
        else:
            parts.append(f'<path d="M{x - 3:.1f},{base - 3} l6,6 m0,-6 l-6,6" stroke="{DARK}" fill="none"/>')
            listed.append(f"{when} {labels['mon_invalid_short']}")
    head = f"{name} (Mbit/s; {labels['mon_contract']} {float(contract):g})" if contract else \
        f"{name} (Mbit/s)"
    return _svg_open(width, height, "mon-tests", f"{head}: " + "; ".join(listed)) + "".join(parts) + "</svg>"


LIGHT_RULE = "#d9d9d9"
