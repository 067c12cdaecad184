"""ended staff sessions: a logged-out session's id, refused until its cookie would expire

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "avslutad_personalsession",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_avslutad_personalsession")),
    )
    op.create_index(
        op.f("ix_avslutad_personalsession_expires_at"),
        "avslutad_personalsession",
        ["expires_at"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_avslutad_personalsession_expires_at"), table_name="avslutad_personalsession"
    )
    op.drop_table("avslutad_personalsession")
