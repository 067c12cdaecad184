"""The remissammanställning for a round with every kind of outcome, in every format."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import docx
import pypdf
import pytest
from sqlalchemy import select

from remiss.answers import anstand, joint
from remiss.answers import service as answers
from remiss.core.settings import Settings
from remiss.db.engine import session_scope
from remiss.db.models import Answer, Round
from remiss.outbox.sending import send_missiv
from remiss.report.content import build_report
from remiss.report.render import render_docx, render_html, render_markdown, render_pdf
from remiss.rounds import start as rounds_start
from tests.conftest import SettingsFactory
from tests.support.mailers import RecordingOutbox
from tests.support.rounds import answer_with_files, dispatch_of

TZ = "Europe/Stockholm"
T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
DEADLINE = dt.date(2026, 12, 18)
CODES = [
    "socialnamnden",  # on time, summary given, decision § and reservation
    "servicenamnden",  # late
    "exploateringsnamnden",  # joint with fastighetsnamnden
    "fastighetsnamnden",
    "bromma",  # anstånd, then on time
    "kpr",  # declines
    "skarholmen",  # silent
    "farsta",  # by e-mail only
]


def at(day: str, hour: int = 10) -> dt.datetime:
    local = dt.datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(
        tzinfo=dt.timezone(dt.timedelta(hours=1))
    )
    return local.astimezone(dt.UTC)


@pytest.fixture
def settings(make_settings: SettingsFactory, database_url: str) -> Settings:
    s = make_settings(database_url)
    rounds_start.init(s, now=T0)
    return s


@pytest.fixture
def round_id(settings: Settings, case_dir: Path) -> int:
    rid = rounds_start.prepare_round(
        settings, case_dir / "arende.yaml", now=T0, to=CODES, deadline=DEADLINE.isoformat()
    )
    mailer = RecordingOutbox(settings)
    for dispatch_id in rounds_start.pending_sends(settings, rid):
        send_missiv(dispatch_id, settings=settings, mailer=mailer, now=T0)
    answer_with_files(
        settings,
        "socialnamnden",
        at("2026-12-10"),
        answers.AnswerForm(
            position="tillstyrker_delvis",
            att_sats_positions={1: "avstyrker", 2: "tillstyrker"},
            summary="Nämnden stöder en praxis för att donera utrustning men inte vänskapsavtalet.",
            decision_date="2026-12-08",
            decision_paragraph="§ 12",
            reservationer="Ledamöterna från V reserverar sig till förmån för eget förslag.",
        ),
    )
    answer_with_files(
        settings, "servicenamnden", at("2026-12-21"), answers.AnswerForm(position="tillstyrker")
    )
    answer_with_files(
        settings,
        "exploateringsnamnden",
        at("2026-12-15"),
        answers.AnswerForm(position="avstyrker", joint_with=["fastighetsnamnden"]),
    )
    with session_scope(settings.database_url) as session:
        # It counts as fastighetsnämnden's answer only once fastighetsnämnden has confirmed it.
        partner = dispatch_of(session, "fastighetsnamnden")
        (claim,) = joint.claims_naming(session, partner=partner)
        joint.decide_by_partner(
            session,
            partner=partner,
            answer_id=claim.answer.id,
            confirm=True,
            now=at("2026-12-16"),
            tz=TZ,
        )
    with session_scope(settings.database_url) as session:
        request = anstand.request_anstand(
            session,
            dispatch=dispatch_of(session, "bromma"),
            new_date="2027-01-15",
            reason="Nämnden sammanträder i januari.",
            requested_by=None,
            now=at("2026-12-01"),
        )
        anstand.decide(session, anstand_id=request.id, grant=True, now=at("2026-12-02"), tz=TZ)
    answer_with_files(
        settings, "bromma", at("2027-01-12"), answers.AnswerForm(position="inga_synpunkter")
    )
    with session_scope(settings.database_url) as session:
        answers.decline(
            session,
            dispatch=dispatch_of(session, "kpr"),
            reason="Berör inte rådet.",
            now=at("2026-12-03"),
            tz=TZ,
        )
    answer_with_files(
        settings,
        "farsta",
        at("2026-12-17"),
        answers.AnswerForm(position="besvarad"),
        channel="email",
    )
    return rid


def test_the_beredning_names_every_remissinstans_and_what_became_of_it(
    settings: Settings, round_id: int
) -> None:
    with session_scope(settings.database_url) as session:
        report = build_report(session.get_one(Round, round_id), now=at("2027-01-20"), tz=TZ)
    # Named as a Stockholm utlåtande names them: nämnder, stadsdelsnämnder, then the råd.
    assert report.beredning[0] == (
        "Ärendet har remitterats till exploateringsnämnden, fastighetsnämnden, "
        "servicenämnden, socialnämnden, Bromma stadsdelsnämnd, Farsta stadsdelsnämnd, "
        "Skärholmens stadsdelsnämnd och kommunala pensionärsrådet. Remissen skickades den "
        "23 november 2026 med svar senast den 18 december 2026."
    )
    assert report.beredning[1] == (
        "Exploateringsnämnden och fastighetsnämnden har lämnat ett gemensamt svar. "
        "Bromma stadsdelsnämnd beviljades anstånd till den 15 januari 2027 och svarade inom "
        "den tiden. Kommunala pensionärsrådet har avstått från att yttra sig (berör inte "
        "rådet). Skärholmens stadsdelsnämnd har ännu inte svarat. Servicenämndens svar kom in "
        "efter svarstiden."
    )
    sections = {s.name: s for s in report.sections}
    assert list(sections) == [
        "Exploateringsnämnden",
        "Servicenämnden",
        "Socialnämnden",
        "Bromma stadsdelsnämnd",
        "Farsta stadsdelsnämnd",
    ]
    assert sections["Socialnämnden"].lead == (
        "Socialnämnden tillstyrker delvis motionen. Nämnden avstyrker att-sats 1 och "
        "tillstyrker att-sats 2."
    )
    # The official's own words, with the body as subject instead of "Nämnden".
    assert sections["Socialnämnden"].paragraphs == (
        "Socialnämnden stöder en praxis för att donera utrustning men inte vänskapsavtalet.",
    )
    assert sections["Farsta stadsdelsnämnd"].lead == (
        "Farsta stadsdelsnämnd anser motionen besvarad."
    )
    assert sections["Bromma stadsdelsnämnd"].lead == (
        "Bromma stadsdelsnämnd har inga synpunkter på motionen."
    )
    assert not report.final, "Skärholmen has not answered and the round is open"
    rows = {row.name: row for row in report.rows}
    assert rows["Socialnämnden"].per_sats == ("Avstyrker", "Tillstyrker")
    assert "inkom efter svarstiden" in rows["Servicenämnden"].remarks
    assert "gemensamt svar med exploateringsnämnden" in rows["Fastighetsnämnden"].remarks
    assert rows["Kommunala pensionärsrådet"].position == "Avstår"
    assert "har inte svarat" in rows["Skärholmens stadsdelsnämnd"].remarks
    assert "inkom med e-post" in rows["Farsta stadsdelsnämnd"].remarks
    assert "inkom efter svarstiden" not in rows["Bromma stadsdelsnämnd"].remarks
    social = next(s for s in report.sections if s.name == "Socialnämnden")
    assert social.decision == "Socialnämnden beslutade i ärendet den 8 december 2026, § 12."
    assert "reserverar sig" in (social.reservationer or "")
    # Two files from each of the five that answered themselves (fastighetsnämnden jointly).
    assert len(report.bilagor) == 2 * 5


def test_every_format_says_the_same(settings: Settings, round_id: int) -> None:
    with session_scope(settings.database_url) as session:
        report = build_report(session.get_one(Round, round_id), now=at("2027-01-20"), tz=TZ)
    html = render_html(report, settings)
    pdf = pypdf.PdfReader(io.BytesIO(render_pdf(html)))
    pdf_text = " ".join((page.extract_text() or "") for page in pdf.pages)
    document = docx.Document(io.BytesIO(render_docx(report, settings)))
    docx_text = "\n".join(p.text for p in document.paragraphs) + "\n".join(
        cell.text for table in document.tables for row in table.rows for cell in row.cells
    )
    markdown = render_markdown(report, settings)
    for text in (html, " ".join(pdf_text.split()), docx_text, markdown):
        assert "KS 2025/348" in text
        assert "Motion om Stockholms stads stöd" in text
        assert "Skärholmens stadsdelsnämnd" in text
        assert "Preliminär" in text or "PRELIMINÄR" in text
    for text in (html, docx_text):
        assert "Skärholmens stadsdelsnämnd har ännu inte svarat." in text
        assert "Socialnämnden beslutade i ärendet den 8 december 2026, § 12." in text
    # The PDF is tagged for accessibility (PDF/UA), in Swedish, with a title.
    root = pdf.trailer["/Root"].get_object()
    assert isinstance(root, pypdf.generic.DictionaryObject)
    assert root["/MarkInfo"]["/Marked"]  # type: ignore[index]
    assert str(root["/Lang"]) == "sv"
    assert "/StructTreeRoot" in root
    assert "KS 2025/348" in ((pdf.metadata.title if pdf.metadata else None) or "")
    assert '<html lang="sv">' in html
    assert '<th scope="col">Att-sats 2</th>' in html


def test_a_complete_round_is_final(settings: Settings, round_id: int) -> None:
    answer_with_files(
        settings, "skarholmen", at("2027-01-19"), answers.AnswerForm(position="tillstyrker")
    )
    with session_scope(settings.database_url) as session:
        report = build_report(session.get_one(Round, round_id), now=at("2027-01-20"), tz=TZ)
        assert report.final
        assert report.status_label == "Slutlig"
        assert report.silent == ()
        assert session.scalars(select(Answer)).first() is not None
