"""The tjänsteutlåtande parser: on seed 000, and on variants built as text, DOCX, PDF and ODT.

The variants are in `fixtures_tu/*.tu` (the markup is described in `fixtures_tu/README.md`).
Each is rendered here the way the documents reach us: as the plain text of an extraction tool
(wide, and narrow with hyphenation, page headers and "Sida N (M)" footers), as a Word file
made with python-docx, as a PDF made with WeasyPrint (running headers and footers in @page
margin boxes, several pages) and as an ODT zipped by hand. Every rendering must parse into
the same parts.
"""

from __future__ import annotations

import functools
import io
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import docx
import pytest
from docx.enum.text import WD_BREAK
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn

from remiss.report.extract import extract_text
from remiss.report.tjansteutlatande import Tjansteutlatande, parse, summary_for_report
from tests.unit.test_extract import build_odt, odt_inline

SEED = Path(__file__).resolve().parents[1] / "support" / "seeds" / "000_4cb3a211b484014c.txt"
FIXTURES = Path(__file__).parent / "fixtures_tu"
BODY_FIELDS = ("sammanfattning", "bakgrund", "arendet", "beredning", "synpunkter")


# --- The markup --------------------------------------------------------------------------------


@dataclass
class Block:
    kind: str  # meta | title | heading | para | item | sigtable | sigpara
    text: str = ""
    section: str | None = None  # the Tjansteutlatande field its section fills
    number: str = ""  # "1." or "1)" for items
    cells: list[list[str]] = field(default_factory=list)  # meta and signature tables


@dataclass
class Variant:
    name: str
    options: dict[str, str]
    blocks: list[Block]

    @property
    def header(self) -> list[str]:
        return [part.strip() for part in self.options.get("header", "").split("|")]

    @property
    def footer(self) -> str:
        return self.options.get("footer", "")

    @property
    def auto_numbers(self) -> bool:
        return self.options.get("numbering") == "auto"

    @property
    def narrow(self) -> bool:
        return self.options.get("layout") == "narrow"

    def expected(self) -> dict[str, object]:
        """What parse() must find, derived from the markup."""
        bodies: dict[str, list[str]] = {}
        items: dict[str, list[str]] = {"forslag": [], "bilagor": []}
        signatures: list[str] = []
        title = None
        for block in self.blocks:
            if block.kind == "title":
                title = block.text
            elif block.kind in ("sigtable", "sigpara"):
                signatures.extend(line for cell in block.cells for line in cell)
            elif block.section in items and block.kind in ("item", "para"):
                items[block.section].append(block.text)
            elif block.section is not None and block.kind == "para":
                bodies.setdefault(block.section, []).append(block.text)
        result: dict[str, object] = {
            "rubrik": title,
            "forslag_till_beslut": tuple(items["forslag"]),
            "bilagor": tuple(items["bilagor"]),
            "underskrifter": tuple(signatures),
        }
        for name in BODY_FIELDS:
            result[name] = "\n\n".join(bodies[name]) if name in bodies else None
        return result


ITEM = re.compile(r"^(\d{1,2}[.)]) (.+)$")


def load_variant(name: str) -> Variant:
    options: dict[str, str] = {}
    blocks: list[Block] = []
    current: str | None = None
    for raw in (FIXTURES / f"{name}.tu").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("%"):
            key, _, value = line[1:].partition(" ")
            options[key] = value.strip()
        elif line.startswith("meta:"):
            blocks.append(Block("meta", cells=[[c.strip()] for c in line[5:].split("|")]))
        elif line.startswith("== "):
            text, _, tag = line[3:].partition(" @")
            current = tag.strip() or None
            blocks.append(Block("heading", text.strip(), current))
        elif line.startswith("= "):
            blocks.append(Block("title", line[2:].strip()))
        elif line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            blocks.append(Block("sigtable", section=current, cells=[c.split(" / ") for c in cells]))
        elif line.startswith("~ "):
            blocks.append(Block("sigpara", section=current, cells=[line[2:].split(" / ")]))
        elif current in ("forslag", "bilagor") and (match := ITEM.match(line)):
            blocks.append(Block("item", match.group(2), current, number=match.group(1)))
        else:
            blocks.append(Block("para", line, current))
    return Variant(name, options, blocks)


VARIANTS = (
    "seed",
    "sdn_skarholmen",
    "kontor_exploatering",
    "minimal_idrott",
    "overlamnar_kultur",
    "broken_social",
    "no_justeras_utbildning",
)


# --- Renderings -------------------------------------------------------------------------------


def _wrap(text: str, width: int, hyphenate: bool) -> list[str]:
    """Lines of at most `width` characters; long lowercase words hyphenated if asked."""
    if not hyphenate:
        return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if len(candidate) <= width:
            line = candidate
            continue
        room = width - len(line) - (2 if line else 1)
        if word.isalpha() and word.islower() and len(word) >= 8 and room >= 4:
            cut = min(room, len(word) - 4)
            lines.append(f"{line} {word[:cut]}-".strip())
            line = word[cut:]
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return [x for x in lines if x]


