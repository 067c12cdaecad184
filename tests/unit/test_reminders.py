"""The reminder rules, as properties over many years of Swedish dates.

A sweep is simulated in memory: at each sweep time `due_stage` says what to send, and
what was sent is fed back as `sent_stages`, exactly as the database does it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remiss.core.dates import deadline_end, is_working_day
from remiss.core.errors import InputError
from remiss.reminders.policy import (
    ESKALERING,
    FORE,
    SEN,
    DispatchFacts,
    Policy,
    Stage,
    due_stage,
    next_reminder_at,
    parse_policy,
    schedule,
)

TZ = "Europe/Stockholm"
STOCKHOLM = ZoneInfo(TZ)
UTC = dt.UTC
DEFAULT = Policy()

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- Helpers that do not use the code under test --------------------------------------------


def local(instant: dt.datetime) -> dt.datetime:
    return instant.astimezone(STOCKHOLM)


def at_local(day: dt.date, hour: int, minute: int) -> dt.datetime:
    """A local wall-clock time as UTC (only for times that exist: working days have no gap)."""
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=STOCKHOLM).astimezone(UTC)


def working_days_between(first: dt.date, last: dt.date) -> int:
    """Working days d with first <= d <= last, counted one day at a time."""
    count = 0
    day = first
    while day <= last:
        count += is_working_day(day)
        day += dt.timedelta(days=1)
    return count


def days(start: dt.date, end: dt.date) -> Iterable[dt.date]:
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


def daily_sweeps(policy: Policy, start: dt.date, end: dt.date) -> list[dt.datetime]:
    """The scheduled sweep: every working day at the policy's hour."""
    hour, minute = policy.hour_minute
    return [at_local(d, hour, minute) for d in days(start, end) if is_working_day(d)]


def key(stage: Stage) -> tuple[str, int]:
    return stage.message_kind, stage.message_stage


@dataclass(frozen=True)
class Sent:
    at: dt.datetime
    stage: Stage


def sweep(
    facts: DispatchFacts, policy: Policy, times: Sequence[dt.datetime]
) -> tuple[list[Sent], DispatchFacts]:
    """Run the rules at each time, feeding back what was sent; checks the invariants that
    hold at every single sweep, including that the indexed next_reminder_at never hides a
    due reminder from the database's query."""
    sent: list[Sent] = []
    stages = schedule(facts.deadline, policy, TZ)
    for now in times:
        upcoming = next_reminder_at(facts, policy, TZ)
        stage = due_stage(facts, policy, TZ, now)
        if stage is None:
            continue
        assert upcoming is not None, "a due reminder must be visible to the indexed query"
        assert upcoming <= now, "a due reminder must be visible to the indexed query"
        assert key(stage) not in facts.sent_stages, "never two reminders for one stage"
        assert stage in stages
        facts = replace(facts, sent_stages=facts.sent_stages | {key(stage)})
        sent.append(Sent(now, stage))
        after = next_reminder_at(facts, policy, TZ)
        handled = [s.due_at for s in stages if key(s) in facts.sent_stages]
        if after is not None:
            assert after in {s.due_at for s in stages}, "the next time is a stage's time"
            assert after > now, "after a send, the next look is in the future"
            assert after > max(handled), "never before the latest handled stage"
    return sent, facts


# --- Strategies --------------------------------------------------------------------------

KLOCKSLAG = ["08:00", "07:30", "09:15", "12:00", "00:00", "02:30", "23:59"]
deadlines = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2040, 12, 31))


def last_sunday(year: int, month: int) -> dt.date:
    day = dt.date(year, month, 31)
    return day - dt.timedelta(days=(day.weekday() + 1) % 7)


# Deadlines within three weeks of a daylight-saving change (last Sunday of March/October).
dst_deadlines = st.builds(
    lambda year, month, offset: last_sunday(year, month) + dt.timedelta(days=offset),
    st.integers(2024, 2040),
    st.sampled_from([3, 10]),
    st.integers(-21, 21),
)
any_deadline = st.one_of(deadlines, dst_deadlines)


