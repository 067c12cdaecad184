"""the workspace at /admin: case drafts, ad hoc recipients, joint answers to confirm,
decisions sent back, the audit log, and the e-mail and event kinds they add

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# The kinds as they are after this migration; 0007 holds those before it.
MESSAGE_KINDS_BEFORE = ["missiv", "kvittens", "anstand_beslut"]
MESSAGE_KINDS = [*MESSAGE_KINDS_BEFORE, "gemensamt_svar", "beslut"]
EVENT_KINDS_BEFORE = [
    "created",
    "sent",
    "send_failed",
    "send_retry",
    "opened",
    "received",
    "receipt_updated",
    "anstand_requested",
    "anstand_granted",
    "anstand_refused",
    "declined",
    "answered",
    "answer_reviewed",
    "answer_processed",
    "reminder_queued",
    "reminder_cancelled",
    "delivered",
    "bounced",
    "read_receipt",
    "auto_reply",
    "email_to_registrator",
    "email_files_refused",
]
EVENT_KINDS = [
    *EVENT_KINDS_BEFORE,
    "added_to_round",
    "address_corrected",
    "deadline_extended",
    "joint_claimed",
    "joint_confirmed",
    "joint_rejected",
    "decision_sent",
]


def _one_of(column: str, values: list[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _message_kind(values: list[str]) -> str:
    return _one_of("kind", values) + " OR kind LIKE 'paminnelse_%'"


def _replace_checks(message_kinds: list[str], event_kinds: list[str]) -> None:
    with op.batch_alter_table("utgaende_meddelande", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_utgaende_meddelande_message_kind"), type_="check")
        batch.create_check_constraint(
            op.f("ck_utgaende_meddelande_message_kind"), _message_kind(message_kinds)
        )
    with op.batch_alter_table("handelse", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_handelse_event_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_handelse_event_kind"), _one_of("kind", event_kinds))


def upgrade() -> None:
    utc = sa.DateTime(timezone=True)
    with op.batch_alter_table("remissinstans") as batch:
        batch.add_column(
            sa.Column("ad_hoc", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "arendeutkast",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("updated_at", utc, nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            _one_of("state", ["draft", "starting", "started"]),
            name=op.f("ck_arendeutkast_draft_state"),
        ),
        sa.ForeignKeyConstraint(
            ["round_id"], ["remissomgang.id"], name=op.f("fk_arendeutkast_round_id_remissomgang")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arendeutkast")),
    )
    op.create_table(
        "beslut",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("organ", sa.String(length=20), nullable=False),
        sa.Column("beslutsdatum", sa.Date(), nullable=False),
        sa.Column("paragraf", sa.String(length=50), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", utc, nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"], ["remissomgang.id"], name=op.f("fk_beslut_round_id_remissomgang")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_beslut")),
    )
    op.create_index(op.f("ix_beslut_round_id"), "beslut", ["round_id"])
    op.create_table(
        "gemensamt_svar",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("partner_dispatch_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("decided_at", utc, nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.CheckConstraint(
            _one_of("state", ["claimed", "confirmed", "rejected"]),
            name=op.f("ck_gemensamt_svar_joint_state"),
        ),
        sa.ForeignKeyConstraint(
            ["answer_id"], ["remissvar.id"], name=op.f("fk_gemensamt_svar_answer_id_remissvar")
        ),
        sa.ForeignKeyConstraint(
            ["partner_dispatch_id"],
            ["utskick.id"],
            name=op.f("fk_gemensamt_svar_partner_dispatch_id_utskick"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gemensamt_svar")),
        sa.UniqueConstraint(
            "answer_id", "partner_dispatch_id", name=op.f("uq_gemensamt_svar_answer_id")
        ),
    )
    op.create_index(op.f("ix_gemensamt_svar_answer_id"), "gemensamt_svar", ["answer_id"])
    op.create_index(
        op.f("ix_gemensamt_svar_partner_dispatch_id"), "gemensamt_svar", ["partner_dispatch_id"]
    )
    op.create_table(
        "atgardslogg",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", utc, nullable=False),
        sa.Column("user_name", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"], ["remissomgang.id"], name=op.f("fk_atgardslogg_round_id_remissomgang")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_atgardslogg")),
    )
    op.create_index(op.f("ix_atgardslogg_round_id"), "atgardslogg", ["round_id"])
    with op.batch_alter_table("document") as batch:
        batch.add_column(sa.Column("draft_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("decision_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_document_draft_id"), ["draft_id"])
        batch.create_index(batch.f("ix_document_decision_id"), ["decision_id"])
        batch.create_foreign_key(
            batch.f("fk_document_draft_id_arendeutkast"), "arendeutkast", ["draft_id"], ["id"]
        )
        batch.create_foreign_key(
            batch.f("fk_document_decision_id_beslut"), "beslut", ["decision_id"], ["id"]
        )
    _replace_checks(MESSAGE_KINDS, EVENT_KINDS)


def downgrade() -> None:
    _replace_checks(MESSAGE_KINDS_BEFORE, EVENT_KINDS_BEFORE)
    with op.batch_alter_table("document") as batch:
        batch.drop_constraint(batch.f("fk_document_decision_id_beslut"), type_="foreignkey")
        batch.drop_constraint(batch.f("fk_document_draft_id_arendeutkast"), type_="foreignkey")
        batch.drop_index(batch.f("ix_document_decision_id"))
        batch.drop_index(batch.f("ix_document_draft_id"))
        batch.drop_column("decision_id")
        batch.drop_column("draft_id")
    op.drop_index(op.f("ix_atgardslogg_round_id"), table_name="atgardslogg")
    op.drop_table("atgardslogg")
    op.drop_index(op.f("ix_gemensamt_svar_partner_dispatch_id"), table_name="gemensamt_svar")
    op.drop_index(op.f("ix_gemensamt_svar_answer_id"), table_name="gemensamt_svar")
    op.drop_table("gemensamt_svar")
    op.drop_index(op.f("ix_beslut_round_id"), table_name="beslut")
    op.drop_table("beslut")
    op.drop_table("arendeutkast")
    with op.batch_alter_table("remissinstans") as batch:
        batch.drop_column("ad_hoc")
