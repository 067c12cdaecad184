"""The status document (`remiss status --json`) against its published JSON Schema,
docs/reference/status.schema.json.

The documents validated are real output: a round on SQLite, built through the same
services the answer page, the mailbox poll and the CLI use, in which every send state,
every progress value, every position, both channels and every anstånd state occur, and
a second, closed round from a case without `vackt`. `remiss status --json` itself is run
through the CLI for two of them.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator, ValidationError  # type: ignore[import-untyped]
from sqlalchemy import select
from typer.testing import CliRunner

from remiss.answers import anstand, joint, processing, review
from remiss.answers import service as answers
from remiss.cli import app
from remiss.core.settings import Settings
from remiss.core.terms import ARENDETYPER, POSITION_LABELS, PROGRESS_LABELS, STALLNINGSTAGANDEN
from remiss.db.engine import session_scope
from remiss.db.models import Dispatch
from remiss.inbox import poll as inbox
from remiss.mail import OutgoingEmail
from remiss.mail.outbox import FolderMailbox
from remiss.outbox.sending import send_missiv
from remiss.rounds import start as rounds_start
from remiss.rounds.status import STATE_LABELS, status_document
from remiss.storage.uploads import CONTENT_TYPES, upload_limits
from tests.conftest import settings_in_environment
from tests.support.documents import pdf_bytes
from tests.support.incoming import read_receipt, reply, report
from tests.support.mailers import RecordingOutbox
from tests.support.rounds import answer_with_files, dispatch_of, read_eml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "docs" / "reference" / "status.schema.json"
REFERENCE_PAGE = ROOT / "docs" / "reference" / "status-json.md"
TZ = "Europe/Stockholm"
T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
DEADLINE = dt.date(2026, 12, 18)

# Who does what in the round; together they give every value the schema enumerates.
ROLES = {
    "socialnamnden": "answers on the page twice (version 2), per att-sats, processed",
    "exploateringsnamnden": "answers 'besvarad' jointly with fastighetsnamnden",
    "fastighetsnamnden": "answered jointly by exploateringsnamnden",
    "servicenamnden": "answers after the deadline",
    "kulturnamnden": "answers by e-mail; the answer is reviewed",
    "farsta": "answers by e-mail; the answer waits for review",
    "kpr": "declines",
    "bromma": "is granted anstånd, then answers 'inga synpunkter'",
    "sodermalm": "asks for anstånd, not yet decided",
    "skarholmen": "asks for anstånd and is refused",
    "hasselby_vallingby": "confirms receipt with its own diarienummer",
    "kungsholmen": "opens its link",
    "jarva": "its remiss is delivered and read",
    "konstradet": "its remiss bounces",
    "enskede_arsta_vantor": "is sent the remiss; nothing more",
    "norra_innerstaden": "its remiss fails permanently",
    "hagersten_alvsjo": "is being sent when a document is taken",
    "arbetsmarknadsnamnden": "is never sent (pending)",
}
NOT_SENT = "arbetsmarknadsnamnden"
FAILS = "norra_innerstaden"
CAUGHT_SENDING = "hagersten_alvsjo"


def load_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def validator() -> Draft202012Validator:
    return Draft202012Validator(load_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def at(day: str, hour: int = 10) -> dt.datetime:
    """`hour` o'clock on a winter day in Stockholm (UTC+1), as UTC."""
    local = dt.datetime.fromisoformat(f"{day}T{hour:02d}:00")
    return local.replace(tzinfo=dt.timezone(dt.timedelta(hours=1))).astimezone(dt.UTC)


class SnapshotOutbox(RecordingOutbox):
    """The outbox, taking the status document while one remissmissiv is claimed and sent."""

    def __init__(self, settings: Settings, documents: list[dict[str, Any]]) -> None:
        super().__init__(settings)
        self.settings = settings
        self.documents = documents

    def send(self, message: OutgoingEmail) -> str:
        if f"/{CAUGHT_SENDING}/missiv/" in message.idempotency_key:
            with session_scope(self.settings.database_url) as session:
                self.documents.append(status_document(session, now=T0, tz=TZ))
        return super().send(message)


