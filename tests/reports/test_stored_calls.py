"""Reports read whole calls from the stored call rollups when the request's only segment filters
are its period, and roll up from segments only the calls the period's bounds cut. Both ways must
give the same rows: here every template runs both ways (the segment way forced by hiding the
stored rollups) over periods whose bounds cut multi-segment calls, on a hand-built day and on
random calls (hypothesis)."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callboard.reports import runner
from callboard.reports.expression import stored_calls
from callboard.reports.output import read_page
from callboard.reports.request import resolve_request
from callboard.reports.runner import run_report
from callboard.reports.templates import TEMPLATES
from callboard.warehouse import DuckDBWarehouse, Warehouse
from tests.support.analytics import NOW, TZ, load, seg, table

DAY = datetime(2025, 7, 1)


@pytest.fixture(scope="module")
def wh() -> Iterator[Warehouse]:
    w = DuckDBWarehouse.open(None)
    yield w
    w.close()


@contextmanager
def segments_only(w: Warehouse) -> Iterator[None]:
    """Reports on ``w`` roll every call up from its segments while inside."""
    w._has_rollups = False
    try:
        yield
    finally:
        w._has_rollups = None


def _request(template: str, lo: datetime, hi: datetime, **body: Any) -> Any:
    period = {"dateFilter": {"presetName": "Custom", "start": lo.isoformat() + "Z", "end": hi.isoformat() + "Z"}}
    return resolve_request({"reportTemplateName": template, "timeZoneId": TZ, "metadata": period,
                            "ignoreDisplayFields": True, "countryCode": "GB", "rowLimit": 100_000, **body}, now=NOW)


def _rows(w: Warehouse, ws: str, req: Any, folder: Path) -> list[dict[str, Any]]:
    result = run_report(w, ws, req, folder / f"{uuid.uuid4().hex}.parquet")
    return read_page(result.snapshot_path, 1, -1)


def both_ways(w: Warehouse, ws: str, req: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with tempfile.TemporaryDirectory() as tmp:
        assert stored_calls(w, ws, req) is not None
        stored = _rows(w, ws, req, Path(tmp))
        with segments_only(w):
            assert stored_calls(w, ws, req) is None
            rolled = _rows(w, ws, req, Path(tmp))
    return stored, rolled


def day_rows() -> list[dict[str, Any]]:
    """One day: calls of 1-3 segments, three of them across 10:00 and 14:00 UTC (the bounds used
    below), one from before 10:00 to after 14:00, and call-backs after 14:00."""
    t = DAY
    return [
        # X1: 09:58 hunt group, lost there, answered by 102 at 10:01 (cut by a 10:00 bound)
        seg("x1a", t.replace(hour=9, minute=58), connId="X1", hgNum="200", hgName="Sales", ring=20, duration=20,
            lost=1, cli="07977 502880", userNum="101", userName="Alice"),
        seg("x1b", t.replace(hour=10, minute=1), connId="X1", ring=4, duration=64, ans=1, userNum="102",
            userName="Bob", cli="07977 502880", accountCode="7"),
        # X2: lost 13:59, then rings again 14:02 and is answered (cut by 14:00)
        seg("x2a", t.replace(hour=13, minute=59), connId="X2", hgNum="300", hgName="Support", ring=30, duration=30,
            lost=1, cli="+44 7977 111111"),
        seg("x2b", t.replace(hour=14, minute=2), connId="X2", ring=5, duration=65, ans=1, userNum="103",
            userName="Carol", cli="+44 7977 111111"),
        # X3: 09:50, 11:00, 14:30 (spans the whole 10:00-14:00 period)
        seg("x3a", t.replace(hour=9, minute=50), connId="X3", ring=10, duration=10, lost=1, cli="01632 960001"),
        seg("x3b", t.replace(hour=11), connId="X3", ring=10, duration=10, lost=1, cli="01632 960001",
            hgNum="200", hgName="Sales"),
        seg("x3c", t.replace(hour=14, minute=30), connId="X3", ring=3, duration=33, ans=1, userNum="101",
            userName="Alice", cli="01632 960001"),
        # whole calls inside: a lost one, returned at 14:20 (after the period) by an outgoing call
        seg("y1", t.replace(hour=12), connId="Y1", ring=40, duration=40, lost=1, cli="01632 960002",
            hgNum="300", hgName="Support"),
        seg("y2", t.replace(hour=12, minute=30), connId="Y2", ring=8, duration=128, ans=1, userNum="102",
            userName="Bob", cli="01632 960003", accountCode="7"),
        seg("o1", t.replace(hour=14, minute=20), connId="O1", callDir=3, ring=6, duration=46, ans=1,
            userNum="101", userName="Alice", calledUserNum="01632960002"),
        seg("i1", t.replace(hour=10, minute=30), connId="I1", callType=1, callDir=1, ring=2, duration=62, ans=1,
            userNum="101", userName="Alice", calledUserNum="102"),
    ]


PERIODS = [(DAY.replace(hour=10), DAY.replace(hour=14)), (DAY.replace(hour=9), DAY.replace(hour=10, minute=30)),
           (DAY, DAY + timedelta(days=1))]


# settings that change what a template reads, run both ways too
SETTINGS: dict[str, dict[str, Any]] = {"UnreturnedLostCalls": {"includeReturnedCalls": True}}


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_template_reads_the_same_rows_from_stored_calls(wh: Warehouse, template: str) -> None:
    ws = load(wh, day_rows())
    for extra in ({}, SETTINGS.get(template)):
        if extra is None:
            continue
        for lo, hi in PERIODS:
            stored, rolled = both_ways(wh, ws, _request(template, lo, hi, callbackWindowHours=1, **extra))
            assert stored == rolled, (lo, hi, extra)


def test_a_cut_call_counts_only_its_segments_in_the_period(wh: Warehouse) -> None:
    """Worked by hand: 10:00-14:00 holds X1 from 10:01 (x1b: answered, wait 4 s), X2's lost
    first segment (wait 30 s, lost), X3's 11:00 segment (lost, 10 s), Y1 (lost, 40 s), Y2
    (answered, 8 s) and the internal I1; X3's earlier and later segments are outside."""
    ws = load(wh, day_rows())
    lo, hi = PERIODS[0]
    rows = both_ways(wh, ws, _request("CallList", lo, hi))[0]
    calls = {r["connId"] if "connId" in r else r["docId"]: r for r in rows}
    assert set(calls) == {"X1", "X2", "X3", "Y1", "Y2", "I1"}
    assert (calls["X1"]["ans"], calls["X1"]["ring"], calls["X1"]["segments"], calls["X1"]["userName"]) == \
        (1, 4.0, 1, "Bob")
    assert (calls["X2"]["ans"], calls["X2"]["lost"], calls["X2"]["ring"], calls["X2"]["hgNum"]) == (0, 1, 30.0, "300")
    assert (calls["X3"]["lost"], calls["X3"]["ring"], calls["X3"]["segments"], calls["X3"]["hgNum"]) == \
        (1, 10.0, 1, "200")
    ring = both_ways(wh, ws, _request("RingTimeDistribution", lo, hi, ringDurationThresholds=[10]))[0]
    # incoming with an outcome: X1 answered ≤ 10; X2 lost 30, X3 lost 10, Y1 lost 40; Y2 answered 8
    assert [(r["answered"], r["lost"]) for r in ring] == [(2, 1), (0, 2)]


