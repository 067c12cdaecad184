"""The remissammanställning's PDF and DOCX as kommunstyrelsen's papers need them.

A round to every nämnd and bolag (42 remissinstanser, so the status table runs over several
pages) with three att-satser, long names and long remarks.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import docx
import pikepdf
import pypdfium2 as pdfium
import pytest
import yaml
from docx.oxml.ns import qn

from remiss.answers import joint
from remiss.answers import service as answers
from remiss.core.settings import Settings
from remiss.db.engine import session_scope
from remiss.db.models import Round
from remiss.outbox.sending import send_missiv
from remiss.report.content import Report, build_report
from remiss.report.render import render_docx, render_html, render_pdf
from remiss.rounds import start as rounds_start
from tests.conftest import SettingsFactory
from tests.support.mailers import RecordingOutbox
from tests.support.rounds import answer_with_files, dispatch_of

TZ = "Europe/Stockholm"
T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
DEADLINE = dt.date(2026, 12, 18)
A4 = (595, 842)  # points, rounded
ANSWERING = [
    "arbetsmarknadsnamnden",
    "socialnamnden",
    "miljo_halsoskyddsnamnden",
    "stadsbyggnadsnamnden",
    "hagersten_alvsjo",
    "hasselby_vallingby",
    "enskede_arsta_vantor",
    "kyrkogardsnamnden",
    "overformyndarnamnden",
    "trafiknamnden",
]
POSITIONS = ["tillstyrker", "tillstyrker_delvis", "avstyrker", "inga_synpunkter"]


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hour:02d}:00+01:00").astimezone(dt.UTC)


@pytest.fixture
def settings(make_settings: SettingsFactory, database_url: str) -> Settings:
    s = make_settings(database_url)
    rounds_start.init(s, now=T0)
    return s


@pytest.fixture
def report(settings: Settings, case_dir: Path) -> Report:
    case_file = case_dir / "arende.yaml"
    case = yaml.safe_load(case_file.read_text(encoding="utf-8"))
    case["remissinstanser"] = ["namnder", "bolag"]
    case["att_satser"] = [
        *case["att_satser"],
        "att stadsledningskontoret årligen redovisar stadens samlade stöd till "
        "återuppbyggnaden av Ukraina för kommunstyrelsen",
    ]
    case_file.write_text(yaml.safe_dump(case, allow_unicode=True), encoding="utf-8")
    rid = rounds_start.prepare_round(settings, case_file, now=T0, deadline=DEADLINE.isoformat())
    mailer = RecordingOutbox(settings)
    for dispatch_id in rounds_start.pending_sends(settings, rid):
        send_missiv(dispatch_id, settings=settings, mailer=mailer, now=T0)
    for i, code in enumerate(ANSWERING):
        late = i % 4 == 3
        answer_with_files(
            settings,
            code,
            at("2026-12-21" if late else f"2026-12-1{i % 8}"),
            answers.AnswerForm(
                position=POSITIONS[i % 4],
                att_sats_positions={1: "avstyrker", 2: "tillstyrker", 3: "tillstyrker_delvis"},
                joint_with=["fastighetsnamnden"] if code == "stadsbyggnadsnamnden" else [],
            ),
            channel="email" if i % 3 == 2 else "web",
        )
    with session_scope(settings.database_url) as session:
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
        answers.decline(
            session,
            dispatch=dispatch_of(session, "valnamnden"),
            reason="Valnämnden har inga synpunkter inom sitt ansvarsområde och avstår därför "
            "från att yttra sig över motionen.",
            now=at("2026-12-03"),
            tz=TZ,
        )
    with session_scope(settings.database_url) as session:
        return build_report(session.get_one(Round, rid), now=at("2027-01-20"), tz=TZ)


@pytest.fixture
def pdf_bytes(report: Report, settings: Settings) -> bytes:
    return render_pdf(render_html(report, settings))


def page_texts(data: bytes) -> list[str]:
    document = pdfium.PdfDocument(data)
    texts = [" ".join(page.get_textpage().get_text_range().split()) for page in document]
    document.close()
    return texts


def _kids(element: Any) -> list[Any]:
    k = element.get("/K")
    if isinstance(k, pikepdf.Array):
        return list(k)
    return [] if k is None else [k]


def _elements(element: Any) -> list[Any]:
    found = [element]
    for kid in _kids(element):
        if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
            found += _elements(kid)
    return found


def test_the_pdf_is_a4_and_the_status_table_keeps_within_the_text_width(
    report: Report, pdf_bytes: bytes
) -> None:
    assert len(report.rows) == 42
    texts = page_texts(pdf_bytes)
    assert len(texts) >= 3, "42 rows run over several pages"
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        for page in pdf.pages:
            box = [float(v) for v in page.MediaBox]
            assert (round(box[2]), round(box[3])) == A4
    document = pdfium.PdfDocument(pdf_bytes)
    try:
        for page in document:
            width = page.get_width()
            text = page.get_textpage()
            # Nothing is drawn into the right margin (20 mm) or beyond the page's edge.
            for i in range(text.count_chars()):
                if not text.get_text_range(i, 1).strip():
                    continue  # line ends pdfium adds to the text, not drawn
                left, _bottom, right, _top = text.get_charbox(i)
                assert right <= width - 20 / 25.4 * 72 + 1, (i, right, width)
                assert left >= 25 / 25.4 * 72 - 1
    finally:
        document.close()


def test_every_column_and_every_row_is_whole_on_one_page(report: Report, pdf_bytes: bytes) -> None:
    texts = page_texts(pdf_bytes)
    whole = " ".join(texts)
    assert "Anmärkning" in whole
    assert "Att-sats 3" in whole or "Att- sats 3" in whole
    for row in report.rows:
        # The name (its first word, which hyphenation leaves whole or splits at the end) and
        # the row's date are on the same page: the row did not break across pages.
        first = row.name.split()[0][:6]
        pages = [i for i, t in enumerate(texts) if first in t and row.answered_on in t]
        assert pages, f"{row.name} and {row.answered_on} on no page together"
    # The last column's text is there: a remark and the declined nämnd's position.
    assert "gemensamt svar" in whole.lower()
    assert "Avstår" in whole


def test_the_pdf_tags_make_one_table_with_its_caption_and_header_cells(
    pdf_bytes: bytes,
) -> None:
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        assert str(pdf.Root.Lang) in {"sv", "sv-SE"}
        assert pdf.Root.MarkInfo.Marked
        document = pdf.Root.StructTreeRoot.K[0]
        elements = _elements(document)
        assert [str(e.S) for e in _kids_elements(document)].count("/Part") == 1
        (table,) = [e for e in elements if e.S == "/Table"]
        parts = [str(k.S) for k in _kids_elements(table)]
        assert parts == ["/Caption", "/THead", "/TBody"]
        rows = [e for e in _elements(table) if e.S == "/TR"]
        assert len(rows) == 1 + 42, "the header row once, then one row per remissinstans"
        heads = [e for e in _elements(table) if e.S == "/TH"]
        scopes = [str(h.A.Scope) for h in heads]
        assert scopes.count("/Column") == 2 + 3 + 2
        assert scopes.count("/Row") == 42
        ids = {str(h.ID) for h in heads}
        cells = [e for e in _elements(table) if e.S == "/TD"]
        assert cells
        assert all(str(h) in ids for c in cells for h in c.A.Headers)


def _kids_elements(element: Any) -> list[Any]:
    return [k for k in _kids(element) if isinstance(k, pikepdf.Dictionary) and "/S" in k]


def test_running_header_footer_and_repeated_header_rows_are_artifacts(
    pdf_bytes: bytes,
) -> None:
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        index: dict[Any, int] = {page.objgen: i for i, page in enumerate(pdf.pages)}
        owned: set[tuple[int, int]] = set()
        for element in _elements(pdf.Root.StructTreeRoot.K[0]):
            for kid in _kids(element):
                if isinstance(kid, int):
                    owned.add((index[element.Pg.objgen], kid))
                elif isinstance(kid, pikepdf.Dictionary) and kid.get("/Type") == "/MCR":
                    owned.add((index[kid.Pg.objgen], int(kid.MCID)))
        texts = page_texts(pdf_bytes)
        table_pages = [i for i, text in enumerate(texts) if "Anmärkning" in text]
        assert len(table_pages) >= 2
        for i, page in enumerate(pdf.pages):
            marked: list[int] = []
            pagination: list[str] = []
            stack: list[str] = []  # what each open marked-content sequence is
            text_in_artifacts = 0
            instructions: list[Any] = list(pikepdf.parse_content_stream(page))
            for operands, operator in instructions:
                name = str(operator)
                if name == "BDC":
                    tag, properties = operands
                    if "/MCID" in properties:
                        marked.append(int(properties.MCID))
                        stack.append("content")
                    elif str(tag) == "/Artifact" and properties.get("/Type") == "/Pagination":
                        pagination.append(str(properties.get("/Subtype")))
                        stack.append("pagination")
                    else:
                        stack.append(str(tag))
                elif name == "BMC":
                    stack.append(str(operands[0]))
                elif name == "EMC":
                    stack.pop()
                elif name in {"Tj", "TJ"} and stack and stack[-1] == "/Artifact":
                    text_in_artifacts += 1
            # Every piece of content belongs to the tree; the rest is an artifact.
            assert all((i, m) in owned for m in marked), f"content outside the tree, p. {i + 1}"
            # The first page's heading carries the dnr: it has no running header.
            expected = ["/Footer"] if i == 0 else ["/Footer", "/Header"]
            assert sorted(pagination) == expected, f"page {i + 1}"
            if i in table_pages[1:]:
                assert text_in_artifacts > 0, f"the header row repeated on p. {i + 1} is content"
    texts = page_texts(pdf_bytes)
    for n, text in enumerate(texts, start=1):
        assert "Dnr KS 2025/348" in text
        assert f"Sida {n} ({len(texts)})" in text


def test_the_docx_is_a4_in_swedish_with_header_page_numbers_and_a_repeating_header_row(
    report: Report, settings: Settings
) -> None:
    document = docx.Document(io.BytesIO(render_docx(report, settings)))
    (section,) = document.sections
    assert (section.page_width, section.page_height) == (11906 * 635, 16838 * 635)
    margins: list[Any] = [section.left_margin, section.right_margin]
    assert [round(m.mm) for m in margins] == [25, 20]
    header = " ".join(p.text for p in section.header.paragraphs)
    assert header.strip() == "Dnr KS 2025/348"
    footer = section.footer.paragraphs[0]._p
    instructions = [f.get(qn("w:instr")).strip() for f in footer.iter(qn("w:fldSimple"))]
    assert instructions == ["PAGE", "NUMPAGES"]
    assert "".join(t.text for t in footer.iter(qn("w:t"))).startswith("Sida ")
    styles = document.styles.element
    default_lang = styles.find(qn("w:docDefaults")).find(".//" + qn("w:lang"))
    assert default_lang.get(qn("w:val")) == "sv-SE"
    normal = document.styles["Normal"].element.find(".//" + qn("w:lang"))
    assert normal is not None
    assert normal.get(qn("w:val")) == "sv-SE"
    assert "en-US" not in styles.xml
    (table,) = document.tables
    assert len(table.rows) == 1 + 42
    row_properties: list[Any] = [row._tr.trPr for row in table.rows]
    assert row_properties[0].find(qn("w:tblHeader")) is not None
    assert all(p.find(qn("w:cantSplit")) is not None for p in row_properties)
    assert table.rows[0].cells[-1].text == "Anmärkning"
    properties = document.core_properties
    assert properties.author == settings.sender_name
    assert properties.title == f"Remissammanställning KS 2025/348: {report.rubrik}"
    assert properties.language == "sv-SE"
    assert "python-docx" not in f"{properties.author} {properties.comments} {properties.title}"
