"""Webex-compatible Reports API under ``/v1`` (SPEC §4.2): the org family (``/report/templates``,
``/reports``) and the partner family (``/partner/reports...``), plus the signed download link.

Bodies are read as plain JSON and validated by the service, so a refusal names the template rule it
breaks (the way Webex answers) instead of a schema path. Errors use the shared error body.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Depends, Request, Response, status
from fastapi.responses import FileResponse

from callboard.api.deps import ContextDep, bearer_token, requires
from callboard.api.errors import ERROR_RESPONSES
from callboard.api.urls import absolute_url
from callboard.service.auth import (
    READ_REPORTS,
    WEBEX_ANALYTICS_READ,
    WEBEX_PEOPLE_READ,
    WEBEX_REPORTS_READ,
    WEBEX_REPORTS_WRITE,
    WRITE_REPORTS,
    Principal,
    authenticate,
)
from callboard.webex import service
from callboard.webex.models import WebexReport

PREFIX = "/v1"
router = APIRouter(prefix=PREFIX, tags=["webex"], responses={
    **ERROR_RESPONSES,
    410: {"description": "Download link expired."},
    423: {"description": "Report not ready yet; see Retry-After."},
})

WebexRead = Annotated[Principal, Depends(requires(
    READ_REPORTS, WEBEX_ANALYTICS_READ, (WEBEX_REPORTS_READ, WEBEX_PEOPLE_READ)))]
WebexWrite = Annotated[Principal, Depends(requires(WRITE_REPORTS, (WEBEX_REPORTS_WRITE, WEBEX_PEOPLE_READ)))]
JsonBody = Annotated[Any, Body()]


def _links(request: Request, ctx: ContextDep) -> service.Links:
    base = absolute_url(request, ctx.settings, "").rstrip("/")
    return service.Links(base, service.signer_for(ctx.settings), ctx.settings.download_url_expiry_seconds)


def _next_link(request: Request, ctx: ContextDep, cursor: str | None, size: int) -> dict[str, str]:
    """``Link: <…>; rel="next"`` repeating every query parameter of this call (filters, ``max``)."""
    if cursor is None:
        return {}
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("cursor", "max")]
    params += [("max", str(size)), ("cursor", cursor)]
    url = absolute_url(request, ctx.settings, request.url.path, urlencode(params))
    return {"Link": f'<{url}>; rel="next"'}


def _list(request: Request, ctx: ContextDep, principal: Principal, *, partner: bool
          ) -> tuple[list[WebexReport], dict[str, str], service.Links, str]:
    params = request.query_params
    filters = service.parse_filters(params, partner=partner)
    size = service.page_size(params.get("max"))
    with ctx.db.session() as session:
        rows, cursor = service.list_reports(session, principal, filters, size, params.get("cursor"))
        for r in rows:
            session.expunge(r)
        org = service.org_name(session, principal.tenant_id) if principal.tenant_id else "Org"
    rows = service.refresh(ctx.db, ctx.settings, rows)
    return rows, _next_link(request, ctx, cursor, size), _links(request, ctx), org


def _details(ctx: ContextDep, principal: Principal, report_id: str) -> tuple[WebexReport, str]:
    with ctx.db.session() as session:
        row = service.get_report(session, principal, report_id)
    service.ensure_rendered(ctx.db, ctx.settings, row.id)
    with ctx.db.session() as session:
        row = service.get_report(session, principal, report_id)
        session.expunge(row)
        return row, service.org_name(session, row.tenant_id)


def _delete(ctx: ContextDep, principal: Principal, report_id: str) -> Response:
    with ctx.db.session() as session:
        files = service.delete_report(session, principal, report_id)
    for f in files:
        f.unlink(missing_ok=True)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---- org family ---------------------------------------------------------------------------------
@router.get("/report/templates", operation_id="webex-templates-list")
def list_templates(principal: WebexRead, ctx: ContextDep) -> dict[str, Any]:
    """Every callboard template as a Webex template (stable ``Id``; data range of the organisation)."""
    with ctx.db.session() as session:
        items, start, end = service.templates_for(session, ctx.warehouse, principal)
    return {"items": [t.org_item(start, end) for t in items], "numberOfTemplate": len(items)}


@router.get("/reports", operation_id="webex-reports-list")
def list_reports(request: Request, response: Response, principal: WebexRead, ctx: ContextDep) -> dict[str, Any]:
    """Reports of the organisation, newest first; filters ``service``, ``templateId``, ``from``,
    ``to`` (creation dates), ``reportId``; ``max`` per page with a ``Link: rel="next"``."""
    rows, headers, links, _ = _list(request, ctx, principal, partner=False)
    response.headers.update(headers)
    return {"items": [service.org_item(r, links) for r in rows], "numberOfReports": len(rows)}


@router.post("/reports", operation_id="webex-reports-create")
def create_report(request: Request, body: JsonBody, principal: WebexWrite, ctx: ContextDep) -> dict[str, Any]:
    """Create a report: ``templateId`` (number or numeric string), ``startDate``, ``endDate``
    (``YYYY-MM-DD``, inclusive), optional ``timeZone`` (IANA, default UTC), ``siteList``."""
    with ctx.db.session() as session:
        row = service.create_report(session, ctx.settings, principal, body, partner=False)
        rid = service.ids.report_id(row.id)
    return {"items": {"Id": rid}}


@router.get("/reports/{reportId}", operation_id="webex-reports-get")
def get_report(reportId: str, request: Request, principal: WebexRead, ctx: ContextDep) -> dict[str, Any]:
    """Details, wrapped as ``{"items": [report], "numberOfReports": 1}``; a fresh download link each time."""
    row, _ = _details(ctx, principal, reportId)
    return {"items": [service.org_item(row, _links(request, ctx))], "numberOfReports": 1}


@router.delete("/reports/{reportId}", status_code=204, response_class=Response, operation_id="webex-reports-delete")
def delete_report(reportId: str, principal: WebexWrite, ctx: ContextDep) -> Response:
    return _delete(ctx, principal, reportId)


@router.get("/reports/{reportId}/download", response_class=FileResponse, operation_id="webex-reports-download",
            responses={200: {"content": {"application/zip": {}}, "description": "The zipped CSV."}})
def download(reportId: str, request: Request, ctx: ContextDep, expires: str | None = None,
             signature: str | None = None) -> FileResponse:
    """The report file behind a signed link (no token needed; a token sent must be the organisation's)."""
    principal = None
    token = bearer_token(request)
    if token is not None or request.headers.get("authorization"):
        with ctx.db.session() as session:
            principal = authenticate(session, token, admin_token=ctx.settings.admin_token)
        ctx.limiter.hit(principal.rate_key)
    found = service.resolve_download(ctx.db, ctx.settings, reportId, expires, signature, principal)
    stem = found.file_name.removesuffix(".csv")
    return FileResponse(
        found.path,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{_ascii(stem)}.zip"',
            "ETag": f'"{found.checksum}"',
            "X-Checksum-SHA256": found.checksum,
            "Cache-Control": "private, no-store",
        },
    )


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii").replace('"', "_")


