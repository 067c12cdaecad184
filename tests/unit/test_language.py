"""Names and counts inside Swedish sentences: one function for each rule, used everywhere."""

from __future__ import annotations

import pytest

from remiss.core import language


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Socialnämnden", "Socialnämndens"),
        ("Bromma stadsdelsnämnd", "Bromma stadsdelsnämnds"),
        ("Borås", "Borås"),
        ("Kommunala pensionärsrådet", "Kommunala pensionärsrådets"),
        ("Länsstyrelsen i Stockholms län", "Länsstyrelsen i Stockholms läns"),
        ("Fryx", "Fryx"),
        ("Ritz", "Ritz"),
        ("SKR", "SKR:s"),
        ("Stockholm Exergi AB", "Stockholm Exergi AB:s"),
        ("Sveriges yrkesmusikerförbund (SYMF)", "Sveriges yrkesmusikerförbunds (SYMF)"),
        ("Funktionsrätt Stockholms stad (FSS)", "Funktionsrätt Stockholms stads (FSS)"),
        ("Polismyndigheten (region Stockholm)", "Polismyndighetens (region Stockholm)"),
    ],
)
def test_the_genitive_of_a_name(name: str, expected: str) -> None:
    assert language.genitive(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Utbildningsnämnden", "utbildningsnämnden"),
        ("Kommunala pensionärsrådet", "kommunala pensionärsrådet"),
        ("Stadsledningskontoret", "stadsledningskontoret"),
        ("Bromma stadsdelsnämnd", "Bromma stadsdelsnämnd"),
        ("Svenska Bostäder", "Svenska Bostäder"),
        ("Sveriges yrkesmusikerförbund (SYMF)", "Sveriges yrkesmusikerförbund (SYMF)"),
        ("SISAB", "SISAB"),
    ],
)
def test_a_body_inside_a_sentence_is_lower_case_unless_a_proper_name(
    name: str, expected: str
) -> None:
    assert language.in_sentence(name) == expected


def test_numbers_under_thirteen_are_words_and_larger_ones_digits() -> None:
    assert [language.number(n) for n in (0, 1, 2, 12, 13, 40)] == [
        "noll",
        "en",
        "två",
        "tolv",
        "13",
        "40",
    ]
    assert language.number(1, neuter=True) == "ett"
    assert language.count(1, "remissinstans", "remissinstanser") == "en remissinstans"
    assert language.count(5, "remissinstans", "remissinstanser") == "fem remissinstanser"
    assert language.count(1, "svar", "svar", neuter=True) == "ett svar"


def test_one_motionar_proposes_in_the_singular() -> None:
    assert language.proposers(1) == "Motionären"
    assert language.proposers(3) == "Motionärerna"


@pytest.mark.parametrize(
    ("text", "last", "expected"),
    [
        ("att förskolan öppnar", False, "att förskolan öppnar,"),
        ("att förskolan öppnar.", False, "att förskolan öppnar,"),
        ("att reglerna ändras.", True, "att reglerna ändras."),
        ("att reglerna ändras,", True, "att reglerna ändras."),
        ("att reglerna ändras ", True, "att reglerna ändras."),
    ],
)
def test_an_att_sats_in_a_list_never_doubles_its_punctuation(
    text: str, last: bool, expected: str
) -> None:
    assert language.list_item(text, last=last) == expected


def test_a_reason_in_brackets_loses_its_full_stop_and_capital() -> None:
    assert (
        language.parenthetical("Ärendet berör inte rådets frågor.")
        == "(ärendet berör inte rådets frågor)"
    )
    assert language.parenthetical("SKR har redan svarat.") == "(SKR har redan svarat)"
    assert language.parenthetical("Bromma sköter det.") == "(Bromma sköter det)"
