"""The `remiss` command line."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import DBAPIError

from remiss.answers import anstand as anstand_service
from remiss.core import dates
from remiss.core.errors import ConflictError, InputError, NotFoundError, RemissError
from remiss.core.settings import Settings, load_settings
from remiss.db.engine import session_scope
from remiss.inbox import mailbox as mailops
from remiss.mail import load_mailbox
from remiss.register.instances import KINDS, load_register
from remiss.register.meetings import check_meetings
from remiss.reminders import sweep as reminding
from remiss.rounds import start as operations
from remiss.rounds.service import find_round
from remiss.rounds.status import status_document, table_rows

app = typer.Typer(
    help="Remisshantering: skicka ut remisser, följ upp svaren och sammanställ dem.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
round_app = typer.Typer(help="Starta, skicka och avsluta remissomgångar.", no_args_is_help=True)
app.add_typer(round_app, name="round")
anstand_app = typer.Typer(help="Besluta om begärda anstånd.", no_args_is_help=True)
app.add_typer(anstand_app, name="anstand")
answers_app = typer.Typer(help="Inkomna svar.", no_args_is_help=True)
app.add_typer(answers_app, name="answers")
# `remiss answer review` reads as well as `remiss answers review`.
app.add_typer(answers_app, name="answer", hidden=True)
mail_app = typer.Typer(help="E-postbakänden (outbox, smtp, exchange).", no_args_is_help=True)
app.add_typer(mail_app, name="mail")
inbox_app = typer.Typer(
    help="Remissbrevlådan: svar, leveransrapporter och studsar som kommer med e-post.",
    no_args_is_help=True,
)
app.add_typer(inbox_app, name="inbox")
admin_app = typer.Typer(help="Översikten för stadsledningskontoret (/admin).", no_args_is_help=True)
app.add_typer(admin_app, name="admin")

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


ROUND_ARGUMENT = typer.Argument(metavar="ROUND", help="Omgångens nummer eller diarienummer.")


def _round_id(settings: Settings, round_ref: str) -> int:
    """The id of the round a user named; inside user_errors()."""
    operations.ensure_schema(settings)
    with session_scope(settings.database_url) as session:
        return find_round(session, round_ref).id


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
    """Run a Prefect flow; a failure is one line, and exit code 1."""
    try:
        return call()
    except USAGE_ERRORS as exc:
        err.print(f"Fel: {exc}", markup=False)
        raise typer.Exit(2) from exc
    except RemissError as exc:
        err.print(f"Fel: {exc}", markup=False)
        raise typer.Exit(1) from exc
    except DBAPIError as exc:
        cause = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        err.print(
            f"Fel: databasen gick inte att nå eller avbröt arbetet ({cause}). Inget som redan "
            "sparats går förlorat, och inget skickas två gånger: kör kommandot igen när "
            "databasen svarar.",
            markup=False,
        )
        raise typer.Exit(1) from exc
    except Exception as exc:
        hint = (
            " Kontrollera att Prefect går att nå (PREFECT_API_URL)."
            if isinstance(exc, OSError | httpx.HTTPError)
            else ""
        )
        err.print(
            f"Fel: flödet misslyckades ({type(exc).__name__}: {exc}).{hint} "
            "Inget som redan sparats går förlorat.",
            markup=False,
        )
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
            "Tidigaste svarsdag som ger varje vald nämnd ett sammanträde och "
            f"{plan.policy.arbetsdagar_efter_sammantrade} arbetsdagar efter det: "
            f"{dates.swedish_date(meetings.earliest_deadline)}.",
            markup=False,
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
    round_ref: Annotated[str, ROUND_ARGUMENT],
) -> None:
    """Skicka det som återstår i en omgång (efter ett avbrott eller tillfälliga fel)."""
    settings = _settings()
    with user_errors():
        round_id = _round_id(settings, round_ref)
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


def _motion_text(rnd: dict[str, Any]) -> str:
    if not rnd["motion_limit"]:
        return ""
    limit = dates.swedish_date(dates.parse_date(rnd["motion_limit"]))
    text = f"\nMotionen bör avgöras senast {limit} ({rnd['motion_days_left']} dagar kvar)."
    if rnd["motion_warning"]:
        text += " Varning: mindre än tre månader kvar."
    return text


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
                + _motion_text(rnd)
            ),
        )
        for column in ("Remissinstans", "Status", "Skickad", "Svar senast"):
            table.add_column(column)
        for row in table_rows(rnd, settings.timezone):
            table.add_row(*row)
        out.print(table)


@round_app.command("close")
def round_close(
    round_ref: Annotated[str, ROUND_ARGUMENT],
) -> None:
    """Avsluta en omgång: länkarna visar då bara vad som skickats in."""
    settings = _settings()
    with user_errors():
        operations.ensure_schema(settings)
        with session_scope(settings.database_url) as session:
            rnd = find_round(session, round_ref)
            if rnd.state == "closed":
                raise ConflictError(f"Omgång {rnd.id} är redan avslutad.")
            rnd.state, rnd.closed_at = "closed", dates.utcnow()
            for dispatch in rnd.dispatches:
                dispatch.next_reminder_at = None
            out.print(f"Omgång {rnd.id} ({rnd.case.diarienummer}) är avslutad.")


@anstand_app.command("list")
def anstand_list(
    round_ref: Annotated[
        str | None,
        typer.Argument(metavar="ROUND", help="Bara en omgång (nummer eller diarienummer)."),
    ] = None,
) -> None:
    """Visa begäranden om anstånd som väntar på beslut."""
    settings = _settings()
    with user_errors():
        operations.ensure_schema(settings)
        with session_scope(settings.database_url) as session:
            round_id = find_round(session, round_ref).id if round_ref else None
            requests = anstand_service.pending(session, round_id)
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


def _decide(anstand_id: int, *, grant: bool, date: str | None, note: str | None) -> None:
    settings = _settings()
    with user_errors():
        operations.ensure_schema(settings)
        new_date = None
        if date:
            try:
                new_date = dates.parse_date(date)
            except ValueError as exc:
                raise InputError(
                    "ska vara ett datum ÅÅÅÅ-MM-DD", field="--date", value=date
                ) from exc
        with session_scope(settings.database_url) as session:
            message = anstand_service.decide(
                session,
                anstand_id,
                grant=grant,
                now=dates.utcnow(),
                tz=settings.timezone,
                new_date=new_date,
                note=note,
            )
            message_id, name = message.id, message.dispatch.name
    from flows.messages import send_messages

    result = _run_flow(lambda: send_messages([message_id]))
    sent = result.get("sent", 0) + result.get("recovered", 0)
    verdict = "beviljat" if grant else "inte beviljat"
    out.print(
        f"Anstånd {verdict} för {name}. "
        + (
            "Beslutet är skickat med e-post."
            if sent
            else "Beslutet kunde inte skickas än; kör `remiss answers process` senare."
        )
    )


@anstand_app.command("grant")
def anstand_grant(
    anstand_id: Annotated[
        int, typer.Argument(metavar="NR", help="Begärans nummer (se anstand list).")
    ],
    date: Annotated[
        str | None,
        typer.Option("--date", metavar="ÅÅÅÅ-MM-DD", help="Annat datum än det begärda."),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="Meddelande i beslutet.")] = None,
) -> None:
    """Bevilja anstånd: flyttar remissinstansens svarsdag och meddelar beslutet."""
    _decide(anstand_id, grant=True, date=date, note=note)


@anstand_app.command("refuse")
def anstand_refuse(
    anstand_id: Annotated[
        int, typer.Argument(metavar="NR", help="Begärans nummer (se anstand list).")
    ],
    note: Annotated[str | None, typer.Option("--note", help="Motivering i beslutet.")] = None,
) -> None:
    """Avslå en begäran om anstånd och meddela beslutet."""
    _decide(anstand_id, grant=False, date=None, note=note)


@answers_app.command("process")
def answers_process() -> None:
    """Behandla svar som inte hunnit behandlas (kvittenser) och skicka kvarvarande meddelanden."""
    settings = _settings()
    with user_errors():
        operations.ensure_schema(settings)
    from flows.messages import sweep

    result = _run_flow(sweep)
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
        str | None, typer.Argument(metavar="[ROUND]", help="Omgångens nummer eller diarienummer.")
    ] = None,
    code: Annotated[
        str | None, typer.Argument(metavar="[KOD]", help="Remissinstansens kod.")
    ] = None,
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
        str | None, typer.Option("--sammanfattning", help="Kort sammanfattning av svaret.")
    ] = None,
    reviewer: Annotated[
        str | None, typer.Option("--granskad-av", help="Namnet på den som granskat svaret.")
    ] = None,
) -> None:
    """Granska svar som kom med e-post: utan argument listas de som väntar."""
    settings = _settings()
    with user_errors():
        operations.ensure_schema(settings)
        if round_ref is None:
            rows = mailops.answers_to_review(settings)
        elif code is None or position is None:
            raise InputError(
                "ange omgång, remissinstansens kod och --stallningstagande, t.ex. "
                "remiss answer review 3 kulturnamnden --stallningstagande avstyrker"
            )
        else:
            name, version = mailops.review(
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
            row["sender"],
            row["files"],
        )
    out.print(table)
    out.print("Granska med: remiss answer review OMGÅNG KOD --stallningstagande STÄLLNINGSTAGANDE")


@mail_app.command("check")
def mail_check() -> None:
    """Anslut till e-postservern och berätta vad som hittades; inget skickas."""
    settings = _settings()
    out.print(f"E-postbakände: {settings.mail_backend} (inställningar: {settings.source})")
    with user_errors():
        lines = mailops.check_mail(settings)
    for line in lines:
        out.print(line)
    out.print("Inställningarna fungerar.")


@inbox_app.command("poll")
def inbox_poll(
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=1000, help="Högst så många meddelanden.")
    ] = 200,
) -> None:
    """Läs remissbrevlådan en gång: svar, leveransrapporter, studsar och läskvitton."""
    settings = _settings()
    with user_errors():
        operations.ensure_schema(settings)
        load_mailbox(settings)
    from flows.inbox import poll_mailbox

    result = _run_flow(lambda: poll_mailbox(limit))
    out.print(
        f"Lästa meddelanden: {result['read']}. Svar: {len(result['answers'])}. "
        f"Leveransrapporter: {result['delivered']}. Studsar: {len(result['bounced'])}. "
        f"Läskvitton: {result['read_receipts']}. Autosvar: {result['auto_replies']}. "
        f"Omatchade: {result['unmatched']}. Redan lästa: {result['already_recorded']}."
    )
    for bounce in result["bounced"]:
        err.print(f"Studsade: {bounce}", markup=False)
    if result["answers"]:
        out.print("Svar som kom med e-post granskas med `remiss answer review`.")
    if result["unmatched"]:
        out.print("Det som inte matchade någon remiss listas med `remiss inbox unmatched`.")


@inbox_app.command("unmatched")
def inbox_unmatched(
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 200,
) -> None:
    """Lista e-post som inte matchade någon remiss (registratorns mapp)."""
    settings = _settings()
    with user_errors():
        rows = mailops.unmatched(settings, limit)
    if not rows:
        out.print("Inga omatchade meddelanden.")
        return
    table = Table(title="Omatchad e-post")
    for column in ("Från", "Datum", "Ämne", "Bilagor"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["from"], row["date"], row["subject"], row["files"])
    out.print(table)


def _as_of(text: str | None, tz: str) -> dt.datetime:
    """ÅÅÅÅ-MM-DD, ÅÅÅÅ-MM-DD TT:MM or ISO 8601; without a zone, local time."""
    if not text:
        return dates.utcnow()
    try:
        parsed = dt.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InputError(
            "ska vara en tidpunkt, till exempel 2027-01-05 08:00", field="--as-of", value=text
        ) from exc
    if parsed.tzinfo is None:
        return dates.local_instant(parsed.date(), parsed.hour, parsed.minute, tz)
    return parsed.astimezone(dt.UTC)


@app.command()
def remind(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", metavar="TIDPUNKT", help="Som om klockan vore (t.ex. 2027-01-05 08:00)."
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Visa vad som skulle skickas och till vem, skicka inget."),
    ] = False,
) -> None:
    """Skicka de påminnelser som ska gå ut nu (eller vid --as-of), var och en en gång."""
    settings = _settings()
    with user_errors():
        operations.ensure_schema(settings)
        now = _as_of(as_of, settings.timezone)
    when = dates.swedish_datetime(now, settings.timezone)
    if dry_run:
        with user_errors(), session_scope(settings.database_url) as session:
            planned = [
                p
                for d in reminding.due_dispatch_ids(session, now)
                if (p := reminding.plan(session, d, now=now, tz=settings.timezone)) is not None
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

    result = _run_flow(lambda: remind_flow(now))
    sent = result.get("sent", 0) + result.get("recovered", 0)
    out.print(f"Påminnelser {when}: {sent} skickade.")


def reminder_label(kind: str, days: int) -> str:
    span = f"{days} arbetsdag{'ar' if days != 1 else ''}"
    return {
        "fore": f"{span} före svarsdagen",
        "sen": f"svaret har inte kommit in ({span} efter)",
        "eskalering": f"eskalering ({span} efter svarsdagen)",
    }[kind]


@app.command("compile")
def compile_command(
    round_ref: Annotated[str, ROUND_ARGUMENT],
    formats: Annotated[
        str, typer.Option("--format", metavar="FORMAT", help="Kommaseparerat: html, pdf, docx.")
    ] = "html,pdf,docx",
    out_dir: Annotated[
        Path | None, typer.Option("--out", metavar="MAPP", help="Mapp att skriva till.")
    ] = None,
) -> None:
    """Sammanställ remissvaren till en remissammanställning (HTML, PDF, DOCX)."""
    from remiss.report.render import FORMATS

    settings = _settings()
    chosen = tuple(f.strip().lower() for f in formats.split(",") if f.strip())
    with user_errors():
        unknown = [f for f in chosen if f not in FORMATS]
        if unknown or not chosen:
            raise InputError(
                f"okänt format; välj bland {', '.join(FORMATS)}", field="--format", value=formats
            )
        round_id = _round_id(settings, round_ref)
    from flows.compile import compile_round

    paths = _run_flow(
        lambda: compile_round(round_id, list(chosen), str(out_dir.resolve()) if out_dir else None)
    )
    out.print("Remissammanställningen är skriven:")
    for path in paths:
        out.print(f"  {path}")


@admin_app.command("hash-password")
def admin_hash_password() -> None:
    """Skapa ett lösenordshash för REMISS_ADMIN_PASSWORD_HASH (lösenordet läses utan eko)."""
    from remiss.web.security import hash_password

    password = typer.prompt("Lösenord", hide_input=True, confirmation_prompt="Upprepa lösenordet")
    if len(password) < 12:
        err.print("Fel: lösenordet ska vara minst 12 tecken.")
        raise typer.Exit(2)
    out.print(hash_password(password))


@app.command()
def portal(
    host: Annotated[str, typer.Option("--host", help="Adress att lyssna på.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port att lyssna på.")] = 8000,
) -> None:
    """Starta svarssidan för remissinstanserna (och översikten på /admin)."""
    import logging

    import uvicorn

    from remiss.web.app import create_app
    from remiss.web.asgi import trigger_for

    settings = _settings()
    with user_errors():
        operations.ensure_schema(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    out.print(
        f"Svarssidan: http://{host}:{port}/ (länkarna i e-posten börjar med {settings.base_url})"
    )
    # access_log off: uvicorn would log every link's token; our middleware logs masked paths.
    uvicorn.run(
        create_app(settings, trigger=trigger_for(settings)),
        host=host,
        port=port,
        access_log=False,
        proxy_headers=True,
    )


@app.command()
def up(
    host: Annotated[str, typer.Option("--host", help="Adress att lyssna på.")] = "127.0.0.1",
    ui_port: Annotated[int, typer.Option("--ui-port", help="Prefects UI och API.")] = 4200,
    port: Annotated[int, typer.Option("--port", help="Svarssidan.")] = 8000,
) -> None:
    """Kör hela tjänsten på den här datorn: Prefect, alla driftsättningar och svarssidan."""
    from remiss.cli.up import Service

    settings = _settings()
    with user_errors():
        operations.init(settings, now=dates.utcnow())
        code = Service(
            settings, host=host, ui_port=ui_port, port=port, say=lambda s: out.print(s)
        ).run()
    out.print("Stoppad.")
    raise typer.Exit(code)


def main() -> None:
    # A command that runs a flow without PREFECT_API_URL starts Prefect's temporary server;
    # its default 20 s to come up was exceeded on a busy two-CPU machine here.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    app()


if __name__ == "__main__":
    main()
