"""Webex-compatible reports: one row per report created through /v1 (see callboard.webex.models).

Revision ID: w001_webex_reports
Revises: 0001_results_api
Create Date: 2025-01-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from callboard.store.models import UTCDateTime

revision = "w001_webex_reports"
down_revision = "0001_results_api"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webex_reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=True),
        sa.Column("created_via", sa.String(16), nullable=False),
        sa.Column("template", sa.String(100), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("service", sa.String(100), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("site_list", sa.String(1000), nullable=False),
        sa.Column("region_id", sa.String(32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("render_state", sa.String(16), nullable=False),
        sa.Column("render_token", sa.String(64), nullable=True),
        sa.Column("render_started_at", UTCDateTime(), nullable=True),
        sa.Column("rendered_at", UTCDateTime(), nullable=True),
        sa.Column("render_error", sa.String(2000), nullable=True),
        sa.Column("file_name", sa.String(500), nullable=True),
        sa.Column("file_path", sa.String(1000), nullable=True),
        sa.Column("file_size", sa.BigInteger(), nullable=True),
        sa.Column("checksum", sa.String(64), nullable=True),
        sa.Column("row_count", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_webex_reports_tenant_id_tenants",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"],
                                name="fk_webex_reports_workspace_id_workspaces", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], name="fk_webex_reports_request_id_requests",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_webex_reports"),
    )
    op.create_index("ix_webex_reports_tenant_created", "webex_reports", ["tenant_id", "created_at", "id"])
    op.create_index("ix_webex_reports_request_id", "webex_reports", ["request_id"])


def downgrade() -> None:
    op.drop_table("webex_reports")
