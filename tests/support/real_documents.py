"""The corpus of real municipal documents in `tests/fixtures/real/`, rendered as they reach us.

Each entry of `manifest.yaml` names a text taken from a public page and the form a test feeds it
in: a PDF made with WeasyPrint (A4, the organisation in the running header, "Sida N (M)" in the
footer, both in @page margin boxes, so they sit where a nämnd's template puts them), the same in
two columns, a Word file made with python-docx (header and footer in the section), the text with
every line break replaced by a space (what a badly extracted PDF gives), or a scanned page: a PDF
holding only an image of the first page, with no text layer at all.

`extracted_text(entry)` renders the entry and reads it back with the product's own
`remiss.report.extract.extract_text`; that text is what a document reader is scored on.
"""

from __future__ import annotations

import base64
import functools
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import yaml

from remiss.report.extract import extract_text, normalise_text

__all__ = [
    "FIXTURES",
    "FORMS",
    "KINDS",
    "POSITIONS",
    "Case",
    "Expected",
    "RealDocument",
    "extracted_text",
    "load_manifest",
    "render",
    "squash",
]

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "real"
POSITIONS = (
    "tillstyrker",
    "tillstyrker_delvis",
    "avstyrker",
    "inga_synpunkter",
    "besvarad",
    "avstar",
)
KINDS = ("tjansteutlatande", "protokollsutdrag", "yttrande", "utlatande")
FORMS = ("pdf", "docx", "pdf-two-column", "text-no-breaks", "pdf-scanned")


@dataclass(frozen=True)
class Case:
    """The remiss a document is about, as the document names it (to pick the item in an agenda)."""

    dnr: str | None
    title: str


@dataclass(frozen=True)
class Expected:
    """What a careful reader finds in the document; written by hand, see the README."""

    position: str | None
    dnr: str | None
    decision_sentence: str | None
    decision_date: date | None
    paragraph: str | None
    title: str | None
    stance: str | None
    summary: str
    reservationer: bool
    sarskilda_uttalanden: bool
    justeras_omedelbart: bool | None


@dataclass(frozen=True)
class RealDocument:
    id: str
    source: str
    organisation: str
    municipality: str
    kind: str
    form: str
    partial: bool
    case: Case
    expected: Expected

    @property
    def path(self) -> Path:
        return FIXTURES / f"{self.id}.txt"

    @property
    def text(self) -> str:
        """The document's text as stored, line structure kept."""
        return self.path.read_text(encoding="utf-8")


def squash(text: str) -> str:
    """Whitespace-normalised text: the form expected sentences are compared in."""
    return re.sub(r"\s+", " ", text).strip()


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _entry(raw: dict[str, Any]) -> RealDocument:
    case = raw["case"]
    exp = raw["expected"]
    decided = exp["decision_date"]
    if decided is not None and not isinstance(decided, date):
        decided = date.fromisoformat(str(decided))
    return RealDocument(
        id=str(raw["id"]),
        source=str(raw["source"]),
        organisation=str(raw["organisation"]),
        municipality=str(raw["municipality"]),
        kind=str(raw["kind"]),
        form=str(raw["form"]),
        partial=bool(raw["partial"]),
        case=Case(dnr=_optional_str(case["dnr"]), title=str(case["title"])),
        expected=Expected(
            position=_optional_str(exp["position"]),
            dnr=_optional_str(exp["dnr"]),
            decision_sentence=_optional_str(exp["decision_sentence"]),
            decision_date=decided,
            paragraph=_optional_str(exp["paragraph"]),
            title=_optional_str(exp["title"]),
            stance=_optional_str(exp["stance"]),
            summary=str(exp["summary"]),
            reservationer=bool(exp["reservationer"]),
            sarskilda_uttalanden=bool(exp["sarskilda_uttalanden"]),
            justeras_omedelbart=exp["justeras_omedelbart"],
        ),
    )


@functools.cache
def load_manifest() -> tuple[RealDocument, ...]:
    raw = yaml.safe_load((FIXTURES / "manifest.yaml").read_text(encoding="utf-8"))
    return tuple(_entry(item) for item in raw)


