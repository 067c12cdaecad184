"""Rules that help pick a deadline: nämnder's meetings, and a motion's one-year limit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from remiss.core import dates
from remiss.register.instances import Remissinstans


@dataclass(frozen=True)
class MeetingCheck:
    warnings: tuple[str, ...]
    earliest_deadline: dt.date | None  # None: some nämnd has no meeting after the send date


def check_meetings(
    recipients: tuple[Remissinstans, ...] | list[Remissinstans],
    *,
    send_date: dt.date,
    deadline: dt.date,
    days_after_meeting: int,
) -> MeetingCheck:
    """Warn for each nämnd with a sammanträdesplan but no meeting in time for the deadline.

    A meeting counts if the nämnd can send its answer `days_after_meeting` working days
    after it, no later than the deadline.
    """
    warnings = []
    needed: list[dt.date] = []
    missing_plan = False
    for inst in recipients:
        if not inst.meetings:
            continue
        ready = [
            dates.add_working_days(m, days_after_meeting) for m in inst.meetings if m >= send_date
        ]
        if not ready:
            missing_plan = True
            warnings.append(
                f"{inst.name} har inget inlagt sammanträde efter {dates.swedish_date(send_date)}."
            )
            continue
        needed.append(ready[0])
        if not any(r <= deadline for r in ready):
            warnings.append(
                f"{inst.name} har inget sammanträde mellan {dates.swedish_date(send_date)} och "
                f"{dates.swedish_date(deadline)} som ger tid att svara (efter nästa "
                f"sammanträde kan svaret komma in tidigast {dates.swedish_date(ready[0])})."
            )
    earliest = None if missing_plan or not needed else max(needed)
    return MeetingCheck(tuple(warnings), earliest)


def motion_limit(vackt: dt.date) -> dt.date:
    """A motion should be decided within a year of being väckt (kommunallagen 5 kap. 35 §)."""
    return dates.add_months(vackt, 12)


def motion_warning(vackt: dt.date, today: dt.date) -> bool:
    """Fewer than three months are left of that year."""
    return today >= dates.add_months(motion_limit(vackt), -3)
