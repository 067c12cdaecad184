"""Jinja2 environment for e-mails (and later pages and reports), with Swedish filters."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from remiss.core import dates, language, terms


def swedish_list(items: list[str] | tuple[str, ...]) -> str:
    """'a, b och c'."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} och {items[-1]}"


def file_size(size: int) -> str:
    if size < 1024:
        return f"{size} byte"
    if size < 1024 * 1023.5:
        return f"{round(size / 1024)} kB"
    return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")


def first_upper(text: str) -> str:
    """Capital first letter, the rest untouched (Jinja's capitalize lowers names)."""
    return text[:1].upper() + text[1:]


def iso_date(text: str) -> str:
    """'2025-08-26' (as the status document holds dates) -> '26 augusti 2025'."""
    return dates.swedish_date(dt.date.fromisoformat(text[:10]))


def iso_instant(text: str, tz: str = dates.DEFAULT_TZ) -> str:
    """'2025-08-26T12:05:00Z' (the status document's instants) -> '26 augusti 2025 kl. 14.05'."""
    return dates.swedish_datetime(dt.datetime.fromisoformat(text), tz)


def iso_day(text: str, tz: str = dates.DEFAULT_TZ) -> str:
    """'2026-12-05T22:33:00Z' -> '5 december 2026': the local day of an instant, for prose
    (slicing the UTC string would give the wrong day late in the evening)."""
    instant = dt.datetime.fromisoformat(text)
    return dates.swedish_date(dates.local_today(instant, tz))


@lru_cache(maxsize=4)
def environment(templates_dir: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(templates_dir),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["datum"] = dates.swedish_date
    env.filters["tidpunkt"] = dates.swedish_datetime
    env.filters["lista"] = swedish_list
    env.filters["filstorlek"] = file_size
    env.filters["forsta_versal"] = first_upper
    env.filters["iso_datum"] = iso_date
    env.filters["att_sats"] = lambda text, last: language.list_item(text, last=last)
    env.filters["forslagsstallare"] = language.proposers
    env.filters["iso_tidpunkt"] = iso_instant
    env.filters["iso_dag"] = iso_day
    # A nämnd's name inside a sentence, lower case per Svenska skrivregler; not in headings,
    # addresses ("Till Socialnämnden") or at the start of a sentence.
    env.filters["i_mening"] = language.in_sentence
    # A count in prose: numbers under thirteen as words ("tre av tolv har svarat").
    env.filters["tal"] = language.number
    # Any position code to its label, the placeholder of an unreviewed answer included.
    env.filters["stallning"] = terms.position_label
    return env
