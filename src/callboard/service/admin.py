"""Administration used by the command line (``callboard tenant|workspace|token create``) and at
startup (the system administrator token of a fresh data folder).

Each function opens the metadata store of ``settings`` (running migrations), does one transaction
and returns plain strings, so the CLI needs no knowledge of the store.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select

from callboard.service import tenancy
from callboard.service.schemas import TokenCreate, WorkspaceCreate
from callboard.settings import Settings
from callboard.store.db import Database
from callboard.store.models import ApiToken, Tenant

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
    """Create a workspace in a tenant; returns its id (LookupError: no such tenant; ValueError: bad
    name or time zone, or a workspace of that name exists)."""
    body = _validated(WorkspaceCreate, name=name, timeZoneId=time_zone)
    db = open_store(settings)
    try:
        with db.session() as session:
            tenant = tenancy.get_tenant(session, tenant_id)
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
    """Issue a tenant token; returns the token itself (shown once, only its hash is stored)."""
    body = _validated(TokenCreate, scopes=list(scopes),
                      workspaces=list(workspaces) if workspaces is not None else None, expiresIn=expires_in)
    db = open_store(settings)
    try:
        with db.session() as session:
            tenant = tenancy.get_tenant(session, tenant_id)
            _, token = tenancy.issue_token(session, tenant, body)
            return token
    finally:
        db.dispose()


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
