"""The remissammanställning: what it says, built from one round (no rendering here)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy.orm import object_session

from remiss.core import dates, language
from remiss.core.rendering import swedish_list
from remiss.core.states import AnstandState, JointState, RoundState
from remiss.core.terms import NOT_REVIEWED, POSITION_LABELS, STALLNINGSTAGANDEN
from remiss.db.models import Answer, Dispatch, Round
from remiss.reminders.schedule import JointClaim, is_done, joint_claims, jointly_answered
from remiss.report.answer_reading import DocumentView, read_answer, source_note
from remiss.report.reading import view_in_voice
from remiss.rounds.status import SENDER_OUTSIDE, sender_outside

# The kinds of remissinstans in the order a Stockholm utlåtande names them.
KIND_ORDER = ("namnd", "stadsdelsnamnd", "bolag", "rad", "extern")
# What an answer takes a view on, by ärendetyp: the noun and whether it is neuter.
OBJECTS: dict[str, tuple[str, bool]] = {
    "motion": ("motionen", False),
    "skrivelse": ("skrivelsen", False),
    "promemoria": ("promemorian", False),
    "betankande": ("betänkandet", True),
    "rapport": ("rapporten", False),
    "forslag": ("förslaget", True),
    "ovrigt": ("förslaget", True),
}


@dataclass(frozen=True)
class Row:
    name: str
    position: str
    per_sats: tuple[str, ...]
    answered_on: str
    remarks: tuple[str, ...]


@dataclass(frozen=True)
class Section:
    """One answer in the Beredning: the body as subject, its view in its own words."""

    name: str
    position: str
    lead: str  # "Utbildningsnämnden tillstyrker motionen."
    paragraphs: tuple[str, ...]  # the view; empty when neither the form nor a file gives one
    text_source: str  # "" (the official's words) or where the text was taken from
    decision: str | None
    joint_with: tuple[str, ...]
    reservationer: str | None
    sarskilda_uttalanden: str | None
    late: bool
    channel: str
    unreadable: tuple[str, ...] = ()  # files whose text could not be read


@dataclass(frozen=True)
class Bilaga:
    number: int
    title: str
    kind: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Report:
    diarienummer: str
    rubrik: str
    arendetyp: str
    motionarer: tuple[str, ...]
    att_satser: tuple[str, ...]
    sent_on: dt.date | None
    deadline: dt.date
    compiled_at: dt.datetime
    compiled_on: dt.date  # the local date the report carries (no time of day on paper)
    final: bool
    beredning: tuple[str, ...]  # the paragraphs before the answers, naming every remissinstans
    rows: tuple[Row, ...]
    sections: tuple[Section, ...]
    declined: tuple[tuple[str, str | None], ...]
    silent: tuple[str, ...]
    bilagor: tuple[Bilaga, ...]
    warnings: tuple[str, ...] = ()  # for the working copy: what a person should check
    handlaggare: str = ""
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def status_label(self) -> str:
        return "Slutlig" if self.final else "Preliminär"

    @property
    def proposers(self) -> str:
        """Who proposes the att-satser: 'Motionären', 'Motionärerna' or 'Det'."""
        return language.proposers(len(self.motionarer)) if self.motionarer else ""


def _joint_answer_for(dispatch: Dispatch, claims: list[JointClaim]) -> Answer | None:
    """The joint answer that counts as the dispatch's: one it has confirmed."""
    for c in claims:
        if c.partner_dispatch_id == dispatch.id and c.state == JointState.CONFIRMED:
            return next(
                d for d in dispatch.round.dispatches if d.id == c.claimant_dispatch_id
            ).current_answer
    return None


def _names_by_state(
    claims: list[JointClaim], names: dict[int, str], *, claimant: int, state: JointState
) -> list[str]:
    return [
        language.in_sentence(names[c.partner_dispatch_id])
        for c in claims
        if c.claimant_dispatch_id == claimant and c.state == state
    ]