def render_plain(variant: Variant, *, width: int = 64, paged: bool = False) -> str:
    """The text as a layout-keeping extraction tool gives it (the seed's style)."""
    out: list[str] = []
    hyphenate = paged
    for block in variant.blocks:
        if block.kind == "meta":
            out.append("  ".join(cell[0] for cell in block.cells))
        elif block.kind == "title":
            out += ["", *_wrap(block.text, width, hyphenate), ""]
        elif block.kind == "heading":
            out.append("")
            for part in block.text.split(" // "):
                out += _wrap(part, width, False)
        elif block.kind == "item":
            out += [*_wrap(f"{block.number} {block.text}", width, hyphenate), ""]
        elif block.kind == "para":
            out += [*_wrap(block.text, width, hyphenate), ""]
        elif block.kind == "sigtable":
            rows = max(len(cell) for cell in block.cells)
            out += ["  ".join(cell[i] for cell in block.cells) for i in range(rows)] + [""]
        elif block.kind == "sigpara":
            out += [*block.cells[0], ""]
    if not paged:
        return "\n".join(out)
    # Pages of 22 lines, a running header with "Sida N (M)" on top and a footer at the bottom.
    size = 22
    chunks = [out[i : i + size] for i in range(0, len(out), size)]
    pages = []
    for number, chunk in enumerate(chunks, start=1):
        header = "  ".join(variant.header) + f"  Sida {number} ({len(chunks)})"
        pages.append("\n".join([header, "", *chunk, "", variant.footer, ""]))
    return "\f".join(pages)


def _add_numbering_restart(document: Any, abstract_of: str) -> str:
    """A new w:num on the same list definition, restarting at 1 (Word's "Restart numbering")."""
    numbering = document.part.numbering_part.element
    num_ids = [int(n.get(qn("w:numId"))) for n in numbering.findall(qn("w:num"))]
    abstract_id = next(
        n.find(qn("w:abstractNumId")).get(qn("w:val"))
        for n in numbering.findall(qn("w:num"))
        if n.get(qn("w:numId")) == abstract_of
    )
    new_id = str(max(num_ids) + 1)
    numbering.append(
        parse_xml(
            f'<w:num {nsdecls("w")} w:numId="{new_id}"><w:abstractNumId w:val="{abstract_id}"/>'
            '<w:lvlOverride w:ilvl="0"><w:startOverride w:val="1"/></w:lvlOverride></w:num>'
        )
    )
    return new_id


def _set_num(paragraph: Any, num_id: str) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    ppr.append(
        parse_xml(
            f'<w:numPr {nsdecls("w")}><w:ilvl w:val="0"/><w:numId w:val="{num_id}"/></w:numPr>'
        )
    )


def render_docx(variant: Variant) -> bytes:
    document = docx.Document()
    section = document.sections[0]
    section.header.paragraphs[0].text = "  ".join(variant.header)
    section.footer.paragraphs[0].text = f"{variant.footer}  Sida 1 (1)"
    styled = variant.options.get("headings") == "styled"
    previous_field: str | None = None
    list_num: str | None = None
    meta_table: Any = None
    for block in variant.blocks:
        if block.kind != "meta":
            meta_table = None
        if block.kind == "meta":
            if meta_table is None:
                meta_table = document.add_table(rows=0, cols=len(block.cells))
            row = meta_table.add_row()
            for cell, text in zip(row.cells, block.cells, strict=True):
                cell.text = text[0]
        elif block.kind == "title":
            document.add_heading(block.text, level=1)
        elif block.kind == "heading":
            parts = block.text.split(" // ")
            paragraph = document.add_heading(level=2) if styled else document.add_paragraph()
            for i, part in enumerate(parts):
                run = paragraph.add_run(part)
                run.bold = True
                if i < len(parts) - 1:
                    run.add_break(WD_BREAK.LINE)
            document.add_paragraph()  # empty paragraphs are everywhere in real documents
        elif block.kind == "item":
            if variant.auto_numbers and block.number.endswith("."):
                paragraph = document.add_paragraph(block.text, style="List Number")
                if block.section != previous_field or list_num is None:
                    list_num = _add_numbering_restart(document, "5")
                _set_num(paragraph, list_num)
            else:
                document.add_paragraph(f"{block.number} {block.text}")
        elif block.kind == "para":
            document.add_paragraph(block.text)
        elif block.kind == "sigtable":
            table = document.add_table(rows=1, cols=len(block.cells))
            for cell, lines in zip(table.rows[0].cells, block.cells, strict=True):
                cell.paragraphs[0].text = lines[0]
                for line in lines[1:]:
                    cell.add_paragraph(line)
        elif block.kind == "sigpara":
            paragraph = document.add_paragraph()
            for i, line in enumerate(block.cells[0]):
                run = paragraph.add_run(line)
                if i < len(block.cells[0]) - 1:
                    run.add_break(WD_BREAK.LINE)
        previous_field = block.section if block.kind == "item" else previous_field
        if block.kind == "heading":
            previous_field = None
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def render_html(variant: Variant) -> str:
    h = escape
    header = variant.header
    narrow = variant.narrow
    css = f"""
    @page {{
      size: A4; margin: 32mm 25mm 28mm 25mm;
      @top-left {{ content: "{h(header[0])}"; font-size: 9pt }}
      @top-right {{ content: "{h("  ".join(header[1:]))}"; font-size: 9pt; white-space: pre }}
      @bottom-left {{ content: "{h(variant.footer)}"; font-size: 9pt }}
      @bottom-right {{ content: "Sida " counter(page) " (" counter(pages) ")"; font-size: 9pt }}
    }}
    body {{ font-family: "DejaVu Sans", sans-serif; font-size: 13pt; line-height: 1.6;
            width: {"9cm" if narrow else "12cm"}; {"text-align: justify;" if narrow else ""}
            hyphens: auto }}
    h1 {{ font-size: 18pt; margin: 0 0 10pt }}
    h2 {{ font-size: 13pt; margin: 16pt 0 4pt }}
    p {{ margin: 0 0 9pt }}
    ol {{ margin: 0 0 9pt; padding-left: 1.5em }}
    li {{ margin: 0 0 4pt }}
    table {{ border-collapse: collapse; margin: 16pt 0 }}
    td {{ vertical-align: top; padding: 0 1.5cm 0 0; white-space: nowrap; font-size: 11pt }}
    table.meta {{ font-size: 10pt; margin: 0 0 18pt }}
    """
    out = [f"<!doctype html><html lang='sv'><head><meta charset='utf-8'><style>{css}</style>"]
    out.append("</head><body>")
    blocks = variant.blocks
    i = 0
    while i < len(blocks):
        block = blocks[i]
        if block.kind == "meta":
            rows = []
            while i < len(blocks) and blocks[i].kind == "meta":
                cells = "".join(f"<td>{h(c[0])}</td>" for c in blocks[i].cells)
                rows.append(f"<tr>{cells}</tr>")
                i += 1
            out.append(f"<table class='meta'>{''.join(rows)}</table>")
            continue
        if block.kind == "title":
            out.append(f"<h1>{h(block.text)}</h1>")
        elif block.kind == "heading":
            out.append(f"<h2>{'<br>'.join(h(p) for p in block.text.split(' // '))}</h2>")
        elif block.kind == "item" and variant.auto_numbers and block.number.endswith("."):
            items = []
            while i < len(blocks) and blocks[i].kind == "item":
                items.append(f"<li>{h(blocks[i].text)}</li>")
                i += 1
            out.append(f"<ol>{''.join(items)}</ol>")
            continue
        elif block.kind == "item":
            out.append(f"<p>{h(block.number)} {h(block.text)}</p>")
        elif block.kind == "para":
            out.append(f"<p>{h(block.text)}</p>")
        elif block.kind == "sigtable":
            cells = "".join(f"<td>{'<br>'.join(h(x) for x in c)}</td>" for c in block.cells)
            out.append(f"<table><tr>{cells}</tr></table>")
        elif block.kind == "sigpara":
            out.append(f"<p>{'<br>'.join(h(x) for x in block.cells[0])}</p>")
        i += 1
    out.append("</body></html>")
    return "".join(out)


