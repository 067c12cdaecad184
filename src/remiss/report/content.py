"""The remissammanställning: what it says, built from one round (no rendering here)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy.orm import object_session

from remiss.core import dates
from remiss.core.rendering import swedish_list
from remiss.core.states import AnstandState, JointState, RoundState
from remiss.core.terms import POSITION_LABELS
from remiss.db.models import Answer, Dispatch, Round
from remiss.reminders.schedule import JointClaim, is_done, joint_claims, jointly_answered

# How each position is counted in the summary sentence, in this order.
COUNT_PHRASES = {
    "tillstyrker": "{n} tillstyrker",
    "tillstyrker_delvis": "{n} tillstyrker delvis",
    "avstyrker": "{n} avstyrker",
    "inga_synpunkter": "{n} har inga synpunkter",
    "besvarad": "{n} anser motionen besvarad",
}
NAMED_SILENT_MAX = 3


def genitive(name: str) -> str:
    """'Socialnämnden' -> 'Socialnämndens'; names ending in s, x or z take no extra s."""
    return name if name.endswith(("s", "x", "z")) else name + "s"


def lowercase_first(name: str) -> str:
    """Names inside a sentence: 'Fastighetsnämnden' -> 'fastighetsnämnden', proper names kept."""
    first_word = name.split(" ", 1)[0]
    if first_word.endswith(("nämnden", "rådet")) or first_word in {"Kommunstyrelsens", "Rådet"}:
        return name[0].lower() + name[1:]
    return name


@dataclass(frozen=True)
class Row:
    name: str
    position: str
    per_sats: tuple[str, ...]
    answered_on: str
    remarks: tuple[str, ...]


@dataclass(frozen=True)
class Section:
    name: str
    position: str
    text: str | None
    text_source: str  # "svaret" | "tjänsteutlåtandet" | ""
    decision: str | None
    joint_with: tuple[str, ...]
    reservationer: str | None
    sarskilda_uttalanden: str | None
    late: bool
    channel: str


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
    final: bool
    summary: str
    notes: tuple[str, ...]
    rows: tuple[Row, ...]
    sections: tuple[Section, ...]
    declined: tuple[tuple[str, str | None], ...]
    silent: tuple[str, ...]
    bilagor: tuple[Bilaga, ...]
    handlaggare: str = ""
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def status_label(self) -> str:
        return "Slutlig" if self.final else "Preliminär"


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
        lowercase_first(names[c.partner_dispatch_id])
        for c in claims
        if c.claimant_dispatch_id == claimant and c.state == state
    ]


def _answer_text(answer: Answer) -> tuple[str | None, str]:
    """The official's own summary, or the Sammanfattning of their tjänsteutlåtande."""
    if answer.summary:
        return answer.summary, "svaret"
    for document in answer.documents:
        if document.text:
            from remiss.report.tjansteutlatande import parse, summary_for_report

            text = summary_for_report(parse(document.text))
            if text:
                return text, "tjänsteutlåtandet"
    return None, ""


def _decision(name: str, answer: Answer) -> str | None:
    if answer.decision_date is None:
        return None
    paragraph = f" {answer.decision_paragraph}" if answer.decision_paragraph else ""
    return f"{genitive(name)} beslut {answer.decision_date.isoformat()}{paragraph}."


