"""The history store: verified report bundles, one row set per run, in SQLite or PostgreSQL.

``open_store()`` opens (and creates or upgrades, with the Alembic migrations shipped in
``migrations/``) the database; ``HistoryStore.ingest`` verifies a bundle and keeps what the
regression diff and the history views need. A bundle is identified by the SHA-256 of its
``report.dsse.json``: ingesting the same bundle twice stores it once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    delete,
    event,
    insert,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, SQLAlchemyError

from auditor.bundle import verify_bundle
from auditor.errors import VerificationError
from auditor.history.errors import BundleRefused, RunNotFound, StoreUnavailable
from auditor.history.extract import Extracted, extract
from auditor.history.models import (
    CHILD_TABLES,
    STATUSES,
    FindingRow,
    Measurement,
    Run,
    RunProfile,
)
from auditor.model import ENVELOPE_NAME, REPORT_NAME
from auditor.paths import state_dir

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SCHEMA_HEAD = "0001"  # the newest revision in migrations/versions (a test keeps them in step)
_TABLES = {model.__tablename__: model for model in CHILD_TABLES}


def default_url() -> str:
    """``sqlite:///<state dir>/history.sqlite``."""
    return f"sqlite:///{state_dir() / 'history.sqlite'}"


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


@dataclass(frozen=True)
class ProfileScore:
    """A run's result for one profile: points (point-scored profiles) and items passed."""

    profile: str
    score_total: float | None
    score_possible: float | None
    items_pass: int
    items_total: int

    def to_json(self) -> dict[str, Any]:
        return {"profile": self.profile, "score_total": self.score_total,
                "score_possible": self.score_possible, "items_pass": self.items_pass,
                "items_total": self.items_total}


@dataclass(frozen=True)
class RunInfo:
    """One stored run as the history views show it."""

    pk: int
    run_id: str
    school_code: str
    school_name: str
    school_district: str | None
    started_at: datetime
    finished_at: datetime | None
    profiles: tuple[str, ...]
    bundle_path: str
    bundle_digest: str
    key_fingerprint: str
    key_pinned: bool
    verified: bool
    exit_status: int
    counts: dict[str, int]
    scores: tuple[ProfileScore, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "school": {"code": self.school_code, "name": self.school_name,
                                              "district": self.school_district},
            "started_at": _iso(self.started_at), "finished_at": _iso(self.finished_at),
            "profiles": list(self.profiles), "bundle": self.bundle_path, "bundle_digest": self.bundle_digest,
            "key_fingerprint": self.key_fingerprint, "key_pinned": self.key_pinned,
            "verified": self.verified, "exit_status": self.exit_status, "counts": self.counts,
            "scores": [s.to_json() for s in self.scores],
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


@dataclass(frozen=True)
class IngestResult:
    """What ``ingest`` did: stored the run, or found it already stored (same bundle digest)."""

    run: RunInfo
    already_ingested: bool
    bundle: Path

    @property
    def message(self) -> str:
        what = "already ingested" if self.already_ingested else "ingested"
        return f"{self.bundle}: {what} (run {self.run.run_id}, {self.run.school_code}, " \
               f"{_iso(self.run.started_at)})"


@dataclass(frozen=True)
class SeriesPoint:
    """One value of a check (or of a fact measurement) in one run."""

    run_id: str
    started_at: datetime
    school_code: str
    target: str
    measured: float | None
    threshold: float | None
    unit: str | None
    status: str | None

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "started_at": _iso(self.started_at), "school": self.school_code,
                "target": self.target, "measured": self.measured, "threshold": self.threshold,
                "unit": self.unit, "status": self.status}


@dataclass
class RebuildResult:
    """The bundles a rebuild stored, and those it refused (with why)."""

    ingested: list[IngestResult] = field(default_factory=list)
    refused: list[tuple[Path, str]] = field(default_factory=list)