def render_pdf(variant: Variant) -> bytes:
    import weasyprint

    pdf: bytes = weasyprint.HTML(string=render_html(variant)).write_pdf()
    return pdf


ODT_LIST_STYLE = (
    '<text:list-style style:name="Numrering"><text:list-level-style-number text:level="1" '
    'style:num-format="1" style:num-suffix="."/></text:list-style>'
)


def render_odt(variant: Variant) -> bytes:
    out: list[str] = []
    blocks = variant.blocks
    i = 0
    while i < len(blocks):
        block = blocks[i]
        if block.kind in ("meta", "sigtable"):
            rows = []
            while i < len(blocks) and blocks[i].kind == block.kind:
                cells = "".join(
                    "<table:table-cell>"
                    + "".join(f"<text:p>{odt_inline(x)}</text:p>" for x in cell)
                    + "</table:table-cell>"
                    for cell in blocks[i].cells
                )
                rows.append(f"<table:table-row>{cells}</table:table-row>")
                i += 1
                if block.kind == "sigtable":
                    break
            columns = len(block.cells)
            out.append(
                f'<table:table table:name="T{i}"><table:table-column '
                f'table:number-columns-repeated="{columns}"/>{"".join(rows)}</table:table>'
            )
            continue
        if block.kind == "title":
            out.append(f'<text:h text:outline-level="1">{odt_inline(block.text)}</text:h>')
        elif block.kind == "heading":
            parts = "<text:line-break/>".join(odt_inline(p) for p in block.text.split(" // "))
            out.append(f'<text:h text:outline-level="2">{parts}</text:h>')
        elif block.kind == "item" and variant.auto_numbers and block.number.endswith("."):
            items = []
            while i < len(blocks) and blocks[i].kind == "item":
                items.append(
                    f"<text:list-item><text:p>{odt_inline(blocks[i].text)}</text:p>"
                    "</text:list-item>"
                )
                i += 1
            out.append(f'<text:list text:style-name="Numrering">{"".join(items)}</text:list>')
            continue
        elif block.kind == "item":
            out.append(f"<text:p>{odt_inline(block.number + ' ' + block.text)}</text:p>")
        elif block.kind == "para":
            out.append(f"<text:p>{odt_inline(block.text)}</text:p>")
        elif block.kind == "sigpara":
            lines = "<text:line-break/>".join(odt_inline(x) for x in block.cells[0])
            out.append(f"<text:p>{lines}</text:p>")
        if block.kind == "heading" and i % 2:
            out.append("<text:p/>")  # an empty paragraph now and then, as in real files
        i += 1
    header = escape("  ".join(variant.header))
    master = (
        '<style:master-page style:name="Standard"><style:header>'
        f"<text:p>{header}</text:p></style:header><style:footer>"
        f"<text:p>{escape(variant.footer)}</text:p></style:footer></style:master-page>"
    )
    return build_odt("".join(out), styles_body=master, automatic_styles=ODT_LIST_STYLE)


