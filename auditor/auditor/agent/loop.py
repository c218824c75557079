"""The agent's work loop: deliver queued bundles, poll for jobs, run them, report.

One cycle: upload every due bundle in the outbox (stopping at the first sign that the server is
down), report finished jobs, run jobs deferred to a free window whose time has come, long-poll
``GET /v1/jobs?wait=N``, and run each job it gets. A job runs the audit here, with this school's
inventory and credentials; the bundle is queued before anything is sent, so a crash, a killed
server or a database outage loses nothing: the next cycle uploads it, and the server's
idempotent upload (keyed by the bundle digest) stores it once however often it is retried.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditor.agent.config import AgentConfig
from auditor.agent.outbox import Entry, Outbox
from auditor.errors import AuditorError
from auditor.signing import load_signer
from auditor.wire.client import ServerError, SignedClient, Unreachable
from auditor.wire.errors import AgentError

log = logging.getLogger("auditor.agent")


@dataclass
class CycleReport:
    uploaded: int = 0
    jobs_run: int = 0
    waiting: int = 0
    server_down: bool = False


class JobBook:
    """``<home>/jobs/<id>.json``: what the agent did with each job (survives restarts)."""

    def __init__(self, home: Path) -> None:
        self.dir = home / "jobs"
        self.dir.mkdir(parents=True, exist_ok=True)

    def get(self, job_id: str) -> dict[str, Any] | None:
        try:
            return dict(json.loads((self.dir / f"{_safe(job_id)}.json").read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None

    def put(self, job_id: str, record: dict[str, Any]) -> None:
        path = self.dir / f"{_safe(job_id)}.json"
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
        os.replace(tmp, path)

    def all(self) -> list[dict[str, Any]]:
        out = []
        for path in sorted(self.dir.glob("*.json")):
            try:
                out.append(dict(json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError):
                continue
        return out


def _safe(job_id: str) -> str:
    return "".join(c for c in job_id if c.isalnum() or c == "-")[:64] or "job"


class Agent:
    """One school's agent."""

    def __init__(self, home: Path, config: AgentConfig, rng: random.Random | None = None) -> None:
        self.home = home
        self.config = config
        self.signer = load_signer(config.key_dir)
        self.client = SignedClient(
            config.server, config.ca, self.signer, config.member, timeout=max(60.0, config.poll_wait_s + 30)
        )
        self.outbox = Outbox(home)
        self.book = JobBook(home)
        self.rng = rng or random.Random()  # noqa: S311 - back-off jitter, not security
        self.stop = threading.Event()
        self._down_attempts = 0

    def close(self) -> None:
        self.client.close()

    # -- delivering ---------------------------------------------------------------------------

    def deliver(self, force: bool = False) -> tuple[int, bool]:
        """Upload due bundles; returns (uploaded, server down)."""
        sent = 0
        entries = self.outbox.entries() if force else self.outbox.due()
        for entry in entries:
            if self.stop.is_set():
                break
            outcome = self._upload(entry)
            if outcome == "down":
                return sent, True
            sent += outcome == "sent"
        return sent, False

    def _upload(self, entry: Entry) -> str:
        limit = self.config.max_upload_mb
        if limit and entry.meta.size > limit * 1024 * 1024:
            self._refused(
                entry,
                f"the bundle archive ({entry.meta.size} bytes) is larger than the "
                f"server accepts ({limit} MiB)",
            )
            return "refused"
        rate = self.config.upload_rate_kbps * 1000 / 8 if self.config.upload_rate_kbps else None
        try:
            answer = self.client.put_file(
                f"/v1/bundles/{entry.meta.digest}", entry.archive, entry.meta.archive_sha256, rate=rate
            )
        except ServerError as exc:
            if exc.permanent:
                self._refused(entry, exc.detail)
                return "refused"
            return self._later(entry, str(exc))
        except Unreachable as exc:
            return self._later(entry, str(exc))
        self.outbox.delivered(entry, answer)
        log.info("uploaded %s (%s): %s", entry.meta.digest[:12], answer.get("run_id"), answer.get("status"))
        if entry.meta.job_id:
            self._note(entry.meta.job_id, status="delivered", digest=entry.meta.digest)
        return "sent"

    def _later(self, entry: Entry, why: str) -> str:
        delay = self.outbox.retry_later(
            entry, why, self.config.backoff_base_s, self.config.backoff_cap_s, self.rng
        )
        log.warning("upload of %s failed (%s); next try in %.1f s", entry.meta.digest[:12], why, delay)
        return "down"

    def _refused(self, entry: Entry, reason: str) -> None:
        self.outbox.refused(entry, reason)
        log.error("the server refused bundle %s: %s (kept under rejected/)", entry.meta.digest[:12], reason)
        if entry.meta.job_id:
            self._note(entry.meta.job_id, status="failed", message=f"bundle refused: {reason}")

    def _note(self, job_id: str, **changes: Any) -> None:
        record = self.book.get(job_id) or {"id": job_id}
        record.update(changes)
        self.book.put(job_id, record)

    # -- reporting ----------------------------------------------------------------------------

    def report(self) -> bool:
        """Tell the server about finished jobs; False when it could not be reached."""
        for record in self.book.all():
            status = record.get("status")
            if status not in {"delivered", "failed", "deferred"} or record.get("reported") == status:
                continue
            body: dict[str, Any] = {
                "status": "done" if status == "delivered" else status,
                "bundle_digest": record.get("digest") if status == "delivered" else None,
                "message": record.get("message"),
                "run_at": record.get("run_at"),
            }
            try:
                self.client.call("POST", f"/v1/jobs/{record['id']}/result", body)
            except Unreachable:
                return False
            except ServerError as exc:
                if not exc.permanent:
                    return False
                log.warning("job %s: the server refused the result: %s", record["id"], exc.detail)
            record["reported"] = status
            self.book.put(record["id"], record)
        return True

    # -- jobs ---------------------------------------------------------------------------------

    def poll(self, wait: float) -> list[dict[str, Any]]:
        answer = self.client.call("GET", f"/v1/jobs?wait={wait:g}", timeout=wait + 30)
        return list(answer.get("jobs", []))

    def handle(self, job: dict[str, Any]) -> bool:
        """Run a job (or defer it); returns True when an audit ran."""
        from auditor.agent.audit import plan_job, run_job  # noqa: PLC0415 - the audit stack loads on demand

        record = self.book.get(job["id"])
        if record and record.get("status") in {"queued", "delivered", "failed"}:
            return False  # done before (the server re-offered it): the report step repeats the answer
        decision = plan_job(self.config, job, datetime.now(UTC))
        if decision.refusal:
            self._note(job["id"], job=job, status="failed", message=decision.refusal)
            return False
        if decision.run_at is not None:
            self._note(
                job["id"],
                job=job,
                status="deferred",
                run_at=decision.run_at.isoformat(),
                message=decision.why,
            )
            log.info("job %s deferred to %s: %s", job["id"], decision.run_at, decision.why)
            return False
        self._note(job["id"], job=job, status="running", started=time.time())
        work = self.outbox.work / f"job-{_safe(job['id'])}-{uuid.uuid4().hex[:8]}"
        try:
            bundle = run_job(self.config, job, work, decision.allow_class_hours)
            entry = self.outbox.add(bundle, job_id=job["id"], move=True)
        except AuditorError as exc:
            self._note(job["id"], status="failed", message=str(exc)[:2000])
            log.error("job %s failed: %s", job["id"], exc)
            return False
        finally:
            shutil.rmtree(work, ignore_errors=True)
        self._note(job["id"], status="queued", digest=entry.meta.digest)
        log.info("job %s: audit done, bundle %s queued", job["id"], entry.meta.digest[:12])
        return True

    def due_deferred(self) -> list[dict[str, Any]]:
        now = datetime.now(UTC)
        return [
            r["job"]
            for r in self.book.all()
            if r.get("status") == "deferred" and r.get("job") and datetime.fromisoformat(r["run_at"]) <= now
        ]

    # -- the loop -----------------------------------------------------------------------------

    def cycle(self, wait: float) -> CycleReport:
        out = CycleReport()
        out.uploaded, down = self.deliver()
        if not down and self.report():
            for job in self.due_deferred():
                self._note(job["id"], status="running-deferred")
                out.jobs_run += self.handle({**job, "not_after": None})
            try:
                jobs = self.poll(wait)
            except Unreachable:
                jobs, down = [], True
            for job in jobs:
                out.jobs_run += self.handle(job)
            if jobs:
                more, down = self.deliver()
                out.uploaded += more
                if not down:
                    self.report()
        out.server_down = down
        out.waiting = len(self.outbox.entries())
        return out

    def run_forever(self) -> None:
        while not self.stop.is_set():
            try:
                report = self.cycle(self.config.poll_wait_s)
            except (Unreachable, ServerError) as exc:
                log.warning("%s", exc)
                report = CycleReport(server_down=True)
            if report.server_down:
                self._down_attempts += 1
                ceiling = min(
                    self.config.backoff_cap_s, self.config.backoff_base_s * 2 ** (self._down_attempts - 1)
                )
                nxt = min([e.meta.next_attempt for e in self.outbox.entries()] or [time.time() + ceiling])
                self.stop.wait(max(0.2, min(self.rng.uniform(ceiling / 2, ceiling), nxt - time.time())))
            else:
                self._down_attempts = 0
                if self.config.poll_wait_s == 0:
                    self.stop.wait(5)


def require(value: Any, what: str) -> Any:
    if value is None:
        raise AgentError(f"{what} is not configured")
    return value
