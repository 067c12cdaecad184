"""Compiling a large remissammanställning: 300 answers, each a 20-page PDF tjänsteutlåtande.

The round is started the ordinary way to N remissinstanser (SQLite); each answers with its
own 20-page PDF (made once per answer with WeasyPrint, the name of the nämnd in it),
stored, text-extracted and read (position, dnr, decision: `document.reading`) as the
process-answer flow does when an answer arrives (not timed: that happens once, on
arrival). Then timed, each on its own: building the report from the database, and
rendering it as HTML, as PDF (from that HTML) and as DOCX.

    .venv/bin/python bench/compile.py                  # 300 answers, 20 pages each
    .venv/bin/python bench/compile.py --answers 30 --pages 5
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fanout import BenchError, build_world, configure, machine, working_day_ahead  # noqa: E402
from sqlalchemy import select  # noqa: E402
from weasyprint import HTML  # noqa: E402

from remiss.answers import service as answers  # noqa: E402
from remiss.core import dates  # noqa: E402
from remiss.db.engine import session_scope  # noqa: E402
from remiss.db.models import Dispatch, Round  # noqa: E402
from remiss.report.compiling import extract_answer_texts  # noqa: E402
from remiss.report.content import build_report  # noqa: E402
from remiss.report.render import render_docx, render_html, render_pdf  # noqa: E402
from remiss.rounds import start as rounds_start  # noqa: E402
from remiss.storage.uploads import check_file, upload_limits  # noqa: E402

PARAGRAPH = (
    "Förvaltningen har tagit del av motionen och konstaterar att frågan berör flera av "
    "nämndens verksamheter. Ett aktiverat vänortsavtal kan ge en ram för samarbete kring "
    "kompetens, utrustning och erfarenhetsutbyte, men kräver samordning på stadsövergripande "
    "nivå och en tydlig ansvarsfördelning mellan förvaltningar och bolag. "
)


def answer_pdf(name: str, pages: int) -> bytes:
    sections = "".join(
        f"<h2>Avsnitt {i}</h2>" + f"<p>{PARAGRAPH * 6}</p>" for i in range(1, pages * 2 + 1)
    )
    html = (
        '<html lang="sv"><head><meta charset="utf-8"><style>@page{size:A4;margin:2.5cm}'
        "body{font:11pt serif}</style></head><body>"
        f"<h1>Tjänsteutlåtande: {name}</h1><h2>Förvaltningens förslag till beslut</h2>"
        f"<p>1. {name} godkänner förvaltningens tjänsteutlåtande som svar på remissen.</p>"
        f"<h2>Sammanfattning</h2><p>{PARAGRAPH}</p>{sections}</body></html>"
    )
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=300)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="remiss-bench-compile-"))
    world = build_world(root, args.answers, working_day_ahead(6))
    settings = configure(world, root / "data")
    rounds_start.init(settings, now=dates.utcnow())
    round_id = rounds_start.prepare_round(
        settings, world.case, now=dates.utcnow(), to=None, deadline=world.deadline
    )
    limits = upload_limits(settings)
    t0 = time.perf_counter()
    template = answer_pdf("Nämnden", args.pages)
    pages_made = time.perf_counter() - t0
    with session_scope(settings.database_url) as session:
        dispatch_ids = list(
            session.scalars(select(Dispatch.id).where(Dispatch.round_id == round_id))
        )
    for i, dispatch_id in enumerate(dispatch_ids):
        # A distinct file per answer (its own sha256), without rendering 300 PDFs.
        data = template + f"\n% svar {i}\n".encode()
        with session_scope(settings.database_url) as session:
            dispatch = session.get_one(Dispatch, dispatch_id)
            answer = answers.submit_answer(
                session,
                dispatch=dispatch,
                values={"position": "tillstyrker", "att_sats_positions": {}},
                files=[check_file(f"tjansteutlatande-{i}.pdf", data, limits)],
                store=settings.documents_dir,
                now=dates.utcnow(),
            )
            answer_id = answer.id
        extract_answer_texts(settings, answer_id=answer_id)
    timings: dict[str, float] = {}
    with session_scope(settings.database_url) as session:
        start = time.perf_counter()
        report = build_report(session.get_one(Round, round_id), now=dates.utcnow(), tz="UTC")
        timings["build_report_s"] = time.perf_counter() - start
    if len(report.sections) != args.answers:
        raise BenchError(f"{len(report.sections)} answer sections, expected {args.answers}")
    start = time.perf_counter()
    html = render_html(report, settings)
    timings["html_s"] = time.perf_counter() - start
    start = time.perf_counter()
    pdf = render_pdf(html)
    timings["pdf_s"] = time.perf_counter() - start
    start = time.perf_counter()
    docx = render_docx(report, settings)
    timings["docx_s"] = time.perf_counter() - start
    sizes = {"html_kb": len(html.encode()) // 1024, "pdf_kb": len(pdf) // 1024,
             "docx_kb": len(docx) // 1024}  # fmt: skip
    print(
        f"\nRemissammanställning of {args.answers} answers, {args.pages}-page PDFs each "
        f"(one such PDF took {pages_made:.1f} s to make; not counted)\n"
    )
    for key, value in timings.items():
        print(f"  {key.removesuffix('_s'):<13} {value:7.2f} s")
    print("  sizes: " + ", ".join(f"{k.removesuffix('_kb')} {v} kB" for k, v in sizes.items()))
    if args.json:
        result: dict[str, Any] = {"machine": machine(), **timings, **sizes}
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
