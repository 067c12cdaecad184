"""extracted text and compile marker

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 13:41:08.425535
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.add_column(sa.Column("text", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("text_error", sa.Text(), nullable=True))

    with op.batch_alter_table("remissomgang", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("auto_compiled_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:

    with op.batch_alter_table("remissomgang", schema=None) as batch_op:
        batch_op.drop_column("auto_compiled_at")

    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_column("text_error")
        batch_op.drop_column("text")
