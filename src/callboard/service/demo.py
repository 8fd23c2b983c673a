"""The demo organisation: a tenant, a workspace with a year of synthetic calls, and a fresh token."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

from callboard.generate import OrgConfig, generate_batches
from callboard.service import admin
from callboard.service.imports import open_warehouse
from callboard.settings import Settings

DEMO_TENANT = "Demo Organisation"
DEMO_WORKSPACE = "Head office"
DEMO_TIME_ZONE = "Europe/London"
DEMO_SEED = 2026
DEMO_SCOPES = ["reports:read", "reports:write", "calls:write", "admin",
               "spark-admin:reports_read", "spark-admin:reports_write", "identity:people_read"]


@dataclass(frozen=True)
class DemoInfo:
    tenant_name: str
    tenant_id: str
    workspace_id: str
    token: str
    segments: int


def prepare_demo(
    settings: Settings,
    *,
    users: int = 50,
    days: int = 365,
    progress: Callable[[int], None] | None = None,
) -> DemoInfo:
    """Create (once) the demo tenant and workspace, fill it with ``days`` of calls up to today, and
    issue a new token (tokens are shown only once, so every run prints a usable one)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    state_path = settings.data_dir / "demo.json"
    if state_path.exists():
        state = json.loads(state_path.read_text())
    else:
        tenant_id = admin.create_tenant(settings, DEMO_TENANT)
        workspace_id = admin.create_workspace(settings, tenant_id, DEMO_WORKSPACE, DEMO_TIME_ZONE)
        state = {"tenantId": tenant_id, "workspaceId": workspace_id}
        state_path.write_text(json.dumps(state))
    warehouse = open_warehouse(settings)
    try:
        if warehouse.count(state["workspaceId"]) == 0:
            config = OrgConfig(seed=DEMO_SEED, name=DEMO_TENANT, users=users, days=days,
                               start=dt.date.today() - dt.timedelta(days=days), time_zone=DEMO_TIME_ZONE)
            for batch in generate_batches(config):
                warehouse.append(state["workspaceId"], batch)
                if progress:
                    progress(batch.num_rows)
            warehouse.optimize()
        segments = warehouse.count(state["workspaceId"])
    finally:
        warehouse.close()
    token = admin.create_token(settings, state["tenantId"], DEMO_SCOPES, None, None)
    return DemoInfo(DEMO_TENANT, state["tenantId"], state["workspaceId"], token, segments)
