"""CHECK constraints: every state and kind column keeps to its Enum (remiss.core.states)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 04:00:00
"""

from __future__ import annotations

from alembic import op

from remiss.core.states import (
    PAMINNELSE_PREFIX,
    AnstandState,
    DispatchState,
    EventKind,
    InboundKind,
    MessageKind,
    MessageState,
    RoundState,
)

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _one_of(column: str, values: list[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# The values as they are today, written out: a later change to an Enum gets its own migration.
CHECKS: dict[str, list[tuple[str, str]]] = {
    "remissomgang": [("round_state", _one_of("state", [s.value for s in RoundState]))],
    "utskick": [("dispatch_state", _one_of("state", [s.value for s in DispatchState]))],
    "anstand": [("anstand_state", _one_of("state", [s.value for s in AnstandState]))],
    "utgaende_meddelande": [
        ("message_state", _one_of("state", [s.value for s in MessageState])),
        (
            "message_kind",
            _one_of("kind", [k.value for k in MessageKind])
            + f" OR kind LIKE '{PAMINNELSE_PREFIX}%'",
        ),
    ],
    "handelse": [("event_kind", _one_of("kind", [k.value for k in EventKind]))],
    "inkommande_post": [("inbound_kind", _one_of("kind", [k.value for k in InboundKind]))],
}


def upgrade() -> None:
    for table, checks in CHECKS.items():
        # On SQLite the table is recreated with its constraints (foreign keys are off
        # meanwhile, see env.py); on PostgreSQL the constraint is added in place.
        with op.batch_alter_table(table, recreate="auto") as batch:
            for name, condition in checks:
                batch.create_check_constraint(op.f(f"ck_{table}_{name}"), condition)


def downgrade() -> None:
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table) as batch:
            for name, _condition in checks:
                batch.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
