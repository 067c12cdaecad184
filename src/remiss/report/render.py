"""The remissammanställning as HTML, tagged PDF (PDF/UA), DOCX and Markdown, from one Report."""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from remiss.core import dates, language
from remiss.core.rendering import environment, first_upper, swedish_list
from remiss.core.settings import Settings
from remiss.report import docxlayout, pdftags
from remiss.report.content import Report, Section

FORMATS = ("html", "pdf", "docx")


def render_html(report: Report, settings: Settings) -> str:
    env = environment(settings.templates_dir)
    return env.get_template("report/remissammanstallning.html").render(
        r=report, avsandare=settings.sender_name
    )


def render_markdown(report: Report, settings: Settings) -> str:
    env = environment(settings.templates_dir)
    text = env.get_template("report/remissammanstallning.md").render(r=report)
    return re.sub(r"\n{3,}", "\n\n", text)


def render_pdf(html: str) -> bytes:
    """Tagged PDF (PDF/UA-1): structure, language and title for screen readers.

    The tag tree is mended as WeasyPrint writes it (see pdftags): one element for what runs
    over a page break, the running header and footer and repeated header rows as artifacts.
    """
    pdf, _ = pdftags.write_pdf(html, variant="pdf/ua-1")
    return pdf


def render_docx(report: Report, settings: Settings) -> bytes:
    import docx
    from docxtpl import DocxTemplate

    template = DocxTemplate(str(settings.templates_dir / "report" / "remissammanstallning.docx"))
    template.render(_docx_context(report, settings), autoescape=True)
    rendered = io.BytesIO()
    template.save(rendered)
    # What must hold whatever the template says (a secretariat may restyle it in Word).
    document = docx.Document(io.BytesIO(rendered.getvalue()))
    docxlayout.set_swedish(document)
    docxlayout.keep_table_rows(document)
    docxlayout.set_properties(
        document,
        title=f"Remissammanställning {report.diarienummer}: {report.rubrik}",
        subject=report.rubrik,
        author=settings.sender_name,
        when=report.compiled_at,
    )
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _docx_context(report: Report, settings: Settings) -> dict[str, Any]:
    """The template's values: the body as lists of paragraphs, so text changes need no layout."""

    def per_sats(values: tuple[str, ...]) -> str:
        return "; ".join(f"{i}: {v}" for i, v in enumerate(values, start=1)) or "–"

    return {
        "r": report,
        "avsandare": settings.sender_name,
        "compiled": dates.swedish_date(report.compiled_on),
        "motion_line": (
            f"{report.arendetyp.capitalize()} av {swedish_list(list(report.motionarer))}."
            if report.motionarer
            else ""
        ),
        "forslag_intro": f"{report.proposers or 'Det'} "
        f"{'föreslår' if report.proposers else 'föreslås'} att kommunfullmäktige beslutar",
        "att_satser": [
            language.list_item(sats, last=i == len(report.att_satser))
            for i, sats in enumerate(report.att_satser, start=1)
        ],
        "warnings": list(report.warnings),
        "beredning": list(report.beredning),
        "rows": [
            {
                "name": row.name,
                "position": row.position,
                "per_sats": per_sats(row.per_sats),
                "answered_on": row.answered_on,
                "remarks": first_upper("; ".join(row.remarks)),
            }
            for row in report.rows
        ],
        "sections": [
            {"name": s.name, "paragraphs": _section_paragraphs(s)} for s in report.sections
        ],
    }


def _section_paragraphs(section: Section) -> list[str]:
    """One answer's paragraphs, in the order the HTML gives them."""
    lead = section.lead
    if section.joint_with:
        lead += f" Svaret är gemensamt med {swedish_list(list(section.joint_with))}."
    if section.channel == "email":
        lead += " Svaret kom med e-post."
    out = [lead, *section.paragraphs]
    if section.text_source:
        out.append(section.text_source)
    out.extend(
        f"Texten i filen {name} kunde inte läsas (den är troligen inskannad); se bilagorna."
        for name in section.unreadable
    )
    if not section.paragraphs and not section.unreadable:
        out.append("Svaret innehåller ingen sammanfattning; se bilagorna.")
    if section.decision:
        out.append(section.decision)
    if section.reservationer:
        out.append(f"Reservation: {section.reservationer}")
    if section.sarskilda_uttalanden:
        out.append(f"Särskilt uttalande: {section.sarskilda_uttalanden}")
    return out


def slug(diarienummer: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", diarienummer).strip("-").lower()


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # a report is for sharing; mkstemp makes files private
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report(
    report: Report, settings: Settings, out_dir: Path, formats: tuple[str, ...] = FORMATS
) -> list[Path]:
    """Write the chosen formats into `out_dir`; returns the files written."""
    base = out_dir / f"remissammanstallning-{slug(report.diarienummer)}"
    html = render_html(report, settings)
    written = []
    for fmt in formats:
        if fmt == "html":
            data = html.encode("utf-8")
        elif fmt == "pdf":
            data = render_pdf(html)
        elif fmt == "docx":
            data = render_docx(report, settings)
        else:
            raise ValueError(fmt)
        path = base.with_suffix(f".{fmt}")
        write_atomically(path, data)
        written.append(path)
    return written
