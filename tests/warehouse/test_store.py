"""The warehouse stores each batch whole, once, and keeps workspaces apart."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from callboard.calls.schema import SEGMENT_SCHEMA
from callboard.sources.base import finish_segments
from callboard.warehouse import DuckDBWarehouse

UTC = dt.UTC


def _batch(doc_ids: list[str | None], users: list[str] | None = None) -> pa.Table:
    n = len(doc_ids)
    return finish_segments({
        "docId": doc_ids,
        "start": [dt.datetime(2025, 3, 30, 0, 30, tzinfo=UTC) + dt.timedelta(minutes=i) for i in range(n)],
        "userNum": users or [f"10{i}" for i in range(n)],
        "ring": [2.5] * n,
    })


@pytest.fixture
def wh(tmp_path):
    w = DuckDBWarehouse.open(tmp_path / "calls.duckdb")
    yield w
    w.close()


def test_append_is_idempotent_per_workspace(wh):
    first = wh.append("ws-a", _batch(["a", "b", "c"]))
    assert first.as_dict() == {"received": 3, "inserted": 3, "duplicates": 0}
    again = wh.append("ws-a", _batch(["a", "b", "c"]))
    assert again.as_dict() == {"received": 3, "inserted": 0, "duplicates": 3}
    # the same docIds belong to another workspace independently
    other = wh.append("ws-b", _batch(["a", "b"]))
    assert other.as_dict() == {"received": 2, "inserted": 2, "duplicates": 0}
    assert wh.count("ws-a") == 3 and wh.count("ws-b") == 2


def test_duplicates_within_one_batch_are_stored_once(wh):
    result = wh.append("ws", _batch(["x", "y", "x", "x"]))
    assert result.as_dict() == {"received": 4, "inserted": 2, "duplicates": 2}
    assert wh.count() == 2


def test_missing_doc_ids_are_derived_deterministically(wh):
    batch = _batch([None, None], users=["201", "202"])
    ids = batch.column("docId").to_pylist()
    assert len(set(ids)) == 2 and all(len(i) == 32 for i in ids)
    assert _batch([None, None], users=["201", "202"]).column("docId").to_pylist() == ids
    assert batch.column("connId").to_pylist() == ids  # a segment without connId is a call of its own
    wh.append("ws", batch)
    assert wh.append("ws", _batch([None, None], users=["201", "202"])).inserted == 0


def test_failed_batch_stores_nothing(wh, monkeypatch):
    wh.append("ws", _batch(["a"]))
    bad = _batch(["b", "c"])
    bad = bad.set_column(bad.schema.get_field_index("connId"), "connId", pa.array([None, "k"], pa.string()))
    with pytest.raises(Exception, match=r"NOT NULL|null"):
        wh.append("ws", bad)
    assert wh.count("ws") == 1


def test_times_are_stored_as_utc_and_read_back(wh):
    start = dt.datetime(2025, 10, 26, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))  # 00:30Z
    wh.append("ws", finish_segments({"docId": ["t"], "start": pa.array([start], pa.timestamp("us", tz="UTC"))}))
    lo, hi = wh.time_range("ws")
    assert lo == hi == dt.datetime(2025, 10, 26, 0, 30)


def test_optimize_keeps_every_row(wh):
    wh.append("ws-b", _batch(["1", "2"]))
    wh.append("ws-a", _batch(["3"]))
    wh.optimize()
    assert wh.count() == 3
    assert wh.append("ws-b", _batch(["1"])).duplicates == 1


def test_reopening_the_file_keeps_the_data(tmp_path):
    path = tmp_path / "c.duckdb"
    w = DuckDBWarehouse.open(path)
    w.append("ws", _batch(["a", "b"]))
    w.close()
    w2 = DuckDBWarehouse.open(path)
    assert w2.count("ws") == 2
    assert list(w2.calls().schema().names[1:]) == SEGMENT_SCHEMA.names
    w2.close()
