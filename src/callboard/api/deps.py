"""``Annotated`` dependencies: the store session, the caller, scope checks, and path objects.

Scope checks are reusable: ``Depends(requires("reports:read"))`` or, for alternatives,
``requires("analytics:read_all", ("spark-admin:reports_read", "identity:people_read"))`` — each
argument is one way to qualify (a tuple means all of its scopes). The Webex routes use the same
function with the Webex scope names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from callboard.api.context import AppContext
from callboard.service import saved_reports, tenancy
from callboard.service.auth import (
    ADMIN,
    READ_REPORTS,
    WRITE_CALLS,
    WRITE_REPORTS,
    Alternative,
    Principal,
    authenticate,
)
from callboard.service.errors import Forbidden, TooManyRequests, Unauthorized
from callboard.service.local_server import local_principal
from callboard.service.rate_limits import client_key
from callboard.store.models import SavedReport, Workspace


def get_context(request: Request) -> AppContext:
    return request.app.state.ctx


ContextDep = Annotated[AppContext, Depends(get_context)]


def get_session(ctx: ContextDep) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent."""
    with ctx.db.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def bearer_token(request: Request) -> str | None:
    """The bearer token; the British ``Authorisation`` spelling of the seed's examples works too."""
    header = request.headers.get("authorization") or request.headers.get("authorisation") or ""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


# Declares the bearer scheme in the OpenAPI description (Swagger's "Authorize" button, and the header
# "Try it out" sends) on every operation that authenticates. It never answers by itself
# (``auto_error=False``): ``current_principal`` reads the header, so the ``Authorisation`` spelling
# and the error answers stay as they are.
BEARER_SCHEME = "bearerAuth"
bearer_security = HTTPBearer(
    scheme_name=BEARER_SCHEME,
    description="A callboard token (`cb_…`, from `callboard token create` or `POST /api/v1.0/tenants/{tenantId}/"
    "tokens`), or the system administrator token.",
    auto_error=False,
)
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_security)]


def client_key_of(request: Request) -> str:
    """The caller's address as the rate limits key it: the connecting host as the ASGI server reports
    it (uvicorn, as ``callboard serve`` runs it, puts the ``X-Forwarded-For`` address of a trusted
    proxy there: ``FORWARDED_ALLOW_IPS``, by default 127.0.0.1 and ::1)."""
    return client_key(request.client.host if request.client else None)


def current_principal(request: Request, ctx: ContextDep, _: BearerCredentials) -> Principal:
    """Authenticate (401 on a missing, unknown or expired token) and count against the rate limit.

    A failed authentication also counts against the client address
    (``CALLBOARD_CLIENT_RATE_LIMIT_PER_MINUTE``); an address over that limit is answered 429 before
    its token is looked up, so guessing tokens (or flooding the store with lookups) goes nowhere.
    """
    failures, rate = "auth-failures:" + client_key_of(request), ctx.settings.client_rate_limit_per_minute
    if wait := ctx.limiter.retry_after(failures, rate):
        raise TooManyRequests(wait)
    token = bearer_token(request)
    try:
        with ctx.db.session() as session:
            # the local credential of ``callboard serve`` (data-folder owner's CLI), else a stored token
            principal = (local_principal(session, getattr(request.app.state, "local_credential", None), token,
                                         request.path_params.get("workspaceId"))
                         or authenticate(session, token, admin_token=ctx.settings.admin_token))
    except Unauthorized:
        ctx.limiter.hit(failures, rate)
        raise
    ctx.limiter.hit(principal.rate_key)
    request.state.principal = principal
    return principal


def limit_download(request: Request, ctx: ContextDep) -> None:
    """Count a download-link request against its client address (429 with ``Retry-After`` over
    ``CALLBOARD_CLIENT_RATE_LIMIT_PER_MINUTE``): the signed link needs no token, so the per-token
    limit cannot hold it. A route opts in with a ``_: DownloadLimit`` parameter."""
    ctx.limiter.hit("downloads:" + client_key_of(request), ctx.settings.client_rate_limit_per_minute)


DownloadLimit = Annotated[None, Depends(limit_download)]


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def requires(*alternatives: Alternative) -> Callable[[Principal], Principal]:
    """A dependency that lets through tenant tokens holding one of ``alternatives`` (else 403)."""

    def check(principal: CurrentPrincipal) -> Principal:
        principal.require(*alternatives)
        return principal

    check.__name__ = "requires_" + "_or_".join(a if isinstance(a, str) else "+".join(a) for a in alternatives)
    return check


def system_admin(principal: CurrentPrincipal) -> Principal:
    if not principal.is_system:
        raise Forbidden("Only a system administrator token can manage tenants.")
    return principal


def tenant_member(principal: CurrentPrincipal) -> Principal:
    """Any tenant token, whatever its scopes (reading workspaces and the template catalogue)."""
    if principal.tenant_id is None:
        raise Forbidden("A system administrator token can only manage tenants and their tokens.")
    return principal


ReadReports = Annotated[Principal, Depends(requires(READ_REPORTS))]
WriteReports = Annotated[Principal, Depends(requires(WRITE_REPORTS))]
WriteCalls = Annotated[Principal, Depends(requires(WRITE_CALLS))]
TenantAdmin = Annotated[Principal, Depends(requires(ADMIN))]
TenantMember = Annotated[Principal, Depends(tenant_member)]
SystemAdmin = Annotated[Principal, Depends(system_admin)]


def path_workspace(workspaceId: str, principal: CurrentPrincipal, ctx: ContextDep) -> Workspace:
    """The workspace named in the path, if the caller's tenant (and restriction) includes it."""
    with ctx.db.session() as session:
        return tenancy.get_workspace(session, principal, workspaceId)


WorkspaceDep = Annotated[Workspace, Depends(path_workspace)]


def path_report(reportId: str, workspace: WorkspaceDep, ctx: ContextDep) -> SavedReport:
    with ctx.db.session() as session:
        return saved_reports.get_report(session, workspace, reportId)


ReportDep = Annotated[SavedReport, Depends(path_report)]
