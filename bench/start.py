"""`make demo` end to end in a warm environment (the venv installed, caches warm): one run of
scripts/demo.py, timed from start to exit, with the seconds each of its steps took (a step
ends where the next command or heading of the demo is printed). Prints the figures;
--json writes them.

The run counts only if the demo did its work: the round's e-mail counts it prints at the end
must be those of the demo (18 remisser, 4 kvittenser, 1 fråga om gemensamt svar, 1 beslut om
anstånd, 45 påminnelser), and no Prefect server, portal or command it started may be left
running. It runs in a temporary data folder (REMISS_DEMO_DATA), not in data/demo.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = (
    "18 remisser, 4 kvittenser, 1 fråga om gemensamt svar, 1 beslut om anstånd och 45 påminnelser."
)


# The lines that begin a step: a command, a heading of the demo, and its closing summary
# (after which the demo stops its Prefect server).
STEPS = (
    "$ ",
    "Handläggaren ",
    "Tjänstepersoner ",
    "E-post kommer ",
    "Påminnelsesvepet ",
    "E-posten ",
)


def is_step(line: str) -> bool:
    return line.startswith(STEPS)


def left_running(data: Path) -> list[str]:
    """Processes whose environment names the run's data folder: what the demo started."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if proc.name == str(os.getpid()) or str(data) not in (proc / "environ").read_text(
                errors="replace"
            ):
                continue
            found.append((proc / "cmdline").read_text(errors="replace").replace("\0", " "))
        except OSError:
            continue
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="remiss-bench-demo-") as tmp:
        data = Path(tmp) / "demo"
        env = {**os.environ, "REMISS_DEMO_DATA": str(data), "PYTHONUNBUFFERED": "1"}
        steps: list[tuple[str, float]] = []
        lines: list[str] = []
        start = last = time.perf_counter()
        name = "start"
        with subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "demo.py")],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        ) as demo:
            assert demo.stdout is not None
            for line in demo.stdout:
                lines.append(line)
                if is_step(line):
                    now = time.perf_counter()
                    steps.append((name, now - last))
                    name, last = line.strip()[:70], now
        seconds = time.perf_counter() - start
        steps.append((name, seconds - (last - start)))
        if demo.returncode != 0:
            raise SystemExit(f"the demo failed (exit code {demo.returncode})")
        if not any(EXPECTED in line for line in lines):
            raise SystemExit("the demo did not end with its e-mail counts:\n" + "".join(lines[-5:]))
        if leftovers := left_running(data):
            raise SystemExit("left running after the demo:\n" + "\n".join(leftovers))
    print("\nmake demo (warm), step by step:")
    for step, took in steps:
        print(f"{took:6.1f} s  {step}")
    print(f"\nmake demo (warm): {seconds:.1f} s")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"demo_s": round(seconds, 1), "steps": [[s, round(t, 1)] for s, t in steps]},
                indent=2,
                ensure_ascii=False,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
