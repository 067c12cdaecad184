"""Reading answers: extract + parse a tjänsteutlåtande, pypdfium2 against pypdf as baseline.

Prints figures; not a test. Run: .venv/bin/python bench/extract.py [--pages N]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import pypdf
from weasyprint import HTML

from remiss.report.extract import extract_text
from remiss.report.tjansteutlatande import parse

SEED = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "000_4cb3a211b484014c.txt"
FALLBACK = Path(__file__).resolve().parents[1] / "tests" / "unit" / "fixtures_tu"


def seed_text() -> str:
    if SEED.exists():
        return SEED.read_text(encoding="utf-8")
    return next(FALLBACK.glob("*.tu")).read_text(encoding="utf-8")


def document(pages: int) -> bytes:
    paragraphs = "".join(f"<p>{line}</p>" for line in seed_text().splitlines() if line.strip())
    body = paragraphs * max(1, pages // 3)
    css = (
        "@page { size: A4; margin: 25mm; @top-right { content: 'Tjänsteutlåtande'; }"
        " @bottom-right { content: 'Sida ' counter(page) ' (' counter(pages) ')'; } }"
    )
    pdf: bytes = HTML(
        string=f"<html lang='sv'><style>{css}</style><body>{body}</body></html>"
    ).write_pdf()
    return pdf


def timed(fn: Callable[[], object], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", default="3,30", help="document sizes in pages")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'pages':>5} {'pypdf s':>9} {'pdfium s':>9} {'parse s':>8} {'pypdf/pdfium':>13}")
    for size in (int(p) for p in args.pages.split(",")):
        data = document(size)
        actual = len(pypdf.PdfReader(io.BytesIO(data)).pages)
        baseline = timed(
            lambda d=data: [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(d)).pages],
            args.repeat,
        )
        ours = timed(lambda d=data: extract_text(d, "pdf"), args.repeat)
        text = extract_text(data, "pdf")
        parsing = timed(lambda t=text: parse(t), args.repeat)
        print(f"{actual:>5} {baseline:>9.3f} {ours:>9.3f} {parsing:>8.3f} {baseline / ours:>13.1f}")


if __name__ == "__main__":
    main()
