"""A hand-built workspace whose report answers are worked out by hand in the tests.

Time zone Europe/London: BST (UTC+1) from 2025-03-30 01:00 UTC to 2025-10-26 01:00 UTC, GMT
otherwise. Every segment (times UTC → London):

| seg | call | start UTC        | London           | user      | hg          | type/dir | ring | dur | flag | talk |
|-----|------|------------------|------------------|-----------|-------------|----------|------|-----|------|------|
| s1a | C1   | 07-01 09:00:00   | 07-01 10:00:00   | 101 Alice | 200 Sales   | ext/in   | 15   | 15  | ref  | 0    |
| s1b | C1   | 07-01 09:00:15   | 07-01 10:00:15   | 102 Bob   | 300 Support | ext/in   | 5    | 125 | ans  | 120  |
| s9  | C9   | 07-01 09:01:00   | 07-01 10:01:00   | 103 Carol | –           | ext/out  | 5    | 30  | ans  | 25   |
| s2  | C2   | 07-01 22:58:00   | 07-01 23:58:00   | 101 Alice | –           | ext/in   | 10   | 250 | ans  | 240  |
| s3  | C3   | 07-01 23:01:00   | 07-02 00:01:00   | 101 Alice | 200 Sales   | ext/in   | 3    | 3   | lost | 0    |
| s4  | C4   | 07-02 08:10:00   | 07-02 09:10:00   | 102 Bob   | –           | ext/out  | 4    | 14  | ans  | 10   |
| s5  | C5   | 03-30 00:30:00   | 03-30 00:30 GMT  | 103 Carol | –           | int/int  | 2    | 62  | ans  | 60   |
| s6  | C6   | 03-30 01:30:00   | 03-30 02:30 BST  | 101 Alice | 300 Support | ext/in   | 8    | 8   | lost | 0    |
| s7  | C7   | 10-26 00:40:00   | 10-26 01:40 BST  | 102 Bob   | 200 Sales   | ext/in   | 12   | 312 | ans  | 300  |
| s8  | C8   | 10-26 01:10:00   | 10-26 01:10 GMT  | 101 Alice | 200 Sales   | ext/in   | 6    | 66  | ans  | 60   |

What each call exercises: C1 visits two hunt groups and is refused (s1a) then answered (s1b);
C2 crosses local midnight and has a withheld CLI; C3 is a short abandon (ring 3 < 5) with a
withheld CLI, starting on another local date than its UTC date while C2 is still running; C4 is a
short answered call (talk 10 < 20); C5/C6 fall on the spring-forward day (no local 01:xx), C7/C8 on
the fall-back day (local 01:xx twice); C9 overlaps C1 (two external calls at once); C5 is internal.
CLIs: C1 and C7 +441110000001, C6 +441110000003, C8 +441110000004; C2, C3 withheld (null); the
outgoing and internal calls carry none.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from callboard.sources.base import finish_segments

TZ = "Europe/London"
NOW = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
PERIOD = {"dateFilter": {"presetName": "Custom", "start": "2025-01-01", "end": "2026-01-01"}}

_ROWS = [
    # docId, connId, start (UTC), userNum, userName, hgNum, hgName, callType, callDir, ring, duration,
    # ans, ref, lost, cli
    ("s1a", "C1", datetime(2025, 7, 1, 9, 0, 0), "101", "Alice", "200", "Sales", 2, 2, 15, 15, 0, 1, 0,
     "+441110000001"),
    ("s1b", "C1", datetime(2025, 7, 1, 9, 0, 15), "102", "Bob", "300", "Support", 2, 2, 5, 125, 1, 0, 0,
     "+441110000001"),
    ("s9", "C9", datetime(2025, 7, 1, 9, 1, 0), "103", "Carol", None, None, 2, 3, 5, 30, 1, 0, 0, None),
    ("s2", "C2", datetime(2025, 7, 1, 22, 58, 0), "101", "Alice", None, None, 2, 2, 10, 250, 1, 0, 0, None),
    ("s3", "C3", datetime(2025, 7, 1, 23, 1, 0), "101", "Alice", "200", "Sales", 2, 2, 3, 3, 0, 0, 1, None),
    ("s4", "C4", datetime(2025, 7, 2, 8, 10, 0), "102", "Bob", None, None, 2, 3, 4, 14, 1, 0, 0, None),
    ("s5", "C5", datetime(2025, 3, 30, 0, 30, 0), "103", "Carol", None, None, 1, 1, 2, 62, 1, 0, 0, None),
    ("s6", "C6", datetime(2025, 3, 30, 1, 30, 0), "101", "Alice", "300", "Support", 2, 2, 8, 8, 0, 0, 1,
     "+441110000003"),
    ("s7", "C7", datetime(2025, 10, 26, 0, 40, 0), "102", "Bob", "200", "Sales", 2, 2, 12, 312, 1, 0, 0,
     "+441110000001"),
    ("s8", "C8", datetime(2025, 10, 26, 1, 10, 0), "101", "Alice", "200", "Sales", 2, 2, 6, 66, 1, 0, 0,
     "+441110000004"),
]
_NAMES = ("docId", "connId", "start", "userNum", "userName", "hgNum", "hgName", "callType", "callDir", "ring",
          "duration", "ans", "ref", "lost", "cli")


def segments() -> pa.Table:
    cols = {name: [row[i] for row in _ROWS] for i, name in enumerate(_NAMES)}
    cols["start"] = pa.array([s.replace(tzinfo=UTC) for s in cols["start"]], pa.timestamp("us", tz="UTC"))
    cols["ring"] = [float(v) for v in cols["ring"]]
    cols["duration"] = [float(v) for v in cols["duration"]]
    return finish_segments(cols)
