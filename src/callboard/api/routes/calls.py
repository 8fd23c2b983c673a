"""Ingest: POST call records into a workspace."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from callboard.api.deps import ContextDep, WorkspaceDep, WriteCalls
from callboard.api.errors import ERROR_RESPONSES
from callboard.service import calls as svc
from callboard.service.schemas import ErrorBody, IngestResult

router = APIRouter(tags=["calls"], responses=ERROR_RESPONSES)

_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            "application/x-ndjson": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.post("/workspaces/{workspaceId}/calls", response_model=IngestResult, operation_id="calls-ingest",
             openapi_extra=_BODY_DOC,
             responses={422: {"model": ErrorBody, "description": "Bad rows (row, field, reason); nothing stored."}})
async def ingest_calls(
    request: Request,
    _: WriteCalls,
    workspace: WorkspaceDep,
    ctx: ContextDep,
    fmt: Annotated[str, Query(alias="format", description="canonical (default), asterisk, freeswitch, webex, "
                                                          "3cx, cucm; or json/ndjson/csv/parquet")] = "canonical",
    timeZone: Annotated[str | None, Query(description="Zone of times written without an offset.")] = None,
    encoding: Annotated[str | None, Query(description="Canonical encoding when the content type is generic.")]
    = None,
) -> IngestResult:
    """Store a batch of call records atomically: every row, or (400/422, listing the bad rows) none.
    Rows whose ``docId`` is already stored count as duplicates and are not stored again."""
    body = await request.body()
    result = await run_in_threadpool(
        svc.ingest, ctx.warehouse, workspace, body, fmt=fmt, time_zone=timeZone,
        content_type=request.headers.get("content-type"), encoding=encoding,
    )
    return IngestResult(**result.as_dict())
