"""The dashboard's alerts page: the alerts ``auditor alerts check`` finds firing, since when and
who acknowledged them, and a form to acknowledge one (no more reminders; the recovery is still
sent).

Where the alerts are: ``alerts_file`` in ``district.yaml`` names the alerts file the timer's
``auditor alerts check`` reads; its state folder is beside it. This module reads two files there
and appends to a third, by their documented formats (``auditor.alerts.dispatch``), and never
imports ``auditor.alerts``: that package sits above the district in the import layers.

* ``alerts-state.json`` (written by the alert engine, replaced atomically): read only;
* ``alerts-acks.jsonl``: one line appended per acknowledgement, ``{"rule", "subject", "started",
  "by", "at", "via": "dashboard"}``; the next check applies it before it plans anything (the
  alert's ``started`` names the incident, so an acknowledgement never carries over to a later
  one). The page shows such an acknowledgement at once, marked as waiting for the next check.

The form is a POST with the dashboard's session (the cookie is ``SameSite=Strict`` and the pages'
CSP allows forms to this origin only) plus a token derived from the session (an HMAC of a fixed
label keyed by the session cookie: a page of another origin can neither read the cookie nor
compute the token) and, when the browser sends one, an ``Origin`` that is this server's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from auditor.district.dashboard import PAGE_CSP, LoginRequired, _env, _lang, dashboard_admin
from auditor.district.i18n import labels
from auditor.district.service import SESSION_COOKIE, District, Principal
from auditor.wire.errors import BadRequest, Forbidden, NotFound

STATE_NAME = "alerts-state.json"  # auditor.alerts.dispatch.STATE_NAME
ACKS_NAME = "alerts-acks.jsonl"  # auditor.alerts.dispatch.ACKS_NAME
STATE_VERSION = 1  # auditor.alerts.engine.STATE_VERSION
MAX_BY = 64

pages = APIRouter(prefix="/dashboard/alerts", include_in_schema=False)
Admin = Annotated[Principal, Depends(dashboard_admin)]
Lang = Annotated[str | None, Query(pattern="^(zh|en)$")]

ALERT_LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "alerts": "告警",
        "state": "状态",
        "rule": "规则",
        "subject": "对象",
        "severity": "级别",
        "since": "开始时间",
        "text": "内容",
        "ack": "确认",
        "acked": "已确认",
        "ack_by": "确认人",
        "ack_button": "确认此告警",
        "ack_waiting": "下次检查时生效",
        "firing": "告警中",
        "pending": "待触发",
        "resolving": "已恢复，通知待发送",
        "critical": "严重",
        "warning": "警告",
        "info": "提示",
        "no_alerts": "当前没有告警。",
        "not_configured": "未配置告警：在 district.yaml 中设置 alerts_file"
        "（auditor alerts check 读取的告警文件）。",
        "unreadable": "无法读取告警状态",
        "state_file": "状态文件",
        "ack_hint": "确认后不再发送提醒；恢复时仍会发送恢复通知。",
        "acked_now": "已记录确认",
    },
    "en": {
        "alerts": "Alerts",
        "state": "State",
        "rule": "Rule",
        "subject": "Subject",
        "severity": "Severity",
        "since": "Since",
        "text": "Message",
        "ack": "Acknowledgement",
        "acked": "acknowledged",
        "ack_by": "Your name",
        "ack_button": "Acknowledge",
        "ack_waiting": "applies at the next check",
        "firing": "firing",
        "pending": "pending",
        "resolving": "recovered, notice to send",
        "critical": "critical",
        "warning": "warning",
        "info": "info",
        "no_alerts": "No alerts.",
        "not_configured": "Alerts are not configured: set alerts_file in district.yaml (the alerts file "
        "auditor alerts check reads).",
        "unreadable": "Cannot read the alert state",
        "state_file": "State file",
        "ack_hint": "No more reminders after an acknowledgement; the recovery is still sent.",
        "acked_now": "Acknowledgement recorded",
    },
}


@dataclass(frozen=True)
class Shown:
    """One alert of the state file, as the page shows it."""

    rule: str
    subject: str
    school: str | None
    severity: str
    text: str
    started: str  # the engine's ISO time: names the incident in an acknowledgement
    since: dt.datetime
    firing: bool
    announced: bool
    acked_by: str | None = None
    acked_at: dt.datetime | None = None
    ack_waiting: bool = False  # acknowledged on the dashboard, not yet applied by a check

    @property
    def state(self) -> str:
        if not self.firing:
            return "resolving"
        return "firing" if self.announced else "pending"

    @property
    def key(self) -> str:
        return f"{self.rule}/{self.subject}"


def state_dir(district: District) -> Path | None:
    path = district.config.alerts_file
    return None if path is None else path.parent


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    at = dt.datetime.fromisoformat(value)
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


def acks(folder: Path) -> dict[tuple[str, str, str], tuple[str, dt.datetime]]:
    """(rule, subject, started) → (by, at) of every acknowledgement line that reads."""
    try:
        lines = (folder / ACKS_NAME).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return {}
    out: dict[tuple[str, str, str], tuple[str, dt.datetime]] = {}
    for line in lines:
        try:
            doc = json.loads(line)
            at = _time(doc["at"])
            key = (str(doc["rule"]), str(doc["subject"]), str(doc["started"]))
            if at is not None:
                out.setdefault(key, (str(doc["by"]), at))
        except (ValueError, TypeError, KeyError):
            continue
    return out


def read_alerts(folder: Path) -> list[Shown]:
    """The alerts of the state in ``folder`` (none if there is no state yet), worst first.
    Raises ValueError for a state this page cannot read."""
    try:
        doc = json.loads((folder / STATE_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    if not isinstance(doc, dict) or doc.get("version") != STATE_VERSION:
        raise ValueError(f"version {doc.get('version') if isinstance(doc, dict) else None!r}, "
                         f"expected {STATE_VERSION}")
    waiting = acks(folder)
    out = []
    for item in doc.get("alerts", []):
        since = _time(item["started"])
        if since is None:
            raise ValueError("an alert without its start time")
        shown = Shown(str(item["rule"]), str(item["subject"]), item.get("school"), str(item["severity"]),
                      str(item.get("text") or ""), str(item["started"]), since, bool(item.get("firing")),
                      item.get("announced_at") is not None, item.get("acked_by"), _time(item.get("acked_at")))
        if shown.acked_by is None and (shown.rule, shown.subject, shown.started) in waiting:
            by, at = waiting[(shown.rule, shown.subject, shown.started)]
            shown = Shown(**{**shown.__dict__, "acked_by": f"{by} (dashboard)", "acked_at": at,
                             "ack_waiting": True})
        out.append(shown)
    order = {"critical": 0, "warning": 1, "info": 2}
    return sorted(out, key=lambda a: (a.state != "firing", order.get(a.severity, 3), a.since, a.key))


def append_ack(folder: Path, rule: str, subject: str, started: str, by: str, at: dt.datetime) -> None:
    """Append one acknowledgement line (a single write, so concurrent appends never interleave)."""
    line = json.dumps({"rule": rule, "subject": subject, "started": started, "by": by,
                       "at": at.isoformat(), "via": "dashboard"}, ensure_ascii=False) + "\n"
    fd = os.open(folder / ACKS_NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def csrf_token(session: str) -> str:
    """The form token of a dashboard session: only a page that can read the cookie can make it."""
    label = b"campus-auditor dashboard: alerts ack"
    return hmac.new(session.encode("utf-8"), label, hashlib.sha256).hexdigest()


def _labels(lang: str) -> dict[str, str]:
    return {**labels(lang), **ALERT_LABELS[lang]}


def _page(request: Request, lang: str, **values: Any) -> HTMLResponse:
    other = "en" if lang == "zh" else "zh"
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] + [("lang", other)]
    html = _env().get_template("alerts.html.j2").render(
        L=_labels(lang), lang=lang, other_lang_url=f"{request.url.path}?{urlencode(params)}", **values)
    return HTMLResponse(html, headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store"})


def _district(request: Request) -> District:
    district: District = request.app.state.district
    return district


@pages.get("", response_class=HTMLResponse)
async def alerts_page(
    request: Request, _who: Admin, lang: Lang = None, acked: str | None = None
) -> HTMLResponse:
    district = _district(request)
    folder = state_dir(district)
    shown: list[Shown] = []
    problem = None
    if folder is not None:
        try:
            shown = await run_in_threadpool(read_alerts, folder)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            problem = f"{folder / STATE_NAME}: {exc}"
    tz = ZoneInfo(district.config.monitoring.timezone)
    return _page(request, _lang(lang), alerts=shown, configured=folder is not None, problem=problem,
                 csrf=csrf_token(request.cookies.get(SESSION_COOKIE, "")), tz=tz, acked=acked,
                 state_file=str(folder / STATE_NAME) if folder else "")


def _form(body: bytes) -> dict[str, str]:
    fields = parse_qs(body[:8192].decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in fields.items() if v}


def _check_origin(request: Request) -> None:
    """A browser names the page a form was sent from: it must be this server (by host and port: a
    proxy in front may terminate TLS). No ``Origin`` at all is left to the token."""
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != urlsplit(str(request.base_url)).netloc:
        raise Forbidden("the form was not sent from this dashboard")


@pages.post("/ack")
async def acknowledge(request: Request) -> RedirectResponse:
    """Acknowledge a firing alert on behalf of the signed-in administrator."""
    district = _district(request)
    session = request.cookies.get(SESSION_COOKIE, "")
    if not session or await run_in_threadpool(district.admin, session, "session") is None:
        raise LoginRequired
    _check_origin(request)
    form = _form(await request.body())
    if not hmac.compare_digest(form.get("csrf", ""), csrf_token(session)):
        raise Forbidden("the form's token does not match this session; reload the alerts page")
    lang = _lang(form.get("lang"))
    by = form.get("by", "").strip()
    if not by or len(by) > MAX_BY or any(unicodedata.category(c).startswith("C") for c in by):
        raise BadRequest(f"write who acknowledges (1-{MAX_BY} characters, no control characters)")
    folder = state_dir(district)
    if folder is None:
        raise NotFound("alerts are not configured: set alerts_file in district.yaml")
    rule, subject, started = form.get("rule", ""), form.get("subject", ""), form.get("started", "")
    current = await run_in_threadpool(read_alerts, folder)
    if not any((a.rule, a.subject, a.started) == (rule, subject, started) and a.firing for a in current):
        raise NotFound(f"no firing alert {rule}/{subject} (it may have recovered); reload the alerts page")
    await run_in_threadpool(append_ack, folder, rule, subject, started, by, dt.datetime.now(dt.UTC))
    return RedirectResponse(f"/dashboard/alerts?{urlencode({'lang': lang, 'acked': f'{rule}/{subject}'})}",
                            status_code=303)
