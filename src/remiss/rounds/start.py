"""Application services: what the CLI and the flows do, each in one transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from remiss.audit.log import record
from remiss.cases.casefile import RoundPlan, check_remissinstanser, parse_case, plan_round
from remiss.cases.drafts import case_from_draft
from remiss.core import dates
from remiss.core.errors import ConflictError, InputError, NotFoundError, RemissError
from remiss.core.settings import Settings
from remiss.core.states import DraftState
from remiss.db.engine import migrate, schema_is_current, session_scope
from remiss.db.models import CaseDraft
from remiss.register.instances import Register, Remissinstans, load_register
from remiss.register.meetings import check_meetings
from remiss.reminders.policy import Policy, load_policy, parse_policy
from remiss.rounds.service import (
    check_can_start,
    create_round,
    open_round_for,
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
                field="--svarsdag",
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


# --- Choosing the deadline of a case prepared in the workspace --------------------------


@dataclass(frozen=True)
class MeetingRow:
    """One chosen nämnd with a sammanträdesplan, against the deadline being considered."""

    name: str
    # The last meeting from which the answer can still leave by the deadline, and that day.
    meeting: dt.date | None
    ready: dt.date | None
    # The first meeting after the send date, and the earliest its answer can leave (None:
    # the plan in the register has no meeting after the send date).
    next_meeting: dt.date | None
    next_ready: dt.date | None

    @property
    def in_time(self) -> bool:
        return self.meeting is not None


@dataclass(frozen=True)
class DeadlineAdvice:
    """What the deadline form shows beside the date field, before anything is sent."""

    earliest: dt.date  # the earliest workable deadline
    rows: tuple[MeetingRow, ...]  # chosen nämnder with a sammanträdesplan
    without_plan: tuple[str, ...]  # chosen remissinstanser with no sammanträdesplan
    days_after_meeting: int
    deadline: dt.date | None  # the date the rows were checked against
    warnings: tuple[str, ...]  # what `remiss round start` prints for this deadline

    @property
    def late(self) -> tuple[MeetingRow, ...]:
        return tuple(r for r in self.rows if not r.in_time)


def deadline_advice(
    recipients: Sequence[Remissinstans],
    *,
    today: dt.date,
    deadline: dt.date | None,
    days_after_meeting: int,
) -> DeadlineAdvice:
    """The earliest deadline that gives every chosen nämnd a meeting and `days_after_meeting`
    working days after it (as `remiss round start` warns), and each nämnd's meeting in time
    for `deadline` (or for that earliest day when none is chosen yet)."""
    soonest = dates.add_working_days(today, 1)  # after today, on a working day
    check = check_meetings(
        tuple(recipients),
        send_date=today,
        deadline=deadline or soonest,
        days_after_meeting=days_after_meeting,
    )  # its earliest deadline does not depend on the deadline given
    earliest = max(soonest, check.earliest_deadline or soonest)
    against = deadline or earliest
    rows = []
    for inst in recipients:
        if not inst.meetings:
            continue
        upcoming = [(m, dates.add_working_days(m, days_after_meeting)) for m in inst.meetings]
        upcoming = [(m, r) for m, r in upcoming if m >= today]
        in_time = [(m, r) for m, r in upcoming if r <= against]
        meeting, ready = in_time[-1] if in_time else (None, None)
        next_meeting, next_ready = upcoming[0] if upcoming else (None, None)
        rows.append(MeetingRow(inst.name, meeting, ready, next_meeting, next_ready))
    return DeadlineAdvice(
        earliest=earliest,
        rows=tuple(rows),
        without_plan=tuple(inst.name for inst in recipients if not inst.meetings),
        days_after_meeting=days_after_meeting,
        deadline=against,
        warnings=check.warnings if deadline else (),
    )


def check_workspace_deadline(text: str, *, today: dt.date) -> dt.date:
    """A deadline typed in the workspace: ÅÅÅÅ-MM-DD, after today, on a working day (as
    `remiss round start` without --force). InputError with the field `svar_senast`."""
    try:
        day = dates.parse_date(text.strip())
    except ValueError as exc:
        raise InputError(
            "Skriv datumet som ÅÅÅÅ-MM-DD, till exempel 2026-08-26.",
            field="svar_senast",
            value=text,
        ) from exc
    if day <= today:
        raise InputError(
            f"Svarsdagen måste ligga efter i dag ({dates.swedish_date(today)}).",
            field="svar_senast",
            value=text,
        )
    reason = dates.non_working_reason(day)
    if reason:
        raise InputError(
            f"{dates.swedish_date(day).capitalize()} är ingen arbetsdag ({reason}). "
            "Välj en arbetsdag.",
            field="svar_senast",
            value=text,
        )
    return day


# --- Starting a round from a case prepared in the workspace, exactly once ---------------

# Who pressed "Skicka", kept in the draft until the round is stored: the audit entry is
# written in the transaction that starts the round, and names them.
STARTED_BY = "skickas_av"


def draft_recipients(draft: CaseDraft, register: Register) -> list[Remissinstans]:
    """The remissinstanser chosen in a draft so far (register order, then those ad hoc);
    InputError (field `remissinstanser`) for an entry the register does not know."""
    checked = check_remissinstanser(draft.data, source="utkastet")
    names, ad_hoc = checked[0], checked[1]
    chosen = register.resolve(list(names), source="utkastet", field="remissinstanser")
    return [*chosen, *ad_hoc]


def draft_policy(draft: CaseDraft, settings: Settings) -> Policy:
    """The reminder policy the round would get: the settings' file with the draft's own
    `paminnelser` (as a case file's); the file's alone while the draft's do not parse."""
    base = load_policy(settings.reminder_policy)
    own = (draft.data or {}).get("paminnelser")
    if not isinstance(own, dict):
        return base
    try:
        return parse_policy(own, source="utkastet", base=base)
    except InputError:
        return base


def plan_draft(
    draft: CaseDraft, *, settings: Settings, register: Register, now: dt.datetime
) -> RoundPlan:
    """Everything a round start checks, for a draft: InputError naming the field if the
    draft is not ready to send (as `remiss round start` refuses a case file)."""
    case = case_from_draft(draft, register=register)
    return plan_round(
        case,
        register,
        today=dates.local_today(now, settings.timezone),
        policy=load_policy(settings.reminder_policy),
    )


def open_round_conflict(session: Session, *, diarienummer: str) -> str | None:
    """Why a draft may not start a round now (its diarienummer has an open round), or None."""
    existing = open_round_for(session, diarienummer=diarienummer)
    if existing is None:
        return None
    return (
        f"Det finns redan en pågående remissomgång för {diarienummer} (omgång {existing.id}, "
        f"startad {dates.swedish_date(existing.started_at.date())}). Avsluta den först."
    )


def request_start(
    session: Session,
    *,
    draft: CaseDraft,
    settings: Settings,
    register: Register,
    user: str,
    now: dt.datetime,
) -> bool:
    """Move the draft from draft to starting by compare-and-set, after checking it as the
    start will. False: another request (a double click, a reload) moved it first; nothing
    more to do. Raises InputError or ConflictError, having changed nothing, if it cannot go."""
    plan = plan_draft(draft, settings=settings, register=register, now=now)
    conflict = open_round_conflict(session, diarienummer=plan.case.diarienummer)
    if conflict:
        raise ConflictError(conflict)
    data = {**draft.data, STARTED_BY: user}
    moved = session.execute(
        update(CaseDraft)
        .where(CaseDraft.id == draft.id, CaseDraft.state == DraftState.DRAFT)
        .values(state=DraftState.STARTING, updated_at=now, data=data)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(moved, "rowcount", 0) == 1)


def create_round_from_draft(
    settings: Settings, draft_id: int, *, now: dt.datetime, flow_run_id: str | None = None
) -> int:
    """Store the round of a draft being started, once: in one transaction the case, the
    round, its dispatches and message claims, the draft's handlingar as the case's, the
    draft marked started with its round and the audit entry. A draft already started gives
    its round back unchanged (the job run again after a crash)."""
    register = load_register(settings.register)
    ensure_schema(settings)
    with session_scope(settings.database_url) as session:
        draft = session.scalars(
            select(CaseDraft).where(CaseDraft.id == draft_id).with_for_update()
        ).one_or_none()
        if draft is None:
            raise NotFoundError(f"Det finns inget ärendeutkast {draft_id}.")
        if draft.state == DraftState.STARTED and draft.round_id is not None:
            return draft.round_id
        if draft.state != DraftState.STARTING:
            raise ConflictError(f"Ärendeutkast {draft_id} har inte skickats (läge {draft.state}).")
        # Out of the case's data before it is checked: not a case-file key.
        data = dict(draft.data)
        user = str(data.pop(STARTED_BY, None) or draft.created_by)
        draft.data = data
        plan = plan_draft(draft, settings=settings, register=register, now=now)
        sync_register(session, register=register, now=now)
        # The handlingar are stored already (uploaded to the draft): they become the case's.
        rnd = create_round(
            session,
            plan=replace(plan, case=replace(plan.case, handlingar=())),
            settings=settings,
            now=now,
            flow_run_id=flow_run_id,
        )
        for position, doc in enumerate(draft.documents):
            doc.case_id, doc.position = rnd.case_id, position
        draft.state, draft.round_id, draft.updated_at = DraftState.STARTED, rnd.id, now
        record(
            session,
            user=user,
            action="round_started",
            now=now,
            round_id=rnd.id,
            draft_id=draft.id,
            diarienummer=plan.case.diarienummer,
            remissinstanser=len(plan.recipients),
            svar_senast=plan.deadline.isoformat(),
        )
        return rnd.id


def release_draft(settings: Settings, draft_id: int, *, now: dt.datetime) -> bool:
    """Give a draft whose start was refused (it no longer passes the checks: the deadline
    has passed, a code left the register) back to the handläggare to correct. Only from
    starting, by compare-and-set: a draft already started is never touched."""
    with session_scope(settings.database_url) as session:
        draft = session.scalars(
            select(CaseDraft).where(CaseDraft.id == draft_id).with_for_update()
        ).one_or_none()
        if draft is None or draft.state != DraftState.STARTING:
            return False
        draft.data = {k: v for k, v in draft.data.items() if k != STARTED_BY}
        draft.state, draft.updated_at = DraftState.DRAFT, now
        return True