# Renderings from bytes, cached per variant: WeasyPrint takes a moment per document.
@functools.cache
def built(name: str, kind: str) -> bytes:
    variant = load_variant(name)
    return {"docx": render_docx, "pdf": render_pdf, "odt": render_odt}[kind](variant)


def text_of(name: str, form: str) -> str:
    variant = load_variant(name)
    if form == "plain":
        return render_plain(variant)
    if form == "plain-paged":
        return render_plain(variant, width=38, paged=True)
    return extract_text(built(name, form), form)


FORMS = ("plain", "plain-paged", "docx", "pdf", "odt")


# --- The seed ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed() -> Tjansteutlatande:
    return parse(SEED.read_text(encoding="utf-8"))


def test_seed_rubrik_and_proposals(seed: Tjansteutlatande) -> None:
    assert seed.rubrik == (
        "Remiss om Motion om Stockholms stads stöd i återuppbyggnaden av Ukraina"
    )
    assert seed.forslag_till_beslut == (
        "Socialnämnden godkänner förvaltningens tjänsteutlåtande som svar på remissen.",
        "Ärendet justeras omedelbart.",
    )


def test_seed_sammanfattning_names_the_four_motionarer(seed: Tjansteutlatande) -> None:
    assert seed.sammanfattning is not None
    for name in (
        "Dennis Wedin (M)",
        "Jan Jönsson (L)",
        "Jonas Naddebo (C)",
        "Nike Örbrink (KD)",
    ):
        assert name in seed.sammanfattning
    assert seed.sammanfattning.endswith(
        "Socialförvaltningen anser att mandatet för att fatta beslut i frågorna ligger på "
        "stadsövergripande nivå."
    )
    assert seed.sammanfattning.count("\n\n") == 1  # two paragraphs
    assert "  " not in seed.sammanfattning
    assert "\n " not in seed.sammanfattning


def test_seed_body_sections(seed: Tjansteutlatande) -> None:
    assert seed.bakgrund == (
        "Socialförvaltningen har mottagit Dennis Wedin (M), Jan Jönsson (L), Jonas Naddebo "
        "(C) och Nike Örbrink (KD) motion om Stockholms stads stöd i återuppbyggnaden av "
        "Ukraina från Stadsledningskontoret för besvarande senast 2025-08-26."
    )
    assert seed.arendet is not None
    assert seed.arendet.startswith("Bakgrunden till motionen är Rysslands invasionskrig")
    # "Lagen \n möjliggör" (a stray leading space in the seed) is re-flowed.
    assert "Lagen möjliggör även för kommuner och regioner" in seed.arendet
    assert seed.arendet.split("\n\n")[-2:] == [
        "1) Finansborgarrådet ger stadsdirektören i uppdrag att signera vänskapsavtalet med Kiev.",
        "2) Att staden inrättar en praxis som ger förvaltningar och bolag i uppgift att vid "
        "nyinköp se över möjligheten att donera befintlig utrustning till återuppbyggnaden "
        "av Ukraina.",
    ]
    assert seed.beredning is not None
    assert seed.beredning.startswith("Ärendet har beretts vid avdelningen för beredskap")
    assert seed.beredning.endswith("behandla ärendet den 21 augusti 2025.")
    assert seed.synpunkter is not None
    assert seed.synpunkter.startswith("Mandatet för att fatta beslut om motionärernas förslag")
    assert seed.synpunkter.endswith("levererar utrustning till Ukraina.")
    assert seed.synpunkter.count("\n\n") == 1
    assert "Veronica" not in seed.synpunkter
    assert "Socialdirektör" not in seed.synpunkter


def test_seed_signatures_bilagor_and_decision(seed: Tjansteutlatande) -> None:
    assert seed.underskrifter == (
        "Veronica Carstorp Wolgast",
        "Socialdirektör",
        "Socialförvaltningen",
        "Lisa Cadenius",
        "Avdelningschef",
        "Socialförvaltningen",
    )
    assert seed.bilagor == ("Motion om Stockholms stads stöd i återuppbyggnaden av Ukraina",)
    assert seed.beslutsmening == (
        "Socialnämnden godkänner förvaltningens tjänsteutlåtande som svar på remissen."
    )
    assert seed.namnd == "Socialnämnden"
    assert seed.justeras_omedelbart is True


def test_seed_summary_for_report(seed: Tjansteutlatande) -> None:
    assert summary_for_report(seed) == seed.sammanfattning
    short = summary_for_report(seed, max_chars=300)
    assert short == (
        "Dennis Wedin (M), Jan Jönsson (L), Jonas Naddebo (C) och Nike Örbrink (KD) har lagt "
        "en motion i kommunfullmäktige om Stockholms stads stöd i återuppbyggnaden av Ukraina."
    )


def test_seed_markup_matches_the_seed_text(seed: Tjansteutlatande) -> None:
    """seed.tu is the seed: what it says parse finds in the seed text, it finds."""
    expected = load_variant("seed").expected()
    for name, value in expected.items():
        assert getattr(seed, name) == value, name


