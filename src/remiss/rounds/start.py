"""Application services: what the CLI and the flows do, each in one transaction."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from remiss.cases.casefile import RoundPlan, parse_case, plan_round
from remiss.core import dates
from remiss.core.errors import InputError, RemissError
from remiss.core.settings import Settings
from remiss.db.engine import migrate, schema_is_current, session_scope
from remiss.register.instances import Register, load_register
from remiss.reminders.policy import load_policy
from remiss.rounds.service import (
    check_can_start,
    create_round,
    sync_register,
    unsent_dispatch_ids,
    unsent_missiv,
)


def init(settings: Settings, *, now: dt.datetime) -> tuple[Register, int]:
    """Create or upgrade the database and load the register; returns it and the rows changed."""
    register = load_register(settings.register)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.documents_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.database_url)
    with session_scope(settings.database_url) as session:
        changed = sync_register(session, register=register, now=now)
    return register, changed


def ensure_schema(settings: Settings) -> None:
    """Refuse to work on a database that `remiss init` has not brought up to date."""
    if not schema_is_current(settings.database_url):
        raise RemissError(
            "Databasen är inte initierad eller har ett äldre schema: kör `remiss init` först."
        )


def plan_from_file(
    settings: Settings,
    case_path: Path,
    *,
    now: dt.datetime,
    to: list[str] | None = None,
    deadline: str | None = None,
    force: bool = False,
    register: Register | None = None,
) -> RoundPlan:
    """Everything a round start checks before anything is stored or sent."""
    register = register or load_register(settings.register)
    case = parse_case(case_path)
    chosen: dt.date | None = None
    if deadline is not None:
        try:
            chosen = dates.parse_date(deadline)
        except ValueError as exc:
            raise InputError(
                "ska vara ett datum i formen ÅÅÅÅ-MM-DD",
                source="kommandoraden",
                field="--deadline",
                value=deadline,
            ) from exc
    return plan_round(
        case,
        register,
        today=dates.local_today(now, settings.timezone),
        to=to,
        deadline=chosen,
        force=force,
        policy=load_policy(settings.reminder_policy),
    )


def check_start(settings: Settings, plan: RoundPlan, *, new_round: bool) -> None:
    ensure_schema(settings)
    with session_scope(settings.database_url) as session:
        check_can_start(session, diarienummer=plan.case.diarienummer, new_round=new_round)


def prepare_round(
    settings: Settings,
    case_path: Path,
    *,
    now: dt.datetime,
    to: list[str] | None = None,
    deadline: str | None = None,
    force: bool = False,
    new_round: bool = False,
    flow_run_id: str | None = None,
) -> int:
    """Validate and store a round with its dispatches; nothing is sent here."""
    register = load_register(settings.register)
    plan = plan_from_file(
        settings, case_path, now=now, to=to, deadline=deadline, force=force, register=register
    )
    ensure_schema(settings)
    with session_scope(settings.database_url) as session:
        sync_register(session, register=register, now=now)
        rnd = create_round(
            session,
            plan=plan,
            settings=settings,
            now=now,
            new_round=new_round,
            flow_run_id=flow_run_id,
        )
        return rnd.id


def pending_sends(settings: Settings, round_id: int) -> list[int]:
    """The dispatches of the round whose remissmissiv has not gone out."""
    with session_scope(settings.database_url) as session:
        return unsent_dispatch_ids(session, round_id=round_id)


def pending_missiv(settings: Settings, round_id: int) -> list[int]:
    """The unsent remissmissiv of the round, as message ids."""
    with session_scope(settings.database_url) as session:
        return [m for _, m in unsent_missiv(session, round_id=round_id)]
