"""`remiss portal` (the answer page) and `remiss up` (the whole service on this machine)."""

from __future__ import annotations

from typing import Annotated

import typer

from remiss.cli.app import current_settings, out, user_errors
from remiss.cli.swedish import option
from remiss.core import dates
from remiss.core.language import count
from remiss.rounds import start as rounds_start
from remiss.storage import recovery


def portal(
    host: Annotated[
        str, option("--adress", "--host", metavar="ADRESS", help="Adress att lyssna på.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", metavar="PORT", help="Port att lyssna på.")] = 8000,
) -> None:
    """Starta svarssidan för remissinstanserna (och översikten på /admin)."""
    import logging

    from remiss.cli.portal_app import app_for, serve

    settings = current_settings()
    with user_errors():
        rounds_start.ensure_schema(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # What a crash of this or another process left in the documents folder (remiss up
    # starts the portal this way too).
    cleared = recovery.recover(settings, now=dates.utcnow())
    if cleared.removed or cleared.quarantined:
        out.print(
            f"Städat efter avbrott: {count(cleared.removed, 'tillfällig fil', 'tillfälliga filer')}"
            f" borttagna, {count(cleared.quarantined, 'fil', 'filer')} utan dokumentrad flyttade "
            f"till {recovery.quarantine_dir(settings)}."
        )
    out.print(
        f"Svarssidan: http://{host}:{port}/ (länkarna i e-posten börjar med {settings.base_url})"
    )
    # Stops alike on SIGTERM, SIGINT and SIGHUP; exit code 0 when stopped (remiss.cli.stopping).
    if not serve(app_for(settings), host=host, port=port):
        raise typer.Exit(3)  # uvicorn's code when the server could not start


def up(
    host: Annotated[
        str, option("--adress", "--host", metavar="ADRESS", help="Adress att lyssna på.")
    ] = "127.0.0.1",
    ui_port: Annotated[
        int,
        option(
            "--prefect-port", "--ui-port", metavar="PORT", help="Prefects webbgränssnitt och API."
        ),
    ] = 4200,
    port: Annotated[int, typer.Option("--port", metavar="PORT", help="Svarssidan.")] = 8000,
) -> None:
    """Kör hela tjänsten på den här datorn: Prefect, alla automatiska flöden och svarssidan."""
    from remiss.cli.up import Service

    settings = current_settings()
    with user_errors():
        rounds_start.init(settings, now=dates.utcnow())
        code = Service(
            settings, host=host, ui_port=ui_port, port=port, say=lambda s: out.print(s)
        ).run()
    out.print("Stoppad.")
    raise typer.Exit(code)
