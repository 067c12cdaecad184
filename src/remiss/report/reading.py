"""What a remissvar says: its position, its diarienummer, the decision and the view, each with
the sentence it was read from.

A remissvar reaches us as a tjänsteutlåtande (a proposal the nämnd will decide on), a
protokollsutdrag (the decision, often after yrkanden, proposition and reservationer), a
whole protocol with many items, or a letter. The text comes from `remiss.report.extract`:
with line breaks and pages ("\\f"), or - as many PDFs give it - as one long run. The reading
works in five steps, each by rules that can be checked by eye:

1. **Lines.** Page headers, footers and page numbers go (`tjansteutlatande.clean_lines`);
   the protocol's "Justerandes signatur / Utdragsbestyrkande" boxes go; a long line is cut
   before every heading found inside it ("... remissen. Förslag till beslut Nämnden ...").
2. **Items.** A line that starts with "§ 45" starts an item. With several items, the one
   about this remiss is chosen: by the case's diarienummer, then its title, then the item
   that reads like a remissvar.
3. **Sections.** Headings split the item: proposals ("Förslag till beslut", "Arbetsutskottets
   förslag"), the decision ("Beslut", "Socialnämndens beslut"), the protocol's own parts
   ("Yrkanden", "Proposition", "Reservation", "Särskilt uttalande", "Justering" ...), which
   end the section before them, and the tjänsteutlåtande's body (Sammanfattning,
   Förvaltningens synpunkter, Bedömning ...).
4. **Sentences.** The decision sentence is the first sentence of the decision (else the
   proposal) with a decision formula in it; the position is read from it, or - when it only
   hands over the förvaltning's text ("godkänner förvaltningens tjänsteutlåtande som svar",
   "antar förvaltningens förslag till yttrande") - from the stance sentences of the body.
5. **Header facts.** The meeting date from the header's label (also on the next line),
   the § of the item, *justeras omedelbart* per item (False on a protocol without it, None
   on an agenda or a letter), and the title: the item's own heading, else the line that
   reads most like a title.

`view_in_voice` rewrites the stance sentences with the body as subject ("Förvaltningen anser
att" -> "Utbildningsnämnden anser att") and `view_for_report` gives what a report shows.

Pure: no I/O. `read_document` never raises on odd input; what it cannot find is None.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from remiss.core import language
from remiss.report.extract import normalise_text
from remiss.report.tjansteutlatande import clean_lines, reflow, sentence_ends

__all__ = [
    "POSITIONS",
    "Found",
    "Reading",
    "position_of",
    "read_document",
    "reading_as_json",
    "reading_from_json",
    "sentences",
    "view_for_report",
    "view_in_voice",
]

T = TypeVar("T")

POSITIONS = (
    "tillstyrker",
    "tillstyrker_delvis",
    "avstyrker",
    "inga_synpunkter",
    "besvarad",
    "avstar",
)
TITLE_MAX = 200


@dataclass(frozen=True)
class Found(Generic[T]):
    """A value read from a document and the sentence (whitespace-normalised) it came from."""

    value: T
    sentence: str


@dataclass(frozen=True)
class Reading:
    """What a document says; a part it does not say is None (or ())."""

    position: Found[str] | None
    dnr: Found[str] | None
    decision_date: Found[dt.date] | None
    paragraph: Found[str] | None
    decision_sentence: str | None
    reservationer: Found[str] | None
    sarskilda_uttalanden: Found[str] | None
    justeras_omedelbart: bool | None
    title: str | None
    stance: tuple[str, ...]
    readable: bool


# Raised whenever read_document finds something different in a text than before: a
# reading stored under another version is read again.
READING_VERSION = 1

_FOUND = ("position", "dnr", "decision_date", "paragraph", "reservationer", "sarskilda_uttalanden")


def reading_as_json(reading: Reading) -> dict[str, Any]:
    """The reading as JSON, to be stored beside the text it was read from."""
    data = dataclasses.asdict(reading)
    if reading.decision_date is not None:
        data["decision_date"]["value"] = reading.decision_date.value.isoformat()
    data["stance"] = list(reading.stance)
    return data


def reading_from_json(data: dict[str, Any]) -> Reading:
    values = dict(data)
    for name in _FOUND:
        if values[name] is not None:
            value, sentence = values[name]["value"], values[name]["sentence"]
            if name == "decision_date":
                value = dt.date.fromisoformat(value)
            values[name] = Found(value, sentence)
    values["stance"] = tuple(values["stance"])
    return Reading(**values)


_UNREADABLE = Reading(
    position=None,
    dnr=None,
    decision_date=None,
    paragraph=None,
    decision_sentence=None,
    reservationer=None,
    sarskilda_uttalanden=None,
    justeras_omedelbart=None,
    title=None,
    stance=(),
    readable=False,
)

# A scan gives empty pages or a few stray characters (a stamp, a page number).
_MIN_LETTERS = 40


# --- Headings ------------------------------------------------------------------------------------

# A word in the genitive that owns a heading: "Förvaltningens", "Socialnämndens",
# "Kommunstyrelsens arbetsutskotts".
_OWN = r"[\wåäöÅÄÖé-]+s"
_BODY_NOUN = (
    r"(?:nämnd(?:en)?|styrelsen|fullmäktige|utskottet|beredningen|rådet|direktionen|"
    r"förvaltningen|kontoret|förbundet|bolaget)"
)
# Keys and their heading patterns, tried in this order on the casefolded heading text.
_SECTIONS: tuple[tuple[str, str], ...] = (
    (
        "synpunkter",
        rf"(?:{_OWN}\s+|mina\s+|våra\s+)?synpunkter(?:\s+och\s+förslag)?(?:\s+på\s+[\w\s]+)?"
        rf"|(?:{_OWN}\s+)?(?:sammanfattande\s+)?(?:bedömning|överväganden|ställningstagande"
        r"|slutsats(?:er)?|analys|kommentarer)(?:\s+och\s+förslag)?"
        rf"|{_OWN}\s+yttrande|yttrande|remissvar|remissyttrande",
    ),
    (
        "forslag",
        rf"(?:{_OWN}\s+)?(?:förslag\s+till\s+(?:{_OWN}\s+)?beslut(?:\s+till\s+[\w-]+)?|"
        rf"beslutsförslag)|(?:{_OWN}\s+){{1,2}}förslag(?:\s+till\s+[\w-]+)?"
        r"|förslag\s+till\s+[\w-]+s\s+beslut|föreslaget\s+beslut"
        rf"|{_OWN}\s+förslag\s+till\s+[\w-]+\s+(?:för|och)\s+.{{0,60}}",
    ),
    (
        "beslut",
        rf"beslut|(?:{_OWN}\s+){{1,2}}beslut|beslutet|[\w-]*{_BODY_NOUN}\s+beslut(?:ar|ade)"
        r"|beslut\s*[–-]\s*förslag\s+till\s+[\w-]+",
    ),
    ("yrkanden", r"yrkanden?(?:\s+och\s+[\w\s]+)?|förslag\s+och\s+yrkanden"),
    (
        "proposition",
        r"propositionsordning|proposition(?:er)?|beslutsgång|överläggning(?:\s+och\s+[\w\s]+)?"
        r"|omröstning(?:sresultat)?|ajournering|debatt|votering",
    ),
    ("reservation", r"reservation(?:er)?"),
    ("sarskilt", r"särskil(?:t|da)\s+(?:uttalanden?|yttranden?)"),
    ("anteckning", r"protokollsanteckning(?:ar)?|anteckning(?:ar)?\s+till\s+protokollet"),
    ("justering", r"justering|omedelbar\s+justering|justeras\s+omedelbart|justerare"),
    (
        "expediering",
        r"(?:beslutet\s+)?(?:skickas|expedieras|sänds)\s+till|expediering|för\s+kännedom"
        r"|beslutet\s+ska\s+skickas\s+till|protokollsutdrag\s+till|sändlista|utdrag\s+till",
    ),
    ("sammanfattning", r"sammanfattning(?:\s+av\s+ärendet)?|ärendet\s+i\s+korthet"),
    ("bakgrund", r"bakgrund(?:\s+till\s+ärendet)?"),
    (
        "arendet",
        r"ärendet|ärendebeskrivning|beskrivning\s+av\s+ärendet|remissens\s+innehåll"
        r"|ärendets\s+beredning|beredning(?:\s+av\s+ärendet)?|inledning|remissen",
    ),
    ("underlag", r"beslutsunderlag|handlingar(?:\s+i\s+ärendet)?|underlag(?:\s+för\s+beslut)?"),
    ("bilagor", r"bilag(?:a|or)"),
)
_SECTION_RES = tuple((key, re.compile(pattern)) for key, pattern in _SECTIONS)
# Sections whose sentences are the body's view, best first.
_STANCE_KEYS = ("synpunkter", "sammanfattning", "arendet", "none")
_DECISION_KEYS = ("beslut", "forslag")

# Headings as they stand inside a long run of text: a capital, the heading words, then a
# capital, a digit or a list mark (the sentence after the heading).
_INLINE_HEADING = re.compile(
    r"(?<![\w,])(?P<h>"
    r"Beslut\s*[–-]\s*[Ff]örslag\s+till\s+[a-zåäö-]+|"
    r"(?:[A-ZÅÄÖ][\wåäö-]{0,40}s\s+(?:[\wåäö-]{1,40}s\s+)?)?(?:[Ff]örslag\s+till\s+(?:[\wåäö-]+s\s+)?beslut"
    r"(?:\s+till\s+[a-zåäö]+)?|[Ss]ynpunkter(?:\s+och\s+förslag)?|[Bb]edömning|[Bb]eslut"
    r"|[Ff]örslag)"
    r"|Förslag till beslut|Beslutsförslag|Mina synpunkter"
    r"|Sammanfattning(?:\s+av\s+ärendet)?|Bakgrund"
    r"|Beslutsunderlag|Ärendebeskrivning|Beskrivning av ärendet|Ärendet|Ärendets beredning"
    r"|Yrkanden?|Propositionsordning|Proposition|Beslutsgång|Överläggning|Omröstning"
    r"|Reservation(?:er)?|Särskil(?:t|da) (?:uttalanden?|yttranden?)|Protokollsanteckning(?:ar)?"
    r"|Beslutet skickas till|Skickas till|Expedieras till|Expediering|Bilagor|Bilaga"
    r"|Justering|Omedelbar justering|Beslut|Handlingar"
    r")(?::\s*|\s+)(?=[A-ZÅÄÖ0-9§•–]|$)"
)
_MAX_HEADING = 90


def _section_key(heading: str) -> str | None:
    candidate = " ".join(heading.split()).rstrip(":.").strip()
    candidate = re.sub(r"^(?:\d{1,2}(?:\.\d{1,2})*\.?|[A-Z]\.)\s+", "", candidate).casefold()
    for key, pattern in _SECTION_RES:
        if pattern.fullmatch(candidate):
            return key
    return None


# --- Lines ---------------------------------------------------------------------------------------

# The boxes a protocol prints on every page, often run into the text.
_PROTOCOL_BOXES = re.compile(
    r"\b(?:Justerandes\s+sign(?:atur|\.)?|Justerarsignatur(?:er)?|Justerare\s+sign\.?"
    r"|Ordförandes\s+sign(?:atur|\.)?|Sekreterarens\s+sign\.?|Utdragsbestyrkande"
    r"|Justerandes\s+signaturer)\b",
    re.IGNORECASE,
)
_ITEM_START = re.compile(
    r"^(?:[A-ZÅÄÖ]{1,5}\s+)?§\s*(?P<n>\d{1,4})(?:\s*/\s*\d{2,4})?(?![\d§])[.:]?\s*(?P<rest>.*)$"
)
# An agenda item numbered without "§": "3 Svar på remiss ...", "5. Remiss från ...", "2.1.10. ...".
_NUMBERED_ITEM = re.compile(r"^(?P<n>\d{1,2}(?:\.\d{1,2}){0,2}\.?)\s+(?P<rest>[A-ZÅÄÖ].*)$")
# "2.1.10.": a number of several levels is the item's own number in the body's list of cases,
# a plain "3" or "5." only its place on the day's agenda.
_CASE_NUMBER = re.compile(r"\d{1,2}(?:\.\d{1,2}){1,2}\.?")
_INLINE_ITEM = re.compile(
    r"(?<=[.!?:)]\s)(?=§\s*\d{1,4}(?:/\d{2,4})?\s+[A-ZÅÄÖ])"
    # A page header or a list of paragraphs run together: "... Datum 2025-01-23  § 7  Dnr",
    # "... måltidsvän  § 70/20 Remissvar ..." (two spaces stand for a lost line break); never
    # a law's "6 kap. § 37".
    r"|(?<=\s\s)(?<!kap\.\s\s)(?=§\s*\d{1,4}(?:/\d{2,4})?\s+[A-ZÅÄÖ])"
    # An agenda run together: "... 6 Detaljplan för kv X Remiss från Y  Dnr: 302-260-04 ...".
    r"|(?<=\s)(?=\d{1,2}\s+[A-ZÅÄÖ][^.]{3,200}?\s+Dnr\s*[:.]?\s*\d)"
)


_SIDA_INSIDE = re.compile(r"\b(?:Sida|SIDA|sida)\s+\d{1,4}\s*(?:\(\s*\d{1,4}\s*\)|av\s+\d{1,4})")


def _lines(text: str) -> list[str]:
    text = _PROTOCOL_BOXES.sub(" ", text)
    # In a run without line breaks the page marks are inside the text.
    text = "\n".join(
        _SIDA_INSIDE.sub(" ", line) if len(line) > 200 else line for line in text.split("\n")
    )
    out: list[str] = []
    for line in clean_lines(text):
        if len(line) > 200:
            out.extend(_split_long(line))
        else:
            out.extend(_split_prefix(line))
    return out


def _split_long(line: str) -> list[str]:
    """A run of text cut before each item mark and heading inside it."""
    pieces: list[str] = []
    for part in _INLINE_ITEM.split(line):
        start = 0
        for match in _INLINE_HEADING.finditer(part):
            if _section_key(match.group("h")) is None:
                continue
            before = part[start : match.start()].strip()
            if before:
                pieces.append(before)
            pieces.append(match.group("h").strip())
            start = match.end()
        rest = part[start:].strip()
        if rest:
            pieces.append(rest)
        pieces.append("")
    return pieces


def _split_prefix(line: str) -> list[str]:
    """'Beslut: Nämnden tillstyrker ...' -> the heading and the text on lines of their own."""
    if not line or _section_key(line) is not None:
        return [line]
    match = _INLINE_HEADING.match(line)
    if match and _section_key(match.group("h")) is not None and match.end() < len(line):
        rest = line[match.end() :].strip()
        # "Beslut om ..." is a sentence, but the lookahead already wants a capital after it;
        # "Bakgrund Stockholm ..." in a short line is more likely a name than a heading.
        if line[match.end() - 1 : match.end()] == ":" or len(line) > 80:
            return [match.group("h").strip(), rest]
    return [line]


# --- Items of an agenda --------------------------------------------------------------------------


@dataclass
class _Item:
    number: str | None
    lines: list[str]
    label: str | None = None  # an agenda item's number as printed ("2.1.10.")

    @property
    def heading(self) -> str:
        return next((line for line in self.lines if line), "")

    def text(self) -> str:
        return reflow([line for line in self.lines if line])


def _items(lines: list[str]) -> tuple[list[str], list[_Item]]:
    """The lines before the first "§ N" and the items; one item per number, in order."""
    preamble: list[str] = []
    items: list[_Item] = []
    for line in lines:
        match = _ITEM_START.match(line) if "§" in line[:8] else None
        if match and not line.startswith("§§"):
            number = match.group("n")
            if items and items[-1].number == number:
                # The same § again: a running header on the next page.
                rest = match.group("rest")
                if rest:
                    items[-1].lines.append(rest)
                continue
            items.append(_Item(number, [match.group("rest")] if match.group("rest") else []))
            continue
        (items[-1].lines if items else preamble).append(line)
    return preamble, items


def _numbered_items(lines: list[str]) -> list[_Item]:
    items: list[_Item] = []
    for line in lines:
        match = _NUMBERED_ITEM.match(line)
        if match:
            items.append(_Item(None, [match.group("rest")], match.group("n")))
        elif items:
            items[-1].lines.append(line)
    return items


def _names_case(item: _Item, case_dnr: str | None, case_title: str | None) -> bool:
    """The item's first lines carry the case's diarienummer or most of its title."""
    head_lines: list[str] = []
    for line in item.lines[:8]:
        if line and _section_key(line) is not None:
            break
        if line:
            head_lines.append(line)
    head = " ".join(head_lines[:4])
    if case_dnr and (
        _dnr_key(case_dnr) in _dnr_key(head)
        or any(_dnr_core(m) == _dnr_core(case_dnr) for m in _DNR_ANY.findall(head))
    ):
        return True
    words = _words(case_title or "")
    return bool(words) and len(words & _words(head)) >= 0.5 * len(words)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[\wåäö]{4,}", text.casefold())}


def _dnr_key(dnr: str) -> str:
    return re.sub(r"[^0-9a-zåäö]", "", dnr.casefold())


def _dnr_core(dnr: str) -> str:
    """The numbers of a diarienummer: 'KS 2022/123' and 'KS-2022-0123' share '2022 123'."""
    return " ".join(str(int(n)) for n in re.findall(r"\d+", dnr))


_REMISS_WORDS = re.compile(
    r"\b(?:remiss\w*|yttrande\w*|motion\w*|medborgarförslag\w*|svar\s+på|betänkande\w*)",
    re.IGNORECASE,
)


def _choose_item(
    items: list[_Item], case_dnr: str | None, case_title: str | None, *, least: float = 0.0
) -> _Item | None:
    """The item about this remiss, or None when the items are not an agenda to choose from
    (or none scores at least `least`)."""
    substantial = [item for item in items if len(item.text()) >= 120]
    if len(substantial) <= 1 and not least:
        return substantial[0] if substantial else None
    scores: list[tuple[float, int, _Item]] = []
    title_words = _words(case_title or "")
    for index, item in enumerate(substantial):
        text = item.text()
        head = reflow([line for line in item.lines[:6] if line])
        score = 0.0
        if case_dnr:
            key, core = _dnr_key(case_dnr), _dnr_core(case_dnr)
            if key and key in _dnr_key(text):
                score += 100
            elif core and any(_dnr_core(m) == core for m in _DNR_ANY.findall(text)):
                score += 80
        if title_words:
            overlap = len(title_words & _words(head)) / len(title_words)
            score += 60 * overlap + 20 * len(title_words & _words(text)) / len(title_words)
        if _REMISS_WORDS.search(head):
            score += 10
        if position_of(text) is not None:
            score += 5
        scores.append((score, -index, item))
    if not scores:
        return None
    scores.sort(key=lambda s: (s[0], s[1]), reverse=True)
    return scores[0][2] if scores[0][0] >= least else None


# --- Sections and sentences ----------------------------------------------------------------------


def _sections(lines: Sequence[str]) -> list[tuple[str, list[str]]]:
    """The lines under each heading, in order; text before the first heading is 'none'."""
    sections: list[tuple[str, list[str]]] = [("none", [])]
    skip = -1
    for i, line in enumerate(lines):
        if i == skip:
            continue
        key = None
        if line and len(line) <= _MAX_HEADING:
            previous = lines[i - 1] if i else ""
            if not re.search(r"[,\-‐]$", previous):
                key = _section_key(line)
                # "Beslut" at the start of a wrapped sentence is no heading.
                following = next((x for x in lines[i + 1 :] if x), "")
                if key is not None and re.match(r"[a-zåäö]", following) and ":" not in line:
                    key = None
                    # A heading wrapped onto a second line ("... förslag till" +
                    # "kommunfullmäktige") is a heading still.
                    if (
                        i + 1 < len(lines)
                        and lines[i + 1] == following
                        and len(following.split()) <= 2
                        and not following.rstrip().endswith(".")
                    ):
                        key = _section_key(f"{line} {following}")
                        if key is not None:
                            skip = i + 1
        if key is not None:
            sections.append((key, []))
            # A heading line that also states the decision ("Kommunstyrelsen beslutade:").
            if key == "beslut" and re.search(r"beslut(?:ar|ade)", line, re.IGNORECASE):
                sections[-1][1].append(line)
        else:
            sections[-1][1].append(line)
    return [(key, body) for key, body in sections if any(body) or key != "none"]


_LIST_MARK = re.compile(r"(?:^|(?<=\s))(?:\d{1,2}\s*[.)]|[a-h]\)|[•●▪◦■–*−-])\s+(?=\S)")


def sentences(text: str) -> list[str]:
    """The sentences of a text, whitespace-normalised; list items end a sentence too."""
    text = " ".join(text.split())
    if not text:
        return []
    out: list[str] = []
    start = 0
    for end in sentence_ends(text):
        piece = text[start:end].strip()
        if piece:
            out.extend(_split_lost_stops(piece))
        start = end
    if text[start:].strip():
        out.extend(_split_lost_stops(text[start:].strip()))
    return out


# A sentence whose full stop was lost in extraction (often with the year before it: "senast
# den 29 januari Arboga kommun tillstyrker ..."): a lower-case word or a number, then a body
# or a speaker with a capital and the verb of a view. Not after a word that starts a clause
# ("att Arboga kommun tillstyrker") or a preposition.
_LOST_STOP = re.compile(
    r"(?<=[a-zåäö0-9)])\s+(?=(?:[A-ZÅÄÖ][\wåäö-]+\s+(?:kommun|stad|region|landsting)"
    r"|[A-ZÅÄÖ][\wåäö-]*(?:nämnden|styrelsen|förvaltningen|kontoret)|Kommunen|Regionen)"
    r"\s+(?:tillstyrker|avstyrker|anser|bedömer|menar|föreslår|ställer|ser|delar|instämmer"
    r"|välkomnar|beslutade|beslutar|konstaterar|avstår)\b)"
)
_CLAUSE_WORDS = frozenset(
    [
        "att",
        "och",
        "som",
        "eller",
        "där",
        "när",
        "om",
        "då",
        "eftersom",
        "men",
        "samt",
        "även",
        "också",
        "dock",
        "hur",
        "innan",
        "efter",
        "så",
        "varför",
        "vilket",
        "vad",
        "både",
        "varken",
        "enligt",
        "hos",
        "av",
        "för",
        "med",
        "på",
        "till",
        "från",
        "i",
        "mot",
        "mellan",
        "utan",
        "medan",
        "fast",
        "trots",
        "vid",
        "under",
        "över",
    ]
)


def _split_lost_stops(sentence: str) -> list[str]:
    out: list[str] = []
    start = 0
    for match in _LOST_STOP.finditer(sentence):
        before = sentence[start : match.start()].split()
        if len(before) < 3 or before[-1].casefold() in _CLAUSE_WORDS:
            continue
        out.append(sentence[start : match.start()].strip())
        start = match.end()
    out.append(sentence[start:].strip())
    return [piece for piece in out if piece]


def _paragraph_texts(lines: Sequence[str]) -> list[str]:
    groups: list[list[str]] = [[]]
    for line in lines:
        if line:
            groups[-1].append(line)
        elif groups[-1]:
            groups.append([])
    return [reflow(g) for g in groups if g]


def _clauses(lines: Sequence[str]) -> list[str]:
    """Sentences of a decision or proposal, each list item with the words that introduce it
    ("Nämnden beslutar att" + "1. tillstyrka motionen")."""
    text = " ".join(_paragraph_texts(lines))
    parts = [p.strip() for p in _LIST_MARK.split(text)]
    parts = [p for p in parts if p]
    if len(parts) <= 1:
        return sentences(parts[0] if parts else text)
    intro = parts[0]
    out: list[str] = []
    intro_sentences = sentences(intro)
    lead = intro_sentences[-1] if intro_sentences else ""
    introduces = bool(re.search(r"(?:\batt|:|beslut(?:a|ar|ade)|föreslår|följande\.?)$", lead))
    if not introduces:
        out.extend(intro_sentences)
    else:
        out.extend(intro_sentences[:-1])
    for part in parts[1:]:
        for index, sentence in enumerate(sentences(part)):
            if introduces and index == 0:
                out.append(f"{lead.rstrip(':')} {sentence}")
            else:
                out.append(sentence)
    return out


# --- Position ------------------------------------------------------------------------------------

_NOT = r"(?:inte|ej|icke)"
_OBJECT = (
    r"(?:motionen|medborgarförslaget|förslaget|förslagen|skrivelsen|remissen|e-förslaget"
    r"|initiativet|framställningen|promemorian|betänkandet|utredningen|rapporten)"
)
_POSITION_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (key, re.compile(pattern, re.IGNORECASE))
    for key, pattern in (
        (
            "avstar",
            r"\bavstå(?:r|tt|)\s+(?:från\s+)?(?:att\s+)?(?:yttra|lämna|avge|svara|ge\s+"
            r"synpunkter)|\bavböj(?:er|a|de)\s+(?:att\s+)?(?:yttra|svara|besvara)"
            r"|\bavstår\s+från\s+yttrande",
        ),
        (
            "besvarad",
            r"\b(?:anse[sr]?|anses?)\s+(?:(?:därmed|härmed|vara)\s+)*"
            rf"(?:{_OBJECT}\s+)?(?:vara\s+|som\s+)?besvarad"
            rf"|\b{_OBJECT}\s+(?:\S+\s+){{0,3}}(?:anses|är)\s+(?:därmed\s+)?(?:vara\s+)?besvarad"
            r"|\bbesvara[sd]?\s+(?:\S+\s+){0,3}med\s+hänvisning\s+till"
            r"|\bbesvarad\s+med\s+hänvisning",
        ),
        (
            "tillstyrker_delvis",
            r"\bdelvis\s+(?:tillstyrk|bifall|bifalla|tillstyrka|ställer?\s+sig\s+bakom)"
            r"|\btillstyrk\w*\s+(?:\S+\s+){0,4}delvis|\bbifall\w*\s+(?:\S+\s+){0,3}delvis"
            r"|\bdelvis\s+(?:positiv|instämmer|ställer)|\bi\s+delar\s+tillstyrk"
            # "instämmer i de flesta av förslagen med några få undantag"
            r"|\binstämmer\s+i\s+de\s+flesta\b|\binstämmer\s+(?:\S+\s+){0,8}?med\s+(?:några\s+"
            r"(?:få\s+)?|vissa\s+|ett\s+par\s+)?undantag",
        ),
        (
            "avstyrker",
            rf"\bavstyrk|\b{_NOT}\s+(?:kan\s+)?tillstyrk|\btillstyrk\w*\s+{_NOT}\b"
            rf"|\bavslå(?:r|s|)\b|\bavslag\s+(?:på|till)\s+{_OBJECT}"
            rf"|\b{_OBJECT}\s+(?:\S+\s+){{0,2}}avslås"
            r"|\bställ(?:er|a|de)\s+sig\s+(?:negativ|kritisk|tveksam)"
            r"|\b(?:kan|vill)\s+(?:inte|ej)\s+(?:ställa\s+sig\s+bakom|stödja|tillstyrka)"
            r"|\bmotsätter\s+sig",
        ),
        (
            "inga_synpunkter",
            r"\binga\s+(?:ytterligare\s+|särskilda\s+|egna\s+)?(?:synpunkter|invändningar|"
            r"erinringar|kommentarer)|\binget\s+(?:att\s+)?(?:invända|erinra|tillägga|anmärka)"
            r"|\bingen\s+erinran|\b(?:inte|ej)\s+(?:har\s+)?(?:något|några)\s+"
            r"(?:att\s+(?:invända|erinra)|synpunkter|invändningar)"
            r"|\blämnar\s+inga\s+synpunkter|\bvidtagen\s+åtgärd\s+godkänns"
            r"|\bnoterar\s+(?:informationen|remissen)",
        ),
        (
            "tillstyrker",
            rf"\btillstyrk|\bbifall(?:a|er|es|s|)\s+{_OBJECT}|\b{_OBJECT}\s+(?:\S+\s+){{0,2}}"
            r"bifalls|\bställ(?:er|a|de)\s+sig\s+(?:\S+\s+)?(?:positiv|bakom)|\bser\s+(?:\S+\s+)?"
            r"positivt\s+på|\bvälkomnar|\bstödjer\s+(?:förslag|motion|inriktning|intention)"
            r"|\bär\s+positiv\s+till|\bförordar\s+(?:\S+\s+){0,4}(?:enligt|i\s+enlighet\s+med)\s+"
            r"förslaget",
        ),
    )
)
# Decisions that hand over the förvaltning's text: the position is in that text.
_REFERRAL = re.compile(
    r"\b(?:godkänn\w*|överlämn\w*|ant(?:ar|a|as|ogs)|avge[rs]?|lämna[rs]?|skicka[rs]?"
    r"|besvara[rs]?|översänd\w*|fastställ\w*)\b[^.]{0,120}?"
    r"\b(?:tjänsteutlåtande\w*|tjänsteskrivelse\w*|yttrande\w*|remissvar\w*|remissyttrande\w*"
    r"|svar(?:et)?|skrivelse\w*|promemoria\w*|pm|förslag\s+till\s+(?:yttrande|svar))\b"
    r"|\bsom\s+(?:sitt\s+|eget\s+|nämndens\s+|styrelsens\s+)?(?:svar|yttrande)\s+(?:på|över|till)"
    r"|\bhänvisas\s+till\s+(?:vad\s+som\s+sägs|tjänsteutlåtande|promemorian)"
    r"|\bi\s+enlighet\s+med\s+(?:förvaltningens|kontorets|\S+s)\s+(?:förslag|yttrande)"
    r"|\bvidtagen\s+åtgärd\s+godkänns|\butan\s+(?:eget\s+)?ställningstagande",
    re.IGNORECASE,
)
# A sentence that states a decision (or proposes one), in any of the usual forms.
_DECISION_FORMULA = re.compile(
    r"\bbeslut(?:ar|ade|a|s)\b|\bbeslöt\b|\bföreslå[rs]?\b|\btillstyrk|\bavstyrk|\bavslå"
    r"|\bbifall|\bbesvara|\bavstå|\banse[rs]?\b|\bgodkänn|\böverlämn|\bantar\b|\bantas\b"
    r"|\banta\b|\bavge|\bhänvisas|\binga\s+synpunkter|\binget\s+att|\bnoterar",
    re.IGNORECASE,
)
# A decision only about the meeting's own business: never the decision sentence.
_PROCEDURAL = re.compile(
    r"^\s*(?:\d+\.\s*)?(?:[\wåäöÅÄÖ-]+\s+(?:beslutar|beslutade|föreslås\s+besluta)\s+att\s+)?"
    r"(?:justera[rs]?\s|paragrafen\s+justeras|ärendet\s+justeras|protokollet\s+justeras"
    r"|omedelbart\s+justera|lägga\s+informationen|informationen\s+(?:noteras|läggs)"
    r"|beslutet\s+skickas|skicka\s+beslutet)"
    # The vote, not the decision: "Ordföranden redovisar följande propositionsordning ...".
    r"|propositionsordning|\bja-röst|\bnej-röst|\byrka[rd]?\b|\byrkande|\bfinner\s+att",
    re.IGNORECASE,
)


def position_of(text: str) -> str | None:
    """The position a sentence states, by the first rule (in the order of POSITIONS' kinds
    of strength: avstår, besvarad, delvis, avstyrker, inga synpunkter, tillstyrker)."""
    for key, pattern in _POSITION_RULES:
        if pattern.search(text):
            return key
    return None


def _combined(found: Sequence[tuple[str, str]]) -> tuple[str, str] | None:
    """One position from several stance sentences: for and against make 'delvis'."""
    if not found:
        return None
    kinds = {kind for kind, _ in found}
    if "tillstyrker_delvis" in kinds:
        return next(f for f in found if f[0] == "tillstyrker_delvis")
    if "tillstyrker" in kinds and "avstyrker" in kinds:
        return "tillstyrker_delvis", next(s for k, s in found if k == "avstyrker")
    for kind in ("avstar", "besvarad", "avstyrker", "tillstyrker", "inga_synpunkter"):
        if kind in kinds:
            return next(f for f in found if f[0] == kind)
    return found[0]


# --- Diarienummer, dates, paragraph --------------------------------------------------------------

_DNR_VALUE = (
    r"(?:\d{1,5}-\d{4}-\d(?:\.\d{1,3}){1,4}"  # Stockholm SDN: 82-2013-1.5.1
    r"|\d(?:\.\d{1,3}){1,4}-\d{1,6}[-/]\d{2,4}"  # Stockholm: 1.2.3-456/2023, 1.5.1-135-2012
    r"|\d{4}/[A-ZÅÄÖ]{1,5}\s?\d{1,5}(?:\s\d{1,4})?"  # 2014/KS 0012 001
    r"|(?:[A-ZÅÄÖ][A-ZÅÄÖa-zåäö]{0,7}(?:\s?[-/]\s?|\s)?)?\d{2,4}\s?[/:.-]\s?\d{1,6}"
    r"(?:[-:./]\d{1,6})*(?:\s\d{3}(?![\d/-]))?"  # KS 2023/45, KS-2022-123, KS 00-370 109
    r")"
)
_DNR_LABEL = re.compile(
    r"(?<![\wåäö])(?P<label>(?:vårt\s+|vår\s+)?(?:dnr|diarienr|diarienummer|dnr\s*nr|"
    r"ärendenr|ärendenummer|ärende-?id|beteckning|referens|d\.nr|dnr\.)|vår\s+beteckning"
    r"|vår\s+referens)\s*[.:]?\s*(?P<value>" + _DNR_VALUE + r")(?![\w/])",
    re.IGNORECASE,
)
_DNR_ANY = re.compile(r"(?<![\w/.-])" + _DNR_VALUE + r"(?![\w/])")
_THEIRS = re.compile(
    r"(?:\ber(?:t|a)?|remittentens|kommunstyrelsens|ks)\s*$"
    # "Remiss från Kommunstyrelsen, dnr 316-259/2012": the sender's number.
    r"|\b(?:remiss|skrivelse|begäran)\s+från\s+[\wåäöÅÄÖ-]+(?:\s+[\wåäöÅÄÖ-]+)?\s*[,–-]\s*$",
    re.IGNORECASE,
)
_DATE_ISO = re.compile(r"\b(20\d{2}|19\d{2})-(\d{2})-(\d{2})\b")
_MONTHS = [
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
]
_DATE_WORDS = re.compile(r"\b(\d{1,2})\s+(" + "|".join(_MONTHS) + r")\s+(\d{4})\b", re.IGNORECASE)
_DATE_LABEL = re.compile(
    r"(?:sammanträdesdatum|sammanträdets\s+datum|mötesdatum|beslutsdatum|datum\s+för\s+beslut"
    r"|datum\s+för\s+sammanträde(?:t)?|sammanträde(?:t)?\s+(?:den|med\s+\S+\s+den)?"
    r"|utdrag\s+ur\s+protokoll\S*\s+(?:fört\s+)?(?:vid\s+)?(?:\S+\s+){0,4}?(?:den\s+)?"
    r"|protokoll(?:sutdrag)?\s+(?:från\s+)?(?:\S+\s+){0,3}?(?:den\s+)?"
    r"|beslutade(?:s)?\s+(?:den\s+)?|beslöt\s+(?:den\s+)?|sammanträdde\s+(?:den\s+)?"
    r"|beslut\s+i\s+[\wåäö]+\s+(?:den\s+)?|[A-ZÅÄÖ][\wåäö]{1,30}\s+den\s+(?=\d{1,2}\s+\w{3,9}\s+\d{4}\s+på\s))"
    r"\s*[:,]?\s*(?:\w+dagen\s+(?:den\s+)?)?",
    re.IGNORECASE,
)


def _date_at(text: str, pos: int) -> tuple[dt.date, int] | None:
    iso = _DATE_ISO.match(text, pos)
    try:
        if iso:
            return dt.date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3))), iso.end()
        words = _DATE_WORDS.match(text, pos)
        if words:
            month = _MONTHS.index(words.group(2).casefold()) + 1
            return dt.date(int(words.group(3)), month, int(words.group(1))), words.end()
    except ValueError:
        return None
    return None


def _sentence_around(text: str, start: int, end: int, width: int = 160) -> str:
    """The sentence around a match: from the last sentence end before it to the next."""
    stop = text.rfind(". ", 0, start)
    left = max(stop + 2 if stop != -1 else 0, text.rfind("\n", 0, start) + 1, start - width, 0)
    stops = [i for i in (text.find(". ", end), text.find("\n", end)) if i != -1]
    right = min([*stops, end + width, len(text)])
    if right < len(text) and text[right] == ".":
        right += 1
    return " ".join(text[left:right].split())


def _find_dnr(
    texts: Iterable[str], case_dnr: str | None, *, item_first: bool = False
) -> Found[str] | None:
    """The first labelled diarienummer that is not the remittent's; with `item_first`, the
    first text is an agenda item, whose number is its own even when it is the case's."""
    case_key = _dnr_key(case_dnr) if case_dnr else None
    case_core = _dnr_core(case_dnr) if case_dnr else None
    fallback: Found[str] | None = None
    for index, text in enumerate(texts):
        for match in _DNR_LABEL.finditer(text):
            value = " ".join(match.group("value").split()).rstrip(".-:")
            if _is_date(value):
                continue
            found = Found(value, _sentence_around(text, match.start(), match.end()))
            theirs = _THEIRS.search(text[max(0, match.start() - 45) : match.start()])
            same = case_key is not None and (
                _dnr_key(value) == case_key or _dnr_core(value) == case_core
            )
            if theirs:
                continue  # named as the sender's: never the answer's own
            if same and not (item_first and index == 0):
                fallback = fallback or found
                continue
            return found
    # The case's own number when the document has no other: an utskott of the same
    # organisation answers under the case's diarienummer.
    return fallback


