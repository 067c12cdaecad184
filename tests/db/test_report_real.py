"""The remissammanställning of a round answered with real documents (tests/fixtures/real),
with bolag, a råd and an organisation outside the city: it reads like the Beredning of a
Stockholm utlåtande in every format."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import docx
import pypdf
import pytest

from remiss.answers import service as answers
from remiss.core.settings import Settings
from remiss.db.engine import session_scope
from remiss.db.models import Answer, Round
from remiss.outbox.sending import send_missiv
from remiss.report.compiling import extract_answer_texts
from remiss.report.content import Report, build_report
from remiss.report.render import render_docx, render_html, render_pdf
from remiss.rounds import changes
from remiss.rounds import start as rounds_start
from tests.conftest import SettingsFactory
from tests.support.mailers import RecordingOutbox
from tests.support.real_documents import RealDocument, load_manifest, render
from tests.support.rounds import answer_with_files, dispatch_of

TZ = "Europe/Stockholm"
T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
DEADLINE = dt.date(2026, 12, 18)
CODES = ["socialnamnden", "servicenamnden", "bromma", "farsta", "skarholmen", "sisab", "kpr"]
OUTSIDE = "Sveriges yrkesmusikerförbund (SYMF)"
# Who answers with which real document, and the position they record in the form.
ANSWERS = {
    "socialnamnden": ("malmo-ks-2026-djurhalsa", "tillstyrker"),
    "servicenamnden": ("malmo-tn-2025-eu-fiske", "tillstyrker"),
    "bromma": ("kungsbacka-ga-2024-motion-hogre-utbildning", "avstyrker"),
    # Recorded against what its document says: the working copy asks for a check.
    "farsta": ("huddinge-ks-2023-vanort", "tillstyrker"),
    "sisab": ("pdf-scanned", "tillstyrker"),
}


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hour:02d}:00+01:00").astimezone(dt.UTC)


def entry(key: str) -> RealDocument:
    return next(e for e in load_manifest() if key in (e.id, e.form))


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
    with session_scope(settings.database_url) as session:
        changes.add_outside_organisation(
            session,
            round_id=rid,
            name=OUTSIDE,
            email="kansli@symf.example",
            kind="extern",
            deadline=None,
            user="karin.lindqvist",
            now=T0,
            tz=TZ,
        )
    mailer = RecordingOutbox(settings)
    for dispatch_id in rounds_start.pending_sends(settings, rid):
        send_missiv(dispatch_id, settings=settings, mailer=mailer, now=T0)
    for code, (key, position) in ANSWERS.items():
        data, kind = render(entry(key))
        answer_id = answer_with_files(
            settings,
            code,
            at("2026-12-10"),
            answers.AnswerForm(position=position),
            documents=[(f"{code}-svar.{kind}", data)],
        )
        extract_answer_texts(settings, answer_id=answer_id)  # as on arrival
    with session_scope(settings.database_url) as session:
        answers.decline(
            session,
            dispatch=dispatch_of(session, "kpr"),
            reason="Ärendet berör inte rådets frågor.",
            now=at("2026-12-03"),
            tz=TZ,
        )
    return rid


def report_of(settings: Settings, round_id: int) -> Report:
    with session_scope(settings.database_url) as session:
        return build_report(session.get_one(Round, round_id), now=at("2026-12-21"), tz=TZ)


def test_the_beredning_names_everyone_in_order_with_the_outside_organisation_last(
    settings: Settings, round_id: int
) -> None:
    report = report_of(settings, round_id)
    assert report.beredning[0].startswith(
        "Ärendet har remitterats till servicenämnden, socialnämnden, Bromma stadsdelsnämnd, "
        "Farsta stadsdelsnämnd, Skärholmens stadsdelsnämnd, Skolfastigheter i Stockholm AB "
        "(SISAB), kommunala pensionärsrådet och Sveriges yrkesmusikerförbund (SYMF)."
    )
    assert report.beredning[1] == (
        "Kommunala pensionärsrådet har avstått från att yttra sig (ärendet berör inte rådets "
        "frågor). Skärholmens stadsdelsnämnd och Sveriges yrkesmusikerförbund (SYMF) har ännu "
        "inte svarat."
    )


def test_each_answer_is_a_paragraph_with_the_body_as_subject_and_its_view_from_its_document(
    settings: Settings, round_id: int
) -> None:
    report = report_of(settings, round_id)
    sections = {s.name: s for s in report.sections}
    social = sections["Socialnämnden"]
    assert social.lead == "Socialnämnden tillstyrker motionen."
    # Nothing typed in the form: the view is the stance of the real document, in the body's
    # voice, and said to be taken from it.
    assert social.paragraphs, "the stance of the document"
    assert all(len(p) <= 900 for p in social.paragraphs)
    assert social.text_source.startswith("Texten är hämtad ur socialnämndens ")
    assert social.text_source.endswith("(socialnamnden-svar.pdf).")
    assert sections["Servicenämnden"].lead == "Servicenämnden tillstyrker motionen."
    # The document speaks as "Fastighets- och fritidsnämnden": the body's own name takes
    # the whole subject, and names of other bodies are never glued to it.
    assert sections["Servicenämnden"].paragraphs[0].startswith("Servicenämnden är positiv")
    for section in sections.values():
        for paragraph in section.paragraphs:
            assert f"{section.name} för " not in paragraph, paragraph
            assert not re.search(rf"- och {section.name.lower()}", paragraph), paragraph
    assert sections["Bromma stadsdelsnämnd"].lead == ("Bromma stadsdelsnämnd avstyrker motionen.")
    # A scan: nothing to quote, and the report says the text could not be read.
    sisab = sections["Skolfastigheter i Stockholm AB (SISAB)"]
    assert sisab.paragraphs == ()
    assert sisab.unreadable == ("sisab-svar.pdf",)


def test_the_working_copy_lists_what_to_check_and_the_final_version_does_not(
    settings: Settings, round_id: int
) -> None:
    report = report_of(settings, round_id)
    assert not report.final
    warnings = " ".join(report.warnings)
    assert (
        "Farsta stadsdelsnämnd har angett ställningstagandet ”tillstyrker”, men "
        "farsta-svar.pdf säger ”anser motionen besvarad”" in warnings
    )
    assert "Texten i Skolfastigheter i Stockholm AB:s (SISAB) fil sisab-svar.pdf" in warnings
    with session_scope(settings.database_url) as session:
        rnd = session.get_one(Round, round_id)
        rnd.state = "closed"  # type: ignore[assignment]
    final = report_of(settings, round_id)
    assert final.final
    assert final.warnings == ()
    assert (
        "Skärholmens stadsdelsnämnd och Sveriges yrkesmusikerförbund (SYMF) har inte svarat."
        in (final.beredning[1])
    )


def test_every_format_reads_the_same_without_doubled_punctuation(
    settings: Settings, round_id: int
) -> None:
    report = report_of(settings, round_id)
    html = render_html(report, settings)
    text = " ".join(re.sub(r"<[^>]+>", " ", html.split("</style>")[1]).split())
    pdf = pypdf.PdfReader(io.BytesIO(render_pdf(html)))
    pdf_text = " ".join(" ".join((p.extract_text() or "").split()) for p in pdf.pages)
    document = docx.Document(io.BytesIO(render_docx(report, settings)))
    docx_text = " ".join(p.text for p in document.paragraphs)
    for shown in (text, docx_text):
        assert "Motionärerna föreslår att kommunfullmäktige beslutar" in shown
        assert "Bromma stadsdelsnämnd avstyrker motionen." in shown
        assert "Sveriges yrkesmusikerförbund (SYMF)" in shown
        # Never "..", ".,", ".)." or "(SYMF)s".
        assert not re.search(r"\.\.(?!\.)|\.,|\.\)\.|\)s\b", shown), shown
    assert "Bromma stadsdelsnämnd avstyrker motionen." in pdf_text
    # The dnr once on the first page (its heading), in the running header after that.
    first, *rest = [p.extract_text() or "" for p in pdf.pages]
    assert first.count("KS 2025/348") == 1
    assert all("Dnr KS 2025/348" in page for page in rest)
    assert "Skolfastigheter i Stockholm AB:s (SISAB) svar, sisab-svar.pdf" in text
    # The date on paper has no time of day.
    assert "21 december 2026" in text
    assert not re.search(r"kl\. \d", text)
    with session_scope(settings.database_url) as session:
        assert session.query(Answer).count() == len(ANSWERS)