@dataclass
class PruneResult:
    """The runs a prune removed and what happened to their bundles."""

    removed: list[RunInfo] = field(default_factory=list)
    bundles_deleted: list[str] = field(default_factory=list)
    bundles_kept: list[tuple[str, str]] = field(default_factory=list)  # (path, why not deleted)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL (readers do not block the writer), foreign keys (cascades), and transactions begun
    by ``_sqlite_begin`` rather than by the driver."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    """Writers take the write lock when they begin (``BEGIN IMMEDIATE``, waiting up to the busy
    timeout), so a read-then-write transaction never fails on a snapshot another writer made
    stale; readers begin deferred."""
    immediate = conn.get_execution_options().get("history_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _safe(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unreadable URL>"


def _engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise StoreUnavailable(f"history store {_safe(url)}: not a usable database URL ({exc})") from None
    except OSError as exc:
        raise StoreUnavailable(f"history store {_safe(url)}: cannot create its directory: "
                               f"{exc.strerror}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _writer(engine: Engine) -> Engine:
    """The engine for transactions that write."""
    return engine.execution_options(history_write=True)


def _alembic(conn: Connection) -> tuple[ModuleType, Config]:
    """Alembic's command module and a configuration built in code (no alembic.ini), imported
    only when the schema has to change: it costs a quarter of a second."""
    from alembic import command  # noqa: PLC0415
    from alembic.config import Config  # noqa: PLC0415

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.attributes["connection"] = conn
    return command, config


def schema_revision(engine: Engine) -> str | None:
    """The store's schema revision (None for an empty database)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        value = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return None if value is None else str(value)


