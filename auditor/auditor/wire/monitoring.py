"""What an agent measures between audits and sends to its district: a batch of samples.

Shared by the agent (which measures, keeps the samples locally and forwards them through its
store-and-forward outbox) and the district server (which ingests them at ``POST
/api/v1/samples``, signed like every agent request: :mod:`auditor.wire.protocol`). A batch is
idempotent by ``batch_id``: sending it twice (a retry after a cut link) stores it once.

Sample kinds:

- ``reach``: reachability and latency of one endpoint (ICMP echo where permitted, else TCP
  connect), ``sent``/``received`` probes, median round trip and jitter (mean absolute difference
  of consecutive round trips) in milliseconds;
- ``dns``: resolution time of one configured name, and whether it resolved;
- ``throughput``: one short iperf3 test of an uplink in one direction (``down``/``up``), goodput
  in Mbit/s, the bytes it moved, and whether it was valid under the audit's rules (with why not);
- ``heartbeat``: the agent is alive (sent every interval, even when nothing else is).

Every time is UTC with its zone. Numbers are bounded so that a malformed batch is refused whole
rather than stored in part.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

SCHEMA = "campus-auditor/samples 1"
MAX_SAMPLES = 5000  # per batch: one school day of 3 endpoints every 5 minutes is about 900


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UplinkContract(_Strict):
    """What the school's contract with its provider says about one uplink."""

    uplink: str = Field(min_length=1, max_length=64)  # the inventory's uplink id
    provider: str = Field(min_length=1, max_length=120)
    down_mbps: float = Field(gt=0, le=400_000)  # contracted rates, not the port's link rate
    up_mbps: float = Field(gt=0, le=400_000)


class Sample(_Strict):
    kind: Literal["reach", "dns", "throughput", "heartbeat"]
    at: AwareDatetime
    target: str = Field(default="", max_length=200)  # endpoint id, DNS name or uplink id
    uplink: str | None = Field(default=None, max_length=64)
    # reach
    method: Literal["icmp", "tcp"] | None = None
    sent: int | None = Field(default=None, ge=0, le=1000)
    received: int | None = Field(default=None, ge=0, le=1000)
    rtt_ms: float | None = Field(default=None, ge=0, le=600_000)
    jitter_ms: float | None = Field(default=None, ge=0, le=600_000)
    # dns
    resolve_ms: float | None = Field(default=None, ge=0, le=600_000)
    ok: bool | None = None
    # throughput
    direction: Literal["down", "up"] | None = None
    mbps: float | None = Field(default=None, ge=0, le=400_000)
    bytes: int | None = Field(default=None, ge=0, le=10**12)
    valid: bool | None = None
    reason: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _fields_of_its_kind(self) -> Sample:
        needed = {"reach": ("method", "sent", "received"), "dns": ("ok",),
                  "throughput": ("uplink", "direction", "valid"), "heartbeat": ()}[self.kind]
        missing = [f for f in needed if getattr(self, f) is None]
        if missing:
            raise ValueError(f"a {self.kind} sample needs {', '.join(missing)}")
        if self.sent is not None and self.received is not None and self.received > self.sent:
            raise ValueError("received more probes than were sent")
        return self


class Budget(_Strict):
    """The month's throughput-test bytes: used so far and the configured limit."""

    month: str = Field(pattern=r"^\d{4}-\d{2}$")
    used_bytes: int = Field(ge=0)
    limit_bytes: int = Field(gt=0)


class SampleBatch(_Strict):
    schema_: Literal["campus-auditor/samples 1"] = Field(alias="schema", default="campus-auditor/samples 1")
    school: str = Field(min_length=1, max_length=64)
    agent: str = Field(min_length=1, max_length=255)
    batch_id: str = Field(pattern=r"^[0-9a-f-]{32,36}$")
    seq: int = Field(ge=0)  # increases with every batch an agent makes
    sent_at: datetime
    contracts: tuple[UplinkContract, ...] = ()
    budget: Budget | None = None
    samples: tuple[Sample, ...] = Field(max_length=MAX_SAMPLES)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
