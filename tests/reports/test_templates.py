"""Every template on the hand-built dataset (tests/support/calls.py), on DuckDB and on Spark, with
the answers worked out by hand in the comments."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callboard.reports.output import read_page
from callboard.reports.request import resolve_request
from callboard.reports.runner import ReportCancelled, ReportResult, ReportTimeout, guard, run_report
from callboard.warehouse import DuckDBWarehouse, Warehouse
from tests.support import calls as dataset

Loaded = tuple[Warehouse, str]


@pytest.fixture(scope="module", params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def loaded(request: pytest.FixtureRequest) -> Iterator[Loaded]:
    """The dataset in a fresh workspace, once per module and engine."""
    ws = f"hand-{uuid.uuid4().hex[:8]}"
    wh = DuckDBWarehouse.open(None) if request.param == "duckdb" else request.getfixturevalue("spark_warehouse")
    assert wh.append(ws, dataset.segments()).inserted == 10
    yield wh, ws
    if request.param == "duckdb":
        wh.close()


def run(loaded: Loaded, tmp_path: Path, template: str, **body: Any) -> tuple[ReportResult, list[dict[str, Any]]]:
    wh, ws = loaded
    req = resolve_request({"reportTemplateName": template, "timeZoneId": dataset.TZ,
                           "metadata": dataset.PERIOD, "ignoreDisplayFields": True, **body}, now=dataset.NOW)
    result = run_report(wh, ws, req, tmp_path / f"{uuid.uuid4().hex}.parquet")
    rows = read_page(result.snapshot_path, 1, -1)
    assert result.total_count == len(rows)
    return result, rows


def more(loaded: Loaded) -> bool:
    """Secondary scenarios (settings, filters) run on DuckDB only: each Spark query costs seconds,
    and the engine-specific code paths are all exercised by the first run of every test."""
    return loaded[0].name == "duckdb"


def pick(rows: list[dict[str, Any]], key: str, *fields: str) -> dict[Any, tuple[Any, ...]]:
    return {r.get(key): tuple(r.get(f) for f in fields) for r in rows}


def test_segment_list(loaded: Loaded, tmp_path: Path) -> None:
    result, rows = run(loaded, tmp_path, "CallListByUserSegmented", ignoreDisplayFields=False,
                       sortFields=[{"fieldName": "start", "direction": 1}])
    # newest first by UTC start; start shown in London time (BST/GMT), startUtc with Z
    assert [r["docId"] for r in rows] == ["s8", "s7", "s4", "s3", "s2", "s9", "s1b", "s1a", "s6", "s5"]
    assert rows[0]["start"] == "2025-10-26T01:10:00"          # 01:10 UTC after fall-back = 01:10 GMT
    assert rows[1]["start"] == "2025-10-26T01:40:00"          # 00:40 UTC = 01:40 BST
    assert rows[3]["start"] == "2025-07-02T00:01:00"          # 23:01 UTC on 07-01
    assert rows[8]["start"] == "2025-03-30T02:30:00"          # 01:30 UTC after spring-forward
    assert rows[9]["start"] == "2025-03-30T00:30:00"
    # null fields are left out: s3 has no cli (withheld), s9 no hunt group
    assert "cli" not in rows[3] and rows[3]["hgNum"] == "200"
    assert "hgNum" not in rows[5] and "hgName" not in rows[5]
    assert rows[6] == {"connId": "C1", "start": "2025-07-01T10:00:15", "userName": "Bob", "userNum": "102",
                       "cli": "+441110000001", "hgNum": "300", "callType": 2, "callDir": 2, "ans": 1, "ref": 0,
                       "lost": 0, "ring": 5.0, "duration": 125.0, "hgName": "Support", "docId": "s1b"}
    # Σ over the 10 segments: ans s1b,s9,s2,s4,s5,s7,s8 = 7; ref s1a = 1; lost s3,s6 = 2;
    # ring 15+5+5+10+3+4+2+8+12+6 = 70; duration 15+125+30+250+3+14+62+8+312+66 = 885
    assert result.summary == {"ans": 7, "ref": 1, "lost": 2, "ring": 70.0, "duration": 885.0}
    assert result.effort == 0.01 and not result.row_limit_exceeded


def test_segment_list_derived_fields_filters_and_settings(loaded: Loaded, tmp_path: Path) -> None:
    _, rows = run(loaded, tmp_path, "CallListByUserSegmented", ignoreDisplayFields=False,
                  displayFields=[{"fieldName": n} for n in ("start", "end", "talk", "startUtc", "callDirName",
                                                            "callTypeName")],
                  filterConditions=[{"fieldName": "cli", "operator": "isNull", "values": []}],
                  sortFields=[{"fieldName": "start", "direction": "asc"}])
    # withheld / no CLI: s5, s9, s2, s3, s4 in start order
    assert [r["docId"] for r in rows] == ["s5", "s9", "s2", "s3", "s4"]
    s2 = rows[2]
    # C2 crosses local midnight: 23:58:00 + 250 s = 00:02:10 next day; talk 250 − 10
    assert s2["end"] == "2025-07-02T00:02:10" and s2["talk"] == 240.0
    assert s2["startUtc"] == "2025-07-01T22:58:00Z"
    assert (s2["callDirName"], s2["callTypeName"]) == ("incoming", "external")
    assert (rows[0]["callDirName"], rows[0]["callTypeName"]) == ("internal", "internal")
    assert rows[3]["talk"] == 0.0  # lost: no talk
    if not more(loaded):
        return
    # ignoreAbandonedCalls drops s3 (lost, ring 3 < 5) but not s6 (ring 8);
    # ignoreShortAnsweredCalls drops s4 (talk 14 − 4 = 10 < 20)
    _, rows = run(loaded, tmp_path, "CallListByUserSegmented", ignoreAbandonedCalls=True,
                  ignoreShortAnsweredCalls=True, sortFields=[{"fieldName": "docId", "direction": 0}])
    assert [r["docId"] for r in rows] == ["s1a", "s1b", "s2", "s5", "s6", "s7", "s8", "s9"]
    # hunt group filter and rowLimit: hg 200 has s1a, s3, s7, s8; a limit of 3 cuts one
    result, rows = run(loaded, tmp_path, "CallListByUserSegmented", rowLimit=3,
                       filterConditions=[{"fieldName": "hgNum", "operator": "=", "values": ["200"]}],
                       sortFields=[{"fieldName": "start", "direction": 0}])
    assert [r["docId"] for r in rows] == ["s1a", "s3", "s7"] and result.row_limit_exceeded


def test_call_list(loaded: Loaded, tmp_path: Path) -> None:
    result, rows = run(loaded, tmp_path, "CallList", ignoreDisplayFields=False,
                       childDisplayFields=["userNum", "start", "ring"],
                       displayFields=[{"fieldName": n} for n in (
                           "start", "userName", "userNum", "cli", "hgNum", "hgName", "callType", "callDir",
                           "ans", "lost", "ring", "duration", "segments", "talk", "children")],
                       sortFields=[{"fieldName": "start", "direction": 0}])
    by = {r["docId"]: r for r in rows}
    assert [r["docId"] for r in rows] == ["C5", "C6", "C1", "C9", "C2", "C3", "C4", "C7", "C8"]
    # C1: first start 09:00:00 UTC (10:00 BST); answered by Bob on s1b; first hunt group 200;
    # wait = (09:00:15 + 5) − 09:00:00 = 20 s; duration = max end (09:00:15 + 125 = 09:02:20) − 09:00:00 = 140
    assert by["C1"] == {
        "start": "2025-07-01T10:00:00", "userName": "Bob", "userNum": "102", "cli": "+441110000001",
        "hgNum": "200", "hgName": "Sales", "callType": 2, "callDir": 2, "ans": 1, "lost": 0, "ring": 20.0,
        "duration": 140.0, "segments": 2, "talk": 120.0, "docId": "C1",
        "children": [{"userNum": "101", "start": "2025-07-01T10:00:00", "ring": 15.0},
                     {"userNum": "102", "start": "2025-07-01T10:00:15", "ring": 5.0}],
    }
    # C3 (short abandon, withheld): unanswered → no answering user; wait = end − start = 3
    assert by["C3"] == {"start": "2025-07-02T00:01:00", "hgNum": "200", "hgName": "Sales", "callType": 2,
                        "callDir": 2, "ans": 0, "lost": 1, "ring": 3.0, "duration": 3.0, "segments": 1,
                        "talk": 0.0, "docId": "C3",
                        "children": [{"userNum": "101", "start": "2025-07-02T00:01:00", "ring": 3.0}]}
    assert (by["C7"]["start"], by["C8"]["start"]) == ("2025-10-26T01:40:00", "2025-10-26T01:10:00")
    assert by["C9"]["ring"] == 5.0 and by["C2"]["duration"] == 250.0
    # ans C1,C9,C2,C4,C5,C7,C8 = 7; lost C3,C6 = 2; waits 20+5+10+3+4+2+8+12+6 = 70;
    # durations 140+30+250+3+14+62+8+312+66 = 885; segments 10; talk 120+25+240+10+60+300+60 = 815
    assert result.summary == {"ans": 7, "ref": 1, "lost": 2, "ring": 70.0, "duration": 885.0,
                              "segments": 10, "talk": 815.0}
    if not more(loaded):
        return
    # a result-stage filter on a CallList-only field: calls with 2+ segments
    _, rows = run(loaded, tmp_path, "CallList",
                  filterConditions=[{"fieldName": "segments", "operator": ">=", "values": [2]}])
    assert [r["docId"] for r in rows] == ["C1"]


def test_summary_by_user(loaded: Loaded, tmp_path: Path) -> None:
    result, rows = run(loaded, tmp_path, "CallSummaryByUser", sortFields=[{"fieldName": "userNum", "direction": 0}])
    by = {r["userNum"]: r for r in rows}
    # Alice 101: s1a ref, s2 ans (ring 10), s3 lost, s6 lost, s8 ans (ring 6)
    # ring 15+10+3+8+6 = 42; avgRing (10+6)/2 = 8; talk 240+60 = 300, avg 150; duration 15+250+3+8+66 = 342;
    # s1a's call C1 was answered by Bob (s1b), another user: answeredElsewhere 1, so
    # answerRate 2/(2+2+1−1) = 0.5; answerRateAllRings counts every ring: 2/(2+2+1) = 0.4;
    # serviceLevel (ring ≤ 10: s2, s8) 2 / (2 ans + 2 lost) = 0.5
    assert by["101"] == {"userNum": "101", "userName": "Alice", "calls": 5, "ans": 2, "ref": 1, "lost": 2,
                         "answeredElsewhere": 1, "ring": 42.0, "avgRing": 8.0, "maxRing": 15.0, "talk": 300.0,
                         "avgTalk": 150.0, "duration": 342.0, "answerRate": 0.5, "answerRateAllRings": 0.4,
                         "serviceLevel": 0.5}
    # Bob 102: s1b (ring 5, talk 120), s4 (ring 4, talk 10), s7 (ring 12, talk 300), all answered
    # ring 21, avg 7; talk 430, avg 143.33; duration 125+14+312 = 451; SL: s1b, s4 ≤ 10 → 2/3
    b = by["102"]
    assert (b["calls"], b["ans"], b["ref"], b["lost"], b["ring"], b["avgRing"], b["maxRing"], b["talk"],
            b["duration"], b["answerRate"]) == (3, 3, 0, 0, 21.0, 7.0, 12.0, 430.0, 451.0, 1.0)
    assert b["avgTalk"] == pytest.approx(430 / 3) and b["serviceLevel"] == pytest.approx(2 / 3)
    # Carol 103: s9 (ring 5, talk 25), s5 (ring 2, talk 60): avgRing 3.5, talk 85, duration 92, SL 1
    c = by["103"]
    assert (c["calls"], c["ans"], c["ring"], c["avgRing"], c["talk"], c["avgTalk"], c["duration"],
            c["serviceLevel"]) == (2, 2, 7.0, 3.5, 85.0, 42.5, 92.0, 1.0)
    assert result.summary == {"ans": 7, "ref": 1, "lost": 2, "ring": 70.0, "duration": 885.0, "calls": 10,
                              "talk": 815.0, "answeredElsewhere": 1}
    if not more(loaded):
        return
    # ignoreAbandonedCalls: Alice loses s3 → calls 4, lost 1, answerRate 2/(2+1+1−1) = 2/3
    # (every ring: 2/4), SL 2/3; result filter calls >= 3 keeps Alice (4) and Bob (3)
    _, rows = run(loaded, tmp_path, "CallSummaryByUser", ignoreAbandonedCalls=True,
                  filterConditions=[{"fieldName": "calls", "operator": ">=", "values": [3]}])
    by = {r["userNum"]: r for r in rows}
    assert set(by) == {"101", "102"}
    assert (by["101"]["calls"], by["101"]["lost"], by["101"]["answerRateAllRings"]) == (4, 1, 0.5)
    assert by["101"]["answerRate"] == pytest.approx(2 / 3)
    assert by["101"]["serviceLevel"] == pytest.approx(2 / 3)


def test_summary_by_hunt_group(loaded: Loaded, tmp_path: Path) -> None:
    _, rows = run(loaded, tmp_path, "CallSummaryByHuntGroup")
    by = {r["hgNum"]: r for r in rows}
    assert set(by) == {"200", "300"}  # segments without a group are not a group
    # Sales 200: s1a (C1 ref, ring 15), s3 (C3 lost, ring 3), s7 (C7 ans, ring 12, talk 300),
    # s8 (C8 ans, ring 6, talk 60): calls {C1,C3,C7,C8} = 4; ans C7,C8 = 2; lost C3 = 1;
    # ref C1 (refused here, not answered/lost here) = 1; talk 360; duration 15+3+312+66 = 396; answerRate 2/4.
    # Each call has one segment in Sales, so its wait there is that segment's: C1 15 (to s1a's end, then
    # it left for Support), C3 3 (lost), C7 12, C8 6 (answered at start + ring) → ring 36, avgRing
    # (12+6)/2 = 9, maxRing 15, SL: answered within 10 s = C8 → 1 ÷ (2 answered + 1 lost); the per-leg
    # figures are the same numbers here
    s = by["200"]
    assert {k: v for k, v in s.items() if k not in ("serviceLevel", "legServiceLevel")} == {
        "hgNum": "200", "hgName": "Sales", "calls": 4, "ans": 2, "ref": 1, "lost": 1, "ring": 36.0,
        "avgRing": 9.0, "maxRing": 15.0, "talk": 360.0, "avgTalk": 180.0, "duration": 396.0, "answerRate": 0.5,
        "legRing": 36.0, "avgLegRing": 9.0, "maxLegRing": 15.0}
    assert s["serviceLevel"] == s["legServiceLevel"] == pytest.approx(1 / 3)
    # Support 300: s1b (C1 ans, ring 5, talk 120), s6 (C6 lost, ring 8): calls 2, ans 1, lost 1, talk 120,
    # duration 133, answerRate 1/2. C1 enters Support at 09:00:15 (its 15 s in Sales are Sales') and is
    # answered 5 s later; C6 waits 8 s → ring 13, avgRing 5, maxRing 8, SL 1/(1+1); legs the same
    p = by["300"]
    assert (p["calls"], p["ans"], p["ref"], p["lost"], p["ring"], p["avgRing"], p["maxRing"], p["talk"],
            p["duration"], p["answerRate"], p["serviceLevel"]) == (2, 1, 0, 1, 13.0, 5.0, 8.0, 120.0, 133.0,
                                                                   0.5, 0.5)
    assert (p["legRing"], p["avgLegRing"], p["maxLegRing"], p["legServiceLevel"]) == (13.0, 5.0, 8.0, 0.5)


FIELDS = ("calls", "segments", "ans", "lost", "ring", "talk", "peakConcurrent")


def test_calls_by_start_time(loaded: Loaded, tmp_path: Path) -> None:
    _, rows = run(loaded, tmp_path, "CallsByStartTime", sortFields=[{"fieldName": "start", "direction": 0}])
    # 30-minute buckets of the call's first start in London time; peak = most external calls at once
    assert pick(rows, "start", *FIELDS) == {
        "2025-03-30T00:30:00": (1, 1, 1, 0, 2.0, 60.0, 0),    # C5 is internal: no external line in use
        "2025-03-30T02:30:00": (1, 1, 0, 1, 8.0, 0.0, 1),     # C6 (01:30 UTC, after spring-forward)
        "2025-07-01T10:00:00": (2, 3, 2, 0, 25.0, 145.0, 2),  # C1 + C9 overlap; waits 20 + 5; talk 120 + 25
        "2025-07-01T23:30:00": (1, 1, 1, 0, 10.0, 240.0, 1),  # C2
        "2025-07-02T00:00:00": (1, 1, 0, 1, 3.0, 0.0, 2),     # C3, while C2 (carried in) still runs
        "2025-07-02T09:00:00": (1, 1, 1, 0, 4.0, 10.0, 1),    # C4
        "2025-10-26T01:00:00": (1, 1, 1, 0, 6.0, 60.0, 1),    # C8 at 01:10 GMT
        "2025-10-26T01:30:00": (1, 1, 1, 0, 12.0, 300.0, 1),  # C7 at 01:40 BST (earlier in UTC)
    }
    assert [r["start"] for r in rows] == sorted(r["start"] for r in rows)
    if not more(loaded):
        return
    # 60-minute buckets: C1, C9 in 10:00; C7 and C8 share local 01:00 on 10-26
    _, rows = run(loaded, tmp_path, "CallsByStartTime", callRatePeriod=60)
    got = pick(rows, "start", *FIELDS)
    assert got["2025-10-26T01:00:00"] == (2, 2, 2, 0, 18.0, 360.0, 1)
    assert got["2025-07-02T00:00:00"] == (1, 1, 0, 1, 3.0, 0.0, 2)
    assert len(got) == 7  # 03-30 00h, 02h; 07-01 10h, 23h; 07-02 00h, 09h; 10-26 01h


def test_calls_by_hour_of_day(loaded: Loaded, tmp_path: Path) -> None:
    _, rows = run(loaded, tmp_path, "CallsByHourOfDay")
    assert pick(rows, "hour", *FIELDS) == {
        0: (2, 2, 1, 1, 5.0, 60.0, 2),      # C5 (00:30 GMT), C3 (00:01 BST, C2 still running)
        1: (2, 2, 2, 0, 18.0, 360.0, 1),    # C7 01:40 BST and C8 01:10 GMT, never at once
        2: (1, 1, 0, 1, 8.0, 0.0, 1),       # C6
        9: (1, 1, 1, 0, 4.0, 10.0, 1),      # C4
        10: (2, 3, 2, 0, 25.0, 145.0, 2),   # C1, C9
        23: (1, 1, 1, 0, 10.0, 240.0, 1),   # C2
    }
    assert [r["hour"] for r in rows] == [0, 1, 2, 9, 10, 23]


def test_calls_by_day_of_week_and_date(loaded: Loaded, tmp_path: Path) -> None:
    _, rows = run(loaded, tmp_path, "CallsByDayOfWeek")
    # 07-01 Tuesday (C1, C9, C2), 07-02 Wednesday (C3, C4), 03-30 and 10-26 Sundays (C5-C8)
    assert pick(rows, "dayOfWeek", "dayName", *FIELDS) == {
        2: ("Tuesday", 3, 4, 3, 0, 35.0, 385.0, 2),
        3: ("Wednesday", 2, 2, 1, 1, 7.0, 10.0, 2),
        7: ("Sunday", 4, 4, 3, 1, 28.0, 420.0, 1),
    }
    _, rows = run(loaded, tmp_path, "CallsByDate", sortFields=[{"fieldName": "date", "direction": 1}])
    assert [r["date"] for r in rows] == ["2025-10-26", "2025-07-02", "2025-07-01", "2025-03-30"]
    assert pick(rows, "date", *FIELDS) == {
        "2025-03-30": (2, 2, 1, 1, 10.0, 60.0, 1),
        "2025-07-01": (3, 4, 3, 0, 35.0, 385.0, 2),
        "2025-07-02": (2, 2, 1, 1, 7.0, 10.0, 2),   # local midnight = 23:00 UTC, C2 running, C3 starts
        "2025-10-26": (2, 2, 2, 0, 18.0, 360.0, 1),
    }
    if not more(loaded):
        return
    # daysOfWeek = Sunday only (bit 1) keeps the two DST days
    _, rows = run(loaded, tmp_path, "CallsByDate", metadata={"dateFilter": {
        **dataset.PERIOD["dateFilter"], "daysOfWeek": 1}})
    assert sorted(r["date"] for r in rows) == ["2025-03-30", "2025-10-26"]


def test_cancelled_and_timed_out_reports_stop(tmp_path: Path) -> None:
    wh = DuckDBWarehouse.open(None)
    wh.append("w", dataset.segments())
    req = resolve_request({"reportTemplateName": "CallList"}, now=dataset.NOW)
    with pytest.raises(ReportCancelled):
        run_report(wh, "w", req, tmp_path / "a.parquet", cancelled=lambda: True)
    assert not (tmp_path / "a.parquet").exists()
    # a query that cannot finish in 0.3 s: a cross join of 10^9 rows
    wh.raw_sql("CREATE TABLE big AS SELECT range AS i FROM range(100000)")
    big = wh.con.table("big")
    cross = big.cross_join(big.view().rename(j="i"))
    with pytest.raises(ReportTimeout), wh.session() as session, guard(session, 0.3, None):
        session.to_arrow(cross.aggregate(s=(cross.i * cross.j).sum()))