def _is_date(value: str) -> bool:
    return bool(re.fullmatch(r"\d{4}-\d{2}(?:-\d{2})?", value))


# The meeting's date as a protocol or an agenda prints it in its header, the label and the
# value on one line or on two ("Sammanträdesdatum" / "22 november 2023", "Sammanträde
# 2013-04-18"); in a protocol also a bare "Datum" (in a tjänsteutlåtande that is the day it
# was written, not a decision).
_HEADER_DATE_LABEL = re.compile(
    r"\b(?:sammanträdesdatum|sammanträdets\s+datum|mötesdatum|beslutsdatum"
    r"|datum\s+för\s+(?:beslut|sammanträde(?:t)?|mötet)|sammanträde(?=\s+\d))\s*[:.]?\s*",
    re.IGNORECASE,
)
_PROTOCOL_DATE_LABEL = re.compile(r"(?<![\wåäöÅÄÖ])(?:Datum|DATUM)\s*[:.]?\s*")
# The head of a protocol (not of a tjänsteutlåtande or an agenda).
_PROTOCOL_HEAD = re.compile(
    r"\b(?:SAMMANTRÄDESPROTOKOLL|PROTOKOLL|PROTOKOLLSUTDRAG|[Ss]ammanträdesprotokoll"
    r"|[Pp]rotokollsutdrag|[Uu]tdrag\s+ur\s+protokoll|Protokoll(?:\s+från|\s+fört|\s*$)"
    # The cover page of a protocol.
    r"|Justerandes|Justeringens\s+plats|Paragrafer\b|ANSLAG/BEVIS"
    r"|[Pp]rotokollet\s+är\s+justerat)",
    re.MULTILINE,
)
# An agenda's item with the papers for the meeting names its date: "Anmälan av inkomna
# skrivelser till kommunstyrelsen den 20 augusti 2025", "Förteckning över skrivelser inför
# stadsbyggnadsnämnden 2025-08-28".
_AGENDA_DATE_LABEL = re.compile(
    r"\b(?:skrivelser|handlingar|delegationsbeslut)\s+(?:till|inför)\s+"
    rf"(?:[\wåäö-]+\s+){{0,2}}?[\wåäö-]*{_BODY_NOUN}(?:s\s+sammanträde)?\s+(?:den\s+)?",
    re.IGNORECASE,
)


