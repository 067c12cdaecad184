"""A tjänsteutlåtande split into its parts, from text extracted from a PDF, DOCX or ODT.

The shape is the one Stockholm's förvaltningar use (see seed 000): a rubrik, *Förslag till
beslut* with numbered proposals, *Sammanfattning*, *Bakgrund*, *Ärendet*, *Ärendets
beredning*, *Förvaltningens synpunkter och förslag*, the signatures and *Bilagor*. Real
documents stray from it, and extraction adds its own noise, so the parser tolerates:

- page headers and footers: lines repeated at the top or bottom of several pages (pages are
  separated by "\\f", as `remiss.extract` writes them) and "Sida 2 (3)" lines;
- headings broken over lines ("Förvaltningens synpunkter och / förslag") or hyphenated, with
  trailing spaces or a colon, in capitals, numbered ("3. Bakgrund"), and their variants
  (Kontorets, Stadsdelsförvaltningens, Exploateringskontorets förslag till beslut, ...);
- proposals numbered "1." or "1)" or not numbered at all, wrapped over several lines;
- words hyphenated at line ends, wrapped lines (re-flowed into single spaces; paragraph
  breaks are kept as blank lines, "\\n\\n");
- missing sections (None).

Pure: no I/O, no database. `parse` never raises on odd input; what it cannot find is None.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from remiss.report.extract import normalise_text

__all__ = [
    "Tjansteutlatande",
    "clean_lines",
    "parse",
    "reflow",
    "sentence_ends",
    "summary_for_report",
]


@dataclass(frozen=True)
class Tjansteutlatande:
    """The parts of a tjänsteutlåtande; a part the document does not have is None or ()."""

    rubrik: str | None
    forslag_till_beslut: tuple[str, ...]
    sammanfattning: str | None
    bakgrund: str | None
    arendet: str | None
    beredning: str | None
    synpunkter: str | None
    underskrifter: tuple[str, ...]
    bilagor: tuple[str, ...]
    beslutsmening: str | None
    namnd: str | None
    justeras_omedelbart: bool


# --- Headings ------------------------------------------------------------------------------------

# "Förvaltningens", "Kontorets", "Stadsdelsförvaltningens", "Exploateringskontorets", ...
_OWNER = r"[\w-]+s"
_HEADINGS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (key, re.compile(pattern))
    for key, pattern in (
        (
            "forslag",
            rf"(?:{_OWNER}\s+)?(?:förslag\s+till\s+(?:{_OWNER}\s+)?beslut|beslutsförslag)",
        ),
        ("sammanfattning", r"sammanfattning(?:\s+av\s+ärendet)?"),
        ("bakgrund", r"bakgrund(?:\s+till\s+ärendet)?"),
        ("arendet", r"ärendet|ärendebeskrivning|beskrivning\s+av\s+ärendet|remissens\s+innehåll"),
        ("beredning", r"ärendets\s+beredning|beredning(?:\s+av\s+ärendet)?"),
        (
            "synpunkter",
            rf"(?:{_OWNER}\s+)?synpunkter(?:\s+och\s+förslag)?"
            rf"|{_OWNER}\s+(?:bedömning|yttrande|överväganden)(?:\s+och\s+förslag)?",
        ),
        ("bilagor", r"bilag(?:a|or)"),
        # A protocol's own parts end the section before them and belong to no field: a
        # Sammanfattning must not run on into the yrkanden, the proposition and the vote.
        (
            "protokoll",
            rf"{_OWNER}\s+(?:{_OWNER}\s+)?(?:förslag|beslut)|beslut|beslutet|beslutsgång"
            r"|yrkanden?|propositionsordning|proposition(?:er)?|överläggning(?:\s+och\s+[\w\s]+)?"
            r"|omröstning|reservation(?:er)?|särskil(?:t|da)\s+(?:uttalanden?|yttranden?)"
            r"|protokollsanteckning(?:ar)?|justering|justerandes\s+signatur|utdragsbestyrkande"
            r"|(?:beslutet\s+)?(?:ska\s+)?(?:skickas|expedieras)\s+till|expediering",
        ),
    )
)
_HEADING_NUMBER = re.compile(r"^\d{1,2}(?:\.\d{1,2})*\.?\s+")
_INLINE_BILAGA = re.compile(r"^bilag(?:a|or)\s*:\s*(\S.*)$", re.IGNORECASE)
_MAX_HEADING_PART = 70


def _heading_key(text: str) -> str | None:
    candidate = " ".join(text.split()).rstrip(":").strip()
    candidate = _HEADING_NUMBER.sub("", candidate).casefold()
    for key, pattern in _HEADINGS:
        if pattern.fullmatch(candidate):
            return key
    return None


# --- Lines: normalising, page headers and footers ------------------------------------------------

_PAGE_NUMBER = re.compile(
    r"^(?:sida\s*)?\d{1,4}\s*(?:\(\s*\d{1,4}\s*\)|av\s+\d{1,4}|/\s*\d{1,4})?$"
    r"|^[-–]\s*\d{1,4}\s*[-–]$",
    re.IGNORECASE,
)
# "Sida 2 (3)" or "Sida 2 av 3" opening or closing a line: a page header or footer.
_SIDA = r"(?:Sida|SIDA|sida)\s+\d{1,4}\s*(?:\(\s*\d{1,4}\s*\)|av\s+\d{1,4})"
_SIDA_LINE = re.compile(rf"^{_SIDA}\b|(?:^|\s){_SIDA}\s*$")
_ZONE = 4  # lines at each end of a page where running headers and footers are looked for


def _norm_key(line: str) -> str:
    """A line as compared across pages: page numbers and other digits do not count."""
    line = _SIDA_LINE.sub("", line)
    return re.sub(r"\d+", "#", " ".join(line.split())).casefold()


def _clean_lines(text: str) -> list[str]:
    """Lines of the document without page headers, footers and page numbers; "" is a break."""
    text = normalise_text(text).replace("\u00a0", " ").replace("\u2007", " ")
    text = text.replace("\t", "  ")
    pages = [[line.strip() for line in page.split("\n")] for page in text.split("\f")]
    # Lines seen at the top (or the bottom) of several pages are running headers (footers):
    # of at least two pages, and of half the pages after the first in a longer document, so
    # that a phrase that happens to end two pages is not taken for one.
    repeated: dict[str, set[str]] = {"top": set(), "bottom": set()}
    needed = max(2, -(-(len(pages) - 1) // 2))
    if len(pages) > 1:
        for end in ("top", "bottom"):
            seen: Counter[str] = Counter()
            for page in pages:
                content = [line for line in page if line]
                zone = content[:_ZONE] if end == "top" else content[-_ZONE:]
                seen.update({_norm_key(line) for line in zone})
            repeated[end] = {key for key, count in seen.items() if count >= needed and key}

    def droppable(line: str, end: str) -> bool:
        return (
            bool(_PAGE_NUMBER.match(line))
            or bool(_SIDA_LINE.search(line))
            or _norm_key(line) in repeated[end]
        )

    out: list[str] = []
    for page in pages:
        lines = list(page)
        for end, order in (("top", range(len(lines))), ("bottom", range(len(lines) - 1, -1, -1))):
            dropped = 0
            for i in order:
                if not lines[i]:
                    continue
                if dropped >= _ZONE or not droppable(lines[i], end):
                    break
                lines[i] = ""
                dropped += 1
        lines = [line for line in lines if not _SIDA_LINE.search(line)]
        while lines and not lines[0]:
            lines.pop(0)
        while lines and not lines[-1]:
            lines.pop()
        if not lines:
            continue
        if out:
            last = out[-1]
            # A page that ends a sentence and a page that starts a new one: new paragraph.
            if re.search(r"[.!?:]$", last) and re.match(r"[A-ZÅÄÖÉ0-9•–-]", lines[0]):
                out.append("")
        out.extend(lines)
    return out


# --- Sections ------------------------------------------------------------------------------------


def _starts_upper(line: str) -> bool:
    return bool(re.match(r"[\W\d_]*[A-ZÅÄÖÉÜ]", line)) or bool(re.match(r"\d", line))


def _match_heading(lines: list[str], i: int) -> tuple[str, int, str | None] | None:
    """The heading starting at line i: its key, the index after it, an inline remainder."""
    first = lines[i]
    if not first or len(first) > _MAX_HEADING_PART or not _starts_upper(first):
        return None
    inline = _INLINE_BILAGA.match(first)
    if inline:
        return "bilagor", i + 1, inline.group(1)
    # Up to three lines, blank lines between them allowed; continuations start in lower case.
    parts = [(first, i)]
    j = i + 1
    while len(parts) < 3 and j < len(lines):
        if not lines[j]:
            j += 1
            continue
        if len(lines[j]) > _MAX_HEADING_PART or not re.match(r"[a-zåäöé]", lines[j]):
            break
        parts.append((lines[j], j))
        j += 1
    for n in range(len(parts), 0, -1):
        joined = _reflow([p for p, _ in parts[:n]])
        key = _heading_key(joined)
        if key is None:
            continue
        after = parts[n - 1][1] + 1
        following = next((line for line in lines[after:] if line), None)
        # "Ärendet" alone on a line, followed by "har beretts ...": a wrapped sentence.
        if following is not None and re.match(r"[a-zåäöé]", following):
            return None
        return key, after, None
    return None


def _previous_allows_heading(lines: list[str], i: int) -> bool:
    """A heading does not continue a sentence cut by a comma or a hyphen."""
    if i == 0 or not lines[i - 1]:
        return True
    return not re.search(r"[,\-‐]$", lines[i - 1])


def _split_sections(lines: list[str]) -> tuple[list[str], list[tuple[str, list[str]]]]:
    preamble: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(lines):
        found = _match_heading(lines, i) if _previous_allows_heading(lines, i) else None
        if found is None:
            (sections[-1][1] if sections else preamble).append(lines[i])
            i += 1
            continue
        key, i, inline = found
        sections.append((key, [inline] if inline else []))
    return preamble, sections


# --- Paragraphs ----------------------------------------------------------------------------------

_HYPHENS = "-‐\u2011"
_SUSPENDED = {"och", "eller", "samt", "respektive", "resp", "till", "som", "men"}
_LIST_ITEM = re.compile(r"^(?:\d{1,2}\s*[.)]|[a-h]\)|[•●▪◦■–*-])\s+\S")


def _join_two(left: str, right: str) -> str:
    """Join a line to the next one, undoing a hyphenation at the line end."""
    if not left:
        return right
    if not right:
        return left
    if left[-1] in _HYPHENS and len(left) >= 2 and left[-2].isalnum():
        next_word = re.match(r"[\w]+", right)
        word = next_word.group(0) if next_word else ""
        if word.casefold() in _SUSPENDED:  # "stads- och landstingsförbund"
            return f"{left[:-1]}- {right}"
        if left[-2].islower() and right[0].islower():
            return left[:-1] + right  # "kompe-" + "tens"
        return left[:-1] + "-" + right  # "IT-system", "Hägersten-Älvsjö", "2025-08-26"
    return f"{left} {right}"


def _reflow(lines: Sequence[str]) -> str:
    text = ""
    for line in lines:
        text = _join_two(text, line.strip())
    return " ".join(text.split())


def _groups(lines: Sequence[str]) -> list[list[str]]:
    """Runs of non-blank lines."""
    groups: list[list[str]] = [[]]
    for line in lines:
        if line:
            groups[-1].append(line)
        elif groups[-1]:
            groups.append([])
    return [g for g in groups if g]


def _is_subheading(group: list[str]) -> bool:
    first, rest = group[0], group[1:]
    return (
        bool(rest)
        and len(first) <= 50
        and len(first.split()) <= 7
        and _starts_upper(first)
        and not re.search(r"[.,;:!?\-‐]$", first)
        and not _LIST_ITEM.match(first)
        and _starts_upper(rest[0])
        and len(first) < 0.6 * max(len(line) for line in rest)
    )


def _paragraphs(lines: Sequence[str]) -> list[str]:
    """Re-flowed paragraphs: blank lines, list items and short sub-headings start a new one."""
    paragraphs: list[str] = []
    for group in _groups(lines):
        current: list[str] = []
        if _is_subheading(group):
            paragraphs.append(_reflow(group[:1]))
            group = group[1:]
        for line in group:
            if current and _LIST_ITEM.match(line):
                paragraphs.append(_reflow(current))
                current = []
            current.append(line)
        if current:
            paragraphs.append(_reflow(current))
    return [p for p in paragraphs if p]


def _body(lines: Sequence[str]) -> str | None:
    text = "\n\n".join(_paragraphs(lines))
    return text or None


# --- Numbered lists: proposals and bilagor -------------------------------------------------------

_NUMBERED = re.compile(r"^(?:\d{1,2}\s*[.)]|[•●▪◦■–*-])\s+(?P<text>\S.*)$")
_BILAGA_PREFIX = re.compile(r"^bilaga\s+\d{1,2}\s*[.:)–-]?\s*", re.IGNORECASE)


def _numbered_items(lines: Sequence[str]) -> list[list[str]] | None:
    """Items of a numbered or bulleted list with their wrapped lines; None if not a list."""
    items: list[list[str]] = []
    blank_before = False
    closed = False
    for line in lines:
        if not line:
            blank_before = True
            continue
        match = _NUMBERED.match(line)
        if match:
            items.append([match.group("text")])
            closed = False
        elif items and not closed:
            # After a blank line a line still belongs to the item if the item is unfinished.
            unfinished = not re.search(r"[.!?]$", items[-1][-1])
            if not blank_before or unfinished or re.match(r"[a-zåäöé]", line):
                items[-1].append(line)
            else:
                closed = True
        blank_before = False
    return items or None


def _sentence_items(lines: Sequence[str]) -> list[str]:
    """Unnumbered proposals: each paragraph, and each line that starts a new sentence."""
    items: list[str] = []
    for group in _groups(lines):
        current: list[str] = []
        for line in group:
            if current and re.search(r"[.!?]$", current[-1]) and _starts_upper(line):
                items.append(_reflow(current))
                current = []
            current.append(line)
        if current:
            items.append(_reflow(current))
    return [item for item in items if item]


def _proposals(lines: Sequence[str]) -> tuple[tuple[str, ...], str | None]:
    """The proposals, and the words that introduce a numbered list of them, if any."""
    items = _numbered_items(lines)
    if items is None:
        return tuple(_sentence_items(lines)), None
    first = next(i for i, line in enumerate(lines) if line and _NUMBERED.match(line))
    intro = _reflow([line for line in lines[:first] if line]) or None
    return tuple(text for text in (_reflow(item) for item in items) if text), intro


def _bilagor(lines: Sequence[str]) -> tuple[str, ...]:
    items = _numbered_items(lines)
    if items is None:
        # One line per bilaga, unless a line plainly continues the one before.
        items = []
        for line in (line for line in lines if line):
            continues = items and (
                re.match(r"[a-zåäöé]", line) or items[-1][-1][-1:] in _HYPHENS + ","
            )
            if continues:
                items[-1].append(line)
            else:
                items.append([line])
    result = []
    for item in items:
        text = _BILAGA_PREFIX.sub("", _reflow(item)).strip()
        if text:
            result.append(text)
    return tuple(result)


# --- Signatures ----------------------------------------------------------------------------------

_NAME_WORD = r"[A-ZÅÄÖÉÜØÆ][\w'’.-]*"
_NAME = re.compile(
    rf"^{_NAME_WORD}(?:\s+(?:(?:af|von|van|de|der|den|da|di|del|la|le)\s+)?{_NAME_WORD}){{1,3}}$"
)
_COLUMNS = re.compile(r"\s{2,}")


def _columns(line: str) -> list[str]:
    return [part for part in _COLUMNS.split(line.strip()) if part]


def _signature_like(line: str) -> bool:
    columns = _columns(line)
    return bool(columns) and all(
        len(col) <= 50
        and len(col.split()) <= 6
        and not re.search(r"[,;:!?]$", col)
        and not (col.endswith(".") and len(col.split()) > 2)
        and not _NUMBERED.match(col)
        for col in columns
    )


def _name_like(line: str) -> bool:
    return any(_NAME.match(col) for col in _columns(line))


def _split_signatures(lines: list[str]) -> tuple[list[str], tuple[str, ...]]:
    """The section without its trailing signature block, and the block's lines."""
    j = len(lines)
    while j > 0 and (not lines[j - 1] or _signature_like(lines[j - 1])):
        j -= 1
    # The block starts at a name, on a line that does not continue a sentence.
    for k in range(j, len(lines)):
        if not lines[k] or not _name_like(lines[k]):
            continue
        previous = next((lines[m] for m in range(k - 1, -1, -1) if lines[m]), None)
        blank_before = k == 0 or not lines[k - 1]
        if previous is not None and not blank_before and not re.search(r"[.!?:]$", previous):
            continue
        block = [line for line in lines[k:] if line]
        if len(block) > 15:
            return lines, ()
        return lines[:k], _signature_lines(lines[k:])
    return lines, ()


