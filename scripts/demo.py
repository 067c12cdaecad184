"""`make demo`: a remiss round for KS 2025/348 end to end, on embedded defaults.

SQLite and the outbox under data/demo, Prefect's temporary local server with its
home in the same folder. Each run starts from a clean data/demo.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from remiss import dates  # noqa: E402

DATA = ROOT / "data" / "demo"
CASE = ROOT / "examples" / "KS-2025-348" / "arende.yaml"
REMISS = Path(sys.executable).parent / "remiss"


def demo_deadline(today: dt.date) -> dt.date:
    """The case's real deadline lies in the past: use the first working day six weeks ahead."""
    day = today + dt.timedelta(weeks=6)
    while not dates.is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def run(*args: str, env: dict[str, str]) -> None:
    print(f"\n$ remiss {' '.join(args)}", flush=True)
    subprocess.run([str(REMISS), *args], check=True, env=env, cwd=ROOT)


def main() -> None:
    if DATA.exists():
        shutil.rmtree(DATA)
    DATA.mkdir(parents=True)
    env = dict(os.environ)
    env.update(
        REMISS_DATA_DIR=str(DATA),
        PREFECT_HOME=str(DATA / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    for key in (
        "REMISS_DATABASE_URL",
        "REMISS_OUTBOX_DIR",
        "REMISS_MAIL_BACKEND",
        "PREFECT_API_URL",
    ):
        env.pop(key, None)
    deadline = demo_deadline(dates.local_today(dates.utcnow()))
    run("init", env=env)
    run("round", "start", str(CASE.relative_to(ROOT)), "--deadline", deadline.isoformat(), env=env)
    outbox = DATA / "outbox"
    messages = sorted(outbox.glob("*.eml"))
    print(f"\nE-posten ligger i {outbox} ({len(messages)} meddelanden, ett per remissinstans).")
    print(f"Öppna till exempel: {messages[0]}" if messages else "Utkorgen är tom.")
    print("Läget som JSON: REMISS_DATA_DIR=data/demo .venv/bin/remiss status --json")


if __name__ == "__main__":
    main()