def _find_date(texts: Sequence[str], *, protocol: bool = False) -> Found[dt.date] | None:
    """The meeting's or the decision's date: a header's label first (in every text), then
    what the text says ("beslutade den ...", "vid sammanträde den ...")."""
    labels = [_HEADER_DATE_LABEL, *([_PROTOCOL_DATE_LABEL] if protocol else [])]
    for label in labels:
        for text in texts:
            for match in label.finditer(text):
                found = _date_at(text, match.end())
                if found is not None:
                    return Found(found[0], _sentence_around(text, match.start(), found[1]))
    for text in texts:
        for match in _DATE_LABEL.finditer(text):
            found = _date_at(text, match.end())
            if found is not None:
                return Found(found[0], _sentence_around(text, match.start(), found[1]))
    for text in texts:
        for match in _AGENDA_DATE_LABEL.finditer(text):
            found = _date_at(text, match.end())
            if found is not None:
                return Found(found[0], _sentence_around(text, match.start(), found[1]))
    return None


# --- Title ---------------------------------------------------------------------------------------

_TITLE_START = re.compile(
    r"^(?:svar\s+på|remiss|remissvar|remissyttrande|yttrande|motion|medborgarförslag|"
    r"förslag\s+(?:till|om)|betänkande|utredning|rapport|promemoria|ds\s|sou\s|"
    r"e-förslag|skrivelse|granskning|revidering|ny\s|nytt\s|nya\s|riktlinje|program|plan|"
    r"strategi|policy|reglemente|taxa|översyn|utökning|inrättande)",
    re.IGNORECASE,
)
_META_LINE = re.compile(
    r"^(?:tjänsteutlåtande|tjänsteskrivelse|protokoll\w*|utdrag|handläggare|till|från|telefon"
    r"|tel\.?|e-post|epost|dnr|diarienummer|datum|sida|kopia|beslutsdatum|sammanträdesdatum"
    r"|plats|tid|beslutande|närvarande|ersättare|paragraf\w*|justera\w*|sekreterare|"
    r"ordförande|underskrift\w*|anslag|organ|förvaringsplats|www\.|https?:|\d)",
    re.IGNORECASE,
)


