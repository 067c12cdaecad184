"""`remiss round start|send|close` and `remiss status`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from remiss.cli.app import (
    ROUND_ARGUMENT,
    current_settings,
    err,
    out,
    round_id,
    run_flow,
    user_errors,
)
from remiss.cli.swedish import SwedishTyper, option
from remiss.core import dates, language
from remiss.core.settings import Settings
from remiss.db.engine import session_scope
from remiss.outbox.outcomes import summary
from remiss.register.meetings import check_meetings
from remiss.rounds import start as rounds_start
from remiss.rounds.service import close_round, find_round
from remiss.rounds.status import status_document, table_rows

round_app = SwedishTyper(help="Starta, skicka och avsluta remissomgångar.", no_args_is_help=True)


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [part.strip() for v in values for part in v.split(",") if part.strip()]


@round_app.command("start")
def round_start(
    case: Annotated[Path, typer.Argument(metavar="ÄRENDEFIL.yaml", help="Ärendefilen (YAML).")],
    to: Annotated[
        list[str] | None,
        option(
            "--till",
            "--to",
            metavar="KODER",
            help="Remissinstanser (koder eller grupper, kommaseparerade) i stället för filens.",
        ),
    ] = None,
    deadline: Annotated[
        str | None,
        option(
            "--svarsdag",
            "--deadline",
            metavar="ÅÅÅÅ-MM-DD",
            help="Svar senast, ÅÅÅÅ-MM-DD, i stället för ärendefilens.",
        ),
    ] = None,
    force: Annotated[
        bool, option("--tvinga", "--force", help="Tillåt en svarsdag som inte är en arbetsdag.")
    ] = False,
    new_round: Annotated[
        bool,
        option(
            "--ny-omgang",
            "--new-round",
            help="Starta en ny omgång fast diarienumret redan har en pågående.",
        ),
    ] = False,
) -> None:
    """Starta en remissomgång: kontrollera allt, spara omgången och skicka remissen."""
    settings = current_settings()
    recipients = _split(to)
    with user_errors():
        plan = rounds_start.plan_from_file(
            settings, case, now=dates.utcnow(), to=recipients, deadline=deadline, force=force
        )
        rounds_start.check_start(settings, plan, new_round=new_round)
    out.print(
        f"Startar remissomgång för {plan.case.diarienummer} till {len(plan.recipients)} "
        f"remissinstanser, svar senast {dates.swedish_date(plan.deadline)}."
    )
    meetings = check_meetings(
        plan.recipients,
        send_date=dates.local_today(dates.utcnow(), settings.timezone),
        deadline=plan.deadline,
        days_after_meeting=plan.policy.arbetsdagar_efter_sammantrade,
    )
    for warning in meetings.warnings:
        err.print(f"Varning: {warning}", markup=False)
    if meetings.warnings and meetings.earliest_deadline:
        err.print(
            "Tidigaste svarsdag som ger alla valda nämnder ett sammanträde och därefter "
            f"{plan.policy.arbetsdagar_efter_sammantrade} arbetsdagar: "
            f"{dates.swedish_date(meetings.earliest_deadline)}.",
            markup=False,
        )
    from flows.start_round import start_round

    started = run_flow(
        lambda: start_round(
            str(case.resolve()),
            to=recipients,
            deadline=deadline,
            force=force,
            new_round=new_round,
        )
    )
    _print_status(settings, str(started))


@round_app.command("send")
def round_send(
    round_ref: Annotated[str, ROUND_ARGUMENT],
) -> None:
    """Skicka det som återstår i en omgång (efter ett avbrott eller tillfälliga fel)."""
    settings = current_settings()
    with user_errors():
        chosen = round_id(settings, round_ref)
    from flows.start_round import send_round

    result = run_flow(lambda: send_round(chosen))
    out.print(summary(result), markup=False)
    _print_status(settings, str(chosen))


@round_app.command("close")
def round_close(
    round_ref: Annotated[str, ROUND_ARGUMENT],
) -> None:
    """Avsluta en omgång: länkarna visar då bara vad som skickats in."""
    settings = current_settings()
    with user_errors():
        rounds_start.ensure_schema(settings)
        with session_scope(settings.database_url) as session:
            rnd = close_round(
                session, round_id=find_round(session, ref=round_ref).id, now=dates.utcnow()
            )
            closed, diarienummer = rnd.id, rnd.case.diarienummer
    out.print(f"Omgång {closed} ({diarienummer}) är avslutad.")


def status(
    round_ref: Annotated[
        str | None,
        typer.Argument(
            metavar="OMGÅNG", help="Omgångens nummer eller diarienummer; utan: alla pågående."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Skriv ut JSON (schemat remiss.status/1, se README).")
    ] = False,
) -> None:
    """Visa läget för remissomgångar: vilka som fått remissen, när och svarstiden."""
    settings = current_settings()
    if as_json:
        with user_errors():
            doc = _status_doc(settings, round_ref)
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        return
    _print_status(settings, round_ref)


def _status_doc(settings: Settings, round_ref: str | None) -> dict[str, Any]:
    rounds_start.ensure_schema(settings)
    with session_scope(settings.database_url) as session:
        rounds = [find_round(session, ref=round_ref)] if round_ref else None
        return status_document(session, now=dates.utcnow(), tz=settings.timezone, rounds=rounds)


def _motion_text(rnd: dict[str, Any]) -> str:
    if not rnd["motion_limit"]:
        return ""
    limit = dates.swedish_date(dates.parse_date(rnd["motion_limit"]))
    text = f"\nMotionen bör avgöras senast {limit} ({rnd['motion_days_left']} dagar kvar)."
    if rnd["motion_warning"]:
        text += " Varning: mindre än tre månader kvar."
    return text


def _pending_text(rnd: dict[str, Any]) -> str:
    """What waits for a person or for the next poll: answers to review, kvittenser unsent."""
    parts = []

    def answers(n: int) -> str:
        return language.count(n, "svar", "svar", neuter=True)

    if rnd["to_review"]:
        parts.append(
            f"{answers(rnd['to_review'])} som kom med e-post ska granskas (remiss answer review)"
        )
    if rnd["awaiting_kvittens"]:
        parts.append(
            f"{answers(rnd['awaiting_kvittens'])} väntar på kvittens (skickas vid nästa "
            "läsning av brevlådan, eller med remiss answers process)"
        )
    return "".join(f"\n{language.sentence(p)}." for p in parts)


def _print_status(settings: Settings, round_ref: str | None) -> None:
    """The status of one round, or of every open round, as tables."""
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
                + _pending_text(rnd)
                + _motion_text(rnd)
            ),
        )
        for column in ("Remissinstans", "Status", "Skickad", "Svar senast"):
            table.add_column(column)
        for row in table_rows(rnd, settings.timezone):
            table.add_row(*row)
        out.print(table)
