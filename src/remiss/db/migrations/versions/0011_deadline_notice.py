"""the e-mail telling a remissinstans that the deadline has been extended (ny_svarstid)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 11:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

KINDS_BEFORE = ["missiv", "kvittens", "anstand_beslut", "gemensamt_svar", "beslut"]
KINDS = [*KINDS_BEFORE, "ny_svarstid"]


def _check(kinds: list[str]) -> None:
    condition = f"kind IN ({', '.join(repr(k) for k in kinds)}) OR kind LIKE 'paminnelse_%'"
    with op.batch_alter_table("utgaende_meddelande", recreate="auto") as batch:
        batch.drop_constraint(op.f("ck_utgaende_meddelande_message_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_utgaende_meddelande_message_kind"), condition)


def upgrade() -> None:
    _check(KINDS)


def downgrade() -> None:
    _check(KINDS_BEFORE)
