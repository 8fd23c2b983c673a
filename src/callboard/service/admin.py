"""Administration used by the command line (``callboard tenant|workspace|token create|list``,
``token revoke``) and at startup (the system administrator token of a fresh data folder).

Each function opens the metadata store of ``settings`` (running migrations), does one transaction
and returns plain strings or small frozen records, so the CLI needs no knowledge of the store.
Nothing here ever returns a token's secret after it was issued (only its hash is stored).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callboard.service import tenancy
from callboard.service.errors import NotFound
from callboard.service.schemas import TokenCreate, WorkspaceCreate
from callboard.settings import Settings
from callboard.store.db import Database
from callboard.store.models import ApiToken, Tenant, Workspace, utcnow

log = logging.getLogger("callboard.admin")


def open_store(settings: Settings) -> Database:
    """The metadata store of a deployment, migrated to the current schema."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Database(settings.metadata_url)


def create_tenant(settings: Settings, name: str) -> str:
    """Create a tenant; returns its id."""
    if not name or not name.strip():
        raise ValueError("a tenant needs a name")
    db = open_store(settings)
    try:
        with db.session() as session:
            return str(tenancy.create_tenant(session, name).id)
    finally:
        db.dispose()


def create_workspace(settings: Settings, tenant_id: str, name: str, time_zone: str = "UTC") -> str:
    """Create a workspace in a tenant (its id or unique name); returns its id (LookupError: no such
    tenant; ValueError: bad name or time zone, or a workspace of that name exists)."""
    body = _validated(WorkspaceCreate, name=name, timeZoneId=time_zone)
    db = open_store(settings)
    try:
        with db.session() as session:
            tenant = _find_tenant(session, tenant_id)
            return str(tenancy.create_workspace(session, tenant.id, body).id)
    finally:
        db.dispose()


def create_token(
    settings: Settings,
    tenant_id: str,
    scopes: Sequence[str],
    workspaces: Sequence[str] | None = None,
    expires_in: int | None = None,
) -> str:
    """Issue a token of a tenant (its id or unique name); returns the token itself (shown once, only
    its hash is stored)."""
    body = _validated(TokenCreate, scopes=list(scopes),
                      workspaces=list(workspaces) if workspaces is not None else None, expiresIn=expires_in)
    db = open_store(settings)
    try:
        with db.session() as session:
            tenant = _find_tenant(session, tenant_id)
            _, token = tenancy.issue_token(session, tenant, body)
            return token
    finally:
        db.dispose()


@dataclass(frozen=True)
class TenantInfo:
    id: str
    name: str
    created: datetime


@dataclass(frozen=True)
class WorkspaceInfo:
    id: str
    name: str
    tenant_id: str
    tenant_name: str
    time_zone: str
    created: datetime


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown of a token: never the token itself (only its hash is stored)."""

    id: str
    tenant_id: str | None  # None: a system administrator token
    tenant_name: str | None
    scopes: tuple[str, ...]
    workspaces: tuple[str, ...] | None  # None: every workspace of the tenant
    created: datetime
    expires: datetime | None

    def state(self, now: datetime | None = None) -> str:
        """``active``, or ``expired`` once its expiry (or revocation) time has passed."""
        now = now or utcnow()
        return "expired" if self.expires is not None and self.expires <= now else "active"


def list_tenants(settings: Settings) -> list[TenantInfo]:
    """Every tenant, oldest first."""
    db = open_store(settings)
    try:
        with db.session() as session:
            return [TenantInfo(str(t.id), t.name, t.created_at) for t in tenancy.list_tenants(session)]
    finally:
        db.dispose()


def list_workspaces(settings: Settings, tenant: str | None = None) -> list[WorkspaceInfo]:
    """Every workspace, or a tenant's (``tenant``: its id or unique name; LookupError if none)."""
    db = open_store(settings)
    try:
        with db.session() as session:
            q = select(Workspace, Tenant).join(Tenant, Workspace.tenant_id == Tenant.id)
            if tenant is not None:
                q = q.where(Workspace.tenant_id == _find_tenant(session, tenant).id)
            q = q.order_by(Tenant.created_at, Tenant.id, Workspace.created_at, Workspace.id)
            return [WorkspaceInfo(str(w.id), w.name, str(t.id), t.name, w.time_zone, w.created_at)
                    for w, t in session.execute(q).tuples()]
    finally:
        db.dispose()


def list_tokens(settings: Settings, tenant: str | None = None) -> list[TokenInfo]:
    """Every token (system administrator tokens included), or a tenant's; oldest first."""
    db = open_store(settings)
    try:
        with db.session() as session:
            q = select(ApiToken, Tenant).outerjoin(Tenant, ApiToken.tenant_id == Tenant.id)
            if tenant is not None:
                q = q.where(ApiToken.tenant_id == _find_tenant(session, tenant).id)
            q = q.order_by(ApiToken.created_at, ApiToken.id)
            return [_token_info(row, t) for row, t in session.execute(q).tuples()]
    finally:
        db.dispose()


def revoke_token(settings: Settings, token_id: str) -> tuple[TokenInfo, bool]:
    """Revoke a token at once: it expires now, so the API refuses it from the next request on, and
    it stays listed (expired) with the time it stopped working. Returns the token and whether this
    call revoked it (False: it had expired already; its expiry is kept). LookupError when no token
    has that id."""
    db = open_store(settings)
    try:
        with db.session() as session:
            row = session.get(ApiToken, tenancy.parse_id(token_id, "Token"))
            if row is None:
                raise NotFound(f"Token {token_id} not found.")
            now = utcnow()
            revoked = row.expires_at is None or row.expires_at > now
            if revoked:
                row.expires_at = now
            session.flush()
            tenant = session.get(Tenant, row.tenant_id) if row.tenant_id is not None else None
            return _token_info(row, tenant), revoked
    finally:
        db.dispose()


def _find_tenant(session: Session, text: str) -> Tenant:
    """A tenant by id, or by name when exactly one tenant has it."""
    try:
        tenant = session.get(Tenant, uuid.UUID(text))
    except ValueError:
        tenant = None
    if tenant is not None:
        return tenant
    named = list(session.scalars(select(Tenant).where(Tenant.name == text)))
    if len(named) != 1:
        reason = "no tenant has" if not named else f"{len(named)} tenants have"
        raise NotFound(f"--tenant {text!r}: {reason} that id or name (see `callboard tenant list`).")
    return named[0]


def _token_info(row: ApiToken, tenant: Tenant | None) -> TokenInfo:
    return TokenInfo(
        id=str(row.id),
        tenant_id=str(row.tenant_id) if row.tenant_id is not None else None,
        tenant_name=tenant.name if tenant is not None else None,
        scopes=tuple(row.scopes or ()),
        workspaces=tuple(row.workspaces) if row.workspaces is not None else None,
        created=row.created_at,
        expires=row.expires_at,
    )


def bootstrap_admin_token(db: Database, settings: Settings) -> str | None:
    """On the first start of an empty store without ``CALLBOARD_ADMIN_TOKEN``, create a system
    administrator token and return it (the caller prints it once); otherwise None."""
    if settings.admin_token:
        return None
    with db.session() as session:
        tenants = session.scalar(select(func.count()).select_from(Tenant))
        tokens = session.scalar(select(func.count()).select_from(ApiToken))
        if tenants or tokens:
            return None
        return tenancy.issue_system_token(session)


_Model = TypeVar("_Model", bound=BaseModel)


def _validated(model: type[_Model], **values: object) -> _Model:
    try:
        return model(**values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ValueError(problems) from None