def _signature_lines(lines: list[str]) -> tuple[str, ...]:
    """Signature lines, one person after the other where they stand side by side."""
    out: list[str] = []
    for group in _groups(lines):
        rows = [_columns(line) for line in group]
        width = max(len(row) for row in rows)
        if width > 1 and all(len(row) == width for row in rows):
            out.extend(row[c] for c in range(width) for row in rows)
        else:
            out.extend(col for row in rows for col in row)
    return tuple(" ".join(line.split()) for line in out)


# --- Rubrik --------------------------------------------------------------------------------------

_TITLE_START = re.compile(
    r"^(?:remiss|svar\s+på\s+remiss|yttrande|remissvar|remissyttrande|motion|skrivelse|"
    r"förslag|betänkande|utredning|rapport|promemoria|ds\s|sou\s)",
    re.IGNORECASE,
)
_SUBTITLE = re.compile(r"^svar\s+på\s+remiss\s+från\s+[\w ]+(?:,?\s*dnr\b.*)?$", re.IGNORECASE)
_METADATA = re.compile(
    r"^(?:tjänsteutlåtande|handläggare|till|från|telefon|tel\.?|e-post|epost|dnr|diarienummer|"
    r"datum|sida|kopia|beslutsdatum|\d{4}-\d{2}-\d{2}|www\.|https?:)\b|@|^\S+$",
    re.IGNORECASE,
)


