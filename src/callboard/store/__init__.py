"""The metadata store: tenants, workspaces, saved reports, requests (the job queue) and tokens."""

from callboard.store.db import Database, make_engine
from callboard.store.migrations import upgrade
from callboard.store.models import (
    ApiToken,
    Base,
    ReportRequest,
    RequestStatus,
    SavedReport,
    Tenant,
    Workspace,
)
from callboard.store.urls import normalise_url

__all__ = [
    "ApiToken",
    "Base",
    "Database",
    "ReportRequest",
    "RequestStatus",
    "SavedReport",
    "Tenant",
    "Workspace",
    "make_engine",
    "normalise_url",
    "upgrade",
]
