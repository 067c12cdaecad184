"""`remiss mail check`: the e-mail service's settings, tried without sending anything."""

from __future__ import annotations

from remiss.cli.app import current_settings, out, user_errors
from remiss.cli.swedish import SwedishTyper
from remiss.mail import check_backend

mail_app = SwedishTyper(help="E-posttjänsten (outbox, smtp, exchange).", no_args_is_help=True)


@mail_app.command("check")
def mail_check() -> None:
    """Anslut till e-postservern och berätta vad som hittades; inget skickas."""
    settings = current_settings()
    out.print(f"E-posttjänst: {settings.mail_backend} (inställningar: {settings.source})")
    with user_errors():
        lines = check_backend(settings)
    for line in lines:
        out.print(line)
    out.print("Inställningarna fungerar.")