def _rubrik(preamble: list[str]) -> str | None:
    paragraphs = [
        _reflow(group)
        for group in _groups(preamble)
        if not all(_METADATA.search(line) for line in group)
    ]
    for paragraph in paragraphs:
        if _TITLE_START.match(paragraph) and not _SUBTITLE.match(paragraph):
            return paragraph
    for paragraph in paragraphs:
        if not _SUBTITLE.match(paragraph) and len(paragraph.split()) >= 3:
            return paragraph
    return paragraphs[0] if paragraphs else None


# --- The decision --------------------------------------------------------------------------------

_DECISION = re.compile(
    r"(?:beslutar\s+att\s+)?"
    r"(?:(?:godkänn(?:er|a)|överlämn(?:ar|a)|ant(?:ar|a))\s+(?:det\s+)?(?:[\w-]+s\s+)?"
    r"tjänsteutlåtande(?:t)?"
    r"|besvar(?:ar|a)\s+remissen\s+med\s+(?:det\s+)?(?:[\w-]+s\s+)?tjänsteutlåtande(?:t)?)\b"
)
# "Ärendet justeras omedelbart", "justera paragrafen omedelbart", "omedelbar justering".
_JUSTERAS = re.compile(
    r"\bjusteras?\s+(?:(?:ärendet|paragrafen|beslutet|besluten|protokollet)\s+)?omedelbart\b"
    r"|\bomedelbart\s+justera[ds]?\b|\bomedelbar\s+justering\b",
    re.IGNORECASE,
)
_BODY_WORD = r"(?:nämnd|nämnden|styrelse|styrelsen|fullmäktige|rådet|utskott|utskottet)"
_SENTENCE_END = re.compile(r"[.!?](?=\s+[A-ZÅÄÖÉ0-9]|\s*$)")


