"""Saved reports of a workspace."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from callboard.api.deps import ContextDep, ReadReports, ReportDep, SessionDep, WorkspaceDep, WriteReports
from callboard.api.errors import ERROR_RESPONSES
from callboard.service import saved_reports
from callboard.service.schemas import ListOf, ReportCreate, ReportPublic, ReportUpdate

router = APIRouter(tags=["reports"], responses=ERROR_RESPONSES)
BASE = "/workspaces/{workspaceId}/reports"


@router.get(BASE, response_model=ListOf[ReportPublic], operation_id="reports-list")
def list_reports(_: ReadReports, workspace: WorkspaceDep, session: SessionDep) -> ListOf[ReportPublic]:
    rows = saved_reports.list_reports(session, workspace)
    return ListOf[ReportPublic](data=[saved_reports.public(r) for r in rows], count=len(rows))


@router.post(BASE, response_model=ReportPublic, status_code=status.HTTP_201_CREATED,
             operation_id="reports-create")
def create_report(body: ReportCreate, _: WriteReports, workspace: WorkspaceDep, session: SessionDep,
                  ctx: ContextDep) -> ReportPublic:
    """Save a report; its ``defaults`` must form a valid request (checked now, 400 if not)."""
    return saved_reports.public(saved_reports.create_report(session, ctx.settings, workspace, body))


@router.get(BASE + "/{reportId}", response_model=ReportPublic, operation_id="reports-get")
def get_report(_: ReadReports, report: ReportDep) -> ReportPublic:
    return saved_reports.public(report)


@router.put(BASE + "/{reportId}", response_model=ReportPublic, operation_id="reports-update")
def update_report(reportId: str, body: ReportUpdate, _: WriteReports, workspace: WorkspaceDep,
                  session: SessionDep, ctx: ContextDep) -> ReportPublic:
    """Change a saved report: given fields replace the stored ones."""
    return saved_reports.public(saved_reports.update_report(session, ctx.settings, workspace, reportId, body))


@router.delete(BASE + "/{reportId}", status_code=status.HTTP_204_NO_CONTENT, operation_id="reports-delete",
               response_class=Response)
def delete_report(reportId: str, _: WriteReports, workspace: WorkspaceDep, ctx: ContextDep) -> Response:
    """Delete a saved report with its requests and results."""
    with ctx.db.session() as session:
        files = saved_reports.delete_report(session, workspace, reportId)
    for f in files:
        f.unlink(missing_ok=True)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
