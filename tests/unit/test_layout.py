"""The layout's rules that import-linter cannot see (the layers themselves are in
.importlinter, run by `make lint`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(
    p
    for folder in ("src/remiss", "flows")
    for p in (ROOT / folder).rglob("*.py")
    if "migrations" not in p.parts
)
TRANSACTION = re.compile(r"sessionmaker|\.begin\(|\.begin_nested\(|\bSession\(|\.connect\(\)")


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("path", SHIPPED, ids=_rel)
def test_transactions_are_opened_only_through_db(path: Path) -> None:
    if _rel(path).startswith("src/remiss/db/"):
        return
    found = [
        f"{_rel(path)}:{n}: {line.strip()}"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if TRANSACTION.search(line)
    ]
    assert not found, "open transactions with remiss.db.engine.session_scope:\n" + "\n".join(found)


@pytest.mark.parametrize("path", SHIPPED, ids=_rel)
def test_nothing_reads_the_wall_clock_but_entry_points(path: Path) -> None:
    """Rules and services take `now: datetime`; only the CLI, the web and flows read the
    clock (core/dates.utcnow is where they read it)."""
    rel = _rel(path)
    if rel.startswith(("src/remiss/cli/", "src/remiss/web/", "flows/")) or rel.endswith(
        "core/dates.py"
    ):
        return
    found = [
        f"{rel}:{n}: {line.strip()}"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\butcnow\b|datetime\.now\(|\.today\(\)|time\.time\(\)", line)
    ]
    assert not found, "take `now` as an argument instead:\n" + "\n".join(found)