# --- Rendering ---------------------------------------------------------------------------------


def _paragraphs(text: str) -> list[list[str]]:
    """Blocks separated by blank lines, each a list of its lines (stripped of trailing space)."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.strip():
            current.append(line.rstrip())
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _css_string(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _html(entry: RealDocument, *, columns: int = 1) -> str:
    org = _css_string(entry.organisation)
    css = f"""
    @page {{
      size: A4; margin: 30mm 22mm 25mm 25mm;
      @top-left {{ content: "{escape(org)}"; font-size: 9pt }}
      @bottom-right {{ content: "Sida " counter(page) " (" counter(pages) ")"; font-size: 9pt }}
    }}
    body {{ font-family: "DejaVu Sans", sans-serif; font-size: 10.5pt; line-height: 1.45 }}
    main {{ columns: {columns}; column-gap: 9mm }}
    p {{ margin: 0 0 8pt; overflow-wrap: anywhere }}
    """
    body = "".join(
        "<p>" + "<br>".join(escape(line) for line in block) + "</p>"
        for block in _paragraphs(entry.text)
    )
    return (
        f"<!doctype html><html lang='sv'><head><meta charset='utf-8'><style>{css}</style>"
        f"</head><body><main>{body}</main></body></html>"
    )


def _weasy(html: str) -> bytes:
    import weasyprint

    pdf: bytes = weasyprint.HTML(string=html).write_pdf()
    return pdf


def _docx(entry: RealDocument) -> bytes:
    import docx
    from docx.enum.text import WD_BREAK
    from docx.shared import Mm

    document = docx.Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.header.paragraphs[0].text = entry.organisation
    section.footer.paragraphs[0].text = "Sida 1 (1)"
    for block in _paragraphs(entry.text):
        paragraph = document.add_paragraph()
        for i, line in enumerate(block):
            run = paragraph.add_run(line)
            if i < len(block) - 1:
                run.add_break(WD_BREAK.LINE)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _scanned(entry: RealDocument) -> bytes:
    """A PDF whose only content is a picture of the first page of the document's PDF."""
    import pypdfium2

    from remiss.storage.uploads import PDFIUM_LOCK

    with PDFIUM_LOCK:
        pdf = pypdfium2.PdfDocument(_weasy(_html(entry)))
        try:
            image = pdf[0].render(scale=150 / 72).to_pil().convert("L")
        finally:
            pdf.close()
    png = io.BytesIO()
    image.save(png, format="PNG")
    uri = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode("ascii")
    html = (
        "<!doctype html><html lang='sv'><head><meta charset='utf-8'><style>"
        "@page { size: A4; margin: 0 } body { margin: 0 }"
        "img { display: block; width: 210mm; height: 297mm }"
        f"</style></head><body><img src='{uri}' alt=''></body></html>"
    )
    return _weasy(html)


def _no_breaks(entry: RealDocument) -> str:
    return re.sub(r"[ \t]*\n[ \t]*", " ", entry.text).strip()


def render(entry: RealDocument) -> tuple[bytes, str]:
    """The document as a file in its form, and the kind `extract_text` takes for it ("txt" for
    text-no-breaks, which is already the text a bad extraction gives)."""
    if entry.form == "pdf":
        return _weasy(_html(entry)), "pdf"
    if entry.form == "pdf-two-column":
        return _weasy(_html(entry, columns=2)), "pdf"
    if entry.form == "docx":
        return _docx(entry), "docx"
    if entry.form == "pdf-scanned":
        return _scanned(entry), "pdf"
    if entry.form == "text-no-breaks":
        return _no_breaks(entry).encode("utf-8"), "txt"
    raise ValueError(f"unknown form {entry.form!r} for {entry.id}")


@functools.cache
def extracted_text(entry: RealDocument) -> str:
    """The text the product reads from the rendered document: what a reader is scored on."""
    data, kind = render(entry)
    if kind == "txt":
        return normalise_text(data.decode("utf-8"))
    return extract_text(data, kind)
