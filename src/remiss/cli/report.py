"""`remiss compile`: the remissammanställning of a round."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from remiss.cli.app import ROUND_ARGUMENT, current_settings, out, round_id, run_flow, user_errors
from remiss.cli.swedish import option
from remiss.core.errors import InputError


def compile_command(
    round_ref: Annotated[str, ROUND_ARGUMENT],
    formats: Annotated[
        str, typer.Option("--format", metavar="FORMAT", help="Kommaseparerat: html, pdf, docx.")
    ] = "html,pdf,docx",
    out_dir: Annotated[
        Path | None, option("--mapp", "--out", metavar="MAPP", help="Mapp att skriva till.")
    ] = None,
) -> None:
    """Sammanställ remissvaren till en remissammanställning (HTML, PDF, DOCX)."""
    from remiss.report.render import FORMATS

    settings = current_settings()
    chosen = tuple(f.strip().lower() for f in formats.split(",") if f.strip())
    with user_errors():
        unknown = [f for f in chosen if f not in FORMATS]
        if unknown or not chosen:
            raise InputError(
                f"okänt format; välj bland {', '.join(FORMATS)}",
                source="kommandoraden",
                field="--format",
                value=formats,
            )
        compiled = round_id(settings, round_ref)
    from flows.compile import compile_round

    paths = run_flow(
        lambda: compile_round(compiled, list(chosen), str(out_dir.resolve()) if out_dir else None)
    )
    out.print("Remissammanställningen är skriven:")
    for path in paths:
        out.print(f"  {path}")
