"""Request and response models of the Results API (Create / Update / Public per entity).

Input models forbid unknown fields: a typo in a field name must be an error, not silently ignored.
Names are the API's camelCase; the ORM keeps snake_case.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Output(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class ListOf(Output, Generic[T]):
    """The list envelope: ``{data: [...], count}``."""

    data: list[T]
    count: int


# ---- errors -------------------------------------------------------------------------------------
class ErrorItem(Output):
    description: str
    row: int | None = Field(None, description="1-based data row of an ingest error.")
    field: str | None = Field(None, description="Field the error is about, when known.")


class ErrorBody(Output):
    """Every error answer: a message, the details, and the id that finds the log line."""

    message: str
    errors: list[ErrorItem]
    trackingId: str


# ---- tenants and tokens -------------------------------------------------------------------------
class TenantCreate(Input):
    name: str = Field(min_length=1, max_length=200)


class TenantPublic(Output):
    id: uuid.UUID
    name: str


class TokenCreate(Input):
    scopes: list[str] = Field(
        min_length=1,
        description="Scopes granted: reports:read, reports:write, calls:write, admin (Webex names: docs/api.md).",
    )
    workspaces: list[str] | None = Field(None, description="Restrict the token to these workspace ids.")
    expiresIn: int | None = Field(None, gt=0, le=100 * 366 * 86_400,
                                  description="Lifetime in seconds, at most 100 years (default: no expiry).")


class TokenPublic(Output):
    id: uuid.UUID
    token: str = Field(description="The token itself: shown only in this answer, store it now.")
    scopes: list[str]
    workspaces: list[str] | None = None
    expiresAt: datetime | None = None


# ---- workspaces ---------------------------------------------------------------------------------
class WorkspaceCreate(Input):
    name: str = Field(min_length=1, max_length=200)
    timeZoneId: str = Field("UTC", min_length=1, max_length=64, description="IANA time zone of reports.")


class WorkspacePublic(Output):
    id: uuid.UUID
    name: str
    timeZoneId: str


# ---- saved reports ------------------------------------------------------------------------------
class ReportCreate(Input):
    name: str = Field(min_length=1, max_length=200)
    reportTemplateName: str = Field(min_length=1, max_length=100)
    defaults: dict[str, Any] = Field(
        default_factory=dict, description="Request fields every request of this report starts from."
    )


class ReportUpdate(Input):
    name: str | None = Field(None, min_length=1, max_length=200)
    reportTemplateName: str | None = Field(None, min_length=1, max_length=100)
    defaults: dict[str, Any] | None = None


class ReportPublic(Output):
    id: uuid.UUID
    name: str
    reportTemplateName: str
    defaults: dict[str, Any]


# ---- ingest -------------------------------------------------------------------------------------
class IngestResult(Output):
    received: int = Field(description="Rows in the body.")
    inserted: int = Field(description="Rows stored.")
    duplicates: int = Field(description="Rows whose docId was already stored (or repeated in the body).")


# ---- results ------------------------------------------------------------------------------------
class StatusDocument(Output):
    """The results document without ``data`` (seed 000); figures are null until the run completes."""

    requestId: uuid.UUID
    tenantId: uuid.UUID
    request: dict[str, Any] = Field(description="The resolved request, every default filled in.")
    effort: float | None = Field(None, description="Segment rows examined, in thousands.")
    queryDuration: int | None = Field(None, description="Milliseconds spent in the engine.")
    totalDuration: int | None = Field(None, description="Milliseconds from pick-up to completion.")
    queryCount: int | None = Field(None, description="Engine queries run.")
    rowLimitExceeded: bool | None = None
    totalCount: int | None = Field(None, description="Rows in the result.")
    summary: list[dict[str, Any]] = Field(
        default_factory=list, description="One row: sums of the additive fields over the whole result."
    )
    status: int = Field(description="0 queued, 1 complete, 2 running, 3 failed, 4 cancelled, 5 expired.")
    statusMessage: str
    rowLimit: int | None = None
    state: str = Field(description="status as a word: queued, complete, running, failed, cancelled, expired.")


class ResultsDocument(StatusDocument):
    """The whole results document (``/data``): the status document plus the rows."""

    data: list[dict[str, Any]] = Field(description="The rows; a field whose value is null is left out.")
    page: int | None = Field(None, description="Page number when paged.")
    pageSize: int | None = Field(None, description="Page size when paged.")
