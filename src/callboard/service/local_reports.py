"""Running a report straight on the warehouse (``callboard report run``), without the queue."""

from __future__ import annotations

import shutil
import sys
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from callboard.reports.output import iter_json_rows, read_page, write_csv
from callboard.reports.request import resolve_request
from callboard.reports.runner import ReportResult, run_report
from callboard.service.imports import open_warehouse
from callboard.settings import Settings

TABLE_ROWS = 50


def run_local_report(
    settings: Settings,
    workspace_id: str,
    body: Mapping[str, Any],
    output: str,
    out_file: Path | None,
    *,
    defaults: Mapping[str, Any] | None = None,
) -> tuple[ReportResult, list[dict[str, Any]]]:
    """Resolve and run ``body``; write csv/json/parquet to ``out_file`` (or stdout), return the first rows."""
    req = resolve_request(body, defaults=defaults)
    warehouse = open_warehouse(settings)
    with tempfile.TemporaryDirectory() as tmp:
        snapshot = Path(tmp) / f"{uuid.uuid4()}.parquet"
        try:
            result = run_report(warehouse, workspace_id, req, snapshot)
        finally:
            warehouse.close()
        rows: list[dict[str, Any]] = []
        if output == "table":
            rows = read_page(snapshot, 1, TABLE_ROWS)
        elif output == "parquet":
            if out_file is not None:
                shutil.copyfile(snapshot, out_file)
        else:
            sink = out_file.open("wb") if out_file else sys.stdout.buffer
            try:
                if output == "csv":
                    write_csv(snapshot, sink, header_titles=None, bom=False)
                else:
                    _write_json(sink, result, iter_json_rows(snapshot))
            finally:
                if out_file:
                    sink.close()
                else:
                    sink.flush()
    return result, rows


def _write_json(sink: Any, result: ReportResult, rows: Any) -> None:
    sink.write(b'{"totalCount":' + orjson.dumps(result.total_count))
    sink.write(b',"summary":[' + orjson.dumps(result.summary) + b'],"data":[')
    for i, row in enumerate(rows):
        sink.write(row if i == 0 else b"," + row)
    sink.write(b"]}\n")