def _cap(title: str, limit: int = TITLE_MAX) -> str:
    title = " ".join(title.split()).strip(" .,:;")
    if len(title) <= limit:
        return title
    cut = title[: limit + 1]
    cut = cut[: cut.rfind(" ")] if " " in cut else cut[:limit]
    return cut.rstrip(" ,;:-–") or title[:limit]


def _strip_dnr(text: str) -> str:
    return _DNR_LABEL.sub(" ", text).strip(" ,-–:")


_ORGANISATION_LINE = re.compile(
    r"^(?:[\wåäöÅÄÖ-]{1,40}\s+){0,3}(?:stad|kommun|region|landsting)(?:,.*)?$"
    rf"|^(?:[\wåäöÅÄÖ-]{{1,40}}\s+){{0,3}}[\wåäöÅÄÖ-]{{0,40}}{_BODY_NOUN}$"
    r"|^[\wåäöÅÄÖ-]{1,40}s\s+arbetsutskott$",
    re.IGNORECASE,
)


# An item's number or a contents list's page and paragraph numbers before a heading
# ("2.1.10. Göteborgs Stads ...", "16 32 Svar på remiss ...").
_LEADING_NUMBER = re.compile(r"^(?:§\s*)?\d{1,4}(?:\.\d{1,3})*\.?(?:\s+\d{1,4})?\s+(?=[A-ZÅÄÖ\"”])")
# A document's own kind in its letterhead: the title follows it ("... TJÄNSTESKRIVELSE
# Datum Departementspromemorian ...").
_KIND_HEADER = re.compile(
    r"\b(?:TJÄNSTESKRIVELSE|TJÄNSTEUTLÅTANDE|SKRIVELSE|PROTOKOLLSUTDRAG|YTTRANDE)\b"
    r"(?:\s+(?:LS|KS|Datum|DATUM|Dnr\b|\d{4}-\d{2}-\d{2}|\d{1,2}\s+\(\d{1,2}\)))*\s+"
    r"(?=[A-ZÅÄÖ])"
)
# A title cut at a line end ("Förslag till", "Uppföljning av"): never a whole title.
_CUT_OFF = re.compile(
    r"\b(?:till|om|av|för|och|i|på|med|från|över|att|samt|gällande|angående|avseende|"
    r"följande)$",
    re.IGNORECASE,
)
# "Gör Huddinge till vänortskommun ... – svar på motion av ...": the usual form of a title.
_TITLE_DASH = re.compile(
    r"\S\s+[–-]\s+(?:svar\s+på|remiss|yttrande|motion|medborgarförslag)", re.IGNORECASE
)
# Official references that end a title: "(SOU 2016:5)", "(Ds 2015:53)", "(dir. 2023:98)".
_REFERENCE = re.compile(
    r"\((?:SOU|Ds|DS|Prop\.|prop\.|dir\.|Dir\.|Fi|Ju|S|U|N|M|I|A|KN|LI)\s*\d{4}:\d{1,4}\)"
)
# A sentence run into a title: a name or a body and the verb of its sentence.
_SENTENCE_START = re.compile(
    r"\s(?=[A-ZÅÄÖ][\wåäö-]+\s+(?:föreslår|beslutar|beslöt|beslutade|anför|har|anser"
    r"|tillstyrker|avstyrker|yttrar|lämnar|överlämnar)\b)"
)


