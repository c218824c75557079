"""Alert state over time: which messages to send, given what the rules found and when.

The engine does not know where conditions come from. A caller hands it evaluations (rule,
subject such as a school code, firing or not, severity, text) at time ``now`` and asks what to
send; every time is the caller's (an injected clock), so the engine never sleeps or reads the
clock, and the same inputs give the same messages.

One alert is one (rule, subject) pair, keyed ``rule/subject``:

* **for**: a condition is *pending* from the first evaluation that finds it; it alerts once it
  has held for the rule's ``for``. One that clears before that is forgotten without a word.
* **de-duplication**: while it stays firing nothing more is sent, except a **reminder** every
  ``repeat`` (if the rule has one) counted from the last message.
* **recovery**: when an alert that was announced clears, a ``resolved`` message is sent (an
  alert that was never announced clears silently). If it fires again before its recovery went
  out, the recovery is dropped and the alert simply goes on.
* **grouping**: messages of one rule and one kind (firing, reminder, resolved) wait until the
  first of them has waited ``group_window``, then go as one message listing every subject then
  due: ten schools dropping off together make one message, not ten.
* **acknowledgement** (:meth:`Engine.ack`): no more reminders; the recovery is still sent.
* **windows**: a ``mute`` function (built from quiet hours and maintenance windows by
  :func:`windows`, or any callable) says whether a message due now may go. Two policies:

  - ``hold`` (quiet hours by default): nothing goes out inside the window; at its end what is
    still true is sent: alerts still firing (one grouped message per rule), recoveries of alerts
    announced before, reminders that came due (once). Alerts that started and cleared inside the
    window are never sent: nobody needs to hear at 07:00 about a blip at 02:00 that is over.
  - ``suppress`` (maintenance by default): alerts that come due inside the window are dropped,
    and a condition still firing when the window ends must hold for ``for`` again, counted from
    the end (so planned work is not reported, but a fault that outlives it is). Reminders and
    recoveries of alerts announced before the window wait for its end, as with ``hold``, so
    nobody is left believing a school is still down.

* **delivery**: :meth:`Engine.plan` says what to send; the caller delivers each message and
  reports with :meth:`Engine.commit` whether any channel took it. A message no channel took
  stays due and is planned again after ``retry_after``.

**State** is a plain object (:class:`EngineState`, one small record per pending or firing
alert) that the caller persists (``to_json`` / ``from_json``); :class:`auditor.alerts.dispatch.Alerter`
keeps it in a JSON file. Why not a table: the engine must run where there is no database (an
agent at a school) as well as in the district server, and a JSON document of a few records is
atomic to replace and trivial to inspect. A restart resumes from the saved state: nothing that
was sent is sent again; a message planned but not yet committed when the process died is sent
again (at least once, never lost).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from auditor.alerts.channels import Alert, Layout, worst
from auditor.alerts.config import (
    DAYS,
    AlertsConfig,
    Calendar,
    Policy,
    QuietHours,
    RuleSettings,
    Severity,
)
from auditor.errors import InputError

Kind = Literal["firing", "reminder", "resolved"]
STATE_VERSION = 1


@dataclass(frozen=True)
class Evaluation:
    """What a rule found about one subject at one time."""

    rule: str
    subject: str
    firing: bool
    text: str = ""
    severity: Severity | None = None  # the rule's if not given
    school: str | None = None  # the subject if not given; "" for an alert about no school
    district: str | None = None
    link: str | None = None


@dataclass(frozen=True)
class Rule:
    """A rule's timing and where its alerts go."""

    id: str
    title: str
    severity: Severity = "warning"
    for_: dt.timedelta = dt.timedelta(0)
    repeat: dt.timedelta | None = None
    group_window: dt.timedelta = dt.timedelta(0)
    channels: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, rule_id: str, s: RuleSettings) -> Rule:
        return cls(rule_id, s.title or rule_id, s.severity, s.for_, s.repeat, s.group_window,
                   tuple(s.channels))


