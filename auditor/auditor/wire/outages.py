"""What an outage is, as the agent's report and the district's contract report both count it.

An endpoint is out from its first probe round without a reply to the first round answered again
(at the monitor's interval's resolution). Where the rounds stop for more than two intervals,
nothing shows what happened in the gap: the outage ends one interval after its last lost round
(the time that round stands for), and ``ongoing`` says no round has been answered since. An
uplink is out only while every one of its endpoints is. Pure functions over anything with
``at``, ``sent`` and ``received`` (the agent's samples, the district's rows); times are all aware
or all naive, as the caller keeps them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


class Probe(Protocol):
    @property
    def at(self) -> datetime: ...
    @property
    def sent(self) -> int | None: ...
    @property
    def received(self) -> int | None: ...


@dataclass(frozen=True)
class Outage:
    start: datetime
    end: datetime
    ongoing: bool = False

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def target_outages(probes: Iterable[Probe], interval: timedelta) -> list[Outage]:
    """One endpoint's outages from its reach rounds, oldest first."""
    found: list[Outage] = []
    run: tuple[datetime, datetime] | None = None  # first and last lost round of the current outage
    for p in probes:
        if run is not None and p.at - run[1] > 2 * interval:  # the rounds stopped: no evidence since
            found.append(Outage(run[0], run[1] + interval))
            run = None
        if p.sent and not p.received:
            run = (run[0] if run else p.at, p.at)
        elif run is not None:
            found.append(Outage(run[0], p.at))
            run = None
    if run is not None:
        found.append(Outage(run[0], run[1] + interval, ongoing=True))
    return found


def intersect(lists: Sequence[list[Outage]]) -> list[Outage]:
    """The spans in which every list has an outage."""
    result = lists[0] if lists else []
    for other in lists[1:]:
        result = [Outage(max(a.start, b.start), min(a.end, b.end), a.ongoing and b.ongoing)
                  for a in result for b in other if max(a.start, b.start) < min(a.end, b.end)]
    return result


def uplink_outages(by_target: Mapping[str, Sequence[Probe]], interval: timedelta,
                   spans: Iterable[tuple[datetime, datetime]]) -> list[Outage]:
    """An uplink's outages (every endpoint out at once; each endpoint's rounds oldest first),
    clipped to ``spans`` (a window, or the school days of a month)."""
    common = intersect([target_outages(by_target[t], interval) for t in sorted(by_target)])
    return [Outage(max(o.start, a), min(o.end, b), o.ongoing and o.end <= b)
            for o in common for a, b in spans if o.start < b and a < o.end]
