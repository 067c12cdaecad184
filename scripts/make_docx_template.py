"""Builds templates/report/remissammanstallning.docx, the Word template for the report.

The secretariat may restyle the .docx in Word (fonts, logo, margins) as long as the
{{ }} and {%p %}/{%tr %} tags stay; this script only makes the first version.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from remiss.report.docxlayout import keep_table_rows, set_swedish

OUT = Path(__file__).resolve().parents[1] / "templates" / "report" / "remissammanstallning.docx"


# A4 with the margins of the PDF (templates/report/_stil.css): 25 mm left, 20 mm elsewhere.
MARGINS_MM = {"top": 20, "right": 20, "bottom": 20, "left": 25}


def _field(paragraph: Any, instruction: str) -> None:
    """A simple field (PAGE, NUMPAGES) that Word fills in when it lays out the pages."""
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def main() -> None:
    doc = Document()
    doc.core_properties.title = "Remissammanställning"
    doc.core_properties.language = "sv-SE"
    doc.core_properties.author = ""
    doc.core_properties.comments = ""
    style = doc.styles["Normal"]
    style.font.name = "Calibri"
    style.font.size = Pt(11)

    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.right_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["right"])
    section.bottom_margin, section.left_margin = Mm(MARGINS_MM["bottom"]), Mm(MARGINS_MM["left"])
    section.header_distance = section.footer_distance = Mm(10)
    header = section.header.paragraphs[0]
    header.text = "Dnr {{ r.diarienummer }}"
    header.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    footer.add_run("Sida ")
    _field(footer, " PAGE ")
    footer.add_run(" (")
    _field(footer, " NUMPAGES ")
    footer.add_run(")")

    doc.add_paragraph("Remissammanställning", style="Title")
    doc.add_paragraph("{{ avsandare }}")
    doc.add_paragraph("Dnr {{ r.diarienummer }} · {{ compiled }} · {{ r.status_label }}")
    doc.add_heading("{{ r.rubrik }}", level=1)
    doc.add_paragraph("{{ motion_line }}")
    doc.add_paragraph("{{ forslag_intro }}")
    doc.add_paragraph("{%p for sats in att_satser %}")
    doc.add_paragraph("{{ loop.index }}. {{ sats }}")
    doc.add_paragraph("{%p endfor %}")

    # The body is lists of paragraphs from render._docx_context, so that a change of the
    # report's text needs no change here.
    doc.add_paragraph("{%p if warnings %}")
    doc.add_heading("Att kontrollera", level=2)
    doc.add_paragraph("{%p for stycke in warnings %}")
    doc.add_paragraph("{{ stycke }}")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p endif %}")

    doc.add_heading("Beredning", level=2)
    doc.add_paragraph("{%p for stycke in beredning %}")
    doc.add_paragraph("{{ stycke }}")
    doc.add_paragraph("{%p endfor %}")

    table = doc.add_table(rows=4, cols=5)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.LEFT
    headers = ["Remissinstans", "Ställningstagande", "Per att-sats", "Svar inkom", "Anmärkning"]
    for cell, text in zip(table.rows[0].cells, headers, strict=True):
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    table.rows[1].cells[0].text = "{%tr for row in rows %}"
    values = [
        "{{ row.name }}",
        "{{ row.position }}",
        "{{ row.per_sats }}",
        "{{ row.answered_on }}",
        "{{ row.remarks }}",
    ]
    for cell, text in zip(table.rows[2].cells, values, strict=True):
        cell.text = text
    table.rows[3].cells[0].text = "{%tr endfor %}"
    keep_table_rows(doc)  # the header row repeats on every page; no row breaks across pages

    doc.add_paragraph("{%p for s in sections %}")
    doc.add_heading("{{ s.name }}", level=3)
    doc.add_paragraph("{%p for stycke in s.paragraphs %}")
    doc.add_paragraph("{{ stycke }}")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p endfor %}")

    doc.add_heading("Bilagor", level=2)
    doc.add_paragraph("{%p for b in r.bilagor %}")
    doc.add_paragraph("{{ b.number }}. {{ b.title }} ({{ b.kind }}, sha256 {{ b.sha256 }})")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("Handläggare: {{ r.handlaggare }}")
    set_swedish(doc)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(OUT))
    print(OUT)


if __name__ == "__main__":
    main()
