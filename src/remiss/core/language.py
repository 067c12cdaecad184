"""Swedish as the product writes it wherever a name or a count goes into a sentence.

One home for the small rules that are easy to get wrong one template at a time: the
genitive of a name ("Sveriges yrkesmusikerförbunds (SYMF) svar", "SKR:s svar"), small
numbers as words ("två har svarat"), singular and plural ("Motionären föreslår"), a name
inside a sentence ("… till utbildningsnämnden och Bromma stadsdelsnämnd") and text put in
brackets or in a list without doubled punctuation.
"""

from __future__ import annotations

import re

__all__ = [
    "count",
    "genitive",
    "in_sentence",
    "list_item",
    "number",
    "parenthetical",
    "proposers",
    "sentence",
]

_WORDS = (
    "noll",
    "en",
    "två",
    "tre",
    "fyra",
    "fem",
    "sex",
    "sju",
    "åtta",
    "nio",
    "tio",
    "elva",
    "tolv",
)
_TRAILING_PAREN = re.compile(r"^(?P<base>.*\S)\s+(?P<paren>\([^()]*\))$")
# An abbreviation or a code takes the genitive with a colon: "SKR:s", "Stockholm Exergi AB:s".
_ABBREVIATION = re.compile(r"(?:^|\s)(?:[A-ZÅÄÖ0-9&-]{2,}|[A-ZÅÄÖ]|\S*\d)$")
# Common nouns that make a body's name lower case inside a sentence (Svenska skrivregler:
# "utbildningsnämnden", "kommunala pensionärsrådet"); proper names ("Bromma
# stadsdelsnämnd", "Svenska Bostäder", "Sveriges yrkesmusikerförbund") keep their capital.
_COMMON_ENDINGS = (
    "nämnden",
    "nämnd",
    "nämndens",
    "rådet",
    "rådets",
    "styrelsen",
    "styrelsens",
    "kontoret",
    "kontorets",
    "förvaltningen",
    "förvaltningens",
    "fullmäktige",
    "utskottet",
    "revisorerna",
)
_COMMON_FIRST = {"kommunala", "kommunens", "stadens", "regionens", "rådet"}


def number(n: int, *, neuter: bool = False) -> str:
    """Numbers under thirteen as words ("två", "ett" for a neuter noun), larger as digits."""
    if n == 1 and neuter:
        return "ett"
    return _WORDS[n] if 0 <= n < len(_WORDS) else str(n)


def count(n: int, singular: str, plural: str, *, neuter: bool = False) -> str:
    """'en remissinstans', 'tre remissinstanser', '14 remissinstanser'."""
    return f"{number(n, neuter=neuter)} {singular if n == 1 else plural}"


def sentence(text: str) -> str:
    """Text that starts a sentence: capital first letter, the rest untouched."""
    return text[:1].upper() + text[1:]


def genitive(name: str) -> str:
    """The genitive of a name, for "<name> svar".

    'Socialnämnden' -> 'Socialnämndens'; a name ending in s, x or z takes nothing
    ('Borås'); an abbreviation takes ':s' ('SKR:s'); a name with a trailing parenthesis
    puts the genitive on the name before it ('Sveriges yrkesmusikerförbund (SYMF)' ->
    'Sveriges yrkesmusikerförbunds (SYMF)').
    """
    name = name.strip()
    if match := _TRAILING_PAREN.match(name):
        return f"{genitive(match['base'])} {match['paren']}"
    if _ABBREVIATION.search(name):
        return f"{name}:s"
    if name[-1:].lower() in {"s", "x", "z"}:
        return name
    return f"{name}s"


def in_sentence(name: str) -> str:
    """A body's name as it stands inside a sentence: 'Utbildningsnämnden' ->
    'utbildningsnämnden', 'Kommunala pensionärsrådet' -> 'kommunala pensionärsrådet',
    but 'Bromma stadsdelsnämnd' and 'Svenska Bostäder' unchanged."""
    first = name.split(" ", 1)[0]
    folded = first.casefold()
    if folded in _COMMON_FIRST or (folded.endswith(_COMMON_ENDINGS) and not first[1:2].isupper()):
        return name[:1].lower() + name[1:]
    return name


def proposers(n: int) -> str:
    """Who proposes the att-satser of a motion: 'Motionären', 'Motionärerna'."""
    return "Motionären" if n == 1 else "Motionärerna"


def _bare(text: str) -> str:
    return text.strip().rstrip(".,;:").rstrip()


def list_item(text: str, *, last: bool) -> str:
    """An att-sats in a running list: 'att …,' and 'att ….' without doubling the
    punctuation the text may already end with."""
    return _bare(text) + ("." if last else ",")


def parenthetical(text: str) -> str:
    """A reason put in brackets inside a sentence: 'Ärendet berör inte rådets frågor.'
    -> '(ärendet berör inte rådets frågor)'."""
    body = _bare(text)
    first = body.split(" ", 1)[0]
    # Lower-case a common first word only, never a name or an abbreviation.
    if first[:1].isupper() and first[1:].islower() and first.casefold() in _PLAIN_STARTS:
        body = body[:1].lower() + body[1:]
    return f"({body})"


# Words a reason commonly starts with, which are lower case inside brackets.
_PLAIN_STARTS = {
    "ärendet",
    "remissen",
    "frågan",
    "berör",
    "nämnden",
    "rådet",
    "styrelsen",
    "bolaget",
    "vi",
    "det",
    "den",
    "inga",
    "inget",
    "ingen",
    "har",
    "saknar",
    "ligger",
    "hör",
    "avser",
    "gäller",
    "tidsbrist",
    "på",
    "eftersom",
    "då",
    "med",
}
