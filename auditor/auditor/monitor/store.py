"""The agent's monitoring store: one SQLite file (``<state>/monitor/monitor.sqlite``).

Tables:

- ``samples``: every raw sample (its JSON as sent), when it was taken, and the batch that
  carries it to the district (``batch_seq``; NULL until batched). Pruned after ``raw_days``.
- ``hourly``: per hour (UTC), kind, target and direction: count, probes sent and received,
  loss %, median and p90 round trip, median resolution time, DNS failures, minimum and median
  throughput, bytes. Recomputed for every hour a new sample falls in; pruned after
  ``hourly_days``.
- ``batches``: the store-and-forward queue. A batch is made (its samples marked) and written in
  one transaction before anything is sent; it keeps its ``batch_id`` through every retry, so the
  district stores it once. ``sent_at`` is set when the district accepted it; ``next_attempt``
  and ``attempts`` carry the back-off; batches leave in ``seq`` order.
- ``budget``: the bytes throughput tests moved per month (school time).
- ``slots``: what became of each planned throughput test (done, refused, missed, deferred).
- ``meta``: the last upload, its error, the contracts last seen (for ``status``).
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from auditor.monitor.measure import percentile
from auditor.wire.monitoring import Budget, Sample, SampleBatch, UplinkContract

DB_NAME = "monitor.sqlite"
BATCH_LIMIT = 1000  # samples per batch (the wire allows 5000)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL, kind TEXT NOT NULL, target TEXT NOT NULL, uplink TEXT,
    body TEXT NOT NULL, batch_seq INTEGER);
CREATE INDEX IF NOT EXISTS ix_samples_at ON samples(at);
CREATE INDEX IF NOT EXISTS ix_samples_unbatched ON samples(batch_seq) WHERE batch_seq IS NULL;
CREATE TABLE IF NOT EXISTS hourly (
    hour TEXT NOT NULL, kind TEXT NOT NULL, target TEXT NOT NULL, direction TEXT NOT NULL,
    uplink TEXT, count INTEGER NOT NULL, sent INTEGER, received INTEGER, loss_pct REAL,
    rtt_median_ms REAL, rtt_p90_ms REAL, resolve_median_ms REAL, failures INTEGER,
    mbps_min REAL, mbps_median REAL, bytes INTEGER,
    PRIMARY KEY (hour, kind, target, direction));
CREATE TABLE IF NOT EXISTS batches (
    seq INTEGER PRIMARY KEY, batch_id TEXT NOT NULL UNIQUE, created TEXT NOT NULL,
    samples INTEGER NOT NULL, body TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt TEXT NOT NULL, last_error TEXT, sent_at TEXT, answer TEXT, rejected TEXT);
CREATE TABLE IF NOT EXISTS budget (month TEXT PRIMARY KEY, used_bytes INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS slots (
    day TEXT NOT NULL, at TEXT NOT NULL, state TEXT NOT NULL, note TEXT, PRIMARY KEY (day, at));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _hour(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0).isoformat()


@dataclass(frozen=True)
class QueuedBatch:
    seq: int
    batch_id: str
    body: str
    attempts: int
    next_attempt: datetime


class Store:
    """The monitoring tables in one SQLite file (one writer: the monitor; readers: status)."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = directory / DB_NAME
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -------------------------------------------------------------- samples and roll-ups

    def add(self, samples: list[Sample]) -> None:
        if not samples:
            return
        with self._tx() as db:
            db.executemany(
                "INSERT INTO samples (at, kind, target, uplink, body) VALUES (?, ?, ?, ?, ?)",
                [(_iso(s.at), s.kind, s.target, s.uplink, s.model_dump_json(exclude_none=True))
                 for s in samples])
            for hour in sorted({_hour(s.at) for s in samples}):
                self._roll_up(db, hour)

    def _roll_up(self, db: sqlite3.Connection, hour: str) -> None:
        start = datetime.fromisoformat(hour)
        rows = db.execute("SELECT body FROM samples WHERE at >= ? AND at < ?",
                          (_iso(start), _iso(start + timedelta(hours=1)))).fetchall()
        groups: dict[tuple[str, str, str], list[Sample]] = {}
        for row in rows:
            s = Sample.model_validate_json(row["body"])
            groups.setdefault((s.kind, s.target, s.direction or ""), []).append(s)
        for (kind, target, direction), group in groups.items():
            db.execute("INSERT OR REPLACE INTO hourly VALUES "
                       "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (hour, kind, target, direction, *roll_up(group)))

    def samples(self, since: datetime | None = None, kind: str | None = None) -> list[Sample]:
        start = since or datetime.min.replace(tzinfo=UTC)
        query, args = "SELECT body FROM samples WHERE at >= ?", [_iso(start)]
        if kind:
            query += " AND kind = ?"
            args.append(kind)
        return [Sample.model_validate_json(r["body"]) for r in self.db.execute(query + " ORDER BY id", args)]

    def hourly(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT * FROM hourly ORDER BY hour, kind, target, direction")
        return [dict(r) for r in rows]

    def prune(self, now: datetime, raw_days: int, hourly_days: int) -> tuple[int, int]:
        """Delete raw samples older than ``raw_days`` and roll-ups older than ``hourly_days``
        (sent batches go with the raw samples; unsent ones stay until delivered)."""
        raw_cut, hourly_cut = now - timedelta(days=raw_days), now - timedelta(days=hourly_days)
        with self._tx() as db:
            raw = db.execute("DELETE FROM samples WHERE at < ?", (_iso(raw_cut),)).rowcount
            db.execute("DELETE FROM batches WHERE sent_at IS NOT NULL AND sent_at < ?", (_iso(raw_cut),))
            hourly = db.execute("DELETE FROM hourly WHERE hour < ?", (_hour(hourly_cut),)).rowcount
            db.execute("DELETE FROM slots WHERE day < ?", (raw_cut.date().isoformat(),))
        return raw, hourly

    # -------------------------------------------------------------- the queue of batches

    def make_batch(self, now: datetime, school: str, agent: str, contracts: tuple[UplinkContract, ...],
                   budget: Budget | None) -> SampleBatch | None:
        """Put the samples not yet batched (oldest first, at most BATCH_LIMIT) into a new batch,
        written to the queue in the same transaction that marks them. None when there are none."""
        with self._tx() as db:
            rows = db.execute("SELECT id, body FROM samples WHERE batch_seq IS NULL ORDER BY id LIMIT ?",
                              (BATCH_LIMIT,)).fetchall()
            if not rows:
                return None
            seq = int(db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM batches").fetchone()[0])
            seq = max(seq, int(self.get_meta("next_seq") or 0))
            batch = SampleBatch(school=school, agent=agent, batch_id=str(uuid.uuid4()), seq=seq,
                                sent_at=now, contracts=contracts, budget=budget,
                                samples=tuple(Sample.model_validate_json(r["body"]) for r in rows))
            db.execute("INSERT INTO batches (seq, batch_id, created, samples, body, next_attempt) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       (seq, batch.batch_id, _iso(now), len(rows),
                        batch.model_dump_json(by_alias=True), _iso(now)))
            db.executemany("UPDATE samples SET batch_seq = ? WHERE id = ?", [(seq, r["id"]) for r in rows])
            db.execute("INSERT OR REPLACE INTO meta VALUES ('next_seq', ?)", (str(seq + 1),))
        return batch

    def queued(self) -> list[QueuedBatch]:
        """Batches not yet delivered nor refused, in the order they must leave."""
        return [QueuedBatch(r["seq"], r["batch_id"], r["body"], r["attempts"],
                            datetime.fromisoformat(r["next_attempt"]))
                for r in self.db.execute("SELECT * FROM batches WHERE sent_at IS NULL AND rejected IS NULL "
                                         "ORDER BY seq")]

    def delivered(self, seq: int, now: datetime, answer: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute("UPDATE batches SET sent_at = ?, answer = ?, last_error = NULL WHERE seq = ?",
                       (_iso(now), json.dumps(answer), seq))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('last_upload', ?)", (_iso(now),))
            db.execute("DELETE FROM meta WHERE key = 'last_upload_error'")

    def retry_later(self, seq: int, now: datetime, delay_s: float, error: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE batches SET attempts = attempts + 1, next_attempt = ?, last_error = ? "
                       "WHERE seq = ?", (_iso(now + timedelta(seconds=delay_s)), error[:500], seq))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('last_upload_error', ?)",
                       (f"{_iso(now)} {error}"[:600],))

    def rejected(self, seq: int, reason: str) -> None:
        self.db.execute("UPDATE batches SET rejected = ? WHERE seq = ?", (reason[:500], seq))

    def batch_counts(self) -> dict[str, int]:
        row = self.db.execute(
            "SELECT SUM(sent_at IS NULL AND rejected IS NULL) AS unsent, "
            "COALESCE(SUM(CASE WHEN sent_at IS NULL AND rejected IS NULL THEN samples END), 0) "
            "AS unsent_samples, "
            "SUM(sent_at IS NOT NULL) AS sent, SUM(rejected IS NOT NULL) AS rejected FROM batches").fetchone()
        unbatched = self.db.execute("SELECT COUNT(*) FROM samples WHERE batch_seq IS NULL").fetchone()[0]
        return {"unsent_batches": row["unsent"] or 0,
                "unsent_samples": (row["unsent_samples"] or 0) + unbatched,
                "sent_batches": row["sent"] or 0, "rejected_batches": row["rejected"] or 0}

    # -------------------------------------------------------------- budget, slots, meta

    def used_bytes(self, month: str) -> int:
        row = self.db.execute("SELECT used_bytes FROM budget WHERE month = ?", (month,)).fetchone()
        return int(row[0]) if row else 0

    def spend(self, month: str, nbytes: int) -> None:
        self.db.execute("INSERT INTO budget VALUES (?, ?) ON CONFLICT(month) DO UPDATE SET "
                        "used_bytes = used_bytes + excluded.used_bytes", (month, int(nbytes)))

    def slot_state(self, day: str, at: datetime) -> str | None:
        row = self.db.execute("SELECT state FROM slots WHERE day = ? AND at = ?", (day, _iso(at))).fetchone()
        return None if row is None else str(row[0])

    def set_slot(self, day: str, at: datetime, state: str, note: str | None = None) -> None:
        self.db.execute("INSERT OR REPLACE INTO slots VALUES (?, ?, ?, ?)", (day, _iso(at), state, note))

    def slots(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.execute("SELECT * FROM slots ORDER BY at")]

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))


