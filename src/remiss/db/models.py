"""The domain model (SQLAlchemy 2, typed ORM). Schema changes go through Alembic."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    false,
    inspect,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from remiss.core.keys import message_ref
from remiss.core.states import (
    PAMINNELSE_PREFIX,
    AnstandState,
    DispatchState,
    DraftState,
    EventKind,
    InboundKind,
    JointState,
    MessageKind,
    MessageState,
    RoundState,
)
from remiss.core.terms import ARENDETYPER


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store aware UTC instants")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


E = TypeVar("E", bound=StrEnum)


class StateType(TypeDecorator[E]):
    """A StrEnum stored as its value; an unknown value fails before it reaches the database
    (whose CHECK constraint, `one_of`, would refuse it too)."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


def one_of(column: str, enum: type[StrEnum], name: str) -> CheckConstraint:
    """The CHECK constraint that keeps a state column to its Enum's values."""
    values = ", ".join(f"'{member.value}'" for member in enum)
    return CheckConstraint(f"{column} IN ({values})", name=name)


def message_kind_check() -> CheckConstraint:
    fixed = ", ".join(f"'{k.value}'" for k in MessageKind)
    return CheckConstraint(
        f"kind IN ({fixed}) OR kind LIKE '{PAMINNELSE_PREFIX}%'", name="message_kind"
    )


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class RemissinstansRow(Base):
    """A remissinstans as last synchronised from the register."""

    __tablename__ = "remissinstans"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(30))
    email: Mapped[str] = mapped_column(String(320))
    groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Added for one case only (an outside organisation named in the workspace or the case
    # file), not from the register: never offered when choosing recipients for another case.
    ad_hoc: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Case(Base):
    """A snapshot of the case as it was sent in one round."""

    __tablename__ = "arende"

    id: Mapped[int] = mapped_column(primary_key=True)
    diarienummer: Mapped[str] = mapped_column(String(100), index=True)
    rubrik: Mapped[str] = mapped_column(Text)
    arendetyp: Mapped[str] = mapped_column(String(30))
    vackt: Mapped[dt.date | None] = mapped_column(Date)
    handlaggare_namn: Mapped[str] = mapped_column(String(200))
    handlaggare_epost: Mapped[str] = mapped_column(String(320))
    missiv: Mapped[str | None] = mapped_column(Text)
    source_path: Mapped[str] = mapped_column(Text)
    source_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    motionarer: Mapped[list[Motionar]] = relationship(
        order_by="Motionar.position", cascade="all, delete-orphan"
    )
    att_satser: Mapped[list[AttSats]] = relationship(
        order_by="AttSats.number", cascade="all, delete-orphan"
    )
    documents: Mapped[list[Document]] = relationship(
        order_by="Document.position", cascade="all, delete-orphan"
    )

    @property
    def arendetyp_label(self) -> str:
        return ARENDETYPER.get(self.arendetyp, self.arendetyp)


class Motionar(Base):
    __tablename__ = "motionar"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("arende.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    namn: Mapped[str] = mapped_column(String(200))
    parti: Mapped[str] = mapped_column(String(50))


class AttSats(Base):
    __tablename__ = "att_sats"
    __table_args__ = (UniqueConstraint("case_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("arende.id"))
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)


class Document(Base):
    """A stored file: a handling sent with a case (later also answer documents)."""

    __tablename__ = "document"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("arende.id"), index=True)
    answer_id: Mapped[int | None] = mapped_column(ForeignKey("remissvar.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(Text)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    storage_path: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Extracted once, when the answer is processed; never again at compile time.
    text: Mapped[str | None] = mapped_column(Text)
    text_error: Mapped[str | None] = mapped_column(Text)
    # What the text says (report.answer_reading.for_storage), read once with the text.
    reading: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # A handling uploaded to a case still being prepared in the workspace, and the
    # protokollsutdrag of a decision.
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("arendeutkast.id"), index=True)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("beslut.id"), index=True)


class Round(Base):
    """A remissomgång: one case sent to a set of remissinstanser."""

    __tablename__ = "remissomgang"
    __table_args__ = (one_of("state", RoundState, "round_state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("arende.id"), index=True)
    state: Mapped[RoundState] = mapped_column(StateType(RoundState, 20), default=RoundState.OPEN)
    svar_senast: Mapped[dt.date] = mapped_column(Date)
    base_url: Mapped[str] = mapped_column(Text)
    flow_run_id: Mapped[str | None] = mapped_column(String(64), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # When a remissammanställning was last compiled by itself (complete, or deadline passed).
    auto_compiled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The reminder policy in force for this round (config/paminnelser.yaml + the case file).
    reminder_policy: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    case: Mapped[Case] = relationship()
    dispatches: Mapped[list[Dispatch]] = relationship(
        back_populates="round", order_by="Dispatch.id", cascade="all, delete-orphan"
    )


class Dispatch(Base):
    """One remissinstans in one round: its own deadline, state and link."""

    __tablename__ = "utskick"
    __table_args__ = (
        UniqueConstraint("round_id", "remissinstans_id"),
        one_of("state", DispatchState, "dispatch_state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("remissomgang.id"))
    remissinstans_id: Mapped[int] = mapped_column(ForeignKey("remissinstans.id"))
    # The name and address used for this round, as they were when it started.
    name: Mapped[str] = mapped_column(String(300))
    email: Mapped[str] = mapped_column(String(320))
    deadline: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[DispatchState] = mapped_column(
        StateType(DispatchState, 20), default=DispatchState.PENDING
    )
    # sha256 of the answer-link token; the token itself is never stored.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # What the remissinstans has done, each set once by the answer page.
    opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    their_diarienummer: Mapped[str | None] = mapped_column(String(100))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    declined_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decline_reason: Mapped[str | None] = mapped_column(Text)
    # Random per link; with the secret key it gives the token again (for reminders).
    token_nonce: Mapped[str | None] = mapped_column(String(64))
    # When the reminder sweep next needs to look at this dispatch; NULL: never.
    next_reminder_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    # From the mailbox: Exchange's delivery report, a non-delivery report, a read receipt.
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    bounced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    bounce_reason: Mapped[str | None] = mapped_column(Text)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    round: Mapped[Round] = relationship(back_populates="dispatches")
    remissinstans: Mapped[RemissinstansRow] = relationship()
    messages: Mapped[list[OutgoingMessage]] = relationship(
        back_populates="dispatch", order_by="OutgoingMessage.id"
    )
    events: Mapped[list[Event]] = relationship(order_by="Event.id")
    answers: Mapped[list[Answer]] = relationship(order_by="Answer.version")
    anstand: Mapped[list[Anstand]] = relationship(order_by="Anstand.id")

    @property
    def current_answer(self) -> Answer | None:
        """The latest version, leaving out e-mails a handläggare judged not to be an answer."""
        return next((a for a in reversed(self.answers) if a.rejected_at is None), None)

    @property
    def answered(self) -> bool:
        """Answered by itself: a version given on the answer page or reviewed. An e-mail
        waiting for review is not an answer yet (a registration receipt or a forwarded
        message can look like one), so the reminders go on until a person has read it."""
        return any(not a.needs_review and a.rejected_at is None for a in self.answers)


class Answer(Base):
    """One version of a remissinstans's answer. Versions are only ever added."""

    __tablename__ = "remissvar"
    __table_args__ = (UniqueConstraint("dispatch_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dispatch_id: Mapped[int] = mapped_column(ForeignKey("utskick.id"))
    version: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    channel: Mapped[str] = mapped_column(String(20), default="web")
    position: Mapped[str] = mapped_column(String(30))
    # att-sats number (as text, JSON keys) -> position
    att_sats_positions: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    summary: Mapped[str | None] = mapped_column(Text)
    decision_date: Mapped[dt.date | None] = mapped_column(Date)
    decision_paragraph: Mapped[str | None] = mapped_column(String(50))
    # codes of the other remissinstanser this answer is given jointly with
    joint_with: Mapped[list[str]] = mapped_column(JSON, default=list)
    reservationer: Mapped[str | None] = mapped_column(Text)
    sarskilda_uttalanden: Mapped[str | None] = mapped_column(Text)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    # An answer that came by e-mail has no position until a person has read it: it is
    # stored with needs_review, and the review adds the next version with the position.
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    # An e-mail a handläggare judged not to be an answer: kept as it came, never current.
    rejected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    rejected_by: Mapped[str | None] = mapped_column(String(200))
    email_message_id: Mapped[str | None] = mapped_column(String(300))

    dispatch: Mapped[Dispatch] = relationship(back_populates="answers")
    documents: Mapped[list[Document]] = relationship(order_by="Document.position")


class Anstand(Base):
    """A request for a later deadline, and stadsledningskontoret's decision on it."""

    __tablename__ = "anstand"
    __table_args__ = (one_of("state", AnstandState, "anstand_state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dispatch_id: Mapped[int] = mapped_column(ForeignKey("utskick.id"), index=True)
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    requested_date: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[AnstandState] = mapped_column(
        StateType(AnstandState, 20), default=AnstandState.REQUESTED
    )
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    granted_date: Mapped[dt.date | None] = mapped_column(Date)
    decision_note: Mapped[str | None] = mapped_column(Text)

    dispatch: Mapped[Dispatch] = relationship(back_populates="anstand")


class OutgoingMessage(Base):
    """A claim on one e-mail: the unique key makes every message go out at most once."""

    __tablename__ = "utgaende_meddelande"
    __table_args__ = (
        one_of("state", MessageState, "message_state"),
        message_kind_check(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dispatch_id: Mapped[int] = mapped_column(ForeignKey("utskick.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    stage: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    state: Mapped[MessageState] = mapped_column(
        StateType(MessageState, 20), default=MessageState.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When the current claim was taken, and when its holder last said it was still at work:
    # a claim whose heartbeat is older than the send lease may be taken over.
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    claim_renewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    provider_id: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    # The Message-ID's local part (remiss.keys.message_ref): a reply's In-Reply-To finds it.
    message_ref: Mapped[str | None] = mapped_column(
        String(32),
        index=True,
        default=lambda ctx: message_ref(ctx.get_current_parameters()["idempotency_key"]),
    )

    dispatch: Mapped[Dispatch] = relationship(back_populates="messages")


class InboundMail(Base):
    """A message read from the remiss mailbox, once: its key stops a second processing."""

    __tablename__ = "inkommande_post"
    __table_args__ = (one_of("kind", InboundKind, "inbound_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The Message-ID, or a hash of the whole message when it has none.
    key: Mapped[str] = mapped_column(String(300), unique=True)
    read_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    kind: Mapped[InboundKind] = mapped_column(StateType(InboundKind, 30))
    sender: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(Text)
    dispatch_id: Mapped[int | None] = mapped_column(ForeignKey("utskick.id"), index=True)
    answer_id: Mapped[int | None] = mapped_column(ForeignKey("remissvar.id"))
    folder: Mapped[str] = mapped_column(String(20))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class FeedCursor(Base):
    """How far the event log has been published to Prefect's event feed (one row)."""

    __tablename__ = "handelseflode"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_event_id: Mapped[int] = mapped_column(Integer, default=0)


class Event(Base):
    """Append-only log of everything that happens to a dispatch."""

    __tablename__ = "handelse"
    __table_args__ = (
        Index("ix_handelse_dispatch_at", "dispatch_id", "at"),
        one_of("kind", EventKind, "event_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dispatch_id: Mapped[int] = mapped_column(ForeignKey("utskick.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    kind: Mapped[EventKind] = mapped_column(StateType(EventKind, 50))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CaseDraft(Base):
    """A case being prepared in the workspace; `data` holds the form as last saved.

    Started once: the start moves it from draft to starting by compare-and-set, so a double
    click or a reload finds it taken and sends nothing twice."""

    __tablename__ = "arendeutkast"
    __table_args__ = (one_of("state", DraftState, "draft_state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[DraftState] = mapped_column(StateType(DraftState, 20), default=DraftState.DRAFT)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    round_id: Mapped[int | None] = mapped_column(ForeignKey("remissomgang.id"))

    documents: Mapped[list[Document]] = relationship(order_by="Document.position")


class JointAnswer(Base):
    """A remissinstans named in another's answer as answering jointly with it. It counts
    as answered only once confirmed (by itself, through its link, or by a handläggare)."""

    __tablename__ = "gemensamt_svar"
    __table_args__ = (
        UniqueConstraint("answer_id", "partner_dispatch_id"),
        one_of("state", JointState, "joint_state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("remissvar.id"), index=True)
    partner_dispatch_id: Mapped[int] = mapped_column(ForeignKey("utskick.id"), index=True)
    state: Mapped[JointState] = mapped_column(StateType(JointState, 20), default=JointState.CLAIMED)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(200))

    answer: Mapped[Answer] = relationship()
    partner: Mapped[Dispatch] = relationship()


class Decision(Base):
    """The decision on the case (KSAU, KS or KF), sent back to every remissinstans."""

    __tablename__ = "beslut"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("remissomgang.id"), index=True)
    organ: Mapped[str] = mapped_column(String(20))
    beslutsdatum: Mapped[dt.date] = mapped_column(Date)
    paragraf: Mapped[str] = mapped_column(String(50))
    text: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    round: Mapped[Round] = relationship()
    documents: Mapped[list[Document]] = relationship(order_by="Document.position")


class AuditEntry(Base):
    """Append-only: who did what in the workspace, when, and on which round."""

    __tablename__ = "atgardslogg"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    user_name: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60))
    round_id: Mapped[int | None] = mapped_column(ForeignKey("remissomgang.id"), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class EndedStaffSession(Base):
    """A staff login ended by logging out: its cookie is refused until it would have expired."""

    __tablename__ = "avslutad_personalsession"

    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ended_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class ExtractWatermark(Base):
    """How far one consumer of the register extract (a diarium's import) has come: the next
    "new since the last extract" starts after `watermark`."""

    __tablename__ = "diarieutdrag"

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    watermark: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    items: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class SubmissionKey(Base):
    """A form posted from the answer page, by the random key its rendering carried: the same
    key posted again (a double click, a resend after a lost reply) finds this row and is
    shown the first post's outcome instead of storing again."""

    __tablename__ = "inlamningsnyckel"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    dispatch_id: Mapped[int] = mapped_column(ForeignKey("utskick.id"), index=True)
    form: Mapped[str] = mapped_column(String(20))
    answer_id: Mapped[int | None] = mapped_column(ForeignKey("remissvar.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


@event.listens_for(Session, "before_flush")
def _records_are_append_only(session: Session, _ctx: object, _instances: object) -> None:
    """Events and answers are public records: never changed or removed once stored."""
    for obj in session.deleted:
        if isinstance(obj, Event | Answer | AuditEntry):
            raise RuntimeError(f"{type(obj).__name__} is append-only and cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, Event | AuditEntry) and session.is_modified(obj):
            raise RuntimeError(f"the {type(obj).__name__} log is append-only: cannot be changed")
        if isinstance(obj, Answer):
            state = inspect(obj)
            changed = {a.key for a in state.attrs if a.history.has_changes()}
            if changed - {"processed_at", "documents", "rejected_at", "rejected_by"}:
                raise RuntimeError(f"an answer is append-only: cannot change {sorted(changed)}")
            # A review's verdict that an e-mail is not an answer is marked once, beside it.
            for key in ("rejected_at", "rejected_by"):
                if any(v is not None for v in state.attrs[key].history.deleted):
                    raise RuntimeError(f"an answer's {key} is set once")
