"""`remiss inbox poll|unmatched`: the remiss mailbox."""

from __future__ import annotations

from typing import Annotated

from rich.table import Table

from remiss.cli.app import current_settings, err, out, run_flow, user_errors
from remiss.cli.swedish import SwedishTyper, option
from remiss.inbox.poll import list_unmatched
from remiss.mail import load_mailbox
from remiss.rounds import start as rounds_start

inbox_app = SwedishTyper(
    help="Remissbrevlådan: svar, leveransrapporter och studsar som kommer med e-post.",
    no_args_is_help=True,
)


@inbox_app.command("poll")
def inbox_poll(
    limit: Annotated[
        int,
        option(
            "--antal",
            "--limit",
            metavar="ANTAL",
            min=1,
            max=1000,
            help="Högst så många meddelanden.",
        ),
    ] = 200,
) -> None:
    """Läs remissbrevlådan en gång: svar, leveransrapporter, studsar och läskvitton."""
    settings = current_settings()
    with user_errors():
        rounds_start.ensure_schema(settings)
        load_mailbox(settings)
    from flows.inbox import poll_mailbox

    result = run_flow(lambda: poll_mailbox(limit))
    out.print(
        f"Lästa meddelanden: {result['read']}. Svar: {len(result['answers'])}. "
        f"Leveransrapporter: {result['delivered']}. Studsar: {len(result['bounced'])}. "
        f"Läskvitton: {result['read_receipts']}. Autosvar: {result['auto_replies']}. "
        f"Registreringskvitton: {result['receipts']}. "
        f"Omatchade: {result['unmatched']}. Redan lästa: {result['already_recorded']}."
    )
    if result.get("answers_from_earlier"):
        out.print(
            f"Svar från en tidigare körning som nu har fått kvittens: "
            f"{result['answers_from_earlier']}."
        )
    if result.get("answers_left"):
        err.print(
            f"Svar som väntar på kvittens: {result['answers_left']}. De behandlas vid nästa "
            "läsning av brevlådan, eller med `remiss answers process`.",
            markup=False,
        )
    for bounce in result["bounced"]:
        err.print(f"Studsade: {bounce}", markup=False)
    if result["answers"]:
        out.print("Svar som kom med e-post granskas med `remiss answer review`.")
    if result["unmatched"]:
        out.print("Det som inte matchade någon remiss listas med `remiss inbox unmatched`.")


@inbox_app.command("unmatched")
def inbox_unmatched(
    limit: Annotated[
        int,
        option(
            "--antal",
            "--limit",
            metavar="ANTAL",
            min=1,
            max=1000,
            help="Högst så många meddelanden.",
        ),
    ] = 200,
) -> None:
    """Lista e-post som inte matchade någon remiss (registratorns mapp)."""
    settings = current_settings()
    with user_errors():
        rows = list_unmatched(settings, limit=limit)
    if not rows:
        out.print("Inga omatchade meddelanden.")
        return
    table = Table(title="Omatchad e-post")
    for column in ("Från", "Datum", "Ämne", "Bilagor"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["from"], row["date"], row["subject"], row["files"])
    out.print(table)
