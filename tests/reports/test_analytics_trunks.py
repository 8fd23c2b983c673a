"""TrunkUtilisation on a hand-built workspace (DuckDB; Spark parity in test_analytics_spark.py).

External calls (UTC; line busy over [first start, last end) per call, talk over [start + ring, end)
of answered segments):

| call | start UTC   | local     | segments                                      | busy (UTC)     | talk (UTC)        |
|------|-------------|-----------|-----------------------------------------------|----------------|-------------------|
| T1   | 07-01 09:20 | 10:20 BST | in, ring 10, dur 1200, ans                    | 09:20–09:40    | 09:20:10–09:40    |
| T2   | 07-01 09:25 | 10:25 BST | out, ring 5, dur 4000, ans                    | 09:25–10:31:40 | 09:25:05–10:31:40 |
| T3   | 07-01 09:35 | 10:35 BST | ref ring 20 dur 20; +20 s ans ring 10 dur 310 | 09:35–09:40:30 | 09:35:30–09:40:30 |
| T4   | 07-01 09:30 | 10:30 BST | internal, dur 1200 (no line)                  | –              | –                 |
| T5   | 10-26 00:50 | 01:50 BST | in, dur 1200, ans (crosses fall-back)         | 00:50–01:10    | same              |
| T6   | 10-26 01:05 | 01:05 GMT | in, ring 60, dur 600, ans                     | 01:05–01:15    | 01:06–01:15       |
| T7   | 10-26 00:10 | 01:10 BST | in, dur 300, ans                              | 00:10–00:15    | same              |
| T8   | 03-30 00:50 | 00:50 GMT | in, dur 1200, ans (crosses spring-forward)    | 00:50–01:10    | same              |
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from callboard.warehouse import DuckDBWarehouse, Warehouse
from tests.support.analytics import load, run
from tests.support.datasets.trunks import rows


@pytest.fixture(scope="module")
def loaded() -> Iterator[tuple[Warehouse, str]]:
    wh = DuckDBWarehouse.open(None)
    yield wh, load(wh, rows())
    wh.close()


COLS = ("start", "peakConcurrent", "avgConcurrent", "utilisation", "erlangs", "busyHour", "occupiedSeconds",
        "talkSeconds", "bucketSeconds")


def test_trunk_utilisation_half_hours(loaded: tuple[Warehouse, str], tmp_path: Path) -> None:
    wh, ws = loaded
    result, got = run(wh, ws, tmp_path, "TrunkUtilisation", totalTrunks=4)
    table = [tuple(r.get(c) for c in COLS) for r in got]
    expected = [
        # spring-forward day: T8's GMT piece 00:50–01:00 lands in local 00:30, its BST piece
        # (01:00–01:10 UTC = 02:00–02:10 local) in local 02:00; local 01:00–02:00 does not exist
        ("2025-03-30T00:30:00", 1, 600 / 1800, 600 / 1800 / 4, 600 / 1800, 0, 600.0, 600.0, 1800.0),
        ("2025-03-30T02:00:00", 1, 600 / 1800, 600 / 1800 / 4, 600 / 1800, 0, 600.0, 600.0, 1800.0),
        # local 10:00 = UTC 09:00–09:30: T1 09:20–09:30 (600 s), T2 09:25–09:30 (300 s) = 900; talk 590 + 295;
        # both at once from 09:25 → peak 2
        ("2025-07-01T10:00:00", 2, 0.5, 0.125, 885 / 1800, 0, 900.0, 885.0, 1800.0),
        # local 10:30: T1 600 (carried in) + T2 1800 + T3 once, 09:35:00–09:40:30 = 330 → 2730 s;
        # talk 600 + 1800 + 300 = 2700; T1, T2 and T3 at once from 09:35 → peak 3; the busiest bucket
        ("2025-07-01T10:30:00", 3, 2730 / 1800, 2730 / 1800 / 4, 1.5, 1, 2730.0, 2700.0, 1800.0),
        # T2 alone, longer than a bucket: all of 11:00 and 100 s of 11:30 (it ends 10:31:40 UTC)
        ("2025-07-01T11:00:00", 1, 1.0, 0.25, 1.0, 0, 1800.0, 1800.0, 1800.0),
        ("2025-07-01T11:30:00", 1, 100 / 1800, 100 / 1800 / 4, 100 / 1800, 0, 100.0, 100.0, 1800.0),
        # fall-back day: local 01:00–01:30 happens twice (UTC 00:00–00:30 BST and 01:00–01:30 GMT) → 3600 s.
        # T7 300 + T5's GMT piece 01:00–01:10 600 + T6 600 = 1500; talk 300 + 600 + 540 = 1440;
        # T5 and T6 overlap 01:05–01:10 → peak 2
        ("2025-10-26T01:00:00", 2, 1500 / 3600, 1500 / 3600 / 4, 1440 / 3600, 0, 1500.0, 1440.0, 3600.0),
        # local 01:30 (UTC 00:30–01:00 and 01:30–02:00): T5's BST piece 00:50–01:00 = 600 s
        ("2025-10-26T01:30:00", 1, 600 / 3600, 600 / 3600 / 4, 600 / 3600, 0, 600.0, 600.0, 3600.0),
    ]
    assert len(table) == len(expected)
    for row, want in zip(table, expected, strict=True):
        assert row == pytest.approx(want), row
    # T4 is internal: no row anywhere for it, and no line-seconds (Σ = 8 calls' busy seconds)
    # 1200 (T1) + 4000 (T2) + 330 (T3) + 1200 (T5) + 600 (T6) + 300 (T7) + 1200 (T8) = 8830
    assert result.summary["occupiedSeconds"] == pytest.approx(8830.0)
    # talk: 1190 + 3995 + 300 + 1200 + 540 + 300 + 1200 = 8725
    assert result.summary["talkSeconds"] == pytest.approx(8725.0)


def test_trunk_utilisation_other_periods(loaded: tuple[Warehouse, str], tmp_path: Path) -> None:
    wh, ws = loaded
    # daily buckets: the spring day lasts 23 h (82800 s), the autumn day 25 h (90000 s)
    _, got = run(wh, ws, tmp_path, "TrunkUtilisation", callRatePeriod=1440)
    table = {r["start"]: (r["peakConcurrent"], r["avgConcurrent"], r["bucketSeconds"], r["busyHour"], r["erlangs"])
             for r in got}
    expected = {
        "2025-03-30T00:00:00": (1, 1200 / 82800, 82800.0, 0, 1200 / 82800),
        # 900 + 2730 + 1800 + 100 = 5530 busy s; talk 885 + 2700 + 1800 + 100 = 5485
        "2025-07-01T00:00:00": (3, 5530 / 86400, 86400.0, 1, 5485 / 86400),
        # 1500 + 600 = 2100 busy s; talk 1440 + 600 = 2040
        "2025-10-26T00:00:00": (2, 2100 / 90000, 90000.0, 0, 2040 / 90000),
    }
    assert table.keys() == expected.keys()
    for key, want in expected.items():
        assert table[key] == pytest.approx(want), key
    assert all("utilisation" not in r for r in got)  # totalTrunks 0: unknown
    # hourly on the autumn day: local 01:00–02:00 lasts 2 h; T7 300 + T5 1200 + T6 600 = 2100
    _, got = run(wh, ws, tmp_path, "TrunkUtilisation", callRatePeriod=60, totalTrunks=2,
                 filterConditions=[{"fieldName": "start", "operator": ">=", "values": ["2025-10-01T00:00:00"]}])
    assert [(r["start"], r["peakConcurrent"], r["bucketSeconds"]) for r in got] == [
        ("2025-10-26T01:00:00", 2, 7200.0)]
    assert got[0]["avgConcurrent"] == pytest.approx(2100 / 7200)
    assert got[0]["utilisation"] == pytest.approx(2100 / 7200 / 2)
    # the busy-hour flag survives a result filter: only the busiest row
    _, got = run(wh, ws, tmp_path, "TrunkUtilisation",
                 filterConditions=[{"fieldName": "busyHour", "operator": "=", "values": [1]}])
    assert [r["start"] for r in got] == ["2025-07-01T10:30:00"]
    # a segment filter reaches the sweep: leaving out user 101 drops T1 and T3's refused first segment,
    # so T3 occupies a line 09:35:20–09:40:30 (310 s)
    _, got = run(wh, ws, tmp_path, "TrunkUtilisation",
                 filterConditions=[{"fieldName": "userNum", "operator": "!=", "values": ["101"]}])
    by_start = {r["start"]: r for r in got}
    # local 10:30 now: T2 1800 + T3 310 = 2110 (T1 was Alice's, 101); peak 2
    assert (by_start["2025-07-01T10:30:00"]["occupiedSeconds"], by_start["2025-07-01T10:30:00"]["peakConcurrent"]) \
        == (2110.0, 2)