# --- Every variant in every form ---------------------------------------------------------------

DECISIONS: dict[str, tuple[str, str, bool]] = {
    "seed": (
        "Socialnämnden godkänner förvaltningens tjänsteutlåtande som svar på remissen.",
        "Socialnämnden",
        True,
    ),
    "sdn_skarholmen": (
        "Skärholmens stadsdelsnämnd godkänner stadsdelsförvaltningens tjänsteutlåtande som "
        "svar på remissen.",
        "Skärholmens stadsdelsnämnd",
        True,
    ),
    "kontor_exploatering": (
        "Exploateringsnämnden godkänner kontorets tjänsteutlåtande som svar på remissen från "
        "kommunstyrelsen.",
        "Exploateringsnämnden",
        True,
    ),
    "minimal_idrott": (
        "Idrottsnämnden besvarar remissen med förvaltningens tjänsteutlåtande.",
        "Idrottsnämnden",
        True,
    ),
    "overlamnar_kultur": (
        "Kulturnämnden överlämnar tjänsteutlåtandet som svar på remissen till kommunstyrelsen.",
        "Kulturnämnden",
        True,
    ),
    "broken_social": (
        "Socialnämnden godkänner förvaltningens tjänsteutlåtande som svar på remissen.",
        "Socialnämnden",
        True,
    ),
    "no_justeras_utbildning": (
        "Utbildningsnämnden godkänner förvaltningens tjänsteutlåtande som svar på remissen.",
        "Utbildningsnämnden",
        False,
    ),
}


def _flat(value: object) -> object:
    return " ".join(value.split()) if isinstance(value, str) else value


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", VARIANTS)
def test_variant_parses_the_same_in_every_form(name: str, form: str) -> None:
    text = text_of(name, form)
    tu = parse(text)
    expected = load_variant(name).expected()
    for field_name, value in expected.items():
        got = getattr(tu, field_name)
        if form in ("pdf", "plain-paged") and field_name in BODY_FIELDS:
            # A page break can fall after a sentence inside a paragraph; compare the words.
            assert _flat(got) == _flat(value), f"{field_name} ({form})"
        else:
            assert got == value, f"{field_name} ({form})"
    beslutsmening, namnd, justeras = DECISIONS[name]
    assert tu.beslutsmening == beslutsmening
    assert tu.namnd == namnd
    assert tu.justeras_omedelbart is justeras
    # Page headers, footers and page numbers never leak into a section.
    header_dnr = load_variant(name).header[-1]
    for field_name in (*BODY_FIELDS, "rubrik"):
        value = getattr(tu, field_name) or ""
        assert "Sida " not in value
        assert header_dnr not in value


def test_paged_renderings_have_several_pages() -> None:
    for name in VARIANTS:
        assert text_of(name, "pdf").count("\f") >= 1, name
        assert text_of(name, "plain-paged").count("\f") >= 2, name


def test_pdf_keeps_headers_and_page_numbers_out_of_the_text_it_parses() -> None:
    text = text_of("broken_social", "pdf")
    pages = text.split("\f")
    assert all("Dnr SN 2025/5190" in page for page in pages)  # the header is in the text
    assert f"Sida {len(pages)} ({len(pages)})" in pages[-1]
    tu = parse(text)
    assert "Dnr SN 2025/5190" not in (tu.rubrik or "") + (tu.sammanfattning or "")


def test_narrow_pdf_is_hyphenated_and_rejoined() -> None:
    text = text_of("broken_social", "pdf")
    assert re.search(r"\w[‐-]\n\w", text), "WeasyPrint should hyphenate the narrow layout"
    tu = parse(text)
    assert tu.synpunkter is not None
    assert "‐" not in tu.synpunkter


def test_docx_and_odt_leave_page_headers_out() -> None:
    for form in ("docx", "odt"):
        text = text_of("seed", form)
        assert "Dnr SN 2025/4711" not in text, form
        assert "Stockholms stad\n" not in text + "\n", form


def test_auto_numbered_docx_restarts_each_list() -> None:
    text = text_of("seed", "docx")
    assert "1. Socialnämnden godkänner" in text
    assert "2. Ärendet justeras omedelbart." in text
    assert "1. Motion om Stockholms stads stöd" in text


# --- Hand-made oddities ------------------------------------------------------------------------


def test_headers_repeated_on_each_page_are_dropped() -> None:
    header = "Socialförvaltningen  Tjänsteutlåtande  Dnr SN 2025/4711"
    text = (
        f"{header}  Sida 1 (3)\n\nRemiss om motion om något\n\nSammanfattning\n"
        "Första stycket i sammanfattningen som fortsätter\n"
        "Stockholms stad\f"
        f"{header}  Sida 2 (3)\npå nästa sida och slutar här.\n\nBakgrund\n"
        "Bakgrunden i ett stycke.\nStockholms stad\f"
        f"{header}\n3 (3)\nÄrendet\nÄrendet beskrivs här.\nStockholms stad"
    )
    tu = parse(text)
    assert tu.rubrik == "Remiss om motion om något"
    assert tu.sammanfattning == (
        "Första stycket i sammanfattningen som fortsätter på nästa sida och slutar här."
    )
    assert tu.bakgrund == "Bakgrunden i ett stycke."
    assert tu.arendet == "Ärendet beskrivs här."


