"""The rules ``auditor alerts check`` evaluates against a district's database, besides the school
states of :mod:`auditor.alerts.monitoring`:

- ``throughput-below-contract``: per school, uplink and direction, ``k`` of the last ``m`` valid
  throughput tests below ``percent`` % of the contracted rate. Read from the district's cache of
  each uplink's last 16 valid tests (``district_mon_uplinks``, what the monitoring overview
  reads) and the latest contracts: one row per uplink.
- ``reach-loss``: reach probes lost above ``percent`` % over the last ``window``, per school (one
  grouped query on the samples' (school, at) index). Fewer than ``min_probes`` probes in the
  window (an agent that fell silent) is not judged: the alert keeps its state, and
  ``school-silent`` says why.
- ``audit-regression``: a school's newest run (ingested within ``max_age``) against its previous
  one: the Beijing score fell by more than ``score_drop``, or checks that passed on a target fail
  now. The score is read as the dashboard reads it (``auditor.district.views``: the
  ``beijing-smart-campus`` profile's total); findings are paired by (check, target) as
  ``auditor diff`` pairs them, in one SQL join over both runs' findings. A newer run without a
  regression clears it; a regression whose run has aged out is no longer evaluated, so an
  alert already firing stays until the next run.
- ``certificate-expiring``: a PEM certificate (each one of a chain) expiring within ``days``: the
  district's (``<home>/tls/server.pem`` and ``district-ca.pem``, written by ``auditor district
  tls``, and the city CA of ``parent.ca``) and the alerts file's ``files``. Members' signing keys
  are bare Ed25519/SM2 public keys pinned at enrolment: they carry no expiry (they are rotated or
  revoked), so there is nothing to warn about; enrolment tokens expire by design (72 h) and are
  not watched either.
- ``job-not-picked-up``: a district job (``district_jobs``) still pending ``after`` it came due,
  whose window closed before the agent claimed it (reported for ``lookback``, or until the agent
  claims a later job), or whose lease ran out ``after`` ago without a result (the agent that
  claimed it died: the job is offered again).

Every evaluator is a plain function of the database and a time; the text is rendered in the
alerts file's language from the figures (``auditor.messages``, keys ``alerts.*``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography import x509
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased

from auditor.alerts.config import (
    AlertsConfig,
    ExpiryRule,
    JobRule,
    LossRule,
    RegressionRule,
    RuleSettings,
    ThroughputRule,
)
from auditor.alerts.engine import Evaluation
from auditor.alerts.monitoring import local
from auditor.district.config import DistrictConfig
from auditor.district.db import Database
from auditor.district.models import Job, Member, MonContract, MonSample, MonUplink
from auditor.district.monitoring import EPOCH
from auditor.district.tlsgen import CA_CERT, SERVER_CERT
from auditor.district.views import BEIJING
from auditor.history.models import FindingRow, Run, RunProfile
from auditor.messages import Msg, joined, msg


@dataclass(frozen=True)
class View:
    """How the evaluations read: the time of the check (aware), the language and time zone of the
    text, and the dashboard's base URL (for links)."""

    now: dt.datetime
    lang: str = "zh"
    tz: dt.tzinfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    link: str | None = None

    @property
    def utc(self) -> dt.datetime:
        """The time of the check as the district stores times (naive UTC)."""
        return self.now.astimezone(dt.UTC).replace(tzinfo=None)

    def text(self, message: Msg) -> str:
        return message.render(self.lang)

    def url(self, path: str) -> str | None:
        return f"{self.link.rstrip('/')}{path}" if self.link else None

    def time(self, at: dt.datetime) -> str:
        return local(at, self.tz)


@dataclass(frozen=True)
class Sources:
    """What the rules read: the district's database and configuration, its home (for the
    certificates ``auditor district tls`` writes) and the alerts file's folder (relative paths)."""

    db: Database
    district: DistrictConfig
    home: Path
    base: Path
    view: View


@dataclass(frozen=True)
class School:
    code: str
    name: str
    district: str | None = None


def schools(db: Database) -> dict[str, School]:
    """The enrolled schools by code."""
    with db.engine.connect() as conn:
        rows = conn.execute(select(Member.code, Member.name, Member.via).where(Member.kind == "school"))
        return {r.code: School(r.code, r.name or r.code, r.via or None) for r in rows}


