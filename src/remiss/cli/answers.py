"""`remiss answers process|review` (also `remiss answer …`): answers that came in."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.table import Table

from remiss.answers import review
from remiss.cli.app import current_settings, err, out, run_flow, user_errors
from remiss.cli.swedish import SwedishTyper
from remiss.core import dates
from remiss.core.errors import InputError
from remiss.rounds import start as rounds_start
from remiss.rounds.status import SENDER_OUTSIDE

answers_app = SwedishTyper(help="Inkomna svar.", no_args_is_help=True)


@answers_app.command("process")
def answers_process() -> None:
    """Behandla svar som inte hunnit behandlas (kvittenser) och skicka kvarvarande meddelanden."""
    settings = current_settings()
    with user_errors():
        rounds_start.ensure_schema(settings)
    from flows.messages import sweep

    result = run_flow(sweep)
    out.print(f"Behandlade svar: {result['answers']}. Skickade meddelanden: {result['messages']}.")
    if result["answers_left"]:
        err.print(
            f"Fel: {result['answers_left']} svar kunde inte behandlas nu; "
            "kör kommandot igen senare."
        )
        raise typer.Exit(1)


def _positions(values: list[str] | None) -> dict[int, str]:
    positions: dict[int, str] = {}
    for value in values or []:
        number, sep, position = value.partition("=")
        if not sep or not number.strip().isdigit():
            raise InputError(
                "skrivs NR=ställningstagande, t.ex. 1=avstyrker", field="--att-sats", value=value
            )
        positions[int(number)] = position.strip()
    return positions


@answers_app.command("review")
def answers_review(
    round_ref: Annotated[
        str | None, typer.Argument(metavar="OMGÅNG", help="Omgångens nummer eller diarienummer.")
    ] = None,
    code: Annotated[str | None, typer.Argument(metavar="KOD", help="Remissinstansens kod.")] = None,
    position: Annotated[
        str | None,
        typer.Option(
            "--stallningstagande",
            metavar="STÄLLNINGSTAGANDE",
            help="tillstyrker, tillstyrker_delvis, avstyrker, inga_synpunkter eller besvarad.",
        ),
    ] = None,
    att_sats: Annotated[
        list[str] | None,
        typer.Option("--att-sats", metavar="NR=STÄLLNINGSTAGANDE", help="Per att-sats."),
    ] = None,
    summary: Annotated[
        str | None,
        typer.Option("--sammanfattning", metavar="TEXT", help="Kort sammanfattning av svaret."),
    ] = None,
    reviewer: Annotated[
        str | None,
        typer.Option("--granskad-av", metavar="NAMN", help="Namnet på den som granskat svaret."),
    ] = None,
    not_an_answer: Annotated[
        bool,
        typer.Option(
            "--inte-svar",
            help="Meddelandet är inte ett svar (en registreringskvittens, en vidarebefordran, "
            "en fråga): det räknas inte som svar och påminnelserna fortsätter.",
        ),
    ] = False,
) -> None:
    """Granska svar som kom med e-post: utan argument listas de som väntar."""
    settings = current_settings()
    with user_errors():
        rounds_start.ensure_schema(settings)
        if round_ref is None:
            rows = review.answers_to_review(settings)
        elif code is not None and not_an_answer:
            name = review.reject(
                settings,
                round_ref,
                code,
                reviewer=reviewer or getpass.getuser(),
                now=dates.utcnow(),
            )
            out.print(
                f"E-postmeddelandet från {name} räknas inte som svar; påminnelserna fortsätter."
            )
            return
        elif code is None or position is None:
            raise InputError(
                "ange omgång, remissinstansens kod och --stallningstagande, t.ex. "
                "remiss answer review 3 kulturnamnden --stallningstagande avstyrker"
            )
        else:
            name, version = review.review(
                settings,
                round_ref,
                code,
                position=position,
                att_sats_positions=_positions(att_sats),
                summary=summary,
                reviewer=reviewer or getpass.getuser(),
                now=dates.utcnow(),
            )
            out.print(f"Svaret från {name} är granskat och sparat som version {version}.")
            return
    if not rows:
        out.print("Inga svar väntar på granskning.")
        return
    table = Table(title="Svar som kom med e-post och ska granskas")
    for column in ("Omgång", "Diarienummer", "Kod", "Remissinstans", "Inkom", "Från", "Filer"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row["round"]),
            row["diarienummer"],
            row["code"],
            row["name"],
            row["received"],
            row["sender"] + (f" ({SENDER_OUTSIDE})" if row["sender_outside"] else ""),
            row["files"],
        )
    out.print(table)
    out.print("Granska med: remiss answer review OMGÅNG KOD --stallningstagande STÄLLNINGSTAGANDE")
