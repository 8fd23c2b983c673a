"""CallsByAccountCode, CallingUsage and CallingDetailedCallHistory on a hand-built workspace (DuckDB;
Spark parity in test_analytics_spark.py).

| call | segments (UTC 2025-07-01 unless said)                                              | code |
|------|------------------------------------------------------------------------------------|------|
| X1   | Alice 101 out, 09:00, ring 5 dur 125, ans (talk 120), trunk L1                      | 1001 |
| X2   | Alice out, 09:10, ring 20 dur 20, unanswered                                        | 1001 |
| X3   | Bob 102 out, 09:20, ring 5 dur 65, ans (talk 60)                                    | 2001 |
| X4   | Bob out, 09:30, ring 0 dur 30, ans (talk 30)                                        | –    |
| X5   | in via hg 200: Alice ref 10 s; Bob ans ring 5 dur 185; Alice ans ring 2 dur 62      | –    |
| X6   | internal Alice → Carol 103: Alice's leg and Carol's, each ring 3 dur 93, ans        | –    |
| X7   | in, Carol, ring 30, lost                                                            | –    |
| X8   | in, hg 300 with no user, ring 12, lost                                              | –    |
| X9   | Bob out, 10-26 01:30 (autumn DST day), ring 5 dur 35, ans (talk 30)                 | 9999 |
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from wxc_sdk.reports import CallingCDR

from callboard.reports.output import write_csv
from callboard.reports.templates import TEMPLATES
from callboard.sources import webex
from callboard.warehouse import DuckDBWarehouse, Warehouse
from tests.support.analytics import by, load, run
from tests.support.datasets.usage import rows


@pytest.fixture(scope="module")
def loaded() -> Iterator[tuple[Warehouse, str]]:
    wh = DuckDBWarehouse.open(None)
    yield wh, load(wh, rows())
    wh.close()


def test_calls_by_account_code(loaded: tuple[Warehouse, str], tmp_path: Path) -> None:
    wh, ws = loaded
    result, got = run(wh, ws, tmp_path, "CallsByAccountCode",
                      accountCodeLabels={"1001": "Sales calls", "2001": "Support"})
    assert [r.get("accountCode") for r in got] == ["1001", "2001", "9999", None]  # the no-code row last
    f = ("label", "calls", "ans", "duration", "talk")
    rows_by = by(got, "accountCode")
    # 1001: X1 (ans, 125 s, talk 120) and X2 (unanswered, 20 s) → 2 calls, 1 answered, 145 s
    assert tuple(rows_by["1001"].get(k) for k in f) == ("Sales calls", 2, 1, 145.0, 120.0)
    assert tuple(rows_by["2001"].get(k) for k in f) == ("Support", 1, 1, 65.0, 60.0)
    assert tuple(rows_by["9999"].get(k) for k in f) == (None, 1, 1, 35.0, 30.0)  # no label
    # no code: X4, X5 (3 segments, one call), X6 (2 segments), X7, X8 = 5 calls; answered X4, X5, X6 = 3;
    # duration 30 + (10 + 185 + 62) + (93 + 93) + 30 + 12 = 515; talk 30 + (180 + 60) + (90 + 90) = 450
    assert tuple(rows_by[None].get(k) for k in f) == (None, 5, 3, 515.0, 450.0)
    assert result.summary == {"ans": 6, "duration": 760.0, "calls": 9, "talk": 660.0}


def test_calling_usage(loaded: tuple[Warehouse, str], tmp_path: Path) -> None:
    wh, ws = loaded
    result, got = run(wh, ws, tmp_path, "CallingUsage")
    f = ("incoming", "outgoing", "internal", "incomingMinutes", "outgoingMinutes", "internalMinutes",
         "totalMinutes")
    rows_by = by(got, "userNum")
    assert list(rows_by) == ["101", "102", "103"]  # X8 has no user: not a row
    # Alice: incoming X5 once (two segments: ref, then answered 60 s) → 1 min; outgoing X1 (120 s), X2
    # (unanswered) → 2 min; internal X6 (90 s) → 1.5 min; total 4.5
    assert tuple(rows_by["101"][k] for k in f) == (1, 2, 1, 1.0, 2.0, 1.5, 4.5)
    # Bob: incoming X5 (180 s) → 3 min; outgoing X3 60 + X4 30 + X9 30 = 120 s → 2 min; total 5
    assert tuple(rows_by["102"][k] for k in f) == (1, 3, 0, 3.0, 2.0, 0.0, 5.0)
    # Carol: incoming X7 (lost, 0 min); internal X6 (90 s)
    assert tuple(rows_by["103"][k] for k in f) == (1, 0, 1, 0.0, 0.0, 1.5, 1.5)
    assert rows_by["103"]["userName"] == "Carol"
    assert result.summary["totalMinutes"] == pytest.approx(11.0)
    # ignoreShortAnsweredCalls (talk < 20 s) changes nothing here; shortCallSeconds 45 drops X4, X9 (30 s)
    # and Bob's X3 stays (60 s): Bob outgoing 1 call, 1 min
    _, got = run(wh, ws, tmp_path, "CallingUsage", ignoreShortAnsweredCalls=True, shortCallSeconds=45)
    assert (by(got, "userNum")["102"]["outgoing"], by(got, "userNum")["102"]["outgoingMinutes"]) == (1, 1.0)


def test_calling_detailed_call_history(loaded: tuple[Warehouse, str], tmp_path: Path) -> None:
    wh, ws = loaded
    result, got = run(wh, ws, tmp_path, "CallingDetailedCallHistory", countryCode="GB",
                      sortFields=[{"fieldName": "Start time", "direction": 0}])
    assert len(got) == 12
    rows_by = by(got, "Report ID")
    # X5b: Bob answered after 5 s ring; Webex Duration = talk 180; hold 12.4 → 12; routed by hg 200
    assert rows_by["X5b"] == {
        "Start time": "2025-07-01T10:00:10Z", "Answer time": "2025-07-01T10:00:15Z", "Duration": 180,
        "Ring duration": 5, "Answered": "true", "Direction": "TERMINATING", "Calling number": "07700 900123",
        "Called number": "102", "User": "Bob", "User number": "102", "User type": "User",
        "Call type": "SIP_INBOUND", "Correlation ID": "X5", "Report ID": "X5b",
        "Release time": "2025-07-01T10:03:15Z", "Report time": "2025-07-01T10:03:15Z", "Hold Duration": 12,
        "Caller ID number": "07700 900123", "Redirecting number": "200", "Redirect reason": "HuntGroup",
        "Answer indicator": "Yes", "Call outcome": "Success", "Call outcome reason": "Normal",
        "Site timezone": "60"}
    # X5a: refused while Bob answered → "Answered Elsewhere"; Webex Duration 0 (no talk)
    a = rows_by["X5a"]
    assert (a["Answered"], a["Duration"], a["Ring duration"], a["Answered Elsewhere"], a["Inbound trunk"],
            a["Called number"]) == ("false", 0, 10, "Yes", "L2", "+441632960200")
    # outgoing: ORIGINATING; national vs international by the dialled number's normal form (GB)
    x1, x2 = rows_by["X1"], rows_by["X2"]
    assert (x1["Direction"], x1["Call type"], x1["Calling number"], x1["Called number"], x1["Outbound trunk"],
            x1["Authorization code"]) == ("ORIGINATING", "SIP_NATIONAL", "101", "01632 960201", "L1", "1001")
    assert x2["Call type"] == "SIP_INTERNATIONAL" and "Answer time" not in x2
    # internal: the caller's leg originates, the callee's terminates
    assert (rows_by["X6a"]["Direction"], rows_by["X6b"]["Direction"]) == ("ORIGINATING", "TERMINATING")
    assert rows_by["X6a"]["Call type"] == "SIP_ENTERPRISE"
    # the autumn DST day after fall-back: GMT, offset 0 minutes; times stay UTC with Z
    assert (rows_by["X9"]["Start time"], rows_by["X9"]["Site timezone"]) == ("2025-10-26T01:30:00Z", "0")
    assert [r["Start time"] for r in got] == sorted(r["Start time"] for r in got)

    # the CSV as the Webex download writes it (field titles = Webex column names) parses as CallingCDR
    # and imports back through the Webex importer to the same segments
    buf = io.BytesIO()
    titles = {f.name: f.title for f in TEMPLATES["CallingDetailedCallHistory"].fields}
    write_csv(result.snapshot_path, buf, header_titles=titles, bom=True)
    records = list(csv.DictReader(io.StringIO(buf.getvalue().decode("utf-8-sig"))))
    cdrs = {c.report_id: c for c in CallingCDR.from_dicts(records)}
    assert set(cdrs) == set(rows_by)
    c = cdrs["X5b"]
    assert (c.duration, c.ring_duration, c.answered, c.direction, c.correlation_id, c.hold_duration) == (
        180, 5, True, "TERMINATING", "X5", 12)
    assert c.start_time is not None and c.start_time.isoformat() == "2025-07-01T10:00:10+00:00"
    back = webex.read(buf.getvalue(), source="roundtrip.csv").to_pylist()
    original = {r["docId"]: r for r in rows()}
    for r in back:
        o = original[r["docId"]]
        assert (r["connId"], r["start"].replace(tzinfo=None), r["ring"], r["duration"], r["ans"], r["userNum"],
                r["callType"], r["callDir"], r["accountCode"]) == (
            o["connId"], o["start"], o["ring"], o["duration"] if o["ans"] else o["ring"], o["ans"], o["userNum"],
            o["callType"], o["callDir"], o["accountCode"]), r["docId"]
        assert r["hgNum"] == o["hgNum"], r["docId"]