def _ordered(rnd: Round) -> list[Dispatch]:
    """The round's remissinstanser as an utlåtande names them: nämnder, stadsdelsnämnder,
    bolag, råd, then outside organisations, each group in the register's order."""

    def key(d: Dispatch) -> tuple[int, int, int]:
        kind = d.remissinstans.kind if d.remissinstans is not None else "extern"
        rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
        return rank, d.remissinstans_id, d.id

    return sorted(rnd.dispatches, key=key)


def _object(case_type: str) -> tuple[str, bool]:
    return OBJECTS.get(case_type, ("förslaget", True))


def position_sentence(name: str, position: str, case_type: str) -> str:
    """'Utbildningsnämnden tillstyrker motionen.' with the body as subject."""
    noun, neuter = _object(case_type)
    verb = {
        "tillstyrker": f"tillstyrker {noun}",
        "tillstyrker_delvis": f"tillstyrker delvis {noun}",
        "avstyrker": f"avstyrker {noun}",
        "inga_synpunkter": f"har inga synpunkter på {noun}",
        "besvarad": f"anser {noun} {'besvarat' if neuter else 'besvarad'}",
    }.get(position)
    if verb is None:
        return _not_reviewed(name)
    return f"{name} {verb}."


def _review_summary(dispatches: list[Dispatch]) -> list[str]:
    """How many answers wait for review, first in the working copy's list; and each one
    from an address outside the remissinstans (a private address, a forward)."""
    waiting = [d for d in dispatches if d.current_answer and d.current_answer.needs_review]
    if not waiting:
        return []
    count = language.count(len(waiting), "svar", "svar", neuter=True)
    out = [
        language.sentence(
            f"{count} som kom med e-post ska granskas innan sammanställningen används."
        )
    ]
    for d in waiting:
        answer = d.current_answer
        assert answer is not None
        if sender_outside(answer, d):
            out.append(
                f"{language.genitive(d.name)} svar kom från {answer.contact_email}: "
                f"{SENDER_OUTSIDE}."
            )
    return out


def _not_reviewed(name: str) -> str:
    return f"{language.genitive(name)} svar kom med e-post och är ännu inte granskat."


def _per_sats_sentence(answer: Answer, numbers: list[int]) -> str | None:
    """'Nämnden avstyrker att-sats 1 och tillstyrker att-sats 2.' when it says so per sats."""
    by_position: dict[str, list[str]] = {}
    for n in numbers:
        pos = answer.att_sats_positions.get(str(n))
        if pos in STALLNINGSTAGANDEN:
            by_position.setdefault(pos, []).append(str(n))
    if not by_position or (len(by_position) == 1 and answer.position in by_position):
        return None
    parts = []
    for pos, sats in by_position.items():
        what = (
            f"att-sats {swedish_list(sats)}"
            if len(sats) == 1
            else f"att-satserna {swedish_list(sats)}"
        )
        parts.append(
            f"har inga synpunkter på {what}"
            if pos == "inga_synpunkter"
            else f"anser {what} {'besvarad' if len(sats) == 1 else 'besvarade'}"
            if pos == "besvarad"
            else f"{STALLNINGSTAGANDEN[pos]} {what}"
        )
    return swedish_list(parts)


def _view(
    name: str, voice: str, answer: Answer, case_dnr: str, case_title: str
) -> tuple[DocumentView, tuple[str, ...], str]:
    """The body's view as the report shows it, and where it was taken from: the
    official's own words, else the stance of its file, both in the voice of the body (or
    of all who answered jointly)."""
    found = read_answer(answer, body=voice, case_dnr=case_dnr, case_title=case_title)
    if answer.summary:
        return found, (view_in_voice(answer.summary, voice),), ""
    return found, found.view, source_note(name, found) if found.view else ""


def _decision(name: str, answer: Answer) -> str | None:
    if answer.decision_date is None:
        return None
    paragraph = f", {answer.decision_paragraph}" if answer.decision_paragraph else ""
    return f"{name} beslutade i ärendet den {dates.swedish_date(answer.decision_date)}{paragraph}."