# ---- partner family -----------------------------------------------------------------------------
@router.get("/partner/reports/templates", operation_id="webex-partner-templates-list")
def partner_templates(principal: WebexRead, ctx: ContextDep) -> dict[str, Any]:
    with ctx.db.session() as session:
        items, start, end = service.templates_for(session, ctx.warehouse, principal)
    return {"items": [t.partner_item(start, end) for t in items], "numberOfTemplates": len(items)}


@router.get("/partner/reports", operation_id="webex-partner-reports-list")
def partner_list(request: Request, response: Response, principal: WebexRead, ctx: ContextDep) -> dict[str, Any]:
    """Filters ``service``, ``templateId``, ``from``, ``to``, ``regionId`` (``onBehalfOfSubPartnerOrgId``
    is accepted and kept in the next link); ``max`` with ``Link: rel="next"``."""
    rows, headers, links, org = _list(request, ctx, principal, partner=True)
    response.headers.update(headers)
    return {"items": [service.partner_item(r, links, org) for r in rows], "numberOfReports": len(rows)}


@router.post("/partner/reports", operation_id="webex-partner-reports-create")
def partner_create(body: JsonBody, principal: WebexWrite, ctx: ContextDep) -> dict[str, Any]:
    """``templateId``, ``startDate``, ``endDate`` (required), ``regionId`` → ``{reportId, createdTime}``."""
    with ctx.db.session() as session:
        row = service.create_report(session, ctx.settings, principal, body, partner=True)
        return {"reportId": service.ids.report_id(row.id),
                "createdTime": row.created_at.strftime("%Y-%m-%d %H:%M:%S")}


@router.get("/partner/reports/{reportId}", operation_id="webex-partner-reports-get")
def partner_get(reportId: str, request: Request, principal: WebexRead, ctx: ContextDep) -> dict[str, Any]:
    """Details with every seed-003 field; ``checksum`` is the SHA-256 hex of the downloaded bytes."""
    row, org = _details(ctx, principal, reportId)
    return service.partner_item(row, _links(request, ctx), org)


@router.delete("/partner/reports/{reportId}", status_code=204, response_class=Response,
               operation_id="webex-partner-reports-delete")
def partner_delete(reportId: str, principal: WebexWrite, ctx: ContextDep) -> Response:
    return _delete(ctx, principal, reportId)
