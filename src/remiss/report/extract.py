"""Plain text from an uploaded answer: PDF (pypdfium2), DOCX (python-docx) and ODT (zipfile).

Run once, when an answer arrives, and store the result with the document: nothing here is
cheap enough to repeat for every answer each time a remissammanställning is compiled.

The text keeps the structure the parser in `remiss.tjansteutlatande` needs:

- PDF: pages are separated by "\\f". Lines are ordered top to bottom as they sit on the
  page (not in the order the PDF happens to draw them), text on the same baseline is one
  line with two spaces where there is a wide gap (two signatures side by side, a list
  number and its text), and a blank line marks a vertical gap wider than the page's usual
  line spacing (a new paragraph, a heading). A block of prose set in two columns is read
  column by column (tables, forms and signatures side by side are not columns); a running
  header and footer stay first and last. A hyphen at a line end stays at the line end, for
  the parser to decide whether it joins a word ("kompe-" "tens") or stays ("VA-" "taxa").
- DOCX and ODT: each paragraph is separated from the next by a blank line and a manual line
  break is a single "\\n"; table cells come row by row, each cell a paragraph of its own;
  list numbers that Word or LibreOffice generate are written out ("1. ", "•"). Page
  headers, footers, footnotes, comments and deleted text are left out.

All text is normalised: NFC, "\\r\\n" and "\\r" become "\\n", soft hyphens are removed (one at
the end of a line, where it was printed, becomes "-"), pdfium's marks for a printed line-end
hyphen (U+0002, U+FFFE) become "-", typographic ligatures are spelled out.

An uploaded file is hostile until read. `extract_limited` reads it in a child process of its
own (`python -m remiss.report.extract`) that limits itself first (address space and CPU time
with `resource.setrlimit`) and is killed after a wall-clock time: a file that would take
gigabytes or minutes costs that child its life, never the portal or the worker its memory.
The text kept is capped (characters, PDF pages); a cut or unreadable text comes back with a
Swedish reason for the handläggare.
"""

from __future__ import annotations

import ctypes
import io
import itertools
import json
import math
import re
import signal
import subprocess
import sys
import unicodedata
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from remiss.core.errors import RemissError
from remiss.storage.uploads import PDFIUM_LOCK

__all__ = [
    "KINDS",
    "ExtractError",
    "ExtractLimits",
    "Extracted",
    "extract_limited",
    "extract_text",
    "normalise_text",
]

KINDS = ("pdf", "docx", "odt")


class ExtractError(RemissError):
    """The file could not be read as the kind it claims to be (the message is in Swedish)."""


_MB = 1024 * 1024


@dataclass(frozen=True)
class ExtractLimits:
    """What reading one document may cost and give. A 300-page tjänsteutlåtande has about
    600 000 characters and is read in a few seconds in well under 200 MB."""

    max_chars: int = 1_000_000
    max_pdf_pages: int = 2000
    memory_bytes: int = 1024 * _MB  # the child's address space (RLIMIT_AS)
    cpu_seconds: int = 60  # the child's CPU time (RLIMIT_CPU)
    wall_seconds: float = 120.0  # then the child is killed, whatever it is doing


@dataclass(frozen=True)
class Extracted:
    """The text to keep (None when nothing could be read) and, when the text is missing or
    cut, the reason in Swedish for the handläggare (stored as the document's text_error)."""

    text: str | None
    error: str | None


def extract_text(data: bytes, kind: str, *, max_chars: int | None = None) -> str:
    """The text of a PDF, DOCX or ODT file, normalised (see the module docstring), in this
    process and without limits: for trusted files. Uploads go through `extract_limited`.

    Raises ExtractError, with a message a user can act on, for an empty, broken, encrypted or
    unknown file. A PDF without a text layer (a scan) gives empty pages, not an error.
    """
    text, _ = _extract(data, kind, ExtractLimits(max_chars=max_chars or sys.maxsize))
    return text


def _extract(data: bytes, kind: str, limits: ExtractLimits) -> tuple[str, str | None]:
    """The text, at most `limits.max_chars` characters, and why it was cut (or None)."""
    kind = kind.lower().lstrip(".")
    if kind not in KINDS:
        raise ExtractError(
            f"Filtypen {kind!r} stöds inte: text kan bara tas ut ur PDF, DOCX och ODT."
        )
    if not data:
        raise ExtractError(f"Filen är tom och kan inte läsas som {_LABEL[kind]}.")
    cut: str | None = None
    if kind == "pdf":
        text, pages = _pdf_text(data, limits)
        if pages > limits.max_pdf_pages:
            cut = (
                f"PDF-filen har {_count(pages)} sidor; bara texten på de första "
                f"{_count(limits.max_pdf_pages)} sidorna har lästs."
            )
    elif kind == "docx":
        text = _docx_text(data, limits.max_chars)
    else:
        text = _odt_text(data, limits.max_chars)
    # Normalising never lengthens by much (ligatures): cut with a margin first, then exactly.
    text = normalise_text(text[: limits.max_chars + 1024])
    if len(text) > limits.max_chars:
        text = text[: limits.max_chars]
        cut = (
            f"Texten är längre än {_count(limits.max_chars)} tecken; bara början har lästs "
            "och kommit med i underlaget för remissammanställningen."
        )
    return text, cut


