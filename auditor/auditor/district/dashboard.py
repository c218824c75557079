"""The dashboard: server-rendered HTML pages for the district administrator (Chinese by default,
``?lang=en`` for English), a comparison view, drill-down into each run's own ``report.html``, and
CSV exports. Pages carry their CSS inline and need no script; files served out of bundles are
sandboxed by a Content-Security-Policy (no script a school's bundle holds runs here, except the
report's own findings filter, pinned by its hash).
"""

from __future__ import annotations

import csv
import io
import mimetypes
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.concurrency import run_in_threadpool

from auditor.district.auth import authenticated
from auditor.district.i18n import CATEGORIES, labels
from auditor.district.service import SESSION_COOKIE, District, Principal
from auditor.district.views import compare, overview, run_bundle, school_runs
from auditor.reports.view import FILTER_SCRIPT_HASH
from auditor.wire.errors import NotFound, Unauthenticated

PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# A bundle's pages run sandboxed (an opaque origin: no cookies, no same-origin requests); the only
# script allowed is the report's own findings filter, pinned by its hash, so a script that a
# bundle carries does not run here.
BUNDLE_CSP = (
    f"sandbox allow-scripts; default-src 'none'; script-src {FILTER_SCRIPT_HASH}; "
    "style-src 'unsafe-inline'; img-src 'self' data:"
)


class LoginRequired(Exception):
    """Raised by the dashboard's guard; answered with a redirect to the login page."""


@cache
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("auditor.district", "templates"),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _lang(lang: str | None) -> str:
    return "en" if lang == "en" else "zh"


async def dashboard_admin(request: Request) -> Principal:
    try:
        who = await authenticated(request)
    except Unauthenticated:
        raise LoginRequired from None
    if not who.is_admin:
        raise LoginRequired
    return who


Admin = Annotated[Principal, Depends(dashboard_admin)]
Lang = Annotated[str | None, Query(pattern="^(zh|en)$")]
router = APIRouter(prefix="/dashboard", include_in_schema=False)


def _page(request: Request, template: str, lang: str, **values: Any) -> HTMLResponse:
    other = "en" if lang == "zh" else "zh"
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] + [("lang", other)]
    html = (
        _env()
        .get_template(template)
        .render(L=labels(lang), lang=lang, other_lang_url=f"{request.url.path}?{urlencode(params)}", **values)
    )
    return HTMLResponse(html, headers={"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store"})


def _district(request: Request) -> District:
    district: District = request.app.state.district
    return district


@router.get("", response_class=HTMLResponse)
async def schools_page(request: Request, _who: Admin, lang: Lang = None) -> HTMLResponse:
    district = _district(request)
    days = district.config.stale_days
    rows = await run_in_threadpool(overview, district.db, days)
    lg = _lang(lang)
    summary = labels(lg)["summary"].format(
        n=len(rows),
        stale=sum(1 for r in rows if r.stale and r.run_id),
        days=days,
        never=sum(1 for r in rows if not r.run_id),
    )
    return _page(request, "overview.html.j2", lg, schools=rows, summary=summary)


@router.get("/compare", response_class=HTMLResponse)
async def compare_page(
    request: Request,
    _who: Admin,
    lang: Lang = None,
    school: Annotated[list[str] | None, Query()] = None,
    all: bool = False,
) -> HTMLResponse:
    district = _district(request)
    codes = list(dict.fromkeys(school or []))
    cmp = await run_in_threadpool(compare, district.db, codes, district.config.stale_days, all)
    choices = [] if codes else await run_in_threadpool(overview, district.db, district.config.stale_days)
    lg = _lang(lang)
    base = [("school", c) for c in codes] + [("lang", lg)]
    return _page(
        request,
        "compare.html.j2",
        lg,
        cmp=cmp,
        choices=choices,
        all_indicators=all,
        csv_url="/dashboard/compare.csv?" + urlencode(base),
        toggle_url="/dashboard/compare?" + urlencode(base + ([] if all else [("all", "1")])),
    )


@router.get("/schools/{code}", response_class=HTMLResponse)
async def school_page(code: str, request: Request, _who: Admin, lang: Lang = None) -> HTMLResponse:
    district = _district(request)
    rows = await run_in_threadpool(overview, district.db, district.config.stale_days, [code])
    if not rows:
        raise NotFound(f"no school {code}")
    runs = await run_in_threadpool(school_runs, district.db, code)
    keys = await run_in_threadpool(district.keys, code)
    jobs = await run_in_threadpool(district.jobs, code, 50)
    return _page(request, "school.html.j2", _lang(lang), school=rows[0], runs=runs, keys=keys, jobs=jobs)