def mail_in(settings: Settings, name: str, data: bytes) -> None:
    settings.inbox_path.mkdir(parents=True, exist_ok=True)
    (settings.inbox_path / name).write_bytes(data)


def missiv(settings: Settings, code: str) -> EmailMessage:
    return read_eml(next(settings.outbox_dir.glob(f"*_{code}_missiv_0.eml")))


def build_round(settings: Settings, case: Path, documents: list[dict[str, Any]]) -> None:
    rounds_start.init(settings, now=T0)
    round_id = rounds_start.prepare_round(
        settings, case, now=T0, to=list(ROLES), deadline=DEADLINE.isoformat()
    )
    mailer = SnapshotOutbox(settings, documents)
    with session_scope(settings.database_url) as session:
        rows = session.scalars(select(Dispatch).where(Dispatch.round_id == round_id))
        ids = {d.remissinstans.code: d.id for d in rows}
    for code, dispatch_id in ids.items():
        if code != NOT_SENT:
            send_missiv(dispatch_id, settings=settings, mailer=mailer, now=T0)

    # The answer page.
    answer_with_files(
        settings, "socialnamnden", at("2026-12-01"), answers.AnswerForm(position="avstyrker")
    )
    latest = answer_with_files(
        settings,
        "socialnamnden",
        at("2026-12-10"),
        answers.AnswerForm(
            position="tillstyrker_delvis",
            att_sats_positions={1: "avstyrker", 2: "tillstyrker"},
            summary="Nämnden stöder en praxis för att donera utrustning.",
            decision_date="2026-12-08",
            decision_paragraph="§ 12",
        ),
    )
    answer_with_files(
        settings,
        "exploateringsnamnden",
        at("2026-12-15"),
        answers.AnswerForm(position="besvarad", joint_with=["fastighetsnamnden"]),
    )
    with session_scope(settings.database_url) as session:
        partner = dispatch_of(session, "fastighetsnamnden", round_id=1)
        (claim,) = joint.claims_naming(session, partner=partner)
        joint.decide_by_partner(
            session,
            partner=partner,
            answer_id=claim.answer.id,
            confirm=True,
            now=at("2026-12-16"),
            tz=TZ,
        )
    answer_with_files(
        settings, "servicenamnden", at("2026-12-21"), answers.AnswerForm(position="tillstyrker")
    )
    with session_scope(settings.database_url) as session:
        processing.mark_processed(session, answer_id=latest, now=at("2026-12-10", 11))
        granted = anstand.request_anstand(
            session,
            dispatch=dispatch_of(session, "bromma", round_id=1),
            new_date="2027-01-15",
            reason="Nämnden sammanträder i januari.",
            requested_by=None,
            now=at("2026-12-01"),
        )
        anstand.decide(session, anstand_id=granted.id, grant=True, now=at("2026-12-02"), tz=TZ)
        anstand.request_anstand(
            session,
            dispatch=dispatch_of(session, "sodermalm", round_id=1),
            new_date="2027-01-19",
            reason="Nämnden sammanträder först efter svarsdagen.",
            requested_by="registrator.sodermalm@stockholm.example",
            now=at("2026-12-03"),
        )
        refused = anstand.request_anstand(
            session,
            dispatch=dispatch_of(session, "skarholmen", round_id=1),
            new_date="2027-02-01",
            reason="Vi hinner inte.",
            requested_by=None,
            now=at("2026-12-03"),
        )
        anstand.decide(
            session,
            anstand_id=refused.id,
            grant=False,
            now=at("2026-12-04"),
            tz=TZ,
            note="Svara i tid.",
        )
        answers.decline(
            session,
            dispatch=dispatch_of(session, "kpr", round_id=1),
            reason="Berör inte rådet.",
            now=at("2026-12-03"),
            tz=TZ,
        )
        answers.confirm_receipt(
            session,
            dispatch=dispatch_of(session, "hasselby_vallingby", round_id=1),
            their_diarienummer="HV 2026/123",
            contact_name="Anna Berg",
            contact_email="anna.berg@stockholm.example",
            now=at("2026-12-02"),
        )
        answers.record_opening(
            session, dispatch=dispatch_of(session, "kungsholmen", round_id=1), now=at("2026-12-02")
        )
    answer_with_files(
        settings, "bromma", at("2027-01-12"), answers.AnswerForm(position="inga_synpunkter")
    )

    # The remiss mailbox: two answers by e-mail, a delivery report, a read receipt, a bounce.
    tu = pdf_bytes("Tjänsteutlåtande")
    for code in ("kulturnamnden", "farsta"):
        mail_in(
            settings,
            f"{code}.eml",
            reply(missiv(settings, code), files=(("tu.pdf", tu, "application/pdf"),)),
        )
    mail_in(settings, "dr.eml", report(missiv(settings, "jarva"), action="delivered"))
    mail_in(
        settings, "mdn.eml", read_receipt(missiv(settings, "jarva"), reader="reg@jarva.example")
    )
    mail_in(settings, "ndr.eml", report(missiv(settings, "konstradet"), action="failed"))
    result = inbox.poll(
        settings,
        FolderMailbox(settings.inbox_path),
        now=at("2026-12-11"),
        limits=upload_limits(settings),
    )
    assert (len(result.answers), result.delivered, len(result.bounced)) == (2, 1, 1)
    with session_scope(settings.database_url) as session:
        review.review_answer(
            session,
            dispatch=dispatch_of(session, "kulturnamnden", round_id=1),
            position="avstyrker",
            att_sats_positions={1: "avstyrker"},
            summary=None,
            reviewer="Karin Lindqvist",
            now=at("2026-12-14"),
        )


