"""issue 25: an e-mailed answer a handläggare judged not to be an answer (rejected), the
event that records it, and registration receipts read from the mailbox

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# The kinds as they are after this migration, written out (0010 and 0007 hold the earlier).
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
    "added_to_round",
    "address_corrected",
    "deadline_extended",
    "joint_claimed",
    "joint_confirmed",
    "joint_rejected",
    "decision_sent",
]
EVENT_KINDS = [*EVENT_KINDS_BEFORE, "answer_rejected"]
INBOUND_KINDS_BEFORE = [
    "answer",
    "delivered",
    "bounced",
    "read",
    "auto_reply",
    "message",
    "unmatched",
    "unreadable",
]
INBOUND_KINDS = [*INBOUND_KINDS_BEFORE, "receipt"]


def _one_of(column: str, values: list[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _replace_checks(event_kinds: list[str], inbound_kinds: list[str]) -> None:
    with op.batch_alter_table("handelse", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_handelse_event_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_handelse_event_kind"), _one_of("kind", event_kinds))
    with op.batch_alter_table("inkommande_post", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_inkommande_post_inbound_kind"), type_="check")
        batch.create_check_constraint(
            op.f("ck_inkommande_post_inbound_kind"), _one_of("kind", inbound_kinds)
        )


def upgrade() -> None:
    with op.batch_alter_table("remissvar") as batch:
        batch.add_column(sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("rejected_by", sa.String(length=200), nullable=True))
    _replace_checks(EVENT_KINDS, INBOUND_KINDS)


def downgrade() -> None:
    _replace_checks(EVENT_KINDS_BEFORE, INBOUND_KINDS_BEFORE)
    with op.batch_alter_table("remissvar") as batch:
        batch.drop_column("rejected_by")
        batch.drop_column("rejected_at")
