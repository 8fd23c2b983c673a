"""The template and field catalogue."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from callboard.api.deps import TenantMember
from callboard.api.errors import ERROR_RESPONSES
from callboard.reports.templates import catalogue
from callboard.reports.templates.base import TemplateKind
from callboard.service.schemas import ListOf

router = APIRouter(tags=["templates"], responses=ERROR_RESPONSES)


class TemplateFieldPublic(BaseModel):
    """One column a template can show (and, for segment fields, filter and sort on)."""

    model_config = ConfigDict(extra="allow")  # the catalogue is the source: a key it adds is passed on

    name: str
    type: str = Field(description="string, timestamp, float, int, flag, date or list")
    title: str
    additive: bool = Field(description="Summed into the results document's summary when displayed.")
    defaultDisplay: bool = Field(description="Shown when a request names no displayFields.")
    description: str


class TemplatePublic(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(description="The reportTemplateName of a request.")
    description: str
    kind: TemplateKind
    fields: list[TemplateFieldPublic]


@router.get("/templates", response_model=ListOf[TemplatePublic], operation_id="templates-list")
def list_templates(_: TenantMember) -> ListOf[TemplatePublic]:
    """Every report template with its fields (name, type, title, additive, default display)."""
    items = [TemplatePublic.model_validate(t) for t in catalogue()]
    return ListOf[TemplatePublic](data=items, count=len(items))
