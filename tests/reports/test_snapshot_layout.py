"""What the fixed cost of a report rests on: the snapshot's layout (page 1 in a row group of its own;
every reader sees the rows in order across the groups) and the cut probe, skipped for a shape whose
template reads no stored table, still run for one that does, with the same answers either way."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from callboard.generate import OrgConfig, generate_batches
from callboard.reports import runner, sql_cache
from callboard.reports.normalise import FIRST_GROUP_ROWS, GROUP_ROWS, write_snapshot
from callboard.reports.output import json_document_chunks, read_page, snapshot_count, write_csv
from callboard.reports.request import ResolvedRequest, resolve_request
from callboard.warehouse import DuckDBWarehouse, Warehouse

NOW = datetime(2026, 2, 1, tzinfo=UTC)


def _req(template: str, start: str = "2025-10-01", end: str = "2025-11-01") -> ResolvedRequest:
    return resolve_request({"reportTemplateName": template, "timeZoneId": "Europe/London",
                            "metadata": {"dateFilter": {"presetName": "Custom", "start": start, "end": end}}},
                           now=NOW)


@pytest.mark.parametrize("rows", [0, 5, FIRST_GROUP_ROWS, FIRST_GROUP_ROWS + 1, FIRST_GROUP_ROWS + GROUP_ROWS + 7])
def test_snapshot_rows_read_in_order_across_its_row_groups(tmp_path: Path, rows: int) -> None:
    table = pa.table({"docId": [f"d{i:06d}" for i in range(rows)], "ans": pa.array(range(rows), pa.int64())})
    path = tmp_path / "snap.parquet"
    write_snapshot(table, path, _req("CallListByUserSegmented"))
    meta = pq.ParquetFile(path).metadata
    assert snapshot_count(path) == rows
    if rows:
        assert meta.row_group(0).num_rows == min(rows, FIRST_GROUP_ROWS)
    assert pq.read_table(path).column("docId").to_pylist() == table.column("docId").to_pylist()
    size = 700  # pages that start inside the first group and end past it
    got = [r["docId"] for p in range(1, rows // size + 2) for r in read_page(path, p, size)]
    assert got == table.column("docId").to_pylist()
    doc = json.loads(b"".join(json_document_chunks({"totalCount": rows}, path, offset=FIRST_GROUP_ROWS - 2,
                                                   limit=4)))
    assert [r["ans"] for r in doc["data"]] == list(range(FIRST_GROUP_ROWS - 2, min(rows, FIRST_GROUP_ROWS + 2)))
    out = io.BytesIO()
    write_csv(path, out)
    lines = list(csv.reader(io.StringIO(out.getvalue().decode())))
    assert [line[0] for line in lines[1:]] == table.column("docId").to_pylist()


@pytest.fixture(scope="module")
def wh() -> Warehouse:
    w = DuckDBWarehouse.open(None)
    for batch in generate_batches(OrgConfig(seed=9, users=10, days=61, start=date(2025, 9, 15))):
        w.append("ws", batch)
    return w


@pytest.mark.parametrize(("template", "probes"), [("CallListByUserSegmented", False),
                                                  ("CallSummaryByHuntGroup", False), ("CallList", True)])
def test_the_cut_probe_runs_only_where_stored_calls_are_read(wh: Warehouse, template: str, probes: bool,
                                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sql_cache.clear()
    runner._IGNORES_STORED.clear()
    first = runner.run_report(wh, "ws", _req(template), tmp_path / "a.parquet")
    calls: list[str] = []
    probe = runner.cut_bounds

    def counted(session: Any, warehouse: Warehouse, workspace: str, req: ResolvedRequest) -> frozenset[str] | None:
        calls.append(workspace)
        return probe(session, warehouse, workspace, req)

    monkeypatch.setattr(runner, "cut_bounds", counted)
    again = runner.run_report(wh, "ws", _req(template), tmp_path / "b.parquet")
    assert bool(calls) == probes
    assert again.total_count == first.total_count > 0
    assert pq.read_table(again.snapshot_path).equals(pq.read_table(first.snapshot_path))
    # another period of the same shape (its own bounds) answers as on an empty cache
    other = runner.run_report(wh, "ws", _req(template, "2025-10-05", "2025-11-05"),
                              tmp_path / "c.parquet")
    sql_cache.clear()
    runner._IGNORES_STORED.clear()
    fresh = runner.run_report(wh, "ws", _req(template, "2025-10-05", "2025-11-05"),
                              tmp_path / "d.parquet")
    assert pq.read_table(other.snapshot_path).replace_schema_metadata(None).equals(
        pq.read_table(fresh.snapshot_path).replace_schema_metadata(None))
