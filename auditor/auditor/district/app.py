"""The district server's HTTP API (FastAPI on uvicorn) and its error handling.

``create_app(config)`` builds the application over one database; ``app_from_env()`` is the factory
each uvicorn worker process calls (``auditor district serve``). The server keeps no state of its
own between requests (nonces, jobs, sessions and uploads are in the database, bundles in the data
directory), so any number of processes can serve one PostgreSQL database.

Who may call what:

* ``POST /v1/enrol``: anyone holding a one-time enrolment token (and the key it binds);
* agent endpoints: requests signed by the member's pinned key (``auditor.wire.protocol``);
  a school sees and changes only its own jobs, runs and keys;
* ``/v1/admin/...`` and the dashboard: the district administrator (``Authorization: Bearer`` with
  the token ``auditor district init`` printed, or a dashboard session cookie).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from auditor.district import alerts_web, dashboard, federation, monitoring_web
from auditor.district.auth import Admin, Member, Who, authenticated_headers, district_of
from auditor.district.bundles import Receiver, check_digest, spool
from auditor.district.config import DistrictConfig, load_config
from auditor.district.db import open_database
from auditor.district.schemas import (
    EnrolRequest,
    EnrolResponse,
    Health,
    JobCreate,
    JobOut,
    JobResult,
    JobsOut,
    KeyOut,
    KeysOut,
    MembersOut,
    Problem,
    RevokeRequest,
    RotateRequest,
    RunsOut,
    TokenOut,
    UploadOut,
)
from auditor.district.service import District, Principal, PublicKeys
from auditor.errors import InputError
from auditor.history import StoreUnavailable
from auditor.wire.errors import (
    BadRequest,
    DistrictError,
    Forbidden,
    TooLarge,
    Unavailable,
)

log = logging.getLogger("auditor.district")
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem} for code in (400, 401, 403, 404, 409, 413, 422, 503)
}


api = APIRouter(prefix="/v1", responses=ERRORS)


@api.get("/health", response_model=Health, tags=["server"])
async def health(request: Request) -> Health:
    """Whether the server and its database answer (no authentication)."""

    def ping() -> None:
        with district_of(request).db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    await run_in_threadpool(ping)
    return Health(status="ok", database="ok")


@api.post("/enrol", response_model=EnrolResponse, tags=["agent"])
async def enrol(body: EnrolRequest, request: Request) -> EnrolResponse:
    """Bind the token's school code to the agent's public key. A token works once, until it expires."""
    keys = PublicKeys.parse(body.public_key_pem, body.sm2_public_key_pem)
    code, kind = await run_in_threadpool(district_of(request).enrol, body.token, keys, body.proof)
    log.info("enrolled %s (%s) with key %s", code, kind, keys.keyid)
    return EnrolResponse(member=code, kind=kind, key_fingerprint=keys.keyid)  # type: ignore[arg-type]


@api.get("/jobs", response_model=JobsOut, tags=["agent"])
async def poll_jobs(
    request: Request,
    who: Member,
    wait: Annotated[float, Query(ge=0, le=60, description="long-poll seconds")] = 0,
) -> JobsOut:
    """Jobs due for the calling school, claimed for it; waits up to ``wait`` seconds for one."""
    district = district_of(request)
    assert who.member is not None
    deadline = time.monotonic() + wait
    while True:
        jobs = await run_in_threadpool(district.claim_jobs, who.member)
        left = deadline - time.monotonic()
        if jobs or left <= 0 or await request.is_disconnected():
            return JobsOut(jobs=jobs)
        await asyncio.sleep(min(district.config.poll_interval_s, left))


@api.post("/jobs/{job_id}/result", response_model=JobOut, tags=["agent"])
async def job_result(job_id: str, body: JobResult, request: Request, who: Member) -> JobOut:
    """Report a job done (its bundle uploaded), failed, or deferred to a free window."""
    district = district_of(request)
    return await run_in_threadpool(
        district.finish_job, who, job_id, body.status, body.bundle_digest, body.message, body.run_at
    )


@api.put(
    "/bundles/{digest}",
    response_model=UploadOut,
    status_code=201,
    tags=["agent"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-tar": {"schema": {"type": "string", "format": "binary"}},
                "application/gzip": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def upload(
    digest: str,
    request: Request,
    response: Response,
    who: Annotated[Principal, Depends(authenticated_headers)],
) -> UploadOut:
    """Upload a bundle (tar or tar.gz of its directory) named by the SHA-256 of its report.dsse.json.

    201: verified and ingested; 200: already stored (a retry). Nothing is stored unless the whole
    body arrived, matches its signed digest, unpacks safely and verifies with the school's key."""
    check_digest(digest)
    if who.member is None:
        raise Forbidden("bundles are uploaded by enrolled agents")
    receiver: Receiver = request.app.state.receiver
    limit = receiver.district.config.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the upload ({declared} bytes) is larger than this server accepts ({limit} bytes)")
    path = receiver.spool_path()
    try:
        got, size = await spool(request.stream(), path, limit)
        if got != request.state.content_sha256:
            raise BadRequest(
                "the body does not match its signed SHA-256 (truncated or altered); nothing stored"
            )
        out = await run_in_threadpool(receiver.accept, who, digest, path, size)
    except ClientDisconnect:
        raise BadRequest("the upload was interrupted; nothing stored") from None
    finally:
        path.unlink(missing_ok=True)
    response.status_code = 201 if out.status == "ingested" else 200
    log.info("bundle %s of %s: %s", digest[:12], who.member, out.status)
    return out


