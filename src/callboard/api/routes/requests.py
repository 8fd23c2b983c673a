"""Report requests and their results (seed 000), under a saved report or ad hoc.

Both path spellings of the reference API work: ``.../requests/{id}`` (its worked examples) and
``.../results/{id}`` (its endpoint table).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from callboard.api.deps import ContextDep, ReadReports, ReportDep, WorkspaceDep, WriteReports
from callboard.api.errors import ERROR_RESPONSES
from callboard.api.urls import absolute_url
from callboard.service import queue
from callboard.service import requests as svc
from callboard.service.auth import Principal
from callboard.service.errors import Gone
from callboard.service.schemas import ErrorBody, ListOf, ResultsDocument, StatusDocument
from callboard.store.models import ReportRequest, RequestStatus, SavedReport, Workspace

router = APIRouter(tags=["requests"], responses=ERROR_RESPONSES)
JSON_TYPE = "application/json; charset=utf-8"
REPORT_BASE = "/workspaces/{workspaceId}/reports/{reportId}"
ADHOC_BASE = "/workspaces/{workspaceId}"

RequestBody = Annotated[
    dict[str, Any] | None,
    Body(description="Request fields (SPEC §2); under a saved report they override its defaults.",
         openapi_examples={"thisYear": {"value": {"metadata": {"dateFilter": {"presetName": "ThisYear"}}}}}),
]
PageQuery = Annotated[int | None, Query(ge=1, le=1_000_000_000, description="1-based page number.")]
PageSizeQuery = Annotated[int | None, Query(ge=-1, le=100_000_000,
                                            description="Rows per page (-1 = all); default: the request's.")]

DATA_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": ResultsDocument, "description": "The whole results document (streamed).",
          "headers": {"Link": {"description": '<next page URL>; rel="next" when paged', "schema": {"type": "string"}}}},
    202: {"model": StatusDocument, "description": "Not complete yet; retry after Retry-After seconds.",
          "headers": {"Retry-After": {"schema": {"type": "integer"}}}},
    410: {"model": ErrorBody, "description": "The result has expired."},
}


def _location(request: Request, ctx: ContextDep, workspace: Workspace, report: SavedReport | None,
              request_id: object) -> str:
    path = f"/api/v1.0/workspaces/{workspace.id}"
    path += f"/reports/{report.id}/requests/{request_id}" if report else f"/requests/{request_id}"
    return absolute_url(request, ctx.settings, path)


def _submit(request: Request, ctx: ContextDep, principal: Principal, workspace: Workspace,
            report: SavedReport | None, body: dict[str, Any] | None) -> JSONResponse:
    with ctx.db.session() as session:
        row = svc.submit(session, ctx.settings, workspace, body or {}, report=report, principal=principal)
        doc = svc.status_document(row)
    return JSONResponse(doc, status_code=status.HTTP_202_ACCEPTED, media_type=JSON_TYPE, headers={
        "Location": _location(request, ctx, workspace, report, row.id),
        "Retry-After": str(ctx.settings.retry_after_seconds),
    })


MAX_WAIT_SECONDS = 30  # the longest ``Prefer: wait`` honoured (the wait holds no thread, only a connection)
_WAIT = re.compile(r"(?:^|[,;\s])wait\s*=\s*\"?(\d+(?:\.\d+)?)\"?", re.IGNORECASE)


def _prefer_wait(request: Request) -> float:
    """Seconds of RFC 7240 ``Prefer: wait=N`` (0 without it), capped at ``MAX_WAIT_SECONDS``."""
    for value in request.headers.getlist("prefer"):
        if m := _WAIT.search(value):
            return min(float(m.group(1)), MAX_WAIT_SECONDS)
    return 0.0


def _applied(wait: float) -> dict[str, str]:
    return {"Preference-Applied": f"wait={wait:g}"} if wait else {}


# The status and data routes are coroutines so that a ``Prefer: wait`` holds no thread while it waits:
# the threadpool (a few dozen threads) serves every sync route, and waiters holding its threads would
# leave /health and every other caller unanswered. The reads of the row and the file checks before a
# stream are brief and still run in threads.
async def _status(request: Request, ctx: ContextDep, workspace: Workspace, report: SavedReport | None,
                  request_id: str) -> JSONResponse:
    wait = _prefer_wait(request)
    row = await svc.read_when_ended_async(ctx.db, workspace, request_id, report=report, wait_seconds=wait)
    return JSONResponse(svc.status_document(row), media_type=JSON_TYPE, headers=_applied(wait))


async def _data(request: Request, ctx: ContextDep, workspace: Workspace, report: SavedReport | None,
                request_id: str, page: int | None, page_size: int | None) -> Response:
    wait = _prefer_wait(request)
    row = await svc.read_when_ended_async(ctx.db, workspace, request_id, report=report, wait_seconds=wait)
    return await run_in_threadpool(_data_answer, request, ctx, row, wait, page, page_size)


def _data_answer(request: Request, ctx: ContextDep, row: ReportRequest, wait: float, page: int | None,
                 page_size: int | None) -> Response:
    state = svc.effective_status(row)
    if state in (RequestStatus.QUEUED, RequestStatus.RUNNING):
        return JSONResponse(svc.status_document(row), status_code=status.HTTP_202_ACCEPTED, media_type=JSON_TYPE,
                            headers={"Retry-After": str(ctx.settings.retry_after_seconds), **_applied(wait)})
    if state == RequestStatus.EXPIRED:
        raise Gone(f"The result of request {row.id} has expired (results are kept for a limited time).")
    headers: dict[str, str] = _applied(wait)
    if state == RequestStatus.COMPLETE:
        snapshot = svc.snapshot_of(row)
        plan = svc.plan_page(row, page, page_size)
        if plan.has_next and plan.page is not None:
            nxt = request.url.include_query_params(page=plan.page + 1, pageSize=plan.page_size)
            headers["Link"] = f'<{absolute_url(request, ctx.settings, nxt.path, nxt.query)}>; rel="next"'
    else:  # failed or cancelled: the document says why, with no rows
        snapshot, plan = None, svc.Page(0, 0, None, None, False)
    body = svc.stream_document(row, snapshot, plan, chunk_bytes=ctx.settings.stream_chunk_bytes)
    return StreamingResponse(body, media_type=JSON_TYPE, headers=headers)


def _delete(ctx: ContextDep, workspace: Workspace, report: SavedReport | None, request_id: str) -> Response:
    with ctx.db.session() as session:
        row = svc.get_request(session, workspace, request_id, report=report)
        snapshot = row.snapshot_path
        outcome = queue.cancel(session, row)
        doc = svc.status_document(row) if outcome == "cancelled" else None
    if doc is None:
        if snapshot:
            from pathlib import Path

            Path(snapshot).unlink(missing_ok=True)
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return JSONResponse(doc, media_type=JSON_TYPE)


# ---- under a saved report -------------------------------------------------------------------------
@router.post(REPORT_BASE + "/requests", status_code=202, response_model=StatusDocument,
             operation_id="requests-create", responses={202: {"headers": {"Location": {"schema": {"type": "string"}}}}})
def create_request(request: Request, principal: ReadReports, report: ReportDep, workspace: WorkspaceDep,
                   ctx: ContextDep, body: RequestBody = None) -> Response:
    """Queue a run of a saved report; the body's request fields override the report's defaults.
    Answers 202 with the status document and a ``Location`` to poll."""
    return _submit(request, ctx, principal, workspace, report, body)


@router.get(REPORT_BASE + "/requests", response_model=ListOf[StatusDocument], operation_id="requests-list")
def list_requests(_: ReadReports, report: ReportDep, workspace: WorkspaceDep, ctx: ContextDep) -> Any:
    """The latest requests of a saved report (newest first, at most 1000)."""
    with ctx.db.session() as session:
        docs = [svc.status_document(r) for r in svc.list_requests(session, workspace, report)]
    return {"data": docs, "count": len(docs)}


def _register_report_routes(spelling: str) -> None:
    base = REPORT_BASE + f"/{spelling}/{{requestId}}"

    async def get_status(request: Request, requestId: str, _: ReadReports, report: ReportDep,
                         workspace: WorkspaceDep, ctx: ContextDep) -> Response:
        """The results document without ``data``: status, figures and the resolved request.
        ``Prefer: wait=N`` (RFC 7240, N ≤ 30) answers as soon as the request ends, or after N s."""
        return await _status(request, ctx, workspace, report, requestId)

    async def get_data(request: Request, requestId: str, _: ReadReports, report: ReportDep, workspace: WorkspaceDep,
                       ctx: ContextDep, page: PageQuery = None, pageSize: PageSizeQuery = None) -> Response:
        """The whole results document (202 with ``Retry-After`` until complete); paged with
        ``page`` and ``pageSize``, with a ``Link: rel="next"`` header while more rows follow.
        ``Prefer: wait=N`` (RFC 7240, N ≤ 30) holds the answer until the request ends or N s pass."""
        return await _data(request, ctx, workspace, report, requestId, page, pageSize)

    def delete(requestId: str, _: WriteReports, report: ReportDep, workspace: WorkspaceDep,
               ctx: ContextDep) -> Response:
        """Cancel a queued or running request (200, status document) or discard a finished one (204)."""
        return _delete(ctx, workspace, report, requestId)

    router.add_api_route(base, get_status, methods=["GET"], response_model=StatusDocument,
                         operation_id=f"{spelling}-get")
    router.add_api_route(base + "/data", get_data, methods=["GET"], response_model=None,
                         responses=DATA_RESPONSES, operation_id=f"{spelling}-data")
    router.add_api_route(base, delete, methods=["DELETE"], response_model=StatusDocument,
                         responses={204: {"description": "Discarded."}}, operation_id=f"{spelling}-delete")


_register_report_routes("requests")
_register_report_routes("results")


# ---- ad hoc -------------------------------------------------------------------------------------
@router.post(ADHOC_BASE + "/requests", status_code=202, response_model=StatusDocument,
             operation_id="adhoc-requests-create")
def create_adhoc_request(request: Request, principal: ReadReports, workspace: WorkspaceDep, ctx: ContextDep,
                         body: RequestBody = None) -> Response:
    """Queue an ad-hoc request naming its ``reportTemplateName`` (no saved report)."""
    return _submit(request, ctx, principal, workspace, None, body)


@router.get(ADHOC_BASE + "/requests/{requestId}", response_model=StatusDocument, operation_id="adhoc-requests-get")
async def get_adhoc_status(request: Request, requestId: str, _: ReadReports, workspace: WorkspaceDep,
                           ctx: ContextDep) -> Response:
    return await _status(request, ctx, workspace, None, requestId)


@router.get(ADHOC_BASE + "/requests/{requestId}/data", response_model=None, responses=DATA_RESPONSES,
            operation_id="adhoc-requests-data")
async def get_adhoc_data(request: Request, requestId: str, _: ReadReports, workspace: WorkspaceDep,
                         ctx: ContextDep, page: PageQuery = None, pageSize: PageSizeQuery = None) -> Response:
    return await _data(request, ctx, workspace, None, requestId, page, pageSize)


@router.delete(ADHOC_BASE + "/requests/{requestId}", response_model=StatusDocument,
               responses={204: {"description": "Discarded."}}, operation_id="adhoc-requests-delete")
def delete_adhoc(requestId: str, _: WriteReports, workspace: WorkspaceDep, ctx: ContextDep) -> Response:
    return _delete(ctx, workspace, None, requestId)