# ---------------------------------------------------------------------------- throughput


@dataclass(frozen=True)
class UplinkTests:
    """One school's uplink in one direction: its contract and its recent valid tests (Mbit/s,
    newest first)."""

    school: School
    uplink: str
    provider: str
    direction: str  # down | up
    contract: float
    tests: tuple[float, ...]


def recent_tests(recent: str, m: int, now: dt.datetime) -> list[float]:
    """The newest ``m`` Mbit/s of a ``district_mon_uplinks.recent`` value (newest first,
    ``seconds-since-epoch:mbps`` joined by commas), none later than ``now`` (naive UTC)."""
    out = []
    for pair in filter(None, recent.split(",")):
        secs, mbps = pair.split(":")
        if EPOCH + dt.timedelta(seconds=int(secs)) <= now:
            out.append(float(mbps))
        if len(out) == m:
            break
    return out


def uplink_tests(src: Sources, m: int) -> list[UplinkTests]:
    """Every contracted uplink and direction of the enrolled schools, with its last ``m`` tests."""
    known = schools(src.db)
    with src.db.engine.connect() as conn:
        contracts = conn.execute(select(MonContract.school, MonContract.uplink, MonContract.provider,
                                        MonContract.down_mbps, MonContract.up_mbps)).all()
        recent = {(r.school, r.uplink, r.direction): r.recent for r in conn.execute(
            select(MonUplink.school, MonUplink.uplink, MonUplink.direction, MonUplink.recent))}
    out = []
    for c in sorted(contracts, key=lambda c: (c.school, c.uplink)):
        if c.school not in known:
            continue
        for direction, contract in (("down", c.down_mbps), ("up", c.up_mbps)):
            if contract:
                tests = recent_tests(recent.get((c.school, c.uplink, direction), ""), m, src.view.utc)
                out.append(UplinkTests(known[c.school], c.uplink, c.provider, direction, contract,
                                       tuple(tests)))
    return out


def throughput_evaluations(items: Iterable[UplinkTests], rule_id: str, rule: ThroughputRule,
                           view: View) -> list[Evaluation]:
    """Firing where ``k`` of the last ``m`` tests are below ``percent`` % of the contract."""
    out = []
    for u in items:
        tests = u.tests[: rule.m]
        slow = [mbps for mbps in tests if mbps < u.contract * rule.percent / 100]
        firing = len(slow) >= rule.k
        text = view.text(msg(
            "alerts.throughput", name=u.school.name, code=u.school.code, uplink=u.uplink,
            provider=u.provider, direction=msg(f"alerts.dir_{u.direction}"), m=len(tests), k=len(slow),
            contract=u.contract, percent=rule.percent, rates=[f"{mbps:.0f}" for mbps in tests],
        )) if firing else ""
        out.append(Evaluation(rule_id, f"{u.school.code}/{u.uplink}/{u.direction}", firing, text,
                              school=u.school.code, district=u.school.district,
                              link=view.url(f"/dashboard/monitoring/schools/{u.school.code}")))
    return out


def throughput(src: Sources, rule_id: str, rule: ThroughputRule) -> list[Evaluation]:
    return throughput_evaluations(uplink_tests(src, rule.m), rule_id, rule, src.view)


# ---------------------------------------------------------------------------- loss


@dataclass(frozen=True)
class ReachSum:
    """One school's reach probes sent and answered over the window."""

    school: School
    sent: int
    received: int


def reach_sums(src: Sources, window: dt.timedelta) -> list[ReachSum]:
    known = schools(src.db)
    s = MonSample.c
    with src.db.engine.connect() as conn:
        sums = conn.execute(
            select(s.school, func.sum(s.sent).label("sent"), func.sum(s.received).label("received"))
            .where(s.kind == "reach", s.at >= src.view.utc - window, s.at <= src.view.utc)
            .group_by(s.school)).all()
    return [ReachSum(known[r.school], int(r.sent or 0), int(r.received or 0))
            for r in sorted(sums, key=lambda r: r.school) if r.school in known]