def test_a_page_ending_a_sentence_ends_the_paragraph() -> None:
    text = (
        "Sammanfattning\nEtt stycke som slutar på sidan.\nSida 1 (2)\f"
        "Sida 2 (2)\nNästa stycke börjar här.\n"
    )
    assert parse(text).sammanfattning == (
        "Ett stycke som slutar på sidan.\n\nNästa stycke börjar här."
    )


@pytest.mark.parametrize(
    ("heading", "field_name"),
    [
        ("Förvaltningens förslag till beslut", "forslag_till_beslut"),
        ("Kontorets förslag till beslut", "forslag_till_beslut"),
        ("Stadsdelsförvaltningens förslag till beslut", "forslag_till_beslut"),
        ("Exploateringskontorets förslag till beslut", "forslag_till_beslut"),
        ("FÖRSLAG TILL BESLUT", "forslag_till_beslut"),
        ("Förslag till beslut:", "forslag_till_beslut"),
        ("Sammanfattning   ", "sammanfattning"),
        ("1. Bakgrund", "bakgrund"),
        ("Ärendet", "arendet"),
        ("Ärendets beredning", "beredning"),
        ("Förvaltningens synpunkter och förslag", "synpunkter"),
        ("Kontorets synpunkter och förslag", "synpunkter"),
        ("Stadsdelsförvaltningens synpunkter och förslag", "synpunkter"),
        ("Förvaltningens synpunkter och\nförslag", "synpunkter"),
        ("Förvaltningens synpunkter\n\noch förslag", "synpunkter"),
        ("Stadsdelsförvalt-\nningens synpunkter och förslag", "synpunkter"),
        ("Kontorets förslag till\nbeslut", "forslag_till_beslut"),
        ("Ärendets\nberedning", "beredning"),
        ("Förvaltningens bedömning", "synpunkter"),
    ],
)
def test_heading_variants(heading: str, field_name: str) -> None:
    tu = parse(f"Remiss om något\n\n{heading}\nNämnden tycker till.\n")
    value = getattr(tu, field_name)
    assert value in ("Nämnden tycker till.", ("Nämnden tycker till.",)), heading


def test_a_heading_word_that_starts_a_wrapped_sentence_is_not_a_heading() -> None:
    text = (
        "Sammanfattning\nFörvaltningen har tagit del av motionen. Den\nberör flera nämnder.\n"
        "Ärendet\nhar beretts i samråd med stadsdelarna.\n"
    )
    tu = parse(text)
    assert tu.arendet is None
    assert tu.sammanfattning == (
        "Förvaltningen har tagit del av motionen. Den berör flera nämnder. Ärendet har "
        "beretts i samråd med stadsdelarna."
    )


def test_hyphenation_at_line_ends() -> None:
    text = (
        "Sammanfattning\nFörvaltningen ser ett behov av kompe-\ntens och av IT-\n"
        "system i Hägersten-\nÄlvsjö, i stads-\noch landstingsförbundet och den 2025-\n"
        "08-26 i remis‐\nsen.\n"
    )
    assert parse(text).sammanfattning == (
        "Förvaltningen ser ett behov av kompetens och av IT-system i Hägersten-Älvsjö, i "
        "stads- och landstingsförbundet och den 2025-08-26 i remissen."
    )


def test_proposals_numbered_with_parentheses_and_wrapped() -> None:
    text = (
        "Förslag till beslut\n1) Trafiknämnden godkänner förvaltningens\ntjänsteutlåtande "
        "som svar på\n\nremissen.\n2) Trafiknämnden uppdrar åt förvaltningen att återkomma.\n"
        "3) Ärendet justeras\nomedelbart.\n\nSammanfattning\nKort.\n"
    )
    tu = parse(text)
    assert tu.forslag_till_beslut == (
        "Trafiknämnden godkänner förvaltningens tjänsteutlåtande som svar på remissen.",
        "Trafiknämnden uppdrar åt förvaltningen att återkomma.",
        "Ärendet justeras omedelbart.",
    )
    assert tu.namnd == "Trafiknämnden"
    assert tu.justeras_omedelbart is True
    assert tu.sammanfattning == "Kort."


def test_unnumbered_proposals_one_per_sentence_line() -> None:
    text = (
        "Förslag till beslut\nMiljö- och hälsoskyddsnämnden överlämnar\ntjänsteutlåtandet "
        "som svar på remissen.\nÄrendet justeras omedelbart.\n"
    )
    tu = parse(text)
    assert tu.forslag_till_beslut == (
        "Miljö- och hälsoskyddsnämnden överlämnar tjänsteutlåtandet som svar på remissen.",
        "Ärendet justeras omedelbart.",
    )
    assert tu.namnd == "Miljö- och hälsoskyddsnämnden"


