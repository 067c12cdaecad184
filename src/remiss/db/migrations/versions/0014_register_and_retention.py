"""issue 21: where each consumer of the register extract (a diarium's daily import) has
come to, so that "new since the last extract" is asked for by name

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "diarieutdrag",
        sa.Column("consumer", sa.String(100), nullable=False),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", name=op.f("pk_diarieutdrag")),
    )


def downgrade() -> None:
    op.drop_table("diarieutdrag")