def build_report(rnd: Round, *, now: dt.datetime, tz: str) -> Report:
    case = rnd.case
    deadline_end = {d.id: dates.deadline_end(d.deadline, tz) for d in rnd.dispatches}
    rows: list[Row] = []
    sections: list[Section] = []
    declined: list[tuple[str, str | None]] = []
    silent: list[str] = []
    notes: list[str] = []
    positions: Counter[str] = Counter()
    bilagor: list[Bilaga] = []
    numbers = [a.number for a in case.att_satser]
    session = object_session(rnd)
    assert session is not None
    claims = joint_claims(session, round_id=rnd.id)
    by_id = {d.id: d.name for d in rnd.dispatches}

    for dispatch in rnd.dispatches:
        answer = dispatch.current_answer
        joint = _joint_answer_for(dispatch, claims) if answer is None else None
        granted = [a for a in dispatch.anstand if a.state == AnstandState.GRANTED]
        remarks: list[str] = []
        if granted:
            remarks.append(f"anstånd till {granted[-1].granted_date}")
        if answer is not None or joint is not None:
            given = answer or joint
            assert given is not None
            positions[given.position] += 1
            late = given.submitted_at > deadline_end[dispatch.id]
            if late:
                remarks.append("inkom efter svarstiden")
            if joint is not None:
                remarks.append(f"gemensamt svar med {lowercase_first(joint.dispatch.name)}")
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
                text, source = _answer_text(answer)
                sections.append(
                    Section(
                        name=dispatch.name,
                        position=POSITION_LABELS[answer.position],
                        text=text,
                        text_source=source,
                        decision=_decision(dispatch.name, answer),
                        joint_with=tuple(
                            _names_by_state(
                                claims, by_id, claimant=dispatch.id, state=JointState.CONFIRMED
                            )
                        ),
                        reservationer=answer.reservationer,
                        sarskilda_uttalanden=answer.sarskilda_uttalanden,
                        late=late,
                        channel=answer.channel,
                    )
                )
                for document in answer.documents:
                    kind = {"application/pdf": "PDF"}.get(
                        document.content_type,
                        "Word" if "wordprocessingml" in document.content_type else "ODT",
                    )
                    bilagor.append(
                        Bilaga(
                            number=len(bilagor) + 1,
                            title=f"{genitive(dispatch.name)} svar, {document.filename}",
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
            for c in claims:
                if c.partner_dispatch_id != dispatch.id:
                    continue
                claimant = lowercase_first(by_id[c.claimant_dispatch_id])
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
        if (
            granted
            and (answer is not None)
            and not (answer.submitted_at > deadline_end[dispatch.id])
        ):
            notes.append(
                f"{dispatch.name} beviljades anstånd till den "
                f"{dates.swedish_date(granted[-1].granted_date or dispatch.deadline)} och svarade "
                "inom den tiden."
            )
        elif granted:
            notes.append(
                f"{dispatch.name} beviljades anstånd till den "
                f"{dates.swedish_date(granted[-1].granted_date or dispatch.deadline)}."
            )
        if answer is not None and answer.joint_with:
            confirmed = _names_by_state(
                claims, by_id, claimant=dispatch.id, state=JointState.CONFIRMED
            )
            if confirmed:
                members = [dispatch.name, *confirmed]
                notes.append(f"{swedish_list(members)} har inkommit med ett gemensamt svar.")
            waiting = _names_by_state(claims, by_id, claimant=dispatch.id, state=JointState.CLAIMED)
            if waiting:
                notes.append(
                    f"{dispatch.name} har angett att svaret är gemensamt med "
                    f"{swedish_list(waiting)}, men {swedish_list(waiting)} har inte bekräftat det."
                )
            rejected = _names_by_state(
                claims, by_id, claimant=dispatch.id, state=JointState.REJECTED
            )
            if rejected:
                notes.append(
                    f"{dispatch.name} angav sitt svar som gemensamt med {swedish_list(rejected)}, "
                    f"men {swedish_list(rejected)} står inte bakom det."
                )
        if answer is not None and answer.submitted_at > deadline_end[dispatch.id]:
            notes.append(f"{genitive(dispatch.name)} svar inkom efter svarstiden.")
        for document in answer.documents if answer is not None else ():
            if document.text_error:
                # A file over a cap or unreadable: its text is missing or cut in what the
                # summaries are drawn from, so the reader should open the file itself.
                notes.append(
                    f"Texten i {genitive(lowercase_first(dispatch.name))} fil "
                    f"{document.filename} har inte kunnat läsas i sin helhet. "
                    f"{document.text_error}"
                )

    answered = sum(positions.values())
    summary = _summary(rnd, answered, positions, declined, silent, tz)
    named = jointly_answered(session, round_id=rnd.id)
    final = rnd.state == RoundState.CLOSED or all(is_done(d, named) for d in rnd.dispatches)
    return Report(
        diarienummer=case.diarienummer,
        rubrik=case.rubrik,
        arendetyp=case.arendetyp_label,
        motionarer=tuple(f"{m.namn} ({m.parti})" for m in case.motionarer),
        att_satser=tuple(a.text for a in case.att_satser),
        sent_on=_sent_on(rnd, tz),
        deadline=rnd.svar_senast,
        compiled_at=now,
        final=final,
        summary=summary,
        notes=tuple(notes),
        rows=tuple(rows),
        sections=tuple(sections),
        declined=tuple(declined),
        silent=tuple(silent),
        bilagor=tuple(bilagor),
        handlaggare=f"{case.handlaggare_namn}, {case.handlaggare_epost}",
        counts=dict(positions)
        | {"answered": answered, "declined": len(declined), "silent": len(silent)},
    )


def _sent_on(rnd: Round, tz: str) -> dt.date | None:
    sent = [d.sent_at for d in rnd.dispatches if d.sent_at]
    return dates.local_today(min(sent), tz) if sent else None


def _summary(
    rnd: Round,
    answered: int,
    positions: Counter[str],
    declined: list[tuple[str, str | None]],
    silent: list[str],
    tz: str,
) -> str:
    total = len(rnd.dispatches)
    sent_on = _sent_on(rnd, tz)
    parts = [
        f"Ärendet har remitterats till {total} remissinstanser"
        + (f" den {dates.swedish_date(sent_on)}" if sent_on else "")
        + f" med sista svarsdag den {dates.swedish_date(rnd.svar_senast)}."
    ]
    if answered:
        counted = [
            phrase.format(n=positions[key])
            for key, phrase in COUNT_PHRASES.items()
            if positions[key]
        ]
        parts.append(f"{answered} har svarat: {swedish_list(counted)}.")
    else:
        parts.append("Ingen remissinstans har svarat ännu.")
    if declined:
        who = swedish_list([n for n, _ in declined])
        parts.append(f"{who} har avstått från att yttra sig.")
    if silent and len(silent) <= NAMED_SILENT_MAX:
        parts.append(f"{swedish_list(silent)} har inte inkommit med svar.")
    elif silent:
        parts.append(f"{len(silent)} remissinstanser har inte inkommit med svar.")
    return " ".join(parts)