@router.get("/runs/{run_id}/{path:path}")
async def bundle_file(run_id: str, path: str, request: Request, _who: Admin) -> FileResponse:
    """A file of a stored bundle (its report.html, and the evidence files that links to)."""
    found = await run_in_threadpool(run_bundle, _district(request).db, run_id)
    if found is None:
        raise NotFound(f"no run {run_id}")
    root = Path(found[1]).resolve()
    target = (root / path).resolve()
    if root not in target.parents or not target.is_file():
        raise NotFound(
            f"{path}: not a file of run {run_id}"
            + (" (evidence stays at the district that verified it)" if "forwarded" in root.parts else "")
        )
    media = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    if media.startswith("text/") or media in {"application/json", "application/yaml"}:
        media += "; charset=utf-8"
    return FileResponse(
        target,
        media_type=media,
        headers={"Content-Security-Policy": BUNDLE_CSP, "X-Content-Type-Options": "nosniff"},
    )


def _csv(rows: list[list[Any]], name: str) -> Response:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerows(rows)
    return Response(
        "\ufeff" + buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/schools.csv")
async def schools_csv(request: Request, _who: Admin) -> Response:
    district = _district(request)
    rows = await run_in_threadpool(overview, district.db, district.config.stale_days)
    head = [
        "code",
        "name",
        "latest_run",
        "started_at",
        "age_days",
        "stale",
        "beijing_score",
        "beijing_possible",
        "gbt_profile",
        "gbt_pass",
        "gbt_fail",
        "gbt_open",
        "gbt_manual",
        "key_status",
        *[f"fail_{c}" for c in (*CATEGORIES, "other")],
    ]
    out: list[list[Any]] = [head]
    for r in rows:
        out.append(
            [
                r.code,
                r.name,
                r.run_id or "",
                r.started_at.isoformat() + "Z" if r.started_at else "",
                f"{r.age_days:.1f}" if r.age_days is not None else "",
                int(r.stale),
                *(r.beijing or ("", "")),
                r.gbt_profile or "",
                *(r.gbt.get(k, 0) for k in ("gbt_pass", "gbt_fail", "gbt_open", "gbt_manual")),
                r.key_status or "",
                *(r.failures.get(c, 0) for c in (*CATEGORIES, "other")),
            ]
        )
    return _csv(out, "schools.csv")


@router.get("/compare.csv")
async def compare_csv(
    request: Request, _who: Admin, school: Annotated[list[str] | None, Query()] = None
) -> Response:
    district = _district(request)
    cmp = await run_in_threadpool(
        compare, district.db, list(dict.fromkeys(school or [])), district.config.stale_days, True
    )
    codes = [s.code for s in cmp.schools]
    out: list[list[Any]] = [["kind", "profile", "item", "title", *codes]]
    out.append(["score", "beijing", "", "", *[s.beijing[0] if s.beijing else "" for s in cmp.schools]])
    for subject, values in cmp.uplink:
        out.append(
            ["measurement", "", subject, "uplink goodput median Mbit/s", *[values.get(c, "") for c in codes]]
        )
    out.append(
        [
            "measurement",
            "",
            "classrooms",
            "classroom bandwidth pass rate",
            *[f"{cmp.classrooms[c][0]}/{cmp.classrooms[c][1]}" if c in cmp.classrooms else "" for c in codes],
        ]
    )
    for profile, ind, number, title, st in cmp.indicators:
        out.append(
            [
                "indicator",
                profile,
                ind,
                f"{number or ''} {title or ''}".strip(),
                *[st.get(c, "") for c in codes],
            ]
        )
    return _csv(out, "compare.csv")


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, lang: Lang = None, failed: bool = False) -> HTMLResponse:
    return _page(request, "login.html.j2", _lang(lang), failed=failed)


@router.post("/login")
async def login(request: Request, lang: Lang = None) -> RedirectResponse:
    body = (await request.body())[:4096].decode("utf-8", "replace")
    token = (parse_qs(body).get("token") or [""])[0].strip()
    district = _district(request)
    ok = bool(token) and await run_in_threadpool(district.admin, token, "token") is not None
    lg = _lang(lang)
    if not ok:
        return RedirectResponse(f"/dashboard/login?lang={lg}&failed=true", status_code=303)
    session = await run_in_threadpool(district.new_session)
    response = RedirectResponse(f"/dashboard?lang={lg}", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=12 * 3600,
        path="/",
    )
    return response


def install(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, _exc: LoginRequired) -> RedirectResponse:
        return RedirectResponse(
            f"/dashboard/login?lang={_lang(request.query_params.get('lang'))}", status_code=303
        )
