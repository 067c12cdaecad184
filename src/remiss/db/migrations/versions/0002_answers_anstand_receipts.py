"""answers, anstand, receipts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 13:13:58.965219
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "anstand",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispatch_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("granted_date", sa.Date(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dispatch_id"], ["utskick.id"], name=op.f("fk_anstand_dispatch_id_utskick")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anstand")),
    )
    with op.batch_alter_table("anstand", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_anstand_dispatch_id"), ["dispatch_id"], unique=False)

    op.create_table(
        "remissvar",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispatch_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("position", sa.String(length=30), nullable=False),
        sa.Column("att_sats_positions", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("decision_date", sa.Date(), nullable=True),
        sa.Column("decision_paragraph", sa.String(length=50), nullable=True),
        sa.Column("joint_with", sa.JSON(), nullable=False),
        sa.Column("reservationer", sa.Text(), nullable=True),
        sa.Column("sarskilda_uttalanden", sa.Text(), nullable=True),
        sa.Column("contact_name", sa.String(length=200), nullable=True),
        sa.Column("contact_email", sa.String(length=320), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["dispatch_id"], ["utskick.id"], name=op.f("fk_remissvar_dispatch_id_utskick")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remissvar")),
        sa.UniqueConstraint("dispatch_id", "version", name=op.f("uq_remissvar_dispatch_id")),
    )
    with op.batch_alter_table("remissvar", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_remissvar_processed_at"), ["processed_at"], unique=False
        )

    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answer_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_document_answer_id"), ["answer_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_document_answer_id_remissvar"), "remissvar", ["answer_id"], ["id"]
        )

    with op.batch_alter_table("remissomgang", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("utskick", schema=None) as batch_op:
        batch_op.add_column(sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("received_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("their_diarienummer", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("contact_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("contact_email", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("declined_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("decline_reason", sa.Text(), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("utskick", schema=None) as batch_op:
        batch_op.drop_column("decline_reason")
        batch_op.drop_column("declined_at")
        batch_op.drop_column("contact_email")
        batch_op.drop_column("contact_name")
        batch_op.drop_column("their_diarienummer")
        batch_op.drop_column("received_at")
        batch_op.drop_column("opened_at")

    with op.batch_alter_table("remissomgang", schema=None) as batch_op:
        batch_op.drop_column("closed_at")

    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_document_answer_id_remissvar"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_document_answer_id"))
        batch_op.drop_column("answer_id")

    with op.batch_alter_table("remissvar", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_remissvar_processed_at"))

    op.drop_table("remissvar")
    with op.batch_alter_table("anstand", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_anstand_dispatch_id"))

    op.drop_table("anstand")