@st.composite
def policies(draw: st.DrawFn, *, same_day_escalation: bool = False) -> Policy:
    fore = draw(st.lists(st.integers(1, 25), max_size=3))
    efter = draw(st.lists(st.integers(1, 12), max_size=2))
    eskalering = draw(st.lists(st.integers(1, 12), max_size=2))
    if not same_day_escalation:
        # See test_escalation_on_the_same_day_as_a_late_reminder_is_not_lost (a known bug).
        eskalering = [n for n in eskalering if n not in efter]
    return parse_policy(
        {
            "klockslag": draw(st.sampled_from(KLOCKSLAG)),
            "fore_svarsdag": fore,
            "efter_svarsdag": efter,
            "eskalering_efter": eskalering,
        },
        source="test",
    )


@st.composite
def sent_before(draw: st.DrawFn, deadline: dt.date) -> dt.datetime:
    """When the remiss went out: some time (any minute, any day) up to ten weeks ahead."""
    day = deadline - dt.timedelta(days=draw(st.integers(1, 70)))
    minute = draw(st.integers(0, 24 * 60 - 1))
    return dt.datetime(day.year, day.month, day.day, tzinfo=UTC) + dt.timedelta(minutes=minute)


def last_day(deadline: dt.date, policy: Policy) -> dt.date:
    """Deadline plus 30 working days, past every stage the strategies draw."""
    day, left = deadline, 30
    while left:
        day += dt.timedelta(days=1)
        left -= is_working_day(day)
    return day


# --- The schedule ------------------------------------------------------------------------


@PROPERTY
@given(deadline=any_deadline, policy=policies(same_day_escalation=True))
def test_every_stage_is_at_the_policy_hour_on_a_working_day(
    deadline: dt.date, policy: Policy
) -> None:
    hour, minute = policy.hour_minute
    for stage in schedule(deadline, policy, TZ):
        assert stage.due_at.utcoffset() == dt.timedelta(0), "stored as UTC"
        when = local(stage.due_at)
        assert is_working_day(when.date()), f"{stage.name} on {when.date()}"
        assert (when.hour, when.minute, when.second) == (hour, minute, 0), (
            "daylight saving never moves the hour"
        )
        assert stage.deadline == deadline


@PROPERTY
@given(deadline=any_deadline, policy=policies(same_day_escalation=True))
def test_each_stage_is_its_number_of_working_days_from_the_deadline(
    deadline: dt.date, policy: Policy
) -> None:
    for stage in schedule(deadline, policy, TZ):
        day = local(stage.due_at).date()
        if stage.kind == FORE:
            assert day < deadline
            assert working_days_between(day, deadline - dt.timedelta(days=1)) == stage.days
            assert stage.due_at < deadline_end(deadline, TZ)
        else:
            assert stage.kind in (SEN, ESKALERING)
            assert day > deadline
            assert working_days_between(deadline + dt.timedelta(days=1), day) == stage.days
            assert stage.due_at > deadline_end(deadline, TZ)


@PROPERTY
@given(deadline=any_deadline, policy=policies(same_day_escalation=True))
def test_a_schedule_has_one_distinct_stage_per_policy_entry_in_time_order(
    deadline: dt.date, policy: Policy
) -> None:
    stages = schedule(deadline, policy, TZ)
    expected = (
        {(FORE, n) for n in policy.fore_svarsdag}
        | {(SEN, n) for n in policy.efter_svarsdag}
        | {(ESKALERING, n) for n in policy.eskalering_efter}
    )
    assert {(s.kind, s.days) for s in stages} == expected
    assert len({key(s) for s in stages}) == len(stages) == len(expected)
    assert [s.due_at for s in stages] == sorted(s.due_at for s in stages)
    assert all(s.message_stage == int(deadline.strftime("%Y%m%d")) for s in stages)


