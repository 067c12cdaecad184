"""claim heartbeat: when a sender last renewed its claim on a message

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("utgaende_meddelande") as batch:
        batch.add_column(sa.Column("claim_renewed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("utgaende_meddelande") as batch:
        batch.drop_column("claim_renewed_at")
