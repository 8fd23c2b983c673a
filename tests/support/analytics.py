"""Hand-built datasets and a runner for the call-centre analytics template tests
(``test_analytics_*.py``). No tests here: every answer is worked out by hand in the test modules.

All times below are UTC; the reports run in Europe/London (BST = UTC+1 from 2025-03-30 01:00 UTC to
2025-10-26 01:00 UTC, GMT otherwise).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from callboard.reports.output import read_page
from callboard.reports.request import resolve_request
from callboard.reports.runner import ReportResult, run_report
from callboard.sources.base import finish_segments
from callboard.warehouse import Warehouse

TZ = "Europe/London"
NOW = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
PERIOD = {"dateFilter": {"presetName": "Custom", "start": "2025-01-01", "end": "2026-01-01"}}

_DEFAULTS: dict[str, Any] = {
    "connId": None, "ring": 0.0, "duration": 0.0, "hold": None, "userName": None, "userNum": None, "cli": None,
    "cliName": None, "hgNum": None, "hgName": None, "callType": 2, "callDir": 2, "ans": 0, "ref": 0, "lost": 0,
    "calledUserNum": None, "calledUserName": None, "callUserNum": None, "callUserName": None,
    "accountCode": None, "trunk": None,
}


def seg(doc: str, start: datetime, **values: Any) -> dict[str, Any]:
    """One segment row: ``doc`` is its docId (and connId unless given); unset fields take defaults."""
    unknown = set(values) - set(_DEFAULTS)
    assert not unknown, unknown
    row = {**_DEFAULTS, **values, "docId": doc, "start": start}
    row["connId"] = row["connId"] or doc
    row["ring"], row["duration"] = float(row["ring"]), float(row["duration"])
    return row


def table(rows: list[dict[str, Any]]) -> pa.Table:
    cols: dict[str, Any] = {name: [r[name] for r in rows] for name in ("docId", "start", *_DEFAULTS)}
    cols["start"] = pa.array([s.replace(tzinfo=UTC) for s in cols["start"]], pa.timestamp("us", tz="UTC"))
    if all(v is None for v in cols["hold"]):
        del cols["hold"]
    return finish_segments(cols)


def load(wh: Warehouse, rows: list[dict[str, Any]]) -> str:
    ws = f"an-{uuid.uuid4().hex[:10]}"
    assert wh.append(ws, table(rows)).inserted == len(rows)
    return ws


def run(wh: Warehouse, ws: str, tmp_path: Path, template: str,
        **body: Any) -> tuple[ReportResult, list[dict[str, Any]]]:
    """Run a template over the whole of 2025 in London time; every field unless displayFields says."""
    req = resolve_request({"reportTemplateName": template, "timeZoneId": TZ, "metadata": PERIOD,
                           "ignoreDisplayFields": "displayFields" not in body, **body}, now=NOW)
    result = run_report(wh, ws, req, tmp_path / f"{uuid.uuid4().hex}.parquet")
    rows = read_page(result.snapshot_path, 1, -1)
    assert result.total_count == len(rows)
    return result, rows


def by(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    out = {r.get(key): r for r in rows}
    assert len(out) == len(rows), "key not unique"
    return out
