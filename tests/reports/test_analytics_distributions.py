"""RingTimeDistribution and CallDurationDistribution on a hand-built workspace (DuckDB; Spark parity
in test_analytics_spark.py).

Calls (UTC; wait = CallList ring; talk = duration − ring of answered segments):

| call | start        | dir      | segments                                   | outcome | wait | talk |
|------|--------------|----------|--------------------------------------------|---------|------|------|
| R1   | 07-01 09:00  | incoming | ring 4, dur 34                             | ans     | 4    | 30   |
| R2   | 07-01 09:10  | incoming | ref ring 15 dur 15; +15 s: ans ring 5 dur 65| ans     | 20   | 60   |
| R3   | 07-01 09:20  | incoming | ring 25, dur 125                           | ans     | 25   | 100  |
| R4   | 07-01 09:30  | incoming | ring 8                                     | lost    | 8    | –    |
| R5   | 07-01 09:40  | incoming | ring 3 (short abandon)                     | lost    | 3    | –    |
| R6   | 07-01 09:50  | incoming | ring 45                                    | lost    | 45   | –    |
| R7   | 07-01 10:00  | incoming | ring 10, dur 22 (short answered: talk 12)  | ans     | 10   | 12   |
| R8   | 07-01 10:10  | incoming | ring 31, dur 231                           | ans     | 31   | 200  |
| R9   | 03-30 01:30  | incoming | ring 12, dur 57 (spring DST day)           | ans     | 12   | 45   |
| O1   | 07-01 11:00  | outgoing | ring 5, dur 130                            | ans     | –    | 125  |
| N1   | 10-26 01:30  | internal | ring 2, dur 61.5 (autumn DST day)          | ans     | –    | 59.5 |
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callboard.warehouse import DuckDBWarehouse, Warehouse
from tests.support.analytics import load, run, seg
from tests.support.datasets.distributions import d, rows


@pytest.fixture(scope="module")
def loaded() -> Iterator[tuple[Warehouse, str]]:
    wh = DuckDBWarehouse.open(None)
    yield wh, load(wh, rows())
    wh.close()


COLS = ("upTo", "answered", "lost", "cumulativeAnswered", "serviceLevel")


def table_of(got: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(r.get(c) for c in COLS) for r in got]


def test_ring_time_distribution(loaded: tuple[Warehouse, str], tmp_path: Path) -> None:
    wh, ws = loaded
    # thresholds 20, 10, 30, 20 → distinct sorted 10, 20, 30 + a last bucket
    result, got = run(wh, ws, tmp_path, "RingTimeDistribution", ringDurationThresholds=[20, 10, 30, 20])
    # ≤10: answered R1 (4), R7 (10, bound inclusive); lost R4 (8), R5 (3)
    # (10,20]: answered R2 (wait 15 + 5 = 20), R9 (12)   (20,30]: answered R3 (25)
    # >30: answered R8 (31), lost R6 (45). Offered = 6 answered + 3 lost = 9 (O1, N1 are not incoming)
    assert table_of(got) == [
        (10.0, 2, 2, 2, 2 / 9),
        (20.0, 2, 0, 4, 4 / 9),
        (30.0, 1, 0, 5, 5 / 9),
        (None, 1, 1, 6, 6 / 9),
    ]
    assert [r["bucket"] for r in got] == [1, 2, 3, 4]
    assert result.summary == {"answered": 6, "lost": 3}  # the rows add up to every incoming call


def test_ring_time_distribution_settings(loaded: tuple[Warehouse, str], tmp_path: Path) -> None:
    wh, ws = loaded
    # ignoreAbandonedCalls: R5 (ring 3 < 5) is not offered → 8 offered
    _, got = run(wh, ws, tmp_path, "RingTimeDistribution", ringDurationThresholds=[10, 20, 30],
                 ignoreAbandonedCalls=True)
    assert table_of(got) == [(10.0, 2, 1, 2, 2 / 8), (20.0, 2, 0, 4, 4 / 8), (30.0, 1, 0, 5, 5 / 8),
                             (None, 1, 1, 6, 6 / 8)]
    # ignoreShortAnsweredCalls: R7 (talk 12 < 20) is not offered (nor lost) → 8 offered, 5 answered
    _, got = run(wh, ws, tmp_path, "RingTimeDistribution", ringDurationThresholds=[10, 20, 30],
                 ignoreShortAnsweredCalls=True)
    assert table_of(got) == [(10.0, 1, 2, 1, 1 / 8), (20.0, 2, 0, 3, 3 / 8), (30.0, 1, 0, 4, 4 / 8),
                             (None, 1, 1, 5, 5 / 8)]
    # the default thresholds 10 … 120: 13 rows; (30, 40] holds R8; beyond 120 nothing
    _, got = run(wh, ws, tmp_path, "RingTimeDistribution")
    assert len(got) == 13 and got[3]["upTo"] == 40.0 and got[3]["answered"] == 1
    assert got[12] == {"bucket": 13, "answered": 0, "lost": 0, "cumulativeAnswered": 6, "serviceLevel": 6 / 9}
    # a display-field subset and sorting by upTo descending (the last bucket's null sorts per engine, so
    # only the bounded rows are compared)
    _, got = run(wh, ws, tmp_path, "RingTimeDistribution", ringDurationThresholds=[10, 20],
                 displayFields=[{"fieldName": "upTo"}, {"fieldName": "serviceLevel"}],
                 filterConditions=[{"fieldName": "upTo", "operator": "isNotNull", "values": []}],
                 sortFields=[{"fieldName": "upTo", "direction": 1}])
    assert got == [{"upTo": 20.0, "serviceLevel": 4 / 9}, {"upTo": 10.0, "serviceLevel": 2 / 9}]


def test_call_duration_distribution(loaded: tuple[Warehouse, str], tmp_path: Path) -> None:
    wh, ws = loaded
    result, got = run(wh, ws, tmp_path, "CallDurationDistribution")
    # answered calls' talk: R1 30, R2 60, R3 100, R7 12, R8 200, R9 45, O1 125, N1 59.5 → 8 calls
    # [0,60): 30, 12, 45, 59.5 = 4   [60,120): 60, 100 = 2   [120,180): 125 = 1   [180,240): 200 = 1
    assert [(r["from"], r["upTo"], r["calls"], r["share"]) for r in got] == [
        (0, 60, 4, 0.5), (60, 120, 2, 0.25), (120, 180, 1, 0.125), (180, 240, 1, 0.125)]
    assert result.summary == {"calls": 8}
    # 100-second buckets: [0,100): 30, 60, 12, 45, 59.5 = 5; [100,200): 100, 125 = 2; [200,300): 200 = 1
    _, got = run(wh, ws, tmp_path, "CallDurationDistribution", durationGroupPeriodInSeconds=100)
    assert [(r["from"], r["calls"]) for r in got] == [(0, 5), (100, 2), (200, 1)]
    # 40-second buckets leave an empty one: [0,40): 30, 12 | [40,80): 60, 45, 59.5 | [80,120): 100 |
    # [120,160): 125 | [160,200): none → 0 | [200,240): 200
    _, got = run(wh, ws, tmp_path, "CallDurationDistribution", durationGroupPeriodInSeconds=40)
    assert [(r["from"], r["calls"]) for r in got] == [(0, 2), (40, 3), (80, 1), (120, 1), (160, 0), (200, 1)]
    assert got[4]["share"] == 0.0
    # ignoreShortAnsweredCalls drops R7 (talk 12): 7 calls, [0,60) holds 3
    _, got = run(wh, ws, tmp_path, "CallDurationDistribution", ignoreShortAnsweredCalls=True)
    assert (got[0]["from"], got[0]["calls"]) == (0, 3) and sum(r["calls"] for r in got) == 7


def test_distributions_on_an_empty_period(tmp_path: Path) -> None:
    wh = DuckDBWarehouse.open(None)
    ws = load(wh, [seg("X", d(7, 1, 9), callDir=3, ring=5, duration=5)])  # one unanswered outgoing call
    _, got = run(wh, ws, tmp_path, "RingTimeDistribution", ringDurationThresholds=[10])
    assert got == [{"bucket": 1, "upTo": 10.0, "answered": 0, "lost": 0, "cumulativeAnswered": 0},
                   {"bucket": 2, "answered": 0, "lost": 0, "cumulativeAnswered": 0}]  # no offered calls: no SL
    _, got = run(wh, ws, tmp_path, "CallDurationDistribution")
    assert got == []
    wh.close()