def _clean_candidate(text: str) -> str:
    kinds = list(_KIND_HEADER.finditer(text[:300]))
    if kinds and kinds[-1].end() < len(text):
        text = text[kinds[-1].end() :]
    text = _strip_dnr(text)
    text = _LEADING_NUMBER.sub("", text)
    return text.strip(" ,-–:")


# A heading that ends with its diarienummer: "Göteborgs Stads vatten- och avloppstaxa för
# 2022, Dnr 0882/21".
_ENDS_WITH_DNR = re.compile(_DNR_LABEL.pattern + r"\s*$", re.IGNORECASE)


# A letterhead that ends with the document's diarienummer is no heading.
_LETTERHEAD = re.compile(
    r"\b(?:tjänsteutlåtande|tjänsteskrivelse|protokoll\w*|avdelning\w*|enhet\w*)\b",
    re.IGNORECASE,
)


def _title_candidates(lines: Sequence[str]) -> list[tuple[str, bool]]:
    """Texts that may be the title, each with whether a diarienummer ended it."""
    out: list[tuple[str, bool]] = []
    for group in _paragraph_groups(lines):
        texts = [reflow(group)] + (group if len(group) > 1 else [])
        pieces: list[str] = []
        for text in texts:
            # A contents list's dot leaders end each heading: "... (SOU 2017:114)... 18 33".
            pieces.extend(re.split(r"\s*(?:\.{3,}|…)\s*", text))
            if len(text) > TITLE_MAX:
                # A run without line breaks: a title may start inside it.
                pieces.extend(text[m.start() :] for m in _TITLE_INSIDE.finditer(text[:3000]))
        for piece in pieces:
            text = _clean_candidate(piece)
            headed = (
                bool(_ENDS_WITH_DNR.search(piece))
                and len(piece) <= 2 * TITLE_MAX
                and not _LETTERHEAD.search(text)
            )
            if (
                len(text.split()) >= 2
                and not _META_LINE.match(text)
                and _section_key(text) is None
                and not _ORGANISATION_LINE.match(text)
                and not _CUT_OFF.search(text)
            ):
                out.append((text, headed))
    return out