@api.post("/keys/rotate", response_model=KeyOut, tags=["agent"])
async def rotate_key(body: RotateRequest, request: Request, who: Member) -> KeyOut:
    """Replace the calling agent's key (signed with the current key; proof signed by the new one)."""
    district = district_of(request)
    keys = PublicKeys.parse(body.public_key_pem, body.sm2_public_key_pem)
    keyid = await run_in_threadpool(district.rotate, who, keys, body.proof)
    return next(k for k in await run_in_threadpool(district.keys, who.member) if k.fingerprint == keyid)


@api.get("/keys", response_model=KeysOut, tags=["agent", "admin"])
async def list_keys(request: Request, who: Who, member: str | None = None) -> KeysOut:
    """Keys of a member (a school: its own; the administrator: any, or all)."""
    member = _readable(who, member)
    return KeysOut(keys=await run_in_threadpool(district_of(request).keys, member))


@api.get("/runs", response_model=RunsOut, tags=["agent", "admin"])
async def list_runs(
    request: Request, who: Who, school: str | None = None, limit: Annotated[int, Query(ge=1, le=10000)] = 200
) -> RunsOut:
    """Stored runs, newest first (a school: its own only; the administrator: all, or ``school``)."""
    school = _readable(who, school)
    return RunsOut(runs=await run_in_threadpool(district_of(request).runs, school, limit))


def _readable(who: Principal, member: str | None) -> str | None:
    if who.is_admin:
        return member
    if member is not None and member != who.member:
        raise Forbidden(f"{who.member} may read only its own data, not {member}'s")
    return who.member


@api.get("/admin/members", response_model=MembersOut, tags=["admin"])
async def members(request: Request, _who: Admin) -> MembersOut:
    return MembersOut(members=await run_in_threadpool(district_of(request).members))


@api.post("/admin/members/{code}/tokens", response_model=TokenOut, tags=["admin"])
async def new_token(
    code: str, request: Request, _who: Admin, kind: str = "school", name: str | None = None
) -> TokenOut:
    """A one-time enrolment token for school (or member district) ``code``."""
    if kind not in {"school", "district"}:
        raise BadRequest("kind is school or district")
    token, expires = await run_in_threadpool(district_of(request).enrolment_token, code, kind, name)
    return TokenOut(member=code, token=token, expires_at=expires)


