"""What an outage is (``auditor.wire.outages``), shared by the agent's report and the district's
contract report: per endpoint, intersected over an uplink's endpoints, clipped to the spans."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from auditor.wire.outages import Outage, intersect, target_outages, uplink_outages

T0 = datetime(2026, 12, 7, 10, 0)
MIN = timedelta(minutes=1)
FIVE = 5 * MIN


@dataclass(frozen=True)
class Round:
    at: datetime
    sent: int | None
    received: int | None


def rounds(*answered: int) -> list[Round]:
    """A round every five minutes from T0, each with 5 probes and ``answered`` replies."""
    return [Round(T0 + i * FIVE, 5, n) for i, n in enumerate(answered)]


def test_an_endpoint_is_out_from_the_first_lost_round_to_the_first_answered() -> None:
    assert target_outages(rounds(5, 0, 0, 3, 5), FIVE) == [Outage(T0 + FIVE, T0 + 3 * FIVE)]
    assert target_outages(rounds(5, 5, 1), FIVE) == []  # partial loss is not an outage
    # still out at the last round: ongoing, standing for one interval
    assert target_outages(rounds(5, 0), FIVE) == [Outage(T0 + FIVE, T0 + 2 * FIVE, ongoing=True)]
    # the rounds stop for an hour: the outage ends one interval after its last lost round
    gap = [Round(T0, 5, 0), Round(T0 + 60 * MIN, 5, 5)]
    assert target_outages(gap, FIVE) == [Outage(T0, T0 + FIVE)]


def test_an_uplink_is_out_only_while_every_endpoint_is_and_within_the_spans() -> None:
    a, b = rounds(5, 0, 0, 0, 5), rounds(5, 5, 0, 0, 5)
    assert uplink_outages({"a": a, "b": b}, FIVE, [(T0, T0 + 60 * MIN)]) == [
        Outage(T0 + 2 * FIVE, T0 + 4 * FIVE)]
    assert uplink_outages({"a": a, "b": rounds(5, 5, 5, 5, 5)}, FIVE, [(T0, T0 + 60 * MIN)]) == []
    clipped = uplink_outages({"a": a}, FIVE, [(T0, T0 + 2 * FIVE)])  # the school day ends
    assert clipped == [Outage(T0 + FIVE, T0 + 2 * FIVE)] and clipped[0].seconds == 300
    assert intersect([]) == []