@PROPERTY
@given(first=any_deadline, later=st.integers(1, 400), policy=policies())
def test_two_deadlines_never_share_a_stage(first: dt.date, later: int, policy: Policy) -> None:
    second = first + dt.timedelta(days=later)
    old = {key(s) for s in schedule(first, policy, TZ)}
    new = {key(s) for s in schedule(second, policy, TZ)}
    assert not old & new


# --- The sweep, simulated ------------------------------------------------------------------


@PROPERTY
@given(data=st.data(), deadline=any_deadline, policy=policies())
def test_a_daily_sweep_sends_every_stage_once_on_its_day(
    data: st.DataObject, deadline: dt.date, policy: Policy
) -> None:
    sent_at = data.draw(sent_before(deadline))
    facts = DispatchFacts(deadline=deadline, sent_at=sent_at, done=False)
    times = daily_sweeps(policy, local(sent_at).date(), last_day(deadline, policy))
    sent, final = sweep(facts, policy, times)

    expected = [s for s in schedule(deadline, policy, TZ) if s.due_at > sent_at]
    assert [x.stage for x in sent] == expected, "every stage after the send, none before"
    for x in sent:
        assert x.at == x.stage.due_at, "sent at the sweep of its own day"
        assert is_working_day(local(x.at).date())
        if x.stage.kind == FORE:
            assert x.at < deadline_end(deadline, TZ)
        else:
            assert x.at > deadline_end(deadline, TZ)
    assert next_reminder_at(final, policy, TZ) is None, "nothing left to look at"


@PROPERTY
@given(
    data=st.data(),
    deadline=any_deadline,
    policy=policies(same_day_escalation=True),
    offsets=st.lists(st.integers(0, 130 * 24 * 60), min_size=1, max_size=60),
)
def test_sweeps_at_any_time_never_send_twice_nor_on_a_day_off(
    data: st.DataObject,
    deadline: dt.date,
    policy: Policy,
    offsets: list[int],
) -> None:
    """Hand runs (`remiss remind --as-of`) at any minute, weekends and holidays included."""
    sent_at = data.draw(sent_before(deadline))
    facts = DispatchFacts(deadline=deadline, sent_at=sent_at, done=False)
    times = sorted(sent_at + dt.timedelta(minutes=m) for m in offsets)
    sent, _ = sweep(facts, policy, times)

    assert len({key(x.stage) for x in sent}) == len(sent)
    assert [x.stage.due_at for x in sent] == sorted({x.stage.due_at for x in sent}), (
        "a sweep never goes back to an earlier stage"
    )
    for x in sent:
        assert is_working_day(local(x.at).date()), f"sent on {local(x.at).date()}"
        assert sent_at < x.stage.due_at <= x.at
        if x.stage.kind != FORE:
            assert x.at > deadline_end(deadline, TZ), "no 'late' reminder before the deadline"


@PROPERTY
@given(
    data=st.data(),
    deadline=any_deadline,
    policy=policies(same_day_escalation=True),
    offsets=st.lists(st.integers(0, 130 * 24 * 60), min_size=1, max_size=40),
)
def test_a_done_or_unsent_dispatch_gets_nothing(
    data: st.DataObject, deadline: dt.date, policy: Policy, offsets: list[int]
) -> None:
    sent_at = data.draw(sent_before(deadline))
    times = [sent_at + dt.timedelta(minutes=m) for m in offsets]
    times += daily_sweeps(policy, local(sent_at).date(), last_day(deadline, policy))
    done = DispatchFacts(deadline=deadline, sent_at=sent_at, done=True)
    unsent = DispatchFacts(deadline=deadline, sent_at=None, done=False)
    for facts in (done, unsent):
        assert next_reminder_at(facts, policy, TZ) is None
        assert all(due_stage(facts, policy, TZ, now) is None for now in times)


