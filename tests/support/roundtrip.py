"""The Results API round trip's six segments, its saved-report defaults and the July rows it answers, newest
first (tabulated and worked out by hand in ``tests/api/test_results_roundtrip.py``; the restart test reuses them)."""

from __future__ import annotations

from typing import Any

ROWS: list[dict[str, Any]] = [
    {"docId": "d1", "connId": "c1", "start": "2025-07-01T09:00:00Z", "userName": "Ann", "userNum": "101",
     "cli": "+442070000001", "hgNum": "200", "hgName": "Sales", "callType": 2, "callDir": 2, "ans": 1,
     "ring": 5, "duration": 65},
    {"docId": "d2", "connId": "c1", "start": "2025-07-01T08:59:50Z", "userName": "Bob", "userNum": "102",
     "cli": "+442070000001", "hgNum": "200", "hgName": "Sales", "callType": 2, "callDir": 2, "ref": 1,
     "ring": 10, "duration": 10},
    {"docId": "d3", "connId": "c2", "start": "2025-07-02T14:30:00Z", "userName": "Ann", "userNum": "101",
     "callType": 2, "callDir": 3, "ans": 1, "ring": 3, "duration": 123, "calledUserNum": "07977502880"},
    {"docId": "d4", "connId": "c3", "start": "2025-07-03T12:00:00Z", "userName": "Bob", "userNum": "102",
     "cli": "+442070000009", "callType": 2, "callDir": 2, "lost": 1, "ring": 30, "duration": 30},
    {"docId": "d5", "connId": "c4", "start": "2025-07-03T16:00:00Z", "userName": "Ann", "userNum": "101",
     "callType": 1, "callDir": 1, "ans": 1, "ring": 2, "duration": 42},
    {"docId": "d6", "connId": "c5", "start": "2025-08-10T10:00:00Z", "userName": "Ann", "userNum": "101",
     "callType": 2, "callDir": 2, "ans": 1, "ring": 1, "duration": 11},
]
DISPLAY = ["connId", "start", "userName", "userNum", "cli", "hgNum", "callType", "callDir", "ans", "ref",
           "lost", "ring", "duration", "calledUserNum", "hgName"]
JULY = {"metadata": {"dateFilter": {"presetName": "Custom", "start": "2025-07-01T00:00:00",
                                    "end": "2025-08-01T00:00:00"}}}
DEFAULTS = {"sortFields": [{"fieldName": "start", "direction": 1}],
            "displayFields": [{"fieldName": f, "mandatory": False} for f in DISPLAY], **JULY}
EXPECTED = [  # (docId, local start, userNum, the flag that is 1, ring, duration)
    ("d5", "2025-07-03T17:00:00", "101", "ans", 2.0, 42.0),
    ("d4", "2025-07-03T13:00:00", "102", "lost", 30.0, 30.0),
    ("d3", "2025-07-02T15:30:00", "101", "ans", 3.0, 123.0),
    ("d1", "2025-07-01T10:00:00", "101", "ans", 5.0, 65.0),
    ("d2", "2025-07-01T09:59:50", "102", "ref", 10.0, 10.0),
]
