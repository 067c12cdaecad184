"""The command line framework's own words in Swedish: help, usage, errors, aborts.

Typer (0.29) vendors its own copy of Click with its texts written in as English
f-strings; only a handful in typer.core still pass through gettext. A gettext catalogue
would therefore translate "Arguments" but not "Usage:", "Missing argument" or "No such
option". So the texts are replaced where Click hands them on: the help formatter
(usage prefix, headings, the help rows) and the group's `main`, which shows a usage
error from the exception's own fields (the parameter, the option name) rather than by
parsing its English message. tests/unit/test_cli_swedish.py runs every kind of error and
help page and fails on any English framework word, so a Typer upgrade that adds one is
caught there.

English option names stay accepted as hidden aliases (`--deadline` for `--svarsdag`):
the help lists only the Swedish name.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

import typer
from typer import _click
from typer._click.exceptions import (
    BadOptionUsage,
    BadParameter,
    ClickException,
    MissingParameter,
    NoArgsIsHelpError,
    NoSuchOption,
    UsageError,
)
from typer.core import TyperCommand, TyperGroup
from typer.exceptions import Abort

# English option names kept working for scripts and habits; never shown in the help.
HIDDEN_ALIASES: set[str] = set()

HEADINGS = {"Arguments": "Argument", "Options": "Flaggor", "Commands": "Kommandon"}

HELP_OPTION = "Visa den här hjälpen."

# Typer's type labels after an argument's name in the help ("OMGÅNG <str>").
TYPE_LABELS = {
    "<str>": "",
    "<text>": "",
    "<path>": "",
    "<int>": "<heltal>",
    "<integer>": "<heltal>",
    "<float>": "<tal>",
    "<bool>": "",
}


def option(name: str, *aliases: str, **kwargs: Any) -> Any:
    """A typer.Option named in Swedish; `aliases` (the old English names) still work."""
    HIDDEN_ALIASES.update(aliases)
    return typer.Option(name, *aliases, **kwargs)


def _translate_extra(text: str) -> str:
    """The bracket after a help text: "[default: x; required]"."""

    def bracket(match: re.Match[str]) -> str:
        parts = []
        for part in match.group(1).split("; "):
            if part.startswith("default: "):
                parts.append("standard: " + part.removeprefix("default: "))
            elif part == "required":
                parts.append("obligatoriskt")
            elif part.startswith("env var: "):
                parts.append("miljövariabel: " + part.removeprefix("env var: "))
            else:
                parts.append(_range(part))
        return "[" + "; ".join(parts) + "]"

    return re.sub(r"\[([^\[\]]*)\]$", bracket, text)


def _range(text: str) -> str:
    """Typer's "x>=1", "1<=x<=1000" as Swedish words."""
    if m := re.fullmatch(r"(-?\d+)<=x<=(-?\d+)", text):
        return f"från {m[1]} till {m[2]}"
    if m := re.fullmatch(r"x>=(-?\d+)", text):
        return f"minst {m[1]}"
    if m := re.fullmatch(r"x<=(-?\d+)", text):
        return f"högst {m[1]}"
    return text


def _first_column(text: str) -> str:
    """Drop hidden aliases and English type labels from "--svarsdag, --deadline DATUM"."""
    names, _sep, rest = text.partition(" ")
    if names.startswith("-"):
        kept = [n for n in names.rstrip(",").split(",") if n and n not in HIDDEN_ALIASES]
        # "--a, --b X" splits as names="--a," and rest="--b X": gather every name.
        words = rest.split(" ")
        while words and words[0].startswith("-"):
            name = words.pop(0).rstrip(",")
            if name not in HIDDEN_ALIASES:
                kept.append(name)
        text = " ".join([", ".join(kept), *words]).strip()
    for label, swedish in TYPE_LABELS.items():
        if text.endswith(" " + label):
            text = (text.removesuffix(" " + label) + (" " + swedish if swedish else "")).strip()
    return text


class SwedishFormatter(_click.HelpFormatter):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "Användning: " if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        super().write_heading(HEADINGS.get(heading, heading))

    def write_dl(
        self, rows: Sequence[tuple[str, str]], col_max: int = 30, col_spacing: int = 2
    ) -> None:
        swedish = [
            (
                _first_column(first),
                HELP_OPTION
                if second == "Show this message and exit."
                else _translate_extra(second),
            )
            for first, second in rows
        ]
        super().write_dl(swedish, col_max, col_spacing)


class SwedishContext(_click.Context):
    formatter_class = SwedishFormatter


def _usage_pieces(pieces: list[str]) -> list[str]:
    # Typer writes a required argument as "{OMGÅNG}"; Click's convention is plain "OMGÅNG".
    return [p[1:-1] if p.startswith("{") and p.endswith("}") else p for p in pieces]


class SwedishCommand(TyperCommand):
    context_class = SwedishContext

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Typer passes Click's English default on explicitly.
        if self.options_metavar == "[OPTIONS]":
            self.options_metavar = "[FLAGGOR]"

    def collect_usage_pieces(self, ctx: _click.Context) -> list[str]:
        return _usage_pieces(super().collect_usage_pieces(ctx))


