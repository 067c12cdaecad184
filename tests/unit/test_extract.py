"""Text extraction from PDF, DOCX and ODT: every file is built here, by the test that reads it.

PDFs come from WeasyPrint (page headers and footers in @page margin boxes, which WeasyPrint
draws after the page's content: the extractor must put them back where they sit), DOCX files
from python-docx with a little raw WordprocessingML where python-docx has no API, and ODT
files are zipped by hand.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any
from xml.sax.saxutils import escape

import docx
import pytest
from docx.enum.text import WD_BREAK
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from remiss.core.errors import RemissError
from remiss.report.extract import ExtractError, extract_text, normalise_text

# --- Builders ------------------------------------------------------------------------------------

ODT_NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
}
ODT_DECLS = " ".join(f'xmlns:{k}="{v}"' for k, v in ODT_NS.items())
ODT_MIMETYPE = "application/vnd.oasis.opendocument.text"


def odt_inline(text: str) -> str:
    """Text with the ODF markup real files use: runs of spaces as text:s, a span here and there."""
    out = []
    for i, word in enumerate(text.split(" ")):
        if i:
            out.append(" ")
        out.append(f"<text:span>{escape(word)}</text:span>" if i % 5 == 2 else escape(word))
    return re.sub(r"  +", lambda m: f' <text:s text:c="{len(m.group(0)) - 1}"/>', "".join(out))


def build_odt(
    body: str,
    *,
    styles_body: str = "",
    automatic_styles: str = "",
    mimetype: str = ODT_MIMETYPE,
    office_body: str | None = None,
    manifest_extra: str = "",
) -> bytes:
    """An ODT: "mimetype" stored first and uncompressed, then manifest, content and styles."""
    inner = office_body if office_body is not None else f"<office:text>{body}</office:text>"
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODT_DECLS} '
        f'office:version="1.3"><office:automatic-styles>{automatic_styles}'
        f"</office:automatic-styles><office:body>{inner}</office:body>"
        "</office:document-content>"
    )
    styles = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-styles {ODT_DECLS} '
        f'office:version="1.3"><office:master-styles>{styles_body}</office:master-styles>'
        "</office:document-styles>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.3">'
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{mimetype}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml">'
        f"{manifest_extra}</manifest:file-entry>"
        '<manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), mimetype, compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)
        archive.writestr("styles.xml", styles)
    return buffer.getvalue()


def pdf_from_html(body: str, css: str = "") -> bytes:
    import weasyprint

    page_css = """
    @page { size: A4; margin: 30mm 25mm;
      @top-left { content: "Socialförvaltningen"; font-size: 9pt }
      @top-right { content: "Tjänsteutlåtande  Dnr SN 2025/4711"; font-size: 9pt;
                   white-space: pre }
      @bottom-right { content: "Sida " counter(page) " (" counter(pages) ")"; font-size: 9pt } }
    body { font-family: "DejaVu Sans", sans-serif; font-size: 11pt; line-height: 1.4 }
    p { margin: 0 0 10pt }
    """
    html = (
        f"<!doctype html><html lang='sv'><head><meta charset='utf-8'>"
        f"<style>{page_css}{css}</style></head><body>{body}</body></html>"
    )
    data: bytes = weasyprint.HTML(string=html).write_pdf()
    return data


def docx_bytes(document: Any) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def append_xml(paragraph: Any, xml: str) -> None:
    """Raw WordprocessingML appended to a paragraph (w namespace declared)."""
    paragraph._p.append(parse_xml(xml.replace(">", f" {nsdecls('w')}>", 1)))


# --- General -------------------------------------------------------------------------------------


def test_extract_error_is_a_remiss_error() -> None:
    assert issubclass(ExtractError, RemissError)


@pytest.mark.parametrize("kind", ["pdf", "docx", "odt"])
def test_empty_file_is_an_error(kind: str) -> None:
    with pytest.raises(ExtractError, match="tom"):
        extract_text(b"", kind)


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(ExtractError, match="stöds inte"):
        extract_text(b"hej", "rtf")


def test_kind_is_case_insensitive_and_may_have_a_dot() -> None:
    data = build_odt("<text:p>Hej</text:p>")
    assert extract_text(data, ".ODT") == "Hej"


def test_normalise_text() -> None:
    decomposed = "Sa\u0308rskilt a\u030a"  # "Särskilt å" with combining marks
    assert normalise_text(decomposed) == "Särskilt å"
    assert normalise_text("rad ett\r\nrad två\rrad tre") == "rad ett\nrad två\nrad tre"
    assert normalise_text("förvalt\u00adningen") == "förvaltningen"
    # A soft hyphen at a line end was printed as a hyphen: keep it for the parser.
    assert normalise_text("förvalt\u00ad\nningen") == "förvalt-\nningen"
    assert normalise_text("remis\x02\nsen") == "remis-\nsen"
    # pdfium's mark for a printed hyphen where it joined two lines is a hyphen wherever it is.
    assert normalise_text("VA\ufffe\ntaxa") == "VA-\ntaxa"
    assert normalise_text("VA\ufffetaxa") == "VA-taxa"
    assert normalise_text("\ufb01nansiering \ufb02ygplats\u200b") == "finansiering flygplats"
    assert normalise_text("a\x00b\x07c\td\x0be\ff") == "abc\td\ne\ff"


# --- PDF -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def three_pages() -> str:
    body = (
        "<h1>Remiss om motion om något</h1>"
        "<p>Första stycket på första sidan.</p><p>Andra stycket.</p>"
        "<ol><li>Socialnämnden godkänner förvaltningens tjänsteutlåtande.</li>"
        "<li>Ärendet justeras omedelbart.</li></ol>"
        "<p style='break-before: page'>Sida två börjar här.</p>"
        "<p style='break-before: page'>Sida tre.</p>"
        "<table><tr><td style='padding-right: 3cm'>Anna Andersson<br>Socialdirektör</td>"
        "<td>Bertil Berg<br>Avdelningschef</td></tr></table>"
    )
    return extract_text(pdf_from_html(body), "pdf")


def test_pdf_pages_are_separated_by_form_feeds(three_pages: str) -> None:
    pages = three_pages.split("\f")
    assert len(pages) == 3
    assert "Sida två börjar här." in pages[1]
    assert "Sida tre." in pages[2]


def test_pdf_running_header_and_footer_sit_where_they_are_printed(three_pages: str) -> None:
    # WeasyPrint draws margin boxes last; the text still has them first and last on the page.
    for number, page in enumerate(three_pages.split("\f"), start=1):
        lines = [line for line in page.split("\n") if line]
        assert re.fullmatch(r"Socialförvaltningen  Tjänsteutlåtande\s+Dnr SN 2025/4711", lines[0])
        assert lines[-1] == f"Sida {number} (3)"


def test_pdf_list_numbers_stay_with_their_items(three_pages: str) -> None:
    first = three_pages.split("\f")[0]
    assert re.search(r"^1\.\s+Socialnämnden godkänner", first, re.MULTILINE)
    assert re.search(r"^2\.\s+Ärendet justeras omedelbart\.$", first, re.MULTILINE)


def test_pdf_paragraph_spacing_is_a_blank_line(three_pages: str) -> None:
    first = three_pages.split("\f")[0]
    assert "Första stycket på första sidan.\n\nAndra stycket." in first


def test_pdf_text_side_by_side_keeps_a_wide_gap(three_pages: str) -> None:
    last = three_pages.split("\f")[2]
    assert "Anna Andersson  Bertil Berg" in last
    assert "Socialdirektör  Avdelningschef" in last


def test_pdf_wrapped_lines_are_one_line_break_apart() -> None:
    text = extract_text(
        pdf_from_html(
            "<p style='width: 6cm; hyphens: manual'>Ett stycke som är så långt att det måste "
            "brytas över flera rader i den smala spalten.</p>"
        ),
        "pdf",
    )
    body = text.split("\n\n")[1]
    assert body.count("\n") >= 2
    assert " ".join(body.split()) == (
        "Ett stycke som är så långt att det måste brytas över flera rader i den smala spalten."
    )


# Sentences as a tjänsteutlåtande on a motion has them; long enough to wrap in a column.
COLUMN_SENTENCES = [
    "Kommunstyrelsen har gett förvaltningen i uppdrag att se över hur kommunens lokaler för "
    "förskola och skola används under kvällar och helger.",
    "Förvaltningen bedömer att en samordnad bokning av lokalerna skulle ge föreningslivet "
    "bättre tillgång till ändamålsenliga lokaler.",
    "Motionärerna föreslår att kommunen inför ett gemensamt bokningssystem för alla kommunala "
    "lokaler som kan hyras ut till föreningar.",
    "En sådan lösning kräver dock att nämnderna kommer överens om gemensamma regler för "
    "prissättning, städning och ansvar för larm.",
    "Utbildningsnämnden har i sitt remissvar framhållit att skolans behov av lokalerna för "
    "undervisning alltid måste gå först.",
    "Kultur- och fritidsnämnden ser positivt på förslaget och menar att det ligger väl i linje "
    "med nämndens föreningsstrategi.",
    "Förvaltningen föreslår därför att kommunfullmäktige bifaller motionen i den del som gäller "
    "ett gemensamt bokningssystem.",
    "Kostnaderna för införandet beräknas rymmas inom befintlig budgetram för år 2026 och bedöms "
    "inte påverka taxorna.",
    "Den del av motionen som gäller avgiftsfria lokaler för ungdomsföreningar föreslås avslås "
    "med hänvisning till gällande taxa.",
    "Ärendet har samverkats med de fackliga organisationerna enligt kommunens samverkansavtal "
    "utan att några synpunkter kom in.",
]


@pytest.fixture(scope="module")
def two_columns() -> str:
    paragraphs = "".join(
        f"<p>{COLUMN_SENTENCES[i]} {COLUMN_SENTENCES[i + 1]}</p>"
        for i in range(0, len(COLUMN_SENTENCES), 2)
    )
    body = (
        "<h1>Svar på motion om bättre nyttjande av kommunens lokaler</h1>"
        f"<div style='columns: 2; column-gap: 8mm'>{paragraphs}</div>"
        "<p>Anna Andersson, socialdirektör, har skrivit detta tjänsteutlåtande och svarar för "
        "att det stämmer med underlaget.</p>"
    )
    return extract_text(pdf_from_html(body), "pdf")


def test_pdf_two_columns_are_read_column_by_column_with_every_sentence_whole(
    two_columns: str,
) -> None:
    flat = " ".join(two_columns.split())
    found = [flat.find(sentence) for sentence in COLUMN_SENTENCES]
    assert -1 not in found, [s for s, at in zip(COLUMN_SENTENCES, found, strict=True) if at < 0]
    assert found == sorted(found)


def test_pdf_two_columns_keep_the_heading_above_and_the_full_width_text_below(
    two_columns: str,
) -> None:
    flat = " ".join(two_columns.split())
    heading = flat.find("Svar på motion om bättre nyttjande av kommunens lokaler")
    signed = flat.find("Anna Andersson, socialdirektör, har skrivit detta tjänsteutlåtande")
    assert -1 < heading < flat.find(COLUMN_SENTENCES[0])
    assert flat.find(COLUMN_SENTENCES[-1]) < signed


def test_pdf_two_columns_keep_the_running_header_first_and_the_footer_last(
    two_columns: str,
) -> None:
    lines = [line for line in two_columns.split("\n") if line]
    assert re.fullmatch(r"Socialförvaltningen  Tjänsteutlåtande\s+Dnr SN 2025/4711", lines[0])
    assert lines[-1] == "Sida 1 (1)"


def test_pdf_a_table_with_four_columns_is_read_row_by_row() -> None:
    rows = [
        (name, position, f"2025-03-{day:02d}", f"Dnr {day}/2025")
        for day, (name, position) in enumerate(
            [
                ("Socialnämnden", "Tillstyrker"),
                ("Utbildningsnämnden", "Avstyrker"),
                ("Kultur- och fritidsnämnden", "Tillstyrker delvis"),
                ("Tekniska nämnden", "Inga synpunkter"),
                ("Miljönämnden", "Tillstyrker"),
                ("Byggnadsnämnden", "Avstår"),
                ("Pensionärsrådet", "Tillstyrker"),
                ("Funktionshinderrådet", "Tillstyrker"),
                ("Ungdomsrådet", "Avstyrker"),
                ("Revisorerna", "Inga synpunkter"),
            ],
            start=1,
        )
    ]
    table = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    text = extract_text(
        pdf_from_html(f"<p>Remissinstanserna har svarat så här.</p><table>{table}</table>"),
        "pdf",
    )
    lines = [" ".join(line.split()) for line in text.split("\n")]
    at = [lines.index(" ".join(row)) for row in rows]
    assert at == sorted(at)


def test_pdf_a_table_of_two_wide_columns_of_prose_is_read_row_by_row() -> None:
    # Cells full of wrapped text look like two columns; a table's rows start side by side.
    cells = [(COLUMN_SENTENCES[i], COLUMN_SENTENCES[i + 1]) for i in range(0, 8, 2)]
    table = "".join(
        f"<tr><td style='width: 50%; padding: 4pt 8pt; vertical-align: top'>{a}</td>"
        f"<td style='padding: 4pt 8pt; vertical-align: top'>{b}</td></tr>"
        for a, b in cells
    )
    text = extract_text(pdf_from_html(f"<table style='width: 100%'>{table}</table>"), "pdf")
    lines = [line for line in text.split("\n") if line]
    # Row by row, each line has a piece of both cells: the first line starts both sentences.
    assert lines[1].startswith(COLUMN_SENTENCES[0][:20])
    assert COLUMN_SENTENCES[1][:20] in lines[1]
    starts = [text.find(sentence[:25]) for sentence in COLUMN_SENTENCES[:8]]
    assert starts[2] > starts[1]
    assert starts[4] > starts[3]


def test_pdf_hyphen_at_a_line_end_stays_a_hyphen_at_the_line_end() -> None:
    # pdfium joins "VA-" to the next line and marks the hyphen U+FFFE ("VA\ufffetaxa").
    words = "Taxan för vatten och avlopp (VA-taxa) höjs. " * 3
    words += "Nämndens VA-taxa gäller från januari. " * 3
    text = extract_text(pdf_from_html(f"<p style='width: 40mm'>{words}</p>"), "pdf")
    assert "\ufffe" not in text
    assert "\x02" not in text
    assert "Nämndens VA-\ntaxa gäller från\njanuari." in text
    flat = " ".join(text.replace("-\n", "-").split())
    assert flat.count("(VA-taxa) höjs.") == 3
    assert flat.count("Nämndens VA-taxa gäller från januari.") == 3


def test_pdf_hyphenated_word_is_hyphen_and_line_break_for_the_parser_to_join() -> None:
    from remiss.report.tjansteutlatande import _reflow

    text = extract_text(
        pdf_from_html(
            "<p style='width: 28mm; hyphens: manual'>Kommunens kompetens&shy;försörjnings"
            "&shy;strategi omfattar alla förvaltningar.</p>"
        ),
        "pdf",
    )
    assert "\ufffe" not in text
    assert "\x02" not in text
    body = text.split("\n\n")[1].split("\n")
    # WeasyPrint prints U+2010 where it breaks at a soft hyphen; the parser knows it.
    assert any(line.endswith(("-", "\u2010")) for line in body)
    assert _reflow(body) == ("Kommunens kompetensförsörjningsstrategi omfattar alla förvaltningar.")


def test_pdf_without_text_gives_empty_pages() -> None:
    data = pdf_from_html(
        "<div style='height: 5cm; background: black'></div>",
        css="@page { @top-left { content: none } @top-right { content: none } "
        "@bottom-right { content: none } }",
    )
    assert extract_text(data, "pdf") == ""


@pytest.mark.parametrize(
    "data",
    [b"not a pdf at all", b"%PDF-1.7\n%%EOF", b"%PDF-1.4\n1 0 obj << /Type /Catalog"],
)
def test_broken_pdf_raises(data: bytes) -> None:
    with pytest.raises(ExtractError, match="PDF"):
        extract_text(data, "pdf")


def test_truncated_pdf_raises() -> None:
    data = pdf_from_html("<p>Hej</p>")
    with pytest.raises(ExtractError, match="skadad"):
        extract_text(data[: len(data) // 2], "pdf")


def test_password_protected_pdf_raises_with_a_useful_message() -> None:
    import pypdf

    writer = pypdf.PdfWriter(clone_from=io.BytesIO(pdf_from_html("<p>Hemligt</p>")))
    writer.encrypt("hemligt")
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(ExtractError, match="lösenordsskyddad"):
        extract_text(buffer.getvalue(), "pdf")


def test_pdf_read_back_with_pypdf_has_the_same_words() -> None:
    """pypdf (a different reader) agrees on the words; only the layout differs."""
    import pypdf

    data = pdf_from_html("<p>Förvaltningen tillstyrker motionen om återuppbyggnad.</p>")
    ours = extract_text(data, "pdf")
    theirs = pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "Förvaltningen tillstyrker motionen om återuppbyggnad." in ours
    assert "Förvaltningen tillstyrker motionen om återuppbyggnad." in " ".join(theirs.split())


# --- DOCX ----------------------------------------------------------------------------------------


def test_docx_paragraphs_and_tables_in_document_order() -> None:
    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = "Sidhuvud Dnr SN 2025/4711"
    document.sections[0].footer.paragraphs[0].text = "Sidfot Sida 1 (1)"
    document.add_heading("Remiss om motion om något", level=1)
    document.add_paragraph("Före tabellen.")
    document.add_paragraph()  # empty paragraphs are dropped
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "A1"
    table.cell(0, 1).text = "B1"
    table.cell(1, 0).text = "A2"
    table.cell(1, 1).paragraphs[0].text = "B2 rad ett"
    table.cell(1, 1).add_paragraph("B2 rad två")
    document.add_paragraph("Efter tabellen.")
    text = extract_text(docx_bytes(document), "docx")
    assert text == (
        "Remiss om motion om något\n\nFöre tabellen.\n\nA1\n\nB1\n\nA2\n\n"
        "B2 rad ett\nB2 rad två\n\nEfter tabellen."
    )
    assert "Sidhuvud" not in text
    assert "Sidfot" not in text


def test_docx_merged_cells_are_read_once() -> None:
    document = docx.Document()
    table = document.add_table(rows=2, cols=3)
    merged = table.cell(0, 0).merge(table.cell(0, 2))
    merged.text = "Sammanslagen"
    table.cell(1, 0).text = "X"
    text = extract_text(docx_bytes(document), "docx")
    assert text.count("Sammanslagen") == 1
    assert text == "Sammanslagen\n\nX"


def test_docx_line_breaks_tabs_and_inline_containers() -> None:
    document = docx.Document()
    paragraph = document.add_paragraph()
    run = paragraph.add_run("Veronica Carstorp Wolgast")
    run.add_break(WD_BREAK.LINE)
    paragraph.add_run("Socialdirektör\tSocialförvaltningen")
    linked = document.add_paragraph("Se ")
    for xml in (
        '<w:hyperlink w:anchor="x"><w:r><w:t>länken</w:t></w:r></w:hyperlink>',
        '<w:ins w:id="1" w:author="A"><w:r>'
        '<w:t xml:space="preserve"> och tillagt</w:t></w:r></w:ins>',
        '<w:del w:id="2" w:author="A"><w:r><w:delText> och struket</w:delText></w:r></w:del>',
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>',
        '<w:r><w:instrText xml:space="preserve"> PAGE </w:instrText></w:r>',
        '<w:r><w:fldChar w:fldCharType="end"/></w:r>',
        "<w:sdt><w:sdtContent><w:r><w:t>, i kontrollen</w:t></w:r></w:sdtContent></w:sdt>",
        "<w:r><w:t>. Ord</w:t><w:softHyphen/><w:t>delning och IT</w:t><w:noBreakHyphen/>"
        "<w:t>stöd.</w:t></w:r>",
    ):
        append_xml(linked, xml)
    text = extract_text(docx_bytes(document), "docx")
    assert text == (
        "Veronica Carstorp Wolgast\nSocialdirektör\tSocialförvaltningen\n\n"
        "Se länken och tillagt, i kontrollen. Orddelning och IT-stöd."
    )


def test_docx_block_level_content_control_is_read() -> None:
    document = docx.Document()
    document.add_paragraph("Före")
    body = document.element.body
    sdt = parse_xml(
        f"<w:sdt {nsdecls('w')}><w:sdtContent><w:p><w:r><w:t>Dnr SN 2025/4711</w:t></w:r>"
        "</w:p></w:sdtContent></w:sdt>"
    )
    body.insert(len(body) - 1, sdt)  # before w:sectPr
    assert extract_text(docx_bytes(document), "docx") == "Före\n\nDnr SN 2025/4711"


def test_docx_rows_in_a_content_control_are_read() -> None:
    document = docx.Document()
    table = document.add_table(rows=1, cols=1)
    table.cell(0, 0).text = "Första raden"
    wrapped = parse_xml(
        f"<w:sdt {nsdecls('w')}><w:sdtContent><w:tr><w:tc><w:p><w:r><w:t>Inslagen rad</w:t>"
        "</w:r></w:p></w:tc></w:tr></w:sdtContent></w:sdt>"
    )
    table._tbl.append(wrapped)
    assert extract_text(docx_bytes(document), "docx") == "Första raden\n\nInslagen rad"


def test_docx_generated_numbers_are_written_out() -> None:
    document = docx.Document()
    document.add_paragraph("Förslag till beslut")
    document.add_paragraph("Socialnämnden godkänner tjänsteutlåtandet.", style="List Number")
    document.add_paragraph("Ärendet justeras omedelbart.", style="List Number")
    document.add_paragraph("En punkt", style="List Bullet")
    text = extract_text(docx_bytes(document), "docx")
    assert text == (
        "Förslag till beslut\n\n1. Socialnämnden godkänner tjänsteutlåtandet.\n\n"
        "2. Ärendet justeras omedelbart.\n\n• En punkt"
    )


def test_docx_custom_numbering_formats_levels_and_restarts() -> None:
    document = docx.Document()
    numbering = document.part.numbering_part.element
    numbering.insert(
        0,
        parse_xml(
            f'<w:abstractNum {nsdecls("w")} w:abstractNumId="90">'
            '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/>'
            '<w:lvlText w:val="%1)"/></w:lvl>'
            '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="lowerLetter"/>'
            '<w:lvlText w:val="%1.%2"/></w:lvl>'
            '<w:lvl w:ilvl="2"><w:start w:val="1"/><w:numFmt w:val="upperRoman"/>'
            '<w:lvlText w:val="%3."/></w:lvl>'
            "</w:abstractNum>"
        ),
    )
    numbering.append(
        parse_xml(f'<w:num {nsdecls("w")} w:numId="90"><w:abstractNumId w:val="90"/></w:num>')
    )
    numbering.append(
        parse_xml(
            f'<w:num {nsdecls("w")} w:numId="91"><w:abstractNumId w:val="90"/>'
            '<w:lvlOverride w:ilvl="0"><w:startOverride w:val="1"/></w:lvlOverride></w:num>'
        )
    )

    def numbered(text: str, num_id: str, ilvl: int) -> None:
        paragraph = document.add_paragraph(text)
        paragraph._p.get_or_add_pPr().append(
            parse_xml(
                f'<w:numPr {nsdecls("w")}><w:ilvl w:val="{ilvl}"/>'
                f'<w:numId w:val="{num_id}"/></w:numPr>'
            )
        )

    numbered("Ett", "90", 0)
    numbered("Ett a", "90", 1)
    numbered("Ett b", "90", 1)
    numbered("Ett b I", "90", 2)
    numbered("Två", "90", 0)
    numbered("Två a", "90", 1)
    numbered("Ny lista", "91", 0)
    text = extract_text(docx_bytes(document), "docx")
    assert text.split("\n\n") == [
        "1) Ett",
        "1.a Ett a",
        "1.b Ett b",
        "I. Ett b I",
        "2) Två",
        "2.a Två a",
        "1) Ny lista",
    ]


@pytest.mark.parametrize(
    "data",
    [
        b"not a docx",
        b"PK\x03\x04 broken zip",
        build_odt("<text:p>Ett ODT-dokument</text:p>"),
    ],
)
def test_broken_docx_raises(data: bytes) -> None:
    with pytest.raises(ExtractError, match="Word-dokument"):
        extract_text(data, "docx")


def test_truncated_docx_raises() -> None:
    document = docx.Document()
    document.add_paragraph("Hej")
    data = docx_bytes(document)
    with pytest.raises(ExtractError, match="DOCX"):
        extract_text(data[: len(data) // 2], "docx")


def test_docx_without_its_document_part_raises() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    with pytest.raises(ExtractError):
        extract_text(buffer.getvalue(), "docx")


# --- ODT -----------------------------------------------------------------------------------------


def test_odt_headings_paragraphs_and_inline_markup() -> None:
    body = (
        '<text:h text:outline-level="1">Remiss om <text:span>motion</text:span></text:h>'
        '<text:p>Ett<text:s/>två<text:s text:c="3"/>tre<text:tab/>fyra</text:p>'
        '<text:h text:outline-level="2">Förvaltningens synpunkter och<text:line-break/>'
        "förslag</text:h>"
        "<text:p>Förvalt\u00adningen <text:a xlink:href='#x' "
        "xmlns:xlink='http://www.w3.org/1999/xlink'>länkar</text:a>"
        "<text:soft-page-break/> vidare<text:bookmark text:name='b'/>.</text:p>"
        "<text:p/>"
        "<text:section text:name='S'><text:p>I en sektion.</text:p></text:section>"
    )
    text = extract_text(build_odt(body), "odt")
    assert text == (
        "Remiss om motion\n\nEtt två   tre\tfyra\n\n"
        "Förvaltningens synpunkter och\nförslag\n\nFörvaltningen länkar vidare.\n\n"
        "I en sektion."
    )


def test_odt_leaves_out_notes_comments_deleted_text_and_page_headers() -> None:
    body = (
        "<text:tracked-changes><text:changed-region text:id='c1'><text:deletion>"
        "<text:p>Struken text</text:p></text:deletion></text:changed-region>"
        "</text:tracked-changes>"
        "<text:p>Text<text:note text:note-class='footnote'><text:note-citation>1"
        "</text:note-citation><text:note-body><text:p>Fotnot</text:p></text:note-body>"
        "</text:note> med <office:annotation><text:p>Kommentar</text:p></office:annotation>"
        "noter.</text:p>"
    )
    header = (
        '<style:master-page style:name="Standard"><style:header><text:p>Dnr SN 2025/4711'
        "</text:p></style:header></style:master-page>"
    )
    text = extract_text(build_odt(body, styles_body=header), "odt")
    assert text == "Text med noter."


def test_odt_lists_are_numbered_as_their_style_says() -> None:
    styles = (
        '<text:list-style style:name="L1">'
        '<text:list-level-style-number text:level="1" style:num-format="1" '
        'style:num-suffix=")"/>'
        '<text:list-level-style-number text:level="2" style:num-format="a" '
        'style:num-suffix="."/></text:list-style>'
        '<text:list-style style:name="L2"><text:list-level-style-bullet text:level="1" '
        'text:bullet-char="–"/></text:list-style>'
    )
    body = (
        '<text:list text:style-name="L1">'
        "<text:list-item><text:p>Första</text:p>"
        "<text:list><text:list-item><text:p>Under a</text:p></text:list-item>"
        "<text:list-item><text:p>Under b</text:p></text:list-item></text:list>"
        "</text:list-item>"
        "<text:list-item><text:p>Andra</text:p></text:list-item></text:list>"
        '<text:list text:style-name="L2"><text:list-item><text:p>Punkt</text:p>'
        "</text:list-item></text:list>"
        '<text:list text:style-name="L1"><text:list-item><text:p>Ny lista</text:p>'
        "</text:list-item></text:list>"
        '<text:list text:style-name="L1" text:continue-numbering="true"><text:list-item>'
        "<text:p>Fortsätter</text:p></text:list-item></text:list>"
    )
    text = extract_text(build_odt(body, automatic_styles=styles), "odt")
    assert text.split("\n\n") == [
        "1) Första",
        "a. Under a",
        "b. Under b",
        "2) Andra",
        "– Punkt",
        "1) Ny lista",
        "2) Fortsätter",
    ]


def test_odt_table_cells_row_by_row() -> None:
    body = (
        "<table:table table:name='T'><table:table-column table:number-columns-repeated='2'/>"
        "<table:table-header-rows><table:table-row><table:table-cell><text:p>Namn</text:p>"
        "</table:table-cell><table:table-cell><text:p>Titel</text:p></table:table-cell>"
        "</table:table-row></table:table-header-rows>"
        "<table:table-row><table:table-cell><text:p>Lisa Cadenius</text:p>"
        "<text:p>Socialförvaltningen</text:p></table:table-cell>"
        "<table:covered-table-cell/>"
        "<table:table-cell><text:p>Avdelningschef</text:p></table:table-cell>"
        "</table:table-row></table:table>"
    )
    text = extract_text(build_odt(body), "odt")
    assert text == ("Namn\n\nTitel\n\nLisa Cadenius\nSocialförvaltningen\n\nAvdelningschef")


def test_odt_nested_table_is_read_once() -> None:
    inner = (
        "<table:table table:name='Inre'><table:table-row><table:table-cell><text:p>Inre cell"
        "</text:p></table:table-cell></table:table-row></table:table>"
    )
    body = (
        "<table:table table:name='Yttre'><table:table-row><table:table-cell><text:p>Yttre"
        f"</text:p>{inner}</table:table-cell></table:table-row></table:table>"
    )
    text = extract_text(build_odt(body), "odt")
    assert text == "Yttre\nInre cell"


def test_odt_mimetype_is_stored_first() -> None:
    data = build_odt("<text:p>Hej</text:p>")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        first = archive.infolist()[0]
    assert first.filename == "mimetype"
    assert first.compress_type == zipfile.ZIP_STORED
    assert data[30:38] == b"mimetype"


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b"not an odt",
        _zip({"mimetype": ODT_MIMETYPE.encode()}),  # no content.xml
        _zip({"mimetype": ODT_MIMETYPE.encode(), "content.xml": b"<office:document-content"}),
        _zip(
            {
                "mimetype": ODT_MIMETYPE.encode(),
                "content.xml": b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaa">'
                b'<!ENTITY b "&a;&a;&a;&a;">]><x>&b;</x>',
            }
        ),
    ],
)
def test_broken_odt_raises(data: bytes) -> None:
    with pytest.raises(ExtractError, match="ODT"):
        extract_text(data, "odt")


def test_truncated_odt_raises() -> None:
    data = build_odt("<text:p>Hej</text:p>" * 200)
    with pytest.raises(ExtractError, match="ODT"):
        extract_text(data[: len(data) // 2], "odt")


def test_encrypted_odt_raises_with_a_useful_message() -> None:
    data = build_odt(
        "<text:p>Hej</text:p>",
        manifest_extra='<manifest:encryption-data manifest:checksum-type="SHA1"/>',
    )
    with pytest.raises(ExtractError, match="lösenordsskyddat"):
        extract_text(data, "odt")


def test_spreadsheet_is_not_a_text_document() -> None:
    data = build_odt(
        "",
        mimetype="application/vnd.oasis.opendocument.spreadsheet",
        office_body="<office:spreadsheet/>",
    )
    with pytest.raises(ExtractError, match="inte ett textdokument"):
        extract_text(data, "odt")


def test_odt_inline_helper_round_trips() -> None:
    text = "Veronica Carstorp Wolgast  Lisa Cadenius  och   fler"
    data = build_odt(f"<text:p>{odt_inline(text)}</text:p>")
    assert extract_text(data, "odt") == text
