"""Tenants and their tokens (system administrators; a tenant ``admin`` token for its own tokens)."""

from __future__ import annotations

from fastapi import APIRouter, status

from callboard.api.deps import CurrentPrincipal, SessionDep, SystemAdmin
from callboard.api.errors import ERROR_RESPONSES
from callboard.service import tenancy
from callboard.service.schemas import ListOf, TenantCreate, TenantPublic, TokenCreate, TokenPublic

router = APIRouter(tags=["tenants"], responses=ERROR_RESPONSES)


@router.get("/tenants", response_model=ListOf[TenantPublic], operation_id="tenants-list")
def list_tenants(_: SystemAdmin, session: SessionDep) -> ListOf[TenantPublic]:
    """Every tenant (system administrator only)."""
    rows = tenancy.list_tenants(session)
    return ListOf[TenantPublic](data=[TenantPublic(id=t.id, name=t.name) for t in rows], count=len(rows))


@router.post("/tenants", response_model=TenantPublic, status_code=status.HTTP_201_CREATED,
             operation_id="tenants-create")
def create_tenant(body: TenantCreate, _: SystemAdmin, session: SessionDep) -> TenantPublic:
    """Create a tenant (system administrator only)."""
    tenant = tenancy.create_tenant(session, body.name)
    return TenantPublic(id=tenant.id, name=tenant.name)


@router.post("/tenants/{tenantId}/tokens", response_model=TokenPublic, status_code=status.HTTP_201_CREATED,
             operation_id="tokens-create")
def create_token(tenantId: str, body: TokenCreate, principal: CurrentPrincipal,
                 session: SessionDep) -> TokenPublic:
    """Issue a token for a tenant. The token is in this answer only; just its hash is stored."""
    tenant = tenancy.tenant_for_admin(session, principal, tenantId)
    row, token = tenancy.issue_token(session, tenant, body, creator=None if principal.is_system else principal)
    return TokenPublic(id=row.id, token=token, scopes=row.scopes, workspaces=row.workspaces,
                       expiresAt=row.expires_at)