@pytest.mark.parametrize(
    ("sentence", "namnd"),
    [
        (
            "Socialnämnden godkänner förvaltningens tjänsteutlåtande som svar på remissen.",
            "Socialnämnden",
        ),
        (
            "Exploateringsnämnden godkänner kontorets tjänsteutlåtande som svar på remissen.",
            "Exploateringsnämnden",
        ),
        ("Kulturnämnden överlämnar tjänsteutlåtandet som svar på remissen.", "Kulturnämnden"),
        (
            "Hägersten-Älvsjö stadsdelsnämnd besvarar remissen med stadsdelsförvaltningens "
            "tjänsteutlåtande.",
            "Hägersten-Älvsjö stadsdelsnämnd",
        ),
        (
            "Idrottsnämnden beslutar att godkänna förvaltningens tjänsteutlåtande som svar "
            "på remissen.",
            "Idrottsnämnden",
        ),
    ],
)
def test_decision_sentence_forms(sentence: str, namnd: str) -> None:
    # Broken over lines, as extraction leaves it.
    words = sentence.split()
    text = "Förslag till beslut\n1. " + " ".join(words[:4]) + "\n" + " ".join(words[4:])
    tu = parse(text)
    assert tu.beslutsmening == sentence
    assert tu.namnd == namnd
    assert tu.justeras_omedelbart is False


def test_decision_found_in_the_body_when_the_proposals_lack_it() -> None:
    text = (
        "Sammanfattning\nFörvaltningen föreslår att Stadsbyggnadsnämnden godkänner\n"
        "kontorets tjänsteutlåtande som svar på remissen. Paragrafen justeras omedelbart.\n"
    )
    tu = parse(text)
    assert tu.forslag_till_beslut == ()
    assert tu.beslutsmening == (
        "Stadsbyggnadsnämnden godkänner kontorets tjänsteutlåtande som svar på remissen."
    )
    assert tu.namnd == "Stadsbyggnadsnämnden"
    assert tu.justeras_omedelbart is True


def test_proposals_introduced_by_beslutar_att() -> None:
    text = (
        "Förslag till beslut\nSocialnämnden beslutar att\n\n1. godkänna förvaltningens "
        "tjänsteutlåtande som\nsvar på remissen\n2. justera paragrafen omedelbart\n"
    )
    tu = parse(text)
    assert tu.forslag_till_beslut == (
        "godkänna förvaltningens tjänsteutlåtande som svar på remissen",
        "justera paragrafen omedelbart",
    )
    assert tu.beslutsmening == (
        "Socialnämnden beslutar att godkänna förvaltningens tjänsteutlåtande som svar på remissen"
    )
    assert tu.namnd == "Socialnämnden"
    assert tu.justeras_omedelbart is True


def test_decision_after_an_unknown_heading_names_only_the_namnd() -> None:
    tu = parse(
        "Beslut\nSocialnämnden godkänner förvaltningens tjänsteutlåtande som svar på remissen.\n"
    )
    assert tu.namnd == "Socialnämnden"
    assert tu.beslutsmening == (
        "Socialnämnden godkänner förvaltningens tjänsteutlåtande som svar på remissen."
    )


def test_a_page_reference_in_the_text_is_not_a_page_number() -> None:
    text = "Sammanfattning\nUppgifterna finns på sida 2 (3) i bilagan och\nkommenteras där.\n"
    assert parse(text).sammanfattning == (
        "Uppgifterna finns på sida 2 (3) i bilagan och kommenteras där."
    )


def test_justeras_inte_omedelbart_is_false() -> None:
    tu = parse("Förslag till beslut\n1. Ärendet justeras inte omedelbart.\n")
    assert tu.justeras_omedelbart is False


def test_missing_everything() -> None:
    tu = parse("")
    assert tu == Tjansteutlatande(
        rubrik=None,
        forslag_till_beslut=(),
        sammanfattning=None,
        bakgrund=None,
        arendet=None,
        beredning=None,
        synpunkter=None,
        underskrifter=(),
        bilagor=(),
        beslutsmening=None,
        namnd=None,
        justeras_omedelbart=False,
    )
    assert summary_for_report(tu) is None


def test_a_letter_without_headings_has_only_a_rubrik() -> None:
    tu = parse("Yttrande över remiss om motion om cykelbanor\n\nVi har inga synpunkter.\n")
    assert tu.rubrik == "Yttrande över remiss om motion om cykelbanor"
    assert tu.sammanfattning is None
    assert tu.synpunkter is None


def test_signatures_without_a_blank_line_and_bilagor_inline() -> None:
    text = (
        "Förvaltningens synpunkter och förslag\nFörvaltningen tillstyrker motionen.\n"
        "Anna-Karin af Ekström\nTf. stadsdelsdirektör\nBilagor: Remissmissiv\n"
        "Motion om fler bänkar i parkerna\n"
    )
    tu = parse(text)
    assert tu.synpunkter == "Förvaltningen tillstyrker motionen."
    assert tu.underskrifter == ("Anna-Karin af Ekström", "Tf. stadsdelsdirektör")
    assert tu.bilagor == ("Remissmissiv", "Motion om fler bänkar i parkerna")


def test_a_short_closing_line_is_not_a_signature() -> None:
    text = "Förvaltningens synpunkter och förslag\nFörvaltningen har inget att invända.\n"
    tu = parse(text)
    assert tu.underskrifter == ()
    assert tu.synpunkter == "Förvaltningen har inget att invända."


def test_bilagor_numbered_as_bilaga_n() -> None:
    text = "Bilagor\nBilaga 1. Remissmissiv\nBilaga 2: Motion om något som är\nlångt\n"
    assert parse(text).bilagor == ("Remissmissiv", "Motion om något som är långt")


