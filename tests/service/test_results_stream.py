"""The results document streamed from a Parquet snapshot: valid JSON in the seed's order, sent in
pieces bounded by the engine's batch (not by the result's size), and exact pages."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from callboard.service.requests import Page, plan_page, stream_document
from callboard.store.models import ReportRequest, RequestStatus

N = 120_000


def snapshot(path: Path, n: int = N) -> Path:
    start = datetime(2025, 7, 1, 9, 0)
    pq.write_table(pa.table({
        "docId": [f"d{i:06d}" for i in range(n)],
        "start": pa.array([start + timedelta(seconds=i) for i in range(n)], pa.timestamp("us")),
        "ans": pa.array([i % 2 for i in range(n)], pa.int8()),
        "cli": [None if i % 3 else "+441234" for i in range(n)],
    }), path)
    return path


def request_row(total: int, page_size: int = -1) -> ReportRequest:
    return ReportRequest(
        id=uuid.uuid4(), tenant_id=uuid.uuid4(), workspace_id=uuid.uuid4(), status=RequestStatus.COMPLETE,
        status_message="Report processing complete", request_json={"reportTemplateName": "X"},
        resolved_json={"rowLimit": 1_000_000, "pageSize": page_size}, effort=123.456, query_duration_ms=10,
        total_duration_ms=12, query_count=2, total_count=total, row_limit_exceeded=False,
        summary={"ans": total // 2}, expires_at=datetime.now(UTC) + timedelta(days=1),
    )


def test_whole_document_streams_in_bounded_pieces(tmp_path: Path) -> None:
    snap = snapshot(tmp_path / "s.parquet")
    row = request_row(N)
    pieces = list(stream_document(row, snap, plan_page(row, None, None), chunk_bytes=64 * 1024))
    assert len(pieces) >= 3  # at least one piece per engine batch
    biggest = max(len(p) for p in pieces)
    whole = b"".join(pieces)
    assert biggest < len(whole) / 2  # never the whole result in one piece
    doc = orjson.loads(whole)
    assert list(doc) == ["requestId", "tenantId", "request", "effort", "queryDuration", "totalDuration",
                         "queryCount", "rowLimitExceeded", "totalCount", "data", "summary", "status",
                         "statusMessage", "rowLimit", "state"]
    assert doc["effort"] == 123.46 and doc["summary"] == [{"ans": N // 2}] and doc["totalCount"] == N
    assert len(doc["data"]) == N
    assert doc["data"][0] == {"docId": "d000000", "start": "2025-07-01T09:00:00", "ans": 0, "cli": "+441234"}
    assert doc["data"][1] == {"docId": "d000001", "start": "2025-07-01T09:00:01", "ans": 1}  # null cli left out


def test_pages_are_exact_slices(tmp_path: Path) -> None:
    snap = snapshot(tmp_path / "s.parquet", 25)
    row = request_row(25)
    for page, size, expected in [(1, 10, range(0, 10)), (3, 10, range(20, 25)), (4, 10, range(0)),
                                 (2, 7, range(7, 14))]:
        plan = plan_page(row, page, size)
        assert plan.has_next == (page * size < 25)
        doc = orjson.loads(b"".join(stream_document(row, snap, plan)))
        assert [d["docId"] for d in doc["data"]] == [f"d{i:06d}" for i in expected]
        assert doc["page"] == page and doc["pageSize"] == size
    # The request's own pageSize applies when the query names none.
    assert plan_page(request_row(25, page_size=10), None, None) == Page(0, 10, 1, 10, True)
    assert plan_page(row, None, -1) == Page(0, None, None, None, False)
