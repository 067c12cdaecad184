"""When a dispatch next needs the sweep, and to whom a reminder goes: the reminder rules
applied to what is stored of a dispatch (loaded, not queried one by one)."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, any_, bindparam, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, joinedload, object_session, selectinload

from remiss.core.errors import InputError
from remiss.core.states import (
    PAMINNELSE_PREFIX,
    AnstandState,
    EventKind,
    JointState,
    RoundState,
)
from remiss.db.models import (
    Anstand,
    Answer,
    Dispatch,
    Event,
    JointAnswer,
    OutgoingMessage,
    RemissinstansRow,
    Round,
)
from remiss.reminders.policy import (
    ESKALERING,
    DispatchFacts,
    Policy,
    next_reminder_at,
    parse_policy,
)


def round_policy(rnd: Round) -> Policy:
    return parse_policy(rnd.reminder_policy or {}, source=f"omgång {rnd.id}")


@dataclass(frozen=True)
class JointClaim:
    """One remissinstans named as a partner in the current answer of another.

    In force only while the claimant's current answer names it: a new version that drops
    the partner ends the claim (its row stays, for the record). `row_id` None: an answer
    stored before joint answers had to be confirmed, which counts as claimed."""

    answer_id: int
    version: int
    claimant_dispatch_id: int
    partner_dispatch_id: int
    partner_code: str
    state: JointState
    row_id: int | None

    @property
    def confirmed(self) -> bool:
        return self.state == JointState.CONFIRMED


def joint_claims(session: Session, *, round_id: int) -> list[JointClaim]:
    """The joint-answer claims in force in a round, by claimant and partner (three queries)."""
    rows = session.execute(
        select(Answer.id, Answer.dispatch_id, Answer.version, Answer.joint_with)
        .join(Dispatch)
        .where(Dispatch.round_id == round_id)
        .order_by(Answer.dispatch_id, Answer.version)
    ).all()
    current = {dispatch_id: (aid, version, joint) for aid, dispatch_id, version, joint in rows}
    named = {k: v for k, v in current.items() if v[2]}  # the last version wins
    if not named:
        return []
    codes = dict(
        session.execute(
            select(RemissinstansRow.code, Dispatch.id)
            .join(Dispatch, Dispatch.remissinstans_id == RemissinstansRow.id)
            .where(Dispatch.round_id == round_id)
        ).all()
    )
    stored = {
        (j.answer_id, j.partner_dispatch_id): j
        for j in session.scalars(
            select(JointAnswer).where(JointAnswer.answer_id.in_([v[0] for v in named.values()]))
        )
    }
    claims = []
    for claimant, (answer_id, version, joint) in named.items():
        for code in joint:
            partner = codes.get(code)
            if partner is None or partner == claimant:
                continue
            row = stored.get((answer_id, partner))
            claims.append(
                JointClaim(
                    answer_id=answer_id,
                    version=version,
                    claimant_dispatch_id=claimant,
                    partner_dispatch_id=partner,
                    partner_code=code,
                    state=row.state if row else JointState.CLAIMED,
                    row_id=row.id if row else None,
                )
            )
    return claims


def joint_row(session: Session, row_id: int) -> JointAnswer:
    """One stored claim (the e-mail asking its partner names it by id)."""
    return session.get_one(JointAnswer, row_id)


def jointly_answered(session: Session, *, round_id: int) -> set[str]:
    """Codes of the round's remissinstanser that have confirmed being part of another's
    current answer: only these count as answered through it (claimed or rejected do not)."""
    return {c.partner_code for c in joint_claims(session, round_id=round_id) if c.confirmed}


def is_done(dispatch: Dispatch, joint: set[str] | None = None) -> bool:
    """Answered (by itself, or in another's joint answer it has confirmed) or declined.
    An e-mail that waits for review, or was judged not to be an answer, is not an answer.

    `joint`: jointly_answered() for the round, when the caller checks many dispatches.
    """
    if dispatch.answered or dispatch.declined_at is not None:
        return True
    if joint is None:
        session = object_session(dispatch)
        assert session is not None
        joint = jointly_answered(session, round_id=dispatch.round_id)
    return dispatch.remissinstans.code in joint


def facts(dispatch: Dispatch, joint: set[str] | None = None) -> DispatchFacts:
    return DispatchFacts(
        deadline=dispatch.deadline,
        sent_at=dispatch.sent_at,
        done=is_done(dispatch, joint) or dispatch.round.state != RoundState.OPEN,
        sent_stages=frozenset(
            (m.kind, m.stage) for m in dispatch.messages if m.kind.startswith(PAMINNELSE_PREFIX)
        ),
        # A deadline set later (an anstånd granted, or the round's extended for everyone)
        # has its schedule counted from then: stages already past are not sent late.
        anstand_decided_at=max(
            [
                a.decided_at
                for a in dispatch.anstand
                if a.state == AnstandState.GRANTED and a.decided_at
            ]
            + [e.at for e in dispatch.events if e.kind == "deadline_extended"],
            default=None,
        ),
    )


def reschedule(
    dispatch: Dispatch, *, tz: str, now: dt.datetime, joint: set[str] | None = None
) -> None:
    """Recompute when the sweep next needs this dispatch, from what is loaded of it now."""
    dispatch.next_reminder_at = next_reminder_at(
        facts(dispatch, joint), round_policy(dispatch.round), tz, now=now
    )


def refresh(session: Session, *, dispatch: Dispatch, tz: str, now: dt.datetime) -> None:
    """Reload what the rules read and reschedule (after a send, answer, anstånd...)."""
    session.flush()
    session.refresh(dispatch, ["messages", "answers", "anstand"])
    reschedule(dispatch, tz=tz, now=now)


def load_for_rules(session: Session, *, dispatch_ids: Sequence[int]) -> list[Dispatch]:
    """Load these dispatches and all the rules read of them, a few queries for all of them.

    Lazy loading took some ten queries per dispatch. Keep the returned list while working
    on them: the session holds its objects only weakly.
    """
    return list(
        session.scalars(
            select(Dispatch)
            .where(Dispatch.id.in_(dispatch_ids))
            .options(
                selectinload(Dispatch.messages),
                selectinload(Dispatch.answers),
                selectinload(Dispatch.anstand),
                selectinload(Dispatch.events),
                joinedload(Dispatch.round),
                joinedload(Dispatch.remissinstans),
            )
        )
    )


def among(session: Session, column: Any, ids: Sequence[int]) -> Any:
    """`column IN ids` for a batch of a thousand: on PostgreSQL one array parameter, as a
    thousand parameters cost more to send and parse than the query takes to run."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=postgresql.ARRAY(Integer)))
    return column.in_(ids)


@functools.lru_cache(maxsize=256)
def _parsed_policy(stored: str) -> Policy:
    return parse_policy(json.loads(stored), source="påminnelsepolicyn")


def _stored_policy(stored: str, round_id: int) -> Policy:
    """A round's policy; rounds mostly share the same few, so each is parsed once. (A stored
    policy was checked when its round started: a message naming the round is for the rare
    one that no longer parses.)"""
    try:
        return _parsed_policy(stored)
    except InputError:
        return parse_policy(json.loads(stored), source=f"omgång {round_id}")


@dataclass(frozen=True)
class RuleInput:
    """What the reminder rules need of one dispatch, and what its reminders' keys are made of."""

    facts: DispatchFacts
    policy: Policy
    round_uid: str
    code: str


def rule_inputs(session: Session, *, dispatch_ids: Sequence[int]) -> dict[int, RuleInput]:
    """The same facts as facts() for many dispatches, read as rows in a handful of queries
    whatever their number: no objects are built, so a sweep of thousands stays in seconds.

    Rounds where any of these dispatches has confirmed a joint answer get jointly_answered()
    (the one home of that rule); elsewhere no confirmed row means no dispatch is done by it.
    """
    ids = list(dispatch_ids)
    base = session.execute(
        select(
            Dispatch.id,
            Dispatch.deadline,
            Dispatch.sent_at,
            Dispatch.declined_at,
            Dispatch.round_id,
            Round.uid,
            Round.state,
            Round.reminder_policy,
            RemissinstansRow.code,
        )
        .join(Round, Dispatch.round_id == Round.id)
        .join(RemissinstansRow, Dispatch.remissinstans_id == RemissinstansRow.id)
        .where(among(session, Dispatch.id, ids))
    ).all()
    # The same rule as Dispatch.answered: an e-mail not yet reviewed does not count.
    answered = set(
        session.scalars(
            select(Answer.dispatch_id)
            .where(
                among(session, Answer.dispatch_id, ids),
                Answer.needs_review.is_(False),
                Answer.rejected_at.is_(None),
            )
            .distinct()
        )
    )
    stages: dict[int, set[tuple[str, int]]] = defaultdict(set)
    for dispatch_id, kind, stage in session.execute(
        select(OutgoingMessage.dispatch_id, OutgoingMessage.kind, OutgoingMessage.stage).where(
            among(session, OutgoingMessage.dispatch_id, ids),
            OutgoingMessage.kind.startswith(PAMINNELSE_PREFIX),
        )
    ):
        stages[dispatch_id].add((kind, stage))
    later_deadline: dict[int, list[dt.datetime]] = defaultdict(list)
    granted = select(Anstand.dispatch_id, Anstand.decided_at).where(
        among(session, Anstand.dispatch_id, ids),
        Anstand.state == AnstandState.GRANTED,
        Anstand.decided_at.is_not(None),
    )
    extended = select(Event.dispatch_id, Event.at).where(
        among(session, Event.dispatch_id, ids), Event.kind == EventKind.DEADLINE_EXTENDED
    )
    for query in (granted, extended):
        for dispatch_id, at in session.execute(query).all():
            if at is not None:
                later_deadline[dispatch_id].append(at)
    joint_rounds = session.scalars(
        select(Dispatch.round_id)
        .join(JointAnswer, JointAnswer.partner_dispatch_id == Dispatch.id)
        .where(among(session, Dispatch.id, ids), JointAnswer.state == JointState.CONFIRMED)
        .distinct()
    ).all()
    joint = {r: jointly_answered(session, round_id=r) for r in joint_rounds}
    policies: dict[int, Policy] = {}
    inputs = {}
    for row in base:
        if row.round_id not in policies:
            policies[row.round_id] = _stored_policy(
                json.dumps(row.reminder_policy or {}, sort_keys=True), row.round_id
            )
        done = (
            row.id in answered
            or row.declined_at is not None
            or row.code in joint.get(row.round_id, ())
            or row.state != RoundState.OPEN
        )
        inputs[row.id] = RuleInput(
            facts=DispatchFacts(
                deadline=row.deadline,
                sent_at=row.sent_at,
                done=done,
                sent_stages=frozenset(stages.get(row.id, ())),
                anstand_decided_at=max(later_deadline.get(row.id, ()), default=None),
            ),
            policy=policies[row.round_id],
            round_uid=row.uid,
            code=row.code,
        )
    return inputs


ESCALATION_ROLES = {"förvaltningschef", "eskalering", "vd", "ordförande"}


def escalation_contacts(dispatch: Dispatch) -> list[dict[str, Any]]:
    return [
        c
        for c in dispatch.remissinstans.contacts
        if (c.get("roll") or "").lower() in ESCALATION_ROLES
    ]


def reminder_recipients(
    dispatch: Dispatch, stage_kind: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(to, cc): escalations go to the escalation contact with the handläggare in copy."""
    handlaggare = dispatch.round.case.handlaggare_epost
    if stage_kind == ESKALERING:
        escalation = escalation_contacts(dispatch)
        if escalation:
            return tuple(c["epost"] for c in escalation), (dispatch.email, handlaggare)
        return (dispatch.email,), (handlaggare,)
    return (dispatch.email,), ((dispatch.contact_email,) if dispatch.contact_email else ())
