"""The remissammanställning as HTML, tagged PDF (PDF/UA), DOCX and Markdown, from one Report."""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from remiss.core import dates
from remiss.core.rendering import environment, first_upper, swedish_list
from remiss.core.settings import Settings
from remiss.report.content import Report

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
    """Tagged PDF (PDF/UA-1): structure, language and title for screen readers."""
    from weasyprint import HTML

    pdf: bytes = HTML(string=html).write_pdf(pdf_variant="pdf/ua-1")
    return pdf


def render_docx(report: Report, settings: Settings) -> bytes:
    from docxtpl import DocxTemplate

    template = DocxTemplate(str(settings.templates_dir / "report" / "remissammanstallning.docx"))
    template.render(_docx_context(report), autoescape=True)
    buffer = io.BytesIO()
    template.save(buffer)
    return buffer.getvalue()


def _docx_context(report: Report) -> dict[str, Any]:
    def per_sats(values: tuple[str, ...]) -> str:
        return "; ".join(f"{i}: {v}" for i, v in enumerate(values, start=1)) or "–"

    sections = []
    for s in report.sections:
        lead = f"{s.position.capitalize()}."
        if s.joint_with:
            lead += f" Gemensamt svar med {swedish_list(list(s.joint_with))}."
        if s.late:
            lead += " Svaret inkom efter svarstiden."
        if s.channel == "email":
            lead += " Svaret inkom med e-post."
        extra = " ".join(
            part
            for part in (
                f"({s.decision})" if s.decision else "",
                f"Reservation: {s.reservationer}" if s.reservationer else "",
                f"Särskilt uttalande: {s.sarskilda_uttalanden}" if s.sarskilda_uttalanden else "",
            )
            if part
        )
        text = s.text or "Svaret innehåller ingen sammanfattning; se bilagorna."
        if s.text_source == "tjänsteutlåtandet":
            text += " (Sammanfattning ur tjänsteutlåtandet.)"
        sections.append({"name": s.name, "lead": lead, "text": text, "extra": extra})
    declined = "; ".join(f"{n} ({r})" if r else n for n, r in report.declined)
    return {
        "r": report,
        "compiled": dates.swedish_datetime(report.compiled_at),
        "motion_line": (
            f"{report.arendetyp.capitalize()} av {swedish_list(list(report.motionarer))}"
            if report.motionarer
            else ""
        ),
        "forslag_intro": "Motionärerna föreslår att kommunfullmäktige beslutar"
        if report.motionarer
        else "Det föreslås att kommunfullmäktige beslutar",
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
        "sections": sections,
        "declined_text": f"Avstått: {declined}." if declined else "Ingen har avstått.",
        "silent_text": f"Har inte svarat: {', '.join(report.silent)}."
        if report.silent
        else "Alla har svarat eller avstått.",
    }


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
