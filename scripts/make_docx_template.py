"""Builds templates/report/remissammanstallning.docx, the Word template for the report.

The secretariat may restyle the .docx in Word (fonts, logo, margins) as long as the
{{ }} and {%p %}/{%tr %} tags stay; this script only makes the first version.
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.shared import Pt

OUT = Path(__file__).resolve().parents[1] / "templates" / "report" / "remissammanstallning.docx"


def main() -> None:
    doc = Document()
    doc.core_properties.title = "Remissammanställning"
    doc.core_properties.language = "sv-SE"
    style = doc.styles["Normal"]
    style.font.name = "Calibri"
    style.font.size = Pt(11)

    doc.add_paragraph("Remissammanställning", style="Title")
    doc.add_paragraph("Dnr {{ r.diarienummer }} · {{ compiled }} · {{ r.status_label }}")
    doc.add_heading("{{ r.rubrik }}", level=1)
    doc.add_paragraph("{{ motion_line }}")
    doc.add_paragraph("{{ forslag_intro }}")
    doc.add_paragraph("{%p for sats in r.att_satser %}")
    doc.add_paragraph("{{ loop.index }}. {{ sats }}")
    doc.add_paragraph("{%p endfor %}")

    doc.add_heading("Beredning", level=2)
    doc.add_paragraph("{{ r.summary }}")
    doc.add_paragraph("{%p for note in r.notes %}")
    doc.add_paragraph("{{ note }}")
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

    doc.add_heading("Remissinstansernas synpunkter", level=2)
    doc.add_paragraph("{%p for s in sections %}")
    doc.add_heading("{{ s.name }}", level=3)
    doc.add_paragraph("{{ s.lead }}")
    doc.add_paragraph("{{ s.text }}")
    doc.add_paragraph("{{ s.extra }}")
    doc.add_paragraph("{%p endfor %}")

    doc.add_heading("Avstått och inte svarat", level=2)
    doc.add_paragraph("{{ declined_text }}")
    doc.add_paragraph("{{ silent_text }}")

    doc.add_heading("Bilagor", level=2)
    doc.add_paragraph("{%p for b in r.bilagor %}")
    doc.add_paragraph("{{ b.number }}. {{ b.title }} ({{ b.kind }}, sha256 {{ b.sha256 }})")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("Handläggare: {{ r.handlaggare }}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(OUT))
    print(OUT)


if __name__ == "__main__":
    main()
