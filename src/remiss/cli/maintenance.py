"""`remiss check` and `remiss backup`: is the record whole, and a copy of it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from remiss.cli.app import current_settings, err, out, user_errors
from remiss.cli.swedish import option
from remiss.core import dates
from remiss.core.language import count
from remiss.rounds import start as rounds_start
from remiss.storage import backup as backups
from remiss.storage.check import check as check_record
from remiss.storage.uploads import format_size


def check(
    repair: Annotated[
        bool,
        option(
            "--reparera",
            "--repair",
            help=(
                "Ta bort kvarlämnade tillfälliga filer och flytta filer utan dokumentrad "
                "till karantänen (bara det som är äldre än storage_grace_minutes)."
            ),
        ),
    ] = False,
) -> None:
    """Kontrollera databasen, dokumentens filer och kontrollsummor och vad avbrott lämnat."""
    settings = current_settings()
    with user_errors():
        # No schema check first: a damaged database is what this command must report.
        report = check_record(settings, now=dates.utcnow(), repair=repair)
    for line in report.lines():
        out.print(line, markup=False)
    if report.problems:
        raise typer.Exit(1)


def backup(
    dest: Annotated[
        Path,
        typer.Argument(
            metavar="MÅLMAPP", help="En ny eller tom mapp utanför datamappen.", show_default=False
        ),
    ],
) -> None:
    """Säkerhetskopiera databasen och datamappens filer medan tjänsten är igång."""
    settings = current_settings()
    with user_errors():
        rounds_start.ensure_schema(settings)
        result = backups.backup(settings, dest, now=dates.utcnow())
    out.print(f"Databasen: {result.database}", markup=False)
    out.print(
        f"Filerna: {count(result.files, 'fil', 'filer')} ({format_size(result.file_bytes)}) "
        f"i {result.dest}",
        markup=False,
    )
    err.print(
        "Återställ enligt drifthandboken (Backups): peka REMISS_DATA_DIR på kopian och kör "
        "remiss check.",
        markup=False,
    )