def build_report(rnd: Round, *, now: dt.datetime, tz: str) -> Report:
    case = rnd.case
    deadline_end = {d.id: dates.deadline_end(d.deadline, tz) for d in rnd.dispatches}
    rows: list[Row] = []
    sections: list[Section] = []
    declined: list[tuple[str, str | None]] = []
    silent: list[str] = []
    bounced: list[str] = []
    late: list[str] = []
    anstand_notes: list[str] = []
    joint_notes: list[str] = []
    warnings: list[str] = []
    positions: Counter[str] = Counter()
    bilagor: list[Bilaga] = []
    numbers = [a.number for a in case.att_satser]
    session = object_session(rnd)
    assert session is not None
    claims = joint_claims(session, round_id=rnd.id)
    by_id = {d.id: d.name for d in rnd.dispatches}
    ordered = _ordered(rnd)

    for dispatch in ordered:
        answer = dispatch.current_answer
        joint = _joint_answer_for(dispatch, claims) if answer is None else None
        granted = [a for a in dispatch.anstand if a.state == AnstandState.GRANTED]
        remarks: list[str] = []
        if granted:
            remarks.append(f"anstånd till {granted[-1].granted_date}")
        given = answer or joint
        if given is not None:
            positions[given.position] += 1
            is_late = given.submitted_at > deadline_end[dispatch.id]
            if is_late:
                remarks.append("inkom efter svarstiden")
                if answer is not None:
                    late.append(dispatch.name)
            if joint is not None:
                remarks.append(f"gemensamt svar med {language.in_sentence(joint.dispatch.name)}")
            if given.channel == "email":
                remarks.append("inkom med e-post")
            if given.decision_date:
                paragraph = f" {given.decision_paragraph}" if given.decision_paragraph else ""
                remarks.append(f"beslut {given.decision_date.isoformat()}{paragraph}")
            rows.append(
                Row(
                    name=dispatch.name,
                    position=POSITION_LABELS[given.position].capitalize(),
                    per_sats=tuple(
                        POSITION_LABELS.get(
                            given.att_sats_positions.get(str(n), ""), "–"
                        ).capitalize()
                        for n in numbers
                    ),
                    answered_on=dates.local_today(given.submitted_at, tz).isoformat(),
                    remarks=tuple(remarks),
                )
            )
            if answer is not None:
                confirmed = _names_by_state(
                    claims, by_id, claimant=dispatch.id, state=JointState.CONFIRMED
                )
                # A joint answer's text speaks for all who stand behind it.
                voice = swedish_list([dispatch.name, *confirmed])
                found, paragraphs, source = _view(
                    dispatch.name, voice, answer, case.diarienummer, case.rubrik
                )
                lead = position_sentence(dispatch.name, answer.position, case.arendetyp)
                per_sats = _per_sats_sentence(answer, numbers)
                if per_sats:
                    lead += f" {language.sentence(_subject_pronoun(dispatch.name))} {per_sats}."
                sections.append(
                    Section(
                        name=dispatch.name,
                        position=POSITION_LABELS[answer.position],
                        lead=lead,
                        paragraphs=paragraphs,
                        text_source=source,
                        decision=_decision(dispatch.name, answer),
                        joint_with=tuple(confirmed),
                        reservationer=answer.reservationer,
                        sarskilda_uttalanden=answer.sarskilda_uttalanden,
                        late=is_late,
                        channel=answer.channel,
                        unreadable=found.unreadable,
                    )
                )
                warnings.extend(_warnings(dispatch.name, answer, found))
                for document in answer.documents:
                    kind = {"application/pdf": "PDF"}.get(
                        document.content_type,
                        "Word" if "wordprocessingml" in document.content_type else "ODT",
                    )
                    bilagor.append(
                        Bilaga(
                            number=len(bilagor) + 1,
                            title=f"{language.genitive(dispatch.name)} svar, {document.filename}",
                            kind=kind,
                            sha256=document.sha256,
                            size=document.size,
                        )
                    )
        elif dispatch.declined_at is not None:
            declined.append((dispatch.name, dispatch.decline_reason))
            rows.append(
                Row(dispatch.name, "Avstår", tuple("–" for _ in numbers), "–", tuple(remarks))
            )
        else:
            silent.append(dispatch.name)
            if dispatch.bounced_at is not None:
                remarks.append("remissen kom inte fram (e-posten studsade)")
                bounced.append(dispatch.name)
            for c in claims:
                if c.partner_dispatch_id != dispatch.id:
                    continue
                claimant = language.in_sentence(by_id[c.claimant_dispatch_id])
                if c.state == JointState.CLAIMED:
                    remarks.append(f"angiven i gemensamt svar med {claimant}, ej bekräftat")
                elif c.state == JointState.REJECTED:
                    remarks.append(f"står inte bakom det gemensamma svaret med {claimant}")
            rows.append(
                Row(
                    dispatch.name,
                    "–",
                    tuple("–" for _ in numbers),
                    "–",
                    (*remarks, "har inte svarat"),
                )
            )
        if granted:
            until = dates.swedish_date(granted[-1].granted_date or dispatch.deadline)
            within = answer is not None and not answer.submitted_at > deadline_end[dispatch.id]
            anstand_notes.append(
                f"{dispatch.name} beviljades anstånd till den {until}"
                + (" och svarade inom den tiden." if within else ".")
            )
        if answer is not None and answer.joint_with:
            joint_notes.extend(_joint_notes(dispatch, claims, by_id))

    named = jointly_answered(session, round_id=rnd.id)
    final = rnd.state == RoundState.CLOSED or all(is_done(d, named) for d in rnd.dispatches)
    beredning = _beredning(
        rnd,
        ordered,
        tz,
        final=final,
        declined=declined,
        silent=silent,
        bounced=bounced,
        late=late,
        anstand_notes=anstand_notes,
        joint_notes=joint_notes,
    )
    answered = sum(positions.values())
    return Report(
        diarienummer=case.diarienummer,
        rubrik=case.rubrik,
        arendetyp=case.arendetyp_label,
        motionarer=tuple(f"{m.namn} ({m.parti})" for m in case.motionarer),
        att_satser=tuple(a.text for a in case.att_satser),
        sent_on=_sent_on(rnd, tz),
        deadline=rnd.svar_senast,
        compiled_at=now,
        compiled_on=dates.local_today(now, tz),
        final=final,
        beredning=beredning,
        rows=tuple(rows),
        sections=tuple(sections),
        declined=tuple(declined),
        silent=tuple(silent),
        bilagor=tuple(bilagor),
        warnings=() if final else tuple(_review_summary(ordered) + warnings),
        handlaggare=f"{case.handlaggare_namn}, {case.handlaggare_epost}",
        counts=dict(positions)
        | {"answered": answered, "declined": len(declined), "silent": len(silent)},
    )