def second_case(case_dir: Path) -> Path:
    """A skrivelse without motionärer or `vackt`, so that the motion fields are null."""
    case = yaml.safe_load((case_dir / "arende.yaml").read_text(encoding="utf-8"))
    for key in ("motionarer", "vackt"):
        case.pop(key)
    case |= {"diarienummer": "KS 2026/101", "arendetyp": "skrivelse", "remissinstanser": ["kpr"]}
    path = case_dir / "skrivelse.yaml"
    path.write_text(yaml.safe_dump(case, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[dict[str, Any]]]:
    """Every status document the round gives, taken once for the module."""
    tmp = tmp_path_factory.mktemp("status")
    data = tmp / "data"
    case_dir = tmp / "case"
    case_dir.mkdir()
    example = ROOT / "examples" / "KS-2025-348"
    for name in ("arende.yaml", "motion.pdf"):
        (case_dir / name).write_bytes((example / name).read_bytes())
    with pytest.MonkeyPatch.context() as monkeypatch:
        settings = settings_in_environment(monkeypatch, data, f"sqlite:///{data / 'remiss.db'}")
        monkeypatch.setenv("REMISS_TEST_FAIL_KEYS", f"/{FAILS}/missiv/")
        taken: list[dict[str, Any]] = []
        build_round(settings, case_dir / "arende.yaml", taken)
        monkeypatch.delenv("REMISS_TEST_FAIL_KEYS")
        with session_scope(settings.database_url) as session:
            taken.append(status_document(session, now=at("2026-12-22"), tz=TZ))
            taken.append(status_document(session, now=at("2026-12-01"), tz=TZ))
        # The second round, started and closed through the CLI's own commands.
        second = rounds_start.prepare_round(settings, second_case(case_dir), now=T0)
        runner = CliRunner()
        closed = runner.invoke(app, ["round", "close", str(second)])
        assert closed.exit_code == 0, closed.output
        for args in (["status", "--json"], ["status", str(second), "--json"]):
            printed = runner.invoke(app, args)
            assert printed.exit_code == 0, printed.output
            taken.append(json.loads(printed.stdout))
        yield taken


def all_dispatches(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for doc in documents for r in doc["rounds"] for d in r["dispatches"]]


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_every_document_is_valid(documents: list[dict[str, Any]]) -> None:
    check = validator()
    assert len(documents) == 5
    for doc in documents:
        errors = sorted(check.iter_errors(doc), key=lambda e: list(e.absolute_path))
        assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_the_example_on_the_reference_page_is_valid() -> None:
    page = REFERENCE_PAGE.read_text(encoding="utf-8")
    example = page.split("```json\n", 1)[1].split("```", 1)[0]
    validator().validate(json.loads(example))


def test_the_documents_exercise_every_enumerated_value(documents: list[dict[str, Any]]) -> None:
    rounds = [r for doc in documents for r in doc["rounds"]]
    dispatches = all_dispatches(documents)
    answered = [d["answer"] for d in dispatches if d["answer"]]
    assert {r["state"] for r in rounds} == {"open", "closed"}
    assert {d["state"] for d in dispatches} == set(STATE_LABELS)
    assert {d["progress"] for d in dispatches} == set(PROGRESS_LABELS)
    assert {a["state"] for d in dispatches for a in d["anstand"]} == {
        "requested",
        "granted",
        "refused",
    }
    assert {a["channel"] for a in answered} == {"web", "email"}
    assert {a["position"] for a in answered} == set(POSITION_LABELS)
    assert {a["late"] for a in answered} == {True, False}
    assert {d["overdue"] for d in dispatches} == {True, False}
    assert any(d["answered_jointly_by"] == "exploateringsnamnden" for d in dispatches)
    assert {c["state"] for d in dispatches for c in d["joint_claims"]} == {"confirmed"}
    assert any(r["vackt"] is None for r in rounds)
    assert any(r["vackt"] for r in rounds)
    assert any(a["reviewed_by"] == "Karin Lindqvist" for a in answered)


def test_the_schema_names_the_values_the_code_has(documents: list[dict[str, Any]]) -> None:
    defs = load_schema()["$defs"]
    dispatch_props = defs["dispatch"]["properties"]
    answer_props = defs["answer"]["properties"]
    round_props = defs["round"]["properties"]
    assert dispatch_props["state"]["enum"] == list(STATE_LABELS)
    assert dispatch_props["state_label"]["enum"] == list(STATE_LABELS.values())
    assert dispatch_props["progress"]["enum"] == list(PROGRESS_LABELS)
    assert dispatch_props["progress_label"]["enum"] == list(PROGRESS_LABELS.values())
    assert round_props["progress_counts"]["required"] == list(PROGRESS_LABELS)
    assert round_props["arendetyp"]["enum"] == list(ARENDETYPER)
    assert defs["position"]["enum"] == list(STALLNINGSTAGANDEN)
    assert answer_props["position_label"]["enum"] == list(POSITION_LABELS.values())
    assert defs["file"]["properties"]["content_type"]["enum"] == list(CONTENT_TYPES.values())
    # Every field the code prints is in the schema, and the schema asks for no other.
    sample = next(d for d in all_dispatches(documents) if d["answer"])
    assert set(defs["dispatch"]["required"]) == set(sample)
    assert set(defs["answer"]["required"]) == set(sample["answer"])
    assert set(defs["round"]["required"]) == set(documents[0]["rounds"][0])


@pytest.mark.parametrize(
    ("where", "change"),
    [
        ("document", lambda doc: doc.update(extra=1)),
        ("round", lambda doc: doc["rounds"][0].update(state="archived")),
        ("dispatch", lambda doc: doc["rounds"][0]["dispatches"][0].update(progress="lost")),
        ("dispatch", lambda doc: doc["rounds"][0]["dispatches"][0].update(note="x")),
        ("dispatch", lambda doc: doc["rounds"][0]["dispatches"][0].pop("deadline")),
        ("instant", lambda doc: doc.update(generated_at="2026-12-01 10:00")),
        ("counts", lambda doc: doc["rounds"][0]["counts"].update(queued=0)),
    ],
)
def test_the_schema_is_strict(documents: list[dict[str, Any]], where: str, change: Any) -> None:
    doc = copy.deepcopy(documents[1])
    change(doc)
    with pytest.raises(ValidationError):
        validator().validate(doc)
