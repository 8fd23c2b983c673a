"""Workspaces of the caller's tenant."""

from __future__ import annotations

from fastapi import APIRouter, status

from callboard.api.deps import SessionDep, TenantAdmin, TenantMember, WorkspaceDep
from callboard.api.errors import ERROR_RESPONSES
from callboard.service import tenancy
from callboard.service.schemas import ListOf, WorkspaceCreate, WorkspacePublic
from callboard.store.models import Workspace

router = APIRouter(tags=["workspaces"], responses=ERROR_RESPONSES)


def public(ws: Workspace) -> WorkspacePublic:
    return WorkspacePublic(id=ws.id, name=ws.name, timeZoneId=ws.time_zone)


@router.get("/workspaces", response_model=ListOf[WorkspacePublic], operation_id="workspaces-list")
def list_workspaces(principal: TenantMember, session: SessionDep) -> ListOf[WorkspacePublic]:
    """The workspaces this token can reach."""
    rows = tenancy.list_workspaces(session, principal)
    return ListOf[WorkspacePublic](data=[public(w) for w in rows], count=len(rows))


@router.post("/workspaces", response_model=WorkspacePublic, status_code=status.HTTP_201_CREATED,
             operation_id="workspaces-create", responses={409: ERROR_RESPONSES[400]})
def create_workspace(body: WorkspaceCreate, principal: TenantAdmin, session: SessionDep) -> WorkspacePublic:
    """Create a workspace (scope ``admin``); ``timeZoneId`` is the default of its reports."""
    assert principal.tenant_id is not None
    return public(tenancy.create_workspace(session, principal.tenant_id, body))


@router.get("/workspaces/{workspaceId}", response_model=WorkspacePublic, operation_id="workspaces-get")
def get_workspace(_: TenantMember, workspace: WorkspaceDep) -> WorkspacePublic:
    return public(workspace)