def _subject_pronoun(name: str) -> str:
    """How the second sentence about a body refers back to it: 'nämnden', 'rådet', ... ."""
    last = name.split()[-1].casefold()
    for ending, pronoun in (
        ("nämnden", "nämnden"),
        ("nämnd", "nämnden"),
        ("rådet", "rådet"),
        ("styrelsen", "styrelsen"),
        ("kontoret", "kontoret"),
    ):
        if last.endswith(ending):
            return pronoun
    return name


def _joint_notes(dispatch: Dispatch, claims: list[JointClaim], by_id: dict[int, str]) -> list[str]:
    notes = []
    confirmed = _names_by_state(claims, by_id, claimant=dispatch.id, state=JointState.CONFIRMED)
    if confirmed:
        notes.append(f"{swedish_list([dispatch.name, *confirmed])} har lämnat ett gemensamt svar.")
    waiting = _names_by_state(claims, by_id, claimant=dispatch.id, state=JointState.CLAIMED)
    if waiting:
        notes.append(
            f"{dispatch.name} har angett att svaret är gemensamt med "
            f"{swedish_list(waiting)}, men {swedish_list(waiting)} har inte bekräftat det."
        )
    rejected = _names_by_state(claims, by_id, claimant=dispatch.id, state=JointState.REJECTED)
    if rejected:
        notes.append(
            f"{dispatch.name} angav sitt svar som gemensamt med {swedish_list(rejected)}, "
            f"men {swedish_list(rejected)} står inte bakom det."
        )
    return notes


