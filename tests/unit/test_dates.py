"""Swedish working days, deadlines that end at midnight in Stockholm, and Swedish dates."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from remiss.core import dates

STOCKHOLM = ZoneInfo("Europe/Stockholm")


# --- Working days --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day",
    [
        dt.date(2026, 11, 23),  # Monday
        dt.date(2026, 11, 27),  # Friday
        dt.date(2026, 4, 30),  # valborgsmässoafton is a working day
        dt.date(2026, 6, 18),  # the day before midsommarafton
        dt.date(2026, 12, 23),  # lillejulafton
        dt.date(2026, 12, 30),
        dt.date(2027, 1, 7),  # after trettondedag jul
    ],
)
def test_ordinary_weekdays_are_working_days(day: dt.date) -> None:
    assert dates.is_working_day(day)
    assert dates.non_working_reason(day) is None
    assert dates.holiday_name(day) is None


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (dt.date(2026, 11, 28), "lördag"),
        (dt.date(2026, 11, 29), "söndag"),
    ],
)
def test_weekends_are_not_working_days(day: dt.date, reason: str) -> None:
    assert not dates.is_working_day(day)
    assert dates.non_working_reason(day) == reason


def test_a_plain_sunday_has_no_holiday_name() -> None:
    assert dates.holiday_name(dt.date(2026, 11, 29)) is None


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (dt.date(2026, 1, 1), "Nyårsdagen"),
        (dt.date(2026, 1, 6), "Trettondedag jul"),
        (dt.date(2026, 4, 3), "Långfredagen"),
        (dt.date(2026, 4, 6), "Annandag påsk"),
        (dt.date(2026, 5, 1), "Första maj"),
        (dt.date(2026, 5, 14), "Kristi himmelsfärdsdag"),
        (dt.date(2025, 6, 6), "Nationaldagen"),  # a Friday in 2025
        (dt.date(2026, 12, 25), "Juldagen"),
        (dt.date(2025, 12, 26), "Annandag jul"),  # the day after Christmas, a Friday
    ],
)
def test_public_holidays_on_weekdays_are_not_working_days(day: dt.date, name: str) -> None:
    assert day.weekday() < 5
    assert not dates.is_working_day(day)
    assert dates.holiday_name(day) == name
    assert dates.non_working_reason(day) == name.lower()


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (dt.date(2026, 6, 19), "Midsommarafton"),
        (dt.date(2026, 12, 24), "Julafton"),
        (dt.date(2026, 12, 31), "Nyårsafton"),
        (dt.date(2025, 6, 20), "Midsommarafton"),
    ],
)
def test_de_facto_holidays_are_not_working_days(day: dt.date, name: str) -> None:
    assert day.weekday() < 5
    assert not dates.is_working_day(day)
    assert dates.holiday_name(day) == name
    reason = dates.non_working_reason(day)
    assert reason is not None
    assert name.lower() in reason


def test_a_holiday_on_a_saturday_is_named_by_the_holiday() -> None:
    midsommardagen = dt.date(2026, 6, 20)
    assert midsommardagen.weekday() == 5
    assert dates.non_working_reason(midsommardagen) == "midsommardagen"


def test_a_holiday_on_a_sunday_is_named_by_the_holiday() -> None:
    pask = dt.date(2026, 4, 5)
    assert pask.weekday() == 6
    assert dates.holiday_name(pask) == "Påskdagen"


# --- add_working_days ----------------------------------------------------------------------


def test_one_working_day_after_a_friday_is_the_monday() -> None:
    assert dates.add_working_days(dt.date(2026, 11, 27), 1) == dt.date(2026, 11, 30)


def test_add_working_days_skips_christmas_and_the_weekend_after_it() -> None:
    # 2025: 24 Wed, 25 Thu, 26 Fri are days off, then a weekend.
    assert dates.add_working_days(dt.date(2025, 12, 23), 1) == dt.date(2025, 12, 29)


def test_add_working_days_skips_new_years_eve_and_day() -> None:
    assert dates.add_working_days(dt.date(2025, 12, 23), 3) == dt.date(2026, 1, 2)
    assert dates.add_working_days(dt.date(2025, 12, 30), 1) == dt.date(2026, 1, 2)


def test_add_working_days_skips_trettondedag_jul() -> None:
    assert dates.add_working_days(dt.date(2026, 1, 5), 1) == dt.date(2026, 1, 7)


def test_negative_working_days_count_backwards_over_the_holidays() -> None:
    assert dates.add_working_days(dt.date(2026, 1, 2), -3) == dt.date(2025, 12, 23)
    assert dates.add_working_days(dt.date(2025, 12, 29), -1) == dt.date(2025, 12, 23)


def test_ten_working_days_is_two_weeks_without_holidays() -> None:
    assert dates.add_working_days(dt.date(2026, 11, 23), 10) == dt.date(2026, 12, 7)


def test_zero_working_days_is_the_same_day() -> None:
    assert dates.add_working_days(dt.date(2026, 11, 23), 0) == dt.date(2026, 11, 23)


def test_add_working_days_always_lands_on_a_working_day() -> None:
    start = dt.date(2026, 12, 18)
    for count in range(1, 15):
        assert dates.is_working_day(dates.add_working_days(start, count))


# --- Deadlines and instants ----------------------------------------------------------------


def test_a_winter_deadline_ends_at_235959_stockholm_time_which_is_utc_plus_one() -> None:
    end = dates.deadline_end(dt.date(2027, 1, 29))
    assert end == dt.datetime(2027, 1, 29, 22, 59, 59, tzinfo=dt.UTC)
    assert end.utcoffset() == dt.timedelta(0)
    local = end.astimezone(STOCKHOLM)
    assert (local.date(), local.time()) == (dt.date(2027, 1, 29), dt.time(23, 59, 59))
    assert local.utcoffset() == dt.timedelta(hours=1)


def test_a_summer_deadline_ends_at_235959_stockholm_time_which_is_utc_plus_two() -> None:
    end = dates.deadline_end(dt.date(2025, 8, 26))
    assert end == dt.datetime(2025, 8, 26, 21, 59, 59, tzinfo=dt.UTC)
    local = end.astimezone(STOCKHOLM)
    assert (local.date(), local.time()) == (dt.date(2025, 8, 26), dt.time(23, 59, 59))
    assert local.utcoffset() == dt.timedelta(hours=2)


def test_a_deadline_on_the_day_summer_time_starts_ends_in_summer_time() -> None:
    # Clocks go forward on 29 March 2026.
    assert dates.deadline_end(dt.date(2026, 3, 29)) == dt.datetime(
        2026, 3, 29, 21, 59, 59, tzinfo=dt.UTC
    )


def test_a_deadline_in_another_timezone_ends_at_its_own_midnight() -> None:
    assert dates.deadline_end(dt.date(2027, 1, 29), tz="Europe/Helsinki") == dt.datetime(
        2027, 1, 29, 21, 59, 59, tzinfo=dt.UTC
    )


def test_utcnow_is_aware_utc() -> None:
    now = dates.utcnow()
    assert now.utcoffset() == dt.timedelta(0)


def test_local_today_is_the_date_in_stockholm_not_in_utc() -> None:
    late_new_years_eve_utc = dt.datetime(2025, 12, 31, 23, 30, tzinfo=dt.UTC)
    assert dates.local_today(late_new_years_eve_utc) == dt.date(2026, 1, 1)
    assert dates.local_today(dt.datetime(2025, 12, 31, 22, 30, tzinfo=dt.UTC)) == dt.date(
        2025, 12, 31
    )


# --- Swedish formats -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (dt.date(2025, 8, 26), "26 augusti 2025"),
        (dt.date(2026, 1, 5), "5 januari 2026"),
        (dt.date(2026, 5, 1), "1 maj 2026"),
        (dt.date(2026, 12, 24), "24 december 2026"),
    ],
)
def test_swedish_date_writes_the_month_in_swedish_without_leading_zero(
    day: dt.date, text: str
) -> None:
    assert dates.swedish_date(day) == text


def test_swedish_datetime_is_local_time_with_kl_and_a_dot() -> None:
    summer = dt.datetime(2025, 8, 26, 12, 5, tzinfo=dt.UTC)
    winter = dt.datetime(2026, 1, 5, 13, 5, tzinfo=dt.UTC)
    assert dates.swedish_datetime(summer) == "26 augusti 2025 kl. 14.05"
    assert dates.swedish_datetime(winter) == "5 januari 2026 kl. 14.05"


def test_iso_local_is_the_table_format_in_local_time() -> None:
    assert dates.iso_local(dt.datetime(2025, 8, 26, 12, 5, tzinfo=dt.UTC)) == "2025-08-26 14:05"


@pytest.mark.parametrize("text", ["2025-08-26", " 2025-08-26 ", "2025-08-26\n"])
def test_parse_date_accepts_iso_dates(text: str) -> None:
    assert dates.parse_date(text) == dt.date(2025, 8, 26)


@pytest.mark.parametrize(
    "text",
    [
        "2025-8-26",
        "26/8/2025",
        "20250826",
        "26 augusti 2025",
        "2025-08-26T00:00",
        "2025-02-30",
        "",
    ],
)
def test_parse_date_rejects_anything_but_yyyy_mm_dd(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        dates.parse_date(text)
