"""what an answer's file says, read once with its text (document.reading)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 20:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Filled in by the next compile or answer processing (report.compiling).
    with op.batch_alter_table("document") as batch:
        batch.add_column(sa.Column("reading", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("document") as batch:
        batch.drop_column("reading")
