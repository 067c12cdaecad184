"""The `remiss` command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from remiss import dates, operations
from remiss.db import session_scope
from remiss.errors import ConflictError, InputError, NotFoundError, RemissError
from remiss.register import KINDS, load_register
from remiss.rounds import find_round
from remiss.settings import Settings, load_settings
from remiss.status import status_document, table_rows

app = typer.Typer(
    help="Remisshantering: skicka ut remisser, följ upp svaren och sammanställ dem.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
round_app = typer.Typer(help="Starta och skicka remissomgångar.", no_args_is_help=True)
app.add_typer(round_app, name="round")

out = Console(width=None if sys.stdout.isatty() else 140, highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False)

USAGE_ERRORS = (InputError, ConflictError, NotFoundError)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn our errors into one clear line and an exit code: 2 for bad input, 1 otherwise."""
    try:
        yield
    except USAGE_ERRORS as exc:
        err.print(f"Fel: {exc}", markup=False)
        raise typer.Exit(2) from exc
    except RemissError as exc:
        err.print(f"Fel: {exc}", markup=False)
        raise typer.Exit(1) from exc


def _settings() -> Settings:
    with user_errors():
        return load_settings()


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [part.strip() for v in values for part in v.split(",") if part.strip()]


@app.command()
def init() -> None:
    """Skapa eller uppgradera databasen och läs in registret över remissinstanser."""
    settings = _settings()
    with user_errors():
        register, changed = operations.init(settings, now=dates.utcnow())
    out.print(f"Databas: {settings.database_url}")
    out.print(f"Datamapp: {settings.data_dir}")
    out.print(
        f"Register: {settings.register} ({len(register.instanser)} remissinstanser, "
        f"{len(register.groups)} grupper, {changed} nya eller ändrade)"
    )


@app.command()
def instanser(
    group: Annotated[
        str | None,
        typer.Option(
            "--group", "-g", metavar="GRUPP", help="Visa bara en grupp, t.ex. stadsdelsnamnder."
        ),
    ] = None,
) -> None:
    """Lista remissinstanserna i registret, med koder och grupper."""
    settings = _settings()
    with user_errors():
        register = load_register(settings.register)
        chosen = register.in_group(group) if group else list(register.instanser.values())
    table = Table(title=register.groups[group].name if group else "Remissinstanser")
    for column in ("Kod", "Namn", "Typ", "Funktionsbrevlåda", "Grupper"):
        table.add_column(column)
    for inst in chosen:
        table.add_row(inst.code, inst.name, KINDS[inst.kind], inst.email, ", ".join(inst.groups))
    out.print(table)
    if not group:
        out.print(
            "Grupper: "
            + ", ".join(f"{g.code} ({len(g.members)})" for g in register.groups.values())
        )


def _run_flow(call: Callable[[], Any]) -> Any:
    from flows.start_round import RoundIncomplete

    try:
        return call()
    except RoundIncomplete as exc:
        err.print(f"Fel: {exc}", markup=False)
        raise typer.Exit(1) from exc


@round_app.command("start")
def round_start(
    case: Annotated[Path, typer.Argument(metavar="CASE.yaml", help="Ärendefilen (YAML).")],
    to: Annotated[
        list[str] | None,
        typer.Option(
            "--to",
            metavar="KODER",
            help="Remissinstanser (koder eller grupper, kommaseparerade) i stället för filens.",
        ),
    ] = None,
    deadline: Annotated[
        str | None,
        typer.Option(
            "--deadline",
            metavar="ÅÅÅÅ-MM-DD",
            help="Svar senast, ÅÅÅÅ-MM-DD, i stället för ärendefilens.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Tillåt ett svarsdatum som inte är en arbetsdag.")
    ] = False,
    new_round: Annotated[
        bool,
        typer.Option("--new-round", help="Starta en ny omgång fast diarienumret har en pågående."),
    ] = False,
) -> None:
    """Starta en remissomgång: kontrollera allt, spara omgången och skicka remissen."""
    settings = _settings()
    recipients = _split(to)
    with user_errors():
        plan = operations.plan_from_file(
            settings, case, now=dates.utcnow(), to=recipients, deadline=deadline, force=force
        )
        operations.check_start(settings, plan, new_round=new_round)
    out.print(
        f"Startar remissomgång för {plan.case.diarienummer} till {len(plan.recipients)} "
        f"remissinstanser, svar senast {dates.swedish_date(plan.deadline)}."
    )
    from flows.start_round import start_round

    with user_errors():
        round_id = _run_flow(
            lambda: start_round(
                str(case.resolve()),
                to=recipients,
                deadline=deadline,
                force=force,
                new_round=new_round,
            )
        )
    _print_status(settings, str(round_id))


@round_app.command("send")
def round_send(
    round_ref: Annotated[
        str, typer.Argument(metavar="ROUND", help="Omgångens nummer eller diarienummer.")
    ],
) -> None:
    """Skicka det som återstår i en omgång (efter ett avbrott eller tillfälliga fel)."""
    settings = _settings()
    with user_errors():
        operations.ensure_schema(settings)
        with session_scope(settings.database_url) as session:
            round_id = find_round(session, round_ref).id
    from flows.start_round import send_round

    with user_errors():
        result = _run_flow(lambda: send_round(round_id))
    out.print(f"Skickade nu: {result.get('sent', 0) + result.get('recovered', 0)}.")
    _print_status(settings, str(round_id))


@app.command()
def status(
    round_ref: Annotated[
        str | None,
        typer.Argument(
            metavar="[ROUND]", help="Omgångens nummer eller diarienummer; utan: alla pågående."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Skriv ut JSON (schemat remiss.status/1, se README).")
    ] = False,
) -> None:
    """Visa läget för remissomgångar: vilka som fått remissen, när och svarstiden."""
    settings = _settings()
    if as_json:
        with user_errors():
            doc = _status_doc(settings, round_ref)
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        return
    _print_status(settings, round_ref)


def _status_doc(settings: Settings, round_ref: str | None) -> dict[str, Any]:
    operations.ensure_schema(settings)
    with session_scope(settings.database_url) as session:
        rounds = [find_round(session, round_ref)] if round_ref else None
        return status_document(session, now=dates.utcnow(), tz=settings.timezone, rounds=rounds)


def _print_status(settings: Settings, round_ref: str | None) -> None:
    with user_errors():
        doc = _status_doc(settings, round_ref)
    if not doc["rounds"]:
        out.print("Inga pågående remissomgångar.")
    for rnd in doc["rounds"]:
        counts = rnd["counts"]
        table = Table(
            title=f"Omgång {rnd['id']}: {rnd['diarienummer']} {rnd['rubrik']}",
            caption=(
                f"{counts['sent']} av {counts['total']} skickade"
                + (f", {counts['failed']} misslyckade" if counts["failed"] else "")
                + (
                    f", {counts['pending'] + counts['sending']} väntar"
                    if counts["pending"] + counts["sending"]
                    else ""
                )
                + f". Svar senast {dates.swedish_date(dates.parse_date(rnd['svar_senast']))}."
            ),
        )
        for column in ("Remissinstans", "Status", "Skickad", "Svar senast"):
            table.add_column(column)
        for row in table_rows(rnd, settings.timezone):
            table.add_row(*row)
        out.print(table)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