@dataclass(frozen=True)
class Mute:
    """A window covering a message due now: it ends at ``until``; ``policy`` says what happens."""

    until: dt.datetime
    policy: Policy
    reason: str = ""


MuteFn = Callable[[dt.datetime, str, str, Severity], Mute | None]  # (now, rule, subject, severity)


@dataclass
class Record:
    """One pending or firing alert (or one whose recovery is still to be sent)."""

    rule: str
    subject: str
    started: dt.datetime  # first found firing (what messages show)
    pending_from: dt.datetime  # what ``for`` counts from (moved to a suppressing window's end)
    severity: Severity
    text: str = ""
    school: str | None = None
    district: str | None = None
    link: str | None = None
    firing: bool = True
    resolved_at: dt.datetime | None = None
    announced_at: dt.datetime | None = None  # the firing message went out
    last_sent: dt.datetime | None = None  # the last firing or reminder message
    reminders: int = 0
    acked_by: str | None = None
    acked_at: dt.datetime | None = None
    retry_at: dt.datetime | None = None  # a message no channel took waits until then

    @property
    def key(self) -> str:
        return f"{self.rule}/{self.subject}"


_TIMES = {f.name for f in fields(Record)} & {"started", "pending_from", "resolved_at", "announced_at",
                                             "last_sent", "acked_at", "retry_at"}


