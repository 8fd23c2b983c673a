"""Webex-compatible Reports API under ``/v1`` (SPEC §4.2): the org family (``/report/templates``,
``/reports``) and the partner family (``/partner/reports...``), plus the signed download link.

Bodies are read as plain JSON and validated by the service, so a refusal names the template rule it
breaks (the way Webex answers) instead of a schema path. Errors use the shared error body. The models
below describe the bodies and answers in the OpenAPI document only: a create body is documented as
``WebexReportCreate`` / ``PartnerReportCreate`` (``OPENAPI_MODELS``, added to the document's components
by the app) while the route still receives it untouched.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Depends, Request, Response, status
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from callboard.api.deps import BEARER_SCHEME, ContextDep, DownloadLimit, bearer_token, requires
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


# ---- wire shapes (OpenAPI description) ----------------------------------------------------------
TemplateIdField = Annotated[
    int | Annotated[str, Field(pattern=r"^\s*\d+\s*$")],
    Field(description="The template's `Id` (`templateId` in the partner family): a number, or a numeric "
                      "string as the developer portal sends it. Required.", examples=[102]),
]
StartDateField = Annotated[date, Field(description="First day of data (`YYYY-MM-DD`, inclusive, a calendar date "
                                                   "between 1900-01-01 and 2999-12-31). Required.",
                                       examples=["2025-03-03"])]
EndDateField = Annotated[date, Field(description="Last day of data (`YYYY-MM-DD`, inclusive; not before "
                                                 "`startDate`; the range at most the template's `maxDays`). "
                                                 "Required.", examples=["2025-03-09"])]
TimeZoneField = Annotated[str, Field(description="IANA zone the days are read in (DST-correct).",
                                     examples=["Europe/London"])]
WorkspaceField = Annotated[str | None, Field(description="callboard extension: the workspace the report runs "
                                                         "on (default: the organisation's first workspace).")]


class _CreateBody(BaseModel):
    model_config = ConfigDict(extra="allow")  # unknown keys are ignored, as Webex does

    templateId: TemplateIdField
    startDate: StartDateField
    endDate: EndDateField
    timeZone: TimeZoneField = "UTC"
    workspaceId: WorkspaceField = None


class WebexReportCreate(_CreateBody):
    """Body of ``POST /v1/reports`` (Webex's create report)."""

    siteList: str = Field("", description="Accepted and echoed (Meetings templates need it on Webex).",
                          examples=["acme.webex.com"])


class PartnerReportCreate(_CreateBody):
    """Body of ``POST /v1/partner/reports``."""

    regionId: str = Field("US", pattern=r"^[A-Za-z0-9_-]{1,32}$",
                          description="Region code, accepted and echoed (upper-cased).", examples=["US"])


# The create bodies as the routes' OpenAPI request schemas; the app adds these models to the
# document's components (FastAPI only collects models it validates with).
OPENAPI_MODELS: tuple[type[BaseModel], ...] = (WebexReportCreate, PartnerReportCreate)


OrgCreateBody = Annotated[Any, Body(), WithJsonSchema({"$ref": "#/components/schemas/WebexReportCreate"})]
PartnerCreateBody = Annotated[Any, Body(), WithJsonSchema({"$ref": "#/components/schemas/PartnerReportCreate"})]


class WebexValidation(BaseModel):
    field: str
    required: str = Field(examples=["yes"])


class WebexTemplateItem(BaseModel):
    Id: int
    title: str
    service: str
    maxDays: int
    startDate: date | None = Field(description="First day (UTC) with calls; null without calls.")
    endDate: date | None = Field(description="Last day (UTC) with calls; null without calls.")
    identifier: str
    validations: list[WebexValidation]


class WebexTemplateList(BaseModel):
    items: list[WebexTemplateItem]
    numberOfTemplate: int


class PartnerTemplateItem(BaseModel):
    templateId: int
    title: str
    service: str
    category: str
    maxDays: int
    dataStartDate: date | None
    dataEndDate: date | None
    identifier: str
    validations: list[WebexValidation]


class PartnerTemplateList(BaseModel):
    items: list[PartnerTemplateItem]
    numberOfTemplates: int


ReportStatus = Literal["In progress", "done", "failed"]


class WebexReportItem(BaseModel):
    """An org-family report (the keys wxc_sdk's ``Report`` reads)."""

    Id: str
    title: str
    service: str
    startDate: date
    endDate: date
    siteList: str
    timeZone: str
    created: str = Field(description="`YYYY-MM-DD HH:MM:SS`, UTC.", examples=["2025-03-10 08:15:00"])
    createdBy: str
    scheduleFrom: str = Field(examples=["api"])
    status: ReportStatus
    downloadDomain: str
    downloadURL: str
    failureReason: str | None = Field(None, description="Only when `status` is `failed`.")


class WebexReportList(BaseModel):
    items: list[WebexReportItem]
    numberOfReports: int


class WebexReportRef(BaseModel):
    Id: str


class WebexReportCreated(BaseModel):
    items: WebexReportRef


class PartnerReportItem(BaseModel):
    reportId: str
    templateId: int
    title: str
    service: str
    startDate: date
    endDate: date
    regionId: str
    createdTime: str = Field(description="`YYYY-MM-DD HH:MM:SS`, UTC.", examples=["2025-03-10 08:15:00"])
    status: ReportStatus
    fileName: str
    fileSize: int = Field(description="Bytes of the download (0 until the file exists).")
    checksum: str = Field(description="SHA-256 hex of the download (empty until the file exists).")
    downloadURL: str
    downloadUrlExpiryTime: str = Field(description="Seconds the link stays valid.", examples=["3600"])
    failureReason: str | None = Field(None, description="Only when `status` is `failed`.")


class PartnerReportList(BaseModel):
    items: list[PartnerReportItem]
    numberOfReports: int


class PartnerReportCreated(BaseModel):
    reportId: str
    createdTime: str = Field(examples=["2025-03-10 08:15:00"])


def _answer(model: type[BaseModel], description: str = "Successful Response") -> dict[int | str, dict[str, Any]]:
    """Document the 200 answer as ``model`` (the route still returns its dict as built)."""
    return {200: {"model": model, "description": description}}


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
@router.get("/report/templates", operation_id="webex-templates-list", response_model=None,
            responses=_answer(WebexTemplateList))
def list_templates(principal: WebexRead, ctx: ContextDep) -> dict[str, Any]:
    """Every callboard template as a Webex template (stable ``Id``; data range of the organisation)."""
    with ctx.db.session() as session:
        items, start, end = service.templates_for(session, ctx.warehouse, principal)
    return {"items": [t.org_item(start, end) for t in items], "numberOfTemplate": len(items)}


@router.get("/reports", operation_id="webex-reports-list", response_model=None, responses=_answer(WebexReportList))
def list_reports(request: Request, response: Response, principal: WebexRead, ctx: ContextDep) -> dict[str, Any]:
    """Reports of the organisation, newest first; filters ``service``, ``templateId``, ``from``,
    ``to`` (creation dates), ``reportId``; ``max`` per page with a ``Link: rel="next"``."""
    rows, headers, links, _ = _list(request, ctx, principal, partner=False)
    response.headers.update(headers)
    return {"items": [service.org_item(r, links) for r in rows], "numberOfReports": len(rows)}


@router.post("/reports", operation_id="webex-reports-create", response_model=None,
             responses=_answer(WebexReportCreated))
def create_report(request: Request, body: OrgCreateBody, principal: WebexWrite, ctx: ContextDep) -> dict[str, Any]:
    """Create a report: ``templateId`` (number or numeric string), ``startDate``, ``endDate``
    (``YYYY-MM-DD``, inclusive), optional ``timeZone`` (IANA, default UTC), ``siteList``."""
    with ctx.db.session() as session:
        row = service.create_report(session, ctx.settings, principal, body, partner=False)
        rid = service.ids.report_id(row.id)
    return {"items": {"Id": rid}}


@router.get("/reports/{reportId}", operation_id="webex-reports-get", response_model=None,
            responses=_answer(WebexReportList))
def get_report(reportId: str, request: Request, principal: WebexRead, ctx: ContextDep) -> dict[str, Any]:
    """Details, wrapped as ``{"items": [report], "numberOfReports": 1}``; a fresh download link each time."""
    row, _ = _details(ctx, principal, reportId)
    return {"items": [service.org_item(row, _links(request, ctx))], "numberOfReports": 1}


@router.delete("/reports/{reportId}", status_code=204, response_class=Response, operation_id="webex-reports-delete")
def delete_report(reportId: str, principal: WebexWrite, ctx: ContextDep) -> Response:
    return _delete(ctx, principal, reportId)


@router.get("/reports/{reportId}/download", response_class=FileResponse, operation_id="webex-reports-download",
            responses={200: {"content": {"application/zip": {}}, "description": "The zipped CSV."}},
            # the signed link is the credential; a token may be sent (then it must be the organisation's)
            openapi_extra={"security": [{}, {BEARER_SCHEME: []}]})
def download(reportId: str, request: Request, ctx: ContextDep, _: DownloadLimit, expires: str | None = None,
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
@router.get("/partner/reports/templates", operation_id="webex-partner-templates-list", response_model=None,
            responses=_answer(PartnerTemplateList))
def partner_templates(principal: WebexRead, ctx: ContextDep) -> dict[str, Any]:
    with ctx.db.session() as session:
        items, start, end = service.templates_for(session, ctx.warehouse, principal)
    return {"items": [t.partner_item(start, end) for t in items], "numberOfTemplates": len(items)}


@router.get("/partner/reports", operation_id="webex-partner-reports-list", response_model=None,
            responses=_answer(PartnerReportList))
def partner_list(request: Request, response: Response, principal: WebexRead, ctx: ContextDep) -> dict[str, Any]:
    """Filters ``service``, ``templateId``, ``from``, ``to``, ``regionId`` (``onBehalfOfSubPartnerOrgId``
    is accepted and kept in the next link); ``max`` with ``Link: rel="next"``."""
    rows, headers, links, org = _list(request, ctx, principal, partner=True)
    response.headers.update(headers)
    return {"items": [service.partner_item(r, links, org) for r in rows], "numberOfReports": len(rows)}


@router.post("/partner/reports", operation_id="webex-partner-reports-create", response_model=None,
             responses=_answer(PartnerReportCreated))
def partner_create(body: PartnerCreateBody, principal: WebexWrite, ctx: ContextDep) -> dict[str, Any]:
    """``templateId``, ``startDate``, ``endDate`` (required), ``regionId`` → ``{reportId, createdTime}``."""
    with ctx.db.session() as session:
        row = service.create_report(session, ctx.settings, principal, body, partner=True)
        return {"reportId": service.ids.report_id(row.id),
                "createdTime": row.created_at.strftime("%Y-%m-%d %H:%M:%S")}


@router.get("/partner/reports/{reportId}", operation_id="webex-partner-reports-get", response_model=None,
            responses=_answer(PartnerReportItem))
def partner_get(reportId: str, request: Request, principal: WebexRead, ctx: ContextDep) -> dict[str, Any]:
    """Details with every seed-003 field; ``checksum`` is the SHA-256 hex of the downloaded bytes."""
    row, org = _details(ctx, principal, reportId)
    return service.partner_item(row, _links(request, ctx), org)


@router.delete("/partner/reports/{reportId}", status_code=204, response_class=Response,
               operation_id="webex-partner-reports-delete")
def partner_delete(reportId: str, principal: WebexWrite, ctx: ContextDep) -> Response:
    return _delete(ctx, principal, reportId)