@api.post("/admin/jobs", response_model=JobOut, status_code=201, tags=["admin"])
async def create_job(body: JobCreate, request: Request, _who: Admin) -> JobOut:
    """Ask a school's agent to run these profiles (now, or within the window)."""
    check_profiles(body.profiles)
    return await run_in_threadpool(
        district_of(request).create_job,
        body.school,
        body.profiles,
        body.not_before,
        body.not_after,
        body.allow_class_hours,
    )


@api.get("/admin/jobs", response_model=JobsOut, tags=["admin"])
async def list_jobs(request: Request, _who: Admin, school: str | None = None) -> JobsOut:
    return JobsOut(jobs=await run_in_threadpool(district_of(request).jobs, school))


@api.post("/admin/keys/{fingerprint}/revoke", response_model=KeyOut, tags=["admin"])
async def revoke_key(fingerprint: str, body: RevokeRequest, request: Request, _who: Admin) -> KeyOut:
    """Revoke a key: its later requests and bundles are refused; runs it signed stay, marked."""
    return await run_in_threadpool(district_of(request).revoke, fingerprint, body.reason)


def check_profiles(names: list[str]) -> None:
    """Every profile a job names must be one this server knows (catches typos early)."""
    from auditor.profile import load_profile  # noqa: PLC0415 - profiles load on demand

    for name in names:
        if os.sep in name or name.endswith((".yaml", ".yml")):
            raise BadRequest(f"profile {name!r}: name a built-in profile, not a file")
        try:
            load_profile(name)
        except InputError as exc:
            raise BadRequest(str(exc)) from None


def _problem(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(DistrictError)
    async def district_error(_r: Request, exc: DistrictError) -> JSONResponse:
        headers = {"Retry-After": "5"} if exc.status == 503 else None
        return _problem(exc.status, str(exc), headers)

    @app.exception_handler(OperationalError)
    @app.exception_handler(StoreUnavailable)
    async def db_down(_r: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", type(exc).__name__)
        return _problem(
            503, "the district database is unavailable; nothing was stored, retry later", {"Retry-After": "5"}
        )

    @app.exception_handler(DBAPIError)
    async def db_error(_r: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            return _problem(
                503, "the district database connection was lost; retry later", {"Retry-After": "5"}
            )
        log.error("database error: %s", exc)
        return _problem(500, "internal database error")

    @app.exception_handler(RequestValidationError)
    async def bad_input(_r: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _problem(400 if first.get("type") == "json_invalid" else 422, f"{where}: {first.get('msg')}")


def create_app(config: DistrictConfig, with_dashboard: bool = True) -> FastAPI:
    """The application over the database and data directory ``config`` names."""
    db = open_database(config.db)
    district = District(db, config)
    app = FastAPI(
        title="campus-auditor district server",
        version="1",
        description=__doc__,
        docs_url=None,
        redoc_url=None,
    )  # the doc pages load scripts from a CDN
    app.state.district = district
    app.state.receiver = Receiver(district)
    app.state.receiver.clean_stale()
    app.include_router(api)
    app.include_router(federation.router)
    app.include_router(monitoring_web.api)
    app.include_router(monitoring_web.metrics)
    if with_dashboard:
        app.include_router(dashboard.router)
        app.include_router(monitoring_web.pages)
        app.include_router(alerts_web.pages)
        dashboard.install(app)

        @app.get("/", include_in_schema=False)
        async def root() -> RedirectResponse:
            return RedirectResponse("/dashboard", status_code=303)

    _install_handlers(app)
    return app


def app_from_env() -> FastAPI:
    """Factory for uvicorn workers: the district at ``$AUDITOR_DISTRICT_HOME``."""
    home = os.environ.get("AUDITOR_DISTRICT_HOME")
    return create_app(load_config(Path(home) if home else None))


def openapi(config: DistrictConfig | None = None) -> dict[str, Any]:
    """The OpenAPI document, without opening a database."""
    app = FastAPI(title="campus-auditor district server", version="1", description=__doc__)
    app.include_router(api)
    app.include_router(federation.router)
    app.include_router(monitoring_web.api)
    return app.openapi()


__all__ = ["Unavailable", "app_from_env", "create_app", "openapi"]