def test_subheadings_inside_a_section_stay_paragraphs() -> None:
    text = (
        "Förvaltningens synpunkter och förslag\nFörvaltningen tillstyrker motionen i stort.\n\n"
        "Ekonomiska konsekvenser\nFörslaget ryms inom förvaltningens budget för år 2026 och\n"
        "kräver inga tillskott.\n"
    )
    assert parse(text).synpunkter == (
        "Förvaltningen tillstyrker motionen i stort.\n\nEkonomiska konsekvenser\n\n"
        "Förslaget ryms inom förvaltningens budget för år 2026 och kräver inga tillskott."
    )


# --- summary_for_report ------------------------------------------------------------------------


def _tu(**parts: Any) -> Tjansteutlatande:
    empty = parse("")
    return Tjansteutlatande(**{**empty.__dict__, **parts})


def test_summary_falls_back_to_the_first_paragraph_of_synpunkter() -> None:
    tu = _tu(synpunkter="Första stycket. Med två meningar.\n\nAndra stycket.")
    assert summary_for_report(tu) == "Första stycket. Med två meningar."


def test_summary_cuts_at_a_sentence_not_at_an_abbreviation() -> None:
    text = (
        "Förvaltningen tillstyrker motionen, bl.a. Eftersom den är bra. "
        "Den andra meningen är lite längre än den första. Den tredje kommer sist."
    )
    tu = _tu(sammanfattning=text)
    assert summary_for_report(tu, max_chars=115) == (
        "Förvaltningen tillstyrker motionen, bl.a. Eftersom den är bra. "
        "Den andra meningen är lite längre än den första."
    )
    assert summary_for_report(tu, max_chars=70) == (
        "Förvaltningen tillstyrker motionen, bl.a. Eftersom den är bra."
    )


def test_summary_of_one_long_sentence_ends_with_an_ellipsis() -> None:
    tu = _tu(sammanfattning="Ett " + "mycket " * 50 + "långt stycke.")
    summary = summary_for_report(tu, max_chars=60)
    assert summary is not None
    assert len(summary) <= 60
    assert summary.endswith("…")
    assert summary.startswith("Ett mycket")


def test_summary_keeps_paragraph_breaks() -> None:
    tu = _tu(sammanfattning="Ett stycke.\n\nEtt till.")
    assert summary_for_report(tu) == "Ett stycke.\n\nEtt till."
    assert summary_for_report(tu, max_chars=15) == "Ett stycke."


def test_summary_never_drops_the_sentence_that_states_the_stance() -> None:
    text = (
        "Kommunstyrelsen har remitterat en motion om fler bänkar i parkerna. "
        "Motionären föreslår att staden ställer ut fler bänkar längs gångstråken. "
        "Förvaltningen avstyrker motionen eftersom arbetet redan pågår."
    )
    tu = _tu(sammanfattning=text)
    summary = summary_for_report(tu, max_chars=140)
    assert summary is not None
    assert summary.endswith("Förvaltningen avstyrker motionen eftersom arbetet redan pågår.")
    assert summary.startswith("Kommunstyrelsen har remitterat")
    assert len(summary) <= 140


def test_summary_adds_the_synpunkters_stance_when_the_sammanfattning_has_none() -> None:
    tu = _tu(
        sammanfattning="Motionen handlar om parkbänkar.",
        synpunkter="Bänkar är viktiga. Förvaltningen tillstyrker motionen.",
    )
    assert summary_for_report(tu) == (
        "Motionen handlar om parkbänkar.\n\nFörvaltningen tillstyrker motionen."
    )


@pytest.mark.parametrize(
    "heading",
    [
        "Arbetsutskottets förslag",
        "Överläggning",
        "Proposition",
        "Propositioner",
        "Beslutsgång",
        "Reservation",
        "Socialnämndens beslut",
        "Särskilt uttalande",
        "Protokollsanteckning",
        "Justering",
        "Beslutet ska skickas till",
    ],
)
def test_protocol_headings_end_the_sammanfattning(heading: str) -> None:
    text = (
        "Svar på remiss om vänorter\n\nSammanfattning\nFörvaltningen anser att motionen "
        f"ska anses besvarad.\n\n{heading}\nBo Ek (L) yrkar bifall till motionen.\n1.\n"
    )
    assert parse(text).sammanfattning == "Förvaltningen anser att motionen ska anses besvarad."


def test_a_multi_item_agenda_is_not_merged_into_one_forslag_till_beslut() -> None:
    text = (
        "Kommunstyrelsens arbetsutskott\nSammanträdesdatum 2023-11-22\n\n"
        "§ 7\nInformation om budgetläget för kommande år och prognos\n"
        "Förslag till beslut\nInformationen noteras och läggs till handlingarna.\n\n"
        "§ 8\nSvar på remiss av motion om vänort i Ukraina\n"
        "Förslag till beslut\nKommunstyrelsen föreslår kommunfullmäktige att motionen anses "
        "besvarad.\n\n"
        "§ 9\nRevidering av delegationsordningen för kommunstyrelsen i sin helhet\n"
        "Förslag till beslut\nKommunstyrelsen antar den reviderade delegationsordningen.\n"
    )
    tu = parse(text)
    assert tu.forslag_till_beslut == (
        "Kommunstyrelsen föreslår kommunfullmäktige att motionen anses besvarad.",
    )
    assert tu.rubrik == "Svar på remiss av motion om vänort i Ukraina"
