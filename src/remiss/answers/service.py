"""What a remissinstans does through its link: open, confirm, ask for anstånd, decline, answer.

Every function takes `now` and raises InputError with a Swedish message naming the
field for the official's mistakes; nothing is stored when it does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload, object_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.interfaces import ORMOption

from remiss.answers import joint
from remiss.core import dates
from remiss.core.dates import swedish_date
from remiss.core.errors import InputError
from remiss.core.states import EventKind, JointState, RoundState
from remiss.core.terms import STALLNINGSTAGANDEN
from remiss.core.tokens import hash_token, token_matches
from remiss.core.validation import email_field
from remiss.db.events import log_event
from remiss.db.models import Answer, Case, Dispatch, Document, RemissinstansRow, Round
from remiss.reminders import schedule
from remiss.storage.documents import StoredFile, document_row, store_bytes
from remiss.storage.uploads import UNREADABLE_PDF, CheckedFile

T = TypeVar("T")


class FormErrors(InputError):
    """Every mistake found in one form, field by field (the page shows them all at once)."""

    def __init__(self, errors: dict[str, str]) -> None:
        field_name, message = next(iter(errors.items()))
        super().__init__(message, field=field_name)
        self.errors = dict(errors)


class Problems:
    """Collects the field errors of one form so that the official learns of all of them in
    one round trip; an error that concerns the whole form (no field) is raised at once."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def take(self, check: Callable[[], T]) -> T | None:
        """What `check` returns, or None after recording its field error."""
        try:
            return check()
        except FormErrors as exc:
            for name, message in exc.errors.items():
                self.errors.setdefault(name, message)
        except InputError as exc:
            if exc.field is None:
                raise
            self.errors.setdefault(exc.field, exc.message)
        return None

    def add(self, field_name: str, message: str) -> None:
        self.errors.setdefault(field_name, message)

    def raise_any(self) -> None:
        if self.errors:
            raise FormErrors(self.errors)


def errors_of(exc: InputError, *, rename: dict[str, str] | None = None) -> dict[str, str]:
    """The errors of a refused form by the page's field ids ("form" for the form as a whole)."""
    found = exc.errors if isinstance(exc, FormErrors) else {exc.field or "form": exc.message}
    return {(rename or {}).get(name, name): message for name, message in found.items()}


# Dates typed by hand. The year comes first, so "2027-2-5" and "20270205" can only mean
# one day; a day-first form ("05/02/2027") is refused rather than guessed.
_FORM_DATE = re.compile(
    r"(?P<y>\d{4})\s*[-\u2013\u2010/.\s]\s*(?P<m>\d{1,2})\s*[-\u2013\u2010/.\s]\s*(?P<d>\d{1,2})"
)
_FORM_DATE_COMPACT = re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})")
DATE_EXAMPLE = "till exempel 2027-02-15"


def parse_form_date(text: str) -> dt.date:
    """A date as an official types it: ÅÅÅÅ-MM-DD, also without leading zeros, with "/",
    "." or a dash from a word processor, or as eight digits; ValueError otherwise."""
    cleaned = text.strip()
    match = _FORM_DATE.fullmatch(cleaned) or _FORM_DATE_COMPACT.fullmatch(cleaned)
    if match is None:
        raise ValueError(f"not a date written year first: {text!r}")
    return dt.date(int(match["y"]), int(match["m"]), int(match["d"]))


# Loaded with the link's lookup for a page: the round, its case and the remissinstans in the
# same query. (The lists stay lazy: loading them with the lookup, by selectinload, cost more
# CPU per page than it saved, measured.)
PAGE_LOADS: tuple[ORMOption, ...] = (
    joinedload(Dispatch.round).joinedload(Round.case),
    joinedload(Dispatch.remissinstans),
)


def find_by_token(
    session: Session,
    *,
    token: str,
    now: dt.datetime,
    valid_days_after_close: int,
    loads: Sequence[ORMOption] = (),
) -> Dispatch | None:
    """The dispatch a link opens, or None for an unknown or expired link (never says which).
    `loads`: what to load with it (`PAGE_LOADS` for the page)."""
    if not token or len(token) > 200:
        return None
    digest = hash_token(token)
    dispatch = session.scalars(
        select(Dispatch).where(Dispatch.token_hash == digest).options(*loads)
    ).first()
    if dispatch is None or dispatch.token_hash is None:
        return None
    if not token_matches(token, dispatch.token_hash):
        return None
    closed = dispatch.round.closed_at
    if closed is not None and now > closed + dt.timedelta(days=valid_days_after_close):
        return None
    return dispatch


