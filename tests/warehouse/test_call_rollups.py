"""The stored call rollups stay equal to rolling the stored segments up afresh, whatever the order
and grouping of the appends: a call spread over two imports, a re-import, a failed append, a file
from before the table existed, ``optimize``."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from callboard.calls.rollups import CALL_ROLLUPS_TABLE
from callboard.warehouse import DuckDBWarehouse, Warehouse, call_rollups
from tests.support.analytics import seg, table

T = datetime(2025, 7, 1, 9, 0)


def rows_a() -> list[dict[str, Any]]:
    """Call C: a hunt group rings 20 s and loses it; call D: one answered segment."""
    return [seg("c1", T, connId="C", hgNum="200", hgName="Sales", ring=20, duration=20, lost=1, cli="0161 1"),
            seg("d1", T.replace(minute=5), connId="D", ring=3, duration=63, ans=1, userNum="101", userName="Al")]


def rows_b() -> list[dict[str, Any]]:
    """C's second segment, in a later file: Bob answers at 09:00:30 after 5 s of ringing, talks 60 s."""
    return [seg("c2", T.replace(second=30), connId="C", ring=5, duration=65, ans=1, userNum="102", userName="Bob",
                cli="0161 1")]


def _dicts(cur: Any) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def stored(w: Warehouse, table: str = CALL_ROLLUPS_TABLE) -> list[dict[str, Any]]:
    return _dicts(w.raw_sql(f"SELECT * FROM {table} ORDER BY ALL"))


def fresh(w: Warehouse, table: str = CALL_ROLLUPS_TABLE) -> list[dict[str, Any]]:
    """The table's rows computed now from every stored segment."""
    spec = next(s for s in call_rollups.STORED if s.table == table)
    sql = call_rollups.rebuild_sql(spec, "calls", w.functions)
    return _dicts(w.raw_sql(f"SELECT * FROM ({sql}) ORDER BY ALL"))


def all_fresh(w: Warehouse) -> bool:
    """Every stored table holds what rolling the stored segments up now gives."""
    return all(stored(w, s.table) == fresh(w, s.table) for s in call_rollups.STORED)


@pytest.fixture
def wh() -> Warehouse:
    return DuckDBWarehouse.open(None)


def test_a_call_over_two_appends_is_rolled_up_whole(wh: Warehouse) -> None:
    wh.append("w1", table(rows_a()))
    c = {r["connId"]: r for r in stored(wh)}["C"]
    assert (c["segments"], c["ans"], c["lost"], c["ring"], c["userName"]) == (1, 0, 1, 20.0, None)
    wh.append("w1", table(rows_b()))
    calls = {r["connId"]: r for r in stored(wh)}
    c = calls["C"]
    # by hand: first start 09:00:00, answered at 09:00:30 + 5 s ring = a 35 s wait; last end 09:01:35
    assert (c["segments"], c["ans"], c["lost"], c["ring"], c["talk"], c["duration"]) == (2, 1, 1, 35.0, 60.0, 95.0)
    assert (c["userName"], c["hgNum"], c["cli"], c["start"], c["lastStart"]) == \
        ("Bob", "200", "0161 1", T, T.replace(second=30))
    assert calls["D"]["segments"] == 1 and len(calls) == 2
    # per call and user (c1 has none), with the whole call's span
    users = [(r["userNum"], r["connId"], r["name"], r["tk"], r["start"], r["lastStart"])
             for r in stored(wh, "call_users")]
    assert users == [("101", "D", "Al", 60.0, T.replace(minute=5), T.replace(minute=5)),
                     ("102", "C", "Bob", 60.0, T, T.replace(second=30))]
    codes = [(r["accountCode"], r["connId"], r["a"], r["d"]) for r in stored(wh, "call_codes")]
    assert codes == [(None, "C", 1, 85.0), (None, "D", 1, 63.0)]
    # both calls external: C holds a line from 09:00:00 to its last end 09:01:35, D 09:05:00-09:06:03
    lines = [(r["connId"], r["su"], r["eu"]) for r in stored(wh, "call_lines")]
    assert lines == [("C", _us(T), _us(T.replace(minute=1, second=35))),
                     ("D", _us(T.replace(minute=5)), _us(T.replace(minute=6, second=3)))]
    assert all_fresh(wh)


def _us(t: datetime) -> int:
    return (t - datetime(1970, 1, 1)) // timedelta(microseconds=1)


def test_workspaces_are_kept_apart(wh: Warehouse) -> None:
    wh.append("w1", table(rows_a()))
    wh.append("w2", table(rows_b()))  # the same connId C in another workspace is another call
    assert [(r["workspace"], r["connId"], r["segments"]) for r in stored(wh)] == \
        [("w1", "C", 1), ("w1", "D", 1), ("w2", "C", 1)]
    assert all_fresh(wh)


def test_a_reimport_changes_nothing(wh: Warehouse) -> None:
    wh.append("w1", table(rows_a() + rows_b()))
    before = stored(wh)
    assert wh.append("w1", table(rows_a())).inserted == 0
    assert wh.append("w1", table([*rows_b(), seg("e1", T, connId="E", lost=1, ring=9, duration=9)])).inserted == 1
    after = stored(wh)
    assert [r for r in after if r["connId"] != "E"] == before and len(after) == 3
    assert all_fresh(wh)


def test_a_failed_append_leaves_segments_and_calls_as_they_were(wh: Warehouse,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    wh.append("w1", table(rows_a()))
    before, count = stored(wh), wh.count("w1")
    real = call_rollups.refresh_touched

    def refresh_then_fail(*args: Any) -> None:
        real(*args)
        raise RuntimeError("disk full")

    monkeypatch.setattr(call_rollups, "refresh_touched", refresh_then_fail)
    with pytest.raises(RuntimeError):
        wh.append("w1", table(rows_b()))
    assert (stored(wh), wh.count("w1")) == (before, count)


def test_a_file_from_before_the_table_gets_it_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "calls.duckdb"
    w = DuckDBWarehouse.open(path)
    w.append("w1", table(rows_a() + rows_b()))
    w.raw_sql(f"DROP TABLE {CALL_ROLLUPS_TABLE}")
    w.close()
    w = DuckDBWarehouse.open(path)
    assert w.has_call_rollups
    assert [(r["connId"], r["segments"]) for r in stored(w)] == [("C", 2), ("D", 1)]
    assert all_fresh(w)
    w.close()


def test_optimize_rebuilds_them_in_start_order(wh: Warehouse) -> None:
    wh.append("w1", table(rows_b()))
    wh.append("w1", table(rows_a()))
    wh.optimize()
    order = [r[0] for r in wh.raw_sql(f'SELECT "connId" FROM {CALL_ROLLUPS_TABLE}').fetchall()]
    assert order == ["C", "D"]
    assert all_fresh(wh)


@pytest.mark.spark
def test_spark_rolls_calls_up_from_segments(spark_warehouse: Warehouse) -> None:
    assert not spark_warehouse.has_call_rollups
