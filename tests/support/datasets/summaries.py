"""The hand-built workspace of ``tests/reports/test_summaries.py`` (tabulated there, with the answers
worked out by hand); ``test_analytics_spark.py`` loads it too. Times are UTC, all on 2 July 2025."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.support.analytics import seg


def t(h: int, m: int = 0, s: int = 0) -> datetime:
    return datetime(2025, 7, 2, h, m, s)


DESK = {"hgNum": "500", "hgName": "Desk"}
BILLING = {"hgNum": "600", "hgName": "Billing"}
DAN = {"userNum": "201", "userName": "Dan"}
EVE = {"userNum": "202", "userName": "Eve"}
FAY = {"userNum": "203", "userName": "Fay"}
GUS = {"userNum": "204", "userName": "Gus"}
HAL = {"userNum": "205", "userName": "Hal"}
RITA = {"userNum": "100", "userName": "Rita"}


def _refused(ring: float) -> dict[str, Any]:
    return {"ring": ring, "duration": ring, "ref": 1}


def _answered(ring: float, talk: float) -> dict[str, Any]:
    return {"ring": ring, "duration": ring + talk, "ans": 1}


def rows() -> list[dict[str, Any]]:
    return [
        # H1: Desk rings Dan 15 s, then Eve, who answers after 10 s: the caller waited 25 s
        seg("h1a", t(9), connId="H1", **DESK, **DAN, **_refused(15)),
        seg("h1b", t(9, 0, 15), connId="H1", **DESK, **EVE, **_answered(10, 120)),
        # H2: lost in Desk: Eve 15 s, then Fay 20 s, when the caller hangs up (35 s)
        seg("h2a", t(10), connId="H2", **DESK, **EVE, **_refused(15)),
        seg("h2b", t(10, 0, 15), connId="H2", **DESK, **FAY, ring=20, duration=20, lost=1),
        # H3: Fay answers at once (4 s)
        seg("h3", t(11), connId="H3", **DESK, **FAY, **_answered(4, 60)),
        # H4: Dan, Eve, Fay refuse in turn; the hunt comes back to Dan, who answers (50 s)
        seg("h4a", t(12), connId="H4", **DESK, **DAN, **_refused(15)),
        seg("h4b", t(12, 0, 15), connId="H4", **DESK, **EVE, **_refused(15)),
        seg("h4c", t(12, 0, 30), connId="H4", **DESK, **FAY, **_refused(15)),
        seg("h4d", t(12, 0, 45), connId="H4", **DESK, **DAN, **_answered(5, 60)),
        # H5: Desk (Dan refuses) overflows to Billing, where Gus answers after 6 s
        seg("h5a", t(13), connId="H5", **DESK, **DAN, **_refused(15)),
        seg("h5b", t(13, 0, 15), connId="H5", **BILLING, **GUS, **_answered(6, 90)),
        # H6: reception (Rita, no group) rings 8 s, then Desk, where Eve answers after 3 s
        seg("h6a", t(14), connId="H6", **RITA, **_refused(8)),
        seg("h6b", t(14, 0, 8), connId="H6", **DESK, **EVE, **_answered(3, 60)),
        # H7: Fay refuses; the group's voicemail (a segment without a user) answers at once
        seg("h7a", t(15), connId="H7", **DESK, **FAY, **_refused(15)),
        seg("h7b", t(15, 0, 15), connId="H7", **DESK, **_answered(0, 30)),
        # H8: Billing rings Gus and Hal together; Hal answers after 9 s
        seg("h8a", t(17), connId="H8", **BILLING, **GUS, **_refused(9)),
        seg("h8b", t(17), connId="H8", **BILLING, **HAL, **_answered(9, 60)),
        # direct calls: Dan answers D1; D2 rings Eve until the caller hangs up
        seg("d1", t(16), connId="D1", **DAN, **_answered(3, 30)),
        seg("d2", t(16, 30), connId="D2", **EVE, ring=20, duration=20, lost=1),
    ]
