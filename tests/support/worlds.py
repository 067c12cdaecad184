"""A synthetic world of N remissinstanser: a register and a case file sent to all of them.

Used by the benchmarks in bench/ and by the tests that need a large fan-out.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from remiss.core.dates import is_working_day, local_today, utcnow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_PDF = ROOT / "examples" / "KS-2025-348" / "motion.pdf"
DOMAIN = "bench.stockholm.example"
GROUP = "alla"
KINDS = ("namnd", "stadsdelsnamnd", "bolag", "rad", "extern")


@dataclass(frozen=True)
class World:
    """A register of N remissinstanser and a case file sent to all of them."""

    n: int
    register: Path
    case: Path
    deadline: str


def working_day_ahead(weeks: int) -> dt.date:
    today = local_today(utcnow())  # a pendulum Date, which YAML cannot write
    day = dt.date(today.year, today.month, today.day) + dt.timedelta(weeks=weeks)
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def address(i: int) -> str:
    return f"registrator.instans{i:04d}@{DOMAIN}"


def build_world(root: Path, n: int, deadline: dt.date) -> World:
    folder = root / f"world-{n}"
    folder.mkdir(parents=True)
    register: dict[str, Any] = {
        "grupper": {GROUP: "Alla remissinstanser i mätningen"},
        "remissinstanser": [
            {
                "kod": f"instans_{i:04d}",
                "namn": f"Mätinstans {i}",
                "typ": KINDS[i % len(KINDS)],
                "funktionsbrevlada": address(i),
                "grupper": [GROUP],
            }
            for i in range(1, n + 1)
        ],
    }
    register_path = folder / "remissinstanser.yaml"
    register_path.write_text(yaml.safe_dump(register, allow_unicode=True), encoding="utf-8")
    shutil.copy(EXAMPLE_PDF, folder / "motion.pdf")
    case: dict[str, Any] = {
        "diarienummer": "KS 2026/999",
        "rubrik": f"Mätärende: remiss till {n} remissinstanser",
        "arendetyp": "motion",
        "motionarer": [{"namn": "Mät Mätsson", "parti": "M"}],
        "att_satser": [
            "att kommunfullmäktige mäter hur lång tid ett utskick tar",
            "att resultatet redovisas i bench/README.md",
        ],
        "svar_senast": deadline,
        "remissinstanser": [GROUP],
        "handlingar": [{"fil": "motion.pdf", "titel": "Motion (mätexemplar)"}],
        "handlaggare": {"namn": "Karin Lindqvist", "epost": f"karin.lindqvist@{DOMAIN}"},
        "missiv": "Detta är ett mätutskick; inget svar väntas.",
    }
    case_path = folder / "arende.yaml"
    case_path.write_text(yaml.safe_dump(case, allow_unicode=True), encoding="utf-8")
    return World(n=n, register=register_path, case=case_path, deadline=deadline.isoformat())