def loss_evaluations(sums: Iterable[ReachSum], rule_id: str, rule: LossRule, view: View) -> list[Evaluation]:
    """Firing above ``percent`` % lost; a school with fewer than ``min_probes`` probes is not
    evaluated (its alert keeps its state)."""
    minutes = rule.window.total_seconds() / 60
    out = []
    for r in sums:
        if r.sent < rule.min_probes:
            continue
        ratio = 100 * (1 - r.received / r.sent)
        firing = round(ratio, 9) > rule.percent
        text = view.text(msg("alerts.loss", name=r.school.name, code=r.school.code, loss=ratio,
                             limit=rule.percent, minutes=minutes, sent=r.sent)) if firing else ""
        out.append(Evaluation(rule_id, r.school.code, firing, text, school=r.school.code,
                              district=r.school.district,
                              link=view.url(f"/dashboard/monitoring/schools/{r.school.code}")))
    return out


def loss(src: Sources, rule_id: str, rule: LossRule) -> list[Evaluation]:
    return loss_evaluations(reach_sums(src, rule.window), rule_id, rule, src.view)


# ---------------------------------------------------------------------------- audit regressions


@dataclass
class Comparison:
    """A school's newest run against its previous one."""

    school: School
    run_id: str
    started_at: dt.datetime  # naive UTC
    latest: int = 0  # the runs' keys in the history tables
    previous: int = 0
    scores: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # profile → before, after, of
    failed: list[str] = field(default_factory=list)  # "check target": passed before, fails now


def comparisons(src: Sources, max_age: dt.timedelta) -> list[Comparison]:
    """Each school whose newest run was ingested within ``max_age`` and has a run before it: the
    Beijing scores of both and the (check, target) pairs that passed before and fail now."""
    known = schools(src.db)
    ranked = select(
        Run.pk, Run.school_code, Run.school_name, Run.run_id, Run.started_at, Run.ingested_at,
        func.row_number().over(partition_by=Run.school_code,
                               order_by=(Run.started_at.desc(), Run.pk.desc())).label("rank"),
    ).subquery()
    newest, before = aliased(ranked), aliased(ranked)
    pairs = (select(newest.c.school_code, newest.c.school_name, newest.c.run_id, newest.c.started_at,
                    newest.c.pk.label("latest"), before.c.pk.label("previous"))
             .join(before, and_(before.c.school_code == newest.c.school_code, before.c.rank == 2))
             .where(newest.c.rank == 1, newest.c.ingested_at >= src.view.utc - max_age))
    now_f, then_f = aliased(FindingRow), aliased(FindingRow)
    with src.db.engine.connect() as conn:
        found = {}
        for r in conn.execute(pairs):
            school = known.get(r.school_code) or School(r.school_code, r.school_code)
            if school.name == school.code and r.school_name:  # enrolled without a name: the report's
                school = School(school.code, r.school_name, school.district)
            found[r.latest] = Comparison(school, r.run_id, r.started_at, r.latest, r.previous)
        if not found:
            return []
        runs = [*found, *(c.previous for c in found.values())]
        scores = {(r.run_pk, r.profile): (r.score_total or 0.0, r.score_possible) for r in conn.execute(
            select(RunProfile.run_pk, RunProfile.profile, RunProfile.score_total, RunProfile.score_possible)
            .where(RunProfile.run_pk.in_(runs), RunProfile.profile.startswith(BEIJING),
                   RunProfile.score_possible > 0))}
        sub = pairs.subquery()
        failed = conn.execute(
            select(sub.c.latest, now_f.check, now_f.target).distinct()
            .join(now_f, now_f.run_pk == sub.c.latest)
            .join(then_f, and_(then_f.run_pk == sub.c.previous, then_f.check == now_f.check,
                               then_f.target == now_f.target))
            .where(now_f.status == "fail", then_f.status == "pass")
            .order_by(sub.c.latest, now_f.check, now_f.target)).all()
    for (pk, profile), (after, possible) in scores.items():
        c = found.get(pk)
        if c is not None and (c.previous, profile) in scores:
            c.scores[profile] = (scores[(c.previous, profile)][0], after, possible)
    for latest, check, target in failed:
        found[latest].failed.append(f"{check} {target}")
    return sorted(found.values(), key=lambda c: c.school.code)