@dataclass
class EngineState:
    """Everything the engine remembers; JSON in, JSON out."""

    records: dict[str, Record] = field(default_factory=dict)

    def to_json(self) -> str:
        docs = []
        for rec in self.records.values():
            doc = asdict(rec)
            for name in _TIMES:
                doc[name] = doc[name].isoformat() if doc[name] is not None else None
            docs.append(doc)
        return json.dumps({"version": STATE_VERSION, "alerts": docs}, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> EngineState:
        try:
            doc = json.loads(text)
            if doc.get("version") != STATE_VERSION:
                raise ValueError(f"version {doc.get('version')!r}, expected {STATE_VERSION}")
            records = {}
            for item in doc["alerts"]:
                values: dict[str, Any] = {
                    k: (dt.datetime.fromisoformat(v) if k in _TIMES and v is not None else v)
                    for k, v in item.items()}
                rec = Record(**values)
                records[rec.key] = rec
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise InputError(f"the alert state is not readable ({exc}); move it aside to start afresh "
                             "(alerts that are firing will be announced again)") from None
        return cls(records)


@dataclass(frozen=True)
class Outgoing:
    """One message to deliver: the alert, the alerts it covers, and the channels it goes to."""

    alert: Alert
    rule: str
    kind: Kind
    keys: tuple[str, ...]
    channels: tuple[str, ...]


class Engine:
    """Decides what to send; see the module's text for the rules it follows."""

    def __init__(self, rules: Mapping[str, Rule], state: EngineState | None = None, *,
                 mute: MuteFn | None = None, retry_after: dt.timedelta = dt.timedelta(minutes=1),
                 layout: Layout | None = None) -> None:
        self.rules = dict(rules)
        self.state = state if state is not None else EngineState()
        self.mute = mute
        self.retry_after = retry_after
        self.layout = layout or Layout()

    @classmethod
    def from_config(cls, cfg: AlertsConfig, state: EngineState | None = None,
                    mute: MuteFn | None = None) -> Engine:
        return cls(rules_of(cfg), state, mute=mute if mute is not None else windows(cfg),
                   retry_after=cfg.retry_after, layout=Layout(cfg.zone, cfg.lang))

    @property
    def records(self) -> dict[str, Record]:
        return self.state.records

    # ------------------------------------------------------------------ what the rules found

    def observe(self, now: dt.datetime, evaluations: Iterable[Evaluation]) -> None:
        """Take in evaluations made at ``now``. A (rule, subject) not evaluated keeps its state."""
        _aware(now)
        for ev in evaluations:
            rule = self.rules.get(ev.rule)
            if rule is None:
                raise InputError(f"an evaluation names rule {ev.rule!r}, which the alerts file does not "
                                 f"define (rules: {', '.join(sorted(self.rules)) or 'none'})")
            key = f"{ev.rule}/{ev.subject}"
            rec = self.records.get(key)
            if ev.firing:
                if rec is None:
                    rec = self.records[key] = Record(ev.rule, ev.subject, now, now, rule.severity)
                elif not rec.firing:  # back before its recovery went out: it simply goes on
                    rec.firing, rec.resolved_at = True, None
                rec.severity = ev.severity or rule.severity
                rec.text, rec.school, rec.district, rec.link = ev.text, ev.school, ev.district, ev.link
            elif rec is not None and rec.firing:
                if rec.announced_at is None:
                    del self.records[key]  # never announced: it clears without a word
                else:
                    rec.firing, rec.resolved_at, rec.retry_at = False, now, None

    def ack(self, rule: str, subject: str, now: dt.datetime, by: str) -> Record:
        """Acknowledge a firing alert: no more reminders (its recovery is still sent)."""
        rec = self.records.get(f"{rule}/{subject}")
        if rec is None or not rec.firing:
            raise InputError(f"no firing alert {rule}/{subject} to acknowledge")
        rec.acked_by, rec.acked_at = by, now
        return rec

    # ------------------------------------------------------------------ what to send

    def step(self, now: dt.datetime, evaluations: Iterable[Evaluation] = ()) -> list[Outgoing]:
        """:meth:`observe` then :meth:`plan`."""
        self.observe(now, evaluations)
        return self.plan(now)

    def plan(self, now: dt.datetime) -> list[Outgoing]:
        """The messages to send at ``now``. Deliver each, then :meth:`commit` it."""
        _aware(now)
        groups: dict[tuple[str, Kind], list[tuple[Record, dt.datetime]]] = {}
        for key, rec in list(self.records.items()):
            rule = self.rules.get(rec.rule)
            if rule is None:  # the rule left the alerts file: forget its alerts
                del self.records[key]
                continue
            if rec.retry_at is not None and now < rec.retry_at:
                continue
            due = self._due(rec, rule, now)
            if due is None:
                continue
            kind, due_at = due
            mute = self.mute(now, rec.rule, rec.subject, rec.severity) if self.mute else None
            if mute is not None:
                if mute.policy == "suppress" and kind == "firing":
                    rec.pending_from = max(rec.pending_from, mute.until)  # `for` counts from the end
                continue
            groups.setdefault((rec.rule, kind), []).append((rec, due_at))
        out = []
        for (rule_id, kind), members in sorted(groups.items()):
            rule = self.rules[rule_id]
            if now < min(at for _, at in members) + rule.group_window:
                continue  # the group is still gathering
            recs = sorted((rec for rec, _ in members), key=lambda r: r.subject)
            out.append(Outgoing(self._message(rule, kind, recs), rule_id, kind,
                                tuple(r.key for r in recs), rule.channels))
        return out

    def commit(self, sent: Outgoing, now: dt.datetime, ok: bool) -> None:
        """Record that ``sent`` was delivered (``ok``: at least one channel took it) or not."""
        for key in sent.keys:
            rec = self.records.get(key)
            if rec is None:
                continue
            if not ok:
                rec.retry_at = now + self.retry_after
                continue
            rec.retry_at = None
            if sent.kind == "firing":
                rec.announced_at = rec.last_sent = now
            elif sent.kind == "reminder":
                rec.last_sent = now
                rec.reminders += 1
            elif not rec.firing:  # resolved, and still so
                del self.records[key]

    @staticmethod
    def _due(rec: Record, rule: Rule, now: dt.datetime) -> tuple[Kind, dt.datetime] | None:
        if not rec.firing:
            return ("resolved", rec.resolved_at or now) if rec.announced_at is not None else None
        if rec.announced_at is None:
            at = rec.pending_from + rule.for_
            return ("firing", at) if now >= at else None
        if rule.repeat is not None and rec.acked_by is None:
            at = (rec.last_sent or rec.announced_at) + rule.repeat
            return ("reminder", at) if now >= at else None
        return None

    def _message(self, rule: Rule, kind: Kind, recs: list[Record]) -> Alert:
        state: Literal["firing", "resolved"] = "resolved" if kind == "resolved" else "firing"
        started = min(r.started for r in recs)
        resolved = max((r.resolved_at for r in recs if r.resolved_at is not None), default=None)
        common = {name: (values.pop() if len(values := {getattr(r, name) for r in recs}) == 1 else None)
                  for name in ("district", "link")}
        if len(recs) == 1:
            (rec,) = recs
            school = rec.school if rec.school is not None else rec.subject  # "": about no school
            return Alert(rec.key, state, rec.severity, rule.title, rec.text, started,
                         resolved if kind == "resolved" else None, school or None, rec.district,
                         rec.link, rule.id, (rec.subject,), kind == "reminder")
        colon = "：" if self.layout.lang == "zh" else ": "
        lines = []
        for rec in recs:
            name = rec.school or rec.subject
            if name != rec.subject:
                name = f"{name} ({rec.subject})"
            lines.append(f"- {name}{colon}{rec.text}" if rec.text else f"- {name}")
        subjects = tuple(r.subject for r in recs)
        return Alert(f"{rule.id}/{','.join(subjects)}", state, worst([r.severity for r in recs]), rule.title,
                     "\n".join(lines), started, resolved if kind == "resolved" else None, None,
                     common["district"], common["link"], rule.id, subjects, kind == "reminder")


def _aware(now: dt.datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("the engine needs timezone-aware times (e.g. datetime.now(UTC))")


# ---------------------------------------------------------------------------- windows


def quiet_end(q: QuietHours, now: dt.datetime, tz: dt.tzinfo,
              calendar: Calendar | None = None) -> dt.datetime | None:
    """When the occurrence of quiet hours ``q`` covering ``now`` ends, or None if none does."""
    local = now.astimezone(tz)
    start, end = (dt.time.fromisoformat(q.start), dt.time.fromisoformat(q.end))
    for back in (0, 1):  # an occurrence that began today, or yesterday and crosses midnight
        day = local.date() - dt.timedelta(days=back)
        if q.days is not None and DAYS[day.weekday()] not in q.days:
            continue
        if q.on != "all" and (calendar or Calendar()).school_day(day) != (q.on == "school_days"):
            continue
        begin = dt.datetime.combine(day, start, tz)
        finish = dt.datetime.combine(day + dt.timedelta(days=0 if end > start else 1), end, tz)
        if begin <= local < finish:
            return finish
    return None


def windows(cfg: AlertsConfig) -> MuteFn:
    """The alerts file's quiet hours and maintenance windows as one mute function. Where several
    cover a message, ``suppress`` wins over ``hold``, and the latest end is the end."""
    tz = cfg.zone

    def mute(now: dt.datetime, rule: str, subject: str, severity: Severity) -> Mute | None:
        found: list[Mute] = []
        for m in cfg.maintenance:
            if (m.start <= now < m.end and (m.subjects is None or subject in m.subjects)
                    and (m.rules is None or rule in m.rules) and severity not in m.allow):
                found.append(Mute(m.end, m.policy, m.reason or "maintenance"))
        for q in cfg.quiet_hours:
            end = quiet_end(q, now, tz, cfg.calendar)
            if end is not None and severity not in q.allow:
                found.append(Mute(end, q.policy, "quiet hours"))
        if not found:
            return None
        policy: Policy = "suppress" if any(m.policy == "suppress" for m in found) else "hold"
        return Mute(max(m.until for m in found), policy, "; ".join(sorted({m.reason for m in found})))

    return mute


def rules_of(cfg: AlertsConfig) -> dict[str, Rule]:
    return {rid: Rule.from_settings(rid, s) for rid, s in cfg.rules.items()}
