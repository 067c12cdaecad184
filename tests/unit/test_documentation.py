"""Every setting and every command is documented where people look: the settings in
config/settings.yaml and on the settings reference page, the commands on the CLI
reference page of the documentation site (docs/)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from remiss.cli import app
from remiss.core.settings import _ENV

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_FILE = (ROOT / "config" / "settings.yaml").read_text(encoding="utf-8")
SETTINGS_PAGE = (ROOT / "docs" / "reference" / "settings.md").read_text(encoding="utf-8")
CLI_PAGE = (ROOT / "docs" / "reference" / "cli.md").read_text(encoding="utf-8")


def commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every visible command and group of the Typer app, with its path from `remiss`."""
    if path:
        yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if not getattr(sub, "hidden", False):
            yield from commands(sub, (*path, name))


COMMANDS = list(commands(typer.main.get_command(app)))


@pytest.mark.parametrize(("key", "variable"), sorted(_ENV.items()))
def test_every_setting_is_documented(key: str, variable: str) -> None:
    assert f"{key}:" in SETTINGS_FILE, f"{key} is missing from config/settings.yaml"
    assert f"`{key}`" in SETTINGS_PAGE, f"{key} is missing from docs/reference/settings.md"
    assert variable in SETTINGS_PAGE, f"{variable} is missing from docs/reference/settings.md"


def test_the_settings_page_names_no_setting_that_does_not_exist() -> None:
    rows = re.findall(r"^\| `([a-z_]+)` \| `(REMISS_[A-Z_]+)` \|", SETTINGS_PAGE, re.MULTILINE)
    assert sorted(rows) == sorted(_ENV.items())


def test_the_secret_variables_are_documented() -> None:
    for variable in ("REMISS_SECRET_KEY", "REMISS_SMTP_PASSWORD", "REMISS_EWS_SECRET"):
        assert variable in SETTINGS_PAGE, f"{variable} is missing from docs/reference/settings.md"
    assert "REMISS_SECRET_KEY" in SETTINGS_FILE


def test_the_cli_has_commands() -> None:
    paths = {" ".join(path) for path, _ in COMMANDS}
    assert {"round", "round start", "status", "answers review", "up"} <= paths


def section(name: str) -> str:
    """The text under the heading `name` on the CLI page, up to the next heading."""
    match = re.search(
        rf"^#+ `{re.escape(name)}`\n(.*?)(?=^#|\Z)", CLI_PAGE, re.MULTILINE | re.DOTALL
    )
    assert match, f"docs/reference/cli.md has no heading for `{name}`"
    return match.group(1)


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(path) for path, _ in COMMANDS]
)
def test_every_command_and_option_is_documented(path: tuple[str, ...], command: Any) -> None:
    name = "remiss " + " ".join(path)
    text = section(name)
    for param in command.params:
        for option in param.opts:
            if option.startswith("--") and option != "--help":
                assert option in text, f"{name} {option} is missing from its section"
