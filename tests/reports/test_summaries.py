"""CallSummaryByHuntGroup's per-call wait figures and CallSummaryByUser's answer rate on a hand-built
workspace (tests/support/datasets/summaries.py; DuckDB here, Spark parity in test_analytics_spark.py).

Every segment (UTC, 2 July 2025; groups: 500 Desk, hunting in turn with a 15 s timeout, 600 Billing,
ringing all its agents at once):

| seg | call | start    | user      | hg  | flag | ring | dur | talk | note                                  |
|-----|------|----------|-----------|-----|------|------|-----|------|---------------------------------------|
| h1a | H1   | 09:00:00 | 201 Dan   | 500 | ref  | 15   | 15  |      | answered by the second agent rung     |
| h1b | H1   | 09:00:15 | 202 Eve   | 500 | ans  | 10   | 130 | 120  |   after 15 + 10 = 25 s                |
| h2a | H2   | 10:00:00 | 202 Eve   | 500 | ref  | 15   | 15  |      | lost in the group                     |
| h2b | H2   | 10:00:15 | 203 Fay   | 500 | lost | 20   | 20  |      |   after 15 + 20 = 35 s                |
| h3  | H3   | 11:00:00 | 203 Fay   | 500 | ans  | 4    | 64  | 60   | answered at once                      |
| h4a | H4   | 12:00:00 | 201 Dan   | 500 | ref  | 15   | 15  |      | Dan refuses, Eve, Fay too, then       |
| h4b | H4   | 12:00:15 | 202 Eve   | 500 | ref  | 15   | 15  |      |   Dan answers his own refused call    |
| h4c | H4   | 12:00:30 | 203 Fay   | 500 | ref  | 15   | 15  |      |   after 45 + 5 = 50 s                 |
| h4d | H4   | 12:00:45 | 201 Dan   | 500 | ans  | 5    | 65  | 60   |                                       |
| h5a | H5   | 13:00:00 | 201 Dan   | 500 | ref  | 15   | 15  |      | overflows from Desk to Billing,       |
| h5b | H5   | 13:00:15 | 204 Gus   | 600 | ans  | 6    | 96  | 90   |   answered there after 6 s            |
| h6a | H6   | 14:00:00 | 100 Rita  | –   | ref  | 8    | 8   |      | reception first, then Desk:           |
| h6b | H6   | 14:00:08 | 202 Eve   | 500 | ans  | 3    | 63  | 60   |   3 s in Desk, 11 s in all            |
| h7a | H7   | 15:00:00 | 203 Fay   | 500 | ref  | 15   | 15  |      | answered by the group's voicemail,    |
| h7b | H7   | 15:00:15 | (no user) | 500 | ans  | 0    | 30  | 30   |   a segment without a user            |
| h8a | H8   | 17:00:00 | 204 Gus   | 600 | ref  | 9    | 9   |      | rung together; Hal answers after 9 s  |
| h8b | H8   | 17:00:00 | 205 Hal   | 600 | ans  | 9    | 69  | 60   |                                       |
| d1  | D1   | 16:00:00 | 201 Dan   | –   | ans  | 3    | 33  | 30   | direct                                |
| d2  | D2   | 16:30:00 | 202 Eve   | –   | lost | 20   | 20  |      | direct, lost                          |

Every call is incoming and external; the service-level threshold is 10 s (the first of the default
``ringDurationThresholds``) unless a test says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from callboard.warehouse import DuckDBWarehouse, Warehouse
from tests.support.analytics import by, load, run
from tests.support.datasets.summaries import rows

Loaded = tuple[Warehouse, str]


@pytest.fixture(scope="module")
def loaded() -> Iterator[Loaded]:
    wh = DuckDBWarehouse.open(None)
    yield wh, load(wh, rows())
    wh.close()


def test_hunt_group_wait_is_per_call(loaded: Loaded, tmp_path: Path) -> None:
    """The caller's wait in the group, per call: from the call's first segment in the group to the
    answer there (answering segment's start + ring), or unanswered there to its last segment's end.

    Desk 500 has H1-H7 (H8 never rang it; calls 7):
      H1 09:00:00 → answer 09:00:15 + 10 = 25 s, answered (Dan's 15 s leg was a refusal, not a wait of its own)
      H2 10:00:00 → last end 10:00:15 + 20 = 35 s, lost
      H3 4 s, answered
      H4 12:00:00 → Dan's answer 12:00:45 + 5 = 50 s, answered
      H5 only h5a in Desk: 13:00:00 → its end 13:00:15 = 15 s; neither answered nor lost there: ref (overflowed)
      H6 enters Desk at 14:00:08 (Rita's reception leg is in no group) → 14:00:08 + 3 = 3 s, answered
      H7 15:00:00 → the voicemail's answer at 15:00:15 + 0 = 15 s, answered
    ans H1,H3,H4,H6,H7 = 5; lost H2 = 1; ref H5 = 1
    ring = 25+35+4+50+15+3+15 = 147; avgRing = (25+4+50+3+15)/5 = 97/5 = 19.4; maxRing = 50 (H4)
    serviceLevel = answered within 10 s (H3 4 s, H6 3 s) ÷ answered or lost (5 + 1) = 2/6
    answerRate = 5/7; talk 120+60+60+60+30 = 330, avgTalk 330/5 = 66;
    duration 15+130+15+20+64+15+15+15+65+15+63+15+30 = 477
    The per-leg figures of the same segments: legRing = Σ ring 15+10+15+20+4+15+15+15+5+15+3+15+0 = 147
    (equal to ring here: Desk's legs follow each other without gaps); avgLegRing = mean ring of the
    answered legs (10+4+5+3+0)/5 = 4.4; maxLegRing = 20 (h2b); legServiceLevel = answered legs with
    ring ≤ 10 (all five: h1b's 10 s is within) ÷ (5 answered + 1 lost legs) = 5/6.

    Billing 600 has H5 and H8 (calls 2):
      H5 enters Billing at 13:00:15 (its 15 s in Desk are Desk's) → answer after 6 s
      H8 both legs start 17:00:00 → Hal's answer at 17:00:09 = 9 s; Gus's simultaneous leg adds no wait
    ans 2, lost 0, ref 0 (H8 was refused on h8a but answered in the group); ring 6+9 = 15;
    avgRing 7.5; maxRing 9; serviceLevel 2/2; answerRate 2/2; talk 90+60 = 150, avgTalk 75;
    duration 96+9+69 = 174; legRing 6+9+9 = 24 (the two legs of H8 ring at the same time);
    avgLegRing (6+9)/2 = 7.5; maxLegRing 9; legServiceLevel 2/(2+0) = 1.
    """
    result, got = run(*loaded, tmp_path, "CallSummaryByHuntGroup")
    rows_by = by(got, "hgNum")
    assert set(rows_by) == {"500", "600"}
    desk = rows_by["500"]
    assert desk == {"hgNum": "500", "hgName": "Desk", "calls": 7, "ans": 5, "ref": 1, "lost": 1, "ring": 147.0,
                    "avgRing": pytest.approx(19.4), "maxRing": 50.0, "talk": 330.0, "avgTalk": 66.0,
                    "duration": 477.0, "answerRate": pytest.approx(5 / 7), "serviceLevel": pytest.approx(1 / 3),
                    "legRing": 147.0, "avgLegRing": pytest.approx(4.4), "maxLegRing": 20.0,
                    "legServiceLevel": pytest.approx(5 / 6)}
    assert rows_by["600"] == {"hgNum": "600", "hgName": "Billing", "calls": 2, "ans": 2, "ref": 0, "lost": 0,
                              "ring": 15.0, "avgRing": 7.5, "maxRing": 9.0, "talk": 150.0, "avgTalk": 75.0,
                              "duration": 174.0, "answerRate": 1.0, "serviceLevel": 1.0, "legRing": 24.0,
                              "avgLegRing": 7.5, "maxLegRing": 9.0, "legServiceLevel": 1.0}
    # summary: calls 7+2, ans 5+2, ref 1+0, lost 1+0, ring 147+15, talk 330+150, duration 477+174, legRing 147+24
    assert result.summary == {"calls": 9, "ans": 7, "ref": 1, "lost": 1, "ring": 162.0, "talk": 480.0,
                              "duration": 651.0, "legRing": 171.0}


def test_hunt_group_default_fields_and_threshold(loaded: Loaded, tmp_path: Path) -> None:
    """The per-leg figures are not shown by default. The threshold is the smallest of
    ringDurationThresholds and inclusive: with [50, 25] it is 25 s, and Desk's answered waits
    25 (H1), 4, 50, 3, 15 give 4 within 25 s ÷ 6 answered or lost = 2/3; legServiceLevel counts
    every answered leg (rings 10, 4, 5, 3, 0) ÷ 6 legs answered or lost = 5/6."""
    _, got = run(*loaded, tmp_path, "CallSummaryByHuntGroup", ignoreDisplayFields=False,
                 ringDurationThresholds=[50, 25])
    desk = by(got, "hgNum")["500"]
    assert list(desk) == ["hgNum", "hgName", "calls", "ans", "ref", "lost", "ring", "avgRing", "maxRing", "talk",
                          "avgTalk", "duration", "answerRate", "serviceLevel"]
    assert desk["serviceLevel"] == pytest.approx(2 / 3)
    _, got = run(*loaded, tmp_path, "CallSummaryByHuntGroup", ringDurationThresholds=[50, 25])
    assert by(got, "hgNum")["500"]["legServiceLevel"] == pytest.approx(5 / 6)


def test_hunt_group_service_level_is_ring_time_distributions(loaded: Loaded, tmp_path: Path) -> None:
    """RingTimeDistribution over the group's own segments (filter hgNum = 500) rolls up the same
    per-call waits: offered = calls answered or lost there = H1, H2, H3, H4, H6, H7 (H5 has only a
    refused segment in Desk: no outcome, not offered); within 10 s: H3 (4 s), H6 (3 s) → 2/6, the
    group's serviceLevel. Over all segments RingTimeDistribution measures from the call's first
    segment instead: H6 waited 8 + 3 = 11 s (reception first) and is not within 10 s there.

    With shortAbandonSeconds 25 and ignoreAbandonedCalls, the lost legs h2b (20 s) and d2 (20 s) are
    dropped: H2 keeps only its refused leg h2a in Desk, so it is overflowed (ref 2: H2, H5), lost 0,
    its wait 15 s; serviceLevel = 2 ÷ (5 answered + 0 lost) = 0.4, and RingTimeDistribution on the
    group leaves H2 out (no outcome): 2 within 10 s of 5 offered = 0.4."""
    group = [{"fieldName": "hgNum", "operator": "=", "values": ["500"]}]
    _, dist = run(*loaded, tmp_path, "RingTimeDistribution", ringDurationThresholds=[10], filterConditions=group)
    assert [(r["answered"], r["lost"], r["serviceLevel"]) for r in dist] == [(2, 0, 1 / 3), (3, 1, 5 / 6)]
    _, got = run(*loaded, tmp_path, "CallSummaryByHuntGroup")
    assert by(got, "hgNum")["500"]["serviceLevel"] == pytest.approx(dist[0]["serviceLevel"])
    _, dist = run(*loaded, tmp_path, "RingTimeDistribution", ringDurationThresholds=[10])
    # all calls: within 10 s H3 (4), H8 (9), D1 (3) of 10 offered (H1-H8, D1 answered or lost, D2 lost)
    assert (dist[0]["answered"], dist[0]["serviceLevel"]) == (3, 0.3)

    short = {"ignoreAbandonedCalls": True, "shortAbandonSeconds": 25}
    _, got = run(*loaded, tmp_path, "CallSummaryByHuntGroup", **short)
    desk = by(got, "hgNum")["500"]
    assert (desk["calls"], desk["ans"], desk["ref"], desk["lost"], desk["ring"], desk["serviceLevel"]) == (
        7, 5, 2, 0, 147.0 - 35 + 15, 0.4)
    _, dist = run(*loaded, tmp_path, "RingTimeDistribution", ringDurationThresholds=[10], filterConditions=group,
                  **short)
    assert dist[0]["serviceLevel"] == 0.4


def test_user_answer_rate_leaves_out_rings_another_user_answered(loaded: Loaded, tmp_path: Path) -> None:
    """answeredElsewhere = refused segments of calls that a segment of another user answered;
    answerRate = ans ÷ (ans + lost + ref − answeredElsewhere); answerRateAllRings = ans ÷ (ans + lost + ref).

    Dan 201: h1a ref (H1 answered by Eve: elsewhere), h4a ref (H4 answered by Dan himself: a refusal
    that counts), h4d ans (ring 5), h5a ref (H5 answered by Gus: elsewhere), d1 ans (ring 3):
      calls 5, ans 2, ref 3, lost 0, elsewhere 2; answerRate 2/(2+0+3−2) = 2/3, all rings 2/5 = 0.4;
      ring 15+15+5+15+3 = 53, avgRing (5+3)/2 = 4, maxRing 15; talk 60+30 = 90, avgTalk 45;
      duration 15+15+65+15+33 = 143; serviceLevel (answered legs ≤ 10 s ÷ answered + lost) 2/2 = 1
    Eve 202: h1b ans (10), h2a ref (H2 never answered: counts), h4b ref (Dan answered: elsewhere),
    h6b ans (3), d2 lost (20): calls 5, ans 2, ref 2, lost 1, elsewhere 1; answerRate 2/(2+1+2−1)
      = 0.5, all rings 2/5 = 0.4; ring 10+15+15+3+20 = 63, avgRing 6.5, maxRing 20; talk 120+60 = 180,
      avgTalk 90; duration 130+15+15+63+20 = 243; serviceLevel (h1b's 10 s within) 2/(2+1) = 2/3
    Fay 203: h2b lost (20), h3 ans (4), h4c ref (Dan: elsewhere), h7a ref (the voicemail, a segment
    without a user, answered: elsewhere): calls 4, ans 1, ref 2, lost 1, elsewhere 2; answerRate
      1/(1+1+2−2) = 0.5, all rings 1/4; ring 54, avgRing 4, maxRing 20; talk 60; duration 114; SL 1/2
    Gus 204: h5b ans (6), h8a ref (Hal answered: elsewhere): answerRate 1/(1+0+1−1) = 1, all rings 1/2
    Hal 205: h8b ans (9): 1 and 1
    Rita 100: h6a ref (Eve answered: elsewhere): answerRate 0 ÷ (0+0+1−1) → none (null), all rings 0/1 = 0
    no user: h7b ans (ring 0): answerRate 1, avgRing 0
    summary: calls 19, ans 8, ref 9, lost 2, elsewhere 1+2+1+2+1 = 7; ring 8+53+63+54+15+9+0 = 202;
    talk 90+180+60+90+60+30 = 510; duration 8+143+243+114+105+69+30 = 712
    """
    result, got = run(*loaded, tmp_path, "CallSummaryByUser")
    rows_by = by(got, "userNum")
    assert rows_by["201"] == {"userNum": "201", "userName": "Dan", "calls": 5, "ans": 2, "ref": 3, "lost": 0,
                              "answeredElsewhere": 2, "ring": 53.0, "avgRing": 4.0, "maxRing": 15.0, "talk": 90.0,
                              "avgTalk": 45.0, "duration": 143.0, "answerRate": pytest.approx(2 / 3),
                              "answerRateAllRings": 0.4, "serviceLevel": 1.0}
    assert rows_by["202"] == {"userNum": "202", "userName": "Eve", "calls": 5, "ans": 2, "ref": 2, "lost": 1,
                              "answeredElsewhere": 1, "ring": 63.0, "avgRing": 6.5, "maxRing": 20.0, "talk": 180.0,
                              "avgTalk": 90.0, "duration": 243.0, "answerRate": 0.5, "answerRateAllRings": 0.4,
                              "serviceLevel": pytest.approx(2 / 3)}
    pick = ("calls", "ans", "ref", "lost", "answeredElsewhere", "ring", "avgRing", "maxRing", "talk", "duration",
            "answerRate", "answerRateAllRings", "serviceLevel")
    assert tuple(rows_by["203"].get(f) for f in pick) == (4, 1, 2, 1, 2, 54.0, 4.0, 20.0, 60.0, 114.0, 0.5, 0.25,
                                                           0.5)
    assert tuple(rows_by["204"].get(f) for f in pick) == (2, 1, 1, 0, 1, 15.0, 6.0, 9.0, 90.0, 105.0, 1.0, 0.5,
                                                           1.0)
    assert tuple(rows_by["205"].get(f) for f in pick) == (1, 1, 0, 0, 0, 9.0, 9.0, 9.0, 60.0, 69.0, 1.0, 1.0, 1.0)
    # null fields are left out: Rita has no answer rate, no average ring or talk, no service level
    assert rows_by["100"] == {"userNum": "100", "userName": "Rita", "calls": 1, "ans": 0, "ref": 1, "lost": 0,
                              "answeredElsewhere": 1, "ring": 8.0, "maxRing": 8.0, "talk": 0.0, "duration": 8.0,
                              "answerRateAllRings": 0.0}
    assert tuple(rows_by[None].get(f) for f in pick) == (1, 1, 0, 0, 0, 0.0, 0.0, 0.0, 30.0, 30.0, 1.0, 1.0, 1.0)
    assert result.summary == {"calls": 19, "ans": 8, "ref": 9, "lost": 2, "answeredElsewhere": 7, "ring": 202.0,
                              "talk": 510.0, "duration": 712.0}


def test_user_answer_rate_sees_the_reports_segments_only(loaded: Loaded, tmp_path: Path) -> None:
    """Answers are looked for among the report's segments (after filters): with hgNum = 500, Gus's
    answer of H5 (in Billing) is not in the report, so Dan's refusal h5a counts again. Dan: h1a ref
    (Eve answered: elsewhere), h4a ref (himself), h4d ans, h5a ref → calls 4, ans 1, ref 3,
    elsewhere 1, answerRate 1/(1+0+3−1) = 1/3, all rings 1/4. Rita (no Desk segment) has no row.
    By default answeredElsewhere and answerRateAllRings are not shown."""
    _, got = run(*loaded, tmp_path, "CallSummaryByUser",
                 filterConditions=[{"fieldName": "hgNum", "operator": "=", "values": ["500"]}])
    rows_by = by(got, "userNum")
    assert "100" not in rows_by
    dan = rows_by["201"]
    assert (dan["calls"], dan["ans"], dan["ref"], dan["answeredElsewhere"], dan["answerRateAllRings"]) == (
        4, 1, 3, 1, 0.25)
    assert dan["answerRate"] == pytest.approx(1 / 3)
    _, got = run(*loaded, tmp_path, "CallSummaryByUser", ignoreDisplayFields=False)
    assert list(by(got, "userNum")["201"]) == ["userNum", "userName", "calls", "ans", "ref", "lost", "ring",
                                               "avgRing", "maxRing", "talk", "avgTalk", "duration", "answerRate",
                                               "serviceLevel"]
