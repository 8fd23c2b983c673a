"""UnreturnedLostCalls and LostCallRevenue on a hand-built workspace, and the in-engine number
normal form they compare callers by (DuckDB; Spark parity in test_analytics_spark.py).

Lost incoming calls (UTC; hg = first hunt group; ring ≥ 5 unless said):

| call | start            | cli as presented       | hg  | note                                        |
|------|------------------|------------------------|-----|---------------------------------------------|
| A1   | 07-01 09:00      | +44 7977 502880        | 200 | A: same caller, two formats                 |
| A2   | 07-01 09:10      | 07977 502880           | 200 | A's last lost call                          |
| B1   | 07-01 10:00      | 01632 960001           | 300 | B: called back 25 h later (outside 24 h)    |
| C1   | 07-01 11:00      | +33 1 23 45 67 89      | 200 | C: called back (unanswered) at 11:05 via 00 |
| D1   | 07-01 08:00      | +441632960002          | 300 | D: returned at 09:00, between attempts      |
| D2   | 07-01 12:00      | (01632) 960-002        | 300 | D's last lost call: never returned          |
| W1   | 07-01 13:00      | null                   | 200 | withheld                                    |
| W2   | 07-01 14:00      | anonymous              | 300 | withheld                                    |
| E1   | 07-01 15:00      | +441632960003          | 200 | short abandon (ring 3 < 5)                  |
| F1   | 07-01 16:00      | +441632960004          | 300 | two segments: ref at 101 (15 s), lost at 102|
| G1   | 10-26 00:50      | +441632960005          | –   | 01:50 BST                                   |
| G2   | 10-26 01:20      | +441632960005          | –   | 01:20 GMT: later in UTC, earlier on the wall|

Contacts: outgoing O1 07-01 08:00 to +441632960001 (before B1: does not count), O2 07-01 09:00 to
01632 960002 (returns D1, superseded by D2), O3 07-02 11:00 to +441632960001 (25 h after B1), O4
07-01 11:05 to 0033 1 23 45 67 89 (unanswered: still a call-back); answered incoming I1 07-01 09:30
from 447977502880 (talk 15 s: short), I2 10-26 02:00 from +441632960005, I3 07-01 13:30 withheld.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import ibis
import phonenumbers
import pyarrow as pa
import pytest
from phonenumbers.phonemetadata import PhoneMetadata

from callboard.reports.templates.lost_calls import COUNTRY_RULES, country_rule, normal_number
from callboard.warehouse import DuckDBWarehouse, Warehouse
from tests.support.analytics import by, load, run, seg
from tests.support.datasets.lost_calls import ONE_DAY, after_period_rows, d, rows


@pytest.fixture(scope="module")
def loaded() -> Iterator[tuple[Warehouse, str]]:
    wh = DuckDBWarehouse.open(None)
    yield wh, load(wh, rows())
    wh.close()


def test_unreturned_lost_calls(loaded: tuple[Warehouse, str], tmp_path: Path) -> None:
    """By default only the callers whose last lost call was not returned are listed: of the eight
    callers below (worked out with includeReturnedCalls), A, C and G were returned, which leaves B, D,
    E, F and the withheld row (never returned: there is no number to call back) -- attempts
    1 + 2 + 1 + 1 + 2 = 7, returned 0."""
    wh, ws = loaded
    result, got = run(wh, ws, tmp_path, "UnreturnedLostCalls", countryCode="GB")
    assert [r.get("cli") for r in got] == ["+441632960001", "+441632960002", "+441632960003", "+441632960004", None]
    assert all(r["returned"] == 0 and "returnedAt" not in r and "timeToReturn" not in r for r in got)
    assert result.summary == {"attempts": 7, "returned": 0}
    # the rows are those of the full list below, unchanged
    _, every = run(wh, ws, tmp_path, "UnreturnedLostCalls", countryCode="GB", includeReturnedCalls=True)
    assert got == [r for r in every if r["returned"] == 0]
    # a result filter on returned = 1 finds nothing unless the returned callers are included
    returned = [{"fieldName": "returned", "operator": "=", "values": [1]}]
    assert run(wh, ws, tmp_path, "UnreturnedLostCalls", countryCode="GB", filterConditions=returned)[1] == []
    _, got = run(wh, ws, tmp_path, "UnreturnedLostCalls", countryCode="GB", filterConditions=returned,
                 includeReturnedCalls=True)
    assert [r["cli"] for r in got] == ["+33123456789", "+441632960005", "+447977502880"]


def test_unreturned_lost_calls_including_returned(loaded: tuple[Warehouse, str], tmp_path: Path) -> None:
    wh, ws = loaded
    result, got = run(wh, ws, tmp_path, "UnreturnedLostCalls", countryCode="GB", includeReturnedCalls=True)
    # one row per normal number, sorted by (withheld, cli); local (BST) times
    assert [r.get("cli") for r in got] == ["+33123456789", "+441632960001", "+441632960002", "+441632960003",
                                          "+441632960004", "+441632960005", "+447977502880", None]
    rows_by = by(got, "cli")
    # A: A1 "+44 7977 502880" and A2 "07977 502880" are one caller; last lost 09:10 UTC (10:10 BST);
    # I1 from "447977502880" answered 09:30 → returned after 20 min = 1200 s
    assert rows_by["+447977502880"] == {
        "cli": "+447977502880", "cliName": "Ann", "withheld": 0, "attempts": 2,
        "firstAttempt": "2025-07-01T10:00:00", "lastAttempt": "2025-07-01T10:10:00", "returned": 1,
        "returnedAt": "2025-07-01T10:30:00", "timeToReturn": 1200.0, "hgNum": "200", "hgName": "Sales"}
    # B: O1 came before the lost call, O3 25 h after it (window 24 h) → not returned
    b = rows_by["+441632960001"]
    assert (b["attempts"], b["returned"], "returnedAt" in b, "timeToReturn" in b) == (1, 0, False, False)
    # C: O4 dialled 0033… 5 min after C1 (unanswered, still a call-back) → 300 s
    c = rows_by["+33123456789"]
    assert (c["returned"], c["returnedAt"], c["timeToReturn"]) == (1, "2025-07-01T12:05:00", 300.0)
    # D: O2 at 09:00 returned D1, but D2 at 12:00 is the last lost call and nothing follows it
    dd = rows_by["+441632960002"]
    assert (dd["attempts"], dd["firstAttempt"], dd["lastAttempt"], dd["returned"]) == (
        2, "2025-07-01T09:00:00", "2025-07-01T13:00:00", 0)
    # E (short abandon) and F (two segments, one lost call) are lost and never returned
    assert (rows_by["+441632960003"]["attempts"], rows_by["+441632960003"]["returned"]) == (1, 0)
    assert (rows_by["+441632960004"]["attempts"], rows_by["+441632960004"]["hgNum"]) == (1, "300")
    # G on the autumn DST day: G1 00:50 UTC = 01:50 BST, G2 01:20 UTC = 01:20 GMT. First/last go by the
    # instant, so the wall clock shows first after last; I2 at 02:00 UTC → 40 min after G2 = 2400 s
    g = rows_by["+441632960005"]
    assert (g["firstAttempt"], g["lastAttempt"], g["returned"], g["returnedAt"], g["timeToReturn"]) == (
        "2025-10-26T01:50:00", "2025-10-26T01:20:00", 1, "2025-10-26T02:00:00", 2400.0)
    assert "hgNum" not in g
    # withheld: W1 (null) and W2 ("anonymous") in one row, never returned (I3, withheld, answered, is no
    # call-back); its values are those of the latest withheld call, W2
    assert rows_by[None] == {"withheld": 1, "attempts": 2, "firstAttempt": "2025-07-01T14:00:00",
                             "lastAttempt": "2025-07-01T15:00:00", "returned": 0, "hgNum": "300",
                             "hgName": "Support"}
    # attempts 1+1+2+1+1+2+2+2 = 12 lost calls; returned A, C, G = 3
    assert result.summary == {"attempts": 12, "returned": 3}


def test_unreturned_lost_calls_settings(loaded: tuple[Warehouse, str], tmp_path: Path) -> None:
    wh, ws = loaded
    # ignoreAbandonedCalls drops E1 (ring 3 < 5): E's row goes; ignoreShortAnsweredCalls drops I1
    # (talk 20 − 5 = 15 < 20), the only evidence A was returned
    _, got = run(wh, ws, tmp_path, "UnreturnedLostCalls", countryCode="GB", ignoreAbandonedCalls=True,
                 ignoreShortAnsweredCalls=True, includeReturnedCalls=True)
    rows_by = by(got, "cli")
    assert "+441632960003" not in rows_by and len(got) == 7
    assert (rows_by["+447977502880"]["attempts"], rows_by["+447977502880"]["returned"]) == (2, 0)
    # by default: A is now unreturned and listed, beside B, D, F and the withheld row (E is gone)
    _, got = run(wh, ws, tmp_path, "UnreturnedLostCalls", countryCode="GB", ignoreAbandonedCalls=True,
                 ignoreShortAnsweredCalls=True)
    assert [r.get("cli") for r in got] == ["+441632960001", "+441632960002", "+441632960004", "+447977502880",
                                          None]
    # a 10-minute window: C (5 min) still returned, G (40 min) no longer
    _, got = run(wh, ws, tmp_path, "UnreturnedLostCalls", countryCode="+44", callbackWindowHours=1 / 6,
                 includeReturnedCalls=True)
    rows_by = by(got, "cli")
    assert (rows_by["+33123456789"]["returned"], rows_by["+441632960005"]["returned"]) == (1, 0)
    assert rows_by["+447977502880"]["returned"] == 0  # I1 came 20 min after A2
    # by default G and A are listed (unreturned within 10 minutes), C is not
    _, got = run(wh, ws, tmp_path, "UnreturnedLostCalls", countryCode="+44", callbackWindowHours=1 / 6)
    assert {"+441632960005", "+447977502880"} <= {r.get("cli") for r in got}
    assert "+33123456789" not in {r.get("cli") for r in got}
    # without countryCode only written-international numbers are comparable: "07977502880" is another
    # caller than "+447977502880", and "447977502880" (I1) matches neither
    _, got = run(wh, ws, tmp_path, "UnreturnedLostCalls", includeReturnedCalls=True)
    rows_by = by(got, "cli")
    assert (rows_by["+447977502880"]["attempts"], rows_by["+447977502880"]["returned"]) == (1, 0)
    assert (rows_by["07977502880"]["attempts"], rows_by["07977502880"]["returned"]) == (1, 0)
    assert rows_by["+33123456789"]["returned"] == 1  # "0033…" is international everywhere


def test_lost_call_revenue(loaded: tuple[Warehouse, str], tmp_path: Path) -> None:
    wh, ws = loaded
    _, got = run(wh, ws, tmp_path, "LostCallRevenue", countryCode="GB", incomingEstimatedRevenue=500,
                 incomingCallsPerSale=4)
    # rows: groups by hgNum, then the no-group row, then the total row
    assert [(r.get("hgNum"), r["total"]) for r in got] == [("200", 0), ("300", 0), (None, 0), (None, 1)]
    fields = ("lostCalls", "callers", "unreturned", "estimatedRevenueLost")
    # Sales 200: lost A1, A2, C1, W1, E1 = 5; callers by their last lost call: A, C, W1, E = 4;
    # unreturned W1 (withheld), E = 2 → 2 ÷ 4 × 500 = 250
    assert tuple(got[0][f] for f in fields) == (5, 4, 2, 250.0) and got[0]["hgName"] == "Sales"
    # Support 300: lost B1, D1, D2, W2, F1 = 5; callers B, D, W2, F = 4, none returned → 4 ÷ 4 × 500 = 500
    assert tuple(got[1][f] for f in fields) == (5, 4, 4, 500.0)
    # no group: G1, G2 = 2 lost calls, one caller, returned → 0
    assert tuple(got[2][f] for f in fields) == (2, 1, 0, 0.0)
    # total: 12 lost calls, 9 callers, 6 unreturned → 6 ÷ 4 × 500 = 750
    assert tuple(got[3][f] for f in fields) == (12, 9, 6, 750.0)
    # ignoreAbandonedCalls drops E1: Sales 4 lost, 3 callers, 1 unreturned (125); total 11, 8, 5 (625)
    _, got = run(wh, ws, tmp_path, "LostCallRevenue", countryCode="GB", incomingEstimatedRevenue=500,
                 incomingCallsPerSale=4, ignoreAbandonedCalls=True)
    assert tuple(got[0][f] for f in fields) == (4, 3, 1, 125.0)
    assert tuple(got[3][f] for f in fields) == (11, 8, 5, 625.0)


def test_lost_call_revenue_with_nothing_lost(tmp_path: Path) -> None:
    wh = DuckDBWarehouse.open(None)
    ws = load(wh, [seg("X", d(7, 1, 9), cli="+441632960009", ring=5, duration=65, ans=1)])
    _, got = run(wh, ws, tmp_path, "LostCallRevenue", incomingEstimatedRevenue=100)
    # only the total row, all zero
    assert got == [{"total": 1, "lostCalls": 0, "callers": 0, "unreturned": 0, "estimatedRevenueLost": 0.0}]
    wh.close()


def test_call_backs_after_the_period_end(tmp_path: Path) -> None:
    """Lost calls late in the period are returned by contacts after its end, within
    callbackWindowHours (24 h); the contacts are read but never counted as lost calls."""
    wh = DuckDBWarehouse.open(None)
    ws = load(wh, after_period_rows())
    day = ONE_DAY
    result, got = run(wh, ws, tmp_path, "UnreturnedLostCalls", countryCode="GB", metadata=day,
                      includeReturnedCalls=True)
    back = {r["cli"]: (r["attempts"], r["lastAttempt"], r["returned"], r.get("returnedAt"), r.get("timeToReturn"))
            for r in got}
    assert back == {
        "+441632960101": (1, "2025-07-01T23:30:00", 1, "2025-07-02T00:15:00", 2700.0),
        "+441632960102": (1, "2025-07-01T23:00:00", 1, "2025-07-02T09:00:00", 36000.0),
        "+441632960103": (1, "2025-07-01T22:00:00", 0, None, None),
        "+441632960104": (1, "2025-07-01T21:00:00", 0, None, None),
        "+441632960105": (1, "2025-07-01T23:50:00", 1, "2025-07-02T00:01:00", 660.0),
    }
    assert result.summary == {"attempts": 5, "returned": 3}
    # effort counts the period's segments only: L1–L5 and S1 (11 segments in all, 5 after the end)
    assert result.effort == 0.006
    # LostCallRevenue sees the same call-backs: 5 lost, 5 callers, 2 unreturned → 2 ÷ 4 × 100 = 50
    _, got = run(wh, ws, tmp_path, "LostCallRevenue", countryCode="GB", metadata=day, incomingEstimatedRevenue=100,
                 incomingCallsPerSale=4)
    assert [(r.get("hgNum"), r["lostCalls"], r["callers"], r["unreturned"], r["estimatedRevenueLost"])
            for r in got] == [("200", 5, 5, 2, 50.0), (None, 5, 5, 2, 50.0)]
    # a shorter window: only L1 (45 min) and L5 (11 min) are still returned
    _, got = run(wh, ws, tmp_path, "UnreturnedLostCalls", countryCode="GB", metadata=day, callbackWindowHours=1,
                 includeReturnedCalls=True)
    assert sorted(r["cli"] for r in got if r["returned"]) == ["+441632960101", "+441632960105"]
    # by default only the unreturned callers: L3 and L4 with the 24 h window (1 + 1 attempts), and with
    # a 1 h window L2 (returned after 10 h) too
    result, got = run(wh, ws, tmp_path, "UnreturnedLostCalls", countryCode="GB", metadata=day)
    assert [r["cli"] for r in got] == ["+441632960103", "+441632960104"]
    assert result.summary == {"attempts": 2, "returned": 0}
    _, got = run(wh, ws, tmp_path, "UnreturnedLostCalls", countryCode="GB", metadata=day, callbackWindowHours=1)
    assert [r["cli"] for r in got] == ["+441632960102", "+441632960103", "+441632960104"]
    wh.close()


# ---- the number normal form -------------------------------------------------------------------------
def test_country_table_matches_libphonenumber() -> None:
    for region, rule in COUNTRY_RULES.items():
        meta = PhoneMetadata.metadata_for_region(region)
        assert rule.calling_code == str(meta.country_code), region
        assert rule.trunk_prefix == (meta.national_prefix or ""), region
        idd = meta.preferred_international_prefix or meta.international_prefix
        assert rule.idd_prefix == idd or re.fullmatch(meta.international_prefix, rule.idd_prefix), region
    assert country_rule("gb") == country_rule("44") == country_rule("+44") == COUNTRY_RULES["GB"]
    assert country_rule("1") == COUNTRY_RULES["US"]
    # outside the table: from libphonenumber's metadata (Greece 30, no trunk prefix; Turkey 90, trunk 0)
    assert country_rule("GR") is not None and country_rule("GR").calling_code == "30"  # type: ignore[union-attr]
    assert country_rule("TR") is not None and country_rule("TR").trunk_prefix == "0"  # type: ignore[union-attr]
    assert country_rule("XX") is None and country_rule(None) is None


def _normalise(values: list[str | None], country: str | None) -> list[str | None]:
    con = ibis.duckdb.connect()
    t = ibis.memtable(pa.table({"n": pa.array(values, pa.string()), "i": list(range(len(values)))}))
    out = t.select("i", v=normal_number(t.n, country_rule(country))).order_by("i")
    result = con.to_pyarrow(out).column("v").to_pylist()
    con.disconnect()
    return result


SAMPLES = {
    "GB": ["07977 502880", "+44 (0)7977 502880", "0044 7977 502880", "447977502880", "020 7946 0018",
           "tel:+44-20-7946-0018", "sip:02079460018@pbx.example;user=phone"],
    "US": ["(415) 555-0132", "1-415-555-0132", "+1 415 555 0132", "011 44 20 7946 0018", "4155550132"],
    "AU": ["02 9876 5432", "0011 44 20 7946 0018", "+61 2 9876 5432"],
    "DE": ["030 1234567", "0049 30 1234567", "+49 30 1234567"],
    "FR": ["01 23 45 67 89", "+33 1 23 45 67 89", "0033 1 23 45 67 89"],
    "IN": ["098765 43210", "+91 98765 43210", "9876543210"],
    "IT": ["06 1234 5678", "347 123 4567", "0039 06 1234 5678"],
    "ES": ["912 345 678", "+34 912 345 678"],
}


@pytest.mark.parametrize("country", sorted(SAMPLES))
def test_normal_number_agrees_with_libphonenumber(country: str) -> None:
    """The engine's normal form is libphonenumber's E.164 for every sample written the ways people do."""
    samples = SAMPLES[country]
    expected = []
    for text in samples:
        raw = text.removeprefix("tel:").removeprefix("sip:").split("@")[0]
        num = phonenumbers.parse(raw, country)
        expected.append(phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164))
    assert _normalise(samples, country) == expected


def test_normal_number_withheld_and_short() -> None:
    got = _normalise([None, "", "anonymous", "Withheld", "101", "2001", "+", "00", "07977502880"], "GB")
    # no digits → null (withheld); short extensions stay digits; the trunk rule needs 6+ digits after it
    assert got == [None, None, None, None, "101", "2001", None, "00", "+447977502880"]
    # no country: only +/00 numbers become E.164, the rest stay bare digits
    assert _normalise(["07977 502880", "+44 7977 502880", "0044 7977 502880"], None) == [
        "07977502880", "+447977502880", "+447977502880"]