def _subject(text: str) -> str:
    """Who decides, from the words before the verb: "1. Socialnämnden (beslutar att)"."""
    subject = re.sub(r"^(?:\d{1,2}\s*[.)]|[•–-])\s+", "", text.strip())
    subject = re.sub(r"\s*(?:föreslås\s+)?(?:besluta[rt]?|beslöt)(?:\s+att)?\s*:?$", "", subject)
    if re.search(r"\batt\s", subject):  # "Förvaltningen föreslår att Socialnämnden"
        subject = re.split(r"\batt\s+", subject)[-1]
    subject = subject.strip(" ,:")
    words = subject.split()
    if len(words) > 1 and re.search(rf"{_BODY_WORD}$", words[-1], re.IGNORECASE):
        # "Förslag till beslut Socialnämnden" → "Socialnämnden"; keep "Skärholmens
        # stadsdelsnämnd" and "Miljö- och hälsoskyddsnämnden" whole.
        for start in range(len(words) - 1, -1, -1):
            if _starts_upper(words[start]) and not words[start][0].isdigit():
                return " ".join(words[start:])
    return subject


def _decision(candidates: Sequence[str]) -> tuple[str | None, str | None]:
    """The decision sentence and its subject (the nämnd), from the first text that has one."""
    for text in candidates:
        match = _DECISION.search(text)
        if match is None:
            continue
        head = text[: match.start()]
        starts = [m.end() for m in re.finditer(r"[.!?:]\s+", head)]
        subject = _subject(head[starts[-1] if starts else 0 :])
        end = _SENTENCE_END.search(text, match.end())
        rest = text[match.start() : end.end() if end else len(text)].strip()
        sentence = f"{subject} {rest}".strip()
        namnd = subject if subject and _starts_upper(subject) else None
        if namnd is not None and (len(namnd.split()) > 6 or not namnd[0].isupper()):
            namnd = None
        return sentence, namnd
    return None, None


