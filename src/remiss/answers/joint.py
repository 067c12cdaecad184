"""Joint answers ("gemensamt svar"): one remissinstans names others as standing behind its
answer, and each named partner counts as answered only once it has confirmed.

The rules:

- Storing an answer that names partners creates, in the same transaction, one claim
  (`JointAnswer`, state claimed) per partner, a `joint_claimed` event on the partner's
  dispatch and an e-mail (`gemensamt_svar`) with the partner's own link.
- A new version of the answer carries the standing of the partners it still names over to
  itself (confirmed stays confirmed, no new e-mail); partners it adds get a new claim and
  an e-mail; partners it drops are no longer claimed: their rows stay with the older
  version, for the record, and no longer count (`schedule.joint_claims` reads only the
  current version's).
- The partner confirms or rejects once, through its link; a handläggare may confirm or
  reject (and change a decision) in the workspace, which the audit log records.
- Answers stored before claims had to be confirmed have `joint_with` but no rows: they
  count as claimed (not answered) when read, and `adopt_unrecorded_claims` stores their
  rows, tells the partners and puts them back in the reminder sweep.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import String, cast, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from remiss.audit.log import record
from remiss.core.errors import ConflictError, InputError, NotFoundError
from remiss.core.settings import Settings
from remiss.core.states import EventKind, JointState, MessageKind, RoundState
from remiss.db.engine import savepoint, session_scope
from remiss.db.events import log_event
from remiss.db.models import Answer, Dispatch, JointAnswer, OutgoingMessage, Round
from remiss.reminders import schedule
from remiss.reminders.schedule import JointClaim, joint_claims
from remiss.rounds.service import queue_message

VIA_LINK = "länken"
VIA_WORKSPACE = "arbetsytan"


@dataclass(frozen=True)
class ClaimView:
    """A claim in force with what a page shows of it."""

    claim: JointClaim
    answer: Answer
    claimant: Dispatch
    partner: Dispatch
    decided_at: dt.datetime | None
    decided_by: str | None

    @property
    def state(self) -> JointState:
        return self.claim.state


def _views(session: Session, claims: list[JointClaim]) -> list[ClaimView]:
    views = []
    for c in claims:
        row = session.get(JointAnswer, c.row_id) if c.row_id is not None else None
        views.append(
            ClaimView(
                claim=c,
                answer=session.get_one(Answer, c.answer_id),
                claimant=session.get_one(Dispatch, c.claimant_dispatch_id),
                partner=session.get_one(Dispatch, c.partner_dispatch_id),
                decided_at=row.decided_at if row else None,
                decided_by=row.decided_by if row else None,
            )
        )
    return views


def claims_naming(session: Session, *, partner: Dispatch) -> list[ClaimView]:
    """The claims in force that name this dispatch as a partner (its answer page)."""
    claims = joint_claims(session, round_id=partner.round_id)
    return _views(session, [c for c in claims if c.partner_dispatch_id == partner.id])


def claims_made_by(session: Session, *, claimant: Dispatch) -> list[ClaimView]:
    """The claims in force of this dispatch's current answer (what its partners said)."""
    claims = joint_claims(session, round_id=claimant.round_id)
    return _views(session, [c for c in claims if c.claimant_dispatch_id == claimant.id])


def claims_about(
    session: Session, *, dispatch: Dispatch
) -> tuple[list[ClaimView], list[ClaimView]]:
    """The claims naming this dispatch and those it made (its answer page), with the
    round's claims read once for both."""
    claims = joint_claims(session, round_id=dispatch.round_id)
    naming = _views(session, [c for c in claims if c.partner_dispatch_id == dispatch.id])
    made = _views(session, [c for c in claims if c.claimant_dispatch_id == dispatch.id])
    return naming, made


def claims_of_round(session: Session, *, round_id: int) -> list[ClaimView]:
    """Every claim in force in the round (the workspace page), in the claimants' order."""
    return _views(session, joint_claims(session, round_id=round_id))


