"""The reminder policy and schedule: pure rules that take `now` as an argument.

A reminder stage is identified by its name and the deadline it belongs to, so an
anstånd (a new deadline) gives the dispatch a new schedule, and each stage of each
schedule is sent at most once.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from remiss.core import dates
from remiss.core.errors import InputError
from remiss.core.validation import load_yaml_mapping

FORE = "fore"  # before the deadline
SEN = "sen"  # the answer has not come in
ESKALERING = "eskalering"  # to the escalation contact

_KIND_ORDER = {FORE: 0, SEN: 1, ESKALERING: 2}
_KEYS = {
    "klockslag",
    "fore_svarsdag",
    "efter_svarsdag",
    "eskalering_efter",
    "arbetsdagar_efter_sammantrade",
}
_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


@dataclass(frozen=True)
class Policy:
    klockslag: str = "08:00"
    fore_svarsdag: tuple[int, ...] = (10, 2)
    efter_svarsdag: tuple[int, ...] = (1,)
    eskalering_efter: tuple[int, ...] = (5,)
    arbetsdagar_efter_sammantrade: int = 3

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @property
    def hour_minute(self) -> tuple[int, int]:
        hour, minute = self.klockslag.split(":")
        return int(hour), int(minute)


def parse_policy(
    data: dict[str, Any], *, source: str, prefix: str = "", base: Policy | None = None
) -> Policy:
    """A policy from YAML data; keys not given keep the values of `base`."""
    values = (base or Policy()).to_json()
    for key, value in data.items():
        where = prefix + str(key)
        if key not in _KEYS:
            raise InputError(
                f"okänt fält; tillåtna fält är {', '.join(sorted(_KEYS))}",
                source=source,
                field=where,
            )
        if key == "klockslag":
            if not isinstance(value, str) or not _TIME.fullmatch(value):
                raise InputError(
                    "ska vara ett klockslag TT:MM", source=source, field=where, value=value
                )
        elif key == "arbetsdagar_efter_sammantrade":
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InputError(
                    "ska vara ett heltal, 0 eller mer", source=source, field=where, value=value
                )
        else:
            if value is None:
                value = []
            if not isinstance(value, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value
            ):
                raise InputError(
                    "ska vara en lista med antal arbetsdagar (heltal, minst 1)",
                    source=source,
                    field=where,
                    value=value,
                )
        values[key] = value
    return Policy(
        klockslag=values["klockslag"],
        fore_svarsdag=tuple(sorted(set(values["fore_svarsdag"]), reverse=True)),
        efter_svarsdag=tuple(sorted(set(values["efter_svarsdag"]))),
        eskalering_efter=tuple(sorted(set(values["eskalering_efter"]))),
        arbetsdagar_efter_sammantrade=values["arbetsdagar_efter_sammantrade"],
    )


def load_policy(path: Path) -> Policy:
    return parse_policy(load_yaml_mapping(path, "påminnelsepolicyn"), source=str(path))


@dataclass(frozen=True)
class Stage:
    """One reminder of a schedule: its kind, the working-day offset, and when it is due."""

    kind: str
    days: int
    deadline: dt.date
    due_at: dt.datetime  # UTC

    @property
    def name(self) -> str:
        return f"{self.kind}{self.days}"

    @property
    def message_kind(self) -> str:
        return f"paminnelse_{self.name}"

    @property
    def message_stage(self) -> int:
        """The deadline as YYYYMMDD: a new deadline (anstånd) gives new stages."""
        return self.deadline.year * 10000 + self.deadline.month * 100 + self.deadline.day


def at_local_time(day: dt.date, policy: Policy, tz: str) -> dt.datetime:
    hour, minute = policy.hour_minute
    return dates.local_instant(day, hour, minute, tz)


def schedule(deadline: dt.date, policy: Policy, tz: str) -> list[Stage]:
    """Every reminder stage for a deadline, in time order, each on a working day."""
    return list(_schedule(deadline, policy, tz))


# A sweep of thousands asks for the same few deadlines over and over; the working-day
# arithmetic is the costly part, and a Stage is immutable.
@functools.lru_cache(maxsize=4096)
def _schedule(deadline: dt.date, policy: Policy, tz: str) -> tuple[Stage, ...]:
    stages = [
        Stage(FORE, n, deadline, at_local_time(dates.add_working_days(deadline, -n), policy, tz))
        for n in policy.fore_svarsdag
    ]
    stages += [
        Stage(SEN, n, deadline, at_local_time(dates.add_working_days(deadline, n), policy, tz))
        for n in policy.efter_svarsdag
    ]
    stages += [
        Stage(
            ESKALERING, n, deadline, at_local_time(dates.add_working_days(deadline, n), policy, tz)
        )
        for n in policy.eskalering_efter
    ]
    # On a tie the later kind wins (the escalation over the plain late reminder).
    return tuple(sorted(stages, key=lambda s: (s.due_at, _KIND_ORDER[s.kind])))


@dataclass(frozen=True)
class DispatchFacts:
    """What the rules need to know about a dispatch (no database here)."""

    deadline: dt.date
    sent_at: dt.datetime | None
    done: bool  # answered (also jointly) or declined
    sent_stages: frozenset[tuple[str, int]] = field(default_factory=frozenset)  # (kind, stage)
    # When the latest granted anstånd was decided: its schedule counts from then.
    anstand_decided_at: dt.datetime | None = None

    @property
    def schedule_from(self) -> dt.datetime | None:
        if self.sent_at is None:
            return None
        return max(self.sent_at, self.anstand_decided_at or self.sent_at)


# Building a time zone reads its file each time: a sweep asks these thousands of times
# with the same few arguments.
@functools.lru_cache(maxsize=256)
def _working_day_at(now: dt.datetime, tz: str) -> bool:
    return dates.is_working_day(dates.local_today(now, tz))


@functools.lru_cache(maxsize=4096)
def _deadline_end(deadline: dt.date, tz: str) -> dt.datetime:
    return dates.deadline_end(deadline, tz)


def due_stage(facts: DispatchFacts, policy: Policy, tz: str, now: dt.datetime) -> Stage | None:
    """The reminder to send now, or None.

    Only on a working day; only for a dispatch that has been sent and is neither
    answered nor declined; only stages due after the remiss went out (or after the
    anstånd that set this deadline was granted); and when the sweep has missed
    several, only the latest (one e-mail, not a pile).
    """
    start = facts.schedule_from
    if facts.done or start is None:
        return None
    if not _working_day_at(now, tz):
        return None
    # A "svar senast" reminder is wrong once the deadline has passed.
    deadline_passed = now > _deadline_end(facts.deadline, tz)
    due = [
        s
        for s in schedule(facts.deadline, policy, tz)
        if start < s.due_at <= now and not (s.kind == FORE and deadline_passed)
    ]
    if not due:
        return None
    latest = due[-1]
    if (latest.message_kind, latest.message_stage) in facts.sent_stages:
        return None
    return latest


def next_reminder_at(
    facts: DispatchFacts, policy: Policy, tz: str, now: dt.datetime | None = None
) -> dt.datetime | None:
    """When the sweep next needs to look at this dispatch (the indexed column).

    With `now`, "svar senast" stages are left out once the deadline has passed, as
    due_stage would never send them.
    """
    start = facts.schedule_from
    if facts.done or start is None:
        return None
    stages = schedule(facts.deadline, policy, tz)
    if now is not None and now > _deadline_end(facts.deadline, tz):
        stages = [s for s in stages if s.kind != FORE]
    handled = [s.due_at for s in stages if (s.message_kind, s.message_stage) in facts.sent_stages]
    after = max([start, *handled])
    return next((s.due_at for s in stages if s.due_at > after), None)
