"""`remiss portal` (the answer page) and `remiss up` (the whole service on this machine)."""

from __future__ import annotations

from typing import Annotated

import typer

from remiss.cli.app import current_settings, out, user_errors
from remiss.cli.swedish import option
from remiss.core import dates
from remiss.rounds import start as rounds_start


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
