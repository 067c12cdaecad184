"""Reading a motion's att-satser and motionärer for the workspace's suggestion, tested on the
real records in the project's seeds and on the example motion."""

from __future__ import annotations

from pathlib import Path

import pytest

from remiss.cases.suggest import MAX_TEXT, suggest
from remiss.report.extract import extract_text

ROOT = Path(__file__).resolve().parents[2]
SEEDS = Path(__file__).resolve().parents[1] / "support" / "seeds"
MOTION_PDF = ROOT / "examples" / "KS-2025-348" / "motion.pdf"

UKRAINA = (
    "att finansborgarrådet ger stadsdirektören i uppdrag att signera vänskapsavtalet med Kiev",
    "att staden inrättar en praxis som ger förvaltningar och bolag i uppgift att vid nyinköp "
    "se över möjligheten att donera befintlig utrustning till återuppbyggnaden av Ukraina",
)
MOTIONARER = (
    ("Dennis Wedin", "M"),
    ("Jan Jönsson", "L"),
    ("Jonas Naddebo", "C"),
    ("Nike Örbrink", "KD"),
)


def seed(name: str) -> str:
    return (SEEDS / name).read_text(encoding="utf-8")


def test_the_example_motion_pdf_gives_its_att_satser_and_signatures() -> None:
    found = suggest(extract_text(MOTION_PDF.read_bytes(), "pdf"))
    assert found.att_satser == UKRAINA
    assert found.motionarer == MOTIONARER


def test_the_real_tjansteutlatande_quoting_the_motion_gives_the_same_proposals() -> None:
    # Stockholm's socialförvaltning quotes the motion: "föreslås det i motionen att
    # kommunfullmäktige / beslutar om att / 1) Finansborgarrådet ... 2) Att staden ...",
    # and names the motionärer over a line break ("Nike / Örbrink (KD)").
    found = suggest(seed("000_4cb3a211b484014c.txt"))
    assert found.att_satser == UKRAINA
    assert found.motionarer == MOTIONARER


@pytest.mark.parametrize("name", ["002_f069c684a2257eab.txt", "003_454ce7a33fabd665.txt"])
def test_a_decision_in_prose_has_no_att_satser_to_suggest(name: str) -> None:
    # Huddinge's decisions retell the motion in prose ("föreslår motionären att Huddinge
    # kommun skyndsamt inleder ..."): no list, so nothing is offered.
    found = suggest(seed(name))
    assert found.att_satser == ()
    assert ("Bo Källströms", "L") not in found.motionarer  # a genitive is not a new name


def test_a_motion_with_a_dash_list_and_one_signature() -> None:
    text = (
        "Motion om bättre cykelparkering\n"
        "Många pendlar med cykel till tåget.\n\n"
        "Med anledning av ovanstående föreslår jag kommunfullmäktige besluta\n\n"
        "- att trafiknämnden får i uppdrag att bygga fler cykelställ vid\n"
        "  stationerna,\n"
        "- att cykelställen ska gå att låsa.\n\n"
        "Stockholm den 3 mars 2026\n\n"
        "Eva Ek (MP)\n"
    )
    found = suggest(text)
    assert found.att_satser == (
        "att trafiknämnden får i uppdrag att bygga fler cykelställ vid stationerna",
        "att cykelställen ska gå att låsa",
    )
    assert found.motionarer == (("Eva Ek", "MP"),)


def test_a_yrkande_heading_with_numbered_att_lines() -> None:
    text = (
        "Vi yrkar att kommunfullmäktige beslutar:\n"
        "1. Att en utredning om fler bänkar tillsätts\n"
        "2. att resultatet redovisas för kommunstyrelsen\n"
        "\n\nAnna Andersson (S)     Per-Olof Berg (V)\n"
    )
    found = suggest(text)
    assert found.att_satser == (
        "att en utredning om fler bänkar tillsätts",
        "att resultatet redovisas för kommunstyrelsen",
    )
    assert found.motionarer == (("Anna Andersson", "S"), ("Per-Olof Berg", "V"))


def test_text_without_proposals_suggests_nothing() -> None:
    assert not suggest("Ett protokoll.\nOrdföranden förklarar sammanträdet öppnat.")


def test_only_the_first_part_of_a_huge_text_is_read() -> None:
    text = "x " * MAX_TEXT + "\nVi föreslår att kommunfullmäktige beslutar\natt något görs\n"
    assert suggest(text).att_satser == ()
