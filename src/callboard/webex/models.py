"""The Webex-compatible report table (``webex_reports``).

A Webex report is a thin record over a Results-API request: the request does the work on the shared
queue and warehouse; this row adds what the Webex shapes need (template id, date range, time zone,
region) and the rendered file's facts (name, size, checksum). It is declared on the store's ``Base``
so one metadata describes every table, and its schema comes from our own Alembic revision
(``w001_webex_reports``), chained after the Results API's.

``render_state`` is the guard against rendering twice: ``pending`` → ``rendering`` (claimed by one
reader with a conditional UPDATE carrying ``render_token``) → ``done`` or ``failed``. A claim older
than the stale limit may be taken over, so a process that died mid-render does not wedge a report.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from callboard.store.models import Base, UTCDateTime, utcnow

RENDER_PENDING = "pending"
RENDER_RUNNING = "rendering"
RENDER_DONE = "done"
RENDER_FAILED = "failed"


class WebexReport(Base):
    __tablename__ = "webex_reports"
    __table_args__ = (Index("ix_webex_reports_tenant_created", "tenant_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    # SET NULL: the Results API may discard its request; a rendered report stays downloadable.
    request_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("requests.id", ondelete="SET NULL"), nullable=True, index=True
    )
    created_via: Mapped[str] = mapped_column(String(16))  # "api" (org family) or "partner"
    template: Mapped[str] = mapped_column(String(100))
    template_id: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(String(200))
    service: Mapped[str] = mapped_column(String(100))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    time_zone: Mapped[str] = mapped_column(String(64))
    site_list: Mapped[str] = mapped_column(String(1000), default="")
    region_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    render_state: Mapped[str] = mapped_column(String(16), default=RENDER_PENDING)
    render_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    render_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    rendered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    render_error: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    file_name: Mapped[str | None] = mapped_column(String(500), nullable=True)
    file_path: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    file_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    checksum: Mapped[str | None] = mapped_column(String(64), nullable=True)
    row_count: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
