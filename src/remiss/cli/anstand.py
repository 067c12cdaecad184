"""`remiss anstand list|grant|refuse`: deciding on requests for more time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table

from remiss.answers import anstand as anstand_service
from remiss.cli.app import current_settings, out, run_flow, user_errors
from remiss.cli.swedish import SwedishTyper, option
from remiss.core import dates
from remiss.core.errors import InputError
from remiss.db.engine import session_scope
from remiss.outbox.outcomes import SendResult, problems
from remiss.rounds import start as rounds_start
from remiss.rounds.service import find_round

anstand_app = SwedishTyper(help="Besluta om begärda anstånd.", no_args_is_help=True)


@anstand_app.command("list")
def anstand_list(
    round_ref: Annotated[
        str | None,
        typer.Argument(metavar="OMGÅNG", help="Bara en omgång (nummer eller diarienummer)."),
    ] = None,
) -> None:
    """Visa begäranden om anstånd som väntar på beslut."""
    settings = current_settings()
    with user_errors():
        rounds_start.ensure_schema(settings)
        with session_scope(settings.database_url) as session:
            round_id = find_round(session, ref=round_ref).id if round_ref else None
            requests = anstand_service.pending(session, round_id=round_id)
            table = Table(title="Begärda anstånd")
            for column in (
                "Nr",
                "Omgång",
                "Remissinstans",
                "Nuvarande svarsdag",
                "Begärt till",
                "Skäl",
            ):
                table.add_column(column)
            for a in requests:
                table.add_row(
                    str(a.id),
                    str(a.dispatch.round_id),
                    a.dispatch.name,
                    a.dispatch.deadline.isoformat(),
                    a.requested_date.isoformat(),
                    a.reason,
                )
    out.print(table if requests else "Inga begäranden om anstånd väntar på beslut.")


@contextmanager
def _flag_named_datum() -> Iterator[None]:
    """The service names the date "--date" (the web maps that key to its field)."""
    try:
        yield
    except InputError as exc:
        if exc.field == "--date":
            exc.field = "--datum"
        raise


def _decide(anstand_id: int, *, grant: bool, date: str | None, note: str | None) -> None:
    settings = current_settings()
    with user_errors():
        new_date = None
        if date:
            try:
                new_date = dates.parse_date(date)
            except ValueError as exc:
                raise InputError(
                    "ska vara ett datum ÅÅÅÅ-MM-DD",
                    source="kommandoraden",
                    field="--datum",
                    value=date,
                ) from exc
        rounds_start.ensure_schema(settings)
        with _flag_named_datum(), session_scope(settings.database_url) as session:
            message = anstand_service.decide(
                session,
                anstand_id=anstand_id,
                grant=grant,
                now=dates.utcnow(),
                tz=settings.timezone,
                new_date=new_date,
                note=note,
                max_days=settings.anstand_max_days,
            )
            message_id, name = message.id, message.dispatch.name
    from flows.messages import send_messages

    result = run_flow(lambda: send_messages([message_id]))
    verdict = "beviljat" if grant else "inte beviljat"
    if problems(result):
        note = "Beslutet kunde inte skickas än; kör `remiss answers process` senare."
    elif result.get(SendResult.BUSY):
        note = "Beslutet skickas just nu av en annan process."
    else:
        note = "Beslutet är skickat med e-post."
    out.print(f"Anstånd {verdict} för {name}. {note}", markup=False)


@anstand_app.command("grant")
def anstand_grant(
    anstand_id: Annotated[
        int, typer.Argument(metavar="NR", help="Begärans nummer (se anstand list).")
    ],
    date: Annotated[
        str | None,
        option("--datum", "--date", metavar="ÅÅÅÅ-MM-DD", help="Annat datum än det begärda."),
    ] = None,
    note: Annotated[
        str | None, option("--meddelande", "--note", metavar="TEXT", help="Meddelande i beslutet.")
    ] = None,
) -> None:
    """Bevilja anstånd: flyttar remissinstansens svarsdag och meddelar beslutet."""
    _decide(anstand_id, grant=True, date=date, note=note)


@anstand_app.command("refuse")
def anstand_refuse(
    anstand_id: Annotated[
        int, typer.Argument(metavar="NR", help="Begärans nummer (se anstand list).")
    ],
    note: Annotated[
        str | None, option("--motivering", "--note", metavar="TEXT", help="Motivering i beslutet.")
    ] = None,
) -> None:
    """Avslå en begäran om anstånd och meddela beslutet."""
    _decide(anstand_id, grant=False, date=None, note=note)