@PROPERTY
@given(
    data=st.data(),
    deadline=any_deadline,
    policy=policies(),
    decided_after=st.integers(0, 90),
    moved_by=st.integers(1, 60),
)
def test_an_anstand_moves_the_whole_schedule(
    data: st.DataObject,
    deadline: dt.date,
    policy: Policy,
    decided_after: int,
    moved_by: int,
) -> None:
    sent_at = data.draw(sent_before(deadline))
    decided_at = sent_at + dt.timedelta(days=decided_after, minutes=data.draw(st.integers(0, 1439)))
    new_deadline = max(deadline, local(decided_at).date()) + dt.timedelta(days=moved_by)
    times = daily_sweeps(policy, local(sent_at).date(), last_day(new_deadline, policy))
    before = [t for t in times if t < decided_at]
    after = [t for t in times if t >= decided_at]

    facts = DispatchFacts(deadline=deadline, sent_at=sent_at, done=False)
    sent_old, facts = sweep(facts, policy, before)
    moved = replace(facts, deadline=new_deadline, anstand_decided_at=decided_at)
    sent_new, final = sweep(moved, policy, after)

    old_keys = {key(x.stage) for x in sent_old}
    new_keys = {key(x.stage) for x in sent_new}
    assert not old_keys & new_keys, "a new deadline gives new stages"
    assert all(x.stage.deadline == deadline for x in sent_old)
    for x in sent_new:
        assert x.stage.deadline == new_deadline, "nothing for the old deadline after an anstånd"
        assert is_working_day(local(x.at).date())
        if x.stage.kind != FORE:
            assert x.at > deadline_end(new_deadline, TZ), "not 'late' before the new deadline"
    # Every stage of the new schedule that falls after the decision goes out on its day.
    new_schedule = schedule(new_deadline, policy, TZ)
    upcoming = [s for s in new_schedule if s.due_at > max(decided_at, sent_at)]
    assert [x for x in sent_new if x.stage in upcoming] == [Sent(s.due_at, s) for s in upcoming]
    # Stages already past at the decision are not sent as a catch-up.
    assert [x for x in sent_new if x.stage not in upcoming] == []
    assert next_reminder_at(final, policy, TZ, now=times[-1] if times else None) is None


# --- Examples: holidays, Easter and daylight saving ------------------------------------------


def due_local(deadline: dt.date, policy: Policy = DEFAULT) -> dict[str, str]:
    return {
        s.name: local(s.due_at).isoformat(timespec="minutes")
        for s in schedule(deadline, policy, TZ)
    }


def test_julafton_and_the_christmas_holidays_are_skipped() -> None:
    # Deadline Wednesday 23 December 2026; 24-27 Dec are julafton, juldagen, annandag jul
    # (a Saturday) and a Sunday; nyårsafton, nyårsdagen and trettondedagen follow.
    assert due_local(dt.date(2026, 12, 23)) == {
        "fore10": "2026-12-09T08:00+01:00",
        "fore2": "2026-12-21T08:00+01:00",
        "sen1": "2026-12-28T08:00+01:00",
        "eskalering5": "2027-01-05T08:00+01:00",
    }


def test_a_stage_that_would_fall_on_julafton_goes_out_on_the_next_working_day() -> None:
    # 2 working days after Monday 21 December 2026 would be the 23rd, 1 after the 22nd,
    # and the next one is not julafton but Monday the 28th.
    policy = parse_policy({"efter_svarsdag": [1, 2, 3]}, source="test")
    stages = due_local(dt.date(2026, 12, 21), policy)
    assert stages["sen1"] == "2026-12-22T08:00+01:00"
    assert stages["sen2"] == "2026-12-23T08:00+01:00"
    assert stages["sen3"] == "2026-12-28T08:00+01:00"


def test_midsommarafton_is_not_a_working_day() -> None:
    # Deadline Thursday 18 June 2026; Friday 19 June is midsommarafton.
    assert due_local(dt.date(2026, 6, 18)) == {
        "fore10": "2026-06-04T08:00+02:00",
        "fore2": "2026-06-16T08:00+02:00",
        "sen1": "2026-06-22T08:00+02:00",
        "eskalering5": "2026-06-26T08:00+02:00",
    }


