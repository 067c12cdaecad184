"""How well `remiss.report.reading.read_document` reads real remissvar, per field.

The corpus is `tests/fixtures/real/manifest.yaml` (real public documents, expected values
written by hand). Each document is read in the form its entry names (PDF, DOCX, text
without line breaks ...) through `tests.support.real_documents.extracted_text` when that
module is there, else from its text file (flattened for "text-no-breaks").

Each document is read twice: with the case its entry names, and with an unrelated case
(`UNRELATED`: another municipality's motion), since in production the case passed is the
sender's and the document need not name it.

Rules per field: position, dnr (whitespace-normalised), decision date and the three
protocol flags must equal the expected value (None included); the paragraph its "§ N"
core (so "§ 70/20", "§ 139/2016" and "KS § 12" equal "§ 70", "§ 139", "§ 12"; an agenda
number such as "2.1.10." must equal as it stands); the decision sentence
counts when the found and the expected one contain each other after normalisation or share
at least 80 % of their words; the title when it is at most 200 characters and shares at
least 60 % of the expected title's words (or contains it).

Prints a table (right/total, percent, with the case and with the unrelated case) and the
misses with the document's id; exits 0.
Run: .venv/bin/python bench/reading.py [--misses]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import functools
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from remiss.report.reading import TITLE_MAX, Reading, read_document  # noqa: E402

CORPUS = ROOT / "tests" / "fixtures" / "real"
# A case named in no document of the corpus.
UNRELATED = (
    "KS 2025/348",
    "Motion om Stockholms stads stöd i återuppbyggnaden av Ukraina",
)
FIELDS = (
    "position",
    "dnr",
    "decision_sentence",
    "decision_date",
    "paragraph",
    "title",
    "title_length",
    "reservationer",
    "sarskilda_uttalanden",
    "justeras_omedelbart",
)


def _norm(text: object) -> str:
    return " ".join(str(text).split()).casefold().strip(" .")


def _tokens(text: str) -> list[str]:
    return re.findall(r"[\wåäöé]+", text.casefold())


def _overlap(found: str, expected: str) -> float:
    want = set(_tokens(expected))
    if not want:
        return 0.0
    return len(want & set(_tokens(found))) / len(want)


def sentence_matches(found: str | None, expected: str | None) -> bool:
    if expected is None or found is None:
        return found is None and expected is None
    a, b = _norm(found), _norm(expected)
    return a in b or b in a or _overlap(found, expected) >= 0.8


def title_matches(found: str | None, expected: str | None) -> bool:
    if found is not None and len(found) > TITLE_MAX:
        return False
    if expected is None:
        return True
    if found is None:
        return False
    a, b = _norm(found), _norm(expected)
    return b in a or (a in b and len(a) >= 0.6 * len(b)) or _overlap(found, expected) >= 0.6


def paragraph_core(label: object) -> str:
    """'§ 70/20', '§ 139/2016' and 'KS § 12' -> '§ 70', '§ 139', '§ 12'; other labels as
    they stand (normalised)."""
    text = _norm(label or "")
    match = re.search(r"§\s*(\d{1,4})", text)
    return f"§ {match.group(1)}" if match else text


def _date(value: object) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _value(found: Any) -> Any:
    return None if found is None else found.value


CHECKS: dict[str, Callable[[Reading, dict[str, Any]], bool]] = {
    "position": lambda r, e: _value(r.position) == e.get("position"),
    "dnr": lambda r, e: (
        _norm(_value(r.dnr)) == _norm(e.get("dnr"))
        if (r.dnr is None) == (e.get("dnr") is None)
        else False
    ),
    "decision_sentence": lambda r, e: sentence_matches(
        r.decision_sentence, e.get("decision_sentence")
    ),
    "decision_date": lambda r, e: _value(r.decision_date) == _date(e.get("decision_date")),
    "paragraph": lambda r, e: (
        paragraph_core(_value(r.paragraph)) == paragraph_core(e.get("paragraph"))
    ),
    "title": lambda r, e: title_matches(r.title, e.get("title")),
    "title_length": lambda r, e: r.title is None or len(r.title) <= TITLE_MAX,
    "reservationer": lambda r, e: (r.reservationer is not None) == bool(e.get("reservationer")),
    "sarskilda_uttalanden": lambda r, e: (
        (r.sarskilda_uttalanden is not None) == bool(e.get("sarskilda_uttalanden"))
    ),
    "justeras_omedelbart": lambda r, e: r.justeras_omedelbart == e.get("justeras_omedelbart"),
}


@dataclass
class Score:
    right: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)
    misses: dict[str, list[tuple[str, object, object]]] = field(default_factory=dict)

    def percent(self, name: str) -> float:
        total = self.total.get(name, 0)
        return 100.0 * self.right.get(name, 0) / total if total else 0.0


@dataclass(frozen=True)
class Entry:
    id: str
    case_dnr: str | None
    case_title: str | None
    expected: dict[str, Any]
    text: Callable[[], str]


def entries() -> list[Entry]:
    """The corpus, each document read in its form (see the module docstring)."""
    manifest = CORPUS / "manifest.yaml"
    if not manifest.exists():
        return []
    try:
        from tests.support import real_documents
    except ImportError:
        real_documents = None  # type: ignore[assignment]
    if real_documents is not None:
        return [
            Entry(
                doc.id,
                doc.case.dnr,
                doc.case.title,
                dataclasses.asdict(doc.expected),
                functools.partial(real_documents.extracted_text, doc),
            )
            for doc in real_documents.load_manifest()
        ]
    loaded = yaml.safe_load(manifest.read_text(encoding="utf-8")) or []
    return [
        Entry(
            str(e["id"]),
            (e.get("case") or {}).get("dnr"),
            (e.get("case") or {}).get("title"),
            e["expected"],
            functools.partial(_stored_text, e),
        )
        for e in loaded
        if isinstance(e, dict) and "expected" in e
    ]


def _stored_text(entry: dict[str, Any]) -> str:
    raw = (CORPUS / f"{entry['id']}.txt").read_text(encoding="utf-8")
    return " ".join(raw.split()) if entry.get("form") == "text-no-breaks" else raw


_SHOWN: dict[str, Callable[[Reading], object]] = {
    "position": lambda r: _value(r.position),
    "dnr": lambda r: _value(r.dnr),
    "decision_sentence": lambda r: r.decision_sentence,
    "decision_date": lambda r: _value(r.decision_date),
    "paragraph": lambda r: _value(r.paragraph),
    "title": lambda r: r.title,
    "title_length": lambda r: len(r.title or ""),
    "reservationer": lambda r: r.reservationer is not None,
    "sarskilda_uttalanden": lambda r: r.sarskilda_uttalanden is not None,
    "justeras_omedelbart": lambda r: r.justeras_omedelbart,
}


def score(corpus: Iterable[Entry] | None = None, *, unrelated: bool = False) -> Score:
    """The score of every field; with `unrelated`, each document is read with UNRELATED as
    its case instead of its own."""
    result = Score()
    for entry in entries() if corpus is None else corpus:
        case_dnr, case_title = UNRELATED if unrelated else (entry.case_dnr, entry.case_title)
        reading = read_document(entry.text(), case_dnr=case_dnr, case_title=case_title)
        expected = entry.expected
        for name in FIELDS:
            result.total[name] = result.total.get(name, 0) + 1
            if CHECKS[name](reading, expected):
                result.right[name] = result.right.get(name, 0) + 1
            else:
                wanted = expected.get(name) if name != "title_length" else f"<= {TITLE_MAX}"
                result.misses.setdefault(name, []).append((entry.id, _SHOWN[name](reading), wanted))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--misses", action="store_true", help="show found and expected values")
    args = parser.parse_args()
    corpus = entries()
    if not corpus:
        print(f"No corpus at {CORPUS / 'manifest.yaml'}.")
        return
    result = score(corpus)
    other = score(corpus, unrelated=True)
    print(f"{len(corpus)} documents; unrelated case: {' '.join(UNRELATED)}\n")
    print(f"{'field':<22} {'right':>7} {'percent':>8} {'unrelated':>10} {'percent':>8}")
    for name in FIELDS:
        right, total = result.right.get(name, 0), result.total.get(name, 0)
        right_u = other.right.get(name, 0)
        print(
            f"{name:<22} {f'{right}/{total}':>7} {result.percent(name):>7.0f}%"
            f" {f'{right_u}/{total}':>10} {other.percent(name):>7.0f}%"
        )
    for label, scored in (("", result), (" (unrelated case)", other)):
        print()
        for name in FIELDS:
            misses = scored.misses.get(name, [])
            if not misses:
                continue
            print(f"Missed {name}{label}: {', '.join(doc for doc, _, _ in misses)}")
            if args.misses:
                for doc, found, wanted in misses:
                    print(f"  {doc}\n    found:    {found!r}\n    expected: {wanted!r}")


if __name__ == "__main__":
    main()