def test_only_the_bounds_that_cut_calls_are_rolled_up(wh: Warehouse) -> None:
    """The probe names the bounds stored calls span: 10:00 (X1, X3) and 14:00 (X2, X3), then 15:00
    (the one-hour call-back look past 14:00: X3 ends 14:30, nothing spans 15:00); midnight nothing."""
    ws = load(wh, day_rows())
    lo, hi = PERIODS[0]
    def probe(template: str, lo: datetime, hi: datetime) -> frozenset[str] | None:
        with wh.session(snapshot=True) as session:
            return runner.cut_bounds(session, wh, ws, _request(template, lo, hi, callbackWindowHours=1))

    assert probe("CallList", lo, hi) == {"lo", "hi"}
    assert probe("UnreturnedLostCalls", lo, hi) == {"lo", "hi"}
    assert probe("UnreturnedLostCalls", lo, DAY.replace(hour=13)) == {"lo", "hi", "after"}  # X3 spans 14:00
    assert probe("CallList", *PERIODS[2]) == frozenset()
    with segments_only(wh):
        assert probe("CallList", lo, hi) is None


def test_an_import_between_the_probe_and_the_report_is_not_half_seen(wh: Warehouse, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe and the report read one snapshot: a segment imported in between that makes a call
    cross the period's start (so the probe did not see it cut) leaves the report as it was before."""
    ws = load(wh, [seg("y1", DAY.replace(hour=12), connId="Y1", ring=40, duration=40, lost=1, cli="01632 960002"),
                   seg("y2", DAY.replace(hour=12, minute=30), connId="Y2", ring=8, duration=128, ans=1)])
    lo, hi = DAY.replace(hour=11, minute=30), DAY.replace(hour=13)
    req = _request("CallList", lo, hi)
    before = _rows(wh, ws, req, tmp_path)
    assert [r["connId"] for r in before] == ["Y1", "Y2"]
    probe = runner.cut_bounds

    def probe_then_import(*args: Any) -> Any:
        cut = probe(*args)
        assert cut == frozenset()
        # Y1 gets an earlier segment at 11:00: it now begins before the period
        wh.append(ws, table([seg("y0", DAY.replace(hour=11), connId="Y1", ring=5, duration=5, lost=1,
                                 cli="01632 960002")]))
        return cut

    monkeypatch.setattr(runner, "cut_bounds", probe_then_import)
    assert _rows(wh, ws, req, tmp_path) == before
    monkeypatch.undo()
    after = _rows(wh, ws, req, tmp_path)  # now Y1 is cut: only its 12:00 segment is in the period
    assert [r["connId"] for r in after] == ["Y1", "Y2"] and after[0]["segments"] == 1


def test_only_period_filters_use_the_stored_calls(wh: Warehouse) -> None:
    ws = load(wh, day_rows())
    lo, hi = PERIODS[0]
    assert stored_calls(wh, ws, _request("CallList", lo, hi)) is not None
    no_period = resolve_request({"reportTemplateName": "CallList", "timeZoneId": TZ}, now=NOW)
    assert no_period.period is None or stored_calls(wh, ws, no_period) is not None
    for extra in ({"filterConditions": [{"fieldName": "hgNum", "operator": "=", "values": ["200"]}]},
                  {"ignoreAbandonedCalls": True}, {"ignoreShortAnsweredCalls": True}):
        assert stored_calls(wh, ws, _request("CallList", lo, hi, **extra)) is None, extra
    weekdays = resolve_request({"reportTemplateName": "CallList", "timeZoneId": TZ, "metadata": {"dateFilter": {
        "presetName": "Custom", "start": "2025-07-01", "end": "2025-07-08", "daysOfWeek": 62}}}, now=NOW)
    assert weekdays.weekdays is not None and stored_calls(wh, ws, weekdays) is None


# ---- random calls ------------------------------------------------------------------------------------
# (start minute of the call, [(minutes after the call's start, ring s, talk s, outcome, hunt group?)], cli)
segments_st = st.lists(st.tuples(st.integers(0, 90), st.integers(0, 60), st.integers(0, 300),
                                 st.sampled_from(["ans", "lost", "ref"]), st.booleans()), min_size=1, max_size=3)
calls_st = st.lists(st.tuples(st.integers(0, 8 * 60), segments_st, st.sampled_from([None, "0161 496 0000",
                                                                                  "+44 161 496 0001", "01614960001"]),
                              st.sampled_from([1, 2, 3])),
                    min_size=1, max_size=10)
bounds_st = st.tuples(st.integers(0, 9 * 60), st.integers(1, 9 * 60))


def _random_rows(calls: list[Any]) -> list[dict[str, Any]]:
    rows = []
    base = DAY.replace(hour=8)
    for i, (at, segs, cli, direction) in enumerate(calls):
        for j, (after, ring, talk, outcome, hg) in enumerate(segs):
            ans = outcome == "ans"
            rows.append(seg(f"r{i}-{j}", base + timedelta(minutes=at + after), connId=f"R{i}", callDir=direction,
                            ring=ring, duration=ring + (talk if ans else 0), ans=int(ans),
                            lost=int(outcome == "lost"), ref=int(outcome == "ref"), cli=cli,
                            hgNum="200" if hg else None, hgName="Sales" if hg else None,
                            userNum=None if outcome == "lost" else f"10{j}",
                            userName=None if outcome == "lost" else "U",
                            calledUserNum="01614960001" if direction == 3 else None))
    return rows


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=calls_st, bounds=bounds_st)
def test_random_calls_and_periods_give_the_same_rows(wh: Warehouse, calls: list[Any], bounds: tuple[int, int]) -> None:
    ws = load(wh, _random_rows(calls))
    lo = DAY.replace(hour=8) + timedelta(minutes=bounds[0])
    hi = lo + timedelta(minutes=bounds[1])
    for template, extra in (("CallList", {}), ("RingTimeDistribution", {}), ("UnreturnedLostCalls", {}),
                            ("UnreturnedLostCalls", {"includeReturnedCalls": True}), ("CallsByHourOfDay", {})):
        stored, rolled = both_ways(wh, ws, _request(template, lo, hi, callbackWindowHours=1, **extra))
        assert stored == rolled, (template, extra)