# --- Parse ---------------------------------------------------------------------------------------


_ITEM = re.compile(r"^§\s*\d{1,4}(?:\s*/\s*\d{2,4})?(?![\d§])")
_REMISS_ITEM = re.compile(r"remiss|yttrande|motion|medborgarförslag|svar\s+på", re.IGNORECASE)


def _agenda_item(lines: list[str]) -> list[str]:
    """The lines of the item about a remiss when the text is an agenda of several "§ N"
    items (a whole protocol), else all lines: items are never merged into one."""
    starts = [i for i, line in enumerate(lines) if _ITEM.match(line) and not line.startswith("§§")]
    if len(starts) < 2:
        return lines
    bounds = list(zip(starts, [*starts[1:], len(lines)], strict=True))
    items = [(a, b) for a, b in bounds if sum(len(x) for x in lines[a:b]) >= 120]
    if len(items) <= 1:
        return lines
    for a, b in items:
        if _REMISS_ITEM.search(" ".join(lines[a : a + 4])):
            head = _ITEM.sub("", lines[a]).strip()
            return [head, *lines[a + 1 : b]]
    a, b = items[0]
    return lines[a:b]


def parse(text: str) -> Tjansteutlatande:
    """Split a tjänsteutlåtande's extracted text into its parts."""
    lines = _agenda_item(_clean_lines(text))
    preamble, sections = _split_sections(lines)

    by_key: dict[str, list[str]] = {}
    for key, body in sections:
        if key == "forslag" and key in by_key:
            continue  # a second proposal is another body's (an utskott's), not this one's
        if key in by_key:
            by_key[key].extend(["", *body])
        else:
            by_key[key] = list(body)

    # The signatures end the last section, or the one before the bilagor when they come last.
    signatures: tuple[str, ...] = ()
    order = [key for key, _ in sections]
    if order and order[-1] == "bilagor":
        order = order[:-1]
    if order:
        by_key[order[-1]], signatures = _split_signatures(by_key[order[-1]])
    if not signatures and "bilagor" in by_key:
        by_key["bilagor"], signatures = _split_signatures(by_key["bilagor"])

    proposals, intro = _proposals(by_key.get("forslag", []))
    whole = _reflow([line for line in lines if line])
    # "Socialnämnden beslutar att / 1. godkänna förvaltningens tjänsteutlåtande ..."
    decided = [f"{intro.rstrip(' :')} {p}" for p in proposals] if intro else list(proposals)
    beslutsmening, namnd = _decision([*decided, whole])
    justeras = bool(_JUSTERAS.search(whole))

    return Tjansteutlatande(
        rubrik=_rubrik(preamble),
        forslag_till_beslut=proposals,
        sammanfattning=_body(by_key.get("sammanfattning", [])),
        bakgrund=_body(by_key.get("bakgrund", [])),
        arendet=_body(by_key.get("arendet", [])),
        beredning=_body(by_key.get("beredning", [])),
        synpunkter=_body(by_key.get("synpunkter", [])),
        underskrifter=signatures,
        bilagor=_bilagor(by_key.get("bilagor", [])),
        beslutsmening=beslutsmening,
        namnd=namnd,
        justeras_omedelbart=justeras,
    )


