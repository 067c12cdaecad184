"""`remiss remind`: the reminders due now, or at a given time, each sent once."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from remiss.cli.app import current_settings, out, run_flow, user_errors
from remiss.cli.swedish import option
from remiss.core import dates
from remiss.core.errors import InputError
from remiss.db.engine import session_scope
from remiss.outbox.outcomes import problems, summary
from remiss.reminders import sweep as reminding
from remiss.rounds import start as rounds_start


def _as_of(text: str | None, tz: str) -> dt.datetime:
    """ÅÅÅÅ-MM-DD, ÅÅÅÅ-MM-DD TT:MM or ISO 8601; without a zone, local time."""
    if not text:
        return dates.utcnow()
    try:
        parsed = dt.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InputError(
            "ska vara en tidpunkt, till exempel 2027-01-05 08:00",
            source="kommandoraden",
            field="--tidpunkt",
            value=text,
        ) from exc
    if parsed.tzinfo is None:
        return dates.local_instant(parsed.date(), parsed.hour, parsed.minute, tz)
    return parsed.astimezone(dt.UTC)


def remind(
    as_of: Annotated[
        str | None,
        option(
            "--tidpunkt",
            "--as-of",
            metavar="TIDPUNKT",
            help="Som om klockan vore (t.ex. 2027-01-05 08:00).",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        option(
            "--bara-visa",
            "--dry-run",
            help="Visa vad som skulle skickas och till vem, skicka inget.",
        ),
    ] = False,
) -> None:
    """Skicka de påminnelser som ska gå ut nu (eller vid --tidpunkt), var och en en gång."""
    settings = current_settings()
    with user_errors():
        now = _as_of(as_of, settings.timezone)
        rounds_start.ensure_schema(settings)
    when = dates.swedish_datetime(now, settings.timezone)
    if dry_run:
        with user_errors(), session_scope(settings.database_url) as session:
            planned = [
                p
                for d in reminding.due_dispatch_ids(session, now=now)
                if (p := reminding.plan(session, dispatch_id=d, now=now, tz=settings.timezone))
                is not None
            ]
        if not planned:
            out.print(f"Inga påminnelser att skicka {when}.")
            return
        table = Table(title=f"Påminnelser som skulle skickas {when} (inget skickas)")
        for column in ("Remissinstans", "Påminnelse", "Till", "Kopia", "Svar senast"):
            table.add_column(column)
        for p in planned:
            table.add_row(
                p.name,
                reminder_label(p.stage.kind, p.stage.days),
                ", ".join(p.to),
                ", ".join(p.cc) or "–",
                p.stage.deadline.isoformat(),
            )
        out.print(table)
        return
    from flows.reminders import remind as remind_flow

    result = run_flow(lambda: remind_flow(now))
    out.print(f"Påminnelser {when}. {summary(result)}", markup=False)
    if problems(result):
        raise typer.Exit(1)


def reminder_label(kind: str, days: int) -> str:
    span = f"{days} arbetsdag{'ar' if days != 1 else ''}"
    return {
        "fore": f"{span} före svarsdagen",
        "sen": f"svaret har inte kommit in ({span} efter)",
        "eskalering": f"eskalering ({span} efter svarsdagen)",
    }[kind]
