"""Metadata tables (SQLAlchemy 2): tenants, workspaces, saved reports, report requests (the job queue)
and API tokens.

The calls themselves live in the warehouse; everything here is small and transactional, so it runs on
SQLite (embedded default) or PostgreSQL (several processes sharing one queue). Every change to these
classes needs a migration in ``migrations/versions`` (tests compare the two).
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names, so migrations can refer to them on both dialects.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as naive UTC and read back as aware UTC.

    SQLite keeps no offset, PostgreSQL ``timestamp`` neither; normalising on the way in and out means
    comparisons (heartbeats, expiry) behave identically on both.
    """

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class RequestStatus(enum.IntEnum):
    """The seed-000 ``status`` codes; ``state`` is the lower-case name."""

    QUEUED = 0
    COMPLETE = 1
    RUNNING = 2
    FAILED = 3
    CANCELLED = 4
    EXPIRED = 5

    @property
    def state(self) -> str:
        return self.name.lower()


FINAL_STATUSES = (RequestStatus.COMPLETE, RequestStatus.FAILED, RequestStatus.CANCELLED, RequestStatus.EXPIRED)


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Workspace(Base):
    __tablename__ = "workspaces"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SavedReport(Base):
    __tablename__ = "reports"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    template: Mapped[str] = mapped_column(String(100))
    defaults: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ReportRequest(Base):
    """One report run, and the job queue: workers claim rows by ``(status, priority, created_at)``."""

    __tablename__ = "requests"
    __table_args__ = (Index("ix_requests_queue", "status", "priority", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    report_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), index=True, nullable=True
    )
    template: Mapped[str] = mapped_column(String(100))
    status: Mapped[int] = mapped_column(Integer, default=RequestStatus.QUEUED)
    status_message: Mapped[str] = mapped_column(String(2000), default="Report queued")
    priority: Mapped[int] = mapped_column(Integer, default=2)
    # ``short`` or ``long`` by expected cost (service.scheduling): which workers may claim it.
    lane: Mapped[str] = mapped_column(String(8), default="short", server_default="short")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    worker_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Incremented on every claim: a worker may only finish the attempt it claimed.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # The echo shown as ``request`` in the results document, and the resolved model the runner takes.
    request_json: Mapped[dict[str, Any]] = mapped_column(JSON)
    resolved_json: Mapped[dict[str, Any]] = mapped_column(JSON)
    effort: Mapped[float | None] = mapped_column(Float, nullable=True)
    query_duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    total_duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    query_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    total_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    row_limit_exceeded: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    summary: Mapped[Any] = mapped_column(JSON, nullable=True)
    columns: Mapped[Any] = mapped_column(JSON, nullable=True)
    snapshot_path: Mapped[str | None] = mapped_column(String(1000), nullable=True)

    @property
    def status_enum(self) -> RequestStatus:
        return RequestStatus(self.status)


class ApiToken(Base):
    """A bearer token: only its SHA-256 is kept. ``tenant_id`` is null for system administrators."""

    __tablename__ = "tokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True, nullable=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # null = every workspace of the tenant; otherwise a list of workspace id strings.
    workspaces: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    is_system: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
