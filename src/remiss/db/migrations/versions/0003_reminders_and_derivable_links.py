"""reminders and derivable links

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:27:21.528538
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table("remissomgang", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminder_policy", sa.JSON(), nullable=True))

    with op.batch_alter_table("utskick", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_nonce", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("next_reminder_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_utskick_next_reminder_at"), ["next_reminder_at"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("utskick", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_utskick_next_reminder_at"))
        batch_op.drop_column("next_reminder_at")
        batch_op.drop_column("token_nonce")

    with op.batch_alter_table("remissomgang", schema=None) as batch_op:
        batch_op.drop_column("reminder_policy")
