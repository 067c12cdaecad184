"""The Typer app and what every command shares: settings, error messages, running a flow.

The commands live in one module per group (remiss.cli.rounds, .anstand, …); remiss.cli
puts them on `app` in the order `remiss --help` lists them.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import httpx
import typer
from rich.console import Console
from sqlalchemy.exc import DBAPIError

from remiss.cli import stopping
from remiss.cli.swedish import SwedishTyper
from remiss.core.errors import ConflictError, InputError, NotFoundError, RemissError
from remiss.core.settings import Settings, load_settings
from remiss.db.engine import session_scope
from remiss.rounds import start as rounds_start
from remiss.rounds.service import find_round

T = TypeVar("T")

app = SwedishTyper(
    help="Remisshantering: skicka ut remisser, följ upp svaren och sammanställ dem.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

out = Console(width=None if sys.stdout.isatty() else 140, highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False)

USAGE_ERRORS = (InputError, ConflictError, NotFoundError)

ROUND_ARGUMENT = typer.Argument(metavar="OMGÅNG", help="Omgångens nummer eller diarienummer.")


def _exit_for(exc: RemissError) -> typer.Exit:
    """Print our error as one line; exit code 2 for bad input, 1 otherwise."""
    text = f"Fel: {exc}"
    if isinstance(exc, InputError) and (exc.field or "").startswith("-"):
        # "Fel i kommandoraden, flaggan --svarsdag: …" rather than "Fel: kommandoraden, …"
        exc.source = None
        text = f"Fel i kommandoraden, {exc}"
    err.print(text, markup=False)
    return typer.Exit(2 if isinstance(exc, USAGE_ERRORS) else 1)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn our errors into one clear line and an exit code: 2 for bad input, 1 otherwise."""
    try:
        yield
    except RemissError as exc:
        raise _exit_for(exc) from exc


def current_settings() -> Settings:
    """The settings, or one line saying what is wrong with them."""
    with user_errors():
        return load_settings()


def round_id(settings: Settings, round_ref: str) -> int:
    """The id of the round a user named; inside user_errors()."""
    rounds_start.ensure_schema(settings)
    with session_scope(settings.database_url) as session:
        return find_round(session, ref=round_ref).id


def run_flow(call: Callable[[], T]) -> T:
    """Run a Prefect flow; a failure is one line, and exit code 1.

    The run sends heartbeats as often as a worker's do: the automation that marks a run
    Crashed when they stop (flows/automations.py) must not take a long command for dead.
    """
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from flows.automations import HEARTBEAT_SECONDS
    from remiss.cli import temporary_server

    try:
        # Without PREFECT_API_URL: Prefect's temporary server, started here so that it dies
        # with this command even if the command is killed (remiss.cli.temporary_server).
        if temporary_server.start() is not None:
            from flows.messages import release_orphaned_slots

            release_orphaned_slots()
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: HEARTBEAT_SECONDS}):
            return call()
    except RemissError as exc:
        raise _exit_for(exc) from exc
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


def main() -> None:
    # A command that runs a flow without PREFECT_API_URL starts Prefect's temporary server;
    # its default 20 s to come up was exceeded on a busy two-CPU machine here.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    # SIGTERM and SIGHUP as Ctrl-C, so that the temporary server and every other process
    # the command started is stopped too (remiss.cli.stopping).
    stopping.install()
    try:
        app()
    except SystemExit as exc:
        raise SystemExit(stopping.exit_code(exc.code)) from None
    except KeyboardInterrupt:  # a stop signal outside the command, e.g. while it exits
        raise SystemExit(128 + (stopping.received() or signal.SIGINT)) from None
