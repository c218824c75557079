"""From findings to item statuses and, for point-scored frameworks, to points.

Item status: a weakened threshold fails the item; otherwise its checks decide (any fail →
fail, else error, skipped or waived keep it from passing); parts that no probe can evidence
need a valid attestation. An attestation never overrides a measured result.

Points (``scoring: deduction``, the Beijing criteria): a 二级指标 with all items satisfied earns
its points; each unsatisfied item costs ``deduction``; with none satisfied it earns 0
("都不符合得0分"); a group whose rule writes no deduction is all or nothing. A 一级指标 with an
``override_rule`` (the starred ones, and 数字资源) earns its full points when its override is
attested.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import partial

from auditor.attest import Attestation
from auditor.model import Finding, IndicatorResult, JsonDict, Status, combine
from auditor.profile import Group, Item, Profile
from auditor.waivers import Waiver


@dataclass(frozen=True)
class ItemInputs:
    """What decides one item: its findings, why its thresholds are invalid, its attestations."""

    findings: Sequence[Finding] = ()
    weakened: Sequence[str] = ()
    attestations: Sequence[Attestation] = ()
    waiver: Waiver | None = None  # an active waiver of the item as a whole


def _attested(atts: Sequence[Attestation]) -> tuple[str, ...]:
    return tuple(f"{a.by} ({a.role}, {a.at:%Y-%m-%d})" for a in atts)


def item_status(item: Item, inputs: ItemInputs) -> tuple[Status, str]:
    """The item's status and the reason for it. A waiver never turns it into a pass."""
    status, reason = _unwaived_status(item, inputs)
    w = inputs.waiver
    if w is None or status is Status.PASS:
        return status, reason
    return Status.WAIVED, (f"waived by {w.approver} until {w.expires} ({w.reason}); "
                           f"real status {status.value}: {reason}")


def _unwaived_status(item: Item, inputs: ItemInputs) -> tuple[Status, str]:
    if inputs.weakened:
        return Status.FAIL, "threshold weakened below what the standard requires: " + "; ".join(
            inputs.weakened)
    measured: Status | None = None
    needs = list(item.manual) or ([] if item.checks else ["the whole item"])
    if item.checks:
        if not inputs.findings:
            return Status.ERROR, "its checks produced no findings (nothing to evaluate)"
        measured = combine(f.status for f in inputs.findings)
        if measured is Status.MANUAL:  # a check found nothing to measure and asks for an attestation
            needs += [f"{f.target}: {f.message}" for f in inputs.findings if f.status is Status.MANUAL]
            measured = Status.PASS
        elif measured is not Status.PASS:
            bad = [f"{f.check} {f.target}: {f.status.value}" for f in inputs.findings
                   if f.status is not Status.PASS]
            return measured, "; ".join(bad)
    if not needs:
        return Status.PASS, f"all {len(inputs.findings)} findings pass"
    prefix = "measured parts pass; " if measured is Status.PASS else ""
    if inputs.attestations:
        return Status.PASS, prefix + "attested by " + ", ".join(_attested(inputs.attestations))
    return Status.MANUAL, prefix + "needs an attestation of: " + "; ".join(needs)


def evaluate_item(profile: Profile, chain: Sequence[Group], item: Item,
                  inputs: ItemInputs) -> IndicatorResult:
    status, reason = item_status(item, inputs)
    return IndicatorResult(
        profile=profile.id, indicator=item.id,
        number=None if item.number is None else str(item.number),
        path=tuple(g.title for g in chain), title=item.text, status=status, reason=reason,
        checks=tuple(ref.check for ref in item.checks), manual=tuple(item.manual),
        attested_by=_attested(inputs.attestations) if status is Status.PASS else (),
    )


@dataclass(frozen=True)
class GroupScore:
    """Points of one group: earned, possible, and which items lost them."""

    id: str
    number: str | None
    title: str
    points: float
    earned: float
    rule: str | None
    lost: tuple[JsonDict, ...] = ()
    override: str | None = None
    children: tuple[GroupScore, ...] = field(default_factory=tuple)

    def to_json(self) -> JsonDict:
        return {"id": self.id, "number": self.number, "title": self.title,
                "points": self.points, "earned": self.earned,
                "lost": round(self.points - self.earned, 4), "rule": self.rule,
                "lost_by": list(self.lost), "override": self.override,
                "groups": [c.to_json() for c in self.children]}


def _leaf_score(group: Group, results: Mapping[str, IndicatorResult]) -> GroupScore:
    points = group.points or 0.0
    missing = [results[i.id] for i in group.items if results[i.id].status is not Status.PASS]
    none_met = len(missing) == len(group.items)  # 都不符合得0分
    if group.deduction is None:  # no formula written: all or nothing
        earned = 0.0 if missing else points
    else:
        earned = 0.0 if none_met else max(0.0, points - group.deduction * len(missing))
    lost = tuple({"item": r.indicator, "number": r.number, "status": r.status.value,
                  "reason": r.reason} for r in missing)
    return GroupScore(group.id, group.number, group.title, points, round(earned, 4), group.rule, lost)


