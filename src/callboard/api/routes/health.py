"""Liveness: answers without a token."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from callboard.api.deps import ContextDep

router = APIRouter(tags=["health"])


@router.get("/health", operation_id="health")
def health(ctx: ContextDep) -> dict[str, str]:
    """200 when the metadata store answers."""
    with ctx.db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return {"status": "ok"}