def _new_claim(
    session: Session,
    *,
    answer: Answer,
    claimant: Dispatch,
    partner: Dispatch,
    now: dt.datetime,
    created_at: dt.datetime,
    stored_before: bool = False,
) -> JointAnswer:
    """A claimed row, the partner's event and its e-mail; the partner back in the sweep."""
    row = JointAnswer(
        answer_id=answer.id,
        partner_dispatch_id=partner.id,
        state=JointState.CLAIMED,
        created_at=created_at,
    )
    session.add(row)
    session.flush()
    message_id = None
    # A partner whose remissmissiv has not been composed has no link to send yet; it sees
    # the claim on its page when the remissmissiv brings the link.
    if partner.token_nonce is not None:
        message_id = queue_message(
            session, dispatch=partner, kind=MessageKind.GEMENSAMT_SVAR, stage=row.id
        ).id
    detail: dict[str, object] = {
        "answer_id": answer.id,
        "version": answer.version,
        "claimant": claimant.remissinstans.code,
        "claimant_name": claimant.name,
        "message_id": message_id,
    }
    if stored_before:
        detail["stored_before_confirmation"] = True
    log_event(session, dispatch_id=partner.id, kind=EventKind.JOINT_CLAIMED, now=now, **detail)
    _look_again(partner, now)
    return row


def _look_again(partner: Dispatch, now: dt.datetime) -> None:
    """Make the reminder sweep look at a partner whose standing changed.

    The sweep recomputes its schedule from the rules when it comes (cheaper and with the
    round's own policy and time zone than doing it here). A partner with a schedule needs
    nothing: the rules already counted it as not answered."""
    if (
        partner.next_reminder_at is None
        and partner.current_answer is None
        and partner.declined_at is None
        and partner.round.state == RoundState.OPEN
    ):
        partner.next_reminder_at = now


def record_claims(session: Session, *, answer: Answer, now: dt.datetime) -> list[JointAnswer]:
    """The claims of a newly stored answer version (in the caller's transaction); the rows
    created or carried over from the previous version."""
    claimant = session.get_one(Dispatch, answer.dispatch_id)
    partners = {d.remissinstans.code: d for d in claimant.round.dispatches if d.id != claimant.id}
    previous = session.scalars(
        select(Answer).where(
            Answer.dispatch_id == claimant.id, Answer.version == answer.version - 1
        )
    ).first()
    before: dict[int, JointAnswer] = {}
    if previous is not None:
        before = {
            j.partner_dispatch_id: j
            for j in session.scalars(
                select(JointAnswer).where(JointAnswer.answer_id == previous.id)
            )
        }
    rows = []
    named = set()
    for code in answer.joint_with:
        partner = partners.get(code)
        if partner is None:
            continue
        named.add(partner.id)
        kept = before.get(partner.id)
        if kept is not None:
            # Still named: the partner keeps its standing; asking again would be noise.
            row = JointAnswer(
                answer_id=answer.id,
                partner_dispatch_id=partner.id,
                state=kept.state,
                created_at=kept.created_at,
                decided_at=kept.decided_at,
                decided_by=kept.decided_by,
            )
            session.add(row)
            rows.append(row)
            continue
        rows.append(
            _new_claim(
                session, answer=answer, claimant=claimant, partner=partner, now=now, created_at=now
            )
        )
    earlier = set(before) | {
        partners[c].id for c in (previous.joint_with if previous else []) if c in partners
    }
    dropped = earlier - named
    for partner_id in dropped:
        # No longer claimed: a confirmation given to an earlier version counts no more.
        _look_again(session.get_one(Dispatch, partner_id), now)
    session.flush()
    return rows


