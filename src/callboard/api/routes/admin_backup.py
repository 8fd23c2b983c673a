"""Online backup through the running server (system administrators): the server holds the DuckDB
file, so the copy is taken in its process (``callboard backup DIR`` calls this when a server runs;
see docs/deployment.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from callboard.api.deps import ContextDep, SystemAdmin
from callboard.api.errors import ERROR_RESPONSES
from callboard.service import backup
from callboard.service.errors import BadRequest, Forbidden

router = APIRouter(tags=["admin"], responses=ERROR_RESPONSES)


class BackupBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
                      description="Name of the new backup folder, made inside the server's CALLBOARD_BACKUP_DIR.")


@router.post("/admin/backup", operation_id="admin-backup", include_in_schema=False)
def create_backup(body: BackupBody, _: SystemAdmin, ctx: ContextDep) -> dict[str, Any]:
    """Write a consistent backup of the data folder to ``name`` inside the server's backup folder
    while the server keeps running; answers with the backup's manifest once it is complete. The
    server writes nowhere else: without ``CALLBOARD_BACKUP_DIR`` it takes no backups at all."""
    folder = ctx.settings.backup_dir
    if folder is None:
        raise Forbidden("Online backups are off on this server: set CALLBOARD_BACKUP_DIR (a folder outside the "
                        "data folder) and restart it.")
    target = folder / body.name
    try:
        return {**backup.create_backup(ctx.settings, target, warehouse=ctx.warehouse), "backupPath": str(target)}
    except OSError as exc:  # the disk's answer (full, read-only, permissions) is the caller's to fix
        raise BadRequest(f"name: the backup could not be written to {folder / body.name}: "
                         f"{exc.strerror or exc}.", [{"description": str(exc), "field": "name"}]) from None