# --- Summary -------------------------------------------------------------------------------------

_ABBREVIATIONS = {
    "t.ex",
    "bl.a",
    "m.m",
    "s.k",
    "dvs",
    "d.v.s",
    "ca",
    "nr",
    "kap",
    "jfr",
    "resp",
    "p.g.a",
    "pga",
    "o.s.v",
    "osv",
    "f.d",
    "fr.o.m",
    "t.o.m",
    "m.fl",
    "st",
    "tf",
}


def _sentence_ends(text: str, limit: int | None = None) -> list[int]:
    """Offsets just after each sentence end ("." "!" "?" before a capital, or the text's end),
    up to `limit`."""
    ends = []
    for match in re.finditer(r"[.!?]+[)”\"']?(?=\s+[A-ZÅÄÖÉ0-9„”\"(]|\s*$)", text):
        if limit is not None and match.end() > limit:
            break
        # The word before the stop, found by walking back: a regex over the whole text
        # before each stop made long texts quadratic (minutes for 300 long answers).
        start = match.start()
        while start > 0 and not text[start - 1].isspace():
            start -= 1
        token = text[start : match.start()].casefold().rstrip(".")
        if match.group(0).startswith(".") and token in _ABBREVIATIONS:
            continue
        ends.append(match.end())
    return ends


