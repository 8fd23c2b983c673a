"""Request lanes: each request is ``short`` or ``long`` by expected cost (service.scheduling), so
long reports cannot take every worker.

Revision ID: 0003_request_lanes
Revises: 0002_rate_buckets
Create Date: 2025-01-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_request_lanes"
down_revision = "0002_rate_buckets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("lane", sa.String(8), nullable=False, server_default="short"))


def downgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("lane")