class SwedishGroup(TyperGroup):
    context_class = SwedishContext

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.options_metavar == "[OPTIONS]":
            self.options_metavar = "[FLAGGOR]"
        if self.subcommand_metavar == "COMMAND [ARGS]...":
            self.subcommand_metavar = "KOMMANDO [ARGUMENT]..."

    def collect_usage_pieces(self, ctx: _click.Context) -> list[str]:
        return _usage_pieces(super().collect_usage_pieces(ctx))

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        # Run without Typer's standalone handling, so that the errors it would print in
        # English are ours to print; the exit codes stay Click's (2 usage, 1 abort).
        try:
            result = super().main(
                args, prog_name, complete_var, False, windows_expand_args, **extra
            )
        except NoArgsIsHelpError as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except ClickException as exc:
            show_error(exc)
            sys.exit(exc.exit_code)
        except Abort:
            _click.echo("Avbrutet.", err=True)
            sys.exit(1)
        # Without standalone mode Typer returns an Exit's code, or the command's value.
        sys.exit(result if isinstance(result, int) else 0)


class SwedishTyper(typer.Typer):
    """typer.Typer whose groups and commands speak Swedish (see the module docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", SwedishGroup)
        super().__init__(**kwargs)

    def command(  # type: ignore[override]
        self, name: str | None = None, **kwargs: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        kwargs.setdefault("cls", SwedishCommand)
        return super().command(name, **kwargs)


def _param_name(param: Any) -> str:
    """An option by its (Swedish) first name, an argument by its metavariable."""
    if param is None:
        return ""
    if param.param_type_name == "option":
        return str(param.opts[0])
    return str(param.metavar or param.name or "").upper()


def _described(param: Any) -> str:
    kind = "flaggan" if param is not None and param.param_type_name == "option" else "argumentet"
    return f"{kind} {_param_name(param)}"


def _pydantic_reason(exc: BaseException | None) -> str | None:
    """Typer checks values with pydantic: its error types are stable, its texts English."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return None
    try:
        first = errors()[0]
    except (IndexError, TypeError):
        return None
    kind, ctx = first.get("type", ""), first.get("ctx") or {}
    # Typer checks a choice itself: "'odt' is not one of 'html', 'pdf'."
    if kind == "value_error" and (m := re.search(r"is not one of (.*)", str(ctx.get("error")))):
        return f"ska vara något av {_choices(m[1])}"
    reasons = {
        "int_parsing": "ska vara ett heltal",
        "int_type": "ska vara ett heltal",
        "int_from_float": "ska vara ett heltal",
        "float_parsing": "ska vara ett tal",
        "bool_parsing": "ska vara ja eller nej (true/false)",
        "greater_than_equal": f"ska vara minst {ctx.get('ge')}",
        "greater_than": f"ska vara större än {ctx.get('gt')}",
        "less_than_equal": f"får vara högst {ctx.get('le')}",
        "less_than": f"ska vara mindre än {ctx.get('lt')}",
        "enum": f"ska vara något av {_choices(ctx.get('expected'))}",
        "literal_error": f"ska vara något av {_choices(ctx.get('expected'))}",
        "date_from_datetime_parsing": "ska vara ett datum ÅÅÅÅ-MM-DD",
        "date_parsing": "ska vara ett datum ÅÅÅÅ-MM-DD",
    }
    return reasons.get(kind, "är inte ett giltigt värde")


def _choices(expected: object) -> str:
    """pydantic's "'html', 'pdf' or 'docx'" as "html, pdf eller docx"."""
    names: list[str] = re.findall(r"'([^']*)'", str(expected or ""))
    if len(names) < 2:
        return ", ".join(names) or str(expected)
    return ", ".join(names[:-1]) + " eller " + names[-1]


def message(exc: ClickException) -> str:
    """The Swedish sentence for one of Click's usage errors (without "Fel: ")."""
    if isinstance(exc, MissingParameter):
        return f"{_described(exc.param)} saknas."
    if isinstance(exc, NoSuchOption):
        text = f"flaggan {exc.option_name} finns inte."
        if exc.possibilities:
            text += " Menade ni " + " eller ".join(sorted(exc.possibilities)) + "?"
        return text
    if isinstance(exc, BadParameter):
        reason = _pydantic_reason(exc.__cause__) or exc.message
        return f"ogiltigt värde för {_described(exc.param)}: {reason}."
    if isinstance(exc, BadOptionUsage):
        if "does not take a value" in exc.message:
            return f"flaggan {exc.option_name} tar inget värde."
        if "requires" in exc.message:
            return f"flaggan {exc.option_name} behöver ett värde."
    text = exc.message
    if m := re.match(r"Got unexpected extra argument(?:s|\(s\))? \((.*)\)", text):
        return f"för många argument: {m[1]}."
    if m := re.match(r"No such command '(.*)'\.(?: Did you mean (.*)\?)?", text):
        guesses = m[2].replace("'", "").replace(", ", " eller ") if m[2] else ""
        hint = f" Menade ni {guesses}?" if guesses else ""
        return f"kommandot {m[1]} finns inte.{hint}"
    if text == "Missing command.":
        return "ange ett kommando."
    return text


def show_error(exc: ClickException) -> None:
    """Usage, a hint at --help and the error, as Click lays them out, in Swedish."""
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, UsageError) and ctx is not None:
        _click.echo(ctx.get_usage(), err=True)
        if ctx.command.get_help_option(ctx) is not None:
            _click.echo(
                f"Hjälp får ni med '{ctx.command_path} {ctx.help_option_names[0]}'.\n",
                err=True,
            )
    _click.echo(f"Fel: {message(exc)}", err=True)