def _split_sentences(text: str) -> list[str]:
    out, start = [], 0
    for end in _sentence_ends(text):
        out.append(text[start:end])
        start = end
    if text[start:].strip():
        out.append(text[start:])
    return out


def summary_for_report(tu: Tjansteutlatande, max_chars: int = 1200) -> str | None:
    """The Sammanfattning, or else the first paragraph of the synpunkter, cut after a sentence.

    The result is at most max_chars long: whole sentences where the first one fits, else the
    first sentence cut at a word and ended with "…". The sentence that states the stance
    (the first one with a position in it: "Förvaltningen avstyrker motionen.") is never
    dropped: when the cut falls before it, sentences before it make room for it, and when
    the Sammanfattning has none, the synpunkter's stance sentence follows as a paragraph.
    """
    # reading builds on this module; the position rules live there.
    from remiss.report.reading import position_of

    text = tu.sammanfattning
    if not text and tu.synpunkter:
        text = tu.synpunkter.split("\n\n")[0]
    if not text:
        return None
    text = text.strip()
    pieces = _split_sentences(text)
    stance_index = next((i for i, p in enumerate(pieces) if position_of(p)), None)
    extra: str | None = None
    if stance_index is None and tu.synpunkter:
        extra = next(
            (
                " ".join(p.split())
                for p in _split_sentences(" ".join(tu.synpunkter.split()))
                if position_of(p)
            ),
            None,
        )
        if extra is not None and extra in " ".join(text.split()):
            extra = None
    budget = max_chars - (len(extra) + 2 if extra else 0)
    if len(text) <= budget:
        return f"{text}\n\n{extra}" if extra else text
    fitting = _sentence_ends(text, limit=max(budget, 0))
    if stance_index is not None and (not fitting or len(fitting) <= stance_index):
        # The cut falls before the stance: keep the sentences before it that fit with it.
        stance = pieces[stance_index]
        kept: list[str] = []
        room = budget - len(stance.strip())
        for piece in pieces[:stance_index]:
            if len(piece) > room:
                break
            kept.append(piece)
            room -= len(piece)
        # Adjacent pieces keep the text's own spacing (a space or a paragraph break).
        if len(kept) < stance_index:
            stance = " " + stance.lstrip()
        return ("".join(kept) + stance).strip()
    if fitting:
        cut = text[: fitting[-1]].rstrip()
    else:
        cut = text[: max(budget - 1, 0)]
        if " " in cut:
            cut = cut[: cut.rfind(" ")]
        cut = cut.rstrip(" ,;:") + "…"
    return f"{cut}\n\n{extra}" if extra else cut


# The line, paragraph and sentence tools, for `remiss.report.reading`.
clean_lines = _clean_lines
reflow = _reflow
sentence_ends = _sentence_ends
