"""The hand-built workspace of ``tests/reports/test_analytics_distributions.py`` (tabulated there, with the
answers worked out by hand); ``test_analytics_spark.py`` loads it too. Times are UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.support.analytics import seg


def d(month: int, day: int, h: int, m: int = 0, s: int = 0) -> datetime:
    return datetime(2025, month, day, h, m, s)


def rows() -> list[dict[str, Any]]:
    return [
        seg("R1", d(7, 1, 9), ring=4, duration=34, ans=1, userNum="101"),
        seg("R2a", d(7, 1, 9, 10), connId="R2", ring=15, duration=15, ref=1, userNum="101", hgNum="200"),
        seg("R2b", d(7, 1, 9, 10, 15), connId="R2", ring=5, duration=65, ans=1, userNum="102", hgNum="200"),
        seg("R3", d(7, 1, 9, 20), ring=25, duration=125, ans=1, userNum="101"),
        seg("R4", d(7, 1, 9, 30), ring=8, duration=8, lost=1, userNum="101"),
        seg("R5", d(7, 1, 9, 40), ring=3, duration=3, lost=1, userNum="101"),
        seg("R6", d(7, 1, 9, 50), ring=45, duration=45, lost=1, userNum="102"),
        seg("R7", d(7, 1, 10), ring=10, duration=22, ans=1, userNum="102"),
        seg("R8", d(7, 1, 10, 10), ring=31, duration=231, ans=1, userNum="102"),
        seg("R9", d(3, 30, 1, 30), ring=12, duration=57, ans=1, userNum="101"),
        seg("O1", d(7, 1, 11), callDir=3, ring=5, duration=130, ans=1, userNum="101"),
        seg("N1", d(10, 26, 1, 30), callType=1, callDir=1, ring=2, duration=61.5, ans=1, userNum="103"),
    ]
