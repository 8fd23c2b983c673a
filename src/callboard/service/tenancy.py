"""Tenants, workspaces and tokens: who may see what.

Every lookup of a tenant-owned object goes through a function here that filters by the caller's
tenant (and workspace restriction) in the query itself, so an object of another tenant is
indistinguishable from one that does not exist (404, never 403).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from callboard.reports import dates
from callboard.service.auth import SYSTEM_SCOPE, Principal, check_scopes, hash_token, new_token
from callboard.service.errors import BadRequest, Conflict, Forbidden, NotFound
from callboard.service.schemas import TokenCreate, WorkspaceCreate
from callboard.store.models import ApiToken, Tenant, Workspace, utcnow


def parse_id(value: str | uuid.UUID, what: str) -> uuid.UUID:
    """A path id: anything that is not a UUID names nothing, so it is simply not found."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(f"{what} {value!r} not found.") from None


def check_time_zone(name: object, field: str = "timeZoneId") -> str:
    """The IANA zone name ``name`` as stored (blanks trimmed), or a 400 naming ``field`` and the fix.

    Every zone name from outside (workspaces, ingest ``?timeZone=``, Webex ``timeZone``, the CLI) is
    checked here, through the one loader the report periods use (:func:`dates.load_zone`).
    """
    try:
        return dates.load_zone(name, field).key
    except dates.DateFilterError as exc:
        errors: list[dict[str, Any]] = [{"description": str(exc), "field": field}]
        if exc.choices:
            errors.append({"description": f"Did you mean: {', '.join(exc.choices)}?", "field": field})
        raise BadRequest(f"Bad {field}: {exc}.", errors) from None


# ---- tenants ------------------------------------------------------------------------------------
def create_tenant(session: Session, name: str) -> Tenant:
    tenant = Tenant(name=name.strip())
    session.add(tenant)
    session.flush()
    return tenant


def list_tenants(session: Session) -> list[Tenant]:
    return list(session.scalars(select(Tenant).order_by(Tenant.created_at, Tenant.id)))


def get_tenant(session: Session, tenant_id: str | uuid.UUID) -> Tenant:
    tid = parse_id(tenant_id, "Tenant")
    tenant = session.get(Tenant, tid)
    if tenant is None:
        raise NotFound(f"Tenant {tenant_id} not found.")
    return tenant


def tenant_for_admin(session: Session, principal: Principal, tenant_id: str) -> Tenant:
    """The tenant a token-management call is about: any for a system administrator, only its own
    for a tenant token with ``admin`` (another tenant's id is answered 404, as if absent)."""
    if principal.is_system:
        return get_tenant(session, tenant_id)
    tid = parse_id(tenant_id, "Tenant")
    if principal.tenant_id != tid:
        raise NotFound(f"Tenant {tenant_id} not found.")
    principal.require("admin")
    return get_tenant(session, tid)


# ---- tokens -------------------------------------------------------------------------------------
def issue_token(
    session: Session, tenant: Tenant, body: TokenCreate, *, creator: Principal | None = None
) -> tuple[ApiToken, str]:
    """A new tenant token; returns the row and the plaintext, which is never stored."""
    scopes = check_scopes(body.scopes)
    workspaces: list[str] | None = None
    if body.workspaces is not None:
        ids: list[uuid.UUID] = []
        for w in body.workspaces:
            try:
                ids.append(uuid.UUID(w))
            except ValueError:
                raise BadRequest(f"Workspace id {w!r} is not a UUID.") from None
        found = set(session.scalars(
            select(Workspace.id).where(Workspace.tenant_id == tenant.id, Workspace.id.in_(ids))
        ))
        missing = [str(i) for i in ids if i not in found]
        if missing:
            raise BadRequest(f"Unknown workspace(s) of this tenant: {', '.join(missing)}.")
        if creator is not None and creator.workspaces is not None and not set(ids) <= creator.workspaces:
            raise Forbidden("A token restricted to some workspaces cannot grant access to others.")
        workspaces = [str(i) for i in dict.fromkeys(ids)]
    elif creator is not None and creator.workspaces is not None:
        # A restricted admin hands on at most its own restriction.
        workspaces = sorted(str(w) for w in creator.workspaces)
    token = new_token()
    row = ApiToken(
        tenant_id=tenant.id,
        token_hash=hash_token(token),
        scopes=scopes,
        workspaces=workspaces,
        is_system=False,
        expires_at=utcnow() + timedelta(seconds=body.expiresIn) if body.expiresIn else None,
    )
    session.add(row)
    session.flush()
    return row, token


def issue_system_token(session: Session) -> str:
    """A system-administrator token (no tenant): manages tenants and their tokens only."""
    token = new_token()
    session.add(ApiToken(tenant_id=None, token_hash=hash_token(token), scopes=[SYSTEM_SCOPE], is_system=True))
    session.flush()
    return token


# ---- workspaces ---------------------------------------------------------------------------------
def list_workspaces(session: Session, principal: Principal) -> list[Workspace]:
    q = select(Workspace).where(Workspace.tenant_id == principal.tenant_id)
    if principal.workspaces is not None:
        q = q.where(Workspace.id.in_(list(principal.workspaces)))
    return list(session.scalars(q.order_by(Workspace.created_at, Workspace.id)))


def get_workspace(session: Session, principal: Principal, workspace_id: str | uuid.UUID) -> Workspace:
    wid = parse_id(workspace_id, "Workspace")
    ws = session.get(Workspace, wid)
    if ws is None or ws.tenant_id != principal.tenant_id or not principal.sees_workspace(wid):
        raise NotFound(f"Workspace {workspace_id} not found.")
    return ws


def create_workspace(session: Session, tenant_id: uuid.UUID, body: WorkspaceCreate) -> Workspace:
    ws = Workspace(tenant_id=tenant_id, name=body.name, time_zone=check_time_zone(body.timeZoneId))
    try:
        with session.begin_nested():
            session.add(ws)
            session.flush()
    except IntegrityError:
        raise Conflict(f"A workspace named {body.name!r} already exists in this tenant.") from None
    return ws

