"""The hand-built workspace of ``tests/reports/test_analytics_trunks.py`` (tabulated there, with the
answers worked out by hand); ``test_analytics_spark.py`` loads it too. Times are UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.support.analytics import seg


def d(month: int, day: int, h: int, m: int = 0, s: int = 0) -> datetime:
    return datetime(2025, month, day, h, m, s)


def rows() -> list[dict[str, Any]]:
    return [
        seg("T1", d(7, 1, 9, 20), ring=10, duration=1200, ans=1, userNum="101", trunk="L1"),
        seg("T2", d(7, 1, 9, 25), callDir=3, ring=5, duration=4000, ans=1, userNum="102", trunk="L2"),
        seg("T3a", d(7, 1, 9, 35), connId="T3", ring=20, duration=20, ref=1, userNum="101", hgNum="200"),
        seg("T3b", d(7, 1, 9, 35, 20), connId="T3", ring=10, duration=310, ans=1, userNum="103", hgNum="200"),
        seg("T4", d(7, 1, 9, 30), callType=1, callDir=1, duration=1200, ans=1, userNum="104"),
        seg("T5", d(10, 26, 0, 50), duration=1200, ans=1, userNum="101"),
        seg("T6", d(10, 26, 1, 5), ring=60, duration=600, ans=1, userNum="102"),
        seg("T7", d(10, 26, 0, 10), duration=300, ans=1, userNum="103"),
        seg("T8", d(3, 30, 0, 50), duration=1200, ans=1, userNum="101"),
    ]
