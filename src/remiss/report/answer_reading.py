"""What an answer's own files say, read once per file: the one place the report, the
review of an e-mailed answer and the round page ask for it.

A file's text is extracted on arrival (`report.compiling.extract_answer_texts`), and read
then too: the reading is stored beside the text (`for_storage`), because reading a 20-page
file takes a fifth of a second and a report of 300 answers would spend a minute on it. A
file without a stored reading (or one from another READING_VERSION) is read here, cached
per stored file (a stored file never changes).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from remiss.core import dates, language
from remiss.core.terms import NOT_REVIEWED, POSITION_LABELS
from remiss.db.models import Answer, Round
from remiss.report.reading import (
    READING_VERSION,
    Found,
    Reading,
    read_document,
    reading_as_json,
    reading_from_json,
    view_for_report,
)

# Positions a document can state that the forms do not record as such.
DOCUMENT_ONLY = {"avstar": "avstår från att yttra sig"}


@dataclass(frozen=True)
class DocumentView:
    """An answer's files as read: the first position one of them states (with its
    sentence and file), the view in the body's voice, and what could not be read."""

    position: str | None
    position_sentence: str | None
    position_file: str | None
    view: tuple[str, ...]
    view_file: str | None
    view_kind: str | None  # "protokollsutdrag", "yttrande" or "tjänsteutlåtande"
    unreadable: tuple[str, ...]
    readings: tuple[Reading, ...]

    def facts(self) -> list[tuple[str, str, str]]:
        """What the files say besides the position, for a person to check: (what, value,
        the sentence it was read from), from the first file that says it."""
        out: list[tuple[str, str, str]] = []
        for label, attribute in (
            ("Remissinstansens diarienummer", "dnr"),
            ("Beslutsdatum", "decision_date"),
            ("Paragraf", "paragraph"),
            ("Reservation", "reservationer"),
            ("Särskilt uttalande", "sarskilda_uttalanden"),
        ):
            found: Found[object] | None = next(
                (f for r in self.readings if (f := getattr(r, attribute)) is not None), None
            )
            if found is not None:
                value = found.value
                shown = dates.swedish_date(value) if isinstance(value, dt.date) else str(value)
                out.append((label, shown, found.sentence))
        return out

    def disagrees_with(self, position: str) -> bool:
        """The recorded position and the document's differ (a document that only says
        'tillstyrker' does not contradict 'tillstyrker delvis')."""
        if self.position is None or self.position == position:
            return False
        return not (self.position == "tillstyrker" and position == "tillstyrker_delvis")

    def label(self) -> str:
        assert self.position is not None
        return DOCUMENT_ONLY.get(self.position) or POSITION_LABELS.get(self.position, self.position)


def for_storage(text: str, *, case_dnr: str, case_title: str) -> dict[str, Any]:
    """A file's reading as `Document.reading` holds it: with what it was read for."""
    reading = read_document(text, case_dnr=case_dnr, case_title=case_title)
    return {
        "version": READING_VERSION,
        "case": [case_dnr, case_title],
        "reading": reading_as_json(reading),
    }


def is_current(stored: dict[str, Any] | None, *, case_dnr: str, case_title: str) -> bool:
    return (
        stored is not None
        and stored.get("version") == READING_VERSION
        and stored.get("case") == [case_dnr, case_title]
    )


def _stored(stored: dict[str, Any] | None, case_dnr: str, case_title: str) -> Reading | None:
    if stored is None or not is_current(stored, case_dnr=case_dnr, case_title=case_title):
        return None
    return reading_from_json(stored["reading"])


@lru_cache(maxsize=512)
def _read(document_id: int, sha256: str, text: str, case_dnr: str, case_title: str) -> Reading:
    return read_document(text, case_dnr=case_dnr, case_title=case_title)


def _kind(text: str) -> str:
    head = text[:800].casefold()
    if "protokoll" in head:
        return "protokollsutdrag"
    if "yttrande" in head:
        return "yttrande"
    return "tjänsteutlåtande"


def read_answer(answer: Answer, *, body: str, case_dnr: str, case_title: str) -> DocumentView:
    position = sentence = position_file = view_file = kind = None
    view: tuple[str, ...] = ()
    unreadable: list[str] = []
    readings = []
    for document in answer.documents:
        if document.text is None:
            continue  # not extracted yet: the compile extracts it first
        text = document.text
        reading = _stored(document.reading, case_dnr, case_title) or _read(
            document.id, document.sha256, text, case_dnr, case_title
        )
        readings.append(reading)
        if not reading.readable:
            unreadable.append(document.filename)
            continue
        if position is None and reading.position is not None:
            position, sentence = reading.position.value, reading.position.sentence
            position_file = document.filename
        if not view:
            view = view_for_report(reading, body) or ()
            if view:
                view_file, kind = document.filename, _kind(text)
    return DocumentView(
        position=position,
        position_sentence=sentence,
        position_file=position_file,
        view=view,
        view_file=view_file,
        view_kind=kind,
        unreadable=tuple(unreadable),
        readings=tuple(readings),
    )


def source_note(body: str, found: DocumentView) -> str:
    """'Texten är hämtad ur socialnämndens protokollsutdrag (svar.pdf).'"""
    owner = language.genitive(language.in_sentence(body))
    return f"Texten är hämtad ur {owner} {found.view_kind} ({found.view_file})."


@dataclass(frozen=True)
class Disagreement:
    """An answer whose recorded position its own file contradicts."""

    name: str
    recorded: str
    found: str
    sentence: str
    filename: str


def disagreements(rnd: Round) -> list[Disagreement]:
    """The round's current answers whose files state another position than the recorded
    one (an e-mailed answer not yet reviewed has none recorded, and is listed elsewhere)."""
    out = []
    for dispatch in rnd.dispatches:
        answer = dispatch.current_answer
        if answer is None or answer.position == NOT_REVIEWED:
            continue
        found = read_answer(
            answer, body=dispatch.name, case_dnr=rnd.case.diarienummer, case_title=rnd.case.rubrik
        )
        if found.disagrees_with(answer.position):
            out.append(
                Disagreement(
                    name=dispatch.name,
                    recorded=POSITION_LABELS[answer.position],
                    found=found.label(),
                    sentence=found.position_sentence or "",
                    filename=found.position_file or "",
                )
            )
    return out
