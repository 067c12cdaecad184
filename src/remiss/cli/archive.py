"""`remiss diarium extract` and `remiss archive`: every document as a public record
(issue 21)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Annotated

from remiss.archive import register
from remiss.cli.app import ROUND_ARGUMENT, current_settings, err, out, round_id, user_errors
from remiss.cli.swedish import SwedishTyper, option
from remiss.core import dates
from remiss.core.errors import InputError
from remiss.db.engine import session_scope
from remiss.rounds import start as rounds_start

diarium_app = SwedishTyper(
    help="Registerutdrag för diariet: varje handling som kommit in eller gått ut.",
    no_args_is_help=True,
)


@diarium_app.command("extract")
def diarium_extract(
    round_ref: Annotated[
        str | None,
        option("--omgang", metavar="OMGÅNG", help="En omgång: nummer eller diarienummer."),
    ] = None,
    from_day: Annotated[
        str | None,
        option("--fran", metavar="ÅÅÅÅ-MM-DD", help="Perioden från och med den dagen."),
    ] = None,
    to_day: Annotated[
        str | None,
        option("--till", metavar="ÅÅÅÅ-MM-DD", help="Perioden till och med den dagen."),
    ] = None,
    consumer: Annotated[
        str | None,
        option(
            "--nya-for",
            metavar="MOTTAGARE",
            help="Bara det som är nytt sedan förra utdraget till den här mottagaren "
            "(t.ex. diariet); nästa utdrag börjar efter detta.",
        ),
    ] = None,
    fmt: Annotated[
        str, option("--format", metavar="FORMAT", help="csv (för Excel) eller json.")
    ] = "csv",
    target: Annotated[
        Path | None,
        option("--fil", metavar="FIL", help="Skriv till filen i stället för till skärmen."),
    ] = None,
) -> None:
    """Skriv ett registerutdrag: handlingar med tidpunkt, diarienummer, avsändare,
    mottagare, beskrivning, filer och kontrollsummor."""
    settings = current_settings()
    now = dates.utcnow()
    with user_errors():
        chosen_round = round_id(settings, round_ref) if round_ref is not None else None
        first = register.parse_day(from_day, "--fran") if from_day else None
        last = register.parse_day(to_day, "--till") if to_day else None
        rounds_start.ensure_schema(settings)
        with session_scope(settings.database_url) as session:
            data, count = register.build_extract(
                session,
                settings,
                now=now,
                fmt=fmt.strip().lower(),
                round_id=chosen_round,
                from_day=first,
                to_day=last,
                consumer=consumer,
            )
    if target is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        err.print(f"{count} handlingar i utdraget.", markup=False)
        return
    with user_errors():
        try:
            target.write_bytes(data)
        except OSError as exc:
            raise InputError(
                f"filen kunde inte skrivas ({exc.strerror})", field="--fil", value=str(target)
            ) from exc
    out.print(f"Registerutdraget är skrivet: {target} ({count} handlingar).", markup=False)


def archive_command(
    round_ref: Annotated[str, ROUND_ARGUMENT],
    folder: Annotated[
        Path | None,
        option("--mapp", metavar="MAPP", help="Kopiera paketet hit (annars bara datamappen)."),
    ] = None,
) -> None:
    """Skapa arkivpaketet (E-ARK SIP, zip) för en avslutad omgång, för e-arkivet."""
    from remiss.archive.sip import build_package

    settings = current_settings()
    with user_errors():
        chosen = round_id(settings, round_ref)
        if folder is not None and not folder.is_dir():
            raise InputError("mappen finns inte", field="--mapp", value=str(folder))
        path = build_package(settings, round_id=chosen, now=dates.utcnow())
    if folder is not None:
        target = folder / path.name
        shutil.copyfile(path, target)
        path = target
    out.print(f"Arkivpaketet är skrivet: {path}", markup=False)