def _item_heading(item: _Item) -> str | None:
    """An item's own heading: what follows "§ N" (or the item's number) up to its first
    section heading, a diarienummer or a blank line, when that reads as a title (one
    sentence at most, not the meeting's business)."""
    head: list[str] = []
    for line in item.lines[:12]:
        if not line:
            if head:
                break
            continue
        if _section_key(line) is not None:
            break
        if not head:
            rest = _strip_dnr(line)
            # Before the heading: the item's numbers ("Dnr 2016/0166 KS-2", "Diariekod: 013").
            if _DNR_LABEL.match(line) and len(rest.split()) < 2:
                continue
            if re.fullmatch(r"[\wåäöÅÄÖ-]+\s*:\s*[\w./-]+", line):
                continue
        head.append(line)
    text = reflow(head)
    labels = list(_DNR_LABEL.finditer(text))
    # "§ 62 Dnr KS-2025-00102 Svar på ...": a number before the heading goes, one after
    # it ends the heading.
    while labels and not text[: labels[0].start()].strip(" ,-–:"):
        text = text[labels[0].end() :].strip(" ,-–:")
        labels = list(_DNR_LABEL.finditer(text))
    if labels:
        text = text[: labels[0].start()]
    match = _INLINE_HEADING.search(text, 10)
    if match and _section_key(match.group("h")) is not None:
        text = text[: match.start()]
    text = " ".join(text.split()).strip(" ,-–:")
    if (
        len(text.split()) < 2
        or len(sentences(text)) > 1
        or len(text) > 2 * TITLE_MAX
        or _META_LINE.match(text)
        or _ORGANISATION_LINE.match(text)
        or _CUT_OFF.search(text)
        or not re.match(r"[A-ZÅÄÖ0-9\"”]", text)
    ):
        return None
    return _cap(text)


def _title(item: _Item | None, preamble: Sequence[str], case_title: str | None) -> str | None:
    heading = _item_heading(item) if item is not None else None
    if heading is not None:
        return heading
    lines = [*(item.lines[:60] if item is not None else []), "", *preamble[:80]]
    found = _title_candidates(lines)
    if not found:
        return None
    candidates = [text for text, _ in found]
    if case_title:
        words = _words(case_title)
        best: tuple[float, int, str] | None = None
        for i, candidate in enumerate(candidates):
            have = _words(_title_part(candidate))
            shared = len(words & have)
            if not words or not have:
                continue
            recall, precision = shared / len(words), shared / len(have)
            score = recall + 0.5 * precision
            if recall >= 0.5 and (best is None or score > best[0]):
                best = (score, -i, candidate)
        if best is not None:
            return _cap(_title_part(best[2]))
    # Without the case: what reads most like a title, in this order.
    headed = {text for text, with_dnr in found if with_dnr}
    tests: tuple[Callable[[str], bool], ...] = (
        lambda c: c in headed,
        lambda c: bool(_TITLE_DASH.search(c[:TITLE_MAX])),
        lambda c: bool(_TITLE_START.match(c)),
        lambda c: bool(_TITLE_INSIDE.search(c[:400])),
        lambda c: bool(_REFERENCE.search(c[: 2 * TITLE_MAX])),
    )
    for test in tests:
        for candidate in candidates:
            # A line that starts in lower case continues a sentence; it starts no title.
            if test(candidate) and not candidate[:1].islower():
                part = _title_part(candidate)
                if (
                    len(part.split()) >= 2
                    and not _CUT_OFF.search(part.strip(" .,:;"))
                    and not _NOUN_AND_VERB.match(part)
                ):
                    return _cap(part)
    return _cap(_title_part(candidates[0]))


_TITLE_INSIDE = re.compile(
    r"(?<=\s)(?:Svar på|Remiss(?:svar|yttrande)?\b|Yttrande (?:över|om|angående)|Motion (?:om|från)"
    r"|Medborgarförslag|Förslag (?:till|om)(?! beslut)|Betänkandet?|Promemorian?)"
)


# "Malmö stad har beretts möjlighet att komma med synpunkter på utredningen om ...": the
# remitted document is named after these words.
_REMITTED = re.compile(
    r"^[^.]{0,120}?\b(?:synpunkter\s+på|yttra\s+sig\s+över"
    r"|remiss(?:en)?\s+(?:avseende|gällande|angående))\s+(?P<what>[^.]{10,})",
    re.IGNORECASE,
)
# "Utredningen föreslår ...": a sentence, not a title.
_NOUN_AND_VERB = re.compile(
    r"^\S+\s+(?:föreslår|har|är|anser|beslutade|beslutar|ska|kommer|lämnar|bedömer)\b",
    re.IGNORECASE,
)


def _title_part(text: str) -> str:
    """A title that ran into the text after it: up to the first sentence end, heading, the
    end of an official reference ("(SOU 2016:48)") or the start of a sentence; in a sentence
    that tells of the remiss, the document it names."""
    remitted = _REMITTED.match(text)
    if remitted and not _TITLE_START.match(text):
        what = remitted.group("what")
        text = what[:1].upper() + what[1:]
    elif not _TITLE_START.match(text) and not _TITLE_DASH.search(text[:TITLE_MAX]):
        inside = _TITLE_INSIDE.search(text[:400])
        if inside:
            text = text[inside.start() :]
    match = _INLINE_HEADING.search(text, 10)
    if match and _section_key(match.group("h")) is not None:
        text = text[: match.start()]
    reference = _REFERENCE.search(text)
    if reference and reference.end() < len(text):
        text = text[: reference.end()]
    starts = _SENTENCE_START.search(text, 10)
    if starts:
        text = text[: starts.start()]
    if len(text) > TITLE_MAX:
        ends = sentence_ends(text, limit=TITLE_MAX)
        if ends:
            text = text[: ends[0]]
    return text


def _paragraph_groups(lines: Sequence[str]) -> list[list[str]]:
    groups: list[list[str]] = [[]]
    for line in lines:
        if line:
            groups[-1].append(line)
        elif groups[-1]:
            groups.append([])
    return [g for g in groups if g][:25]


# --- Reading -------------------------------------------------------------------------------------

_RESERVATION = re.compile(
    r"\breserver(?:ar|ade)\s+sig\b|\breservation(?:er)?\b(?!\s+(?:saknas|lämnades\s+inte))",
    re.IGNORECASE,
)
_NO_RESERVATION = re.compile(r"\binga\s+reservationer\b", re.IGNORECASE)
_SARSKILT = re.compile(
    r"\bsärskil(?:t|da)\s+(?:uttalanden?|yttranden?)\b|\bgemensamt\s+särskilt\s+uttalande",
    re.IGNORECASE,
)
_JUSTERAS = re.compile(
    r"\bjusteras?\s+(?:(?:ärendet|paragrafen|beslutet|besluten|protokollet|denna\s+paragraf)"
    r"\s+)?omedelbart\b|\bomedelbart\s+justera[ds]?\b|\bomedelbar\s+justering\b"
    r"|\bförklaras\s+omedelbart\s+justerad",
    re.IGNORECASE,
)
_JUSTERAS_NOT = re.compile(r"\bjusteras\s+inte\s+omedelbart|\bej\s+omedelbar", re.IGNORECASE)
# "Sammanträde 2013-04-18": the head of a meeting's agenda or protocol.
_MEETING_HEAD = re.compile(r"(?<![\wåäöÅÄÖ])Sammanträde\s+\d")
_JUSTERING_ITEM = re.compile(
    r"\bjusterare\b|\bjustering\b|\bprotokollsjustering|\bjusteringsdag", re.IGNORECASE
)
_VIEW_VERB = re.compile(
    r"\b(?:anser|bedömer|menar|konstaterar|delar|instämmer|förordar|föreslår|ser\s+positivt"
    r"|ser\s+behov|välkomnar|ställer\s+sig|tillstyrk|avstyrk|stödjer|är\s+positiv|är\s+tveksam"
    r"|är\s+kritisk|vill\s+betona|understryker|rekommenderar|saknar|inte\s+ser)",
    re.IGNORECASE,
)
_FORVALTNING_SUBJECT = re.compile(
    r"^(?:[\wåäöÅÄÖ-]*förvaltningen|[\wåäöÅÄÖ-]*kontoret|vi|nämnden|styrelsen|[\wåäöÅÄÖ-]*nämnden"
    r"|[\wåäöÅÄÖ-]*styrelsen|sammanfattningsvis|mot\s+bakgrund|förvaltningens|kontorets)\b",
    re.IGNORECASE,
)


def _found_in(
    pattern: re.Pattern[str], texts: Sequence[tuple[str, str]], keys: Iterable[str]
) -> Found[str] | None:
    wanted = set(keys)
    for key, text in texts:
        if key not in wanted:
            continue
        for sentence in sentences(text):
            match = pattern.search(sentence)
            if match:
                return Found(match.group(0), sentence)
    return None


def read_document(
    text: str, *, case_dnr: str | None = None, case_title: str | None = None
) -> Reading:
    """Read a remissvar's extracted text (see the module docstring)."""
    if not isinstance(text, str):
        return _UNREADABLE
    raw = normalise_text(text).replace("\u00a0", " ")
    if sum(ch.isalpha() for ch in raw) < _MIN_LETTERS:
        return _UNREADABLE

    lines = _lines(raw)
    preamble, items = _items(lines)
    item = _choose_item(items, case_dnr, case_title)
    numbered_agenda = False
    numbered = _numbered_items(lines) if item is None else []
    # Two numbered paragraphs are an agenda only when each has a diarienummer of its own.
    agenda = len(numbered) >= 3 or (
        len(numbered) == 2 and all(_DNR_LABEL.search(" ".join(x.lines[:4])) for x in numbered)
    )
    if agenda and (case_dnr or case_title):
        # An agenda numbered "1.", "2." ...: only an item that names this case is taken, for
        # a numbered list is more often a list of proposals than an agenda.
        item = _choose_item(numbered, case_dnr, case_title, least=45)
        if item is not None and not _names_case(item, case_dnr, case_title):
            item = None  # a list of proposals, the case named somewhere in the last one
        numbered_agenda = item is not None
    # Several numbered items each with its own diarienummer: an agenda of several cases.
    cases = agenda and sum(bool(_DNR_LABEL.search(" ".join(x.lines[:4]))) for x in numbered) >= 2
    reading = _reading(
        raw, lines, preamble, items, item, numbered_agenda, case_dnr, case_title, agenda=cases
    )
    if item is None and (
        agenda or (reading.position is None and reading.decision_sentence is None)
    ):
        # The case is named in no item (in production the case passed is the sender's, which
        # the document need not name): on an agenda, or when the whole text read as one says
        # nothing, the numbered item whose heading is about a remiss, if one stands out.
        fallback = _remiss_item(numbered)
        if fallback is not None:
            other = _reading(raw, lines, preamble, items, fallback, True, case_dnr, case_title)
            if other.position is not None or other.decision_sentence is not None:
                return other
    if item is None and reading.position is None and reading.decision_sentence is None:
        listed = _listed_item(items, case_dnr, case_title)
        if listed is not None and listed.number is not None:
            # A protocol's list of paragraphs ("§ 70/20 Remissvar SOF - Motion ..."): the
            # text says nothing more, but the list names the paragraph and its title.
            return dataclasses.replace(
                reading,
                paragraph=Found(f"§ {listed.number}", f"§ {listed.number} {listed.heading}"),
                title=_cap(_title_part(_strip_dnr(listed.heading))) or reading.title,
            )
    return reading