def upgrade_schema(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration."""
    with _writer(engine).begin() as conn:
        command, config = _alembic(conn)
        command.upgrade(config, "head")


def downgrade_schema(engine: Engine) -> None:
    """Drop every table of the store (migrate down to nothing)."""
    with _writer(engine).begin() as conn:
        command, config = _alembic(conn)
        command.downgrade(config, "base")


def open_store(url: str | None = None) -> HistoryStore:
    """Open the store at ``url`` (default: ``history.sqlite`` in the state directory),
    creating or upgrading its schema."""
    url = url or default_url()
    engine = _engine(url)
    try:
        revision = schema_revision(engine)
        if revision != SCHEMA_HEAD:
            upgrade_schema(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreUnavailable(f"history store {_safe(url)}: cannot open: "
                               f"{str(getattr(exc, 'orig', None) or exc).strip()}") from None
    except Exception as exc:  # alembic's CommandError: a revision this auditor does not know
        engine.dispose()
        if type(exc).__name__ != "CommandError":
            raise
        raise StoreUnavailable(f"history store {_safe(url)}: schema revision {revision} is not one "
                               f"this auditor knows (newer campus-auditor?): {exc}") from None
    return HistoryStore(engine, _safe(url))


def bundle_digest(bundle: Path) -> str:
    """SHA-256 of the bundle's ``report.dsse.json`` (the store's identity of a bundle)."""
    try:
        return hashlib.sha256((bundle / ENVELOPE_NAME).read_bytes()).hexdigest()
    except OSError:
        raise BundleRefused(f"{bundle}: no readable {ENVELOPE_NAME}: not a report bundle") from None


def find_bundles(directory: Path) -> list[Path]:
    """Every bundle directory (holding ``report.dsse.json``) under ``directory``; symbolic
    links are not followed, so ``latest`` links do not count twice."""
    found = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        if ENVELOPE_NAME in files:
            found.append(Path(root))
    return found


class HistoryStore:
    """Runs, findings, measurements and the rest, from verified bundles."""

    def __init__(self, engine: Engine, label: str) -> None:
        self.engine = engine
        self.label = label

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- ingest -----------------------------------------------------------------------------

    def ingest(self, bundle: Path, key: Path | None = None) -> IngestResult:
        """Verify ``bundle`` (with ``key`` pinned when given, else against the local trust store)
        and store its run.

        Raises ``BundleRefused`` (nothing stored) when it does not verify or its signer is not
        trusted: a history is evidence only of what trusted agents signed."""
        bundle = Path(bundle)
        report, keyid = _verified(bundle, key)
        return self.ingest_verified(bundle, report, bundle_digest(bundle), keyid, key is not None)

    def ingest_verified(self, bundle: Path, report: dict[str, Any], digest: str, keyid: str,
                        pinned: bool) -> IngestResult:
        """Store the run of a report whose signature the caller has verified: ``ingest`` here, and
        the district's city server for runs a member district forwards (their envelope verified
        against the school's pinned key). ``digest`` identifies the bundle; storing the same
        bundle twice stores it once."""
        rows = extract(report, str(Path(bundle).resolve()), digest, keyid, pinned)
        try:
            return self._store(bundle, rows)
        except IntegrityError:  # another process stored the same bundle meanwhile
            return self._store(bundle, rows)

    def store_extracted(self, bundle: Path, rows: Extracted) -> IngestResult:
        """Store rows extracted from a report not signed yet, in a throw-away store (see
        ``diff.diff_report``)."""
        return self._store(bundle, rows)

    def previous_for(self, school_code: str, profiles: Sequence[str], before: datetime) -> RunInfo | None:
        """The latest stored run of this school with this set of profiles, started before ``before``."""
        key = ",".join(sorted(profiles))
        naive = before.astimezone(UTC).replace(tzinfo=None) if before.tzinfo else before
        with self.engine.connect() as conn:
            row = conn.execute(
                select(Run.pk).where(Run.school_code == school_code, Run.profile_key == key,
                                     Run.started_at < naive)
                .order_by(Run.started_at.desc(), Run.pk.desc()).limit(1)).first()
            return None if row is None else self._info(conn, row.pk)

    def _store(self, bundle: Path, rows: Extracted) -> IngestResult:
        path, digest = rows.run["bundle_path"], rows.run["bundle_digest"]
        with _writer(self.engine).begin() as conn:
            found = conn.execute(select(Run.pk, Run.bundle_digest, Run.bundle_path).where(
                or_(Run.bundle_digest == digest, Run.run_id == rows.run["run_id"]))).all()
            same = next((r for r in found if r.bundle_digest == digest), None)
            if same is not None:
                if same.bundle_path != path and not Path(same.bundle_path).is_dir():
                    conn.execute(update(Run).where(Run.pk == same.pk).values(bundle_path=path))
                return IngestResult(self._info(conn, same.pk), True, bundle)
            if found:
                other = found[0]
                raise BundleRefused(f"{bundle}: run {rows.run['run_id']} is already stored from another "
                                    f"bundle ({other.bundle_path}, digest {other.bundle_digest[:12]}…); "
                                    "a re-signed or altered copy is not ingested twice")
            run = {**rows.run, "ingested_at": _utcnow()}
            pk = conn.execute(insert(Run).values(**run)).inserted_primary_key
            assert pk is not None
            for table, values in rows.children.items():
                if values:
                    _insert_rows(conn, table, [{**v, "run_pk": pk[0]} for v in values])
        profiles = sorted(rows.children["run_profiles"], key=lambda p: str(p["profile"]))
        scores = tuple(ProfileScore(p["profile"], p["score_total"], p["score_possible"], p["items_pass"],
                                    p["items_total"]) for p in profiles)
        return IngestResult(_to_info(SimpleNamespace(pk=pk[0], **run), scores), False, bundle)

    def rebuild(self, directory: Path, key: Path | None = None) -> RebuildResult:
        """Drop every table, recreate the schema and ingest every bundle under ``directory``,
        oldest run first (so the same bundles give the same rows)."""
        directory = Path(directory)
        if not directory.is_dir():
            raise RunNotFound(f"{directory}: not a directory")
        bundles = find_bundles(directory)
        if not bundles:
            raise RunNotFound(f"{directory}: no report bundle under it; the store was left as it was")
        downgrade_schema(self.engine)
        upgrade_schema(self.engine)
        result = RebuildResult()
        for bundle in sorted(bundles, key=lambda b: (_started(b), str(b))):
            try:
                result.ingested.append(self.ingest(bundle, key))
            except BundleRefused as exc:
                result.refused.append((bundle, str(exc)))
        return result

    # -- queries ----------------------------------------------------------------------------

    def runs(self, school: str | None = None, limit: int | None = None) -> list[RunInfo]:
        """Stored runs, newest first; ``school`` filters by school code."""
        query = select(Run).order_by(Run.started_at.desc(), Run.pk.desc())
        if school:
            query = query.where(Run.school_code == school)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            scores = _scores(conn, [r.pk for r in rows])
        return [_to_info(r, scores.get(r.pk, ())) for r in rows]

    def run(self, run_id: str) -> RunInfo:
        """The run with this exact id."""
        with self.engine.connect() as conn:
            row = conn.execute(select(Run.pk).where(Run.run_id == run_id)).first()
            if row is None:
                raise RunNotFound(f"no run {run_id} in the history store {self.label}")
            return self._info(conn, row.pk)

    def resolve(self, ref: str, key: Path | None = None) -> RunInfo:
        """A run by id, unique id prefix, or bundle directory (ingested first if need be)."""
        path = Path(ref)
        if path.is_dir():
            return self.ingest(path, key).run
        with self.engine.connect() as conn:
            rows = conn.execute(select(Run.pk, Run.run_id).where(Run.run_id.startswith(ref, autoescape=True))
                                .limit(5)).all()
            if len(rows) == 1:
                return self._info(conn, rows[0].pk)
        if not rows:
            raise RunNotFound(f"{ref}: no run with this id or id prefix in the history store "
                              f"{self.label}, and no bundle directory of that name")
        raise RunNotFound(f"{ref}: ambiguous run id prefix ({', '.join(r.run_id for r in rows)}, ...)")

    def series(self, check: str, target: str | None = None, school: str | None = None) -> list[SeriesPoint]:
        """One check's measured value (and threshold, status) over time, oldest first.

        ``check`` may also name a fact measurement (``bandwidth.goodput.median``,
        ``port.speed``, ``wifi.ssid_signal``...), whose values are given without threshold or status."""
        with self.engine.connect() as conn:
            points = _finding_series(conn, check, target, school)
            if not points:
                points = _measurement_series(conn, check, target, school)
        return points

    def names(self) -> list[str]:
        """Every check and measurement name in the store (for suggestions)."""
        with self.engine.connect() as conn:
            checks = conn.execute(select(FindingRow.check).distinct()).scalars().all()
            names = conn.execute(select(Measurement.name).distinct()).scalars().all()
        return sorted(set(checks) | set(names))

    def targets(self, check: str) -> list[str]:
        """Every target (or subject) stored for a check or measurement name."""
        with self.engine.connect() as conn:
            got = conn.execute(select(FindingRow.target).where(FindingRow.check == check)
                               .distinct()).scalars()
            subjects = conn.execute(select(Measurement.subject).where(Measurement.name == check)
                                    .distinct()).scalars()
            return sorted(set(got) | set(subjects))

    def previous_comparable(self, run_id: str) -> RunInfo | None:
        """The latest run before ``run_id`` of the same school with the same set of profiles."""
        with self.engine.connect() as conn:
            this = conn.execute(select(Run).where(Run.run_id == run_id)).first()
            if this is None:
                raise RunNotFound(f"no run {run_id} in the history store {self.label}")
            row = conn.execute(
                select(Run.pk).where(Run.school_code == this.school_code,
                                     Run.profile_key == this.profile_key,
                                     Run.started_at < this.started_at)
                .order_by(Run.started_at.desc(), Run.pk.desc()).limit(1)).first()
            return None if row is None else self._info(conn, row.pk)

    # -- retention --------------------------------------------------------------------------

    def prune(self, keep: int | None = None, keep_days: int | None = None, delete_bundles: bool = False,
              now: datetime | None = None, school: str | None = None,
              bundles_under: Path | None = None) -> PruneResult:
        """Remove runs that neither rule keeps: the ``keep`` newest runs of each school, and the
        runs of the last ``keep_days`` days. Bundles on disk are deleted only with
        ``delete_bundles`` (and only when their ``report.dsse.json`` still has the stored digest).

        ``school`` limits the prune to that school's runs (a scheduled run applies its own
        school's retention, not every school's); ``bundles_under`` deletes only bundles inside
        that directory (a scheduled run's output root: bundles written by hand elsewhere stay).
        """
        _check_retention(keep, keep_days)
        cutoff = None if keep_days is None else (now or _utcnow()) - timedelta(days=keep_days)
        runs = self.runs(school=school)
        doomed = [r for r, rank in zip(runs, _ranks(runs), strict=True) if not _kept(r, rank, keep, cutoff)]
        result = PruneResult(removed=doomed)
        with _writer(self.engine).begin() as conn:
            for chunk in _chunks([r.pk for r in doomed], 500):
                conn.execute(delete(Run).where(Run.pk.in_(chunk)))
        if delete_bundles:
            for r in doomed:
                _delete_bundle(r, result, bundles_under)
        return result

    # -- helpers ----------------------------------------------------------------------------

    def _info(self, conn: Connection, pk: int) -> RunInfo:
        row = conn.execute(select(Run).where(Run.pk == pk)).one()
        return _to_info(row, _scores(conn, [pk]).get(pk, ()))

    def rows(self, table: str, run_pk: int) -> list[dict[str, Any]]:
        """Every row of a child table for one run, as dictionaries (``run_pk`` and ``id`` left out)."""
        model = _TABLES[table]
        with self.engine.connect() as conn:
            got = conn.execute(select(model.__table__).where(model.__table__.c.run_pk == run_pk)).mappings()
            return [{k: v for k, v in r.items() if k not in {"id", "run_pk"}} for r in got]


def _insert_rows(conn: Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert a run's rows into a child table: one executemany, or on PostgreSQL with psycopg
    one ``COPY`` (a third of the ingest time there)."""
    if conn.dialect.name != "postgresql" or conn.dialect.driver != "psycopg":
        conn.execute(insert(_TABLES[table]), rows)
        return
    columns = list(rows[0])
    quoted = ", ".join(conn.dialect.identifier_preparer.quote(c) for c in columns)
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def _verified(bundle: Path, key: Path | None) -> tuple[dict[str, Any], str]:
    """The report of a bundle that verifies, and the key id it was verified with."""
    if not bundle.is_dir():
        raise BundleRefused(f"{bundle}: not a bundle directory")
    try:
        result = verify_bundle(bundle, key)
    except VerificationError as exc:
        raise BundleRefused(f"{bundle}: refused, it does not verify: {exc}") from None
    if not result.ok or result.report is None or result.keyid is None:
        raise BundleRefused(f"{bundle}: refused, it does not verify ({len(result.problems)} problem(s)): "
                            + "; ".join(result.problems))
    if result.untrusted:
        raise BundleRefused(f"{bundle}: refused, {result.untrusted_text()}; after checking the "
                            "fingerprint with the school, `auditor keys trust` its public key, or pin "
                            "it with --key")
    return result.report, result.keyid


def _scores(conn: Connection, pks: Sequence[int]) -> dict[int, tuple[ProfileScore, ...]]:
    out: dict[int, list[ProfileScore]] = {}
    for chunk in _chunks(list(pks), 500):
        rows = conn.execute(select(RunProfile).where(RunProfile.run_pk.in_(chunk))
                            .order_by(RunProfile.run_pk, RunProfile.profile)).all()
        for r in rows:
            out.setdefault(r.run_pk, []).append(ProfileScore(r.profile, r.score_total, r.score_possible,
                                                             r.items_pass, r.items_total))
    return {pk: tuple(v) for pk, v in out.items()}


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _to_info(row: Any, scores: tuple[ProfileScore, ...]) -> RunInfo:
    return RunInfo(
        pk=row.pk, run_id=row.run_id, school_code=row.school_code, school_name=row.school_name,
        school_district=row.school_district, started_at=row.started_at, finished_at=row.finished_at,
        profiles=tuple(p for p in row.profile_key.split(",") if p), bundle_path=row.bundle_path,
        bundle_digest=row.bundle_digest, key_fingerprint=row.key_fingerprint, key_pinned=row.key_pinned,
        verified=row.verified, exit_status=row.exit_status,
        counts={s: getattr(row, f"n_{s}") for s in STATUSES}, scores=scores)


def _finding_series(conn: Connection, check: str, target: str | None,
                    school: str | None) -> list[SeriesPoint]:
    query = (select(Run.run_id, Run.started_at, Run.school_code, FindingRow.target, FindingRow.measured,
                    FindingRow.threshold, FindingRow.unit, FindingRow.status)
             .join(Run, Run.pk == FindingRow.run_pk).where(FindingRow.check == check)
             .order_by(Run.started_at, Run.pk, FindingRow.target, FindingRow.id))
    if target is not None:
        query = query.where(FindingRow.target == target)
    if school:
        query = query.where(Run.school_code == school)
    return [SeriesPoint(*r) for r in conn.execute(query).all()]


def _measurement_series(conn: Connection, name: str, subject: str | None,
                        school: str | None) -> list[SeriesPoint]:
    query = (select(Run.run_id, Run.started_at, Run.school_code, Measurement.subject, Measurement.value,
                    Measurement.unit)
             .join(Run, Run.pk == Measurement.run_pk).where(Measurement.name == name)
             .order_by(Run.started_at, Run.pk, Measurement.subject, Measurement.id))
    if subject is not None:
        query = query.where(Measurement.subject == subject)
    if school:
        query = query.where(Run.school_code == school)
    return [SeriesPoint(r.run_id, r.started_at, r.school_code, r.subject, r.value, None, r.unit, None)
            for r in conn.execute(query).all()]


def _started(bundle: Path) -> str:
    """The run's start time as written in report.json (for ordering only; ingest verifies)."""
    try:
        report = json.loads((bundle / REPORT_NAME).read_bytes())
        return str(report["run"]["started_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def _ranks(runs: list[RunInfo]) -> list[int]:
    """Each run's rank among its school's runs (``runs`` newest first; 0 = newest)."""
    seen: dict[str, int] = {}
    ranks = []
    for r in runs:
        ranks.append(seen.get(r.school_code, 0))
        seen[r.school_code] = ranks[-1] + 1
    return ranks


def _check_retention(keep: int | None, keep_days: int | None) -> None:
    if keep is None and keep_days is None:
        raise RunNotFound("prune: say what to keep: --keep N (newest runs per school) and/or "
                          "--keep-days D (runs of the last D days)")
    if keep is not None and keep < 1:
        raise RunNotFound("prune: --keep must be at least 1 (the newest run of each school is kept)")
    if keep_days is not None and keep_days < 0:
        raise RunNotFound("prune: --keep-days must not be negative")


def _kept(run: RunInfo, rank: int, keep: int | None, cutoff: datetime | None) -> bool:
    return (keep is not None and rank < keep) or (cutoff is not None and run.started_at >= cutoff)


def _delete_bundle(run: RunInfo, result: PruneResult, under: Path | None = None) -> None:
    path = Path(run.bundle_path)
    if under is not None and not path.resolve().is_relative_to(under.resolve()):
        result.bundles_kept.append((run.bundle_path, f"outside {under}"))
        return
    if not path.is_dir():
        result.bundles_kept.append((run.bundle_path, "not found"))
        return
    try:
        same = bundle_digest(path) == run.bundle_digest
    except BundleRefused:
        same = False
    if not same:
        result.bundles_kept.append((run.bundle_path, "holds another bundle now"))
        return
    shutil.rmtree(path)
    result.bundles_deleted.append(run.bundle_path)