def roll_up(group: list[Sample]) -> tuple[Any, ...]:
    """The hourly row of one kind and target: (uplink, count, sent, received, loss %, median and
    p90 round trip, median resolution time, failures, min and median Mbit/s, bytes)."""
    kind = group[0].kind
    uplink = next((s.uplink for s in group if s.uplink), None)
    sent = received = failures = moved = None
    loss = rtt_med = rtt_p90 = resolve = mbps_min = mbps_med = None
    if kind == "reach":
        sent = sum(s.sent or 0 for s in group)
        received = sum(s.received or 0 for s in group)
        loss = round(100 * (sent - received) / sent, 3) if sent else None
        rtts = [s.rtt_ms for s in group if s.rtt_ms is not None]
        rtt_med = round(statistics.median(rtts), 3) if rtts else None
        p90 = percentile(rtts, 90)
        rtt_p90 = None if p90 is None else round(p90, 3)
    elif kind == "dns":
        times = [s.resolve_ms for s in group if s.ok and s.resolve_ms is not None]
        resolve = round(statistics.median(times), 3) if times else None
        failures = sum(1 for s in group if not s.ok)
    elif kind == "throughput":
        rates = [s.mbps for s in group if s.valid and s.mbps is not None]
        mbps_min = min(rates) if rates else None
        mbps_med = round(statistics.median(rates), 3) if rates else None
        moved = sum(s.bytes or 0 for s in group)
        failures = sum(1 for s in group if not s.valid)
    return (uplink, len(group), sent, received, loss, rtt_med, rtt_p90, resolve, failures,
            mbps_min, mbps_med, moved)
