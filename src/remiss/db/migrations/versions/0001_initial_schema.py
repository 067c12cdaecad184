"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 12:50:21.443982
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "arende",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("diarienummer", sa.String(length=100), nullable=False),
        sa.Column("rubrik", sa.Text(), nullable=False),
        sa.Column("arendetyp", sa.String(length=30), nullable=False),
        sa.Column("vackt", sa.Date(), nullable=True),
        sa.Column("handlaggare_namn", sa.String(length=200), nullable=False),
        sa.Column("handlaggare_epost", sa.String(length=320), nullable=False),
        sa.Column("missiv", sa.Text(), nullable=True),
        sa.Column("source_path", sa.Text(), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arende")),
    )
    with op.batch_alter_table("arende", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_arende_diarienummer"), ["diarienummer"], unique=False)

    op.create_table(
        "remissinstans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("contacts", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remissinstans")),
        sa.UniqueConstraint("code", name=op.f("uq_remissinstans_code")),
    )
    op.create_table(
        "att_sats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["arende.id"], name=op.f("fk_att_sats_case_id_arende")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_att_sats")),
        sa.UniqueConstraint("case_id", "number", name=op.f("uq_att_sats_case_id")),
    )
    op.create_table(
        "document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_path", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["arende.id"], name=op.f("fk_document_case_id_arende")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document")),
    )
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_document_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_document_sha256"), ["sha256"], unique=False)

    op.create_table(
        "motionar",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("namn", sa.String(length=200), nullable=False),
        sa.Column("parti", sa.String(length=50), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["arende.id"], name=op.f("fk_motionar_case_id_arende")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_motionar")),
    )
    with op.batch_alter_table("motionar", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_motionar_case_id"), ["case_id"], unique=False)

    op.create_table(
        "remissomgang",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("svar_senast", sa.Date(), nullable=False),
        sa.Column("base_url", sa.Text(), nullable=False),
        sa.Column("flow_run_id", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["arende.id"], name=op.f("fk_remissomgang_case_id_arende")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remissomgang")),
        sa.UniqueConstraint("uid", name=op.f("uq_remissomgang_uid")),
    )
    with op.batch_alter_table("remissomgang", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_remissomgang_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_remissomgang_flow_run_id"), ["flow_run_id"], unique=False
        )

    op.create_table(
        "utskick",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("remissinstans_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["remissinstans_id"],
            ["remissinstans.id"],
            name=op.f("fk_utskick_remissinstans_id_remissinstans"),
        ),
        sa.ForeignKeyConstraint(
            ["round_id"], ["remissomgang.id"], name=op.f("fk_utskick_round_id_remissomgang")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_utskick")),
        sa.UniqueConstraint("round_id", "remissinstans_id", name=op.f("uq_utskick_round_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_utskick_token_hash")),
    )
    op.create_table(
        "handelse",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispatch_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispatch_id"], ["utskick.id"], name=op.f("fk_handelse_dispatch_id_utskick")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handelse")),
    )
    with op.batch_alter_table("handelse", schema=None) as batch_op:
        batch_op.create_index("ix_handelse_dispatch_at", ["dispatch_id", "at"], unique=False)

    op.create_table(
        "utgaende_meddelande",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispatch_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider_id", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dispatch_id"], ["utskick.id"], name=op.f("fk_utgaende_meddelande_dispatch_id_utskick")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_utgaende_meddelande")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_utgaende_meddelande_idempotency_key")),
    )
    with op.batch_alter_table("utgaende_meddelande", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_utgaende_meddelande_dispatch_id"), ["dispatch_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("utgaende_meddelande", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_utgaende_meddelande_dispatch_id"))

    op.drop_table("utgaende_meddelande")
    with op.batch_alter_table("handelse", schema=None) as batch_op:
        batch_op.drop_index("ix_handelse_dispatch_at")

    op.drop_table("handelse")
    op.drop_table("utskick")
    with op.batch_alter_table("remissomgang", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_remissomgang_flow_run_id"))
        batch_op.drop_index(batch_op.f("ix_remissomgang_case_id"))

    op.drop_table("remissomgang")
    with op.batch_alter_table("motionar", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_motionar_case_id"))

    op.drop_table("motionar")
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_sha256"))
        batch_op.drop_index(batch_op.f("ix_document_case_id"))

    op.drop_table("document")
    op.drop_table("att_sats")
    op.drop_table("remissinstans")
    with op.batch_alter_table("arende", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_arende_diarienummer"))

    op.drop_table("arende")
