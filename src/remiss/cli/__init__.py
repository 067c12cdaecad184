"""The `remiss` command line: one module per command group, put together here.

`remiss.cli:main` is the console script; `app` is the Typer app (tests and the
documentation tests run it). The order below is the order `remiss --help` lists.
"""

from __future__ import annotations

from remiss.cli import (
    admin,
    anstand,
    answers,
    archive,
    inbox,
    mail,
    maintenance,
    register,
    reminders,
    report,
    rounds,
    services,
)
from remiss.cli.app import app, main

app.command()(register.init)
app.command()(register.instanser)
app.command()(rounds.status)
app.command()(reminders.remind)
app.command("compile")(report.compile_command)
app.command()(services.portal)
app.command()(services.up)
app.command()(maintenance.check)
app.command()(maintenance.backup)

app.add_typer(rounds.round_app, name="round")
app.add_typer(anstand.anstand_app, name="anstand")
app.add_typer(answers.answers_app, name="answers")
# `remiss answer review` reads as well as `remiss answers review`.
app.add_typer(answers.answers_app, name="answer", hidden=True)
app.add_typer(mail.mail_app, name="mail")
app.add_typer(inbox.inbox_app, name="inbox")
app.add_typer(admin.admin_app, name="admin")
app.add_typer(archive.diarium_app, name="diarium")
app.command("archive")(archive.archive_command)

__all__ = ["app", "main"]
