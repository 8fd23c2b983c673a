"""Online backup through the running server (system administrators): the server holds the DuckDB
file, so the copy is taken in its process (``callboard backup DIR`` calls this when a server runs;
see docs/deployment.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from callboard.api.deps import ContextDep, SystemAdmin
from callboard.api.errors import ERROR_RESPONSES
from callboard.service import backup
from callboard.service.errors import BadRequest

router = APIRouter(tags=["admin"], responses=ERROR_RESPONSES)


class BackupBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="Absolute path of a new or empty folder on the server's machine.")


@router.post("/admin/backup", operation_id="admin-backup", include_in_schema=False)
def create_backup(body: BackupBody, _: SystemAdmin, ctx: ContextDep) -> dict[str, Any]:
    """Write a consistent backup of the data folder to ``path`` while the server keeps running;
    answers with the backup's manifest once it is complete."""
    target = Path(body.path)
    if not target.is_absolute():
        raise BadRequest("path must be absolute (a folder on the server's machine).")
    return backup.create_backup(ctx.settings, target, warehouse=ctx.warehouse)