def _listed_item(items: list[_Item], case_dnr: str | None, case_title: str | None) -> _Item | None:
    """Of a list of paragraphs (each only a heading), the one that names the case, else the
    only one whose heading is about a remiss, a motion or an yttrande."""
    if len(items) < 2 or any(len(item.text()) >= 120 for item in items):
        return None
    named = [item for item in items if _names_case(item, case_dnr, case_title)]
    if len(named) == 1:
        return named[0]
    about = [item for item in items if _REMISS_WORDS.search(item.heading)]
    return about[0] if len(about) == 1 else None


def _remiss_item(numbered: list[_Item]) -> _Item | None:
    """Of an agenda's numbered items, the one whose heading is about a remiss, a motion or
    an yttrande and whose text states a position; None unless exactly one is the best."""
    if len(numbered) < 2:
        return None
    best: list[tuple[int, _Item]] = []
    for item in numbered:
        text = item.text()
        if len(text) < 120:
            continue
        # The item's heading: its first line, and the next when the first runs on.
        head_lines = [line for line in item.lines[:4] if line][:2]
        if head_lines and head_lines[0].rstrip().endswith("."):
            head_lines = head_lines[:1]
        head = " ".join(head_lines)
        score = (2 if _REMISS_WORDS.search(head) else 0) + (1 if position_of(text) else 0)
        if score >= 2:
            best.append((score, item))
    if not best:
        return None
    top = max(score for score, _ in best)
    chosen = [item for score, item in best if score == top]
    return chosen[0] if len(chosen) == 1 else None


def _reading(
    raw: str,
    lines: list[str],
    preamble: list[str],
    items: list[_Item],
    item: _Item | None,
    numbered_agenda: bool,
    case_dnr: str | None,
    case_title: str | None,
    *,
    agenda: bool = False,
) -> Reading:
    """What the chosen item (or, with None, the whole text) says; `agenda` when the text is
    an agenda of several cases (numbered items, each with its diarienummer)."""
    scope = item.lines if item is not None else lines
    if item is not None and len(items) == 1 and not numbered_agenda:
        # One item (a protokollsutdrag): what stands before the § belongs to it too.
        scope = [*preamble, "", *item.lines]
    sections = _sections(scope)
    texts = [(key, "\n".join(_paragraph_texts(body))) for key, body in sections]

    decision_sentence, decision_position = _decision(sections)
    stance, stance_position = _stance(sections)
    position: Found[str] | None = None
    if decision_sentence and _NO_POSITION.search(decision_sentence):
        stance_position = None  # "överlämnar ärendet ... utan eget ställningstagande"
    if decision_position is not None:
        position = Found(decision_position, decision_sentence or "")
    elif stance_position is not None:
        position = Found(stance_position[0], stance_position[1])

    scope_text = "\n".join(reflow([x]) for x in scope if x)
    head_text = "\n".join(line for line in lines[:40] if line)
    raw_head = "\n".join(raw.split("\f")[0].split("\n")[:60])
    dnr_texts = [scope_text, raw_head, head_text] if item is not None else [raw_head, scope_text]
    dnr = _find_dnr(
        dnr_texts, case_dnr, item_first=item is not None and (len(items) > 1 or numbered_agenda)
    )
    is_protocol = (
        bool(items)
        or bool(_PROTOCOL_HEAD.search(raw_head))
        # How the meeting came to its decision is told only in a protocol.
        or any(key == "proposition" for key, _ in sections)
        # A meeting's papers that deal with the justering of its protocol.
        or bool(_MEETING_HEAD.search(raw_head) and _JUSTERING_ITEM.search(raw))
    )
    decision_date = _find_date(
        [raw_head, scope_text], protocol=bool(_PROTOCOL_HEAD.search(raw_head))
    )

    paragraph = None
    if item is not None and item.number is not None:
        paragraph = Found(f"§ {item.number}", f"§ {item.number} {item.heading}".strip()[:300])
    else:
        numbered = [item] if item is not None else _numbered_items(lines)
        labelled = [
            x
            for x in numbered
            if x.label
            and _CASE_NUMBER.fullmatch(x.label)
            and _DNR_LABEL.search(" ".join(line for line in x.lines[:3] if line))
        ]
        if len(labelled) == 1 and labelled[0].label:
            chosen = labelled[0]
            paragraph = Found(chosen.label or "", f"{chosen.label} {chosen.heading}"[:300])

    protocol_texts = [(k, t) for k, t in texts]
    reservationer = None
    if not _NO_RESERVATION.search(scope_text):
        reservationer = _found_in(_RESERVATION, protocol_texts, [k for k, _ in texts])
    sarskilda = _found_in(_SARSKILT, protocol_texts, [k for k, _ in texts])
    justeras: bool | None
    if _JUSTERAS_NOT.search(scope_text):
        justeras = False
    elif _JUSTERAS.search(scope_text) and not (item is None and agenda):
        justeras = True
    else:
        # On an agenda read as a whole the mark belongs to another item, not to this one.
        justeras = False if is_protocol else None

    return Reading(
        position=position,
        dnr=dnr,
        decision_date=decision_date,
        paragraph=paragraph,
        decision_sentence=decision_sentence,
        reservationer=reservationer,
        sarskilda_uttalanden=sarskilda,
        justeras_omedelbart=justeras,
        title=_title(
            item,
            preamble if item is None or (len(items) == 1 and not numbered_agenda) else [],
            case_title,
        ),
        stance=stance,
        readable=True,
    )


_OFFICE_SUBJECT = re.compile(
    r"^(?:[\wåäöÅÄÖ-]*förvaltningen|[\wåäöÅÄÖ-]*kontoret|sekretariatet)\b", re.IGNORECASE
)
_NO_POSITION = re.compile(r"\butan\s+(?:eget\s+)?ställningstagande", re.IGNORECASE)
_FOLLOWING = re.compile(r"\bbeslut(?:a|ar)\s+(?:enligt\s+)?följande\s*[.:]?$", re.IGNORECASE)


def _decision(sections: Sequence[tuple[str, list[str]]]) -> tuple[str | None, str | None]:
    """The decision sentence and the position it states (None when it hands over a text)."""
    candidates: list[str] = []
    for wanted in _DECISION_KEYS:
        for key, body in sections:
            if key == wanted:
                candidates.extend(c for c in _clauses(body) if not _PROCEDURAL.search(c))
        if candidates:
            break
    chosen: list[str] = []
    for clause in candidates:
        if position_of(clause) or _REFERRAL.search(clause):
            chosen.append(clause)
            if position_of(clause):
                break
    if not chosen:
        # "Nämnden beslutar enligt förslaget": fall back on the proposal's formula.
        for key, body in sections:
            if key in ("forslag", "none", "sammanfattning"):
                clauses = _clauses(body)
                for index, clause in enumerate(clauses):
                    if _PROCEDURAL.search(clause):
                        continue
                    if _FOLLOWING.search(clause) and index + 1 < len(clauses):
                        # "... föreslår att kommunstyrelsen beslutar följande." + the decision
                        # A title with "!" in it is no sentence end of the decision.
                        end = index + 1
                        while end + 1 < len(clauses) and clauses[end][-1:] in "!?":
                            end += 1
                        chosen.append(" ".join(clauses[index + 1 : end + 1]))
                        break
                    strong = position_of(clause) or _REFERRAL.search(clause)
                    if (
                        strong
                        # The förvaltning's opinion ("Stadsledningskontoret tillstyrker
                        # nämndens förslag") is no decision; its proposal is.
                        and not (
                            _OFFICE_SUBJECT.match(clause)
                            and not re.search(r"\bföreslå", clause, re.IGNORECASE)
                        )
                        and re.search(
                            r"\b(?:beslut\w*|föreslå\w*|tillstyrk\w*|avstyrk\w*|överlämn\w*|"
                            r"godkänn\w*|ant(?:ar|as|a)|besvara\w*|avstår|avslå\w*)\b",
                            clause,
                            re.IGNORECASE,
                        )
                        and re.search(
                            rf"{_BODY_NOUN}|{_BODY_NOUN[3:-1]}|\bkommun\w*|\bregion\w*",
                            clause,
                            re.IGNORECASE,
                        )
                    ):
                        chosen.append(clause)
                        break
                if chosen:
                    break
        if not chosen:
            for clause in candidates:
                # "Kommunfullmäktige beslutar" alone introduces a decision it does not state.
                if _DECISION_FORMULA.search(clause) and len(clause.split()) >= 4:
                    chosen.append(clause)
                    break
    if not chosen:
        return None, None
    sentence = " ".join(chosen)
    for clause in chosen:
        kind = position_of(clause)
        if kind is not None and not (
            kind == "inga_synpunkter" and re.search(r"vidtagen\s+åtgärd", clause, re.I)
        ):
            return sentence, kind
    return sentence, None