def regression_evaluations(found: Iterable[Comparison], rule_id: str, rule: RegressionRule,
                           view: View) -> list[Evaluation]:
    """Firing where a Beijing score fell by more than ``score_drop`` or checks passed before and
    fail now."""
    out = []
    for c in found:
        what: list[Msg] = [msg("alerts.score_fell", before=before, after=after, possible=possible)
                           for _profile, (before, after, possible) in sorted(c.scores.items())
                           if before - after > rule.score_drop]
        if c.failed:
            shown: list[str | Msg] = list(c.failed[: rule.list_checks])
            if len(c.failed) > len(shown):
                shown.append(msg("alerts.more", n=len(c.failed) - len(shown)))
            what.append(msg("alerts.checks_failed", n=len(c.failed), checks=shown))
        text = view.text(msg("alerts.regression", name=c.school.name, code=c.school.code, run=c.run_id,
                             time=view.time(c.started_at), what=joined(what))) if what else ""
        out.append(Evaluation(rule_id, c.school.code, bool(what), text, school=c.school.code,
                              district=c.school.district,
                              link=view.url(f"/dashboard/schools/{c.school.code}")))
    return out


def regression(src: Sources, rule_id: str, rule: RegressionRule) -> list[Evaluation]:
    return regression_evaluations(comparisons(src, rule.max_age), rule_id, rule, src.view)


# ---------------------------------------------------------------------------- certificates


def district_certificates(src: Sources) -> list[Path]:
    """The district's own certificates that exist: its server certificate and CA (as ``auditor
    district tls`` writes them under the home) and the city CA it pins (``parent.ca``)."""
    found = [src.home / "tls" / SERVER_CERT, src.home / "tls" / CA_CERT]
    if src.district.parent is not None:
        found.append(src.district.parent.ca)
    return [p for p in found if p.is_file()]


