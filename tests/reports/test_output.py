"""Snapshot output: JSON rows (null members left out, nested children, paging, whole document) and
CSV (BOM, titles), read batch by batch."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from callboard.reports.output import iter_json_rows, json_document_chunks, read_page, snapshot_count, write_csv


def _snapshot(tmp_path: Path, n: int = 5) -> Path:
    children = pa.array([[{"userNum": "101", "start": "2025-01-01T10:00:00"}]] * n,
                        pa.list_(pa.struct([("userNum", pa.string()), ("start", pa.string())])))
    table = pa.table({
        "connId": [f"c{i}" for i in range(n)],
        "start": pa.array([datetime(2025, 1, 1, 10, 0, i % 60) for i in range(n)], pa.timestamp("us")),
        "cli": [None if i % 2 else f"+44{i}" for i in range(n)],
        "cliName": ['say "hgNum":null, ok' if i == 0 else None for i in range(n)],
        "ring": [float(i) for i in range(n)],
        "ans": pa.array([i % 2 for i in range(n)], pa.int64()),
        "date": pa.array([datetime(2025, 1, 1).date()] * n, pa.date32()),
        "children": children,
        "docId": [f"d{i}" for i in range(n)],
    })
    path = tmp_path / "snap.parquet"
    pq.write_table(table, path)
    return path


def test_json_rows_leave_nulls_out_and_keep_order(tmp_path: Path) -> None:
    snap = _snapshot(tmp_path)
    rows = [json.loads(b) for b in iter_json_rows(snap)]
    assert rows[0] == {"connId": "c0", "start": "2025-01-01T10:00:00", "cli": "+440",
                       "cliName": 'say "hgNum":null, ok', "ring": 0.0, "ans": 0, "date": "2025-01-01",
                       "children": [{"userNum": "101", "start": "2025-01-01T10:00:00"}], "docId": "d0"}
    assert list(rows[1]) == ["connId", "start", "ring", "ans", "date", "children", "docId"]
    assert [r["docId"] for r in read_page(snap, 2, 2)] == ["d2", "d3"]
    assert [r["docId"] for r in read_page(snap, 3, 2)] == ["d4"]
    assert read_page(snap, 4, 2) == []
    assert snapshot_count(snap) == 5


def test_whole_document_streams_with_data_after_total_count(tmp_path: Path) -> None:
    snap = _snapshot(tmp_path, 120_001)
    doc = {"requestId": "r", "totalCount": 120_001, "summary": [{"ans": 60_000}], "status": 1}
    body = b"".join(json_document_chunks(doc, snap))
    parsed = json.loads(body)
    assert list(parsed) == ["requestId", "totalCount", "data", "summary", "status"]
    assert [r["docId"] for r in parsed["data"]] == [f"d{i}" for i in range(120_001)]  # snapshot order
    page = json.loads(b"".join(json_document_chunks(doc, snap, offset=100_010, limit=3)))
    assert [r["docId"] for r in page["data"]] == ["d100010", "d100011", "d100012"]
    assert json.loads(b"".join(json_document_chunks({"a": 1}, None))) == {"a": 1, "data": []}


def test_csv_streams_with_bom_and_titles(tmp_path: Path) -> None:
    snap = _snapshot(tmp_path)
    out = io.BytesIO()
    write_csv(snap, out, header_titles={"start": "Start", "docId": "Record ID"}, bom=True)
    data = out.getvalue()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data[3:].decode())))
    assert rows[0] == ["connId", "Start", "cli", "cliName", "ring", "ans", "date", "Record ID"]
    assert rows[1] == ["c0", "2025-01-01T10:00:00", "+440", 'say "hgNum":null, ok', "0", "0", "2025-01-01", "d0"]
    assert rows[2][2] == "" and len(rows) == 6