@dataclass(frozen=True)
class OtherDispatch:
    """Another remissinstans of the round, as the joint-answer choices name it."""

    code: str
    name: str


def other_dispatches(session: Session, *, dispatch: Dispatch) -> list[OtherDispatch]:
    """The round's other remissinstanser, codes and names only, in one query: the answer
    page offers them for a joint answer, and ORM objects for each cost a busy page more
    than the rest of it."""
    # Through the connection: plain rows, none of the ORM's work for a statement.
    rows = session.connection().execute(
        select(RemissinstansRow.code, Dispatch.name)
        .join(Dispatch, Dispatch.remissinstans_id == RemissinstansRow.id)
        .where(Dispatch.round_id == dispatch.round_id, Dispatch.id != dispatch.id)
        .order_by(Dispatch.id)
    )
    return [OtherDispatch(code=code, name=name) for code, name in rows]


def answer_version(session: Session, *, dispatch: Dispatch, version: int) -> Answer | None:
    """One version of the dispatch's answers, or None."""
    return session.scalars(
        select(Answer).where(Answer.dispatch_id == dispatch.id, Answer.version == version)
    ).first()


def record_opening(session: Session, *, dispatch: Dispatch, now: dt.datetime) -> bool:
    """Record the first opening of the link; later openings change nothing.

    A conditional UPDATE, so that two first views at once record one opening: on PostgreSQL
    both would otherwise read "not yet opened" and log the event twice."""
    if dispatch.opened_at is not None:
        return False
    first = session.execute(
        update(Dispatch)
        .where(Dispatch.id == dispatch.id, Dispatch.opened_at.is_(None))
        .values(opened_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(first, "rowcount", 0) != 1:
        session.refresh(dispatch, ["opened_at"])
        return False
    set_committed_value(dispatch, "opened_at", now)
    log_event(session, dispatch_id=dispatch.id, kind=EventKind.OPENED, now=now)
    return True


def is_closed(dispatch: Dispatch) -> bool:
    return dispatch.round.state == RoundState.CLOSED


def require_open(dispatch: Dispatch) -> None:
    if is_closed(dispatch):
        raise InputError("Remissomgången är avslutad; det går inte längre att svara via länken.")


def clean_text(
    value: str | None, *, field: str, max_len: int, missing: str | None = None
) -> str | None:
    """The text, trimmed; `missing`: the field is required, and this says what to fill in
    (the error summary shows it alone, so it names the field)."""
    text = (value or "").strip()
    if missing and not text:
        raise InputError(missing, field=field)
    if "\x00" in text:
        # No keyboard types it and PostgreSQL cannot store it: only a broken client sends it.
        raise InputError(
            "Texten innehåller ett tecken som inte kan sparas (ett nolltecken). Ta bort det och "
            "försök igen.",
            field=field,
        )
    if len(text) > max_len:
        raise InputError(f"Texten får vara högst {max_len} tecken.", field=field)
    return text or None


def clean_email(value: str | None, *, field: str, max_len: int = 320) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        email = email_field(text, source="formuläret", field=field)
    except InputError as exc:
        raise InputError(
            "Ange en giltig e-postadress, till exempel namn@kommun.se.", field=field
        ) from exc
    if len(email) > max_len:
        raise InputError(f"E-postadressen får vara högst {max_len} tecken.", field=field)
    return email


def confirm_receipt(
    session: Session,
    *,
    dispatch: Dispatch,
    their_diarienummer: str | None,
    contact_name: str | None,
    contact_email: str | None,
    now: dt.datetime,
) -> None:
    require_open(dispatch)
    dnr = clean_text(their_diarienummer, field="diarienummer", max_len=100)
    name = clean_text(contact_name, field="kontaktperson", max_len=200)
    email = clean_email(contact_email, field="epost")
    first = dispatch.received_at is None
    if first:
        dispatch.received_at = now
    dispatch.their_diarienummer = dnr or dispatch.their_diarienummer
    dispatch.contact_name = name or dispatch.contact_name
    dispatch.contact_email = email or dispatch.contact_email
    record_opening(session, dispatch=dispatch, now=now)
    log_event(
        session,
        dispatch_id=dispatch.id,
        kind=EventKind.RECEIVED if first else EventKind.RECEIPT_UPDATED,
        now=now,
        their_diarienummer=dnr,
        contact_name=name,
        contact_email=email,
    )


def joint_answer_in_force(session: Session, *, dispatch: Dispatch) -> joint.ClaimView | None:
    """Another's answer this remissinstans has confirmed it stands behind: its answer."""
    return next(
        (
            c
            for c in joint.claims_naming(session, partner=dispatch)
            if c.state == JointState.CONFIRMED
        ),
        None,
    )


def refuse_if_answered_jointly(session: Session, *, dispatch: Dispatch) -> None:
    """Answering, declining or asking for anstånd makes no sense once a joint answer counts
    as this remissinstans's own (the page does not offer it; a stale page may still post)."""
    if dispatch.current_answer is not None:
        return
    claim = joint_answer_in_force(session, dispatch=dispatch)
    if claim is not None:
        raise InputError(
            f"Ni har bekräftat att ni står bakom det gemensamma svaret från {claim.claimant.name}, "
            "och det räknas som ert svar. Kontakta handläggaren om ni vill lämna ett eget svar."
        )


def decline(
    session: Session, *, dispatch: Dispatch, reason: str | None, now: dt.datetime, tz: str
) -> None:
    require_open(dispatch)
    if dispatch.current_answer is not None:
        raise InputError(
            "Ni har redan lämnat ett svar; kontakta handläggaren om ni vill ta tillbaka det."
        )
    refuse_if_answered_jointly(session, dispatch=dispatch)
    if dispatch.declined_at is not None:
        return
    dispatch.declined_at = now
    dispatch.decline_reason = clean_text(reason, field="skal", max_len=2000)
    log_event(session, dispatch_id=dispatch.id, kind=EventKind.DECLINED, now=now)
    schedule.refresh(session, dispatch=dispatch, tz=tz, now=now)


@dataclass(frozen=True)
class AnswerFields:
    """What the answer form asks a type of remissinstans, beyond its position and files.

    A nämnd answers by a decision at a meeting: its date, the § in the minutes, the
    reservationer and särskilda uttalanden made there, and sends the protokollsutdrag and
    the tjänsteutlåtande. A bolag's board decides too, but its members' dissent is no part
    of the city's papers: the date and § of the board's decision only. A råd and an outside
    organisation send a statement: there is no decision of a nämnd to record.
    """

    decision_of: str | None  # "nämndens", "styrelsens"; None: no decision is asked for
    minutes: str  # where the § is: "protokollet", "styrelseprotokollet"
    dissent: bool  # reservationer and särskilda uttalanden
    documents: str  # what the files are, for the label of the file field


NAMND_FIELDS = AnswerFields(
    "nämndens", "protokollet", True, "protokollsutdrag och tjänsteutlåtande"
)
FIELDS_BY_KIND: dict[str, AnswerFields] = {
    "namnd": NAMND_FIELDS,
    "stadsdelsnamnd": NAMND_FIELDS,
    "bolag": AnswerFields(
        "styrelsens", "styrelseprotokollet", False, "bolagets yttrande eller styrelsens beslut"
    ),
    "rad": AnswerFields(None, "", False, "rådets yttrande"),
    "extern": AnswerFields(None, "", False, "ert yttrande"),
}


def answer_fields(dispatch: Dispatch) -> AnswerFields:
    """The fields of the answer form for this remissinstans's type (a nämnd's if unknown)."""
    return FIELDS_BY_KIND.get(dispatch.remissinstans.kind, NAMND_FIELDS)


def positions_for(case: Case) -> dict[str, str]:
    """The positions a form offers: "anser motionen besvarad" only on a motion."""
    if case.arendetyp == "motion":
        return dict(STALLNINGSTAGANDEN)
    return {code: label for code, label in STALLNINGSTAGANDEN.items() if code != "besvarad"}


# A decision older than this before the remiss was sent cannot be an answer to it.
DECISION_MARGIN = dt.timedelta(days=365)


def decision_date_floor(dispatch: Dispatch, *, tz: str) -> tuple[dt.date, str]:
    """The earliest decision date an answer can carry, and why (for the message)."""
    case = dispatch.round.case
    sent = dates.local_today(dispatch.round.started_at, tz)
    floor = sent - DECISION_MARGIN
    why = f"mer än ett år innan remissen skickades ({swedish_date(sent)})"
    if case.vackt is not None and case.vackt > floor:
        floor = case.vackt
        what = "motionen" if case.arendetyp == "motion" else "ärendet"
        why = f"innan {what} väcktes ({swedish_date(case.vackt)})"
    return floor, why


def check_decision_date(
    text: str | None, *, dispatch: Dispatch, now: dt.datetime, tz: str
) -> dt.date | None:
    if not (text or "").strip():
        return None
    try:
        day = parse_form_date(text or "")
    except ValueError as exc:
        raise InputError(
            f"Ange beslutsdatumet som ÅÅÅÅ-MM-DD, {DATE_EXAMPLE}.", field="beslutsdatum"
        ) from exc
    floor, why = decision_date_floor(dispatch, tz=tz)
    if day < floor:
        raise InputError(
            f"Beslutsdatumet kan inte ligga {why}. Kontrollera datumet.", field="beslutsdatum"
        )
    today = dates.local_today(now, tz)
    if day > today:
        raise InputError(
            f"Beslutsdatumet kan inte ligga efter i dag ({swedish_date(today)}).",
            field="beslutsdatum",
        )
    return day


@dataclass
class AnswerForm:
    position: str | None
    att_sats_positions: dict[int, str] = field(default_factory=dict)
    summary: str | None = None
    decision_date: str | None = None
    decision_paragraph: str | None = None
    joint_with: list[str] = field(default_factory=list)
    reservationer: str | None = None
    sarskilda_uttalanden: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None


def form_of(answer: Answer) -> dict[str, object]:
    """An answer as the answer form's values: "Ändra ert svar" starts from what is in force."""
    return {
        "stallningstagande": answer.position,
        "att_sats": {int(n): p for n, p in answer.att_sats_positions.items()},
        "sammanfattning": answer.summary or "",
        "beslutsdatum": answer.decision_date.isoformat() if answer.decision_date else "",
        "paragraf": answer.decision_paragraph or "",
        "gemensamt": list(answer.joint_with),
        "reservationer": answer.reservationer or "",
        "sarskilda_uttalanden": answer.sarskilda_uttalanden or "",
        "kontaktperson": answer.contact_name or "",
        "epost": answer.contact_email or "",
    }


def check_answer(
    dispatch: Dispatch, form: AnswerForm, *, now: dt.datetime, tz: str
) -> dict[str, object]:
    """Validate an answer form; returns the values to store.

    Raises `FormErrors` with every field's mistake at once; an error about the answer as a
    whole (a closed round, a decline) is raised first and alone."""
    require_open(dispatch)
    if dispatch.declined_at is not None:
        raise InputError(
            "Ni har meddelat att ni avstår från att yttra er. Kontakta handläggaren om ni ändå "
            "vill svara."
        )
    if dispatch.current_answer is not None and now > dates.deadline_end(dispatch.deadline, tz):
        raise InputError(
            "Svarstiden har gått ut, så svaret kan inte längre ändras. Kontakta handläggaren."
        )
    session = object_session(dispatch)
    if session is not None:
        refuse_if_answered_jointly(session, dispatch=dispatch)
    case = dispatch.round.case
    offered = positions_for(case)
    asked = answer_fields(dispatch)
    problems = Problems()
    if form.position not in offered:
        problems.add(
            "stallningstagande",
            "Välj ert ställningstagande."
            if form.position not in STALLNINGSTAGANDEN
            else "Välj ett annat ställningstagande: ”anser motionen besvarad” gäller bara "
            "motioner.",
        )
    numbers = {a.number for a in case.att_satser}
    per_sats: dict[str, str] = {}
    for number, position in sorted(form.att_sats_positions.items()):
        if not position:
            continue
        if number not in numbers or position not in offered:
            problems.add(f"att_sats_{number}", f"Välj ett av alternativen för att-sats {number}.")
            continue
        per_sats[str(number)] = position
    decision_date = None
    paragraph = None
    if asked.decision_of is not None:
        decision_date = problems.take(
            lambda: check_decision_date(form.decision_date, dispatch=dispatch, now=now, tz=tz)
        )
        paragraph = problems.take(
            lambda: clean_text(form.decision_paragraph, field="paragraf", max_len=50)
        )
    reservationer = sarskilda = None
    if asked.dissent:
        reservationer = problems.take(
            lambda: clean_text(form.reservationer, field="reservationer", max_len=10000)
        )
        sarskilda = problems.take(
            lambda: clean_text(
                form.sarskilda_uttalanden, field="sarskilda_uttalanden", max_len=10000
            )
        )
    others = {d.remissinstans.code for d in dispatch.round.dispatches if d.id != dispatch.id}
    partners = [code for code in dict.fromkeys(form.joint_with) if code]
    if any(code not in others for code in partners):
        problems.add("gemensamt", "Välj bara remissinstanser som fått samma remiss.")
    values: dict[str, object] = {
        "position": form.position,
        "att_sats_positions": per_sats,
        "summary": problems.take(
            lambda: clean_text(form.summary, field="sammanfattning", max_len=5000)
        ),
        "decision_date": decision_date,
        "decision_paragraph": paragraph,
        "joint_with": partners,
        "reservationer": reservationer,
        "sarskilda_uttalanden": sarskilda,
        "contact_name": problems.take(
            lambda: clean_text(form.contact_name, field="kontaktperson", max_len=200)
        ),
        "contact_email": problems.take(lambda: clean_email(form.contact_email, field="epost")),
    }
    problems.raise_any()
    return values


def submit_answer(
    session: Session,
    *,
    dispatch: Dispatch,
    values: dict[str, object],
    files: list[CheckedFile],
    store: Path,
    now: dt.datetime,
    channel: str = "web",
    written: list[StoredFile] | None = None,
) -> Answer:
    """Store a new answer version with its files. The caller commits before it says thank you.

    Files new to the store are appended to `written`, so that a caller whose transaction fails
    can take them away again (`discard_unreferenced`).

    The row lock (PostgreSQL) or the write lock (SQLite) serialises versions of one dispatch;
    the unique (dispatch, version) constraint stops a duplicate version in any case.
    """
    locked = session.scalars(
        select(Dispatch).where(Dispatch.id == dispatch.id).with_for_update()
    ).one()
    latest = session.scalars(
        select(Answer.version)
        .where(Answer.dispatch_id == locked.id)
        .order_by(Answer.version.desc())
        .limit(1)
    ).first()
    answer = Answer(
        dispatch_id=locked.id,
        version=(latest or 0) + 1,
        submitted_at=now,
        channel=channel,
        **values,
    )
    session.add(answer)
    session.flush()
    for i, checked in enumerate(files):
        stored = store_bytes(checked.data, store)
        if stored.created and written is not None:
            written.append(stored)
        row = document_row(
            stored,
            answer_id=answer.id,
            position=i,
            title=checked.filename,
            filename=checked.filename,
            content_type=checked.content_type,
            now=now,
        )
        if not checked.readable:
            # Known now, so the receipt can say it at once; extraction skips the document.
            row.text_error = UNREADABLE_PDF
        session.add(row)
    record_opening(session, dispatch=locked, now=now)
    log_event(
        session,
        dispatch_id=locked.id,
        kind=EventKind.ANSWERED,
        now=now,
        answer_id=answer.id,
        version=answer.version,
        files=[{"name": f.filename, "sha256": hashlib.sha256(f.data).hexdigest()} for f in files],
    )
    # The partners it names are asked in the same transaction: an answer is never stored
    # without its claims, nor a claim without its e-mail.
    joint.record_claims(session, answer=answer, now=now)
    session.flush()
    return answer


SCANNED = "Filen innehåller ingen text som kan läsas; den är troligen inskannad."


def unreadable_documents(documents: list[Document]) -> list[tuple[Document, str]]:
    """The documents whose text could not be read, each with why (for the official): known
    at upload for a PDF that cannot be opened, after extraction for the rest. A text that was
    only cut short is read, and not listed."""
    found = []
    for d in documents:
        if d.text is None and d.text_error:
            found.append((d, d.text_error))
        elif d.text is not None and not d.text.strip():
            found.append((d, SCANNED))
    return found


def discard_unreferenced(session: Session, *, files: list[StoredFile]) -> None:
    """Remove files written for an answer that was never committed, unless a document uses them.

    The check matters because the store is shared by content: another answer with the same
    file may have been committed meanwhile.
    """
    for stored in files:
        used = session.scalars(
            select(Document.id).where(Document.sha256 == stored.sha256).limit(1)
        ).first()
        if used is None:
            stored.path.unlink(missing_ok=True)