def _subject(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string() or "-"


def certificate(path: Path, days: int, view: View) -> tuple[bool, str]:
    """Whether ``path`` (PEM, one certificate or a chain) holds one expiring within ``days`` (or is
    unreadable), and the text saying so."""
    try:
        certs = x509.load_pem_x509_certificates(path.read_bytes())
    except OSError as exc:
        return True, view.text(msg("alerts.cert_unreadable", path=str(path), reason=exc.strerror or str(exc)))
    except ValueError as exc:
        return True, view.text(msg("alerts.cert_unreadable", path=str(path), reason=str(exc)))
    first = min(certs, key=lambda c: c.not_valid_after_utc)
    ends = first.not_valid_after_utc
    left = ends - view.now
    if left > dt.timedelta(days=days):
        return False, ""
    name = _subject(first)
    if left <= dt.timedelta(0):
        return True, view.text(msg("alerts.cert_expired", path=str(path), subject=name, time=view.time(ends)))
    return True, view.text(msg("alerts.cert_expiring", path=str(path), subject=name, time=view.time(ends),
                               days=left.days))


def certificate_evaluations(paths: Iterable[Path], rule_id: str, rule: ExpiryRule,
                            view: View) -> list[Evaluation]:
    """One evaluation per certificate file (the subject is its path; about no school)."""
    out = []
    for path in dict.fromkeys(paths):
        firing, text = certificate(path, rule.days, view)
        out.append(Evaluation(rule_id, str(path), firing, text, school=""))
    return out


def certificates(src: Sources, rule_id: str, rule: ExpiryRule) -> list[Evaluation]:
    paths = district_certificates(src) if rule.district else []
    paths += [p if p.is_absolute() else src.base / p for p in rule.files]
    return certificate_evaluations(paths, rule_id, rule, src.view)


# ---------------------------------------------------------------------------- jobs


@dataclass(frozen=True)
class OpenJob:
    """A district job that is not done, failed or long expired (``district_jobs``)."""

    id: str
    school: str
    profiles: str
    status: str  # pending claimed deferred expired
    not_before: dt.datetime  # naive UTC, as all below
    not_after: dt.datetime | None = None
    claimed_at: dt.datetime | None = None
    lease_until: dt.datetime | None = None


def open_jobs(src: Sources, lookback: dt.timedelta) -> tuple[list[OpenJob], dict[str, dt.datetime]]:
    """The jobs not finished (and those expired within ``lookback``), and when each school's agent
    last claimed a job."""
    with src.db.engine.connect() as conn:
        rows = conn.execute(
            select(Job.id, Job.member, Job.profiles, Job.status, Job.not_before, Job.not_after,
                   Job.claimed_at, Job.lease_until)
            .where(or_(Job.status.in_(("pending", "claimed", "deferred")),
                       and_(Job.status == "expired", Job.not_after >= src.view.utc - lookback)))
            .order_by(Job.member, Job.created_at)).all()
        last = select(Job.member, func.max(Job.claimed_at)).where(Job.claimed_at.is_not(None))
        claimed = {m: at for m, at in conn.execute(last.group_by(Job.member)) if at is not None}
    return [OpenJob(r.id, r.member, r.profiles, r.status, r.not_before, r.not_after, r.claimed_at,
                    r.lease_until) for r in rows], claimed


def overdue(job: OpenJob, rule: JobRule, now: dt.datetime, last_claim: dt.datetime | None,
            tz: dt.tzinfo = dt.UTC) -> Msg | None:
    """Why ``job`` counts as not picked up at ``now`` (naive UTC), or None (times written in ``tz``)."""
    what = {"job": job.id[:8], "profiles": ", ".join(p for p in job.profiles.split(",") if p)}
    if job.status in ("claimed", "deferred"):
        if job.lease_until is not None and job.lease_until <= now - rule.after:
            return msg("alerts.job_lapsed", **what, time=local(job.lease_until, tz))
        return None
    if job.not_after is not None and job.not_after <= now:  # the window closed (expired, or not yet marked)
        if job.claimed_at is None and job.not_after >= now - rule.lookback and (
                last_claim is None or last_claim < job.not_after):  # the agent has not been back since
            return msg("alerts.job_expired", **what, time=local(job.not_after, tz))
        return None
    if job.status == "pending" and job.not_before <= now - rule.after:
        return msg("alerts.job_waiting", **what, time=local(job.not_before, tz),
                   minutes=(now - job.not_before).total_seconds() // 60)
    return None


def job_evaluations(known: Mapping[str, School], found: Iterable[OpenJob],
                    last_claims: Mapping[str, dt.datetime], rule_id: str, rule: JobRule,
                    view: View) -> list[Evaluation]:
    """One evaluation per enrolled school: firing while it has a job its agent did not pick up."""
    late: dict[str, list[Msg]] = defaultdict(list)
    for job in found:
        why = overdue(job, rule, view.utc, last_claims.get(job.school), view.tz)
        if why is not None:
            late[job.school].append(why)
    out = []
    for code, school in sorted(known.items()):
        items = late.get(code, [])
        text = view.text(msg("alerts.jobs", name=school.name, code=code, jobs=joined(items))) if items else ""
        out.append(Evaluation(rule_id, code, bool(items), text, school=code, district=school.district,
                              link=view.url(f"/dashboard/schools/{code}")))
    return out


def jobs(src: Sources, rule_id: str, rule: JobRule) -> list[Evaluation]:
    found, claimed = open_jobs(src, rule.lookback)
    return job_evaluations(schools(src.db), found, claimed, rule_id, rule, src.view)


# ---------------------------------------------------------------------------- all of them

EVALUATORS: Mapping[str, tuple[type[RuleSettings], Callable[..., list[Evaluation]]]] = {
    "throughput-below-contract": (ThroughputRule, throughput),
    "reach-loss": (LossRule, loss),
    "audit-regression": (RegressionRule, regression),
    "certificate-expiring": (ExpiryRule, certificates),
    "job-not-picked-up": (JobRule, jobs),
}


def evaluate(cfg: AlertsConfig, src: Sources, only: Iterable[str] | None = None) -> list[Evaluation]:
    """The evaluations of every rule of :data:`EVALUATORS` the alerts file defines."""
    wanted = None if only is None else set(only)
    out: list[Evaluation] = []
    for rule_id, settings in cfg.rules.items():
        entry = EVALUATORS.get(rule_id)
        if entry is None or (wanted is not None and rule_id not in wanted):
            continue
        model, evaluator = entry
        assert isinstance(settings, model)  # the alerts file validated it with this model
        out += evaluator(src, rule_id, settings)
    return out
