"""`remiss admin hash-password`: for the staff overview at /admin."""

from __future__ import annotations

import typer

from remiss.cli.app import err, out
from remiss.cli.swedish import SwedishTyper

admin_app = SwedishTyper(
    help="Översikten för stadsledningskontoret (/admin).", no_args_is_help=True
)


@admin_app.command("hash-password")
def admin_hash_password() -> None:
    """Skapa ett lösenordshash för REMISS_ADMIN_PASSWORD_HASH (lösenordet läses utan eko)."""
    from remiss.web.security import hash_password

    # Asked for twice here rather than with confirmation_prompt=, whose mismatch message
    # Click writes in English.
    while True:
        password: str = typer.prompt("Lösenord", hide_input=True)
        if password == typer.prompt("Upprepa lösenordet", hide_input=True):
            break
        err.print("Fel: lösenorden är inte lika. Försök igen.")
    if len(password) < 12:
        err.print("Fel: lösenordet ska vara minst 12 tecken.")
        raise typer.Exit(2)
    out.print(hash_password(password))
