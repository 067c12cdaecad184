"""The att-satser and motionärer of a motion, read from its text, as a suggestion.

A Swedish motion ends with its proposals, introduced by a sentence such as "Vi föreslår
att kommunfullmäktige beslutar" or "Jag föreslår kommunfullmäktige besluta", then one
line per proposal ("att ...", "1. att ...", "1) ..."), and is signed "Namn (Parti)"; the
motionärer are usually also named at the top ("Motion av Namn (M) och Namn (L)"). The
handläggare confirms what is found: nothing here is used without them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_TEXT = 60_000  # characters read: a motion is a few pages
MAX_ITEMS = 30
_EDGE = 1_000  # where motionärer are looked for: the top and the end of the text

# "föreslår/yrkar/föreslås ... (kommun)fullmäktige ... beslut(a|ar)" within one sentence.
_INTRO = re.compile(
    r"(föreslår|föreslås|yrkar|yrkande)[^.:!?]{0,120}?"
    r"(kommunfullmäktige|fullmäktige|regionfullmäktige|kf\b)[^.:!?]{0,60}?"
    r"(besluta[rs]?|beslutar|följande)\b[^\n]*",
    re.IGNORECASE,
)
_ITEM = re.compile(
    r"^\s*(?:(?:\d{1,2}|[a-h])\s*[.):]|[•\-–—*·])?\s*(?P<att>att\b)?\s*(?P<text>.*)$",
    re.IGNORECASE,
)
_NUMBERED = re.compile(r"^\s*(?:(?:\d{1,2}|[a-h])\s*[.):]|[•\-–—*·])\s*\S")
_ATT_START = re.compile(r"^\s*(?:(?:\d{1,2}|[a-h])\s*[.):]|[•\-–—*·])?\s*att\s+\S", re.IGNORECASE)
_PARTIES = r"S|M|SD|C|V|KD|L|MP|FP|FI|Fi|[A-ZÅÄÖ]{2,6}"
# A name may break over a line ("Nike\nÖrbrink (KD)"); a heading word caught before it is
# dropped (see _NOT_NAMES).
_NAME = r"[A-ZÅÄÖÉ][a-zåäöéüèáëï]+(?:(?:-|[ \t]*\n?[ \t]*)[A-ZÅÄÖÉ][a-zåäöéüèáëï]+){1,3}"
_NOT_NAMES = frozenset(
    {
        "Motion",
        "Motionen",
        "Motionärerna",
        "Sammanfattning",
        "Bakgrund",
        "Ärendet",
        "Förslag",
        "Yrkande",
        "Beslut",
        "Reservation",
        "Reservationer",
        "Propositioner",
        "Överläggning",
        "Ordföranden",
        "Av",
        "Och",
        "Från",
        "Till",
    }
)
_PERSON = re.compile(rf"(?P<namn>{_NAME})\s*\((?P<parti>{_PARTIES})\)")
# Where a proposals list ends: a place and date, a signature, a new heading.
_STOP = re.compile(
    r"^\s*(stockholm|göteborg|malmö|uppsala|huddinge|[a-zåäö]+\s+(den|i)\s+\d|\d{4}-\d{2}-\d{2}"
    r"|bilag|underskrift|ärendets beredning|bakgrund|beslutsunderlag|förvaltningens)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Suggestion:
    att_satser: tuple[str, ...]
    motionarer: tuple[tuple[str, str], ...]  # (namn, parti)

    def __bool__(self) -> bool:
        return bool(self.att_satser or self.motionarer)


def suggest(text: str) -> Suggestion:
    """What the text's last proposals list and its signatures say, or an empty Suggestion."""
    text = text[:MAX_TEXT].replace("\f", "\n")
    items, end = att_satser_at(text)
    return Suggestion(att_satser=tuple(items), motionarer=tuple(motionarer(text, end)))


def _clean(item: str) -> str:
    item = " ".join(item.split())
    item = re.sub(r"(?:,|;|\s+samt|\s+och)\s*$", "", item).rstrip(" .")
    if not item:
        return ""
    if not re.match(r"att\b", item, re.IGNORECASE):
        item = "att " + item[0].lower() + item[1:]
    return "att" + item[3:]


def att_satser(text: str) -> list[str]:
    return att_satser_at(text)[0]


def att_satser_at(text: str) -> tuple[list[str], int | None]:
    """The proposals and where the list ends (the signatures follow), or ([], None)."""
    intros = list(_INTRO.finditer(text))
    for intro in reversed(intros):  # the proposals close the motion: try the last first
        found, end = _items_after(text, intro.end(), intro.group(0))
        if found:
            return found, end
    return [], None


def _items_after(text: str, start: int, intro: str) -> tuple[list[str], int]:
    """The proposals following an intro line: each begins with "att" or a number/bullet."""
    items: list[str] = []
    current: list[str] = []
    blank_run = 0
    # "... beslutar att" followed by numbered items without "att" of their own.
    intro_ends_with_att = bool(re.search(r"\batt\s*:?\s*$", intro, re.IGNORECASE))
    position = start
    end = start
    for line in text[start:].split("\n"):
        line_start, position = position, position + len(line) + 1
        stripped = line.strip()
        if not stripped:
            blank_run += 1
            if blank_run >= 2 and items:
                break
            continue
        is_new = bool(_ATT_START.match(stripped)) or (
            intro_ends_with_att and bool(_NUMBERED.match(stripped))
        )
        if is_new:
            if current:
                items.append(_clean(" ".join(current)))
            match = _ITEM.match(stripped)
            body = match.group("text") if match else stripped
            current = [("att " if match and match.group("att") else "") + body]
            blank_run = 0
            end = position
            if len(items) >= MAX_ITEMS:
                break
            continue
        if _STOP.match(stripped) or _PERSON.search(stripped):
            break
        if current and blank_run == 0:
            current.append(stripped)  # the proposal goes on on the next line
            end = position
            continue
        if current or items:
            break
        return [], line_start  # prose follows the intro, not a list
    if current:
        items.append(_clean(" ".join(current)))
    return [i for i in items if len(i) > len("att ")], end


def motionarer(text: str, proposals_end: int | None = None) -> list[tuple[str, str]]:
    """Names with a party at the top and after the proposals (the signatures), in order,
    once each; the end of the text when no proposals were found."""
    tail = text[proposals_end:][:_EDGE] if proposals_end is not None else text[-_EDGE:]
    seen: dict[str, str] = {}
    edges = text[:_EDGE] + "\n" + tail
    for match in _PERSON.finditer(edges):
        raw = match.group("namn")
        if "\n" in raw and (match.start() == 0 or edges[match.start() - 1] == "\n"):
            # A word alone on the line above (a heading) is not the start of the name.
            raw = raw.split("\n", 1)[1]
        words = raw.split()
        while words and words[0] in _NOT_NAMES:
            words = words[1:]
        if len(words) < 2:
            continue
        name = " ".join(words)
        if name.endswith("s") and name[:-1] in seen:
            continue  # "Bo Källströms (L) yrkande": the genitive of a name already found
        seen.setdefault(name, match.group("parti").upper())
    return list(seen.items())
