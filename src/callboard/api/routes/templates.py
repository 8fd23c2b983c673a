"""The template and field catalogue."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from callboard.api.deps import TenantMember
from callboard.api.errors import ERROR_RESPONSES
from callboard.reports.templates import catalogue

router = APIRouter(tags=["templates"], responses=ERROR_RESPONSES)


@router.get("/templates", operation_id="templates-list")
def list_templates(_: TenantMember) -> Any:
    """Every report template with its fields (name, type, title, additive, default display)."""
    return catalogue()
