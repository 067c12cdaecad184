"""`remiss admin hash-password`: for the staff overview at /admin."""

from __future__ import annotations

import typer

from remiss.cli.app import err, out

admin_app = typer.Typer(help="Översikten för stadsledningskontoret (/admin).", no_args_is_help=True)


@admin_app.command("hash-password")
def admin_hash_password() -> None:
    """Skapa ett lösenordshash för REMISS_ADMIN_PASSWORD_HASH (lösenordet läses utan eko)."""
    from remiss.web.security import hash_password

    password = typer.prompt("Lösenord", hide_input=True, confirmation_prompt="Upprepa lösenordet")
    if len(password) < 12:
        err.print("Fel: lösenordet ska vara minst 12 tecken.")
        raise typer.Exit(2)
    out.print(hash_password(password))
