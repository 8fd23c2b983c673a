"""The hand-built workspace of ``tests/reports/test_analytics_usage.py`` (tabulated there, with the
answers worked out by hand); ``test_analytics_spark.py`` loads it too. Times are UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.support.analytics import seg


def d(h: int, m: int = 0, s: int = 0, month: int = 7, day: int = 1) -> datetime:
    return datetime(2025, month, day, h, m, s)


def rows() -> list[dict[str, Any]]:
    alice = {"userNum": "101", "userName": "Alice"}
    bob = {"userNum": "102", "userName": "Bob"}
    carol = {"userNum": "103", "userName": "Carol"}
    out = {"callDir": 3, "cli": "+441632960100"}
    return [
        seg("X1", d(9), **alice, **out, ring=5, duration=125, ans=1, accountCode="1001", trunk="L1",
            calledUserNum="01632 960201", callUserNum="101"),
        seg("X2", d(9, 10), **alice, **out, ring=20, duration=20, accountCode="1001", calledUserNum="+33123456789",
            callUserNum="101"),
        seg("X3", d(9, 20), **bob, **out, ring=5, duration=65, ans=1, accountCode="2001"),
        seg("X4", d(9, 30), **bob, **out, duration=30, ans=1),
        seg("X5a", d(10), connId="X5", **alice, cli="07700 900123", cliName="Pat", hgNum="200", hgName="Sales",
            ring=10, duration=10, ref=1, calledUserNum="+441632960200", trunk="L2"),
        seg("X5b", d(10, 0, 10), connId="X5", **bob, cli="07700 900123", hgNum="200", hgName="Sales", ring=5,
            duration=185, ans=1, hold=12.4),
        seg("X5c", d(10, 3, 15), connId="X5", **alice, cli="07700 900123", ring=2, duration=62, ans=1),
        seg("X6a", d(11), connId="X6", **alice, callType=1, callDir=1, ring=3, duration=93, ans=1,
            callUserNum="101", calledUserNum="103"),
        seg("X6b", d(11), connId="X6", **carol, callType=1, callDir=1, ring=3, duration=93, ans=1,
            callUserNum="101", calledUserNum="103"),
        seg("X7", d(12), **carol, ring=30, duration=30, lost=1),
        seg("X8", d(12, 30), hgNum="300", hgName="Support", ring=12, duration=12, lost=1),
        seg("X9", d(1, 30, month=10, day=26), **bob, **out, ring=5, duration=35, ans=1, accountCode="9999"),
    ]