def test_a_deadline_on_easter_monday_across_the_change_to_summer_time() -> None:
    # 2027: långfredagen 26 March, påskdagen and summer time 28 March, annandag påsk 29 March.
    # Before the change 08:00 is 07:00 UTC, after it 06:00 UTC: the local hour stays.
    stages = {s.name: s for s in schedule(dt.date(2027, 3, 29), DEFAULT, TZ)}
    assert stages["fore2"].due_at == dt.datetime(2027, 3, 24, 7, 0, tzinfo=UTC)
    assert stages["sen1"].due_at == dt.datetime(2027, 3, 30, 6, 0, tzinfo=UTC)
    assert stages["eskalering5"].due_at == dt.datetime(2027, 4, 5, 6, 0, tzinfo=UTC)
    assert local(stages["fore10"].due_at).isoformat() == "2027-03-12T08:00:00+01:00"


def test_a_deadline_on_the_monday_after_easter_week() -> None:
    # Monday 5 April 2027: counting back, fore10 skips annandag påsk (29 March) and
    # långfredagen (26 March), and lands before the change to summer time.
    assert due_local(dt.date(2027, 4, 5)) == {
        "fore10": "2027-03-18T08:00+01:00",
        "fore2": "2027-04-01T08:00+02:00",
        "sen1": "2027-04-06T08:00+02:00",
        "eskalering5": "2027-04-12T08:00+02:00",
    }


def test_the_change_back_to_winter_time_keeps_the_hour() -> None:
    # Winter time starts Sunday 25 October 2026: 08:00 is 06:00 UTC before, 07:00 UTC after.
    stages = {s.name: s for s in schedule(dt.date(2026, 10, 27), DEFAULT, TZ)}
    assert stages["fore2"].due_at == dt.datetime(2026, 10, 23, 6, 0, tzinfo=UTC)
    assert stages["sen1"].due_at == dt.datetime(2026, 10, 28, 7, 0, tzinfo=UTC)


def test_nothing_goes_out_on_a_weekend_even_when_a_stage_is_past() -> None:
    deadline = dt.date(2026, 12, 18)  # a Friday; fore2 is Wednesday 16 December
    facts = DispatchFacts(
        deadline=deadline, sent_at=dt.datetime(2026, 11, 23, 8, 0, tzinfo=UTC), done=False
    )
    saturday = at_local(dt.date(2026, 12, 19), 9, 0)
    assert due_stage(facts, DEFAULT, TZ, saturday) is None
    monday = at_local(dt.date(2026, 12, 21), 8, 0)
    stage = due_stage(facts, DEFAULT, TZ, monday)
    assert stage is not None
    assert stage.name == "sen1", "the latest due stage only: one e-mail, not a pile"
    # Just before sen1, after the deadline: the missed "svar senast" reminder is not sent.
    assert due_stage(facts, DEFAULT, TZ, monday - dt.timedelta(seconds=1)) is None
    early = due_stage(facts, DEFAULT, TZ, at_local(dt.date(2026, 12, 17), 7, 59))
    assert early is not None
    assert early.name == "fore2"


def test_stages_due_before_the_remiss_went_out_are_not_sent() -> None:
    deadline = dt.date(2026, 12, 18)
    sent_at = at_local(dt.date(2026, 12, 10), 14, 0)  # after fore10 (4 December)
    facts = DispatchFacts(deadline=deadline, sent_at=sent_at, done=False)
    assert due_stage(facts, DEFAULT, TZ, at_local(dt.date(2026, 12, 11), 8, 0)) is None
    upcoming = next_reminder_at(facts, DEFAULT, TZ)
    assert upcoming == at_local(dt.date(2026, 12, 16), 8, 0)


# --- Bugs found by these tests, now fixed ------------------------------------------------------


def test_escalation_on_the_same_day_as_a_late_reminder_is_not_lost() -> None:
    policy = parse_policy({"efter_svarsdag": [1], "eskalering_efter": [1]}, source="test")
    deadline = dt.date(2026, 12, 18)
    facts = DispatchFacts(
        deadline=deadline, sent_at=at_local(dt.date(2026, 11, 23), 9, 0), done=False
    )
    times = daily_sweeps(policy, dt.date(2026, 11, 23), dt.date(2027, 1, 31))
    sent, _ = sweep(facts, policy, times)
    assert ESKALERING in {x.stage.kind for x in sent}


