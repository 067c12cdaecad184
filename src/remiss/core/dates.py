"""The only module that knows about pendulum and holidays.

Instants are stored as aware UTC datetimes; a deadline is a local date in the
configured zone (Europe/Stockholm) that ends at 23:59:59 local time.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
import pendulum

DEFAULT_TZ = "Europe/Stockholm"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def local_today(now: dt.datetime, tz: str = DEFAULT_TZ) -> dt.date:
    return pendulum.instance(now).in_timezone(tz).date()


@lru_cache(maxsize=64)
def _swedish_holidays(year: int) -> dict[dt.date, str]:
    # Without de_facto, Midsommarafton, julafton and nyårsafton count as working days.
    return dict(
        holidays.country_holidays(
            "SE", years=year, categories=("public", "de_facto"), language="sv"
        )
    )


def holiday_name(day: dt.date) -> str | None:
    """The Swedish name of the holiday on `day`, or None. Plain Sundays are not named."""
    name = _swedish_holidays(day.year).get(day)
    if name == "Söndag":
        return None
    return name


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _swedish_holidays(day.year)


def non_working_reason(day: dt.date) -> str | None:
    """What makes `day` a day off ('julafton', 'lördag'), or None for a working day."""
    name = holiday_name(day)
    if name:
        return name.lower()
    if day.weekday() == 5:
        return "lördag"
    if day.weekday() == 6:
        return "söndag"
    return None


def add_working_days(day: dt.date, count: int) -> dt.date:
    """The working day `count` working days after `day` (before it if negative)."""
    step = 1 if count >= 0 else -1
    remaining = abs(count)
    current = day
    while remaining:
        current += dt.timedelta(days=step)
        if is_working_day(current):
            remaining -= 1
    return current


def local_instant(day: dt.date, hour: int, minute: int, tz: str = DEFAULT_TZ) -> dt.datetime:
    """The UTC instant of a local wall-clock time; a time in the spring DST gap raises."""
    zone = ZoneInfo(tz)
    local = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
    # Round-tripping through UTC exposes times that do not exist (the hour skipped in March).
    if local.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise ValueError(f"{day} {hour:02d}:{minute:02d} does not exist in {tz}")
    return local.astimezone(dt.UTC)


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar months, clamped at the month's end (31 May - 3 months = 28/29 February)."""
    moved = pendulum.date(day.year, day.month, day.day).add(months=months)
    return dt.date(moved.year, moved.month, moved.day)


def deadline_end(day: dt.date, tz: str = DEFAULT_TZ) -> dt.datetime:
    """The instant (UTC) at which a deadline day ends: 23:59:59 local time."""
    local = pendulum.datetime(day.year, day.month, day.day, 23, 59, 59, tz=tz)
    return dt.datetime.fromtimestamp(local.timestamp(), tz=dt.UTC)


def swedish_date(day: dt.date) -> str:
    """'26 augusti 2025'."""
    return pendulum.date(day.year, day.month, day.day).format("D MMMM YYYY", locale="sv")


def swedish_datetime(instant: dt.datetime, tz: str = DEFAULT_TZ) -> str:
    """'26 augusti 2025 kl. 14.05' in local time."""
    local = pendulum.instance(instant).in_timezone(tz)
    return f"{swedish_date(local.date())} kl. {local.format('HH.mm')}"


def iso_local(instant: dt.datetime, tz: str = DEFAULT_TZ) -> str:
    """'2025-08-26 14:05' in local time: the format of tables."""
    return pendulum.instance(instant).in_timezone(tz).format("YYYY-MM-DD HH:mm")


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(text: str) -> dt.date:
    """Strict YYYY-MM-DD; raises ValueError otherwise."""
    if not _ISO_DATE.fullmatch(text.strip()):
        raise ValueError(f"not a date in the form YYYY-MM-DD: {text!r}")
    return dt.date.fromisoformat(text.strip())