def _seconds(number: int) -> str:
    return "1 sekund" if number == 1 else f"{_count(number)} sekunder"


def _count(number: int) -> str:
    return f"{number:,}".replace(",", " ")


# --- Reading in a child process with limits ----------------------------------------------

_TOO_SLOW = "Texten kunde inte läsas: det tog för lång tid (mer än {seconds})."
_TOO_BIG = "Texten kunde inte läsas: dokumentet kräver för mycket minne när det packas upp."
_FAILED = "Texten kunde inte läsas: läsningen avbröts oväntat."
_EXIT_MEMORY = 3


def extract_limited(data: bytes, kind: str, limits: ExtractLimits | None = None) -> Extracted:
    """Read the text in a child process with limits on memory, CPU time and wall time.

    Never raises for what the file is or does: a broken file, one over a limit or one that
    kills its reader gives `Extracted(None, reason)`; text over the character or page cap
    comes back cut, with the reason.
    """
    limits = limits or ExtractLimits()
    command = [
        sys.executable,
        "-m",
        "remiss.report.extract",
        kind,
        str(limits.max_chars),
        str(limits.max_pdf_pages),
        str(limits.memory_bytes),
        str(limits.cpu_seconds),
    ]
    try:
        done = subprocess.run(
            command,
            input=data,
            capture_output=True,
            timeout=limits.wall_seconds,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Extracted(None, _TOO_SLOW.format(seconds=_seconds(math.ceil(limits.wall_seconds))))
    if done.returncode == 0:
        try:
            result = json.loads(done.stdout)
            return Extracted(result.get("text"), result.get("error"))
        except (ValueError, AttributeError):
            return Extracted(None, _FAILED)
    if done.returncode == -signal.SIGXCPU or done.returncode == -signal.SIGKILL:
        return Extracted(None, _TOO_SLOW.format(seconds=_seconds(limits.cpu_seconds)))
    if done.returncode == _EXIT_MEMORY:
        return Extracted(None, _TOO_BIG)
    return Extracted(None, _FAILED)


def _peak_memory() -> int:
    """This process's peak address space (what RLIMIT_AS bounds), in bytes."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _child(argv: list[str]) -> int:
    """`python -m remiss.report.extract KIND MAX_CHARS MAX_PAGES MEMORY CPU` with the file on
    stdin: the limits are set before a byte of the file is read."""
    import resource

    kind, max_chars, max_pages, memory, cpu = argv
    resource.setrlimit(resource.RLIMIT_AS, (int(memory), int(memory)))
    resource.setrlimit(resource.RLIMIT_CPU, (int(cpu), int(cpu) + 5))
    limits = ExtractLimits(max_chars=int(max_chars), max_pdf_pages=int(max_pages))
    try:
        data = sys.stdin.buffer.read()
        try:
            text, cut = _extract(data, kind, limits)
            out = {"text": text, "error": cut}
        except ExtractError as exc:
            # lxml reports a failed allocation as a syntax error ("unknown error"): a reader
            # that came near its limit failed for the memory, not for the file.
            if _peak_memory() > 0.8 * int(memory):
                return _EXIT_MEMORY
            out = {"text": None, "error": str(exc)}
        encoded = json.dumps(out, ensure_ascii=False).encode()
    except MemoryError:
        return _EXIT_MEMORY
    sys.stdout.buffer.write(encoded)
    sys.stdout.flush()
    return 0


_LABEL = {"pdf": "PDF", "docx": "Word-dokument (DOCX)", "odt": "ODT-dokument"}

_LIGATURES = str.maketrans(
    {
        "\ufb00": "ff",
        "\ufb01": "fi",
        "\ufb02": "fl",
        "\ufb03": "ffi",
        "\ufb04": "ffl",
        "\ufb05": "st",
        "\ufb06": "st",
        "\u200b": None,  # zero width space
        "\ufeff": None,  # byte order mark / zero width no-break space
        "\x0b": "\n",  # vertical tab: a manual line break in some exports
        # Other control characters (PostgreSQL refuses NUL in text); \t, \n and \f stay.
        **{chr(c): None for c in (*range(0x00, 0x09), *range(0x0E, 0x20))},
    }
)


def normalise_text(text: str) -> str:
    """NFC, "\\n" line ends, no soft hyphens (printed ones at a line end become "-")."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # pdfium reports a hyphen it considers a line-end hyphenation as U+0002 or, where it
    # joined the two lines, U+FFFE: both were printed as hyphens.
    text = re.sub("[\u00ad\x02\ufffe][ \t]*\n", "-\n", text)
    text = text.replace("\u00ad", "").replace("\x02", "").replace("\ufffe", "-")
    text = text.translate(_LIGATURES)
    return unicodedata.normalize("NFC", text)


# --- PDF ----------------------------------------------------------------------------------


def _pdf_text(data: bytes, limits: ExtractLimits) -> tuple[str, int]:
    """The text of the first `max_pdf_pages` pages (stopping early at `max_chars`), and how
    many pages the PDF has."""
    import pypdfium2 as pdfium

    # pdfium is not thread-safe; the flows may run tasks in threads.
    with PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            detail = str(exc).lower()
            if "password" in detail:
                raise ExtractError(
                    "PDF-filen är lösenordsskyddad och kan inte läsas. "
                    "Ladda upp en version utan lösenord."
                ) from exc
            raise ExtractError(
                "Filen kunde inte läsas som PDF: den är skadad eller inte en PDF-fil."
            ) from exc
        try:
            pages: list[str] = []
            count = len(pdf)
            length = 0
            for index in range(min(count, limits.max_pdf_pages)):
                if length > limits.max_chars:
                    break
                page = pdf[index]
                try:
                    textpage = page.get_textpage()
                    try:
                        pages.append(_page_text(textpage))
                        length += len(pages[-1]) + 1
                    finally:
                        textpage.close()
                finally:
                    page.close()
        except pdfium.PdfiumError as exc:
            raise ExtractError(
                "Texten i PDF-filen kunde inte läsas: filen är skadad på någon sida."
            ) from exc
        finally:
            pdf.close()
    return "\f".join(pages), count


@dataclass
class _Piece:
    """A run of text on one baseline: its horizontal extent and its font's height (PDF units)."""

    text: str
    left: float
    right: float
    baseline: float
    bottom: float  # of the font's box (ascent and descent), not the glyphs'
    top: float
    height: float = field(init=False)

    def __post_init__(self) -> None:
        self.height = max(self.top - self.bottom, 1.0)


@dataclass
class _Line:
    """Pieces on one baseline; its extent is computed once (a page's layout asks often)."""

    pieces: list[_Piece]
    # A column's first line after the previous column ended a paragraph: the vertical gap
    # cannot tell (the new column starts higher up), so the blank line is asked for here.
    new_paragraph: bool = False
    baseline: float = field(init=False)
    bottom: float = field(init=False)
    top: float = field(init=False)
    height: float = field(init=False)

    def __post_init__(self) -> None:
        self.baseline = self.pieces[0].baseline
        self.bottom = min(p.bottom for p in self.pieces)
        self.top = max(p.top for p in self.pieces)
        self.height = max(p.height for p in self.pieces)


_LINE_BREAK = re.compile(r"\r\n|\n|\r")
# pdfium's marks for a hyphen it takes for a hyphenation at a line end: U+FFFE when it joined
# the two lines into one (no line break follows), U+0002 in older versions. Either was printed
# as a hyphen.
_HYPHEN_MARKS = "\ufffe\x02"


def _hyphens(text: str) -> str:
    """pdfium's hyphen marks as the hyphens they were printed as."""
    # Checked first: translate() is slow, and most lines have no mark.
    if "\ufffe" in text or "\x02" in text:
        return text.replace("\ufffe", "-").replace("\x02", "-")
    return text


def _page_text(textpage: Any) -> str:
    """One page: lines by position in reading order (a block in two columns column by column),
    wide gaps kept as two spaces, paragraphs as blank lines."""
    text: str = textpage.get_text_range()
    if len(text) != textpage.count_chars():
        # Chars were inserted or left out, so offsets do not map to boxes: keep pdfium's text.
        return _hyphens(text)
    pieces: list[_Piece] = []
    for start, line_text in _pdf_lines(textpage, text):
        found = _line_pieces(textpage, start, line_text)
        if found is None:
            return _hyphens(text)
        pieces.extend(found)
    return _lay_out(_reading_order(_group_lines(pieces)))


def _pdf_lines(textpage: Any, text: str) -> Iterator[tuple[int, str]]:
    """pdfium's lines (offset and text), also split after a hyphen pdfium joined to the next
    printed line ("VA\ufffe" + "taxa"): each part has its own baseline and column."""
    start = 0
    ends = [(m.start(), m.end()) for m in _LINE_BREAK.finditer(text)] + [(len(text), len(text))]
    for end, next_start in ends:
        line_start = start
        marks = _hyphens(text[start:end]) != text[start:end]
        for mark in re.finditer(f"[{_HYPHEN_MARKS}]", text[start:end]) if marks else ():
            after = start + mark.end()
            rest = text[after:end]
            if not rest.strip():
                break
            first = after + len(rest) - len(rest.lstrip())
            if _origin_y(textpage, first) != _origin_y(textpage, line_start):
                yield line_start, text[line_start:after]
                line_start = first
        if text[line_start:end].strip():
            yield line_start, text[line_start:end]
        start = next_start


def _origin_y(textpage: Any, index: int) -> float | None:
    import pypdfium2.raw as pdfium_c

    x, y = ctypes.c_double(), ctypes.c_double()
    if not pdfium_c.FPDFText_GetCharOrigin(textpage, index, x, y):
        return None
    return round(float(y.value), 1)


def _line_pieces(textpage: Any, index: int, line_text: str) -> list[_Piece] | None:
    """pdfium's line as pieces, split where a wide horizontal gap separates its runs."""
    import pypdfium2.raw as pdfium_c

    n_rects = textpage.count_rects(index, len(line_text))
    if n_rects <= 0:
        return None
    rects = sorted((textpage.get_rect(i) for i in range(n_rects)), key=lambda r: r[0])
    first = index + len(line_text) - len(line_text.lstrip())
    _, bottom, _, top = textpage.get_charbox(first, loose=True)
    x, y = ctypes.c_double(), ctypes.c_double()
    if not pdfium_c.FPDFText_GetCharOrigin(textpage, first, x, y):
        return None
    baseline, bottom, top = float(y.value), float(bottom), float(top)
    height = max(top - bottom, 1.0)
    groups: list[list[tuple[float, float, float, float]]] = [[rects[0]]]
    for rect in rects[1:]:
        if rect[0] - max(r[2] for r in groups[-1]) > 1.5 * height:
            groups.append([rect])
        else:
            groups[-1].append(rect)
    if len(groups) == 1:
        left, right = rects[0][0], max(r[2] for r in rects)
        return [_Piece(_hyphens(line_text.strip()), left, right, baseline, bottom, top)]
    result = []
    for group in groups:
        left, right = group[0][0], max(r[2] for r in group)
        low, high = min(r[1] for r in group), max(r[3] for r in group)
        part = " ".join(
            _hyphens(
                textpage.get_text_bounded(left - 0.5, low - 0.5, right + 0.5, high + 0.5)
            ).split()
        )
        if part:
            result.append(_Piece(part, left, right, baseline, bottom, top))
    return result or None


def _group_lines(pieces: list[_Piece]) -> list[_Line]:
    """Pieces on the same baseline form one line; lines run from the top of the page down."""
    groups: list[list[_Piece]] = []
    baseline = height = 0.0  # of the line being gathered: its first piece's, its tallest
    for piece in sorted(pieces, key=lambda p: -p.baseline):
        if groups and abs(baseline - piece.baseline) < 0.3 * min(height, piece.height):
            groups[-1].append(piece)
            height = max(height, piece.height)
        else:
            groups.append([piece])
            baseline, height = piece.baseline, piece.height
    return [_Line(group) for group in groups]


# --- Columns ---
#
# A page set in two columns has a gutter: an x-range that no text crosses while both columns
# run. Ordered by baseline alone, the columns would interleave line by line. A table has gutters
# too, so a block is only read column by column when both sides are prose: long runs of lines
# that fill a column wider than 30 % of the text, with no gutter inside, and paragraphs that
# do not start side by side as a table's rows do.

_MIN_COLUMN_LINES = 4


def _reading_order(lines: list[_Line]) -> list[_Line]:
    """The lines in reading order: a block in two columns gives its left column's lines first."""
    if len(lines) < 2 * _MIN_COLUMN_LINES:
        return lines
    gutter = _gutter(lines)
    if gutter is None:
        return lines
    low, high, width = gutter
    out: list[_Line] = []
    run: list[_Line] = []
    for line in lines:
        if any(p.left < high and p.right > low for p in line.pieces):
            # Text across the gutter (a heading or paragraph over the full width) ends a block.
            out.extend(_columns(run, low, high, width))
            out.append(line)
            run = []
        else:
            run.append(line)
    out.extend(_columns(run, low, high, width))
    return out


def _gutter(lines: list[_Line]) -> tuple[float, float, float] | None:
    """The widest x-range in the middle of the text that the fewest lines cross, if wide enough
    to be a column gap, and the width of the text."""
    left = min(p.left for line in lines for p in line.pieces)
    right = max(p.right for line in lines for p in line.pieces)
    # Each column at least 30 % of the text width: the gap lies in the middle 40 %.
    start, stop = math.floor(left + 0.3 * (right - left)), math.ceil(left + 0.7 * (right - left))
    if stop - start < 4:
        return None
    change = [0] * (stop - start + 2)
    for line in lines:
        for piece in line.pieces:
            a, b = max(math.floor(piece.left), start), min(math.ceil(piece.right), stop)
            if a < b:
                change[a - start] += 1
                change[b - start] -= 1
    crossing = list(itertools.accumulate(change[: stop - start]))
    fewest = min(crossing)
    if fewest > len(lines) // 2:
        return None
    best: tuple[int, int] | None = None
    at = 0
    while at < len(crossing):
        if crossing[at] != fewest:
            at += 1
            continue
        end = at
        while end < len(crossing) and crossing[end] == fewest:
            end += 1
        if best is None or end - at > best[1] - best[0]:
            best = (at, end)
        at = end
    assert best is not None
    heights = sorted(line.pieces[0].height for line in lines)
    if best[1] - best[0] < 0.8 * heights[len(heights) // 2]:
        return None
    return start + best[0], start + best[1], right - left


def _columns(run: list[_Line], low: float, high: float, width: float) -> list[_Line]:
    """A run of lines none of which crosses the gutter: column by column if both sides are
    prose, else as it was. A running header or footer (apart from the block by a wide gap) stays
    above or below."""
    if len(run) < 2 * _MIN_COLUMN_LINES:
        return run
    first, last = _apart(run), len(run) - _apart(run[::-1])
    head, body, tail = run[:first], run[first:last], run[last:]
    left = [_Line(ps) for line in body if (ps := [p for p in line.pieces if p.right <= low])]
    right = [_Line(ps) for line in body if (ps := [p for p in line.pieces if p.left >= high])]
    if not (_prose(left, width) and _prose(right, width)) or _rows_side_by_side(left, right):
        return run
    column_right = max(p.right for line in left for p in line.pieces)
    column_left = min(p.left for line in left for p in line.pieces)
    ended = left[-1].pieces[-1].right < column_left + 0.8 * (column_right - column_left)
    right[0].new_paragraph = ended
    return head + left + right + tail


def _apart(run: list[_Line]) -> int:
    """How many of the first (at most three) lines stand apart from the rest by a gap wider
    than two lines: a running header (or, on the reversed run, a footer)."""
    for i, (a, b) in enumerate(itertools.pairwise(run[:4])):
        # Either way round: the run may be read upwards.
        gap = max(a.bottom - b.top, b.bottom - a.top)
        if gap > 2 * min(a.height, b.height):
            return i + 1
    return 0


def _prose(side: list[_Line], width: float) -> bool:
    """Lines of running text in one column: enough of them, the column wide enough, most lines
    filling it, and no gap inside the column that every line leaves free (a table's)."""
    if len(side) < _MIN_COLUMN_LINES:
        return False
    left = min(p.left for line in side for p in line.pieces)
    right = max(p.right for line in side for p in line.pieces)
    column = right - left
    if column < 0.3 * width:
        return False
    full = sum(1 for line in side if line.pieces[-1].right >= left + 0.8 * column)
    if full < 0.5 * len(side):
        return False
    spans = sorted((p.left, p.right) for line in side for p in line.pieces)
    reach = spans[0][1]
    for a, b in spans[1:]:
        if a - reach > 0.5 * side[0].height and left + 0.1 * column < a < right - 0.1 * column:
            return False
        reach = max(reach, b)
    return True


def _rows_side_by_side(left: list[_Line], right: list[_Line]) -> bool:
    """Whether the paragraphs on both sides start on the same baselines, as a table's rows do.
    Prose columns start a new paragraph at the same height only by chance."""
    starts_left, starts_right = _starts(left), _starts(right)
    if not starts_left or not starts_right:
        return False
    together = sum(
        1 for a in starts_left if any(abs(a - b) < 0.3 * left[0].height for b in starts_right)
    )
    return together >= 0.5 * max(len(starts_left), len(starts_right))


def _starts(side: list[_Line]) -> list[float]:
    """Baselines of the lines after a paragraph gap (the first line not counted)."""
    return [
        b.baseline
        for a, b in itertools.pairwise(side)
        if a.bottom - b.top > 0.6 * min(a.height, b.height)
    ]


def _lay_out(lines: list[_Line]) -> str:
    """Text of the lines; a blank line where the space between two lines is unusually wide."""
    if not lines:
        return ""
    # Space between the font boxes of two lines, relative to the smaller font: about 0-0.3
    # inside a paragraph, more where paragraph spacing or a heading's margin is added.
    gaps = [
        max(a.bottom - b.top, 0.0) / min(a.height, b.height) for a, b in itertools.pairwise(lines)
    ]
    # On a page with few lines the lower third may already be paragraph spacing: cap it.
    usual = min(sorted(gaps)[len(gaps) // 3], 0.5) if gaps else 0.0
    out: list[str] = []
    for i, line in enumerate(lines):
        if i > 0 and (line.new_paragraph or gaps[i - 1] > usual + 0.4):
            out.append("")
        parts = sorted(line.pieces, key=lambda p: p.left)
        text = parts[0].text
        for before, after in itertools.pairwise(parts):
            wide = after.left - before.right > 0.6 * line.height
            text += ("  " if wide else " ") + after.text
        out.append(text)
    return "\n".join(out)


# --- DOCX ---------------------------------------------------------------------------------

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _w(tag: str) -> str:
    return _W + tag


def _docx_text(data: bytes, max_chars: int) -> str:
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        body = document.element.body
        numbering = _DocxNumbering(document)
        blocks = _take(_docx_blocks(body, numbering), max_chars)
    except ExtractError:
        raise
    except Exception as exc:  # any failure to read untrusted input is the file's fault
        raise ExtractError(
            "Filen kunde inte läsas som Word-dokument (DOCX): den är skadad, "
            "lösenordsskyddad eller inte en DOCX-fil."
        ) from exc
    return _join_blocks(blocks)


def _take(blocks: Iterator[str], max_chars: int) -> list[str]:
    """Blocks until there is more than `max_chars` of text: the rest would be cut anyway."""
    taken: list[str] = []
    length = 0
    for block in blocks:
        taken.append(block)
        length += len(block) + 2
        if length > max_chars:
            break
    return taken


def _join_blocks(blocks: list[str]) -> str:
    return "\n\n".join(b for b in (block.strip("\n") for block in blocks) if b.strip())


def _docx_blocks(container: Any, numbering: _DocxNumbering) -> Iterator[str]:
    """Paragraph and table texts of a body, cell or content control, in document order."""
    for child in container.iterchildren():
        tag = child.tag
        if tag == _w("p"):
            yield numbering.prefix(child) + "".join(_docx_runs(child))
        elif tag == _w("tbl"):
            for row in _docx_children(child, _w("tr")):
                for cell in _docx_children(row, _w("tc")):
                    yield "\n".join(_docx_blocks(cell, numbering))
        elif tag in (_w("sdt"), _w("customXml")):
            content = child.find(_w("sdtContent")) if tag == _w("sdt") else child
            if content is not None:
                yield from _docx_blocks(content, numbering)


def _docx_children(parent: Any, tag: str) -> Iterator[Any]:
    """Rows of a table or cells of a row, also those wrapped in content controls."""
    for child in parent.iterchildren():
        if child.tag == tag:
            yield child
        elif child.tag in (_w("sdt"), _w("customXml")):
            content = child.find(_w("sdtContent")) if child.tag == _w("sdt") else child
            if content is not None:
                yield from _docx_children(content, tag)


_DOCX_CONTAINERS = {
    _w(t)
    for t in ("hyperlink", "ins", "smartTag", "fldSimple", "customXml", "moveTo", "dir", "bdo")
}


def _docx_runs(element: Any) -> Iterator[str]:
    """The visible text of a paragraph: runs, links, inserted text; no deleted text or fields."""
    for child in element.iterchildren():
        tag = child.tag
        if tag == _w("r"):
            for part in child.iterchildren():
                ptag = part.tag
                if ptag == _w("t"):
                    yield part.text or ""
                elif ptag in (_w("tab"), _w("ptab")):
                    yield "\t"
                elif ptag in (_w("br"), _w("cr")):
                    yield "\n"
                elif ptag == _w("noBreakHyphen"):
                    yield "-"
                elif ptag == _w("softHyphen"):
                    yield "\u00ad"
        elif tag == _w("sdt"):
            content = child.find(_w("sdtContent"))
            if content is not None:
                yield from _docx_runs(content)
        elif tag in _DOCX_CONTAINERS:
            yield from _docx_runs(child)


class _DocxNumbering:
    """The numbers Word shows in front of numbered paragraphs ("1.", "a)", "•")."""

    def __init__(self, document: Any) -> None:
        self._levels: dict[str, dict[int, tuple[str, str, int]]] = {}
        self._starts: dict[tuple[str, int], int] = {}
        self._counters: dict[str, dict[int, int]] = {}
        self._style_num: dict[str, tuple[str | None, int | None]] = {}
        self._style_based_on: dict[str, str] = {}
        from docx.opc.constants import RELATIONSHIP_TYPE

        # Read through the relationship itself: a document without list numbering has none.
        try:
            numbering = document.part.part_related_by(RELATIONSHIP_TYPE.NUMBERING).element
        except KeyError:
            numbering = None
        if numbering is not None:
            self._read_numbering(numbering)
        for style in document.styles.element.iterchildren(_w("style")):
            style_id = style.get(_w("styleId"))
            if not style_id:
                continue
            based = style.find(_w("basedOn"))
            if based is not None and based.get(_w("val")):
                self._style_based_on[style_id] = based.get(_w("val"))
            num_pr = style.find(f"{_w('pPr')}/{_w('numPr')}")
            if num_pr is not None:
                self._style_num[style_id] = _num_pr(num_pr)

    def _read_numbering(self, numbering: Any) -> None:
        abstract: dict[str, dict[int, tuple[str, str, int]]] = {}
        for item in numbering.iterchildren(_w("abstractNum")):
            levels: dict[int, tuple[str, str, int]] = {}
            for lvl in item.iterchildren(_w("lvl")):
                ilvl = _int(lvl.get(_w("ilvl")), 0)
                fmt = _val(lvl.find(_w("numFmt"))) or "decimal"
                text = _val(lvl.find(_w("lvlText")))
                start = _int(_val(lvl.find(_w("start"))), 1)
                levels[ilvl] = (fmt, text if text is not None else f"%{ilvl + 1}.", start)
            abstract[item.get(_w("abstractNumId")) or ""] = levels
        for num in numbering.iterchildren(_w("num")):
            num_id = num.get(_w("numId")) or ""
            abstract_id = _val(num.find(_w("abstractNumId"))) or ""
            self._levels[num_id] = abstract.get(abstract_id, {})
            for override in num.iterchildren(_w("lvlOverride")):
                start_text = _val(override.find(_w("startOverride")))
                if start_text is not None:
                    level = _int(override.get(_w("ilvl")), 0)
                    self._starts[(num_id, level)] = _int(start_text, 1)

    def _style_numbering(self, style_id: str | None) -> tuple[str | None, int | None]:
        seen: set[str] = set()
        while style_id and style_id not in seen:
            seen.add(style_id)
            if style_id in self._style_num:
                return self._style_num[style_id]
            style_id = self._style_based_on.get(style_id)
        return None, None

    def prefix(self, paragraph: Any) -> str:
        ppr = paragraph.find(_w("pPr"))
        num_id: str | None = None
        ilvl: int | None = None
        style_id: str | None = None
        if ppr is not None:
            style_id = _val(ppr.find(_w("pStyle")))
            num_pr = ppr.find(_w("numPr"))
            if num_pr is not None:
                num_id, ilvl = _num_pr(num_pr)
        if num_id is None:
            style_num, style_ilvl = self._style_numbering(style_id)
            num_id = style_num
            ilvl = ilvl if ilvl is not None else style_ilvl
        if not num_id or num_id == "0" or num_id not in self._levels:
            return ""
        level = ilvl or 0
        levels = self._levels[num_id]
        if level not in levels:
            return ""
        counters = self._counters.setdefault(num_id, {})
        if level in counters:
            counters[level] += 1
        else:
            counters[level] = self._starts.get((num_id, level), levels[level][2])
        for deeper in [k for k in counters if k > level]:
            del counters[deeper]
        fmt, template, _ = levels[level]
        if fmt == "bullet":
            return "• "
        if fmt == "none":
            return f"{template} " if template.strip() else ""

        def number(match: re.Match[str]) -> str:
            at = int(match.group(1)) - 1
            if at not in counters:
                at_start = levels.get(at, ("decimal", "", 1))[2]
                counters[at] = self._starts.get((num_id, at), at_start)
            at_fmt = levels.get(at, (fmt, "", 1))[0]
            return _format_number(counters[at], at_fmt)

        text = re.sub(r"%([1-9])", number, template).strip()
        return f"{text} " if text else ""


def _num_pr(num_pr: Any) -> tuple[str | None, int | None]:
    num_id = _val(num_pr.find(_w("numId")))
    ilvl_text = _val(num_pr.find(_w("ilvl")))
    return num_id, (_int(ilvl_text, 0) if ilvl_text is not None else None)


def _val(element: Any) -> str | None:
    if element is None:
        return None
    value = element.get(_w("val"))
    return str(value) if value is not None else None


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def _format_number(value: int, fmt: str) -> str:
    if fmt in ("lowerLetter", "upperLetter", "a", "A"):
        letters = ""
        n = max(value, 1)
        while n > 0:
            n, rest = divmod(n - 1, 26)
            letters = chr(ord("a") + rest) + letters
        return letters.upper() if fmt in ("upperLetter", "A") else letters
    if fmt in ("lowerRoman", "upperRoman", "i", "I"):
        roman = _roman(value)
        return roman.upper() if fmt in ("upperRoman", "I") else roman
    return str(value)


def _roman(value: int) -> str:
    numerals = [
        (1000, "m"),
        (900, "cm"),
        (500, "d"),
        (400, "cd"),
        (100, "c"),
        (90, "xc"),
        (50, "l"),
        (40, "xl"),
        (10, "x"),
        (9, "ix"),
        (5, "v"),
        (4, "iv"),
        (1, "i"),
    ]
    out = ""
    for amount, numeral in numerals:
        while value >= amount:
            out += numeral
            value -= amount
    return out or "0"


# --- ODT ----------------------------------------------------------------------------------

_ODF_NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "draw": "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",
}


def _o(prefix: str, tag: str) -> str:
    return "{" + _ODF_NS[prefix] + "}" + tag


_ODT_BROKEN = (
    "Filen kunde inte läsas som ODT-dokument: den är skadad, lösenordsskyddad "
    "eller inte en ODT-fil."
)


def _odt_xml(archive: zipfile.ZipFile, name: str, *, required: bool) -> ET.Element | None:
    try:
        raw = archive.read(name)
    except KeyError:
        if required:
            raise ExtractError(_ODT_BROKEN) from None
        return None
    # ElementTree resolves no external entities; refusing any DTD also rules out entity
    # expansion ("billion laughs"). ODF files never carry a DTD.
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise ExtractError(_ODT_BROKEN)
    try:
        return ET.fromstring(raw)  # noqa: S314 - no DTD allowed, see above
    except ET.ParseError as exc:
        raise ExtractError(_ODT_BROKEN) from exc


def _odt_text(data: bytes, max_chars: int) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            manifest = _odt_xml(archive, "META-INF/manifest.xml", required=False)
            if manifest is not None and any(
                element.tag.endswith("}encryption-data") for element in manifest.iter()
            ):
                raise ExtractError(
                    "ODT-dokumentet är lösenordsskyddat och kan inte läsas. "
                    "Ladda upp en version utan lösenord."
                )
            content = _odt_xml(archive, "content.xml", required=True)
            styles = _odt_xml(archive, "styles.xml", required=False)
    except ExtractError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise ExtractError(_ODT_BROKEN) from exc
    assert content is not None
    body = content.find(f"{_o('office', 'body')}/{_o('office', 'text')}")
    if body is None:
        raise ExtractError(
            "Filen är ett OpenDocument men inte ett textdokument (ODT): inget att läsa."
        )
    walker = _OdtWalker([x for x in (content, styles) if x is not None])
    return _join_blocks(_take(walker.blocks(body), max_chars))


_ODT_SKIP = {
    _o("text", "note"),
    _o("office", "annotation"),
    _o("office", "annotation-end"),
    _o("text", "tracked-changes"),
    _o("text", "sequence-decls"),
    _o("text", "variable-decls"),
    _o("text", "user-field-decls"),
    _o("office", "forms"),
    _o("text", "soft-page-break"),
    _o("text", "bookmark"),
    _o("text", "bookmark-start"),
    _o("text", "bookmark-end"),
    _o("text", "reference-mark"),
    _o("text", "change-start"),
    _o("text", "change-end"),
    _o("text", "change"),
    _o("draw", "frame"),
}


class _OdtWalker:
    """Paragraphs, headings, lists and tables of an ODT body, in document order."""

    def __init__(self, roots: list[ET.Element]) -> None:
        self._list_styles: dict[str, dict[int, tuple[str, str, str, int]]] = {}
        for root in roots:
            for style in root.iter(_o("text", "list-style")):
                name = style.get(_o("style", "name"))
                if name:
                    self._list_styles[name] = self._read_list_style(style)
        self._last_counters: dict[str, list[int]] = {}

    @staticmethod
    def _read_list_style(style: ET.Element) -> dict[int, tuple[str, str, str, int]]:
        levels: dict[int, tuple[str, str, str, int]] = {}
        for child in style:
            level = _int(child.get(_o("text", "level")), 1)
            if child.tag == _o("text", "list-level-style-number"):
                fmt = child.get(_o("style", "num-format"), "1")
                prefix = child.get(_o("style", "num-prefix"), "")
                suffix = child.get(_o("style", "num-suffix"), "")
                start = _int(child.get(_o("text", "start-value")), 1)
                levels[level] = (fmt, prefix, suffix, start)
            elif child.tag == _o("text", "list-level-style-bullet"):
                levels[level] = ("bullet", child.get(_o("text", "bullet-char"), "•"), "", 1)
        return levels

    def blocks(self, container: ET.Element) -> Iterator[str]:
        for child in container:
            tag = child.tag
            if tag in (_o("text", "p"), _o("text", "h")):
                yield "".join(self.inline(child))
            elif tag == _o("text", "list"):
                yield from self._list(child, None, 1)
            elif tag == _o("table", "table"):
                yield from self._table(child)
            elif tag in _ODT_SKIP:
                continue
            else:  # sections, index bodies, change regions: look inside
                yield from self.blocks(child)

    def _table(self, table: ET.Element) -> Iterator[str]:
        for row in self._rows(table):
            for cell in row:
                if cell.tag == _o("table", "table-cell"):
                    yield "\n".join(b for b in self.blocks(cell) if b.strip())

    def _rows(self, element: ET.Element) -> Iterator[ET.Element]:
        """The table's own rows, also inside header rows and row groups (not nested tables)."""
        for child in element:
            if child.tag == _o("table", "table-row"):
                yield child
            elif child.tag in (
                _o("table", "table-header-rows"),
                _o("table", "table-rows"),
                _o("table", "table-row-group"),
            ):
                yield from self._rows(child)

    def _list(self, element: ET.Element, style: str | None, level: int) -> Iterator[str]:
        style = element.get(_o("text", "style-name")) or style
        levels = self._list_styles.get(style or "", {})
        level_style = levels.get(level)
        key = f"{style}:{level}"
        continues = element.get(_o("text", "continue-numbering")) == "true" or (
            element.get(_o("text", "continue-list")) is not None
        )
        counter = self._last_counters.get(key, [0])[0] if continues else None
        for item in element:
            if item.tag not in (_o("text", "list-item"), _o("text", "list-header")):
                continue
            numbered = item.tag == _o("text", "list-item")
            prefix = ""
            if numbered and level_style is not None:
                fmt, before, after, start = level_style
                restart = item.get(_o("text", "start-value"))
                if restart is not None:
                    counter = _int(restart, start)
                else:
                    counter = start if counter is None else counter + 1
                if fmt == "bullet":
                    prefix = f"{before or '•'} "
                elif fmt:
                    prefix = f"{before}{_format_number(counter, fmt)}{after} "
                self._last_counters[key] = [counter]
            first = True
            for child in item:
                if child.tag == _o("text", "list"):
                    yield from self._list(child, style, level + 1)
                    continue
                for block in self.blocks(_wrap(child)):
                    yield (prefix + block) if first else block
                    first = False

    def inline(self, element: ET.Element) -> Iterator[str]:
        if element.text:
            yield element.text
        for child in element:
            tag = child.tag
            if tag == _o("text", "s"):
                yield " " * max(_int(child.get(_o("text", "c")), 1), 1)
            elif tag == _o("text", "tab"):
                yield "\t"
            elif tag == _o("text", "line-break"):
                yield "\n"
            elif tag not in _ODT_SKIP:
                yield from self.inline(child)
            if child.tail:
                yield child.tail


def _wrap(element: ET.Element) -> ET.Element:
    """A stand-in container holding one element, so blocks() can walk it."""
    holder = ET.Element("holder")
    holder.append(element)
    return holder


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
