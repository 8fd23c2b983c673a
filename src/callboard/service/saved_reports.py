"""Saved reports of a workspace: a name, a template and the request fields every run starts from."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from callboard.service import resolve
from callboard.service.errors import BadRequest, NotFound
from callboard.service.schemas import ReportCreate, ReportPublic, ReportUpdate
from callboard.service.tenancy import parse_id
from callboard.settings import Settings
from callboard.store.models import ReportRequest, SavedReport, Workspace


def public(report: SavedReport) -> ReportPublic:
    return ReportPublic(id=report.id, name=report.name, reportTemplateName=report.template,
                        defaults=report.defaults or {})


def _validate(settings: Settings, workspace: Workspace, template: str, defaults: dict) -> None:
    """Refuse a saved report that could never run: its defaults must resolve now, as a request would."""
    named = defaults.get("reportTemplateName") if isinstance(defaults, dict) else None
    if named is not None and named != template:
        raise BadRequest(
            f"defaults.reportTemplateName {named!r} contradicts reportTemplateName {template!r}.",
            [{"description": "Leave reportTemplateName out of defaults, or make the two agree.",
              "field": "defaults.reportTemplateName"}],
        )
    resolve.resolve(settings, workspace, {}, report=SavedReport(template=template, defaults=defaults))


def list_reports(session: Session, workspace: Workspace) -> list[SavedReport]:
    q = select(SavedReport).where(SavedReport.workspace_id == workspace.id)
    return list(session.scalars(q.order_by(SavedReport.created_at, SavedReport.id)))


def get_report(session: Session, workspace: Workspace, report_id: str | uuid.UUID) -> SavedReport:
    rid = parse_id(report_id, "Report")
    report = session.get(SavedReport, rid)
    if report is None or report.workspace_id != workspace.id:
        raise NotFound(f"Report {report_id} not found.")
    return report


def create_report(session: Session, settings: Settings, workspace: Workspace, body: ReportCreate) -> SavedReport:
    _validate(settings, workspace, body.reportTemplateName, body.defaults)
    report = SavedReport(workspace_id=workspace.id, name=body.name, template=body.reportTemplateName,
                         defaults=body.defaults)
    session.add(report)
    session.flush()
    return report


def update_report(
    session: Session, settings: Settings, workspace: Workspace, report_id: str, body: ReportUpdate
) -> SavedReport:
    """PUT: the given fields replace the stored ones (``defaults`` as a whole)."""
    report = get_report(session, workspace, report_id)
    template = body.reportTemplateName or report.template
    defaults = body.defaults if body.defaults is not None else (report.defaults or {})
    _validate(settings, workspace, template, defaults)
    if body.name is not None:
        report.name = body.name
    report.template = template
    report.defaults = defaults
    session.flush()
    return report


def delete_report(session: Session, workspace: Workspace, report_id: str) -> list[Path]:
    """Delete a saved report and its requests; returns the snapshot files to remove after commit."""
    report = get_report(session, workspace, report_id)
    requests = list(session.scalars(select(ReportRequest).where(ReportRequest.report_id == report.id)))
    files = [Path(r.snapshot_path) for r in requests if r.snapshot_path]
    for r in requests:
        session.delete(r)
    session.delete(report)
    session.flush()
    return files
