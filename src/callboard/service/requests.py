"""Report requests and their results documents (seed 000).

A request is resolved (every default filled in) and validated when it is posted, so a bad request is
refused with 400 and never queued. The results document is built field for field in the seed's
order; ``data`` is streamed from the Parquet snapshot so memory does not grow with the row count.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from callboard.reports.output import json_document_chunks
from callboard.service import endings, resolve, scheduling
from callboard.service.auth import Principal
from callboard.service.errors import BadRequest, Gone, NotFound
from callboard.service.queue import STATUS_MESSAGES
from callboard.service.tenancy import parse_id
from callboard.service.worker import wake_workers
from callboard.settings import Settings
from callboard.store.db import Database
from callboard.store.models import ReportRequest, RequestStatus, SavedReport, Workspace, utcnow


def submit(
    session: Session,
    settings: Settings,
    workspace: Workspace,
    body: Mapping[str, Any],
    *,
    report: SavedReport | None = None,
    principal: Principal | None = None,
) -> ReportRequest:
    """Resolve, validate and queue a request (400 before anything is stored if it is bad) in the
    lane its period puts it in. ``principal``: the caller, whose scopes decide whether it may ask for
    ``priorityLevel`` 1 (None: the operator's own command line)."""
    now = utcnow()
    req, spec = resolve.resolve(settings, workspace, body, report=report, now=now)
    scheduling.check_priority(spec["priorityLevel"], principal)
    request_id = uuid.uuid4()
    echo = req.echo(
        request_id=str(request_id),
        tenant_id=str(workspace.tenant_id),
        report_id=str(report.id) if report is not None else None,
        date_created=now,
    )
    row = ReportRequest(
        id=request_id,
        tenant_id=workspace.tenant_id,
        workspace_id=workspace.id,
        report_id=report.id if report is not None else None,
        template=spec["reportTemplateName"],
        status=RequestStatus.QUEUED,
        status_message=STATUS_MESSAGES[RequestStatus.QUEUED],
        priority=spec["priorityLevel"],
        lane=scheduling.lane_for(req.period, settings),
        created_at=now,
        attempts=0,
        cancel_requested=False,
        request_json=orjson.loads(orjson.dumps(echo, default=str)),
        resolved_json=spec,
    )
    session.add(row)
    session.flush()
    # wake this process's idle workers once the request is committed (not before: a worker
    # claiming earlier would not see it yet)
    event.listen(session, "after_commit", _wake_after_commit, once=True)
    return row


def _wake_after_commit(session: Session) -> None:
    wake_workers()


def get_request(
    session: Session, workspace: Workspace, request_id: str, *, report: SavedReport | None = None
) -> ReportRequest:
    """A request of this workspace (and of this saved report, when reached through one)."""
    rid = parse_id(request_id, "Request")
    row = session.get(ReportRequest, rid)
    if row is None or row.workspace_id != workspace.id or (report is not None and row.report_id != report.id):
        raise NotFound(f"Request {request_id} not found.")
    return row


def read_when_ended(db: Database, workspace: Workspace, request_id: str, *, report: SavedReport | None = None,
                    wait_seconds: float = 0.0) -> ReportRequest:
    """The request's row, read again until it has ended (complete, failed, cancelled, expired) or
    ``wait_seconds`` have passed -- the server side of ``Prefer: wait``. With no wait: one read."""
    deadline = time.monotonic() + max(0.0, wait_seconds)
    while True:
        with db.session() as session:
            row = get_request(session, workspace, request_id, report=report)
        remaining = deadline - time.monotonic()
        if effective_status(row) not in (RequestStatus.QUEUED, RequestStatus.RUNNING) or remaining <= 0:
            return row
        endings.wait(remaining)


async def read_when_ended_async(db: Database, workspace: Workspace, request_id: str, *,
                                report: SavedReport | None = None, wait_seconds: float = 0.0) -> ReportRequest:
    """:func:`read_when_ended` for the API's event loop: the reads run in a thread, the wait holds none
    (:func:`endings.until_ended`), so readers waiting on ``Prefer: wait`` do not take the threads other
    requests need. The row of a request that ended while waited for comes from the waiters' shared
    query (its workspace and report were checked by the first read)."""
    deadline = time.monotonic() + max(0.0, wait_seconds)
    while True:
        since = endings.ticket()
        row = await asyncio.to_thread(read_when_ended, db, workspace, request_id, report=report)
        remaining = deadline - time.monotonic()
        if effective_status(row) not in (RequestStatus.QUEUED, RequestStatus.RUNNING) or remaining <= 0:
            return row
        ended = await endings.until_ended(_ended_among, db, row.id, remaining, since=since)
        if isinstance(ended, ReportRequest):
            return ended
        # the wait ran out, or the row is gone: read again (at the deadline it answers as it stands)


_IN_LIST = 500  # ids per query of ``_ended_among``, well under every engine's parameter limit


def _ended_among(db: Database, ids: frozenset[uuid.UUID]) -> dict[uuid.UUID, ReportRequest | None]:
    """The rows of those of ``ids`` that are no longer queued or running, ``None`` for those discarded:
    one query for all the readers waiting in one process."""
    rows: dict[uuid.UUID, ReportRequest | None] = dict.fromkeys(ids)
    ordered = list(ids)
    with db.session() as session:
        for at in range(0, len(ordered), _IN_LIST):
            rows.update((row.id, row) for row in session.scalars(
                select(ReportRequest).where(ReportRequest.id.in_(ordered[at:at + _IN_LIST]))))
    return {rid: row for rid, row in rows.items()
            if row is None or RequestStatus(row.status) not in (RequestStatus.QUEUED, RequestStatus.RUNNING)}


def list_requests(session: Session, workspace: Workspace, report: SavedReport | None) -> list[ReportRequest]:
    q = select(ReportRequest).where(ReportRequest.workspace_id == workspace.id)
    if report is not None:
        q = q.where(ReportRequest.report_id == report.id)
    return list(session.scalars(q.order_by(ReportRequest.created_at.desc()).limit(1000)))


def effective_status(row: ReportRequest) -> RequestStatus:
    """A complete result past its time to live reads as expired even before the sweeper runs."""
    status = RequestStatus(row.status)
    if status == RequestStatus.COMPLETE and row.expires_at is not None and row.expires_at <= utcnow():
        return RequestStatus.EXPIRED
    return status


# ---- documents ----------------------------------------------------------------------------------
def _summary(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    return list(value)


def head_fields(row: ReportRequest) -> dict[str, Any]:
    """The document's fields before ``data``, in the seed's order."""
    done = effective_status(row) == RequestStatus.COMPLETE
    effort = round(row.effort, 2) if row.effort is not None else None
    return {
        "requestId": str(row.id),
        "tenantId": str(row.tenant_id),
        "request": row.request_json,
        "effort": effort if done else None,
        "queryDuration": row.query_duration_ms if done else None,
        "totalDuration": row.total_duration_ms if done else None,
        "queryCount": row.query_count if done else None,
        "rowLimitExceeded": row.row_limit_exceeded if done else None,
        "totalCount": row.total_count if done else None,
    }


def tail_fields(row: ReportRequest) -> dict[str, Any]:
    """The document's fields after ``data``, in the seed's order, plus ``state``."""
    status = effective_status(row)
    message = row.status_message if status == RequestStatus(row.status) else STATUS_MESSAGES[status]
    return {
        "summary": _summary(row.summary) if status == RequestStatus.COMPLETE else [],
        "status": int(status),
        "statusMessage": message,
        "rowLimit": (row.resolved_json or {}).get("rowLimit"),
        "state": status.state,
    }


def status_document(row: ReportRequest) -> dict[str, Any]:
    """The results document without ``data`` (GET .../requests/{id})."""
    return {**head_fields(row), **tail_fields(row)}


@dataclass(frozen=True)
class Page:
    """Which rows of a result one answer holds (``limit`` None = all from ``offset``)."""

    offset: int
    limit: int | None
    page: int | None
    page_size: int | None
    has_next: bool


def plan_page(row: ReportRequest, page: int | None, page_size: int | None) -> Page:
    """Paging: ``?page=N&pageSize=M`` (1-based); without them the request's own ``pageSize``
    applies (-1 = every row in one document)."""
    if page is not None and page < 1:
        raise BadRequest("page must be 1 or more.", [{"description": "page is 1-based.", "field": "page"}])
    if page_size is not None and page_size != -1 and page_size < 1:
        raise BadRequest("pageSize must be -1 (all rows) or 1 or more.", [{"description": "pageSize",
                                                                          "field": "pageSize"}])
    size = page_size if page_size is not None else int((row.resolved_json or {}).get("pageSize") or -1)
    total = int(row.total_count or 0)
    if size == -1:
        if page not in (None, 1):
            return Page(total, 0, page, -1, False)
        return Page(0, None, None, None, False)
    number = page or 1
    offset = (number - 1) * size
    return Page(offset, size, number, size, offset + size < total)


def snapshot_of(row: ReportRequest) -> Path:
    """The snapshot of a complete result, or 410 when it has expired or been removed."""
    if effective_status(row) == RequestStatus.EXPIRED or not row.snapshot_path:
        raise Gone(f"The result of request {row.id} has expired (results are kept for a limited time).")
    path = Path(row.snapshot_path)
    if not path.exists():
        raise Gone(f"The result of request {row.id} is no longer available.")
    return path


def stream_document(
    row: ReportRequest, snapshot: Path | None, page: Page, *, chunk_bytes: int = 256 * 1024
) -> Iterator[bytes]:
    """The whole results document as bytes, ``data`` read from the snapshot batch by batch, so
    memory per stream is about one engine batch whatever the row count."""
    tail = tail_fields(row)
    if page.page is not None:
        tail["page"] = page.page
        tail["pageSize"] = page.page_size
    return json_document_chunks({**head_fields(row), **tail}, snapshot if page.limit != 0 else None,
                                offset=page.offset, limit=page.limit, chunk_bytes=chunk_bytes)
