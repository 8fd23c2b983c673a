"""Running a report straight on the warehouse (``callboard report run``), without the queue."""

from __future__ import annotations

import shutil
import sys
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from callboard.reports.output import json_document_chunks, read_page, write_csv
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
        else:
            write_output(snapshot, output, out_file, result.total_count, result.summary)
    return result, rows



def write_output(snapshot: Path, output: str, out_file: Path | None, total_count: int, summary: Any) -> None:
    """A report's snapshot as ``callboard report run`` writes it: ``parquet`` copied to ``out_file``,
    ``csv`` or ``json`` (the results document's count, summary and rows) to ``out_file`` or stdout."""
    if output == "parquet":
        if out_file is not None:
            shutil.copyfile(snapshot, out_file)
        return
    sink = out_file.open("wb") if out_file else sys.stdout.buffer
    try:
        if output == "csv":
            write_csv(snapshot, sink, header_titles=None, bom=False)
        else:
            doc = {"totalCount": total_count, "summary": [summary]}
            for chunk in json_document_chunks(doc, snapshot):
                sink.write(chunk)
            sink.write(b"\n")
    finally:
        if out_file:
            sink.close()
        else:
            sink.flush()