def test_no_reminder_before_the_deadline_goes_out_after_it() -> None:
    deadline = dt.date(2026, 12, 18)  # Friday; fore2 Wednesday 16 Dec, sen1 Monday 21 Dec
    facts = DispatchFacts(
        deadline=deadline, sent_at=at_local(dt.date(2026, 11, 23), 9, 0), done=False
    )
    early_monday = at_local(dt.date(2026, 12, 21), 7, 0)  # `remiss remind --as-of` by hand
    assert early_monday > deadline_end(deadline, TZ)
    assert due_stage(facts, DEFAULT, TZ, early_monday) is None


def test_an_anstand_does_not_send_a_stage_already_past_at_the_decision() -> None:
    # Deadline 29 Jan 2027; on Thursday 28 Jan anstånd to Wednesday 3 Feb. fore10 for the
    # new deadline was 20 Jan, before anyone knew of it; fore2 is 1 Feb.
    sent_at = at_local(dt.date(2026, 12, 1), 9, 0)
    facts = DispatchFacts(
        deadline=dt.date(2027, 2, 3),
        sent_at=sent_at,
        done=False,
        anstand_decided_at=at_local(dt.date(2027, 1, 28), 11, 0),
    )
    facts = replace(
        facts,
        sent_stages=frozenset(
            key(s) for s in schedule(dt.date(2027, 1, 29), DEFAULT, TZ) if s.kind == FORE
        ),
    )
    stage = due_stage(facts, DEFAULT, TZ, at_local(dt.date(2027, 1, 29), 8, 0))
    assert stage is None, f"sent {stage.name if stage else ''} due {stage.due_at if stage else ''}"


# --- parse_policy ------------------------------------------------------------------------


def test_parse_policy_keeps_the_base_and_normalises_lists() -> None:
    policy = parse_policy(
        {"fore_svarsdag": [2, 10, 2, 5], "efter_svarsdag": None}, source="test", base=DEFAULT
    )
    assert policy.fore_svarsdag == (10, 5, 2)
    assert policy.efter_svarsdag == ()
    assert policy.eskalering_efter == DEFAULT.eskalering_efter
    assert policy.klockslag == "08:00"
    assert parse_policy({}, source="test") == DEFAULT
    assert parse_policy({"klockslag": "23:59"}, source="test").hour_minute == (23, 59)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"fore_svarsdagar": [10]}, "fore_svarsdagar"),
        ({"klockslag": "8:00"}, "klockslag"),
        ({"klockslag": "24:00"}, "klockslag"),
        ({"klockslag": "08:60"}, "klockslag"),
        ({"klockslag": 800}, "klockslag"),
        ({"klockslag": None}, "klockslag"),
        ({"fore_svarsdag": [0]}, "fore_svarsdag"),
        ({"fore_svarsdag": [-2]}, "fore_svarsdag"),
        ({"fore_svarsdag": 10}, "fore_svarsdag"),
        ({"fore_svarsdag": "10, 2"}, "fore_svarsdag"),
        ({"efter_svarsdag": [True]}, "efter_svarsdag"),
        ({"efter_svarsdag": [1.5]}, "efter_svarsdag"),
        ({"eskalering_efter": ["5"]}, "eskalering_efter"),
        ({"arbetsdagar_efter_sammantrade": -1}, "arbetsdagar_efter_sammantrade"),
        ({"arbetsdagar_efter_sammantrade": True}, "arbetsdagar_efter_sammantrade"),
        ({"arbetsdagar_efter_sammantrade": "3"}, "arbetsdagar_efter_sammantrade"),
    ],
)
def test_parse_policy_rejects_bad_input_naming_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as info:
        parse_policy(data, source="arende.yaml", prefix="paminnelser.")
    assert info.value.field == "paminnelser." + field
    assert info.value.source == "arende.yaml"
    assert f"fältet paminnelser.{field}" in str(info.value)
