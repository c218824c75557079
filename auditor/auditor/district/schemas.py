"""The HTTP API's request and response bodies (pydantic; they make the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(BaseModel):
    """Every 4xx and 5xx answer: why, in one sentence."""

    detail: str


class EnrolRequest(_In):
    token: str = Field(min_length=16, max_length=128, description="the one-time enrolment token")
    public_key_pem: str = Field(max_length=4096, description="the agent's Ed25519 public key (PEM)")
    sm2_public_key_pem: str | None = Field(
        default=None, max_length=4096, description="the agent's SM2 public key, if it has one"
    )
    proof: str = Field(
        max_length=256,
        description="base64 Ed25519 signature over "
        "'campus-auditor-enrol-v1\\n' + token: proves the agent holds the key",
    )


class EnrolResponse(BaseModel):
    member: str
    kind: Literal["school", "district"]
    key_fingerprint: str


class TokenOut(BaseModel):
    member: str
    token: str = Field(description="shown once; only its SHA-256 is stored")
    expires_at: datetime


class JobCreate(_In):
    school: str
    profiles: list[str] = Field(min_length=1, max_length=16)
    not_before: datetime | None = Field(default=None, description="UTC; default now")
    not_after: datetime | None = Field(default=None, description="UTC; the job expires unrun after it")
    allow_class_hours: bool = Field(
        default=False,
        description="asks for bandwidth tests during "
        "lessons; honoured only where the school's own agent allows it",
    )


class JobOut(BaseModel):
    id: str
    school: str
    profiles: list[str]
    allow_class_hours: bool
    not_before: datetime
    not_after: datetime | None
    status: str
    created_at: datetime
    lease_until: datetime | None = None
    finished_at: datetime | None = None
    bundle_digest: str | None = None
    message: str | None = None


class JobsOut(BaseModel):
    jobs: list[JobOut]


class JobResult(_In):
    status: Literal["done", "failed", "deferred"]
    bundle_digest: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    message: str | None = Field(default=None, max_length=4000)
    run_at: datetime | None = Field(default=None, description="deferred: when the agent will run it")


class UploadOut(BaseModel):
    digest: str
    run_id: str
    school: str
    status: Literal["ingested", "already"]


class ScoreOut(BaseModel):
    profile: str
    score_total: float | None
    score_possible: float | None
    items_pass: int
    items_total: int


class RunOut(BaseModel):
    run_id: str
    school: str
    school_name: str
    started_at: datetime
    profiles: list[str]
    counts: dict[str, int]
    scores: list[ScoreOut]
    bundle_digest: str
    key_fingerprint: str
    key_status: str = Field(description="active, retired or revoked (the run stays stored and verifiable)")
    key_revoked_at: datetime | None = None
    origin: str
    via: str | None = None


class RunsOut(BaseModel):
    runs: list[RunOut]


class KeyOut(BaseModel):
    fingerprint: str
    member: str
    status: str
    public_key_pem: str
    sm2_fingerprint: str | None
    created_at: datetime
    retired_at: datetime | None
    revoked_at: datetime | None
    reason: str | None


class KeysOut(BaseModel):
    keys: list[KeyOut]


class RotateRequest(_In):
    public_key_pem: str = Field(max_length=4096)
    sm2_public_key_pem: str | None = Field(default=None, max_length=4096)
    proof: str = Field(
        max_length=256,
        description="the new key's signature over "
        "'campus-auditor-rotate-v1\\n' + member + '\\n' + old key fingerprint",
    )


class RevokeRequest(_In):
    reason: str = Field(min_length=1, max_length=1000)


class MemberOut(BaseModel):
    code: str
    kind: str
    name: str | None
    via: str | None
    active_key: str | None
    created_at: datetime


class MembersOut(BaseModel):
    members: list[MemberOut]


class ForwardIn(_In):
    """A verified run forwarded by a member district to its city: the original signed envelope,
    the school's key the district pinned, and optionally the report's HTML rendering."""

    school: str = Field(max_length=64)
    school_name: str | None = Field(default=None, max_length=255)
    school_key_pem: str = Field(max_length=4096)
    key_status: Literal["active", "retired", "revoked"]
    envelope: str = Field(description="report.dsse.json exactly as the school's agent wrote it")
    report_html: str | None = Field(
        default=None, description="base64 of report.html (its digest is in the signed report)"
    )


class Health(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]
