"""Who is calling: the FastAPI dependencies every router of the district server shares.

An administrator (``Authorization: Bearer`` with the token ``auditor district init`` printed, or a
dashboard session cookie on GET) or an enrolled member whose signed request checks out
(``auditor.wire.protocol``).
"""

from __future__ import annotations

import hashlib
import time
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from auditor.district.service import SESSION_COOKIE, District, Principal
from auditor.wire.errors import BadRequest, Forbidden, Unauthenticated
from auditor.wire.protocol import read_headers


def request_target(request: Request) -> str:
    raw = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string") or b""
    return raw.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")


def district_of(request: Request) -> District:
    district: District = request.app.state.district
    return district


async def _principal(request: Request, check_body: bool) -> Principal:
    district = district_of(request)
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        admin = await run_in_threadpool(district.admin, auth[7:].strip(), "token")
        if admin is None:
            raise Unauthenticated("unknown, expired or revoked admin token")
        return admin
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and request.method == "GET":
        admin = await run_in_threadpool(district.admin, cookie, "session")
        if admin is not None:
            return admin
    signed = read_headers(request.headers, time.time(), district.config.clock_skew_s)
    who = await run_in_threadpool(district.authenticate, signed, request.method, request_target(request))
    request.state.content_sha256 = signed.content_sha256
    if check_body:
        body = await request.body()
        if hashlib.sha256(body).hexdigest() != signed.content_sha256:
            raise BadRequest("the body does not match its signed SHA-256 (altered or truncated)")
    return who


async def authenticated(request: Request) -> Principal:
    """The admin or a member whose signature (and body digest) checks out."""
    return await _principal(request, check_body=True)


async def authenticated_headers(request: Request) -> Principal:
    """As ``authenticated``, leaving the body unread (uploads check it while streaming)."""
    return await _principal(request, check_body=False)


async def member(request: Request) -> Principal:
    who = await authenticated(request)
    if who.member is None:
        raise Forbidden("this endpoint is for enrolled agents (signed requests), not the administrator")
    return who


async def admin(request: Request) -> Principal:
    who = await authenticated(request)
    if not who.is_admin:
        raise Forbidden("this endpoint is for the district administrator")
    return who


Who = Annotated[Principal, Depends(authenticated)]
Member = Annotated[Principal, Depends(member)]
Admin = Annotated[Principal, Depends(admin)]