def request_messages(session: Session, *, answer_id: int) -> list[int]:
    """The e-mails asking partners to confirm this answer version, oldest first."""
    return list(
        session.scalars(
            select(OutgoingMessage.id)
            .join(JointAnswer, JointAnswer.id == OutgoingMessage.stage)
            .where(
                OutgoingMessage.kind == MessageKind.GEMENSAMT_SVAR,
                OutgoingMessage.dispatch_id == JointAnswer.partner_dispatch_id,
                JointAnswer.answer_id == answer_id,
            )
            .order_by(OutgoingMessage.id)
        )
    )


def requests_of_answer(settings: Settings, *, answer_id: int) -> list[int]:
    with session_scope(settings.database_url) as session:
        return request_messages(session, answer_id=answer_id)


def adopt_unrecorded_claims(session: Session, *, now: dt.datetime) -> list[int]:
    """Store the claims of current answers given before joint answers needed confirming.

    Such an answer named its partners in `joint_with` only, and they were counted as
    answered without being asked. They are claims not yet confirmed: each gets its row,
    its event, its e-mail, and the reminder sweep looks at the partner again. Idempotent;
    only open rounds. Returns the e-mails queued."""
    candidates = session.scalars(
        select(Answer)
        .join(Dispatch)
        .join(Round)
        .where(
            Round.state == RoundState.OPEN,
            cast(Answer.joint_with, String) != "[]",
            ~exists().where(JointAnswer.answer_id == Answer.id),
        )
        .order_by(Answer.id)
    ).all()
    queued = []
    for answer in candidates:
        claimant = answer.dispatch
        if claimant.current_answer is not answer or not answer.joint_with:
            continue
        partners = {d.remissinstans.code: d for d in claimant.round.dispatches}
        for code in answer.joint_with:
            partner = partners.get(code)
            if partner is None or partner.id == claimant.id:
                continue
            row = _new_claim(
                session,
                answer=answer,
                claimant=claimant,
                partner=partner,
                now=now,
                created_at=answer.submitted_at,
                stored_before=True,
            )
            queued += request_messages_for_row(session, row)
    return queued


def request_messages_for_row(session: Session, row: JointAnswer) -> list[int]:
    return list(
        session.scalars(
            select(OutgoingMessage.id).where(
                OutgoingMessage.kind == MessageKind.GEMENSAMT_SVAR,
                OutgoingMessage.dispatch_id == row.partner_dispatch_id,
                OutgoingMessage.stage == row.id,
            )
        )
    )


def adopt(settings: Settings, *, now: dt.datetime) -> list[int]:
    with session_scope(settings.database_url) as session:
        return adopt_unrecorded_claims(session, now=now)


def _in_force(
    session: Session, *, round_id: int, answer_id: int, partner_dispatch_id: int
) -> JointClaim | None:
    return next(
        (
            c
            for c in joint_claims(session, round_id=round_id)
            if c.answer_id == answer_id and c.partner_dispatch_id == partner_dispatch_id
        ),
        None,
    )


