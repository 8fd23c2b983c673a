"""The hand-built workspace of ``tests/reports/test_analytics_lost_calls.py`` (tabulated there, with the
answers worked out by hand); ``test_analytics_spark.py`` loads it too. Times are UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.support.analytics import seg


def d(month: int, day: int, h: int, m: int = 0, s: int = 0) -> datetime:
    return datetime(2025, month, day, h, m, s)


def rows() -> list[dict[str, Any]]:
    lost = {"ring": 30, "duration": 30, "lost": 1}
    return [
        seg("A1", d(7, 1, 9), cli="+44 7977 502880", hgNum="200", hgName="Sales", userNum="101", **lost),
        seg("A2", d(7, 1, 9, 10), cli="07977 502880", cliName="Ann", hgNum="200", hgName="Sales", userNum="101",
            **lost),
        seg("B1", d(7, 1, 10), cli="01632 960001", hgNum="300", hgName="Support", userNum="102", **lost),
        seg("C1", d(7, 1, 11), cli="+33 1 23 45 67 89", hgNum="200", hgName="Sales", userNum="101", **lost),
        seg("D1", d(7, 1, 8), cli="+441632960002", hgNum="300", hgName="Support", userNum="102", **lost),
        seg("D2", d(7, 1, 12), cli="(01632) 960-002", hgNum="300", hgName="Support", userNum="102", **lost),
        seg("W1", d(7, 1, 13), cli=None, hgNum="200", hgName="Sales", userNum="101", **lost),
        seg("W2", d(7, 1, 14), cli="anonymous", hgNum="300", hgName="Support", userNum="102", **lost),
        seg("E1", d(7, 1, 15), cli="+441632960003", hgNum="200", hgName="Sales", userNum="101", ring=3,
            duration=3, lost=1),
        seg("F1a", d(7, 1, 16), connId="F1", cli="+441632960004", hgNum="300", hgName="Support", userNum="101",
            ring=15, duration=15, ref=1),
        seg("F1b", d(7, 1, 16, 0, 15), connId="F1", cli="+441632960004", hgNum="300", hgName="Support",
            userNum="102", ring=10, duration=10, lost=1),
        seg("G1", d(10, 26, 0, 50), cli="+441632960005", userNum="103", **lost),
        seg("G2", d(10, 26, 1, 20), cli="+441632960005", userNum="103", **lost),
        # contacts
        seg("O1", d(7, 1, 8), callDir=3, userNum="102", calledUserNum="+441632960001", ring=5, duration=65, ans=1),
        seg("O2", d(7, 1, 9), callDir=3, userNum="102", calledUserNum="01632 960002", ring=5, duration=65, ans=1),
        seg("O3", d(7, 2, 11), callDir=3, userNum="102", calledUserNum="+441632960001", ring=5, duration=65, ans=1),
        seg("O4", d(7, 1, 11, 5), callDir=3, userNum="101", calledUserNum="0033 1 23 45 67 89", ring=30,
            duration=30),
        seg("I1", d(7, 1, 9, 30), cli="447977502880", userNum="101", ring=5, duration=20, ans=1),
        seg("I2", d(10, 26, 2), cli="+441632960005", userNum="103", ring=5, duration=125, ans=1),
        seg("I3", d(7, 1, 13, 30), cli=None, userNum="101", ring=5, duration=125, ans=1),
        # an internal call from a number-like extension and an answered call: never lost calls
        seg("N1", d(7, 1, 9, 45), callType=1, callDir=1, cli="101", userNum="102", ring=2, duration=62, ans=1),
    ]


ONE_DAY = {"dateFilter": {"presetName": "Custom", "start": "2025-07-01", "end": "2025-07-02"}}


def after_period_rows() -> list[dict[str, Any]]:
    """For a one-day period (1 July in London = UTC 06-30 23:00 to 07-01 23:00): lost calls late in
    the day and contacts after the period's end (UTC times)."""
    lost = {"ring": 30, "duration": 30, "lost": 1, "hgNum": "200", "hgName": "Sales"}
    return [
        # L1 lost 22:30 UTC (23:30 BST); O1 dials it back at 23:15 UTC, after the period → 2700 s
        seg("L1", d(7, 1, 22, 30), cli="+441632960101", **lost),
        seg("O1", d(7, 1, 23, 15), callDir=3, userNum="102", calledUserNum="01632 960101", ring=5, duration=65),
        # L2 lost 22:00; the caller gets through (answered) at 08:00 the next day → 36000 s
        seg("L2", d(7, 1, 22), cli="+441632960102", **lost),
        seg("I1", d(7, 2, 8), cli="01632960102", userNum="101", ring=5, duration=65, ans=1),
        # L3 lost 21:00; the call-back at 21:30 the next day is 24.5 h later: read, but outside the window
        seg("L3", d(7, 1, 21), cli="+441632960103", **lost),
        seg("O2", d(7, 2, 21, 30), callDir=3, userNum="102", calledUserNum="+441632960103", ring=5, duration=65),
        # L4 lost 20:00; the same caller's lost call after the period is neither an attempt nor a contact
        seg("L4", d(7, 1, 20), cli="+441632960104", **lost),
        seg("L4x", d(7, 2, 1), cli="+441632960104", **lost),
        # L5 lost 22:50; the caller's next call S rings (refused) at 22:58, in the period, and is answered
        # by a second segment at 23:01, after it: that segment is a call of its own there → 660 s
        seg("L5", d(7, 1, 22, 50), cli="+441632960105", **lost),
        seg("S1", d(7, 1, 22, 58), connId="S", cli="+441632960105", userNum="101", ring=20, duration=20, ref=1),
        seg("S2", d(7, 1, 23, 1), connId="S", cli="+441632960105", userNum="102", ring=5, duration=65, ans=1),
    ]