def _warnings(name: str, answer: Answer, found: DocumentView) -> list[str]:
    """What a handläggare should check before the report goes on: the position recorded
    against what the answer's own document says, and files whose text is missing."""
    out = []
    owner = language.genitive(language.in_sentence(name))
    if answer.position == NOT_REVIEWED:
        out.append(_not_reviewed(name))
    elif found.disagrees_with(answer.position):
        out.append(
            f"{name} har angett ställningstagandet ”{POSITION_LABELS[answer.position]}”, "
            f"men {found.position_file} säger ”{found.label()}”: ”{found.position_sentence}”"
        )
    out.extend(f"Texten i {owner} fil {f} kunde inte läsas." for f in found.unreadable)
    out.extend(
        # A file over a cap: its text is missing or cut in what the view is drawn from.
        f"Texten i {owner} fil {d.filename} har inte kunnat läsas i sin helhet. {d.text_error}"
        for d in answer.documents
        if d.text_error
    )
    return out


def _sent_on(rnd: Round, tz: str) -> dt.date | None:
    sent = [d.sent_at for d in rnd.dispatches if d.sent_at]
    return dates.local_today(min(sent), tz) if sent else None


def _beredning(
    rnd: Round,
    ordered: list[Dispatch],
    tz: str,
    *,
    final: bool,
    declined: list[tuple[str, str | None]],
    silent: list[str],
    bounced: list[str],
    late: list[str],
    anstand_notes: list[str],
    joint_notes: list[str],
) -> tuple[str, ...]:
    """The Beredning's opening paragraphs in the style of a Stockholm utlåtande: every
    remissinstans named, then who answered jointly, had anstånd, declined, did not answer
    and answered late (the answers themselves follow as sections)."""
    names = [language.in_sentence(d.name) for d in ordered]
    sent_on = _sent_on(rnd, tz)
    first = f"Ärendet har remitterats till {swedish_list(names)}."
    if sent_on:
        first += (
            f" Remissen skickades den {dates.swedish_date(sent_on)} med svar senast den "
            f"{dates.swedish_date(rnd.svar_senast)}."
        )
    paragraphs = [first]
    facts: list[str] = [*joint_notes, *anstand_notes]
    with_reason = [(n, r) for n, r in declined if r and r.strip()]
    without = [n for n, r in declined if not (r and r.strip())]
    if without:
        facts.append(f"{swedish_list(without)} har avstått från att yttra sig.")
    facts.extend(
        f"{name} har avstått från att yttra sig {language.parenthetical(reason)}."
        for name, reason in with_reason
    )
    if bounced:
        where = swedish_list([language.in_sentence(n) for n in bounced])
        facts.append(f"Remissen kom inte fram till {where} (e-posten studsade).")
    # A bounced remiss is said above; the rest have simply not answered.
    waiting = [n for n in silent if n not in bounced]
    if waiting:
        facts.append(f"{swedish_list(waiting)} har {'inte' if final else 'ännu inte'} svarat.")
    if len(late) == 1:
        facts.append(f"{language.genitive(late[0])} svar kom in efter svarstiden.")
    elif late:
        facts.append(
            f"Svaren från {swedish_list([language.in_sentence(n) for n in late])} "
            "kom in efter svarstiden."
        )
    if facts:
        paragraphs.append(" ".join(language.sentence(f) for f in facts))
    if not any(d.current_answer is not None for d in rnd.dispatches):
        paragraphs.append(
            "Inga svar har kommit in ännu." if not final else "Inga svar har kommit in."
        )
    return tuple(paragraphs)