def _locked_row(session: Session, claim: JointClaim, *, now: dt.datetime) -> JointAnswer:
    """The claim's row, locked for the decision; stored first for an answer from before
    confirmations (a concurrent decision that stored it first wins the insert)."""
    if claim.row_id is None:
        answer = session.get_one(Answer, claim.answer_id)
        try:
            with savepoint(session):
                session.add(
                    JointAnswer(
                        answer_id=claim.answer_id,
                        partner_dispatch_id=claim.partner_dispatch_id,
                        state=JointState.CLAIMED,
                        created_at=answer.submitted_at,
                    )
                )
                session.flush()
        except IntegrityError:
            pass
    return session.scalars(
        select(JointAnswer)
        .where(
            JointAnswer.answer_id == claim.answer_id,
            JointAnswer.partner_dispatch_id == claim.partner_dispatch_id,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _decide(
    session: Session,
    row: JointAnswer,
    *,
    target: JointState,
    by: str,
    via: str,
    now: dt.datetime,
    tz: str,
) -> None:
    answer = session.get_one(Answer, row.answer_id)
    claimant = session.get_one(Dispatch, answer.dispatch_id)
    partner = session.get_one(Dispatch, row.partner_dispatch_id)
    previous = row.state
    row.state = target
    row.decided_at = now
    row.decided_by = by
    log_event(
        session,
        dispatch_id=partner.id,
        kind=EventKind.JOINT_CONFIRMED
        if target == JointState.CONFIRMED
        else EventKind.JOINT_REJECTED,
        now=now,
        answer_id=answer.id,
        version=answer.version,
        claimant=claimant.remissinstans.code,
        claimant_name=claimant.name,
        by=by,
        via=via,
        previous=previous.value,
    )
    schedule.refresh(session, dispatch=partner, tz=tz, now=now)


def decide_by_partner(
    session: Session,
    *,
    partner: Dispatch,
    answer_id: int,
    confirm: bool,
    now: dt.datetime,
    tz: str,
) -> bool:
    """The partner confirms ("Vi står bakom svaret") or rejects ("Vi svarar själva") through
    its link, once. The same decision again changes nothing (a double submit); False then."""
    if partner.round.state == RoundState.CLOSED:
        raise InputError("Remissomgången är avslutad; det går inte längre att svara via länken.")
    claim = _in_force(
        session, round_id=partner.round_id, answer_id=answer_id, partner_dispatch_id=partner.id
    )
    if claim is None:
        raise InputError(
            "Det gemensamma svaret gäller inte längre i den form ni såg: den som lämnade det har "
            "skickat en ny version. Läs det som står på sidan nu och välj igen.",
            field="gemensamt-beslut",
        )
    row = _locked_row(session, claim, now=now)
    target = JointState.CONFIRMED if confirm else JointState.REJECTED
    if row.state == target:
        return False
    if row.state != JointState.CLAIMED:
        raise InputError(
            "Ni har redan lämnat besked om det gemensamma svaret. Kontakta handläggaren om ni "
            "vill ändra det.",
            field="gemensamt-beslut",
        )
    _decide(session, row, target=target, by=partner.name, via=VIA_LINK, now=now, tz=tz)
    return True


def decide_by_staff(
    session: Session,
    *,
    round_id: int,
    answer_id: int,
    partner_dispatch_id: int,
    confirm: bool,
    user: str,
    now: dt.datetime,
    tz: str,
) -> bool:
    """A handläggare confirms or rejects a claim (also one the partner decided, which the
    audit log then shows); the same decision again changes nothing (False)."""
    claim = _in_force(
        session, round_id=round_id, answer_id=answer_id, partner_dispatch_id=partner_dispatch_id
    )
    if claim is None:
        answer = session.get(Answer, answer_id)
        partner = session.get(Dispatch, partner_dispatch_id)
        if (
            answer is None
            or partner is None
            or answer.dispatch.round_id != round_id
            or partner.round_id != round_id
            or partner.remissinstans.code not in answer.joint_with
        ):
            raise NotFoundError("Det gemensamma svaret finns inte i den här remissomgången.")
        # It was claimed, by a version that a newer one has since replaced.
        raise ConflictError(
            f"{answer.dispatch.name} har lämnat en ny version av svaret efter den ni såg. Läs "
            "sidan igen och ta ställning till den version som gäller nu."
        )
    row = _locked_row(session, claim, now=now)
    target = JointState.CONFIRMED if confirm else JointState.REJECTED
    if row.state == target:
        return False
    previous = row.state
    _decide(session, row, target=target, by=user, via=VIA_WORKSPACE, now=now, tz=tz)
    answer = session.get_one(Answer, answer_id)
    partner = session.get_one(Dispatch, partner_dispatch_id)
    record(
        session,
        user=user,
        action="joint_confirmed" if confirm else "joint_rejected",
        now=now,
        round_id=round_id,
        claimant=answer.dispatch.remissinstans.code,
        claimant_name=answer.dispatch.name,
        partner=partner.remissinstans.code,
        partner_name=partner.name,
        answer_id=answer.id,
        version=answer.version,
        previous=previous.value,
    )
    return True
