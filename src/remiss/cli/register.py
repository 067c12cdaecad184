"""`remiss init` and `remiss instanser`: the database and the register of remissinstanser."""

from __future__ import annotations

from typing import Annotated

from rich.table import Table

from remiss.cli.app import current_settings, out, user_errors
from remiss.cli.swedish import option
from remiss.core import dates
from remiss.db.engine import shown_url
from remiss.register.instances import KINDS, load_register
from remiss.rounds import start as rounds_start


def init() -> None:
    """Skapa eller uppgradera databasen och läs in registret över remissinstanser."""
    settings = current_settings()
    with user_errors():
        register, changed = rounds_start.init(settings, now=dates.utcnow())
    out.print(f"Databas: {shown_url(settings.database_url)}")
    out.print(f"Datamapp: {settings.data_dir}")
    out.print(
        f"Register: {settings.register} ({len(register.instanser)} remissinstanser, "
        f"{len(register.groups)} grupper, {changed} nya eller ändrade)"
    )


def instanser(
    group: Annotated[
        str | None,
        option(
            "--grupp",
            "-g",
            "--group",
            metavar="GRUPP",
            help="Visa bara en grupp, t.ex. stadsdelsnamnder.",
        ),
    ] = None,
) -> None:
    """Lista remissinstanserna i registret, med koder och grupper."""
    settings = current_settings()
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
