"""Rate-limit buckets shared by every API process on a PostgreSQL metadata store (one row per key; see
callboard.service.rate_limits.SharedRateLimiter). Created on SQLite too, where it stays empty: there
each process counts in memory.

Revision ID: 0002_rate_buckets
Revises: w001_webex_reports
Create Date: 2025-01-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_rate_buckets"
down_revision = "w001_webex_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # UNLOGGED on PostgreSQL: every authenticated request writes a row, and a logged table would make
    # each of those commits wait for a WAL flush to disk and ship every write to replicas. What an
    # unlogged table loses -- its rows, after a crash or on a promoted standby -- is harmless: an
    # absent bucket is a full one.
    # No index on stamp: every request rewrites its row's stamp, and with no index on it PostgreSQL
    # can update the row in place (HOT); the periodic prune scans a table of the keys active in the
    # last minute, which is small.
    unlogged = ["UNLOGGED"] if op.get_bind().dialect.name == "postgresql" else []
    op.create_table(
        "rate_buckets",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("tokens", sa.Double(), nullable=False),
        sa.Column("stamp", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_rate_buckets"),
        prefixes=unlogged,
    )


def downgrade() -> None:
    op.drop_table("rate_buckets")