# What others said or did, told in the past tense ("24 tillstyrkte förslaget", "nämnderna har
# avstått från att yttra sig"), and the parties' own lines (reservations, yrkanden): not the
# body's view.
_NOT_OWN_VIEW = re.compile(
    r"\b(?:tillstyrkte|avstyrkte|har\s+(?:\S+\s+)?(?:avstått|tillstyrkt|avstyrkt))\b"
    r"|\breserver(?:ar|ade)\s+sig\b|\byrka(?:r|de)\b",
    re.IGNORECASE,
)
_RECOMMIT = re.compile(r"\bföreslå[rs]?\s+(?:\S+\s+){0,3}?återremiss|\båterremitteras\b", re.I)


def _stance(
    sections: Sequence[tuple[str, list[str]]],
) -> tuple[tuple[str, ...], tuple[str, str] | None]:
    """The sentences of the body that state the view, and the position they make."""
    for wanted in _STANCE_KEYS:
        stated: list[str] = []
        positions: list[tuple[str, str]] = []
        viewed: list[str] = []
        for key, body in sections:
            if key != wanted:
                continue
            for sentence in sentences(" ".join(_paragraph_texts(body))):
                if _NOT_OWN_VIEW.search(sentence):
                    continue
                kind = position_of(sentence)
                if kind is None and stated and _RECOMMIT.search(sentence):
                    # "tillstyrker nämndens förslag. För anläggningstaxan föreslår
                    # kontoret återremiss": for one part, back for the other.
                    kind = "avstyrker"
                if kind is not None:
                    stated.append(sentence)
                    positions.append((kind, sentence))
                elif _VIEW_VERB.search(sentence) and _FORVALTNING_SUBJECT.search(sentence):
                    viewed.append(sentence)
        if stated:
            return tuple(dict.fromkeys([*stated[:3], *viewed[:1]])), _combined(positions)
        if viewed and wanted == "synpunkter":
            return tuple(viewed[:2]), None
    return (), None


# --- The view in the body's voice ----------------------------------------------------------------

# Who speaks in a tjänsteutlåtande, at the start of a sentence or after a few words
# ("Sammanfattningsvis anser förvaltningen att ...", "Enligt kontoret ...").
_SPEAKER = (
    r"(?:[A-ZÅÄÖa-zåäö][\wåäö-]*förvaltningen|[A-ZÅÄÖa-zåäö][\wåäö-]*kontoret|[Ff]örvaltningen"
    r"|[Kk]ontoret|[Ss]ekretariatet|[Ss]tadsledningskontoret|[Nn]ämnden|[Ss]tyrelsen)"
)
# "Fastighets- och fritidsförvaltningen" is one name: the coordinated first part goes with
# it. "Nämnden för Gymnasium & arbetsmarknad" is a body's own name, not "the nämnd".
_SPEAKER_RE = re.compile(
    rf"(?<![\wåäöÅÄÖ-])(?:[\wåäöÅÄÖ]+-\s+(?:och|samt)\s+)?(?P<who>{_SPEAKER})(?P<gen>s)?"
    r"(?![\wåäöÅÄÖ-])(?!\s+för\s+[A-ZÅÄÖ])"
)
_WE = re.compile(r"(?<![\wåäöÅÄÖ-])(?P<w>[Vv]i|[Vv]år|[Vv]årt|[Vv]åra|[Oo]ss)(?![\wåäöÅÄÖ-])")
_NAMES_A_BODY = re.compile(
    r"(?<![\wåäöÅÄÖ-])[A-ZÅÄÖ][\wåäö-]*(?:nämnd(?:en)?|styrelse(?:n)?|fullmäktige|rådet|"
    r"utskottet)(?![\wåäöÅÄÖ-])"
)


_OWN_NAME = re.compile(r"(?<![\wåäöÅÄÖ-])[Nn]ämnden\s+för\s+[A-ZÅÄÖ]")


def _name_at(body: str, start_of_sentence: bool) -> str:
    inside = language.in_sentence(body)
    return language.sentence(inside) if start_of_sentence else inside


def _voice_sentence(sentence: str, body: str) -> str:
    names_other = [
        m.group(0)
        for m in _NAMES_A_BODY.finditer(sentence)
        if m.group(0).casefold() not in (body.casefold(), "nämnden", "styrelsen")
    ]
    speaker = _SPEAKER_RE.search(sentence)
    we = _WE.search(sentence)
    if names_other and speaker is None and we is None:
        return sentence  # it already names a body: keep it as it stands

    # Only the speaker is replaced: the first one named, and later mentions of the same
    # word ("förvaltningen anser att förvaltningens budget"); another one stays ("Nämnden
    # tillstyrker förvaltningens förslag" keeps the förvaltning's proposal).
    speaker_word = speaker.group("who").casefold() if speaker else ""
    # "Nämnden för Vård & Omsorg instämmer ... där nämnden anser": that nämnd, not ours.
    named_itself = bool(names_other) or bool(_OWN_NAME.search(sentence))

    def speaker_sub(match: re.Match[str]) -> str:
        who = match.group("who").casefold()
        if who != speaker_word or (named_itself and who in ("nämnden", "styrelsen")):
            return match.group(0)
        at_start = sentence[: match.start()].strip() == ""
        name = _name_at(body, at_start)
        return language.genitive(name) if match.group("gen") else name

    def we_sub(match: re.Match[str]) -> str:
        word = match.group("w").casefold()
        at_start = sentence[: match.start()].strip() == ""
        name = _name_at(body, at_start)
        if word in ("vår", "vårt", "våra"):
            return language.genitive(name)
        return name

    out = _SPEAKER_RE.sub(speaker_sub, sentence)
    # "vi" only where the text speaks as the förvaltning (not inside a quotation).
    if '"' not in out and "”" not in out:
        out = _WE.sub(we_sub, out)
    return out


def view_in_voice(text: str, body: str) -> str:
    """Stance text with the body as the subject where the text speaks as the förvaltning.

    Rules: "Förvaltningen", "<X>förvaltningen", "Kontoret", "<X>kontoret", "Nämnden",
    "Styrelsen" and "Vi/vi" become the body's name (capital at a sentence start, lower case
    inside a sentence for a common noun such as "utbildningsnämnden"); their genitives
    ("förvaltningens", "vår", "vårt", "våra") become the body's genitive. A sentence that
    already names another body and does not speak as the förvaltning is kept as it is.
    Sentences are never cut.
    """
    if not text or not body.strip():
        return text
    body = " ".join(body.split())
    paragraphs = text.split("\n\n")
    return "\n\n".join(" ".join(_voice_sentence(s, body) for s in sentences(p)) for p in paragraphs)


# Running page-header text a sentence may start with ("KUNGSBACKA KOMMUN
# SAMMANTRÄDESPROTOKOLL 31 (33) Kommunstyrelsen Datum 2025-03-18 Dnr ..."): never a view.
_PAGE_HEADER = re.compile(
    r"\b(?:SAMMANTRÄDESPROTOKOLL|PROTOKOLLSUTDRAG|TJÄNSTESKRIVELSE|TJÄNSTEUTLÅTANDE)\b"
    r"|\b\d{1,3}\s*\(\d{1,3}\)|\bSida\s+\d|\bDatum\s+\d{4}-\d{2}-\d{2}|\bDnr\b",
)
_VIEW_SENTENCES = 3


def _view_sentence(sentence: str) -> str | None:
    """A stance sentence as a view shows it: what follows a heading run into it, never
    page-header text, with a full stop where extraction lost one."""
    start = 0
    for match in _INLINE_HEADING.finditer(sentence):
        if _section_key(match.group("h")) is not None:
            start = match.end()
    text = sentence[start:].strip()
    if _PAGE_HEADER.search(text):
        # What follows the header's last diarienummer, when that states a view.
        labels = list(_DNR_LABEL.finditer(text))
        text = text[labels[-1].end() :].strip(" .,:;") if labels else ""
        if _PAGE_HEADER.search(text) or not (
            re.match(r"[A-ZÅÄÖ]", text) and (position_of(text) or _VIEW_VERB.search(text))
        ):
            return None
    if not text or _FOLLOWING.search(text) or text.endswith(":"):
        return None  # "... föreslår att kommunfullmäktige beslutar följande."
    if text[-1].isalnum():
        text += "."
    return text


def _adopts_a_text(sentence: str) -> bool:
    """'Nämnden antar yttrande, daterat 2025-01-23, och översänder det som sitt eget': the
    decision hands over a text and says nothing of the view itself."""
    return position_of(sentence) is None and bool(_REFERRAL.search(sentence))


def view_for_report(reading: Reading, body: str, max_chars: int = 600) -> tuple[str, ...] | None:
    """The paragraphs a report shows as the body's view: up to three stance sentences in the
    body's voice, else the decision sentence; cut at sentence ends to about max_chars, but
    never without the first stance sentence. None when the document says nothing usable, or
    when its decision only adopts a text (an yttrande, a tjänsteutlåtande) that is not read
    here: the report then points to the attachments."""
    if not reading.readable:
        return None
    sources = [x for x in (_view_sentence(s) for s in reading.stance) if x]
    if not sources and reading.decision_sentence:
        if _adopts_a_text(reading.decision_sentence):
            return None
        sources = [x for x in (_view_sentence(s) for s in [reading.decision_sentence]) if x]
    if not sources:
        return None
    kept: list[str] = []
    used = 0
    for index, sentence in enumerate(sources[:_VIEW_SENTENCES]):
        voiced = view_in_voice(sentence, body)
        if index > 0 and used + len(voiced) + 1 > max_chars:
            break
        kept.append(voiced)
        used += len(voiced) + 1
    return (" ".join(kept),)
