"""mailbox poll: delivery reports, answers by e-mail, inbound mail

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 16:00:00
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("utskick", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivered_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("bounced_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("bounce_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("read_at", UTC, nullable=True))

    with op.batch_alter_table("remissvar", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("needs_review", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("reviewed_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("email_message_id", sa.String(length=300), nullable=True))

    with op.batch_alter_table("utgaende_meddelande", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_ref", sa.String(length=32), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_utgaende_meddelande_message_ref"), ["message_ref"], unique=False
        )
    # Messages queued before this revision: the same derivation as remiss.keys.message_ref.
    bind = op.get_bind()
    messages = sa.table(
        "utgaende_meddelande",
        sa.column("id", sa.Integer),
        sa.column("idempotency_key", sa.String),
        sa.column("message_ref", sa.String),
    )
    for row_id, key in bind.execute(sa.select(messages.c.id, messages.c.idempotency_key)):
        bind.execute(
            messages.update()
            .where(messages.c.id == row_id)
            .values(message_ref=hashlib.sha256(key.encode()).hexdigest()[:32])
        )

    op.create_table(
        "inkommande_post",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("read_at", UTC, nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("dispatch_id", sa.Integer(), nullable=True),
        sa.Column("answer_id", sa.Integer(), nullable=True),
        sa.Column("folder", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispatch_id"], ["utskick.id"], name=op.f("fk_inkommande_post_dispatch_id_utskick")
        ),
        sa.ForeignKeyConstraint(
            ["answer_id"], ["remissvar.id"], name=op.f("fk_inkommande_post_answer_id_remissvar")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inkommande_post")),
        sa.UniqueConstraint("key", name=op.f("uq_inkommande_post_key")),
    )
    with op.batch_alter_table("inkommande_post", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inkommande_post_dispatch_id"), ["dispatch_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("inkommande_post", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inkommande_post_dispatch_id"))
    op.drop_table("inkommande_post")
    with op.batch_alter_table("utgaende_meddelande", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_utgaende_meddelande_message_ref"))
        batch_op.drop_column("message_ref")
    with op.batch_alter_table("remissvar", schema=None) as batch_op:
        batch_op.drop_column("email_message_id")
        batch_op.drop_column("reviewed_by")
        batch_op.drop_column("needs_review")
    with op.batch_alter_table("utskick", schema=None) as batch_op:
        batch_op.drop_column("read_at")
        batch_op.drop_column("bounce_reason")
        batch_op.drop_column("bounced_at")
        batch_op.drop_column("delivered_at")