def _group_score(group: Group, results: Mapping[str, IndicatorResult],
                 overrides: Mapping[str, Sequence[Attestation]]) -> GroupScore:
    if group.items:
        return _leaf_score(group, results)
    children = tuple(_group_score(g, results, overrides) for g in group.groups)
    points = group.points if group.points is not None else sum(c.points for c in children)
    earned = sum(c.earned for c in children)
    override = None
    if group.override_rule and overrides.get(group.id):
        override = "full points by attested override: " + ", ".join(_attested(overrides[group.id]))
        earned = points
    return GroupScore(group.id, group.number, group.title, points, round(earned, 4),
                      group.rule or group.override_rule, (), override, children)


@dataclass(frozen=True)
class ScoreSplit:
    """Where the points that were not earned went, so a reader knows what to do about them.

    Scores are recomputed as if some items had passed (the deduction rules do not add up item
    by item, so the parts are differences of real scores, not sums of deductions):

    - ``pending_attestation``: what attesting every item that awaits an attestation would add;
    - ``not_measured``: what measuring the items the audit could not measure would add at best;
    - ``lost_measured``: what the measured failures cost even with both of the above;
    - ``attainable``: the score after fixing the measured failures and giving the attestations,
      with the unmeasured items still counted as lost.
    """

    lost_measured: float
    pending_attestation: float
    not_measured: float
    attainable: float

    def to_json(self) -> JsonDict:
        return {"lost_measured": self.lost_measured, "pending_attestation": self.pending_attestation,
                "not_measured": self.not_measured, "attainable": self.attainable}


_MEASURED_FAILURES = frozenset({Status.FAIL, Status.WAIVED})
_NOT_MEASURED = frozenset({Status.ERROR, Status.SKIPPED})


@dataclass(frozen=True)
class ProfileScore:
    profile: str
    total: float
    possible: float
    groups: tuple[GroupScore, ...]
    split: ScoreSplit | None = None
    group_splits: tuple[ScoreSplit, ...] = ()  # one per top-level group

    def to_json(self) -> JsonDict:
        out: JsonDict = {"profile": self.profile, "total": self.total, "possible": self.possible,
                         "groups": [g.to_json() for g in self.groups]}
        if self.split is not None:
            out.update(self.split.to_json())
            for g, s in zip(out["groups"], self.group_splits, strict=True):
                g.update(s.to_json())
        return out


def _as_if(results: Mapping[str, IndicatorResult], passing: frozenset[Status]) -> dict[str, IndicatorResult]:
    return {k: replace(r, status=Status.PASS) if r.status in passing else r for k, r in results.items()}


def _split(total: float, possible: float, earned_if: Callable[[frozenset[Status]], float]) -> ScoreSplit:
    attested = earned_if(frozenset({Status.MANUAL}))
    measured = earned_if(frozenset({Status.MANUAL}) | _NOT_MEASURED)
    return ScoreSplit(
        lost_measured=round(possible - measured, 4),
        pending_attestation=round(attested - total, 4),
        not_measured=round(measured - attested, 4),
        attainable=round(earned_if(frozenset({Status.MANUAL}) | _MEASURED_FAILURES), 4))


def score_profile(profile: Profile, results: Sequence[IndicatorResult],
                  overrides: Mapping[str, Sequence[Attestation]]) -> ProfileScore | None:
    """Points per group and in total, for profiles scored by deduction; None otherwise."""
    if profile.scoring != "deduction":
        return None
    by_id = {r.indicator: r for r in results if r.profile == profile.id}
    groups = tuple(_group_score(g, by_id, overrides) for g in profile.groups)
    total = round(sum(g.earned for g in groups), 4)
    possible = sum(g.points for g in groups)

    def earned_if(passing: frozenset[Status], only: Group | None = None) -> float:
        alt = _as_if(by_id, passing)
        return sum(_group_score(g, alt, overrides).earned for g in profile.groups
                   if only is None or g is only)

    group_splits = tuple(
        _split(gs.earned, gs.points, partial(earned_if, only=g))
        for g, gs in zip(profile.groups, groups, strict=True))
    return ProfileScore(profile.id, total, possible, groups, _split(total, possible, earned_if),
                        group_splits)


def valid_attestations(atts: Sequence[Attestation], profile: str, target: str,
                       today: date) -> list[Attestation]:
    return [a for a in atts if a.matches(profile, target) and not a.expired(today)]
