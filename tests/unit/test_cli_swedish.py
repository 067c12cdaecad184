"""The command line speaks Swedish, Typer's and Click's own texts included.

Runs the real `remiss` app in process (Typer's CliRunner): help pages, every kind of usage
error, a bad integer, a bad choice, the password prompt with two different passwords.
"""

from __future__ import annotations

import enum
import re
from pathlib import Path
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from remiss.cli import app
from remiss.cli.swedish import SwedishTyper

# Words of the framework's English texts; none may appear in what a user reads.
ENGLISH = (
    "Usage",
    "Options",
    "Arguments",
    "Commands",
    "Error:",
    "Missing",
    "Invalid",
    "Try",
    "help.",
    "Aborted",
    "Repeat",
    "match",
    "Show this message",
    "Possible",
    "Did you mean",
    "required",
    "default:",
    "Input should",
    "unexpected",
    "<str>",
    "<int>",
    "[OPTIONS]",
    "COMMAND",
    "[ARGS]",
    "[[",
)

runner = CliRunner()


@pytest.fixture(autouse=True)
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMISS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REMISS_DATABASE_URL", f"sqlite:///{tmp_path / 'remiss.db'}")


def run(*args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), input=input, prog_name="remiss")
    return result.exit_code, result.output


def assert_swedish(text: str) -> None:
    found = [word for word in ENGLISH if re.search(re.escape(word), text)]
    assert not found, f"English framework words {found} in:\n{text}"


def test_the_main_help_is_in_swedish() -> None:
    code, text = run("--help")
    assert code == 0
    assert_swedish(text)
    assert "Användning: remiss [FLAGGOR] KOMMANDO [ARGUMENT]..." in text
    assert "Flaggor:" in text
    assert "Kommandon:" in text
    assert "--help  Visa den här hjälpen." in text


def test_a_commands_help_names_its_arguments_and_flags_in_swedish() -> None:
    code, text = run("compile", "--help")
    assert code == 0
    assert_swedish(text)
    assert "Användning: remiss compile [FLAGGOR] OMGÅNG" in text
    assert "Argument:" in text
    assert "[obligatoriskt]" in text
    assert "[standard: html,pdf,docx]" in text


def test_optional_arguments_have_one_pair_of_brackets() -> None:
    code, text = run("answers", "review", "--help")
    assert code == 0
    assert_swedish(text)
    assert "remiss answers review [FLAGGOR] [OMGÅNG] [KOD]" in text
    code, text = run("status", "--help")
    assert "remiss status [FLAGGOR] [OMGÅNG]" in text


def test_the_help_shows_the_swedish_flag_names_and_not_the_english_aliases() -> None:
    code, text = run("round", "start", "--help")
    assert code == 0
    assert_swedish(text)
    assert "ÄRENDEFIL.yaml" in text
    for swedish in ("--till KODER", "--svarsdag ÅÅÅÅ-MM-DD", "--tvinga", "--ny-omgang"):
        assert swedish in text
    for english in ("--to", "--deadline", "--force", "--new-round"):
        assert english not in text
    code, text = run("remind", "--help")
    assert "--tidpunkt TIDPUNKT" in text
    assert "--bara-visa" in text
    assert "--as-of" not in text
    assert "--dry-run" not in text


def test_a_missing_argument_is_named_in_swedish() -> None:
    code, text = run("compile")
    assert code == 2
    assert_swedish(text)
    assert "Användning: remiss compile [FLAGGOR] OMGÅNG" in text
    assert "Hjälp får ni med 'remiss compile --help'." in text
    assert "Fel: argumentet OMGÅNG saknas." in text


def test_an_unknown_flag_is_named_with_a_suggestion() -> None:
    code, text = run("status", "--okand")
    assert code == 2
    assert_swedish(text)
    assert "Fel: flaggan --okand finns inte. Menade ni --json?" in text


def test_an_unknown_command_is_named_with_a_suggestion() -> None:
    code, text = run("rond")
    assert code == 2
    assert_swedish(text)
    assert "Fel: kommandot rond finns inte. Menade ni round eller remind?" in text


def test_a_bad_integer_and_a_number_out_of_range_are_explained() -> None:
    code, text = run("anstand", "grant", "x")
    assert code == 2
    assert_swedish(text)
    assert "Fel: ogiltigt värde för argumentet NR: ska vara ett heltal." in text
    code, text = run("inbox", "poll", "--antal", "0")
    assert code == 2
    assert_swedish(text)
    assert "Fel: ogiltigt värde för flaggan --antal: ska vara minst 1." in text


def test_a_flag_without_its_value_and_an_extra_argument_are_explained() -> None:
    code, text = run("compile", "1", "--format")
    assert code == 2
    assert_swedish(text)
    assert "Fel: flaggan --format behöver ett värde." in text
    code, text = run("compile", "1", "2")
    assert code == 2
    assert_swedish(text)
    assert "Fel: för många argument: 2." in text


class Format(enum.Enum):
    html = "html"
    pdf = "pdf"
    docx = "docx"


def test_a_bad_choice_lists_the_choices_in_swedish() -> None:
    # No remiss command takes a fixed choice yet; the same classes serve one that would.
    choosing = SwedishTyper()

    @choosing.command()
    def write(format: Annotated[Format, typer.Option("--format")]) -> None:
        """Skriv."""

    @choosing.command()
    def other() -> None:
        """Annat."""

    result = runner.invoke(choosing, ["write", "--format", "odt"])
    assert result.exit_code == 2
    assert_swedish(result.output)
    assert "Fel: ogiltigt värde för flaggan --format: ska vara något av html, pdf eller docx." in (
        result.output
    )


def test_a_command_group_without_a_command_shows_its_help() -> None:
    _code, text = run("anstand")
    assert_swedish(text)
    assert "Användning: remiss anstand [FLAGGOR] KOMMANDO [ARGUMENT]..." in text


def test_two_different_passwords_are_asked_for_again_in_swedish() -> None:
    code, text = run(
        "admin",
        "hash-password",
        input="ett-langt-losenord\nett-annat-losenord\nett-langt-losenord\nett-langt-losenord\n",
    )
    assert code == 0, text
    assert_swedish(text)
    assert "Upprepa lösenordet:" in text
    assert "Fel: lösenorden är inte lika. Försök igen." in text
    assert text.rstrip().splitlines()[-1].startswith("scrypt$")


def test_input_that_ends_at_the_prompt_is_aborted_in_swedish() -> None:
    code, text = run("admin", "hash-password", input="")
    assert code == 1
    assert_swedish(text)
    assert "Avbrutet." in text


def test_the_english_flag_names_still_work() -> None:
    # Both reach the command and fail on the value, named by the Swedish flag.
    code, text = run("compile", "1", "--out", "x", "--format", "odt")
    assert code == 2
    assert "Fel i kommandoraden, flaggan --format: okänt format" in text
    code, text = run("remind", "--as-of", "i morgon")
    assert code == 2
    assert "Fel i kommandoraden, flaggan --tidpunkt: ska vara en tidpunkt" in text
    code, text = run("anstand", "grant", "1", "--date", "snart", "--note", "x")
    assert code == 2
    assert "Fel i kommandoraden, flaggan --datum: ska vara ett datum ÅÅÅÅ-MM-DD" in text
