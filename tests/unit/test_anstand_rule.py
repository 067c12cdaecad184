"""The dates an anstånd may be asked for or granted (issue 17, point 8)."""

from __future__ import annotations

import datetime as dt

import pytest

from remiss.answers.anstand import check_anstand_date, latest_anstand_date

DEADLINE = dt.date(2027, 1, 29)  # a Friday; 60 days later is Tuesday 2027-03-30


def check(
    day: dt.date,
    *,
    current: dt.date = DEADLINE,
    max_days: int = 60,
    vackt: dt.date | None = None,
) -> str | None:
    return check_anstand_date(
        day, current_deadline=current, round_deadline=DEADLINE, max_days=max_days, vackt=vackt
    ).refusal


def test_exactly_the_longest_anstand_is_allowed() -> None:
    assert latest_anstand_date(round_deadline=DEADLINE, max_days=60, vackt=None)[0] == dt.date(
        2027, 3, 30
    )
    assert check(dt.date(2027, 3, 30)) is None


def test_one_day_over_the_longest_anstand_is_refused() -> None:
    refusal = check(dt.date(2027, 3, 31))
    assert refusal == (
        "Anstånd kan ges till och med 30 mars 2027 (60 dagar efter remissens svarsdag "
        "29 januari 2027). Välj ett tidigare datum."
    )


def test_9999_12_31_is_refused() -> None:
    refusal = check(dt.date(9999, 12, 31))
    assert refusal is not None
    assert refusal.startswith("Anstånd kan ges till och med 30 mars 2027")


@pytest.mark.parametrize("day", [dt.date(2027, 1, 29), dt.date(2027, 1, 28), dt.date(2026, 1, 7)])
def test_a_date_on_or_before_the_deadline_is_refused(day: dt.date) -> None:
    assert check(day) == (
        "Det nya datumet måste vara senare än nuvarande svarsdag, 29 januari 2027."
    )


def test_the_bound_counts_from_the_rounds_deadline_not_from_an_earlier_anstand() -> None:
    moved = dt.date(2027, 3, 1)
    assert check(dt.date(2027, 3, 30), current=moved) is None
    assert check(dt.date(2027, 3, 31), current=moved) is not None


def test_a_motions_one_year_limit_earlier_than_the_longest_anstand_wins() -> None:
    vackt = dt.date(2026, 2, 15)  # the limit is Monday 2027-02-15
    assert latest_anstand_date(round_deadline=DEADLINE, max_days=60, vackt=vackt)[0] == dt.date(
        2027, 2, 15
    )
    assert check(dt.date(2027, 2, 15), vackt=vackt) is None
    refusal = check(dt.date(2027, 2, 16), vackt=vackt)
    assert refusal is not None
    assert refusal.startswith(
        "Anstånd kan ges till och med 15 februari 2027 (motionen väcktes 15 februari 2026"
    )
    assert "kommunallagen 5 kap. 35 §" in refusal
    # A limit later than the longest anstånd changes nothing.
    assert check(dt.date(2027, 3, 30), vackt=dt.date(2026, 10, 19)) is None


def test_the_latest_date_is_a_working_day() -> None:
    # The motion's limit falls on Saturday 2027-02-13: the Friday before is the last.
    vackt = dt.date(2026, 2, 13)
    assert latest_anstand_date(round_deadline=DEADLINE, max_days=60, vackt=vackt)[0] == dt.date(
        2027, 2, 12
    )
    # 37 days after 2027-03-30 is Kristi himmelsfärds dag (Thursday 2027-05-06).
    latest, _ = latest_anstand_date(round_deadline=dt.date(2027, 3, 30), max_days=37, vackt=None)
    assert latest == dt.date(2027, 5, 5)


def test_a_date_within_the_bounds_must_be_a_working_day() -> None:
    refusal = check(dt.date(2027, 2, 13))
    assert refusal is not None
    assert refusal.startswith("Datumet är ingen arbetsdag (lördag)")


def test_no_later_date_is_possible_once_the_bound_is_reached() -> None:
    refusal = check(dt.date(2027, 4, 5), current=dt.date(2027, 3, 30))
    assert refusal == (
        "Svarsdagen kan inte flyttas längre än till 30 mars 2027 (60 dagar efter remissens "
        "svarsdag 29 januari 2027); nuvarande svarsdag är 30 mars 2027."
    )
